//! The local cache: message headers per folder, the conversations they form, and what
//! the lists and the reading pane show. In memory for speed, persisted to sled in chunks
//! (see `persist`), bodies in files (see `bodies`).

pub mod bodies;
pub mod index;
pub mod persist;
pub mod record;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rustc_hash::FxHashMap;

use self::index::{ConversationIndex, RowMeta, VIEWS};
use self::persist::{CHUNK_SHIFT, FolderMeta, FolderState, Persist};
use self::record::{FlagUpdate, Flags, MessageRecord};
use crate::contract::{self, ConversationState, PlanMessage, StateMessage, Status};
use crate::conversation::{
    ConversationDetail, ConversationId, ConversationPage, ConversationSummary, Correspondent,
    FolderRole, MessageKey, MessageSummary, View,
};
use crate::problem::{Problem, ProblemCode, Result};
use crate::threading::{MessageHandle, ThreadChanges, ThreadInput, Threads};

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

impl Pending {
    /// Waits for the messages, builds the folders and threads every message (the slow
    /// part of a start). Blocks: run it on a blocking thread.
    pub fn build(self) -> Result<Built> {
        let loaded = self
            .loaded
            .recv()
            .map_err(|_| Problem::new(ProblemCode::CacheFailed, "the cache thread stopped"))??;
        let mut folders: Vec<Folder> = Vec::new();
        for meta in loaded.folders {
            let slot = meta.slot as usize;
            if folders.len() <= slot {
                folders.resize_with(slot + 1, || Folder {
                    meta: placeholder_meta(),
                    messages: BTreeMap::new(),
                });
            }
            folders[slot] = Folder {
                meta,
                messages: BTreeMap::new(),
            };
        }
        for (slot, records) in loaded.chunks {
            if let Some(folder) = folders.get_mut(slot as usize) {
                folder
                    .messages
                    .extend(records.into_iter().map(|r| (r.uid, r)));
            }
        }
        let (threads, index) = thread_all(&folders, &self.shared_address, &self.member);
        Ok(Built {
            folders,
            threads,
            index,
        })
    }
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
        let (persist, loaded, snapshot) = Persist::open(dir)?;
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

    /// Makes the team server the source of owner and status (`Some`), with these
    /// conversations' states; or the mailbox's keywords again (`None`). `replace` drops
    /// what the overlay held before (a snapshot) rather than adding to it (an event).
    pub fn set_overlay(
        &mut self,
        states: Option<Vec<(ConversationId, Option<String>, Status)>>,
        replace: bool,
    ) -> Changed {
        let mut touched: Changed = match (&self.overlay, replace || states.is_none()) {
            (Some(old), true) => old.keys().copied().collect(),
            _ => Changed::new(),
        };
        match states {
            None => self.overlay = None,
            Some(states) => {
                let overlay = self.overlay.get_or_insert_with(Default::default);
                if replace {
                    overlay.clear();
                }
                for (id, owner, status) in states {
                    overlay.insert(id, (owner, status));
                    touched.insert(id);
                }
            }
        }
        self.reindex(touched)
    }

    fn reapply_overlay(&mut self) {
        if let Some(overlay) = &self.overlay {
            let ids: Changed = overlay.keys().copied().collect();
            self.reindex(ids);
        }
    }

