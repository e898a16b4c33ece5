//! Bringing one folder of the cache up to date over a logged-in session: SELECT, plan,
//! then apply — news from QRESYNC, new mail, flag changes, expunges, and the newest-first
//! backfill of a first sync in chunks that survive an interrupted connection.

use crate::connectivity::SyncProgress;
use crate::events::EngineEvent;
use crate::imap::headers::{Fetched, FetchedHeader, FolderSeed, synthetic_message_id};
use crate::imap::session::{ImapSession, SelectInfo};
use crate::problem::{Problem, ProblemCode, Result};
use crate::store::Changed;
use crate::store::persist::FolderState;
use crate::store::record::{FlagUpdate, MessageRecord};
use crate::sync::context::SyncContext;
use crate::sync::plan::{FlagSync, plan};

/// Headers per FETCH command during a first sync: small enough that progress moves and
/// an interrupted sync loses little, large enough that round trips do not matter.
const BACKFILL_CHUNK: usize = 5000;

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
    ctx.keywords
        .note(folder, &info.flags, &info.permanent_flags);
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
        let fetched = fetch_range(session, ctx, slot, &seed, from, u32::MAX).await?;
        let mut fetched = fetched;
        let updates = std::mem::take(&mut fetched.updates);
        let records: Vec<MessageRecord> = fetched.records(&seed);
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

    // Once per folder after the cache is opened, and whenever the server reports
    // expunges only as a count: a count that differs from the server's means messages
    // the cache lacks (a crash before they were stored, a position saved too early by an
    // older Baton) or still holds (expunged meanwhile); the UID list says which.
    let first_check = !plan.reset && ctx.checked.first(slot);
    if (plan.verify_count || first_check) && ctx.store().message_count(slot) != info.exists as usize
    {
        any_change |= reconcile(session, ctx, slot, &seed, &state).await?;
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
        save_state(ctx, slot, &state)?;
        any_change |= backfill(session, ctx, slot, &seed, &mut state, &info, below).await?;
    }
    save_state(ctx, slot, &state)?;
    Ok(any_change)
}

/// Headers of one UID range, with the messages that could not be read.
#[derive(Default)]
struct RangeFetch {
    headers: Vec<FetchedHeader>,
    /// Messages the server could not (or would not in a readable form) give, and why.
    unreadable: Vec<(u32, String)>,
    /// Flag news that came along.
    updates: Vec<FlagUpdate>,
}

impl RangeFetch {
    fn records(self, seed: &FolderSeed) -> Vec<MessageRecord> {
        let mut records: Vec<MessageRecord> = self
            .headers
            .into_iter()
            .map(|h| h.into_record(seed))
            .collect();
        records.extend(
            self.unreadable
                .iter()
                .map(|(uid, why)| unreadable(*uid, seed, why)),
        );
        records
    }
}

/// Fetches the headers of UIDs `low..=high` (`high` = u32::MAX: up to the newest).
///
/// A server that cannot read some messages says NO but returns the rest; those get a
/// placeholder that explains. An answer Baton cannot parse breaks the connection: the
/// range is remembered, and on the next connection fetched one message at a time, so the
/// one bad message ends up as a placeholder and the rest arrive.
async fn fetch_range(
    session: &mut ImapSession,
    ctx: &SyncContext,
    slot: u16,
    seed: &FolderSeed,
    low: u32,
    high: u32,
) -> Result<RangeFetch> {
    let range = if high == u32::MAX {
        format!("{low}:*")
    } else {
        format!("{low}:{high}")
    };
    if ctx.suspects.overlaps(slot, low, high) {
        return fetch_singly(session, ctx, slot, seed, low, high, &range).await;
    }
    let mut fetched = RangeFetch::default();
    let result = session
        .fetch_headers(&range, |item| match item {
            // `n:*` returns the last message even when its UID is below n.
            Fetched::Header(header) if header.uid >= low && header.uid <= high => {
                fetched.headers.push(*header)
            }
            Fetched::Header(_) => {}
            Fetched::Flags(update) => fetched.updates.push(update),
        })
        .await;
    let completion = match result {
        Ok(completion) => completion,
        Err(problem) => {
            if problem.code == ProblemCode::ProtocolError {
                ctx.suspects.add(slot, low, high);
            }
            return Err(problem);
        }
    };
    if !completion.ok {
        let got: std::collections::HashSet<u32> = fetched.headers.iter().map(|h| h.uid).collect();
        let present = session.uids(&range).await?;
        fetched.unreadable.extend(
            present
                .into_iter()
                .filter(|u| *u >= low && *u <= high && !got.contains(u))
                .map(|uid| {
                    (
                        uid,
                        format!(
                            "the server could not read this message ({})",
                            completion.text
                        ),
                    )
                }),
        );
    }
    Ok(fetched)
}

