//! Mailbox work for sending, done on the fetcher's connection: the sent copy, the
//! answered flag, looking for a Message-ID (did an interrupted send arrive?), drafts and
//! the shared templates folder.

use tokio::sync::oneshot;

use super::fetcher::{Fetcher, Open};
use crate::conversation::{FolderRole, MessageKey};
use crate::problem::{Problem, ProblemCode, Result};

/// A keyword outside the contract, set and taken off again to make every client's IDLE
/// report a conversation (its notes changed) without changing its state.
const PING: &str = "baton.ping";

/// Which folder: found by its special use, or by name (created when missing).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FolderTarget {
    Role(FolderRole),
    Named(String),
}

/// Messages of a folder with their UIDs.
pub type Messages = Vec<(u32, Vec<u8>)>;

pub enum MailOp {
    /// Stores `message` with `flags` (system flags only) in the folder.
    Append {
        folder: FolderTarget,
        flags: &'static str,
        message: Vec<u8>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Whether a message with this Message-ID (without brackets) is in the folder.
    Find {
        folder: FolderTarget,
        message_id: String,
        reply: oneshot::Sender<Result<bool>>,
    },
    /// Removes the messages with this Message-ID from the folder (a draft's old copy).
    RemoveById {
        folder: FolderTarget,
        message_id: String,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Sets the answered flag on a message.
    MarkAnswered {
        key: MessageKey,
        reply: oneshot::Sender<Result<()>>,
    },
    /// The folder's UIDVALIDITY and its messages from `from_uid` on, each cut at
    /// `limit` bytes.
    ReadSince {
        folder: FolderTarget,
        from_uid: u32,
        limit: u64,
        reply: oneshot::Sender<Result<(u32, Messages)>>,
    },
    /// Tells every client that a conversation's notes changed: the note keyword is set
    /// on its messages and a passing keyword on one of them, which every client's IDLE
    /// reports within a second.
    TouchNoteKeyword {
        messages: Vec<MessageKey>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Removes `uids` from the folder.
    Remove {
        folder: FolderTarget,
        uids: Vec<u32>,
        reply: oneshot::Sender<Result<()>>,
    },
}

impl MailOp {
    /// Whether a failure of this op may have broken the connection.
    pub async fn carry_out(self, fetcher: &Fetcher, open: &mut Option<Open>) -> bool {
        macro_rules! answer {
            ($reply:expr, $result:expr) => {{
                let result = $result;
                let broken = result
                    .as_ref()
                    .is_err_and(super::fetcher::is_connection_problem);
                let _ = $reply.send(result);
                broken
            }};
        }
        match self {
            MailOp::Append {
                folder,
                flags,
                message,
                reply,
            } => answer!(
                reply,
                async {
                    let (open, name) = folder_of(fetcher, open, &folder).await?;
                    open.session.append(&name, flags, &message).await
                }
                .await
            ),
            MailOp::Find {
                folder,
                message_id,
                reply,
            } => answer!(
                reply,
                async {
                    let (open, name) = folder_of(fetcher, open, &folder).await?;
                    Fetcher::select(open, &name).await?;
                    Ok(!open
                        .session
                        .search_message_id(&message_id)
                        .await?
                        .is_empty())
                }
                .await
            ),
            MailOp::RemoveById {
                folder,
                message_id,
                reply,
            } => answer!(
                reply,
                async {
                    let (open, name) = folder_of(fetcher, open, &folder).await?;
                    Fetcher::select(open, &name).await?;
                    let uids = open.session.search_message_id(&message_id).await?;
                    if !uids.is_empty() {
                        open.session.expunge_uids(&uids).await?;
                    }
                    Ok(())
                }
                .await
            ),
            MailOp::MarkAnswered { key, reply } => answer!(
                reply,
                async {
                    let open = fetcher.session(open).await?;
                    if Fetcher::select(open, &key.folder).await? != key.uid_validity {
                        return Err(Problem::new(
                            ProblemCode::MessageGone,
                            "the answered message is no longer there",
                        ));
                    }
                    open.session
                        .store_flags(&[key.uid], true, "\\Answered")
                        .await
                }
                .await
            ),
            MailOp::ReadSince {
                folder,
                from_uid,
                limit,
                reply,
            } => answer!(
                reply,
                async {
                    let (open, name) = folder_of(fetcher, open, &folder).await?;
                    let info = open.session.select(&name, None).await?;
                    open.selected = Some((name, info.uid_validity));
                    if info.exists == 0 || info.uid_next <= from_uid {
                        return Ok((info.uid_validity, Vec::new()));
                    }
                    // `n:*` also names the highest UID when it is below n: filter.
                    let read = open
                        .session
                        .fetch_partial(&format!("{from_uid}:*"), 0, limit)
                        .await?
                        .into_iter()
                        .filter(|(uid, _)| *uid >= from_uid)
                        .collect();
                    Ok((info.uid_validity, read))
                }
                .await
            ),
            MailOp::TouchNoteKeyword { messages, reply } => answer!(
                reply,
                async {
                    let open = fetcher.session(open).await?;
                    let keyword = crate::contract::keyword::NOTE;
                    let mut by_folder: std::collections::BTreeMap<(String, u32), Vec<u32>> =
                        Default::default();
                    for key in messages {
                        by_folder
                            .entry((key.folder, key.uid_validity))
                            .or_default()
                            .push(key.uid);
                    }
                    for ((folder, validity), uids) in by_folder {
                        if Fetcher::select(open, &folder).await? != validity {
                            continue;
                        }
                        open.session.set_keyword(&uids, true, keyword).await?;
                        // A keyword already there changes nothing and tells nobody; a
                        // passing one that means nothing does.
                        let first = &uids[..1];
                        open.session.set_keyword(first, true, PING).await?;
                        open.session.set_keyword(first, false, PING).await?;
                    }
                    Ok(())
                }
                .await
            ),
            MailOp::Remove {
                folder,
                uids,
                reply,
            } => answer!(
                reply,
                async {
                    let (open, name) = folder_of(fetcher, open, &folder).await?;
                    Fetcher::select(open, &name).await?;
                    if !uids.is_empty() {
                        open.session.expunge_uids(&uids).await?;
                    }
                    Ok(())
                }
                .await
            ),
        }
    }
}

/// The connection, and the folder's name on it (looked up once per connection).
async fn folder_of<'a>(
    fetcher: &Fetcher,
    open: &'a mut Option<Open>,
    folder: &FolderTarget,
) -> Result<(&'a mut Open, String)> {
    let open = fetcher.session(open).await?;
    if let Some(name) = open.folders.get(folder) {
        let name = name.clone();
        return Ok((open, name));
    }
    let name = resolve(open, folder).await?;
    open.folders.insert(folder.clone(), name.clone());
    Ok((open, name))
}

/// The folder's name on the server; a named folder is created when missing, a special
/// one must exist.
async fn resolve(open: &mut Open, folder: &FolderTarget) -> Result<String> {
    match folder {
        FolderTarget::Role(role) => {
            let listed = open.session.list_folders().await?;
            listed
                .into_iter()
                .find(|f| f.role == *role && f.selectable)
                .map(|f| f.name)
                .ok_or_else(|| {
                    Problem::new(
                        ProblemCode::NotFound,
                        format!("the mailbox has no {role:?} folder"),
                    )
                })
        }
        FolderTarget::Named(name) => {
            let listed = open.session.list_folders().await?;
            if !listed.iter().any(|f| f.name == *name) {
                open.session.create_folder(name).await?;
            }
            Ok(name.clone())
        }
    }
}
