//! The templates folder `Baton/Templates` of a mailbox: the team's canned replies and the
//! mailbox signature, one small message per version (the newest of each id counts).

use super::Mailbox;
use crate::compose::Template;
use crate::compose::templates::{self, FOLDER, MAX_TEMPLATE};
use crate::problem::Result;
use crate::sync::mailops::{FolderTarget, MailOp};

impl Mailbox {
    /// Every template version in the folder, with its UID.
    async fn template_versions(&self) -> Result<Vec<(u32, Template)>> {
        let (_, messages) = self
            .mail_op(|reply| MailOp::ReadSince {
                folder: FolderTarget::Named(FOLDER.to_owned()),
                from_uid: 1,
                limit: (MAX_TEMPLATE * 2) as u64,
                reply,
            })
            .await?;
        Ok(messages
            .into_iter()
            .filter_map(|(uid, raw)| Some((uid, templates::from_message(&raw)?)))
            .collect())
    }

    /// The team's templates as they stand now.
    pub async fn templates(&self) -> Result<Vec<Template>> {
        Ok(templates::latest(self.template_versions().await?))
    }

    /// Stores a version of `template` and removes its older ones.
    pub async fn save_template(&self, template: &Template) -> Result<()> {
        let shared = self.connection().account.shared_address.clone();
        let message = templates::to_message(template, &shared)?;
        let old = self.template_uids(&template.id).await?;
        self.file_read(FOLDER, message).await?;
        self.remove_templates(old).await
    }

    /// Removes every version of template `id`.
    pub async fn delete_template(&self, id: &str) -> Result<()> {
        let uids = self.template_uids(id).await?;
        self.remove_templates(uids).await
    }

    async fn template_uids(&self, id: &str) -> Result<Vec<u32>> {
        Ok(self
            .template_versions()
            .await?
            .into_iter()
            .filter(|(_, t)| t.id == id)
            .map(|(uid, _)| uid)
            .collect())
    }

    async fn remove_templates(&self, uids: Vec<u32>) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        self.mail_op(|reply| MailOp::Remove {
            folder: FolderTarget::Named(FOLDER.to_owned()),
            uids,
            reply,
        })
        .await
    }
}
