//! Raw messages fetched on demand, one file each, so a 50 MB message never sits in the
//! sled cache and a body is read from disk the second time it is opened.

use std::path::{Path, PathBuf};

use crate::problem::{Problem, ProblemCode, Result};

#[derive(Debug, Clone)]
pub struct BodyCache {
    dir: PathBuf,
}

impl BodyCache {
    pub fn new(dir: &Path) -> BodyCache {
        BodyCache {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, slot: u16, uid_validity: u32, uid: u32) -> PathBuf {
        self.dir
            .join(slot.to_string())
            .join(uid_validity.to_string())
            .join(format!("{uid}.eml"))
    }

    pub async fn read(&self, slot: u16, uid_validity: u32, uid: u32) -> Option<Vec<u8>> {
        tokio::fs::read(self.path(slot, uid_validity, uid))
            .await
            .ok()
    }

    /// Writes atomically: a crash leaves the old file or none, never half a message.
    pub async fn write(&self, slot: u16, uid_validity: u32, uid: u32, raw: &[u8]) -> Result<()> {
        let path = self.path(slot, uid_validity, uid);
        let fail = |e: std::io::Error| {
            Problem::new(ProblemCode::CacheFailed, "a message could not be cached")
                .with_detail(e.to_string())
        };
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(fail)?;
        }
        let tmp = path.with_extension("tmp");
        tokio::fs::write(&tmp, raw).await.map_err(fail)?;
        tokio::fs::rename(&tmp, &path).await.map_err(fail)
    }

    /// Forgets a folder's bodies (its UIDVALIDITY changed).
    pub async fn clear_folder(&self, slot: u16) {
        let _ = tokio::fs::remove_dir_all(self.dir.join(slot.to_string())).await;
    }
}
