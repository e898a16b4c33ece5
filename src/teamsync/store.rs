//! The server's durable store (sled): members, each mailbox's conversation records and
//! its numbered change log.
//!
//! One thread owns the database, as in the desktop cache (`store::persist`): sled 0.34
//! has been seen to hang when several threads write and flush the same database, and
//! funnelling the work costs nothing here. Every write is flushed before its caller hears
//! back, so an `ok` the server sends is on disk; writes that queue up while a flush runs
//! share the next one (group commit).
//!
//! A conversation record and its log entry go into one sled batch, which sled applies
//! atomically: after a crash the records and the log agree. Note versions share the log
//! (so a reconnecting client gets the ones it missed) and keep only their author beside
//! it: the notes themselves live in the mailbox.
//!
//! Each conversation also keeps its own newest changes (its history: who claimed,
//! handed over, released, set a status, and when), written in the same batch; the
//! mailbox-wide log is compacted and cannot answer "what happened to this one".

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::auth;
use super::protocol::{ConversationRecord, Event, NoteEvent};
use crate::problem::{Problem, ProblemCode, Result};

/// Jobs taken from the queue before one flush covers them all.
const GROUP: usize = 256;
/// Old log entries dropped per commit at most, so compaction never stalls a change.
const COMPACT_STEP: u64 = 1024;
/// Changes kept per conversation for its history.
pub const HISTORY_KEEP: usize = 100;

/// A member as stored: which mailboxes they belong to, and hashes only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub mailboxes: BTreeSet<String>,
    /// Set once the member redeemed an invite.
    pub secret_hash: Option<String>,
    /// An invite not redeemed yet, and until when it may be.
    pub invite_hash: Option<String>,
    #[serde(default)]
    pub invite_expires_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct MailboxMeta {
    /// The latest seq handed out.
    seq: u64,
    /// The oldest seq still in the log (1 when nothing was ever compacted).
    first: u64,
}

type Reply<T> = oneshot::Sender<Result<T>>;

/// One numbered entry of a mailbox's log. Untagged, so entries written before notes
/// existed still read as changes (a note entry is the one with a `note` field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LogEntry {
    Note(NoteEvent),
    Change(Event),
}

impl LogEntry {
    pub fn seq(&self) -> u64 {
        match self {
            LogEntry::Note(note) => note.seq,
            LogEntry::Change(event) => event.seq,
        }
    }
}

enum Job {
    Member(String, Reply<Option<MemberRecord>>),
    /// Writes `new` when the member is currently `expected`; false when not.
    SwapMember {
        id: String,
        expected: Option<MemberRecord>,
        new: MemberRecord,
        reply: Reply<bool>,
    },
    Conversation(String, String, Reply<Option<ConversationRecord>>),
    Commit(String, ConversationRecord, Reply<u64>),
    /// Logs a note version under the next seq (its own `seq` is replaced).
    CommitNote(String, NoteEvent, Reply<u64>),
    NoteAuthor(String, String, Reply<Option<String>>),
    Head(String, Reply<u64>),
    History(String, String, Reply<(Vec<Event>, bool)>),
    Snapshot(String, Reply<(u64, Vec<ConversationRecord>)>),
    Since {
        mailbox: String,
        after: u64,
        max: u64,
        reply: Reply<Option<Vec<LogEntry>>>,
    },
}

/// A write whose reply waits for the flush.
enum Pending {
    Bool(Reply<bool>, bool),
    Seq(Reply<u64>, u64),
}

/// A handle to the store's thread. Cheap to clone; the thread flushes and closes the
/// database when the last handle is dropped.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
    epoch: String,
    thread: std::sync::Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

fn store_problem(e: impl std::fmt::Display) -> Problem {
    Problem::new(
        ProblemCode::CacheFailed,
        "the team server's store could not be read or written",
    )
    .with_detail(e.to_string())
}

fn gone() -> Problem {
    Problem::new(
        ProblemCode::ShuttingDown,
        "the team server's store is closed",
    )
}