/// One message at a time through a suspect range. The message whose answer cannot be
/// read is stored as a placeholder at once (so it is never asked for again), and the
/// error ends the connection as before; the next connection goes on after it.
async fn fetch_singly(
    session: &mut ImapSession,
    ctx: &SyncContext,
    slot: u16,
    seed: &FolderSeed,
    low: u32,
    high: u32,
    range: &str,
) -> Result<RangeFetch> {
    let present = session.uids(range).await?;
    let mut fetched = RangeFetch::default();
    for uid in present.into_iter().filter(|u| *u >= low && *u <= high) {
        if ctx
            .store()
            .folder(slot)
            .is_some_and(|f| f.messages.contains_key(&uid))
        {
            continue;
        }
        let mut one = Vec::new();
        let result = session
            .fetch_headers(&uid.to_string(), |item| {
                if let Fetched::Header(header) = item {
                    one.push(*header);
                }
            })
            .await;
        match result {
            Ok(completion) if completion.ok || !one.is_empty() => fetched.headers.extend(one),
            Ok(completion) => fetched.unreadable.push((
                uid,
                format!(
                    "the server could not read this message ({})",
                    completion.text
                ),
            )),
            Err(problem) if problem.code == ProblemCode::ProtocolError => {
                let why = "the server's answer for this message could not be read".to_owned();
                let record = unreadable(uid, seed, &why);
                let changed = {
                    let mut store = ctx.store();
                    let changed = store.upsert(slot, vec![record]);
                    store.save()?;
                    changed
                };
                ctx.announce(changed);
                tracing::warn!(uid, folder = %seed.folder, "unreadable answer for one message; it is listed as unreadable");
                return Err(problem);
            }
            Err(problem) => return Err(problem),
        }
    }
    ctx.suspects.clear(slot, low, high);
    Ok(fetched)
}

/// Saves the folder's position after its messages. No flush: sled recovers a prefix of
/// the writes after a crash, so a saved position never outlives the messages it vouches
/// for, and the cache thread flushes within a second anyway.
fn save_state(ctx: &SyncContext, slot: u16, state: &FolderState) -> Result<()> {
    let mut store = ctx.store();
    store.set_state(slot, state.clone());
    store.save()
}

/// Brings the cache's UIDs in line with the server's: drops what the server no longer
/// has, and fetches what it has that the cache lacks where the cache claims to be complete
/// (at or above `synced_from`; below it the backfill is still on its way).
async fn reconcile(
    session: &mut ImapSession,
    ctx: &SyncContext,
    slot: u16,
    seed: &FolderSeed,
    state: &FolderState,
) -> Result<bool> {
    let on_server: std::collections::BTreeSet<u32> =
        session.uids("1:*").await?.into_iter().collect();
    let (gone, missing) = {
        let store = ctx.store();
        let cached: std::collections::BTreeSet<u32> = store.uids(slot).into_iter().collect();
        let gone: Vec<u32> = cached.difference(&on_server).copied().collect();
        let complete_from = state.synced_from.max(1);
        let missing: Vec<u32> = on_server
            .difference(&cached)
            .copied()
            .filter(|&uid| uid >= complete_from)
            .collect();
        (gone, missing)
    };
    if !missing.is_empty() {
        tracing::warn!(
            folder = %seed.folder,
            count = missing.len(),
            "the cache lacked messages the server has; fetching them"
        );
    }
    let mut changed = ctx.store().remove(slot, &gone);
    for (low, high) in runs(&missing) {
        let fetched = fetch_range(session, ctx, slot, seed, low, high).await?;
        let mut fetched = fetched;
        let updates = std::mem::take(&mut fetched.updates);
        let records = fetched.records(seed);
        let mut store = ctx.store();
        changed.extend(store.upsert(slot, records));
        changed.extend(store.apply_flags(slot, &updates));
    }
    let any = !changed.is_empty();
    ctx.announce(changed);
    Ok(any)
}

/// Sorted UIDs as runs of consecutive ones: `[3, 4, 5, 9]` → `[(3, 5), (9, 9)]`.
fn runs(uids: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &uid in uids {
        match out.last_mut() {
            Some((_, high)) if high.checked_add(1) == Some(uid) => *high = uid,
            _ => out.push((uid, uid)),
        }
    }
    out
}

