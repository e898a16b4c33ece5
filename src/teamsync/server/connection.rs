//! One connection, a state machine: the WebSocket handshake, the first frame (a hello or
//! a redeem), then the session — every frame from the client checked and handed to its
//! own method (in `frames`), events and presence sent out in batches — until it closes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, broadcast};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use super::hub::{MailboxHub, encode};
use crate::teamsync::auth::Verifier;
use crate::teamsync::config::ServerConfig;
use crate::teamsync::limits::{FloodGuard, Verdict};
use crate::teamsync::protocol::{
    self, CLIENT_TYPES, ClientFrame, ErrorCode, ErrorFrame, ServerFrame,
};
use crate::teamsync::store::Store;

mod frames;

/// Malformed frames tolerated on one connection before it is closed.
const MAX_BAD_FRAMES: u32 = 16;
/// How long a write to one client may take before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server's tasks share: built when it starts, read by every connection (and by
/// the accept loop and shutdown in `server`).
pub(super) struct Shared {
    pub(super) config: ServerConfig,
    pub(super) store: Store,
    pub(super) verifier: Verifier,
    pub(super) hubs: BTreeMap<String, Arc<MailboxHub>>,
    pub(super) epoch: String,
    pub(super) next_connection: AtomicU64,
    pub(super) connections: Arc<Semaphore>,
    pub(super) cancel: CancellationToken,
    pub(super) silence: Duration,
    pub(super) hello_timeout: Duration,
    pub(super) ws_config: WebSocketConfig,
    pub(super) acceptor: Option<TlsAcceptor>,
}

/// The WebSocket handshake, then the connection runs to its end.
pub(super) async fn handshake<S>(shared: &Shared, stream: S, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let accepted = tokio::time::timeout(
        shared.hello_timeout,
        tokio_tungstenite::accept_async_with_config(stream, Some(shared.ws_config)),
    )
    .await;
    match accepted {
        Ok(Ok(ws)) => Connection::new(shared, ws, peer).run().await,
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "WebSocket handshake failed"),
        Err(_) => tracing::debug!(%peer, "WebSocket handshake timed out"),
    }
}

/// The `id` of a request, read without judging the rest of the frame.
fn request_id(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: Option<String>,
    }
    serde_json::from_str::<Id>(text)
        .ok()
        .and_then(|f| f.id)
        .filter(|id| protocol::valid_request_id(id))
}

/// What to do after a frame.
enum Next {
    Continue,
    Close,
}

struct Connection<'a, S> {
    shared: &'a Shared,
    ws: WebSocketStream<S>,
    peer: SocketAddr,
    id: u64,
    guard: FloodGuard,
    bad_frames: u32,
    /// When events last went out and how many, for coalescing them under load.
    last_sent: Instant,
    last_batch: usize,
}

/// Who a connection is, once authenticated.
struct Session {
    hub: Arc<MailboxHub>,
    member: String,
    events: broadcast::Receiver<Utf8Bytes>,
}

/// Events sent to one connection with one write at most.
const MAX_BATCH: usize = 256;
/// How long after its last write a connection gathers events before the next one: a
/// little while events come one by one (latency first), longer once they came in
/// bunches (throughput first: hundreds of members each woken per event is what fan-out
/// costs). Quiet connections send at once.
const COALESCE_QUIET: Duration = Duration::from_millis(2);
const COALESCE_BUSY: Duration = Duration::from_millis(25);

enum Batch {
    Sent,
    Failed,
    Lagged(u64),
}