impl Store {
    /// Opens (or creates) the store in `dir`. Fails when another process has it open.
    pub fn open(dir: &Path, log_keep: u64) -> Result<Store> {
        // Private to the user: the store holds member secrets' hashes and the team's log.
        crate::durable::private_dir(dir)?;
        let path: PathBuf = dir.join("db");
        let config = sled::Config::new()
            .path(&path)
            // Flushes come from the store thread only (see the module comment).
            .flush_every_ms(None);
        let attempt = crate::store::persist::open_when_free(&config);
        let db = attempt.map_err(|e| {
            Problem::new(
                ProblemCode::CacheFailed,
                format!(
                    "could not open the store {} (is another baton-sync using it?)",
                    path.display()
                ),
            )
            .with_detail(e.to_string())
        })?;
        let epoch = match db.get("epoch").map_err(store_problem)? {
            Some(value) => String::from_utf8_lossy(&value).into_owned(),
            None => {
                let epoch = auth::new_epoch()?;
                db.insert("epoch", epoch.as_bytes())
                    .map_err(store_problem)?;
                db.flush().map_err(store_problem)?;
                epoch
            }
        };
        let members = db.open_tree("members").map_err(store_problem)?;
        let (jobs, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("baton-sync-store".into())
            .spawn(move || run(db, members, queue, log_keep.max(1)))
            .map_err(store_problem)?;
        Ok(Store {
            jobs,
            epoch,
            thread: std::sync::Arc::new(std::sync::Mutex::new(Some(thread))),
        })
    }

    /// The store's identity, new whenever a store is created from nothing.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    async fn ask<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(job(reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    pub async fn member(&self, id: &str) -> Result<Option<MemberRecord>> {
        self.ask(|r| Job::Member(id.to_owned(), r)).await
    }

    /// Replaces the member's record if it is still `expected` (`None`: absent); durable
    /// when it returns true. This is what makes an invite usable once.
    pub async fn swap_member(
        &self,
        id: &str,
        expected: Option<MemberRecord>,
        new: MemberRecord,
    ) -> Result<bool> {
        self.ask(|reply| Job::SwapMember {
            id: id.to_owned(),
            expected,
            new,
            reply,
        })
        .await
    }

    pub async fn conversation(
        &self,
        mailbox: &str,
        conversation: &str,
    ) -> Result<Option<ConversationRecord>> {
        self.ask(|r| Job::Conversation(mailbox.to_owned(), conversation.to_owned(), r))
            .await
    }

    /// Stores the record and logs it under the mailbox's next seq; durable when it
    /// returns the seq.
    pub async fn commit(&self, mailbox: &str, record: ConversationRecord) -> Result<u64> {
        self.ask(|r| Job::Commit(mailbox.to_owned(), record, r))
            .await
    }

    /// Logs a note version under the mailbox's next seq and remembers who wrote the note
    /// first; durable when it returns the seq.
    pub async fn commit_note(&self, mailbox: &str, note: NoteEvent) -> Result<u64> {
        self.ask(|r| Job::CommitNote(mailbox.to_owned(), note, r))
            .await
    }

    /// Who added note `note`, as far as this store saw it.
    pub async fn note_author(&self, mailbox: &str, note: &str) -> Result<Option<String>> {
        self.ask(|r| Job::NoteAuthor(mailbox.to_owned(), note.to_owned(), r))
            .await
    }

    /// The mailbox's latest seq.
    pub async fn head(&self, mailbox: &str) -> Result<u64> {
        self.ask(|r| Job::Head(mailbox.to_owned(), r)).await
    }

    /// A conversation's changes, oldest first, and whether they go back to its first
    /// (at most [`HISTORY_KEEP`] are kept).
    pub async fn history(&self, mailbox: &str, conversation: &str) -> Result<(Vec<Event>, bool)> {
        self.ask(|r| Job::History(mailbox.to_owned(), conversation.to_owned(), r))
            .await
    }

