//! The second connection: message bodies on demand (they must not wait behind a first
//! sync) and, when nothing else is asked, the previews the list shows. It connects when
//! first needed and lets the connection go after a quiet spell.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::connection::Connection;
use super::context::SyncContext;
use super::mailops::MailOp;
use super::session::{Open, is_connection_problem};
use super::team::{ActionRequest, carry_out, refresh};
use crate::contract::Action;
use crate::conversation::ConversationId;
use crate::events::EngineEvent;
use crate::imap::command::uid_set;
use crate::problem::{Problem, ProblemCode, Result};

/// Bytes per FETCH of a body: large messages come in pieces, so none needs one huge
/// response buffer and a dropped connection costs one piece.
const BODY_PIECE: u64 = 8 * 1024 * 1024;
/// Messages larger than this are not fetched for reading.
pub const MAX_BODY: u64 = 256 * 1024 * 1024;
/// The start of a message that is enough for a preview.
const PREVIEW_BYTES: u64 = 8192;
const PREVIEW_CHARS: usize = 200;
const PREVIEW_BATCH: usize = 100;
/// Previews are fetched ahead for recent mail only; older rows get theirs when shown.
const EAGER_PREVIEW_AGE_MS: i64 = 60 * 24 * 3600 * 1000;
const QUIET_LOGOUT: Duration = Duration::from_secs(300);

pub struct BodyRequest {
    pub slot: u16,
    pub folder: String,
    pub uid_validity: u32,
    pub uid: u32,
    pub reply: oneshot::Sender<Result<Vec<u8>>>,
}

/// Messages whose previews the list is waiting for.
#[derive(Clone, Default)]
pub struct PreviewQueue(Arc<Mutex<VecDeque<(u16, u32)>>>);

impl PreviewQueue {
    pub fn push(&self, items: impl IntoIterator<Item = (u16, u32)>) {
        let mut queue = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for item in items {
            if !queue.contains(&item) {
                queue.push_back(item);
            }
        }
    }

    fn take(&self, n: usize) -> Vec<(u16, u32)> {
        let mut queue = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = n.min(queue.len());
        queue.drain(..n).collect()
    }
}

pub struct Fetcher {
    pub connection: Connection,
    pub ctx: SyncContext,
    /// This member's id: the team actions are theirs.
    pub member: String,
    pub requests: mpsc::Receiver<BodyRequest>,
    /// Claims, releases, hand-overs and status changes, carried out on this connection
    /// so they never wait behind a first sync.
    pub actions: mpsc::Receiver<ActionRequest>,
    /// Sent copies, answered flags, drafts and templates (see `mailops`).
    pub mail: mpsc::Receiver<MailOp>,
    pub previews: Arc<Notify>,
    pub wanted: PreviewQueue,
    pub cancel: CancellationToken,
}

