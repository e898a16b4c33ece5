//! Mailbox work for sending, done on the fetcher's connection: the sent copy, the
//! answered flag, looking for a Message-ID (did an interrupted send arrive?), drafts and
//! the shared templates folder.

use tokio::sync::oneshot;

pub use super::session::FolderTarget;
use super::session::{Open, is_connection_problem};
use crate::conversation::MessageKey;
use crate::problem::{Problem, ProblemCode, Result};

/// A keyword outside the contract, set and taken off again to make every client's IDLE
/// report a conversation (its notes changed) without changing its state.
const PING: &str = "baton.ping";

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
    /// Answers the op with `problem` without doing it (no connection could be opened).
    pub fn refuse(self, problem: Problem) {
        match self {
            MailOp::Append { reply, .. }
            | MailOp::RemoveById { reply, .. }
            | MailOp::MarkAnswered { reply, .. }
            | MailOp::TouchNoteKeyword { reply, .. }
            | MailOp::Remove { reply, .. } => {
                let _ = reply.send(Err(problem));
            }
            MailOp::Find { reply, .. } => {
                let _ = reply.send(Err(problem));
            }
            MailOp::ReadSince { reply, .. } => {
                let _ = reply.send(Err(problem));
            }
        }
    }

    /// Does the op on `open`; whether a failure may have broken the connection.
    pub async fn carry_out(self, open: &mut Open) -> bool {
        macro_rules! answer {
            ($reply:expr, $result:expr) => {{
                let result = $result;
                let broken = result.as_ref().is_err_and(is_connection_problem);
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
                    let name = open.folder(&folder).await?;
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
                    let name = open.folder(&folder).await?;
                    open.select(&name).await?;
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
                    let name = open.folder(&folder).await?;
                    open.select(&name).await?;
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
                    if open.select(&key.folder).await? != key.uid_validity {
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
                    let name = open.folder(&folder).await?;
                    let info = open.reselect(&name).await?;
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
                        if open.select(&folder).await? != validity {
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
                    let name = open.folder(&folder).await?;
                    open.select(&name).await?;
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
