//! The outbox on disk: per message its bytes (`<id>.eml`, written once) and its state
//! (`<id>.json`, rewritten before every step). Both are synced before anything that
//! depends on them happens.

use std::collections::BTreeMap;
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

/// Clones share one lock and one copy of the entries in memory: a state change (the
/// worker starting SMTP, "undo", "send again") reads and writes an entry under the lock,
/// so two of them never cross, and listing (which the guard, the outbox task and the
/// team's "sending" marks do all the time) never reads the disk again. The files are the
/// truth: each change is on disk, synced, before the memory takes it.
#[derive(Debug, Clone)]
pub struct OutboxStore {
    dir: PathBuf,
    entries: std::sync::Arc<std::sync::Mutex<Option<BTreeMap<String, Entry>>>>,
}

type Entries = BTreeMap<String, Entry>;

impl OutboxStore {
    pub fn new(dir: &Path) -> OutboxStore {
        OutboxStore {
            dir: dir.to_path_buf(),
            entries: Default::default(),
        }
    }

    /// The entries, read from disk the first time.
    fn locked(&self) -> std::sync::MutexGuard<'_, Option<Entries>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.is_none() {
            *entries = Some(self.read_all());
        }
        entries
    }

    /// Reads entry `id`, lets `change` decide and edit it, and writes it back (synced)
    /// when `change` says so, all under the lock.
    pub fn update<T>(
        &self,
        id: &str,
        change: impl FnOnce(&mut Entry) -> Result<(bool, T)>,
    ) -> Result<(Entry, T)> {
        let mut entries = self.locked();
        let entries = entries.get_or_insert_with(Default::default);
        let mut entry = entries.get(id).cloned().ok_or_else(not_found)?;
        let (write, value) = change(&mut entry)?;
        if write {
            self.write(&entry)?;
            entries.insert(entry.item.id.clone(), entry.clone());
        }
        Ok((entry, value))
    }

    /// Removes entry `id` when `decide` agrees, under the lock; returns the entry.
    pub fn take_if(&self, id: &str, decide: impl FnOnce(&Entry) -> Result<()>) -> Result<Entry> {
        let mut entries = self.locked();
        let entries = entries.get_or_insert_with(Default::default);
        let entry = entries.get(id).cloned().ok_or_else(not_found)?;
        decide(&entry)?;
        self.remove_files(id)?;
        entries.remove(id);
        Ok(entry)
    }

    /// Adds a message: its bytes first, then its state, both synced; only then is it in
    /// the outbox.
    pub fn add(&self, entry: &Entry, message: &[u8]) -> Result<()> {
        let mut entries = self.locked();
        durable::write(&self.eml(&entry.item.id), message)?;
        self.write(entry)?;
        entries
            .get_or_insert_with(Default::default)
            .insert(entry.item.id.clone(), entry.clone());
        Ok(())
    }

    /// Records a new state of an entry (synced).
    pub fn put(&self, entry: &Entry) -> Result<()> {
        let mut entries = self.locked();
        self.write(entry)?;
        entries
            .get_or_insert_with(Default::default)
            .insert(entry.item.id.clone(), entry.clone());
        Ok(())
    }

    fn write(&self, entry: &Entry) -> Result<()> {
        durable::write_json(&self.json(&entry.item.id), entry)
    }

    pub fn get(&self, id: &str) -> Result<Entry> {
        self.locked()
            .as_ref()
            .and_then(|entries| entries.get(id).cloned())
            .ok_or_else(not_found)
    }

    pub fn message(&self, id: &str) -> Result<Vec<u8>> {
        let path = self.eml(id);
        std::fs::read(&path).map_err(|e| durable::problem(&path, e))
    }

    /// Every entry, oldest first.
    pub fn list(&self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = self
            .locked()
            .iter()
            .flat_map(|entries| entries.values().cloned())
            .collect();
        entries.sort_by_key(|e| (e.item.queued_at, e.item.id.clone()));
        entries
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        let mut entries = self.locked();
        self.remove_files(id)?;
        if let Some(entries) = entries.as_mut() {
            entries.remove(id);
        }
        Ok(())
    }

    fn remove_files(&self, id: &str) -> Result<()> {
        durable::remove(&self.json(id))?;
        durable::remove(&self.eml(id))
    }

    /// Every entry on disk; a damaged one is logged and skipped.
    fn read_all(&self) -> Entries {
        let Ok(files) = std::fs::read_dir(&self.dir) else {
            return Entries::new();
        };
        files
            .flatten()
            .filter(|f| f.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|f| match durable::read_json::<Entry>(&f.path()) {
                Ok(entry) => entry,
                Err(problem) => {
                    tracing::error!("outbox entry {}: {problem}", f.path().display());
                    None
                }
            })
            .map(|entry| (entry.item.id.clone(), entry))
            .collect()
    }

    fn json(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{}.json", safe(id)))
    }

    fn eml(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{}.eml", safe(id)))
    }
}

