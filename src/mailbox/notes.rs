//! The notes folder `Baton/Notes` of a mailbox: reading the versions added since a UID,
//! and writing one (the version as a small message, then the conversation's note keyword
//! touched, so every client's IDLE hears of it within a second).

use super::Mailbox;
use crate::conversation::{ConversationId, FolderRole, MessageKey};
use crate::notes::message::NoteMessage;
use crate::notes::{FOLDER, MAX_NOTE};
use crate::problem::{Problem, ProblemCode, Result};
use crate::sync::mailops::{FolderTarget, MailOp};

impl Mailbox {
    /// The folder's UIDVALIDITY and the note versions stored from `from_uid` on.
    pub async fn read_notes(&self, from_uid: u32) -> Result<(u32, Vec<(u32, NoteMessage)>)> {
        let (validity, read) = self
            .mail_op(|reply| MailOp::ReadSince {
                folder: FolderTarget::Named(FOLDER.to_owned()),
                from_uid,
                limit: (MAX_NOTE * 4) as u64,
                reply,
            })
            .await?;
        let versions = read
            .into_iter()
            .filter_map(|(uid, raw)| Some((uid, NoteMessage::from_message(&raw)?)))
            .collect();
        Ok((validity, versions))
    }

    /// Writes a note version as its author says, about the conversation whose root its
    /// `about` names: into the folder, and the keyword touched.
    pub async fn write_note(&self, version: &NoteMessage) -> Result<()> {
        let ctx = self.ready().await;
        let id: ConversationId = ctx
            .store()
            .conversation_of_message_id(&version.about)
            .ok_or_else(|| {
                Problem::new(ProblemCode::NotFound, "the conversation no longer exists")
            })?;
        let (subject, messages) = {
            let store = ctx.store();
            let messages: Vec<MessageKey> = store
                .guard_messages(id)
                .into_iter()
                .filter(|m| m.role == FolderRole::Inbox)
                .map(|m| m.key)
                .collect();
            (
                store.summary(id).map(|s| s.subject).unwrap_or_default(),
                messages,
            )
        };
        let shared = self.connection().account.shared_address.clone();
        let message = version.to_message(&shared, &subject)?;
        self.file_read(FOLDER, message).await?;
        // Tells every client (their IDLE reports the keyword within a second). A mail
        // server without keywords just does not get it; the folder is read anyway.
        if !messages.is_empty() && self.keywords_supported() != Some(false) {
            let touched = self
                .mail_op(|reply| MailOp::TouchNoteKeyword { messages, reply })
                .await;
            if let Err(problem) = touched {
                tracing::warn!("note keyword: {problem}");
            }
        }
        Ok(())
    }
}
