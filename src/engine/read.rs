//! The facade for reading: the lists, a conversation, a message as the reading pane
//! shows it (sanitized), its attachments.

use std::path::Path;

use super::{Engine, no_account};
use crate::conversation::{ConversationDetail, ConversationId, ConversationPage, MessageKey, View};
use crate::mime::{AttachmentInfo, IngestOptions, MessageBody};
use crate::problem::{Problem, ProblemCode, Result, blocking};

impl Engine {
    pub fn list_conversations(&self, view: View, offset: u32, limit: u32) -> ConversationPage {
        match self.mailbox() {
            Some(mailbox) => mailbox.page(view, offset, limit),
            None => ConversationPage {
                view,
                total: 0,
                offset,
                rows: vec![],
            },
        }
    }

    pub async fn conversation(&self, id: ConversationId) -> Result<ConversationDetail> {
        self.mailbox()
            .ok_or_else(no_account)?
            .conversation(id)
            .await
    }

    /// The raw message, from the body cache or the server.
    pub(super) async fn raw_message(&self, key: &MessageKey) -> Result<Vec<u8>> {
        self.mailbox()
            .ok_or_else(no_account)?
            .raw_message(key)
            .await
    }

    pub async fn message_body(
        &self,
        key: MessageKey,
        allow_remote_images: bool,
    ) -> Result<MessageBody> {
        let raw = self.raw_message(&key).await?;
        let options = IngestOptions {
            allow_remote_images,
        };
        let content = blocking(
            ProblemCode::MessageUnreadable,
            "the message could not be read",
            move || crate::mime::ingest(&raw, &options),
        )
        .await?;
        Ok(MessageBody { key, content })
    }

    /// Writes attachment `index` of a message to `path`.
    pub async fn save_attachment(
        &self,
        key: MessageKey,
        index: u32,
        path: &Path,
    ) -> Result<AttachmentInfo> {
        let (info, bytes) = self.attachment(key, index).await?;
        tokio::fs::write(path, bytes).await.map_err(|e| {
            Problem::new(
                ProblemCode::FileFailed,
                format!("could not write {}", path.display()),
            )
            .with_detail(e.to_string())
        })?;
        Ok(info)
    }

    /// The attachment's metadata, for a save dialog's suggested file name.
    pub async fn attachment_info(&self, key: MessageKey, index: u32) -> Result<AttachmentInfo> {
        Ok(self.attachment(key, index).await?.0)
    }

    pub(super) async fn attachment(
        &self,
        key: MessageKey,
        index: u32,
    ) -> Result<(AttachmentInfo, Vec<u8>)> {
        let raw = self.raw_message(&key).await?;
        blocking(
            ProblemCode::MessageUnreadable,
            "the attachment could not be read",
            move || crate::mime::attachment(&raw, index),
        )
        .await?
    }
}