impl Fetcher {
    pub async fn run(mut self) {
        let mut open: Option<Open> = None;
        let mut events = self.ctx.events.subscribe();
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                request = self.actions.recv() => {
                    let Some(request) = request else { break };
                    let result = match &request.action {
                        Some(action) => self.act(&mut open, &request.member, request.id, action).await,
                        None => self.refresh(&mut open, request.id).await,
                    };
                    if result.as_ref().is_err_and(is_connection_problem) {
                        open = None;
                    }
                    let _ = request.reply.send(result);
                }
                event = events.next() => {
                    // New mail in a conversation this member holds gets the member's
                    // claim keyword, so every client sees who holds it.
                    let ids = match event {
                        Some(EngineEvent::ConversationsChanged { ids }) => {
                            (!ids.is_empty()).then(|| ids.into_iter().collect())
                        }
                        Some(EngineEvent::Resync) => None,
                        Some(_) => continue,
                        None => break,
                    };
                    let untagged = self.ctx.store().untagged_mine(ids.as_ref());
                    for id in untagged {
                        if let Err(problem) = self.act(&mut open, &self.member, id, &Action::Claim).await {
                            tracing::debug!("tagging new mail of {id:?}: {problem}");
                            if is_connection_problem(&problem) {
                                open = None;
                                break;
                            }
                        }
                    }
                }
                op = self.mail.recv() => {
                    let Some(op) = op else { break };
                    match self.session(&mut open).await {
                        Ok(session) => {
                            if op.carry_out(session).await {
                                open = None;
                            }
                        }
                        Err(problem) => {
                            op.refuse(problem);
                            open = None;
                        }
                    }
                }
                request = self.requests.recv() => {
                    let Some(request) = request else { break };
                    let result = self.body(&mut open, &request).await;
                    if result.is_err() {
                        // The connection may be broken; start afresh next time.
                        open = None;
                    }
                    let _ = request.reply.send(result);
                }
                _ = self.previews.notified() => {
                    if let Err(problem) = self.fill_previews(&mut open).await {
                        tracing::debug!("previews: {problem}");
                        open = None;
                    }
                }
                _ = tokio::time::sleep(QUIET_LOGOUT), if open.is_some() => {
                    if let Some(o) = open.take() {
                        o.session.logout().await;
                    }
                }
            }
        }
        if let Some(o) = open.take() {
            o.session.logout().await;
        }
    }

    async fn act(
        &self,
        open: &mut Option<Open>,
        member: &str,
        id: ConversationId,
        action: &Action,
    ) -> Result<()> {
        let open = self.session(open).await?;
        carry_out(open, &self.ctx, member, id, action).await
    }

    async fn refresh(&self, open: &mut Option<Open>, id: ConversationId) -> Result<()> {
        let open = self.session(open).await?;
        refresh(open, &self.ctx, id).await
    }

    /// The open connection, opened when there is none.
    async fn session<'a>(&self, open: &'a mut Option<Open>) -> Result<&'a mut Open> {
        if open.is_none() {
            *open = Some(Open::new(self.connection.open().await?));
        }
        open.as_mut()
            .ok_or_else(|| Problem::new(ProblemCode::ConnectionLost, "no connection"))
    }

    async fn body(&self, open: &mut Option<Open>, request: &BodyRequest) -> Result<Vec<u8>> {
        let open = self.session(open).await?;
        let validity = open.select(&request.folder).await?;
        if validity != request.uid_validity {
            return Err(gone());
        }
        let mut raw = Vec::new();
        loop {
            let offset = raw.len() as u64;
            let parts = open
                .session
                .fetch_partial(&request.uid.to_string(), offset, BODY_PIECE)
                .await?;
            let Some((_, piece)) = parts.into_iter().find(|(uid, _)| *uid == request.uid) else {
                return if raw.is_empty() { Err(gone()) } else { Ok(raw) };
            };
            let len = piece.len() as u64;
            raw.extend_from_slice(&piece);
            if len < BODY_PIECE {
                return Ok(raw);
            }
            if raw.len() as u64 >= MAX_BODY {
                return Err(Problem::new(
                    ProblemCode::MessageTooLarge,
                    "the message is too large to show",
                ));
            }
            // A body request from the UI goes first; other requests wait their turn.
        }
    }

    /// Fetches previews: first those the list is showing, then recent mail.
    async fn fill_previews(&mut self, open: &mut Option<Open>) -> Result<()> {
        loop {
            if self.cancel.is_cancelled() || !self.requests.is_empty() {
                // Bodies first; come back to previews afterwards.
                self.previews.notify_one();
                return Ok(());
            }
            let mut batch = self.wanted.take(PREVIEW_BATCH);
            if batch.is_empty() {
                let store = self.ctx.store();
                let newest = store.missing_previews(PREVIEW_BATCH);
                let cutoff = store.newest_date().saturating_sub(EAGER_PREVIEW_AGE_MS);
                batch = newest
                    .into_iter()
                    .filter(|&(slot, uid)| store.date_of(slot, uid) >= cutoff)
                    .collect();
            }
            if batch.is_empty() {
                return Ok(());
            }
            let mut by_folder: HashMap<u16, Vec<u32>> = HashMap::new();
            for (slot, uid) in batch {
                by_folder.entry(slot).or_default().push(uid);
            }
            for (slot, uids) in by_folder {
                let Some((name, expected)) = self
                    .ctx
                    .store()
                    .folder(slot)
                    .map(|f| (f.meta.name.clone(), f.meta.state.uid_validity))
                else {
                    continue;
                };
                let open = self.session(open).await?;
                if open.select(&name).await? != expected {
                    continue;
                }
                let parts = open
                    .session
                    .fetch_partial(&uid_set(&uids), 0, PREVIEW_BYTES)
                    .await
                    .unwrap_or_default();
                let mut previews: HashMap<u32, String> = parts
                    .into_iter()
                    .map(|(uid, bytes)| (uid, crate::mime::preview(&bytes, PREVIEW_CHARS)))
                    .collect();
                let changed = {
                    let mut store = self.ctx.store();
                    let mut changed = crate::store::Changed::new();
                    for uid in uids {
                        // Messages the server did not return get an empty preview, so
                        // they are not asked for again and again.
                        changed.extend(store.set_preview(
                            slot,
                            uid,
                            previews.remove(&uid).unwrap_or_default(),
                        ));
                    }
                    store.save()?;
                    changed
                };
                if !changed.is_empty() {
                    self.ctx.events.emit(EngineEvent::ConversationsChanged {
                        ids: changed.into_iter().collect(),
                    });
                }
            }
        }
    }
}

fn gone() -> Problem {
    Problem::new(
        ProblemCode::MessageGone,
        "the message is no longer on the server",
    )
}
