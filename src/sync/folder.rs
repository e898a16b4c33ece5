//! Bringing one folder of the cache up to date over a logged-in session: SELECT, plan,
//! then apply — news from QRESYNC, new mail, flag changes, expunges, and the newest-first
//! backfill of a first sync in chunks that survive an interrupted connection.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::connectivity::SyncProgress;
use crate::events::{EngineEvent, Events};
use crate::imap::command::uid_set;
use crate::imap::headers::{FolderSeed, synthetic_message_id};
use crate::imap::session::{Fetched, ImapSession};
use crate::problem::Result;
use crate::store::bodies::BodyCache;
use crate::store::persist::FolderState;
use crate::store::record::{FlagUpdate, MessageRecord};
use crate::store::{Changed, Store};
use crate::sync::plan::{FlagSync, plan};

/// Headers per FETCH command during a first sync: small enough that progress moves and
/// an interrupted sync loses little, large enough that round trips do not matter.
const BACKFILL_CHUNK: usize = 5000;

/// What folder sync needs besides the session.
#[derive(Clone)]
pub struct SyncContext {
    pub store: Arc<Mutex<Store>>,
    pub events: Events,
    pub bodies: BodyCache,
}

impl SyncContext {
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the in-memory cache half-written
        // in a way that matters more than losing the app; keep going.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn announce(&self, changed: Changed) {
        if !changed.is_empty() {
            self.events.emit(EngineEvent::ConversationsChanged {
                ids: changed.into_iter().collect(),
            });
        }
    }
}

/// Syncs `folder` (cache slot `slot`). Returns whether anything changed.
pub async fn sync_folder(
    session: &mut ImapSession,
    ctx: &SyncContext,
    slot: u16,
    folder: &str,
) -> Result<bool> {
    let cached = ctx.store().state(slot);
    let known = (cached.uid_validity != 0 && cached.synced_from != 0)
        .then_some((cached.uid_validity, cached.highest_modseq));
    let info = session.select(folder, known).await?;
    let plan = plan(&cached, &info, session.caps().condstore);
    let seed = FolderSeed {
        folder: folder.to_owned(),
        uid_validity: info.uid_validity,
    };
    let mut state = if plan.reset {
        FolderState::default()
    } else {
        cached
    };
    let mut any_change = false;

    if plan.reset {
        let changed = ctx.store().reset_folder(slot);
        ctx.bodies.clear_folder(slot).await;
        any_change |= !changed.is_empty();
        ctx.announce(changed);
        state.uid_validity = info.uid_validity;
    }

    if plan.apply_select_news {
        let vanished: Vec<u32> = info.vanished.iter().flat_map(|r| r.clone()).collect();
        let changed = {
            let mut store = ctx.store();
            let mut changed = store.remove(slot, &vanished);
            changed.extend(store.apply_flags(slot, &info.changed));
            changed
        };
        any_change |= !changed.is_empty();
        ctx.announce(changed);
    }

    if let Some(from) = plan.fetch_new_from {
        let mut records = Vec::new();
        let mut updates = Vec::new();
        session
            .fetch_headers(&format!("{from}:*"), &seed, |item| {
                collect(item, from, &mut records, &mut updates)
            })
            .await?
            .into_result("to send the new messages")?;
        if let Some(highest) = records.iter().map(|r| r.uid).max() {
            state.uid_next = state.uid_next.max(highest + 1);
        }
        let changed = {
            let mut store = ctx.store();
            let mut changed = store.upsert(slot, records);
            changed.extend(store.apply_flags(slot, &updates));
            changed
        };
        any_change |= !changed.is_empty();
        ctx.announce(changed);
    }

    match plan.flags {
        FlagSync::None => {}
        FlagSync::ChangedSince(modseq) => {
            let updates = session.fetch_flags(Some(modseq)).await?;
            let changed = ctx.store().apply_flags(slot, &updates);
            any_change |= !changed.is_empty();
            ctx.announce(changed);
        }
        FlagSync::All => {
            let updates = session.fetch_flags(None).await?;
            let present: std::collections::HashSet<u32> = updates.iter().map(|u| u.uid).collect();
            let changed = {
                let mut store = ctx.store();
                let gone: Vec<u32> = store
                    .uids(slot)
                    .into_iter()
                    .filter(|u| !present.contains(u))
                    .collect();
                let mut changed = store.remove(slot, &gone);
                changed.extend(store.apply_flags(slot, &updates));
                changed
            };
            any_change |= !changed.is_empty();
            ctx.announce(changed);
        }
    }

    if plan.verify_count && ctx.store().message_count(slot) != info.exists as usize {
        any_change |= remove_expunged(session, ctx, slot).await?;
    }

    state.uid_validity = info.uid_validity;
    state.uid_next = state.uid_next.max(info.uid_next);
    if let Some(modseq) = info.highest_modseq {
        state.highest_modseq = modseq;
    }

    if let Some(below) = plan.backfill_below {
        // Everything at or above the mark is now known; record that before the long part.
        if state.synced_from == 0 {
            state.synced_from = below.min(state.uid_next.max(1));
        }
        save_state(ctx, slot, &state).await?;
        any_change |= backfill(session, ctx, slot, &seed, &mut state, below, folder).await?;
    }
    save_state(ctx, slot, &state).await?;
    Ok(any_change)
}

