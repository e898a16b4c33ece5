//! The cache on disk (sled). Messages are stored in chunks of a UID range rather than one
//! entry per message: sled's per-entry cost would make a 100,000-message first sync and a
//! cold start several times slower, while a chunk rewrite on a flag change is cheap.
//!
//! One thread owns the database: it loads it, then applies the writes and flushes sent
//! to it, and flushes and closes it when the cache is dropped. sled 0.34 hangs now and
//! then when several threads write, flush and drop the same database (flushes that never
//! become stable; spacejam/sled #1308 and #1412, fixed after its last release), and
//! nothing is lost by funnelling the writes: they are whole chunks, already serialized.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

use super::record::MessageRecord;
use crate::conversation::FolderRole;
use crate::problem::{Problem, ProblemCode, Result};

/// Bump when a stored type changes shape; an old cache is then dropped and resynced.
const SCHEMA: u32 = 2;
/// How long written data may wait for a flush when the cache is quiet.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// Where the list snapshot is kept (in the default tree).
const SNAPSHOT_KEY: &str = "list-snapshot";
/// UIDs per chunk (as a shift): 256 consecutive UIDs share one sled value (about 80 KB).
pub const CHUNK_SHIFT: u32 = 8;

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

/// Everything the cache held when it was opened.
pub struct Loaded {
    pub folders: Vec<FolderMeta>,
    /// (folder slot, records) per stored chunk.
    pub chunks: Vec<(u16, Vec<MessageRecord>)>,
}

enum Write {
    Folder {
        name: String,
        value: Vec<u8>,
    },
    Snapshot {
        value: Vec<u8>,
    },
    Chunk {
        key: [u8; 6],
        value: Option<Vec<u8>>,
    },
}

enum Job {
    Load(mpsc::SyncSender<Result<Loaded>>),
    /// Forget everything stored (what was there could not be read).
    Clear,
    Apply(Vec<Write>),
    Flush(tokio::sync::oneshot::Sender<Result<()>>),
}

/// What `Persist::open` gives: the handle, the cache's contents on their way, and the
/// saved list snapshot.
pub type Opened = (Persist, mpsc::Receiver<Result<Loaded>>, Option<Vec<u8>>);

/// The handle to the cache thread. Dropping it flushes and closes the database.
pub struct Persist {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// Asks the cache thread to flush; cheap to clone.
#[derive(Clone)]
pub struct Flusher(mpsc::Sender<Job>);

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

/// The detail of the problem "the cache is held by another process" (not damage).
const IN_USE: &str = "the cache's lock is held";

/// How often and how long `open_when_free` waits for a lock a closing database holds.
const LOCK_RETRIES: usize = 500;
const LOCK_RETRY_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

/// Opens a sled database, waiting up to ten seconds for its file lock: sled lets go of
/// it a moment after the last handle is dropped, so a database closed in this process
/// (an engine restarting, a store reopened) would otherwise look taken. On a loaded
/// machine the old engine's tasks can take seconds to let go (a restart after joining
/// or hosting a team server was seen failing with two seconds).
pub fn open_when_free(config: &sled::Config) -> sled::Result<sled::Db> {
    let mut attempt = config.open();
    for _ in 0..LOCK_RETRIES {
        match &attempt {
            Err(sled::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(LOCK_RETRY_WAIT);
                attempt = config.open();
            }
            _ => break,
        }
    }
    attempt
}

impl Persist {
    /// Opens the cache in `dir`; a cache that will not open (damaged files, a panic
    /// inside sled) is moved aside to `<dir>.damaged` and a new one started, because it
    /// is only a copy of the mailbox: the sync fills it again. The problem met comes back
    /// with it, so the member can be told. A cache another Baton holds is not damaged
    /// and is not touched.
    pub fn open_or_rebuild(dir: &Path) -> Result<(Opened, Option<Problem>)> {
        let attempt = std::panic::catch_unwind(|| Persist::open(dir))
            .unwrap_or_else(|_| Err(cache_problem("the cache's files could not be read")));
        let problem = match attempt {
            Ok(opened) => return Ok((opened, None)),
            Err(problem) if problem.detail.as_deref() == Some(IN_USE) => return Err(problem),
            Err(problem) => problem,
        };
        tracing::warn!(
            "cache damaged, rebuilding: {problem} ({:?})",
            problem.detail
        );
        let aside = dir.with_extension("damaged");
        let _ = std::fs::remove_dir_all(&aside);
        std::fs::rename(dir, &aside)
            .or_else(|_| std::fs::remove_dir_all(dir))
            .map_err(cache_problem)?;
        Ok((Persist::open(dir)?, Some(problem)))
    }