fn not_found() -> Problem {
    Problem::new(ProblemCode::NotFound, "the message is not in the outbox")
}

/// Ids are the drafts' (16 hex digits); anything else cannot name a file here.
fn safe(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_hexdigit)
        .take(16)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::compose::{DraftKind, Threading};
    use crate::conversation::ConversationId;
    use crate::outbox::OutboxStatus;

    /// An entry for conversation 7, queued at `queued_at`.
    pub(crate) fn entry(id: &str, queued_at: i64, status: OutboxStatus) -> Entry {
        let draft = Draft {
            id: id.to_owned(),
            message_id: format!("{id}@acme.test"),
            kind: DraftKind::Reply,
            conversation: Some(ConversationId(7)),
            source: None,
            to: "jan@example.nl".into(),
            cc: String::new(),
            bcc: String::new(),
            subject: "Re: Hi".into(),
            body: "Hello".into(),
            attachments: Vec::new(),
            started_at: 1,
            saved_at: 1,
            threading: Threading::default(),
            baseline: None,
            server_copied_at: None,
        };
        Entry {
            item: OutboxItem {
                id: id.to_owned(),
                message_id: draft.message_id.clone(),
                conversation: draft.conversation,
                replying_to: None,
                subject: draft.subject.clone(),
                recipients: vec![draft.to.clone()],
                status,
                queued_at,
                send_at: queued_at + 10_000,
                attempts: 0,
            },
            sender: "support@acme.test".into(),
            phase: Phase::Idle,
            after: AfterSend::default(),
            claim: true,
            draft,
            first_attempt_at: None,
            sent_against: None,
            despite: Vec::new(),
            claimed_by_send: false,
        }
    }

    #[test]
    fn clones_share_what_is_on_disk_and_a_fresh_store_reads_it_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = OutboxStore::new(dir.path());
        let other = store.clone();
        store
            .add(
                &entry("00000000000000b2", 20, OutboxStatus::Queued),
                b"raw b",
            )
            .expect("add");
        store
            .add(
                &entry("00000000000000a1", 10, OutboxStatus::Queued),
                b"raw a",
            )
            .expect("add");
        // Oldest first, seen through the clone.
        let ids: Vec<String> = other.list().into_iter().map(|e| e.item.id).collect();
        assert_eq!(ids, ["00000000000000a1", "00000000000000b2"]);
        other
            .update("00000000000000a1", |e| {
                e.item.status = OutboxStatus::Sending;
                Ok((true, ()))
            })
            .expect("update");
        assert_eq!(
            store.get("00000000000000a1").expect("get").item.status,
            OutboxStatus::Sending
        );
        // A change that is not written leaves both memory and disk as they were.
        store
            .update("00000000000000b2", |e| {
                e.item.attempts = 9;
                Ok((false, ()))
            })
            .expect("update");
        assert_eq!(store.get("00000000000000b2").expect("get").item.attempts, 0);
        store.take_if("00000000000000b2", |_| Ok(())).expect("take");
        assert!(other.get("00000000000000b2").is_err());
        // What a restart reads: the files, a damaged one skipped.
        std::fs::write(dir.path().join("00000000000000c3.json"), b"{ broken").expect("write");
        let fresh = OutboxStore::new(dir.path());
        let listed = fresh.list();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].item.status, OutboxStatus::Sending);
        assert_eq!(fresh.message("00000000000000a1").expect("raw"), b"raw a");
    }
}
