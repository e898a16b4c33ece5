//! The local cache: message headers per folder, the conversations they form, and what
//! the lists and the reading pane show. In memory for speed, persisted to sled in chunks
//! (see `persist`), bodies in files (see `bodies`).
//!
//! `Store` is defined here with its opening and saving; its other methods are in one file
//! per job: `folders` (folders and the messages in them), `threads` (the conversations the
//! messages form), `views` (the lists and the reading pane), `team_state` (who holds a
//! conversation, from the keywords or the team server's overlay).

pub mod bodies;
pub mod index;
pub mod persist;
pub mod record;

mod folders;
mod team_state;
mod threads;
mod views;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rustc_hash::FxHashMap;

use self::index::{ConversationIndex, VIEWS};
use self::persist::{CHUNK_SHIFT, FolderMeta, Persist};
use self::record::MessageRecord;
use crate::contract::Status;
use crate::conversation::{ConversationId, ConversationSummary, View};
use crate::problem::{Problem, ProblemCode, Result};
use crate::threading::{MessageHandle, Threads};

/// Longest page the UI may ask for at once.
pub const MAX_PAGE: usize = 500;

pub struct Folder {
    pub meta: FolderMeta,
    pub messages: BTreeMap<u32, MessageRecord>,
}

/// Conversations whose rows changed; what the engine tells the window.
pub type Changed = BTreeSet<ConversationId>;

pub struct Store {
    persist: Persist,
    folders: Vec<Folder>,
    threads: Threads,
    index: ConversationIndex,
    /// The shared address (lowercase): messages from it are the team's.
    shared_address: String,
    /// This member's id: the "mine" view is theirs.
    member: String,
    dirty_chunks: BTreeSet<(u16, u32)>,
    dirty_folders: BTreeSet<u16>,
    /// Why the cache on disk was started over, when it was (damaged files): the sync is
    /// then a first sync, and the member is told why.
    rebuilt: Option<Problem>,
    /// Messages were added without threading (`insert_unthreaded`).
    unthreaded: bool,
    /// The messages are loaded (see `open`); until then the lists come from `snapshot`.
    ready: bool,
    /// The first rows of each list as they were last saved, to show at once on start.
    snapshot: ListSnapshot,
    /// The lists changed since the snapshot was saved.
    lists_dirty: bool,
    /// Owner and status per conversation as the team server has them, when the server
    /// (not the mailbox's keywords) holds the team state: mail servers without custom
    /// keywords. Conversations it does not list are open and unassigned.
    overlay: Option<FxHashMap<ConversationId, (Option<String>, Status)>>,
}

/// The first rows of each view, saved with the cache so a start shows the list at once,
/// before the messages are loaded and threaded.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ListSnapshot {
    views: Vec<(View, u32, Vec<ConversationSummary>)>,
}

/// Rows per view kept in the snapshot: a few screens.
const SNAPSHOT_ROWS: usize = 200;

/// The messages being loaded by the cache thread, to be threaded off the store's lock
/// and then installed.
pub struct Pending {
    loaded: std::sync::mpsc::Receiver<Result<persist::Loaded>>,
    shared_address: String,
    member: String,
}

/// A fully built model: messages per folder, conversations, list order.
#[derive(Default)]
pub struct Built {
    folders: Vec<Folder>,
    threads: Threads,
    index: ConversationIndex,
}

pub fn handle(slot: u16, uid: u32) -> MessageHandle {
    (u64::from(slot) << 32) | u64::from(uid)
}

fn unhandle(handle: MessageHandle) -> (u16, u32) {
    ((handle >> 32) as u16, handle as u32)
}

impl Store {
    /// Opens the cache in `dir`. The store answers list requests from the saved snapshot
    /// at once; the messages come with `Pending::build` and `install`, which a caller
    /// runs off the lock (the engine) or right away (`open_loaded`).
    pub fn open(dir: &Path, shared_address: &str, member: &str) -> Result<(Store, Pending)> {
        let ((persist, loaded, snapshot), rebuilt) = Persist::open_or_rebuild(dir)?;
        let snapshot = snapshot
            .and_then(|bytes| postcard::from_bytes(&bytes).ok())
            .unwrap_or_default();
        let store = Store {
            persist,
            folders: Vec::new(),
            threads: Threads::new(),
            index: ConversationIndex::new(member),
            shared_address: shared_address.to_lowercase(),
            member: member.to_owned(),
            dirty_chunks: BTreeSet::new(),
            dirty_folders: BTreeSet::new(),
            unthreaded: false,
            ready: false,
            snapshot,
            lists_dirty: false,
            overlay: None,
            rebuilt,
        };
        let pending = Pending {
            loaded,
            shared_address: shared_address.to_lowercase(),
            member: member.to_owned(),
        };
        Ok((store, pending))
    }