/// Fetches every not-yet-cached message below `below`, newest first, in chunks. The
/// connection only reads; a writer thread parses the headers and stores each chunk with
/// its new low-water mark, so the two cores overlap and a dropped connection resumes
/// where it stopped. The newest chunk is threaded at once so the top of the list shows
/// early; the rest is threaded in one pass at the end, in date order.
async fn backfill(
    session: &mut ImapSession,
    ctx: &SyncContext,
    slot: u16,
    seed: &FolderSeed,
    state: &mut FolderState,
    info: &SelectInfo,
    below: u32,
) -> Result<bool> {
    let folder = seed.folder.as_str();
    let below = below.min(info.uid_next.max(1)).max(1);
    // Chunks are UID ranges, sized by how densely the folder uses its UIDs and adapted
    // as the answers come, so no full UID list is needed up front.
    let cached = ctx.store().message_count(slot) as u32;
    let total = info.exists.saturating_sub(cached);
    if below <= 1 || total == 0 {
        state.synced_from = 1;
        return Ok(false);
    }
    let density =
        (f64::from(info.exists) / f64::from(info.uid_next.max(info.exists).max(1))).max(1e-6);
    let mut span = ((BACKFILL_CHUNK as f64 / density) as u32).max(BACKFILL_CHUNK as u32);
    // Read once: the progress is also told while the store is locked.
    let rebuilding = ctx.store().rebuilt().is_some();
    let progress = |done: u32| {
        ctx.events.emit(EngineEvent::SyncProgress {
            progress: SyncProgress {
                folder: folder.to_owned(),
                done: done.min(total),
                total,
                rebuilding,
            },
        });
    };
    progress(0);

    let (chunks, received) = std::sync::mpsc::sync_channel::<Chunk>(2);
    let writer = {
        let ctx = ctx.clone();
        let seed = seed.clone();
        let state = state.clone();
        tokio::task::spawn_blocking(move || write_chunks(&ctx, slot, &seed, state, received))
    };
    let mut done = 0u32;
    let mut failure = None;
    let mut high = below - 1;
    let mut first = true;
    loop {
        let low = high.saturating_sub(span - 1).max(1);
        let fetched = match fetch_range(session, ctx, slot, seed, low, high).await {
            Ok(fetched) => fetched,
            Err(problem) => {
                failure = Some(problem);
                break;
            }
        };
        let (raw, unreadable_uids) = (fetched.headers, fetched.unreadable);
        let got = (raw.len() + unreadable_uids.len()) as u32;
        done += got;
        let message = Chunk {
            raw,
            unreadable: unreadable_uids,
            synced_from: low,
            threaded: first,
            last: low == 1,
            done: done.min(total),
            total,
        };
        first = false;
        if chunks.send(message).is_err() || low == 1 {
            break;
        }
        high = low - 1;
        // Aim for about BACKFILL_CHUNK messages per command.
        let wanted = BACKFILL_CHUNK as u64;
        span = ((u64::from(span) * wanted / u64::from(got.max(1)))
            .clamp(wanted, u64::from(u32::MAX / 2))) as u32;
    }
    drop(chunks);
    let written = writer.await.map_err(|e| {
        Problem::new(ProblemCode::CacheFailed, "the cache writer stopped")
            .with_detail(e.to_string())
    })??;
    *state = written;
    ctx.events
        .emit(EngineEvent::ConversationsChanged { ids: vec![] });
    match failure {
        Some(problem) => Err(problem),
        None => Ok(true),
    }
}

/// One fetched chunk on its way to the writer.
struct Chunk {
    raw: Vec<FetchedHeader>,
    unreadable: Vec<(u32, String)>,
    /// The low-water mark once this chunk is stored.
    synced_from: u32,
    /// Thread these at once (the newest chunk), rather than in the final pass.
    threaded: bool,
    /// The folder is complete once this chunk is stored.
    last: bool,
    done: u32,
    total: u32,
}

/// The writer thread of a backfill: parse, store and save each chunk. Threading the bulk
/// is left to `Store::thread_pending`, once for all folders. Returns the state it saved.
fn write_chunks(
    ctx: &SyncContext,
    slot: u16,
    seed: &FolderSeed,
    mut state: FolderState,
    chunks: std::sync::mpsc::Receiver<Chunk>,
) -> Result<FolderState> {
    for chunk in chunks {
        let mut records: Vec<MessageRecord> = chunk
            .raw
            .into_iter()
            .map(|raw| raw.into_record(seed))
            .collect();
        records.extend(
            chunk
                .unreadable
                .iter()
                .map(|(uid, text)| unreadable(*uid, seed, text)),
        );
        state.synced_from = if chunk.last { 1 } else { chunk.synced_from };
        let changed = {
            let mut store = ctx.store();
            let changed = if chunk.threaded {
                store.upsert(slot, records)
            } else {
                store.insert_unthreaded(slot, records);
                Changed::new()
            };
            store.set_state(slot, state.clone());
            store.save()?;
            changed
        };
        ctx.announce(changed);
        ctx.events.emit(EngineEvent::SyncProgress {
            progress: SyncProgress {
                folder: seed.folder.clone(),
                done: chunk.done,
                total: chunk.total,
                rebuilding: ctx.store().rebuilt().is_some(),
            },
        });
    }
    Ok(state)
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

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn missing_uids_are_fetched_in_runs() {
        assert_eq!(runs(&[]), vec![]);
        assert_eq!(runs(&[7]), vec![(7, 7)]);
        assert_eq!(runs(&[3, 4, 5, 9, 11, 12]), vec![(3, 5), (9, 9), (11, 12)]);
        assert_eq!(
            runs(&[u32::MAX - 1, u32::MAX]),
            vec![(u32::MAX - 1, u32::MAX)]
        );
    }
}