    /// The latest seq and every conversation record.
    pub async fn snapshot(&self, mailbox: &str) -> Result<(u64, Vec<ConversationRecord>)> {
        self.ask(|r| Job::Snapshot(mailbox.to_owned(), r)).await
    }

    /// The events after `after`, when the log still holds all of them and they are at
    /// most `max`; `None` means the client needs a snapshot.
    pub async fn since(
        &self,
        mailbox: &str,
        after: u64,
        max: u64,
    ) -> Result<Option<Vec<LogEntry>>> {
        self.ask(|reply| Job::Since {
            mailbox: mailbox.to_owned(),
            after,
            max,
            reply,
        })
        .await
    }

    /// Waits for the store thread to flush and close the database, when this is the
    /// last handle; otherwise only drops this one.
    pub fn close(self) {
        let Store { jobs, thread, .. } = self;
        drop(jobs);
        // The last handle holds the last sender too, so the thread is about to finish.
        if let Ok(slot) = std::sync::Arc::try_unwrap(thread)
            && let Some(handle) = slot.into_inner().unwrap_or_else(|p| p.into_inner())
        {
            let _ = handle.join();
        }
    }
}

fn mailbox_tree(db: &sled::Db, mailbox: &str) -> sled::Result<sled::Tree> {
    db.open_tree(format!("mailbox/{mailbox}"))
}

fn conversation_key(conversation: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(conversation.len() + 1);
    key.push(b'c');
    key.extend_from_slice(conversation.as_bytes());
    key
}

/// The prefix of a conversation's history entries: its length first, so that no id's
/// entries can be mistaken for those of a longer id that starts the same.
fn history_prefix(conversation: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(conversation.len() + 3);
    key.push(b'h');
    key.extend_from_slice(&(conversation.len() as u16).to_be_bytes());
    key.extend_from_slice(conversation.as_bytes());
    key
}

