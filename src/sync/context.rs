//! What the sync connections share: the cache, the events, the body files, the ranges
//! being fetched message by message, and what the server said about the mailbox's
//! keywords (where the team state lives).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::contract::TeamKeyword;
use crate::events::{EngineEvent, Events};
use crate::problem::{ProblemCode, Result, blocking};
use crate::store::bodies::BodyCache;
use crate::store::{Changed, Store};

/// What folder sync needs besides the session.
#[derive(Clone)]
pub struct SyncContext {
    pub store: Arc<Mutex<Store>>,
    pub events: Events,
    pub bodies: BodyCache,
    /// UID ranges whose headers once came back in a form that could not be read; they
    /// are fetched one message at a time to find the culprit (kept across reconnects).
    pub suspects: Suspects,
    /// The keywords the mailbox knows and whether it keeps them (the team state).
    pub keywords: MailboxKeywords,
    /// Folders whose cached UIDs were compared with the server's since the cache was
    /// opened (see `sync::folder`).
    pub checked: CheckedFolders,
}

/// Which folders had their cache checked against the server in this process: once is
/// enough, since what was lost or left behind is lost across a crash or time away, not
/// while the cache is in memory.
#[derive(Clone, Default)]
pub struct CheckedFolders(Arc<Mutex<std::collections::HashSet<u16>>>);

impl CheckedFolders {
    /// True the first time it is asked for `slot`.
    pub fn first(&self, slot: u16) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(slot)
    }
}

/// (folder slot, lowest UID, highest UID) of ranges to fetch message by message.
#[derive(Clone, Default)]
pub struct Suspects(Arc<Mutex<Vec<(u16, u32, u32)>>>);

impl Suspects {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<(u16, u32, u32)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn overlaps(&self, slot: u16, low: u32, high: u32) -> bool {
        self.list()
            .iter()
            .any(|&(s, l, h)| s == slot && l <= high && low <= h)
    }

    pub(super) fn add(&self, slot: u16, low: u32, high: u32) {
        self.list().push((slot, low, high));
    }

    pub(super) fn clear(&self, slot: u16, low: u32, high: u32) {
        self.list()
            .retain(|&(s, l, h)| !(s == slot && l <= high && low <= h));
    }
}

impl SyncContext {
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the in-memory cache half-written
        // in a way that matters more than losing the app; keep going.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Threads what a bulk sync stored unthreaded, off the async threads, and tells the
    /// window to reload.
    pub async fn thread_pending(&self) -> Result<()> {
        let store = self.store.clone();
        let threaded = blocking(ProblemCode::CacheFailed, "threading failed", move || {
            let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
            let threaded = store.thread_pending();
            // Saves the new list order too (the snapshot a restart shows first).
            store.save().map(|()| threaded)
        })
        .await??;
        if threaded {
            self.events
                .emit(EngineEvent::ConversationsChanged { ids: vec![] });
        }
        Ok(())
    }

    pub fn announce(&self, changed: Changed) {
        if !changed.is_empty() {
            self.events.emit(EngineEvent::ConversationsChanged {
                ids: changed.into_iter().collect(),
            });
        }
    }
}

/// What the server told us about the mailbox's keywords, shared by both connections.
#[derive(Clone, Default)]
pub struct MailboxKeywords(Arc<Mutex<KeywordState>>);

#[derive(Default)]
struct KeywordState {
    /// Keywords each folder knows (by folder name), from SELECT's FLAGS answer.
    known: BTreeMap<String, BTreeSet<String>>,
    /// Whether the server keeps custom keywords (`\*` in PERMANENTFLAGS); unknown until
    /// the first SELECT.
    custom: Option<bool>,
}

impl MailboxKeywords {
    fn state(&self) -> std::sync::MutexGuard<'_, KeywordState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a SELECT's answer.
    pub fn note(&self, folder: &str, flags: &[String], permanent: &[String]) {
        let mut state = self.state();
        state
            .known
            .insert(folder.to_owned(), flags.iter().cloned().collect());
        // Servers that keep custom keywords say `\*`; Microsoft 365 does not.
        let custom = permanent.iter().any(|f| f == "\\*");
        state.custom = Some(state.custom.unwrap_or(true) && custom);
    }

    pub fn knows(&self, folder: &str, keyword: &str) -> bool {
        self.state()
            .known
            .get(folder)
            .is_some_and(|k| k.contains(keyword))
    }

    pub(crate) fn learn(&self, folder: &str, keyword: &str) {
        self.state()
            .known
            .entry(folder.to_owned())
            .or_default()
            .insert(keyword.to_owned());
    }

    /// `Some(false)` when the server cannot keep the team's keywords.
    pub fn custom_supported(&self) -> Option<bool> {
        self.state().custom
    }

    /// Members whose claim keyword the mailbox knows: everyone who ever used Baton on it.
    pub fn members(&self) -> BTreeSet<String> {
        self.state()
            .known
            .values()
            .flatten()
            .filter_map(|k| match TeamKeyword::parse(k) {
                Some(TeamKeyword::Claim(member)) => Some(member),
                _ => None,
            })
            .collect()
    }
}
