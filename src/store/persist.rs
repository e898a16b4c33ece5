//! The cache on disk (sled). Messages are stored in chunks of a UID range rather than one
//! entry per message: sled's per-entry cost would make a 100,000-message first sync and a
//! cold start several times slower, while a chunk rewrite on a flag change is cheap.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::record::MessageRecord;
use crate::conversation::FolderRole;
use crate::problem::{Problem, ProblemCode, Result};

/// Bump when a stored type changes shape; an old cache is then dropped and resynced.
const SCHEMA: u32 = 1;
/// UIDs per chunk (as a shift): 1,024 consecutive UIDs share one sled value.
pub const CHUNK_SHIFT: u32 = 10;

/// What the cache knows of a folder's sync position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderState {
    pub uid_validity: u32,
    /// Every message below this UID and at or above `synced_from` is cached.
    pub uid_next: u32,
    pub highest_modseq: u64,
    /// The lowest UID from which the cache is complete; 1 when the whole folder is
    /// cached, 0 when nothing is. A first sync fetches newest first, so an interrupted
    /// one resumes downwards from here.
    pub synced_from: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderMeta {
    pub name: String,
    pub slot: u16,
    pub role: FolderRole,
    pub state: FolderState,
}

pub struct Persist {
    db: sled::Db,
    folders: sled::Tree,
    messages: sled::Tree,
}

fn cache_problem(e: impl std::fmt::Display) -> Problem {
    Problem::new(
        ProblemCode::CacheFailed,
        "the local cache could not be used",
    )
    .with_detail(e.to_string())
}

pub fn chunk_key(slot: u16, chunk: u32) -> [u8; 6] {
    let mut key = [0u8; 6];
    key[..2].copy_from_slice(&slot.to_be_bytes());
    key[2..].copy_from_slice(&chunk.to_be_bytes());
    key
}

impl Persist {
    pub fn open(dir: &Path) -> Result<Persist> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(64 * 1024 * 1024)
            .open()
            .map_err(cache_problem)?;
        let schema = db
            .get("schema")
            .map_err(cache_problem)?
            .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes));
        if schema != Some(SCHEMA) {
            // An unknown layout is a cache, not data: start over and resync.
            for name in ["folders", "messages"] {
                db.drop_tree(name).map_err(cache_problem)?;
            }
            db.insert("schema", &SCHEMA.to_be_bytes())
                .map_err(cache_problem)?;
        }
        let folders = db.open_tree("folders").map_err(cache_problem)?;
        let messages = db.open_tree("messages").map_err(cache_problem)?;
        Ok(Persist {
            db,
            folders,
            messages,
        })
    }

    pub fn load_folders(&self) -> Result<Vec<FolderMeta>> {
        self.folders
            .iter()
            .values()
            .map(|v| {
                let v = v.map_err(cache_problem)?;
                postcard::from_bytes(&v).map_err(cache_problem)
            })
            .collect()
    }

    /// Every stored chunk: (folder slot, records).
    pub fn load_chunks(&self) -> impl Iterator<Item = Result<(u16, Vec<MessageRecord>)>> + '_ {
        self.messages.iter().map(|entry| {
            let (key, value) = entry.map_err(cache_problem)?;
            let slot = u16::from_be_bytes([key[0], key[1]]);
            let records = postcard::from_bytes(&value).map_err(cache_problem)?;
            Ok((slot, records))
        })
    }

    pub fn save_folder(&self, meta: &FolderMeta) -> Result<()> {
        let value = postcard::to_allocvec(meta).map_err(cache_problem)?;
        self.folders
            .insert(meta.name.as_bytes(), value)
            .map_err(cache_problem)?;
        Ok(())
    }

    pub fn save_chunk(&self, slot: u16, chunk: u32, records: &[&MessageRecord]) -> Result<()> {
        let key = chunk_key(slot, chunk);
        if records.is_empty() {
            self.messages.remove(key).map_err(cache_problem)?;
        } else {
            let value = postcard::to_allocvec(records).map_err(cache_problem)?;
            self.messages.insert(key, value).map_err(cache_problem)?;
        }
        Ok(())
    }

    /// Removes every chunk of a folder (UIDVALIDITY changed).
    pub fn clear_folder(&self, slot: u16) -> Result<()> {
        let start = chunk_key(slot, 0);
        let end = chunk_key(slot, u32::MAX);
        let keys: Vec<_> = self
            .messages
            .range(start..=end)
            .keys()
            .collect::<std::result::Result<_, _>>()
            .map_err(cache_problem)?;
        for key in keys {
            self.messages.remove(key).map_err(cache_problem)?;
        }
        Ok(())
    }

    pub fn db_handle(&self) -> sled::Db {
        self.db.clone()
    }
}