impl<'a, S> Connection<'a, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    fn new(shared: &'a Shared, ws: WebSocketStream<S>, peer: SocketAddr) -> Self {
        let limits = &shared.config.limits;
        Connection {
            shared,
            ws,
            peer,
            id: shared.next_connection.fetch_add(1, Ordering::Relaxed),
            guard: FloodGuard::new(limits.messages_per_second, limits.burst, Instant::now()),
            bad_frames: 0,
            last_sent: Instant::now()
                .checked_sub(COALESCE_BUSY)
                .unwrap_or_else(Instant::now),
            last_batch: 0,
        }
    }

    async fn send(&mut self, frame: &ServerFrame) -> bool {
        self.send_text(encode(frame)).await
    }

    async fn send_text(&mut self, text: Utf8Bytes) -> bool {
        matches!(
            tokio::time::timeout(WRITE_TIMEOUT, self.ws.send(Message::Text(text))).await,
            Ok(Ok(()))
        )
    }

    /// Sends the queued events, and any more already waiting, as one frame (a batch):
    /// under load, a frame and a write per event per connection is what limits the
    /// fan-out, not the events themselves.
    async fn send_queued(
        &mut self,
        mut queued: Vec<Utf8Bytes>,
        events: &mut broadcast::Receiver<Utf8Bytes>,
    ) -> Batch {
        let mut lagged = None;
        while queued.len() < MAX_BATCH {
            match events.try_recv() {
                Ok(text) => queued.push(text),
                Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                    lagged = Some(missed);
                    break;
                }
                Err(_) => break,
            }
        }
        let count = queued.len();
        let text = if queued.len() == 1 {
            queued.pop().unwrap_or_default()
        } else {
            // The frames are JSON already (encoded once for every connection): joined,
            // not parsed and encoded again.
            let mut batch =
                String::with_capacity(queued.iter().map(|t| t.len() + 1).sum::<usize>() + 32);
            batch.push_str(r#"{"type":"batch","frames":["#);
            for (i, frame) in queued.iter().enumerate() {
                if i > 0 {
                    batch.push(',');
                }
                batch.push_str(frame.as_str());
            }
            batch.push_str("]}");
            Utf8Bytes::from(batch)
        };
        if !self.send_text(text).await {
            return Batch::Failed;
        }
        self.last_sent = Instant::now();
        self.last_batch = count;
        lagged.map_or(Batch::Sent, Batch::Lagged)
    }

    async fn error(&mut self, id: Option<String>, code: ErrorCode, message: impl Into<String>) {
        let frame = ServerFrame::Error(ErrorFrame::new(id, code, message));
        self.send(&frame).await;
    }

    async fn close(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
    }

    async fn run(mut self) {
        let mut session = match self.authenticate().await {
            Some(session) => session,
            None => {
                self.close().await;
                return;
            }
        };
        self.serve_session(&mut session).await;
        session.hub.drop_presence(self.id);
        self.close().await;
        tracing::info!(peer = %self.peer, member = %session.member, mailbox = %session.hub.id, "disconnected");
    }

    /// Reads the first frame and answers it; `Some` once a hello was accepted.
    async fn authenticate(&mut self) -> Option<Session> {
        let first = tokio::time::timeout(self.shared.hello_timeout, self.ws.next()).await;
        let text = match first {
            Err(_) => {
                self.error(None, ErrorCode::Timeout, "no hello in time")
                    .await;
                return None;
            }
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(_))) => {
                self.error(None, ErrorCode::Unauthenticated, "say hello first")
                    .await;
                return None;
            }
        };
        match serde_json::from_str::<ClientFrame>(&text) {
            Ok(frame @ ClientFrame::Hello { .. }) => self.on_hello(frame).await,
            Ok(frame @ ClientFrame::Redeem { .. }) => {
                self.on_redeem(frame).await;
                None
            }
            _ => {
                self.error(
                    None,
                    ErrorCode::Unauthenticated,
                    "the first frame must be a hello (or a redeem)",
                )
                .await;
                None
            }
        }
    }

    /// The authenticated part: frames in, events and presence out, until the client
    /// leaves, falls silent, floods, lags or the server stops.
    async fn serve_session(&mut self, session: &mut Session) {
        let silence = self.shared.silence;
        let mut deadline = tokio::time::Instant::now() + silence;
        // Events waiting to go out, and when they go.
        let mut queued: Vec<Utf8Bytes> = Vec::new();
        let mut flush_at: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                biased;
                _ = self.shared.cancel.cancelled() => {
                    self.error(None, ErrorCode::ShuttingDown, "the team server is stopping").await;
                    return;
                }
                _ = tokio::time::sleep_until(flush_at.unwrap_or(deadline)), if flush_at.is_some() => {
                    flush_at = None;
                    match self.send_queued(std::mem::take(&mut queued), &mut session.events).await {
                        Batch::Sent => {}
                        Batch::Failed => return,
                        Batch::Lagged(missed) => {
                            tracing::warn!(peer = %self.peer, member = %session.member, missed, "connection lagged");
                            self.error(
                                None,
                                ErrorCode::Lagged,
                                "this connection fell behind; reconnect to catch up",
                            )
                            .await;
                            return;
                        }
                    }
                }
                // While a batch is due, events wait in the channel (no wake-up per event);
                // the flush collects them.
                event = session.events.recv(), if flush_at.is_none() => match event {
                    Ok(text) => {
                        queued.push(text);
                        // A connection that was quiet gets it at once; one just written
                        // to gathers what follows for a moment (see `COALESCE_QUIET`).
                        let wait = if self.last_batch > 1 { COALESCE_BUSY } else { COALESCE_QUIET };
                        flush_at.get_or_insert_with(|| {
                            tokio::time::Instant::from_std(self.last_sent + wait)
                                .max(tokio::time::Instant::now())
                        });
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(peer = %self.peer, member = %session.member, missed, "connection lagged");
                        self.error(
                            None,
                            ErrorCode::Lagged,
                            "this connection fell behind; reconnect to catch up",
                        )
                        .await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::info!(peer = %self.peer, member = %session.member, "connection silent");
                    self.error(
                        None,
                        ErrorCode::Timeout,
                        format!("nothing heard for {} s", silence.as_secs_f64()),
                    )
                    .await;
                    return;
                }
                incoming = self.ws.next() => {
                    let message = match incoming {
                        None => return,
                        Some(Ok(message)) => message,
                        Some(Err(tungstenite::Error::Capacity(_))) => {
                            self.error(
                                None,
                                ErrorCode::TooLarge,
                                format!(
                                    "frames are limited to {} bytes",
                                    self.shared.config.limits.max_message_bytes
                                ),
                            )
                            .await;
                            return;
                        }
                        Some(Err(e)) => {
                            tracing::debug!(peer = %self.peer, error = %e, "connection failed");
                            return;
                        }
                    };
                    deadline = tokio::time::Instant::now() + silence;
                    if let Next::Close = self.frame(session, message).await {
                        return;
                    }
                }
            }
        }
    }

    async fn frame(&mut self, session: &mut Session, message: Message) -> Next {
        let text = match message {
            Message::Close(_) => return Next::Close,
            // Answered by tungstenite itself; they still count against the flood.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => None,
            Message::Text(text) => Some(text),
            Message::Binary(_) => {
                return self.bad_frame(None, "frames are JSON text").await;
            }
        };
        match self.guard.check(Instant::now()) {
            Verdict::Allow => {}
            Verdict::Drop { tell } => {
                // A dropped request still gets its answer, so the client is not left
                // waiting; frames without an id hear it once per flood.
                let id = text.as_deref().and_then(request_id);
                if tell {
                    tracing::warn!(peer = %self.peer, member = %session.member, "rate limited");
                }
                if tell || id.is_some() {
                    self.error(id, ErrorCode::RateLimited, "too many frames; slow down")
                        .await;
                }
                return Next::Continue;
            }
            Verdict::Close => {
                tracing::warn!(peer = %self.peer, member = %session.member, "flood; closing");
                self.error(
                    None,
                    ErrorCode::RateLimited,
                    "too many frames for too long; closing",
                )
                .await;
                return Next::Close;
            }
        }
        let Some(text) = text else {
            return Next::Continue;
        };
        let value: serde_json::Value = match serde_json::from_str(&text) {
            Ok(value) => value,
            Err(e) => return self.bad_frame(None, format!("not JSON: {e}")).await,
        };
        let id = value
            .get("id")
            .and_then(|v| v.as_str())
            .filter(|id| protocol::valid_request_id(id))
            .map(str::to_owned);
        match value.get("type").and_then(|t| t.as_str()) {
            None => return self.bad_frame(id, "a frame needs a \"type\"").await,
            Some(kind) if !CLIENT_TYPES.contains(&kind) => {
                let kind: String = kind.chars().take(32).collect();
                self.error(id, ErrorCode::UnknownType, format!("unknown type {kind:?}"))
                    .await;
                return Next::Continue;
            }
            Some(_) => {}
        }
        let frame: ClientFrame = match serde_json::from_value(value) {
            Ok(frame) => frame,
            Err(e) => return self.bad_frame(id, format!("invalid frame: {e}")).await,
        };
        self.dispatch(session, id, frame).await
    }

    /// Hands a frame to the method for its type; nothing is decided here.
    async fn dispatch(
        &mut self,
        session: &Session,
        id: Option<String>,
        frame: ClientFrame,
    ) -> Next {
        match frame {
            ClientFrame::Hello { .. } | ClientFrame::Redeem { .. } => {
                self.bad_frame(id, "already authenticated").await
            }
            frame @ ClientFrame::Change { .. } => self.on_change(session, frame).await,
            frame @ ClientFrame::Presence { .. } => self.on_presence(session, frame).await,
            frame @ ClientFrame::Note { .. } => self.on_note(session, frame).await,
            frame @ ClientFrame::History { .. } => self.on_history(session, frame).await,
            frame @ ClientFrame::Ping { .. } => self.on_ping(frame).await,
        }
    }

    async fn bad_frame(&mut self, id: Option<String>, message: impl Into<String>) -> Next {
        self.bad_frames += 1;
        self.error(id, ErrorCode::BadFrame, message).await;
        if self.bad_frames >= MAX_BAD_FRAMES {
            tracing::warn!(peer = %self.peer, "too many malformed frames; closing");
            Next::Close
        } else {
            Next::Continue
        }
    }
}