fn history_key(conversation: &str, seq: u64) -> Vec<u8> {
    let mut key = history_prefix(conversation);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn note_key(note: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(note.len() + 1);
    key.push(b'n');
    key.extend_from_slice(note.as_bytes());
    key
}

fn log_key(seq: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = b'l';
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn meta(tree: &sled::Tree) -> Result<MailboxMeta> {
    Ok(match tree.get("m").map_err(store_problem)? {
        Some(value) => serde_json::from_slice(&value).map_err(store_problem)?,
        None => MailboxMeta { seq: 0, first: 1 },
    })
}

fn decode<T: serde::de::DeserializeOwned>(value: &[u8]) -> Result<T> {
    serde_json::from_slice(value).map_err(store_problem)
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(store_problem)
}

fn run(db: sled::Db, members: sled::Tree, queue: mpsc::Receiver<Job>, log_keep: u64) {
    while let Ok(first) = queue.recv() {
        let mut pending: Vec<Pending> = Vec::new();
        let mut wrote = false;
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(job) = next.take() {
            taken += 1;
            handle(&db, &members, job, log_keep, &mut pending, &mut wrote);
            if taken < GROUP {
                next = queue.try_recv().ok();
            }
        }
        if pending.is_empty() {
            continue;
        }
        let flushed = if wrote {
            db.flush().map(|_| ()).map_err(store_problem)
        } else {
            Ok(())
        };
        for done in pending {
            match done {
                Pending::Bool(reply, value) => {
                    let _ = reply.send(flushed.clone().map(|()| value));
                }
                Pending::Seq(reply, value) => {
                    let _ = reply.send(flushed.clone().map(|()| value));
                }
            }
        }
    }
    if let Err(e) = db.flush() {
        tracing::error!(error = %e, "the team server's store could not be flushed on close");
    }
}

fn handle(
    db: &sled::Db,
    members: &sled::Tree,
    job: Job,
    log_keep: u64,
    pending: &mut Vec<Pending>,
    wrote: &mut bool,
) {
    match job {
        Job::Member(id, reply) => {
            let result = members
                .get(id.as_bytes())
                .map_err(store_problem)
                .and_then(|v| v.map(|v| decode(&v)).transpose());
            let _ = reply.send(result);
        }
        Job::SwapMember {
            id,
            expected,
            new,
            reply,
        } => {
            let result = (|| {
                let current: Option<MemberRecord> = members
                    .get(id.as_bytes())
                    .map_err(store_problem)?
                    .map(|v| decode(&v))
                    .transpose()?;
                if current != expected {
                    return Ok(false);
                }
                members
                    .insert(id.as_bytes(), encode(&new)?)
                    .map_err(store_problem)?;
                Ok(true)
            })();
            match result {
                Ok(swapped) => {
                    *wrote |= swapped;
                    pending.push(Pending::Bool(reply, swapped));
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        Job::Conversation(mailbox, conversation, reply) => {
            let result = mailbox_tree(db, &mailbox)
                .and_then(|t| t.get(conversation_key(&conversation)))
                .map_err(store_problem)
                .and_then(|v| v.map(|v| decode(&v)).transpose());
            let _ = reply.send(result);
        }
        Job::Commit(mailbox, record, reply) => match commit(db, &mailbox, &record, log_keep) {
            Ok(seq) => {
                *wrote = true;
                pending.push(Pending::Seq(reply, seq));
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        },
        Job::CommitNote(mailbox, note, reply) => match commit_note(db, &mailbox, note, log_keep) {
            Ok(seq) => {
                *wrote = true;
                pending.push(Pending::Seq(reply, seq));
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        },
        Job::NoteAuthor(mailbox, note, reply) => {
            let result = mailbox_tree(db, &mailbox)
                .and_then(|t| t.get(note_key(&note)))
                .map_err(store_problem)
                .map(|v| v.map(|v| String::from_utf8_lossy(&v).into_owned()));
            let _ = reply.send(result);
        }
        Job::Head(mailbox, reply) => {
            let result = mailbox_tree(db, &mailbox)
                .map_err(store_problem)
                .and_then(|t| meta(&t))
                .map(|m| m.seq);
            let _ = reply.send(result);
        }
        Job::History(mailbox, conversation, reply) => {
            let result = (|| {
                let tree = mailbox_tree(db, &mailbox).map_err(store_problem)?;
                let events = tree
                    .scan_prefix(history_prefix(&conversation))
                    .map(|entry| {
                        let (_, value) = entry.map_err(store_problem)?;
                        decode(&value)
                    })
                    .collect::<Result<Vec<Event>>>()?;
                let complete = events.len() < HISTORY_KEEP;
                Ok((events, complete))
            })();
            let _ = reply.send(result);
        }
        Job::Snapshot(mailbox, reply) => {
            let result = (|| {
                let tree = mailbox_tree(db, &mailbox).map_err(store_problem)?;
                let seq = meta(&tree)?.seq;
                let records = tree
                    .scan_prefix(b"c")
                    .map(|entry| {
                        let (_, value) = entry.map_err(store_problem)?;
                        decode(&value)
                    })
                    .collect::<Result<Vec<ConversationRecord>>>()?;
                Ok((seq, records))
            })();
            let _ = reply.send(result);
        }
        Job::Since {
            mailbox,
            after,
            max,
            reply,
        } => {
            let result = (|| {
                let tree = mailbox_tree(db, &mailbox).map_err(store_problem)?;
                let meta = meta(&tree)?;
                if after > meta.seq
                    || after.saturating_add(1) < meta.first
                    || meta.seq - after > max
                {
                    return Ok(None);
                }
                let events = tree
                    .range(log_key(after + 1)..=log_key(meta.seq))
                    .map(|entry| {
                        let (_, value) = entry.map_err(store_problem)?;
                        decode(&value)
                    })
                    .collect::<Result<Vec<LogEntry>>>()?;
                // A gap would mean a lost entry: never resume over one.
                let complete = events.len() as u64 == meta.seq - after
                    && events
                        .iter()
                        .zip(after + 1..)
                        .all(|(event, seq)| event.seq() == seq);
                Ok(complete.then_some(events))
            })();
            let _ = reply.send(result);
        }
    }
}

fn commit(db: &sled::Db, mailbox: &str, record: &ConversationRecord, log_keep: u64) -> Result<u64> {
    let tree = mailbox_tree(db, mailbox).map_err(store_problem)?;
    let mut batch = sled::Batch::default();
    batch.insert(conversation_key(&record.conversation), encode(record)?);
    // The conversation's history keeps its newest entries: room is made for this one.
    let kept = tree
        .scan_prefix(history_prefix(&record.conversation))
        .keys()
        .collect::<sled::Result<Vec<_>>>()
        .map_err(store_problem)?;
    for old in kept
        .iter()
        .take((kept.len() + 1).saturating_sub(HISTORY_KEEP))
    {
        batch.remove(old);
    }
    append(db, mailbox, batch, log_keep, |seq, batch| {
        let event = encode(&Event {
            seq,
            record: record.clone(),
        })?;
        batch.insert(history_key(&record.conversation, seq), event.clone());
        Ok(event)
    })
}

fn commit_note(db: &sled::Db, mailbox: &str, mut note: NoteEvent, log_keep: u64) -> Result<u64> {
    let tree = mailbox_tree(db, mailbox).map_err(store_problem)?;
    let mut batch = sled::Batch::default();
    // The first author stays: the server refuses anyone else's version before this.
    if tree
        .get(note_key(&note.note))
        .map_err(store_problem)?
        .is_none()
    {
        batch.insert(note_key(&note.note), note.author.as_bytes());
    }
    append(db, mailbox, batch, log_keep, |seq, _| {
        note.seq = seq;
        encode(&LogEntry::Note(note.clone()))
    })
}

/// Adds the log entry `entry` builds for the next seq to `batch` (which it may add to),
/// compacts, and applies it all at once.
fn append(
    db: &sled::Db,
    mailbox: &str,
    mut batch: sled::Batch,
    log_keep: u64,
    entry: impl FnOnce(u64, &mut sled::Batch) -> Result<Vec<u8>>,
) -> Result<u64> {
    let tree = mailbox_tree(db, mailbox).map_err(store_problem)?;
    let mut meta = meta(&tree)?;
    meta.seq += 1;
    let seq = meta.seq;
    let entry = entry(seq, &mut batch)?;
    batch.insert(&log_key(seq)[..], entry);
    // Keep the newest `log_keep` entries; drop a bounded number of older ones per commit.
    let oldest_kept = seq.saturating_sub(log_keep - 1).max(1);
    let until = oldest_kept.min(meta.first + COMPACT_STEP);
    for old in meta.first..until {
        batch.remove(&log_key(old)[..]);
    }
    meta.first = meta.first.max(until);
    batch.insert("m", encode(&meta)?);
    tree.apply_batch(batch).map_err(store_problem)?;
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Status;

    fn record(conversation: &str, version: u64) -> ConversationRecord {
        ConversationRecord {
            conversation: conversation.into(),
            owner: Some("anna".into()),
            status: Status::Open,
            version,
            by: "anna".into(),
            at_ms: 1,
            outside: false,
        }
    }

    #[tokio::test]
    async fn commits_survive_reopening_and_the_log_is_bounded() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path(), 5).expect("open");
        let epoch = store.epoch().to_owned();
        for version in 1..=12 {
            let seq = store
                .commit("support", record("c", version))
                .await
                .expect("commit");
            assert_eq!(seq, version);
        }
        assert_eq!(store.head("support").await.expect("head"), 12);
        let resumed = store.since("support", 9, 100).await.expect("since");
        assert_eq!(
            resumed
                .expect("kept")
                .iter()
                .map(LogEntry::seq)
                .collect::<Vec<_>>(),
            vec![10, 11, 12]
        );
        assert_eq!(store.since("support", 2, 100).await.expect("old"), None);
        assert_eq!(store.since("support", 13, 100).await.expect("ahead"), None);
        assert_eq!(store.since("support", 9, 2).await.expect("too many"), None);
        assert_eq!(
            store.since("support", 12, 100).await.expect("none missed"),
            Some(vec![])
        );
        store.close();

        let store = Store::open(dir.path(), 5).expect("reopen");
        assert_eq!(store.epoch(), epoch);
        let (seq, records) = store.snapshot("support").await.expect("snapshot");
        assert_eq!((seq, records), (12, vec![record("c", 12)]));
        assert_eq!(store.head("other").await.expect("empty"), 0);
        store.close();
    }

    #[tokio::test]
    async fn each_conversation_keeps_its_own_newest_changes_past_log_compaction() {
        let dir = tempfile::tempdir().expect("dir");
        // The mailbox-wide log keeps 5 entries; the histories are kept beside it.
        let store = Store::open(dir.path(), 5).expect("open");
        for version in 1..=3 {
            store
                .commit("support", record("7", version))
                .await
                .expect("commit");
            // "71" starts like "7": its entries must not be read as 7's.
            store
                .commit("support", record("71", version))
                .await
                .expect("commit");
        }
        let (events, complete) = store.history("support", "7").await.expect("history");
        assert!(complete);
        assert_eq!(
            events
                .iter()
                .map(|e| (e.seq, e.record.conversation.as_str(), e.record.version))
                .collect::<Vec<_>>(),
            vec![(1, "7", 1), (3, "7", 2), (5, "7", 3)]
        );
        assert_eq!(
            store.history("support", "nothing").await.expect("empty"),
            (vec![], true)
        );
        for version in 4..=(HISTORY_KEEP as u64 + 10) {
            store
                .commit("support", record("7", version))
                .await
                .expect("commit");
        }
        store.close();
        let store = Store::open(dir.path(), 5).expect("reopen");
        let (events, complete) = store.history("support", "7").await.expect("history");
        assert!(!complete, "the oldest were dropped");
        assert_eq!(events.len(), HISTORY_KEEP);
        assert_eq!(events[0].record.version, 11);
        assert_eq!(
            events.last().map(|e| e.record.version),
            Some(HISTORY_KEEP as u64 + 10)
        );
        assert_eq!(
            store.history("other", "7").await.expect("other mailbox"),
            (vec![], true)
        );
        store.close();
    }

    #[tokio::test]
    async fn notes_share_the_log_and_keep_their_first_author() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path(), 50).expect("open");
        store
            .commit("support", record("c", 1))
            .await
            .expect("change");
        let note = NoteEvent {
            seq: 0,
            about: "root@example".into(),
            note: "0123456789abcdef".into(),
            author: "anna".into(),
            action: super::super::protocol::NoteAction::Add,
            text: "hi".into(),
            at: 5,
        };
        assert_eq!(
            store
                .commit_note("support", note.clone())
                .await
                .expect("note"),
            2
        );
        let later = NoteEvent {
            author: "bram".into(),
            ..note.clone()
        };
        store.commit_note("support", later).await.expect("again");
        assert_eq!(
            store
                .note_author("support", "0123456789abcdef")
                .await
                .expect("author"),
            Some("anna".to_owned())
        );
        let log = store
            .since("support", 0, 100)
            .await
            .expect("since")
            .expect("all");
        assert!(matches!(&log[0], LogEntry::Change(e) if e.seq == 1));
        assert_eq!(log[1], LogEntry::Note(NoteEvent { seq: 2, ..note }));
        store.close();
    }

    #[tokio::test]
    async fn members_swap_only_from_what_was_read() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path(), 5).expect("open");
        let first = MemberRecord {
            mailboxes: ["support".to_owned()].into(),
            ..MemberRecord::default()
        };
        assert!(
            store
                .swap_member("anna", None, first.clone())
                .await
                .expect("swap")
        );
        assert!(
            !store
                .swap_member("anna", None, first.clone())
                .await
                .expect("stale")
        );
        assert_eq!(store.member("anna").await.expect("read"), Some(first));
        store.close();
    }
}
