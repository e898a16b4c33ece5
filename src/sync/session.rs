//! The fetcher's open connection as its work sees it: the IMAP session, the folder that
//! is selected (so a run of work in one folder selects it once), and the folder names
//! found for special uses (one LIST per connection, not one per piece of work).

use std::collections::HashMap;

use super::team::FolderSession;
use crate::conversation::FolderRole;
use crate::imap::session::ImapSession;
use crate::problem::{Problem, ProblemCode, Result};

/// Which folder: found by its special use, or by name (created when missing).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FolderTarget {
    Role(FolderRole),
    Named(String),
}

pub struct Open {
    pub session: ImapSession,
    selected: Option<(String, u32)>,
    folders: HashMap<FolderTarget, String>,
}

impl Open {
    pub fn new(session: ImapSession) -> Open {
        Open {
            session,
            selected: None,
            folders: HashMap::new(),
        }
    }

    /// Selects `folder` unless it already is; returns its UIDVALIDITY.
    pub async fn select(&mut self, folder: &str) -> Result<u32> {
        if let Some((name, validity)) = &self.selected
            && name == folder
        {
            return Ok(*validity);
        }
        let info = self.session.select(folder, None).await?;
        self.selected = Some((folder.to_owned(), info.uid_validity));
        Ok(info.uid_validity)
    }

    /// Selects `folder` afresh (its counts are wanted), remembering it as selected.
    pub async fn reselect(&mut self, folder: &str) -> Result<crate::imap::session::SelectInfo> {
        let info = self.session.select(folder, None).await?;
        self.selected = Some((folder.to_owned(), info.uid_validity));
        Ok(info)
    }

    /// The folder's name on the server (looked up once per connection); a named folder
    /// is created when missing, a special one must exist.
    pub async fn folder(&mut self, folder: &FolderTarget) -> Result<String> {
        if let Some(name) = self.folders.get(folder) {
            return Ok(name.clone());
        }
        let listed = self.session.list_folders().await?;
        let name = match folder {
            FolderTarget::Role(role) => listed
                .into_iter()
                .find(|f| f.role == *role && f.selectable)
                .map(|f| f.name)
                .ok_or_else(|| {
                    Problem::new(
                        ProblemCode::NotFound,
                        format!("the mailbox has no {role:?} folder"),
                    )
                })?,
            FolderTarget::Named(name) => {
                if !listed.iter().any(|f| f.name == *name) {
                    self.session.create_folder(name).await?;
                }
                name.clone()
            }
        };
        self.folders.insert(folder.clone(), name.clone());
        Ok(name)
    }
}

impl FolderSession for Open {
    fn session(&mut self) -> &mut ImapSession {
        &mut self.session
    }

    fn select<'a>(
        &'a mut self,
        folder: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32>> + Send + 'a>> {
        Box::pin(Open::select(self, folder))
    }
}

/// Whether the connection may be broken after this problem (so it is opened afresh).
pub fn is_connection_problem(problem: &Problem) -> bool {
    matches!(
        problem.code,
        ProblemCode::ConnectionLost | ProblemCode::ProtocolError | ProblemCode::Timeout
    )
}