fn collect(
    item: Fetched,
    from: u32,
    records: &mut Vec<MessageRecord>,
    updates: &mut Vec<FlagUpdate>,
) {
    match item {
        // `n:*` returns the last message even when its UID is below n.
        Fetched::Header(record) if record.uid >= from => records.push(*record),
        Fetched::Header(_) => {}
        Fetched::Flags(update) => updates.push(update),
    }
}

async fn save_state(ctx: &SyncContext, slot: u16, state: &FolderState) -> Result<()> {
    let flusher = {
        let mut store = ctx.store();
        store.set_state(slot, state.clone());
        store.save()?;
        store.flusher()
    };
    flusher.flush().await
}

async fn remove_expunged(session: &mut ImapSession, ctx: &SyncContext, slot: u16) -> Result<bool> {
    let on_server: std::collections::HashSet<u32> =
        session.uid_search_all().await?.into_iter().collect();
    let changed = {
        let mut store = ctx.store();
        let gone: Vec<u32> = store
            .uids(slot)
            .into_iter()
            .filter(|u| !on_server.contains(u))
            .collect();
        store.remove(slot, &gone)
    };
    let any = !changed.is_empty();
    ctx.announce(changed);
    Ok(any)
}

/// Fetches every not-yet-cached message below `below`, newest first, in chunks. After
/// each chunk the cache is saved with its new low-water mark, so a dropped connection
/// resumes where it stopped.
async fn backfill(
    session: &mut ImapSession,
    ctx: &SyncContext,
    slot: u16,
    seed: &FolderSeed,
    state: &mut FolderState,
    below: u32,
    folder: &str,
) -> Result<bool> {
    let mut wanted: Vec<u32> = session
        .uid_search_all()
        .await?
        .into_iter()
        .filter(|&u| u < below)
        .collect();
    {
        let store = ctx.store();
        if let Some(cached) = store.folder(slot) {
            wanted.retain(|u| !cached.messages.contains_key(u));
        }
    }
    wanted.sort_unstable_by(|a, b| b.cmp(a));
    let total = wanted.len() as u32;
    let mut done = 0u32;
    let mut any_change = false;
    let progress = |done: u32| {
        ctx.events.emit(EngineEvent::SyncProgress {
            progress: SyncProgress {
                folder: folder.to_owned(),
                done,
                total,
            },
        });
    };
    progress(0);
    for chunk in wanted.chunks(BACKFILL_CHUNK) {
        let mut records = Vec::with_capacity(chunk.len());
        let mut updates = Vec::new();
        let completion = session
            .fetch_headers(&uid_set(chunk), seed, |item| {
                collect(item, 0, &mut records, &mut updates)
            })
            .await?;
        // A server that cannot read some messages says NO but returns the rest; the
        // missing ones get a placeholder that explains, and sync goes on.
        if !completion.ok {
            let got: std::collections::HashSet<u32> = records.iter().map(|r| r.uid).collect();
            for &uid in chunk.iter().filter(|u| !got.contains(u)) {
                records.push(unreadable(uid, seed, &completion.text));
            }
        }
        let changed = ctx.store().upsert(slot, records);
        any_change |= !changed.is_empty();
        ctx.announce(changed);
        done += chunk.len() as u32;
        if let Some(&lowest) = chunk.last() {
            state.synced_from = lowest;
        }
        save_state(ctx, slot, state).await?;
        progress(done);
    }
    state.synced_from = 1;
    // Threading newest-first can miss links a reply subject makes to an older message;
    // thread once more in date order so the result matches a fresh start.
    if total > 0 {
        ctx.store().rethread();
        ctx.events
            .emit(EngineEvent::ConversationsChanged { ids: vec![] });
    }
    Ok(any_change)
}

/// A message the server would not return: listed with an explanation instead of lost.
fn unreadable(uid: u32, seed: &FolderSeed, server_text: &str) -> MessageRecord {
    MessageRecord {
        uid,
        message_id: synthetic_message_id(uid, seed),
        subject: String::new(),
        problem: Some(format!(
            "the server could not read this message ({server_text})"
        )),
        ..Default::default()
    }
}