    /// Opens the cache in `dir` and starts the thread that owns it, which reads all of
    /// it into the returned receiver. Also returns the saved list snapshot.
    pub fn open(dir: &Path) -> Result<Opened> {
        let config = sled::Config::new()
            .path(dir)
            .cache_capacity(64 * 1024 * 1024)
            // Chunks stay well below a quarter segment, so sled keeps them inline rather
            // than as separate blob files (its less-trodden path).
            .segment_size(8 * 1024 * 1024)
            // Flushes come from the cache thread only (see the module comment).
            .flush_every_ms(None);
        let db = open_when_free(&config).map_err(|e| match e {
            sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => Problem::new(
                ProblemCode::CacheFailed,
                "another Baton on this computer has this mailbox open",
            )
            .with_detail(IN_USE),
            other => cache_problem(other),
        })?;
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
        let snapshot = db
            .get(SNAPSHOT_KEY)
            .map_err(cache_problem)?
            .map(|v| v.to_vec());
        let (jobs, received) = mpsc::channel();
        // The thread reads everything first and hands it over through `loaded`.
        let (loaded_tx, loaded) = mpsc::sync_channel(1);
        let _ = jobs.send(Job::Load(loaded_tx));
        let thread = std::thread::Builder::new()
            .name("baton-cache".into())
            .spawn(move || run(db, folders, messages, received))
            .map_err(cache_problem)?;
        Ok((
            Persist {
                jobs: Some(jobs),
                thread: Some(thread),
            },
            loaded,
            snapshot,
        ))
    }

    fn send(&self, writes: Vec<Write>) -> Result<()> {
        match &self.jobs {
            Some(jobs) if !writes.is_empty() => jobs
                .send(Job::Apply(writes))
                .map_err(|_| cache_problem("the cache thread stopped")),
            _ => Ok(()),
        }
    }

    /// Stores changed chunks (an empty chunk is removed) and the folders' sync positions
    /// as one atomic write, messages first: a position must never be on disk without the
    /// messages it says are cached, or a crash between the two would make the next sync
    /// skip mail that never reached the cache.
    pub fn save(
        &self,
        chunks: Vec<(u16, u32, Vec<&MessageRecord>)>,
        folders: &[&FolderMeta],
    ) -> Result<()> {
        let mut writes = Vec::with_capacity(chunks.len() + folders.len());
        for (slot, chunk, records) in chunks {
            let value = if records.is_empty() {
                None
            } else {
                Some(postcard::to_allocvec(&records).map_err(cache_problem)?)
            };
            writes.push(Write::Chunk {
                key: chunk_key(slot, chunk),
                value,
            });
        }
        for meta in folders {
            writes.push(Write::Folder {
                name: meta.name.clone(),
                value: postcard::to_allocvec(meta).map_err(cache_problem)?,
            });
        }
        self.send(writes)
    }

    /// Drops everything the cache holds, for a cache whose contents could not be read:
    /// it starts over empty and the sync fills it again.
    pub fn clear(&self) -> Result<()> {
        match &self.jobs {
            Some(jobs) => jobs
                .send(Job::Clear)
                .map_err(|_| cache_problem("the cache thread stopped")),
            None => Ok(()),
        }
    }

    pub fn save_snapshot(&self, value: Vec<u8>) -> Result<()> {
        self.send(vec![Write::Snapshot { value }])
    }

    pub fn flusher(&self) -> Option<Flusher> {
        self.jobs.clone().map(Flusher)
    }
}

impl Flusher {
    /// Waits until everything sent before is durable on disk.
    pub async fn flush(&self) -> Result<()> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.0
            .send(Job::Flush(reply))
            .map_err(|_| cache_problem("the cache thread stopped"))?;
        answer
            .await
            .map_err(|_| cache_problem("the cache thread stopped"))?
    }
}