    /// The team state from the overlay, when the team server holds it.
    fn overlaid(&self, id: ConversationId) -> Option<ConversationState> {
        let overlay = self.overlay.as_ref()?;
        let (owner, status) = overlay.get(&id).cloned().unwrap_or((None, Status::Open));
        Some(ConversationState {
            owner,
            status,
            ..ConversationState::default()
        })
    }

    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Threads what `insert_unthreaded` added (by threading everything again, in date
    /// order). Returns whether anything was done.
    pub fn thread_pending(&mut self) -> bool {
        if !self.unthreaded {
            return false;
        }
        self.rethread();
        true
    }

    /// Threads every message again, oldest first. The result depends only on the
    /// messages, so it is the same after a restart and on every colleague's computer.
    pub fn rethread(&mut self) {
        let (threads, index) = thread_all(&self.folders, &self.shared_address, &self.member);
        self.threads = threads;
        self.index = index;
        self.unthreaded = false;
        self.lists_dirty = true;
        self.reapply_overlay();
    }

    fn record(&self, h: MessageHandle) -> Option<&MessageRecord> {
        record_in(&self.folders, h)
    }

    fn is_team(&self, address: &str) -> bool {
        address == self.shared_address
    }

    // ----- folders -----

    pub fn folder(&self, slot: u16) -> Option<&Folder> {
        self.folders.get(slot as usize)
    }

    pub fn slot_of(&self, name: &str) -> Option<u16> {
        self.folders
            .iter()
            .position(|f| f.meta.name == name)
            .map(|p| p as u16)
    }

    /// The slot for a folder, created when new.
    pub fn ensure_folder(&mut self, name: &str, role: FolderRole) -> u16 {
        if let Some(slot) = self.slot_of(name) {
            if self.folders[slot as usize].meta.role != role {
                self.folders[slot as usize].meta.role = role;
                self.dirty_folders.insert(slot);
            }
            return slot;
        }
        let slot = self.folders.len() as u16;
        self.folders.push(Folder {
            meta: FolderMeta {
                name: name.to_owned(),
                slot,
                role,
                state: FolderState::default(),
            },
            messages: BTreeMap::new(),
        });
        self.dirty_folders.insert(slot);
        slot
    }

    pub fn state(&self, slot: u16) -> FolderState {
        self.folder(slot)
            .map(|f| f.meta.state.clone())
            .unwrap_or_default()
    }

    pub fn set_state(&mut self, slot: u16, state: FolderState) {
        if let Some(folder) = self.folders.get_mut(slot as usize)
            && folder.meta.state != state
        {
            folder.meta.state = state;
            self.dirty_folders.insert(slot);
        }
    }

    pub fn uids(&self, slot: u16) -> Vec<u32> {
        self.folder(slot)
            .map(|f| f.messages.keys().copied().collect())
            .unwrap_or_default()
    }

    pub fn message_count(&self, slot: u16) -> usize {
        self.folder(slot).map_or(0, |f| f.messages.len())
    }

    /// Forgets every message of a folder (its UIDVALIDITY changed: the UIDs mean
    /// something else now).
    pub fn reset_folder(&mut self, slot: u16) -> Changed {
        let uids = self.uids(slot);
        let changed = self.remove(slot, &uids);
        self.set_state(slot, FolderState::default());
        changed
    }

    // ----- changes -----

    /// Adds or replaces messages.
    pub fn upsert(&mut self, slot: u16, records: Vec<MessageRecord>) -> Changed {
        let mut changes = ThreadChanges::default();
        for record in records {
            let h = handle(slot, record.uid);
            self.dirty_chunks.insert((slot, record.uid >> CHUNK_SHIFT));
            let Some(folder) = self.folders.get_mut(slot as usize) else {
                continue;
            };
            let replaced = folder.messages.insert(record.uid, record);
            if replaced.is_some() {
                self.threads.remove(h, &mut changes);
            }
            if let Some(record) = record_in(&self.folders, h) {
                let correspondent = correspondent_of(&self.shared_address, record);
                let input = thread_input(h, record, correspondent);
                self.threads.add(&input, &mut changes);
            }
        }
        self.reindex(changes.all())
    }

    /// Adds messages without threading them (a first sync's bulk); `thread_pending` must
    /// follow before they show in the lists.
    pub fn insert_unthreaded(&mut self, slot: u16, records: Vec<MessageRecord>) {
        let Some(folder) = self.folders.get_mut(slot as usize) else {
            return;
        };
        self.unthreaded = true;
        for record in records {
            self.dirty_chunks.insert((slot, record.uid >> CHUNK_SHIFT));
            folder.messages.insert(record.uid, record);
        }
    }

    pub fn apply_flags(&mut self, slot: u16, updates: &[FlagUpdate]) -> Changed {
        let mut touched = BTreeSet::new();
        for update in updates {
            let Some(folder) = self.folders.get_mut(slot as usize) else {
                break;
            };
            let Some(record) = folder.messages.get_mut(&update.uid) else {
                continue;
            };
            // News can arrive out of order (a pushed FETCH read after a fresher STORE
            // answer): an older state must not overwrite a newer one, or a claim would
            // be compared against a modseq whose keywords we no longer show.
            if update.modseq != 0 && update.modseq < record.modseq {
                continue;
            }
            if record.flags != update.flags
                || record.keywords != update.keywords
                || record.modseq != update.modseq
            {
                record.flags = update.flags;
                record.keywords = update.keywords.clone();
                record.modseq = update.modseq.max(record.modseq);
                self.dirty_chunks.insert((slot, update.uid >> CHUNK_SHIFT));
                touched.extend(self.threads.conversation_of(handle(slot, update.uid)));
            }
        }
        self.reindex(touched)
    }

    pub fn remove(&mut self, slot: u16, uids: &[u32]) -> Changed {
        let mut changes = ThreadChanges::default();
        for &uid in uids {
            let Some(folder) = self.folders.get_mut(slot as usize) else {
                break;
            };
            if folder.messages.remove(&uid).is_some() {
                self.dirty_chunks.insert((slot, uid >> CHUNK_SHIFT));
                self.threads.remove(handle(slot, uid), &mut changes);
            }
        }
        self.reindex(changes.all())
    }

    pub fn set_preview(&mut self, slot: u16, uid: u32, preview: String) -> Changed {
        let Some(record) = self
            .folders
            .get_mut(slot as usize)
            .and_then(|f| f.messages.get_mut(&uid))
        else {
            return Changed::new();
        };
        record.preview = Some(preview);
        self.dirty_chunks.insert((slot, uid >> CHUNK_SHIFT));
        self.threads
            .conversation_of(handle(slot, uid))
            .into_iter()
            .collect()
    }

    fn reindex(&mut self, ids: Changed) -> Changed {
        self.lists_dirty |= !ids.is_empty();
        let now = now_ms();
        for &id in &ids {
            let mut meta = self.row_meta(id);
            if let Some(new) = meta.as_mut() {
                // Remember when the baton changed hands, for "claimed by bram 3 s ago".
                new.owner_since = match self.index.meta(id) {
                    Some(old) if old.owner == new.owner => old.owner_since,
                    _ if new.owner.is_some() => Some(now),
                    _ => None,
                };
            }
            self.index.set(id, meta);
        }
        ids
    }

    fn row_meta(&self, id: ConversationId) -> Option<RowMeta> {
        let mut meta = row_meta(&self.threads, &self.folders, &self.shared_address, id)?;
        if let Some(state) = self.overlaid(id) {
            meta.owner = state.owner;
            meta.status = state.status;
        }
        Some(meta)
    }

    /// Sends what changed to the cache thread (durable after `flush`).
    pub fn save(&mut self) -> Result<()> {
        for slot in std::mem::take(&mut self.dirty_folders) {
            if let Some(folder) = self.folder(slot) {
                self.persist.save_folder(&folder.meta)?;
            }
        }
        let mut chunks = Vec::new();
        for (slot, chunk) in std::mem::take(&mut self.dirty_chunks) {
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
        self.persist.save_chunks(chunks)?;
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

    /// A handle to make the saved changes durable without holding the store.
    pub fn flusher(&self) -> Flusher {
        Flusher(self.persist.flusher())
    }

    // ----- reading -----

    pub fn page(&self, view: View, offset: usize, limit: usize) -> ConversationPage {
        if !self.ready {
            return self.snapshot_page(view, offset, limit);
        }
        let rows = self
            .index
            .page(view, offset, limit.min(MAX_PAGE))
            .into_iter()
            .filter_map(|id| self.summary(id))
            .collect();
        ConversationPage {
            view,
            total: self.index.total(view) as u32,
            offset: offset as u32,
            rows,
        }
    }

    fn snapshot_page(&self, view: View, offset: usize, limit: usize) -> ConversationPage {
        let (total, rows) = self
            .snapshot
            .views
            .iter()
            .find(|(v, _, _)| *v == view)
            .map(|(_, total, rows)| {
                (
                    *total,
                    rows.iter()
                        .skip(offset)
                        .take(limit.min(MAX_PAGE))
                        .cloned()
                        .collect(),
                )
            })
            .unwrap_or((0, Vec::new()));
        ConversationPage {
            view,
            total,
            offset: offset as u32,
            rows,
        }
    }

    fn sorted_records(&self, id: ConversationId) -> Vec<(u16, &MessageRecord)> {
        let mut records: Vec<(u16, &MessageRecord)> = self
            .threads
            .messages(id)
            .iter()
            .filter_map(|&h| Some((unhandle(h).0, self.record(h)?)))
            .collect();
        records.sort_by_key(|(slot, r)| (r.date, *slot, r.uid));
        records
    }

    fn role(&self, slot: u16) -> FolderRole {
        self.folder(slot).map_or(FolderRole::Other, |f| f.meta.role)
    }

    /// Who holds the conversation and where it stands: from its messages' keywords, or
    /// from the team server when it holds the team state.
    pub fn team_state(&self, id: ConversationId) -> ConversationState {
        self.state_from(id, &self.sorted_records(id))
    }

    /// `team_state` from records the caller already has.
    fn state_from(
        &self,
        id: ConversationId,
        records: &[(u16, &MessageRecord)],
    ) -> ConversationState {
        self.overlaid(id)
            .unwrap_or_else(|| derive_from(&self.shared_address, records))
    }

    /// See `Engine::team_states`.
    pub fn team_states(
        &self,
        ids: Option<&[ConversationId]>,
    ) -> Vec<(ConversationId, ConversationState, u64)> {
        let candidates: Vec<ConversationId> = match ids {
            Some(ids) => ids.to_vec(),
            None => self
                .index
                .all_ids()
                .filter(|id| {
                    self.index
                        .meta(*id)
                        .is_some_and(|m| m.owner.is_some() || m.status != Status::Open)
                })
                .collect(),
        };
        candidates
            .into_iter()
            .filter_map(|id| {
                let records = self.sorted_records(id);
                if records.is_empty() {
                    return None;
                }
                let version = records.iter().map(|(_, r)| r.modseq).max().unwrap_or(0);
                // The mailbox's own view, without the overlay: the team server asks this
                // of the mailbox.
                Some((id, derive_from(&self.shared_address, &records), version))
            })
            .collect()
    }

    /// When this client saw the current owner take the conversation, if it did.
    pub fn owner_since(&self, id: ConversationId) -> Option<i64> {
        self.index.meta(id).and_then(|m| m.owner_since)
    }

    /// The conversation's messages as the contract's planner sees them, with each
    /// folder's UIDVALIDITY so a store goes to the messages we mean.
    pub fn plan_messages(&self, id: ConversationId) -> Vec<(u32, PlanMessage)> {
        self.sorted_records(id)
            .into_iter()
            .filter_map(|(slot, r)| {
                let folder = self.folder(slot)?;
                Some((
                    folder.meta.state.uid_validity,
                    PlanMessage {
                        folder: folder.meta.name.clone(),
                        uid: r.uid,
                        modseq: r.modseq,
                        date: r.date,
                        inbound: r.from.address != self.shared_address,
                        keywords: r.keywords.clone(),
                    },
                ))
            })
            .collect()
    }

    /// The highest modseq we know of among `uids` of `folder`: what a conditional store
    /// on them compares against.
    pub fn modseq_of(&self, folder: &str, uids: &[u32]) -> u64 {
        let Some(folder) = self.slot_of(folder).and_then(|slot| self.folder(slot)) else {
            return 0;
        };
        uids.iter()
            .filter_map(|uid| folder.messages.get(uid))
            .map(|r| r.modseq)
            .max()
            .unwrap_or(0)
    }

    /// Some message of `folder` other than `avoid` (the oldest).
    pub fn some_uid_besides(&self, folder: &str, avoid: &[u32]) -> Option<u32> {
        let folder = self.folder(self.slot_of(folder)?)?;
        folder
            .messages
            .keys()
            .copied()
            .find(|uid| !avoid.contains(uid))
    }

    /// Of `ids` (or of all when `None`), the conversations this member holds that have
    /// messages without the member's claim keyword (new mail): the owner's client tags
    /// them.
    pub fn untagged_mine(&self, ids: Option<&Changed>) -> Vec<ConversationId> {
        if self.overlay.is_some() {
            // The mailbox cannot keep keywords: the team server holds the baton.
            return Vec::new();
        }
        let Some(mine) = contract::TeamKeyword::Claim(self.member.clone()).encode() else {
            return Vec::new();
        };
        let candidates = match ids {
            Some(ids) => ids.iter().copied().collect(),
            None => self.index.page(View::Mine, 0, usize::MAX),
        };
        candidates
            .into_iter()
            .filter(|&id| {
                self.index
                    .meta(id)
                    .is_some_and(|m| m.owner.as_deref() == Some(self.member.as_str()))
                    && self
                        .sorted_records(id)
                        .iter()
                        .any(|(_, r)| !r.keywords.contains(&mine))
            })
            .collect()
    }

    pub fn summary(&self, id: ConversationId) -> Option<ConversationSummary> {
        let records = self.sorted_records(id);
        let (_, first) = *records.first()?;
        let (newest_slot, newest) = *records.last()?;
        let customer = records
            .iter()
            .rev()
            .find(|(_, r)| !self.is_team(&r.from.address))
            .map(|(_, r)| Correspondent::from(&r.from))
            .or_else(|| {
                first
                    .to
                    .iter()
                    .find(|a| !self.is_team(&a.address))
                    .map(Correspondent::from)
            })
            .unwrap_or(Correspondent {
                name: String::new(),
                address: String::new(),
            });
        let preview = records
            .iter()
            .rev()
            .find_map(|(_, r)| r.preview.clone())
            .unwrap_or_default();
        let team = self.state_from(id, &records);
        Some(ConversationSummary {
            id,
            owner: team.owner,
            status: team.status,
            has_notes: team.has_notes,
            subject: first.subject.clone(),
            customer,
            latest_at: newest.date,
            message_count: records.len() as u32,
            preview,
            has_attachments: records.iter().any(|(_, r)| r.has_attachments),
            awaiting_reply: self.role(newest_slot) == FolderRole::Inbox
                && !self.is_team(&newest.from.address)
                && !newest.flags.has(Flags::ANSWERED),
        })
    }

    pub fn conversation(&self, id: ConversationId) -> Option<ConversationDetail> {
        let records = self.sorted_records(id);
        let subject = records.first()?.1.subject.clone();
        let messages = records
            .iter()
            .filter_map(|(slot, r)| self.message_summary(*slot, r))
            .collect();
        let team = self.state_from(id, &records);
        Some(ConversationDetail {
            id,
            subject,
            messages,
            owner: team.owner,
            status: team.status,
            held_since: self.owner_since(id),
        })
    }

    fn message_summary(&self, slot: u16, r: &MessageRecord) -> Option<MessageSummary> {
        let folder = self.folder(slot)?;
        Some(MessageSummary {
            key: MessageKey {
                folder: folder.meta.name.clone(),
                uid_validity: folder.meta.state.uid_validity,
                uid: r.uid,
            },
            role: folder.meta.role,
            from_team: self.is_team(&r.from.address),
            from: Correspondent::from(&r.from),
            to: r.to.iter().map(Correspondent::from).collect(),
            cc: r.cc.iter().map(Correspondent::from).collect(),
            subject: r.subject.clone(),
            date: r.date,
            size: r.size,
            preview: r.preview.clone().unwrap_or_default(),
            answered: r.flags.has(Flags::ANSWERED),
            flagged: r.flags.has(Flags::FLAGGED),
            problem: r
                .problem
                .as_ref()
                .map(|p| Problem::new(ProblemCode::MessageUnreadable, p.clone())),
        })
    }

    /// The conversation's messages as the duplicate-reply guard compares them.
    pub fn guard_messages(&self, id: ConversationId) -> Vec<crate::compose::guard::GuardMessage> {
        self.sorted_records(id)
            .into_iter()
            .filter_map(|(slot, r)| {
                let summary = self.message_summary(slot, r)?;
                Some(crate::compose::guard::GuardMessage {
                    key: summary.key,
                    message_id: r.message_id.clone(),
                    role: summary.role,
                    from_team: summary.from_team,
                    from: summary.from,
                    date: r.date,
                    preview: summary.preview,
                    answered: summary.answered,
                })
            })
            .collect()
    }

    /// Every conversation's id.
    pub fn conversation_ids(&self) -> Vec<ConversationId> {
        self.threads.conversation_ids().collect()
    }

    /// The Message-ID of the conversation's root: what a note is about.
    pub fn root_message_id(&self, id: ConversationId) -> Option<String> {
        self.threads.root_message_id(id).map(str::to_owned)
    }

    /// The conversation a message belongs to, by its Message-ID, if it is here.
    pub fn conversation_of_message_id(&self, message_id: &str) -> Option<ConversationId> {
        self.threads.conversation_of_message_id(message_id)
    }

    /// The slot and record of a message the UI names, if it is still the same message.
    pub fn locate(&self, key: &MessageKey) -> Option<(u16, &MessageRecord)> {
        let slot = self.slot_of(&key.folder)?;
        let folder = self.folder(slot)?;
        if folder.meta.state.uid_validity != key.uid_validity {
            return None;
        }
        Some((slot, folder.messages.get(&key.uid)?))
    }

    /// Messages without a preview, newest first.
    pub fn missing_previews(&self, limit: usize) -> Vec<(u16, u32)> {
        let mut missing: Vec<(i64, u16, u32)> = Vec::new();
        for (slot, folder) in self.folders.iter().enumerate() {
            missing.extend(
                folder
                    .messages
                    .values()
                    .filter(|r| r.preview.is_none())
                    .map(|r| (r.date, slot as u16, r.uid)),
            );
        }
        missing.sort_unstable_by(|a, b| b.cmp(a));
        missing.truncate(limit);
        missing
            .into_iter()
            .map(|(_, slot, uid)| (slot, uid))
            .collect()
    }

    /// The date of the newest cached message (0 when empty).
    pub fn newest_date(&self) -> i64 {
        self.folders
            .iter()
            .flat_map(|f| f.messages.values().map(|r| r.date))
            .max()
            .unwrap_or(0)
    }

    pub fn date_of(&self, slot: u16, uid: u32) -> i64 {
        self.folder(slot)
            .and_then(|f| f.messages.get(&uid))
            .map_or(0, |r| r.date)
    }

    /// The newest message of each conversation that still lacks a preview.
    pub fn previews_wanted(&self, ids: &[ConversationId]) -> Vec<(u16, u32)> {
        ids.iter()
            .filter_map(|&id| {
                let records = self.sorted_records(id);
                let (slot, newest) = records.last()?;
                newest.preview.is_none().then_some((*slot, newest.uid))
            })
            .collect()
    }

    pub fn conversation_count(&self) -> usize {
        self.threads.conversation_count()
    }

    pub fn total(&self, view: View) -> usize {
        self.index.total(view)
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

/// Threads every message, oldest first, and orders the lists. The result depends only on
/// the messages, so it is the same after a restart and on every colleague's computer.
fn thread_all(
    folders: &[Folder],
    shared_address: &str,
    member: &str,
) -> (Threads, ConversationIndex) {
    let mut order: Vec<(i64, MessageHandle)> = Vec::new();
    for (slot, folder) in folders.iter().enumerate() {
        order.extend(
            folder
                .messages
                .values()
                .map(|r| (r.date, handle(slot as u16, r.uid))),
        );
    }
    order.sort_unstable();
    let mut threads = Threads::new();
    let mut ignored = ThreadChanges::default();
    for (_, h) in &order {
        if let Some(record) = record_in(folders, *h) {
            let correspondent = correspondent_of(shared_address, record);
            threads.add(&thread_input(*h, record, correspondent), &mut ignored);
        }
    }
    let mut index = ConversationIndex::new(member);
    let ids: Vec<ConversationId> = threads.conversation_ids().collect();
    for id in ids {
        index.set(id, row_meta(&threads, folders, shared_address, id));
    }
    (threads, index)
}

/// Where a conversation sits in the lists.
fn row_meta(
    threads: &Threads,
    folders: &[Folder],
    shared_address: &str,
    id: ConversationId,
) -> Option<RowMeta> {
    let mut meta: Option<RowMeta> = None;
    let mut team = Vec::new();
    for &h in threads.messages(id) {
        let (slot, _) = unhandle(h);
        let (Some(record), Some(folder)) = (record_in(folders, h), folders.get(slot as usize))
        else {
            continue;
        };
        let m = meta.get_or_insert(RowMeta {
            latest: i64::MIN,
            owner_since: None,
            in_inbox: false,
            in_sent: false,
            owner: None,
            status: Status::Open,
        });
        m.latest = m.latest.max(record.date);
        m.in_inbox |= folder.meta.role == FolderRole::Inbox;
        m.in_sent |= folder.meta.role == FolderRole::Sent;
        team.push(state_message(shared_address, record));
    }
    if let Some(m) = meta.as_mut() {
        let state = contract::derive(&team);
        m.owner = state.owner;
        m.status = state.status;
    }
    meta
}

/// The team state the keywords of `records` give.
fn derive_from(shared_address: &str, records: &[(u16, &MessageRecord)]) -> ConversationState {
    let messages: Vec<StateMessage<'_>> = records
        .iter()
        .map(|(_, r)| state_message(shared_address, r))
        .collect();
    contract::derive(&messages)
}

/// What the contract needs of a message.
fn state_message<'a>(shared_address: &str, record: &'a MessageRecord) -> StateMessage<'a> {
    StateMessage {
        date: record.date,
        inbound: record.from.address != shared_address,
        keywords: &record.keywords,
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

/// The customer's address of a message: its sender, or for the team's own messages the
/// first recipient.
fn correspondent_of<'a>(shared_address: &str, record: &'a MessageRecord) -> Option<&'a str> {
    if record.from.address != shared_address && !record.from.address.is_empty() {
        return Some(&record.from.address);
    }
    record
        .to
        .iter()
        .find(|a| a.address != shared_address)
        .map(|a| a.address.as_str())
}

fn placeholder_meta() -> FolderMeta {
    FolderMeta {
        name: String::new(),
        slot: u16::MAX,
        role: FolderRole::Other,
        state: FolderState::default(),
    }
}

fn thread_input<'a>(
    h: MessageHandle,
    record: &'a MessageRecord,
    correspondent: Option<&'a str>,
) -> ThreadInput<'a> {
    ThreadInput {
        handle: h,
        message_id: &record.message_id,
        references: &record.references,
        in_reply_to: &record.in_reply_to,
        subject: &record.subject,
        date: record.date,
        thread_key: record.thread_topic_key.as_deref(),
        correspondent,
    }
}