    /// Opens the cache with everything loaded and threaded.
    pub fn open_loaded(dir: &Path, shared_address: &str, member: &str) -> Result<Store> {
        let (mut store, pending) = Store::open(dir, shared_address, member)?;
        store.install(pending.build()?);
        Ok(store)
    }

    /// Puts a built model in place; from now on the lists come from it.
    pub fn install(&mut self, built: Built) {
        self.folders = built.folders;
        self.threads = built.threads;
        self.index = built.index;
        self.ready = true;
        self.reapply_overlay();
    }

    pub fn is_ready(&self) -> bool {
        self.ready
    }

    fn record(&self, h: MessageHandle) -> Option<&MessageRecord> {
        record_in(&self.folders, h)
    }

    fn is_team(&self, address: &str) -> bool {
        address == self.shared_address
    }

    /// Sends what changed to the cache thread (durable after `flush`).
    pub fn save(&mut self) -> Result<()> {
        let dirty_folders = std::mem::take(&mut self.dirty_folders);
        let dirty_chunks = std::mem::take(&mut self.dirty_chunks);
        let mut chunks = Vec::new();
        for (slot, chunk) in dirty_chunks {
            let Some(folder) = self.folder(slot) else {
                continue;
            };
            let start = chunk << CHUNK_SHIFT;
            let end = start | ((1 << CHUNK_SHIFT) - 1);
            chunks.push((
                slot,
                chunk,
                folder.messages.range(start..=end).map(|(_, r)| r).collect(),
            ));
        }
        let metas: Vec<&FolderMeta> = dirty_folders
            .iter()
            .filter_map(|&slot| self.folder(slot).map(|f| &f.meta))
            .collect();
        self.persist.save(chunks, &metas)?;
        if self.lists_dirty && self.ready && !self.unthreaded {
            self.lists_dirty = false;
            self.snapshot = ListSnapshot {
                views: VIEWS
                    .into_iter()
                    .map(|view| {
                        let page = self.page(view, 0, SNAPSHOT_ROWS);
                        (view, page.total, page.rows)
                    })
                    .collect(),
            };
            let bytes = postcard::to_allocvec(&self.snapshot).map_err(|e| {
                Problem::new(ProblemCode::CacheFailed, "the list could not be saved")
                    .with_detail(e.to_string())
            })?;
            self.persist.save_snapshot(bytes)?;
        }
        Ok(())
    }

    /// Why this cache was started over when it opened or loaded, if it was.
    pub fn rebuilt(&self) -> Option<&Problem> {
        self.rebuilt.as_ref()
    }

    /// Starts over empty after the saved messages could not be read: the disk is
    /// cleared too, so nothing unreadable is loaded again next time.
    pub fn start_over(&mut self, problem: Problem) -> Result<()> {
        self.install(Built::default());
        self.rebuilt = Some(problem);
        self.persist.clear()
    }

    /// A handle to make the saved changes durable without holding the store.
    pub fn flusher(&self) -> Flusher {
        Flusher(self.persist.flusher())
    }
}

/// Makes saved changes durable; cheap to clone, used outside the store's lock.
#[derive(Clone)]
pub struct Flusher(Option<persist::Flusher>);

impl Flusher {
    pub async fn flush(&self) -> Result<()> {
        match &self.0 {
            Some(flusher) => flusher.flush().await,
            None => Ok(()),
        }
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn record_in(folders: &[Folder], h: MessageHandle) -> Option<&MessageRecord> {
    let (slot, uid) = unhandle(h);
    folders.get(slot as usize)?.messages.get(&uid)
}

#[cfg(test)]
pub(crate) mod testing;