impl Drop for Persist {
    fn drop(&mut self) {
        // Closing the channel lets the thread flush, close the database and end.
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn load_folders(tree: &sled::Tree) -> Result<Vec<FolderMeta>> {
    tree.iter()
        .values()
        .map(|v| {
            let v = v.map_err(cache_problem)?;
            postcard::from_bytes(&v).map_err(cache_problem)
        })
        .collect()
}

fn load_chunks(tree: &sled::Tree) -> Result<Vec<(u16, Vec<MessageRecord>)>> {
    tree.iter()
        .map(|entry| {
            let (key, value) = entry.map_err(cache_problem)?;
            let slot = u16::from_be_bytes([key[0], key[1]]);
            let records = postcard::from_bytes(&value).map_err(cache_problem)?;
            Ok((slot, records))
        })
        .collect()
}

/// One job's writes: the folders and chunks in one sled transaction (all or none survive
/// a crash, whatever sled's own background flush wrote meanwhile), the list snapshot
/// beside it (derived, rebuilt when lost).
fn apply(
    db: &sled::Db,
    folders: &sled::Tree,
    messages: &sled::Tree,
    writes: Vec<Write>,
) -> Result<()> {
    let mut snapshot = None;
    let mut tree_writes = Vec::with_capacity(writes.len());
    for write in writes {
        match write {
            Write::Snapshot { value } => snapshot = Some(value),
            other => tree_writes.push(other),
        }
    }
    if !tree_writes.is_empty() {
        use sled::Transactional;
        (folders, messages)
            .transaction(|(folders, messages)| {
                for write in &tree_writes {
                    match write {
                        Write::Folder { name, value } => {
                            folders.insert(name.as_bytes(), value.as_slice())?;
                        }
                        Write::Chunk {
                            key,
                            value: Some(value),
                        } => {
                            messages.insert(key, value.as_slice())?;
                        }
                        Write::Chunk { key, value: None } => {
                            messages.remove(key)?;
                        }
                        Write::Snapshot { .. } => {}
                    }
                }
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| cache_problem(format!("{e:?}")))?;
    }
    if let Some(value) = snapshot {
        db.insert(SNAPSHOT_KEY, value).map_err(cache_problem)?;
    }
    Ok(())
}

/// The cache thread: applies writes in order; a failed write is reported by the next
/// flush (the in-memory cache stays right, and the next save or resync repairs the disk).
fn run(db: sled::Db, folders: sled::Tree, messages: sled::Tree, jobs: mpsc::Receiver<Job>) {
    let mut failure: Option<Problem> = None;
    let mut unflushed = false;
    let mut last_flush = std::time::Instant::now();
    loop {
        // Busy or quiet, nothing waits more than about FLUSH_EVERY to become durable.
        if unflushed && last_flush.elapsed() >= FLUSH_EVERY {
            if let Err(e) = db.flush() {
                failure.get_or_insert(cache_problem(e));
            }
            unflushed = false;
            last_flush = std::time::Instant::now();
        }
        let job = match jobs.recv_timeout(FLUSH_EVERY) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        match job {
            Job::Load(reply) => {
                let loaded = load_folders(&folders).and_then(|f| {
                    Ok(Loaded {
                        folders: f,
                        chunks: load_chunks(&messages)?,
                    })
                });
                let _ = reply.send(loaded);
            }
            Job::Apply(writes) => {
                unflushed = true;
                if let Err(e) = apply(&db, &folders, &messages, writes) {
                    tracing::warn!("cache write failed: {e}");
                    failure.get_or_insert(e);
                }
            }
            Job::Clear => {
                unflushed = true;
                let cleared = folders
                    .clear()
                    .and_then(|_| messages.clear())
                    .and_then(|_| db.remove(SNAPSHOT_KEY).map(|_| ()));
                if let Err(e) = cleared {
                    failure.get_or_insert(cache_problem(e));
                }
            }
            Job::Flush(reply) => {
                unflushed = false;
                last_flush = std::time::Instant::now();
                let result = match failure.take() {
                    Some(problem) => Err(problem),
                    None => db.flush().map(|_| ()).map_err(cache_problem),
                };
                let _ = reply.send(result);
            }
        }
    }
    if let Err(e) = db.flush() {
        tracing::warn!("cache flush at close failed: {e}");
    }
}
