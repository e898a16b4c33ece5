//! Drafts on this computer: one JSON file each, saved as the member types (the window
//! saves every few seconds), and a directory with the attached files. A crash loses at
//! most the last few seconds of typing.

use std::path::{Path, PathBuf};

use super::{Draft, DraftAttachment};
use crate::durable;
use crate::problem::{Problem, ProblemCode, Result};

/// One attached file may be at most this large; mail servers refuse far less.
pub const MAX_ATTACHMENT: u64 = 100 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct DraftStore {
    dir: PathBuf,
}

impl DraftStore {
    pub fn new(dir: &Path) -> DraftStore {
        DraftStore {
            dir: dir.to_path_buf(),
        }
    }

    pub fn save(&self, draft: &Draft) -> Result<()> {
        check_id(&draft.id)?;
        durable::write_json(&self.file(&draft.id), draft)
    }

    pub fn load(&self, id: &str) -> Result<Draft> {
        check_id(id)?;
        durable::read_json(&self.file(id))?
            .ok_or_else(|| Problem::new(ProblemCode::NotFound, "the draft no longer exists"))
    }

    /// Every draft, oldest first. A damaged file is skipped (and logged), not fatal.
    pub fn list(&self) -> Vec<Draft> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut drafts: Vec<Draft> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| match durable::read_json::<Draft>(&e.path()) {
                Ok(draft) => draft,
                Err(problem) => {
                    tracing::warn!("draft {}: {problem}", e.path().display());
                    None
                }
            })
            .collect();
        drafts.sort_by_key(|d| d.started_at);
        drafts
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        check_id(id)?;
        durable::remove(&self.file(id))?;
        durable::remove(&self.attachments_dir(id))
    }

    pub fn attachments_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Copies `source` into the draft, so the message can be built even if the original
    /// file moves or changes later.
    pub fn attach(&self, id: &str, source: &Path) -> Result<DraftAttachment> {
        check_id(id)?;
        let meta = std::fs::metadata(source).map_err(|e| durable::problem(source, e))?;
        if !meta.is_file() {
            return Err(Problem::new(
                ProblemCode::FileFailed,
                "only files can be attached",
            ));
        }
        if meta.len() > MAX_ATTACHMENT {
            return Err(Problem::new(
                ProblemCode::MessageTooLarge,
                "the file is too large to send by mail",
            ));
        }
        let name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".to_owned());
        let attachment_id = new_id();
        let dir = self.attachments_dir(id);
        std::fs::create_dir_all(&dir).map_err(|e| durable::problem(&dir, e))?;
        let target = dir.join(&attachment_id);
        std::fs::copy(source, &target).map_err(|e| durable::problem(&target, e))?;
        Ok(DraftAttachment {
            id: attachment_id,
            mime_type: mime_type_of(&name).to_owned(),
            name,
            size: meta.len(),
        })
    }

    pub fn detach(&self, id: &str, attachment: &str) -> Result<()> {
        check_id(id)?;
        check_id(attachment)?;
        durable::remove(&self.attachments_dir(id).join(attachment))
    }

    fn file(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }
}

/// A fresh random id: 16 hex digits.
pub fn new_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// A new Message-ID on the shared address's domain.
pub fn new_message_id(shared_address: &str, now_ms: i64) -> String {
    let domain = shared_address
        .rsplit_once('@')
        .map_or("baton.invalid", |(_, d)| d);
    format!("baton.{now_ms:x}.{:016x}@{domain}", fastrand::u64(..))
}

/// Ids come back from the window: only what `new_id` makes is accepted, so an id can
/// never name a path outside the drafts directory.
fn check_id(id: &str) -> Result<()> {
    if id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Problem::new(ProblemCode::NotFound, "no such draft"))
    }
}

fn mime_type_of(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("txt") => "text/plain",
        Some("csv") => "text/csv",
        Some("zip") => "application/zip",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{DraftKind, Threading};

    #[test]
    fn drafts_round_trip_with_attachments_and_refuse_path_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DraftStore::new(dir.path());
        let id = new_id();
        let mut draft = Draft {
            id: id.clone(),
            message_id: new_message_id("support@acme.test", 1),
            kind: DraftKind::New,
            conversation: None,
            source: None,
            to: "jan@example.nl".into(),
            cc: String::new(),
            bcc: String::new(),
            subject: "Hi".into(),
            body: "Hello".into(),
            attachments: Vec::new(),
            started_at: 1,
            saved_at: 1,
            threading: Threading::default(),
            baseline: None,
            server_copied_at: None,
        };
        assert!(draft.message_id.ends_with("@acme.test"));
        let file = dir.path().join("invoice.pdf");
        std::fs::write(&file, b"%PDF-1.4").expect("write");
        let attached = store.attach(&id, &file).expect("attach");
        assert_eq!(attached.mime_type, "application/pdf");
        assert_eq!(attached.size, 8);
        draft.attachments.push(attached.clone());
        store.save(&draft).expect("save");
        assert_eq!(store.load(&id).expect("load"), draft);
        assert_eq!(store.list(), vec![draft]);
        store.detach(&id, &attached.id).expect("detach");
        store.remove(&id).expect("remove");
        assert!(store.list().is_empty());
        for bad in ["../../etc/passwd", "x", "0123456789abcdeg"] {
            assert_eq!(store.load(bad).expect_err(bad).code, ProblemCode::NotFound);
        }
    }
}
