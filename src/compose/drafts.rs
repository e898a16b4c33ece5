//! Drafts on this computer: one JSON file each, saved as the member types (the window
//! saves every few seconds), and a directory with the attached files. A crash loses at
//! most the last few seconds of typing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{Draft, DraftAttachment};
use crate::durable;
use crate::problem::{Problem, ProblemCode, Result};

/// One attached file may be at most this large; mail servers refuse far less.
pub const MAX_ATTACHMENT: u64 = 100 * 1024 * 1024;

/// Clones share one lock: the window's saves, attaching and the background copy to the
/// Drafts folder each read, change and write a draft, and must not write over each
/// other's change.
#[derive(Debug, Clone)]
pub struct DraftStore {
    dir: PathBuf,
    lock: Arc<Mutex<()>>,
}

impl DraftStore {
    pub fn new(dir: &Path) -> DraftStore {
        DraftStore {
            dir: dir.to_path_buf(),
            lock: Default::default(),
        }
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn save(&self, draft: &Draft) -> Result<()> {
        check_id(&draft.id)?;
        let _turn = self.locked();
        durable::write_json(&self.file(&draft.id), draft)
    }

    /// Reads draft `id`, lets `change` edit it, and writes it back, all in one turn: a
    /// change made meanwhile elsewhere is not lost. Nothing is written when `change`
    /// fails.
    pub fn update<T>(
        &self,
        id: &str,
        change: impl FnOnce(&mut Draft) -> Result<T>,
    ) -> Result<(Draft, T)> {
        let _turn = self.locked();
        let mut draft = self.load(id)?;
        let outcome = change(&mut draft)?;
        durable::write_json(&self.file(id), &draft)?;
        Ok((draft, outcome))
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
        let _turn = self.locked();
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

    fn draft(id: &str) -> Draft {
        Draft {
            id: id.to_owned(),
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
        }
    }

    #[test]
    fn drafts_round_trip_with_attachments_and_refuse_path_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DraftStore::new(dir.path());
        let id = new_id();
        let mut draft = draft(&id);
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

    #[test]
    fn changes_from_several_places_at_once_are_all_kept() {
        // The window saving as the member types, a file being attached and the copy to
        // the Drafts folder noting its time: each reads, changes and writes the draft.
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DraftStore::new(dir.path());
        let id = new_id();
        store.save(&draft(&id)).expect("save");
        std::thread::scope(|scope| {
            for writer in ["a", "b", "c"] {
                let store = store.clone();
                let id = id.clone();
                scope.spawn(move || {
                    for _ in 0..50 {
                        store
                            .update(&id, |d| {
                                d.body.push_str(writer);
                                Ok(())
                            })
                            .expect("update");
                    }
                });
            }
        });
        let body = store.load(&id).expect("load").body;
        for writer in ["a", "b", "c"] {
            assert_eq!(body.matches(writer).count(), 50, "{writer}: {body}");
        }
        // A change that fails writes nothing.
        let refused = store.update(&id, |d| -> Result<()> {
            d.body.clear();
            Err(Problem::new(ProblemCode::FileFailed, "no"))
        });
        assert!(refused.is_err());
        assert_eq!(store.load(&id).expect("load").body, body);
    }
}
