//! The outbox on disk: per message its bytes (`<id>.eml`, written once) and its state
//! (`<id>.json`, rewritten before every step). Both are synced before anything that
//! depends on them happens.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::OutboxItem;
use crate::compose::guard::Baseline;
use crate::compose::{Draft, GuardFinding};
use crate::durable;
use crate::problem::{Problem, ProblemCode, Result};

/// How far the current attempt got, recorded before each step is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No attempt under way.
    Idle,
    /// Connecting and giving the envelope; nothing can have left yet.
    Envelope,
    /// The content is being handed over: from here on it may have left.
    Content,
    /// The server took it; the work after sending may still be open.
    Delivered,
}

/// The work after a message left: each done once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterSend {
    pub sent_copy: bool,
    pub answered: bool,
    pub claimed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub item: OutboxItem,
    pub sender: String,
    pub phase: Phase,
    pub after: AfterSend,
    /// Claim the conversation for this member when nobody holds it: when it is queued
    /// (the compare-and-set claim is the lock against a colleague's reply), else before
    /// it leaves, else after. `after.claimed` says it is done.
    pub claim: bool,
    /// The draft, so "undo" gives it back as it was.
    pub draft: Draft,
    /// When the first attempt started (milliseconds), for giving up after days.
    pub first_attempt_at: Option<i64>,
    /// The conversation as the check at Send saw it: the last check before the message
    /// leaves reports only what came after.
    #[serde(default)]
    pub sent_against: Option<Baseline>,
    /// What the member chose to send despite, at Send or when sending a held message
    /// anyway: not news to them any more.
    #[serde(default)]
    pub despite: Vec<GuardFinding>,
    /// This send took the claim (nobody held the conversation): taking the message back
    /// gives the claim back too.
    #[serde(default)]
    pub claimed_by_send: bool,
}

/// Clones share one lock: a state change (the worker starting SMTP, "undo", "send
/// again") reads and writes an entry under it, so two of them never cross.
#[derive(Debug, Clone)]
pub struct OutboxStore {
    dir: PathBuf,
    lock: std::sync::Arc<std::sync::Mutex<()>>,
}

impl OutboxStore {
    pub fn new(dir: &Path) -> OutboxStore {
        OutboxStore {
            dir: dir.to_path_buf(),
            lock: Default::default(),
        }
    }

    /// Reads entry `id`, lets `change` decide and edit it, and writes it back (synced)
    /// when `change` says so, all under the lock.
    pub fn update<T>(
        &self,
        id: &str,
        change: impl FnOnce(&mut Entry) -> Result<(bool, T)>,
    ) -> Result<(Entry, T)> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut entry = self.get(id)?;
        let (write, value) = change(&mut entry)?;
        if write {
            self.put(&entry)?;
        }
        Ok((entry, value))
    }

    /// Removes entry `id` when `decide` agrees, under the lock; returns the entry.
    pub fn take_if(&self, id: &str, decide: impl FnOnce(&Entry) -> Result<()>) -> Result<Entry> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let entry = self.get(id)?;
        decide(&entry)?;
        self.remove(id)?;
        Ok(entry)
    }

    /// Adds a message: its bytes first, then its state, both synced; only then is it in
    /// the outbox.
    pub fn add(&self, entry: &Entry, message: &[u8]) -> Result<()> {
        durable::write(&self.eml(&entry.item.id), message)?;
        self.put(entry)
    }

    /// Records a new state of an entry (synced).
    pub fn put(&self, entry: &Entry) -> Result<()> {
        durable::write_json(&self.json(&entry.item.id), entry)
    }

    pub fn get(&self, id: &str) -> Result<Entry> {
        durable::read_json(&self.json(id))?
            .ok_or_else(|| Problem::new(ProblemCode::NotFound, "the message is not in the outbox"))
    }

    pub fn message(&self, id: &str) -> Result<Vec<u8>> {
        let path = self.eml(id);
        std::fs::read(&path).map_err(|e| durable::problem(&path, e))
    }

    /// Every entry, oldest first; a damaged one is logged and skipped.
    pub fn list(&self) -> Vec<Entry> {
        let Ok(files) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut entries: Vec<Entry> = files
            .flatten()
            .filter(|f| f.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|f| match durable::read_json::<Entry>(&f.path()) {
                Ok(entry) => entry,
                Err(problem) => {
                    tracing::error!("outbox entry {}: {problem}", f.path().display());
                    None
                }
            })
            .collect();
        entries.sort_by_key(|e| (e.item.queued_at, e.item.id.clone()));
        entries
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        durable::remove(&self.json(id))?;
        durable::remove(&self.eml(id))
    }

    fn json(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{}.json", safe(id)))
    }

    fn eml(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{}.eml", safe(id)))
    }
}

/// Ids are the drafts' (16 hex digits); anything else cannot name a file here.
fn safe(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_hexdigit)
        .take(16)
        .collect()
}
