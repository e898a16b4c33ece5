//! The team server: accepts desktops over WebSocket, authenticates them, serializes each
//! mailbox's changes through its [`Authority`], stores and numbers what was accepted,
//! and fans events and presence out to every member connected to the mailbox.
//!
//! Ordering is kept by one lock per mailbox (`MailboxHub::head`): a change is decided,
//! committed (flushed) and broadcast under it, and a new connection subscribes to the
//! broadcast and reads its snapshot or missed events under it too. So a welcome and the
//! events after it fit together exactly: nothing is missed, nothing arrives twice.
//!
//! Each connection is one task that owns its socket; a slow or misbehaving connection
//! only ever holds up itself. One that falls too far behind the broadcast is told
//! `lagged` and closed, and catches up from the log when it reconnects.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, broadcast};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Bytes read from the socket at a time (frames larger than this still arrive whole).
const READ_BUFFER: usize = 8 * 1024;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use super::auth::Verifier;
use super::authority::{
    Authority, ChangeRequest, Decision, NoteRequest, Rejection, StoreAuthority,
};
use super::config::ServerConfig;
use super::limits::{FloodGuard, Verdict};
use super::members::{self, Enrollment, now_ms};
use super::presence::Presence;
use super::protocol::{
    self, CLIENT_TYPES, ClientFrame, ConversationRecord, ErrorCode, ErrorFrame, Event, Mark,
    NoteEvent, PROTOCOL, ServerFrame, Welcome,
};
use super::store::{LogEntry, Store};
use super::tls;
use crate::contract::Action;
use crate::notes::message::NoteMessage;
use crate::problem::{Problem, ProblemCode, Result};

/// Events a connection may fall behind before it is closed as lagging.
const FANOUT_CAPACITY: usize = 4096;
/// More missed events than this and a reconnecting client gets a snapshot instead.
const MAX_RESUME: u64 = 10_000;
/// Malformed frames tolerated on one connection before it is closed.
const MAX_BAD_FRAMES: u32 = 16;
/// How long a write to one client may take before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for connections to say goodbye before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The name and version the server gives in its welcome.
pub fn server_name() -> String {
    format!("baton-sync {}", env!("CARGO_PKG_VERSION"))
}

/// Starts team servers.
pub struct TeamServer;

impl TeamServer {
    /// Starts a server where the store is the authority for every mailbox.
    pub async fn start(config: ServerConfig) -> Result<RunningServer> {
        Self::start_with(config, BTreeMap::new()).await
    }

    /// Starts a server with the given authority for some mailboxes (by id); the others
    /// use [`StoreAuthority`].
    pub async fn start_with(
        config: ServerConfig,
        mut authorities: BTreeMap<String, Arc<dyn Authority>>,
    ) -> Result<RunningServer> {
        config.validate()?;
        let silence = config.silence_timeout()?;
        let hello_timeout = config.hello_timeout()?;
        let store_dir = config.store.clone();
        let log_keep = config.log_keep;
        let store = crate::problem::blocking(
            ProblemCode::CacheFailed,
            "opening the store failed",
            move || Store::open(&store_dir, log_keep),
        )
        .await??;
        let tls = tls::server_tls(&config.tls, &config.store)?;
        let cancel = CancellationToken::new();
        let mut hubs = BTreeMap::new();
        let mut outside = Vec::new();
        for mailbox in &config.mailboxes {
            let authority = authorities
                .remove(&mailbox.id)
                .unwrap_or_else(|| Arc::new(StoreAuthority));
            let head = store.head(&mailbox.id).await?;
            let hub = Arc::new(MailboxHub {
                id: mailbox.id.clone(),
                authority: authority.clone(),
                head: tokio::sync::Mutex::new(head),
                fanout: broadcast::channel(FANOUT_CAPACITY).0,
                presence: Mutex::new(Presence::default()),
            });
            hub.reconcile(&store).await?;
            if let Some(changes) = authority.outside_changes() {
                outside.push((hub.clone(), changes));
            }
            hubs.insert(mailbox.id.clone(), hub);
        }
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            Problem::new(
                ProblemCode::InvalidSettings,
                format!("could not listen on {}", config.listen),
            )
            .with_detail(e.to_string())
        })?;
        let local_addr = listener.local_addr().map_err(|e| {
            Problem::new(ProblemCode::InvalidSettings, "no local address")
                .with_detail(e.to_string())
        })?;
        let ws_config = WebSocketConfig::default()
            // tungstenite zeroes this much before every socket read: with the default
            // 128 KiB that, not the events, was most of the fan-out's cost.
            .read_buffer_size(READ_BUFFER)
            .max_message_size(Some(config.limits.max_message_bytes))
            .max_frame_size(Some(config.limits.max_message_bytes));
        let shared = Arc::new(Shared {
            verifier: Verifier::new(config.limits.max_concurrent_auth),
            connections: Arc::new(Semaphore::new(config.limits.max_connections)),
            epoch: store.epoch().to_owned(),
            store,
            hubs,
            next_connection: AtomicU64::new(1),
            cancel: cancel.clone(),
            silence,
            hello_timeout,
            ws_config,
            acceptor: tls.as_ref().map(|t| TlsAcceptor::from(t.config.clone())),
            config,
        });
        let mut background = JoinSet::new();
        for (hub, mut changes) in outside {
            let shared = shared.clone();
            background.spawn(async move {
                loop {
                    let record = tokio::select! {
                        _ = shared.cancel.cancelled() => break,
                        record = changes.recv() => match record {
                            Some(record) => record,
                            None => break,
                        },
                    };
                    if let Err(problem) = hub.commit_outside(&shared.store, record).await {
                        tracing::error!(mailbox = %hub.id, %problem, "an outside change could not be stored");
                    }
                }
            });
        }
        let accept = tokio::spawn(accept_loop(shared.clone(), listener));
        let fingerprint = tls.map(|t| t.fingerprint);
        tracing::info!(
            address = %local_addr,
            tls = fingerprint.is_some(),
            fingerprint = fingerprint.as_deref().unwrap_or("-"),
            "team server listening"
        );
        Ok(RunningServer {
            local_addr,
            fingerprint,
            shared,
            accept: Some(accept),
            background,
        })
    }
}

/// A started server. Dropping it cancels it; [`RunningServer::shutdown`] also waits.
pub struct RunningServer {
    local_addr: SocketAddr,
    fingerprint: Option<String>,
    shared: Arc<Shared>,
    accept: Option<tokio::task::JoinHandle<()>>,
    background: JoinSet<()>,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The SHA-256 fingerprint of the server's certificate; `None` without TLS.
    pub fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// `ws://…` or `wss://…` for clients on this machine.
    pub fn url(&self) -> String {
        let scheme = if self.fingerprint.is_some() {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}/", self.local_addr)
    }

    /// The store's epoch (changes when the store is created anew).
    pub fn epoch(&self) -> &str {
        &self.shared.epoch
    }

    /// Adds a member to a mailbox; see [`Enrollment`] for the invite code.
    pub async fn add_member(&self, mailbox: &str, member: &str) -> Result<Enrollment> {
        members::enroll(
            &self.shared.store,
            &self.shared.verifier,
            &self.shared.config,
            mailbox,
            member,
        )
        .await
    }

    /// Staged shutdown: cancel (connections are told `shutting_down`), wait for them with
    /// a grace period, abort what is left, then close the store (flushed).
    pub async fn shutdown(mut self) {
        self.shared.cancel.cancel();
        if let Some(mut accept) = self.accept.take()
            && tokio::time::timeout(SHUTDOWN_GRACE * 2, &mut accept)
                .await
                .is_err()
        {
            accept.abort();
            let _ = accept.await;
        }
        if tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.background.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            self.background.shutdown().await;
        }
        let store = self.shared.store.clone();
        drop(self);
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
        tracing::info!("team server stopped");
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

struct Shared {
    config: ServerConfig,
    store: Store,
    verifier: Verifier,
    hubs: BTreeMap<String, Arc<MailboxHub>>,
    epoch: String,
    next_connection: AtomicU64,
    connections: Arc<Semaphore>,
    cancel: CancellationToken,
    silence: Duration,
    hello_timeout: Duration,
    ws_config: WebSocketConfig,
    acceptor: Option<TlsAcceptor>,
}

/// One mailbox: its authority, the order of its changes, its fan-out and presence.
struct MailboxHub {
    id: String,
    authority: Arc<dyn Authority>,
    /// The latest seq; held while a change is decided, stored and broadcast, and while a
    /// connection subscribes and reads its welcome.
    head: tokio::sync::Mutex<u64>,
    fanout: broadcast::Sender<Utf8Bytes>,
    presence: Mutex<Presence>,
}

fn encode(frame: &ServerFrame) -> Utf8Bytes {
    // Serializing these types cannot fail (string keys, no maps with other keys).
    Utf8Bytes::from(serde_json::to_string(frame).unwrap_or_default())
}

fn store_failed(problem: Problem) -> Rejection {
    tracing::error!(%problem, "the store failed");
    Rejection::new(
        ErrorCode::StoreFailed,
        "the server could not store the change; it was not made",
    )
}

impl MailboxHub {
    fn presence(&self) -> std::sync::MutexGuard<'_, Presence> {
        self.presence.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Brings the store in line with an authority that has its own view (IMAP): every
    /// record that differs is logged as a change.
    async fn reconcile(&self, store: &Store) -> Result<()> {
        let Some(records) = self.authority.snapshot().await? else {
            return Ok(());
        };
        let (_, stored) = store.snapshot(&self.id).await?;
        let stored: BTreeMap<&str, &ConversationRecord> = stored
            .iter()
            .map(|r| (r.conversation.as_str(), r))
            .collect();
        let mut head = self.head.lock().await;
        for record in records {
            let same = stored.get(record.conversation.as_str()).is_some_and(|s| {
                s.owner == record.owner && s.status == record.status && s.version == record.version
            });
            if !same {
                *head = store.commit(&self.id, record).await?;
            }
        }
        Ok(())
    }

    async fn change(
        &self,
        store: &Store,
        member: &str,
        conversation: &str,
        action: &Action,
        expect: Option<u64>,
    ) -> std::result::Result<u64, Rejection> {
        let mut head = self.head.lock().await;
        let current = store
            .conversation(&self.id, conversation)
            .await
            .map_err(store_failed)?;
        let decision = self
            .authority
            .apply(ChangeRequest {
                mailbox: &self.id,
                member,
                conversation,
                action,
                expect,
                current: current.as_ref(),
                now_ms: now_ms(),
            })
            .await?;
        match decision {
            Decision::Unchanged => Ok(*head),
            Decision::Changed(mut record) => {
                record.conversation = conversation.to_owned();
                let seq = store
                    .commit(&self.id, record.clone())
                    .await
                    .map_err(store_failed)?;
                *head = seq;
                let _ = self
                    .fanout
                    .send(encode(&ServerFrame::Event(Event { seq, record })));
                Ok(seq)
            }
        }
    }

    /// A note version from `member`: refused when the note is someone else's, else
    /// carried out by the authority, logged and broadcast like a change.
    async fn note(
        &self,
        store: &Store,
        member: &str,
        version: NoteMessage,
    ) -> std::result::Result<u64, Rejection> {
        let mut head = self.head.lock().await;
        let author = store
            .note_author(&self.id, &version.id)
            .await
            .map_err(store_failed)?;
        if let Some(author) = author.filter(|a| a != member) {
            return Err(Rejection {
                holder: Some(author.clone()),
                ..Rejection::new(
                    ErrorCode::NotHolder,
                    format!("only {author}, who wrote this note, can change it"),
                )
            });
        }
        self.authority
            .note(NoteRequest {
                mailbox: &self.id,
                member,
                version: &version,
            })
            .await?;
        let event = NoteEvent {
            seq: 0,
            about: version.about,
            note: version.id,
            author: version.author,
            action: version.action.into(),
            text: version.text,
            at: version.at,
        };
        let seq = store
            .commit_note(&self.id, event.clone())
            .await
            .map_err(store_failed)?;
        *head = seq;
        let _ = self
            .fanout
            .send(encode(&ServerFrame::Note(NoteEvent { seq, ..event })));
        Ok(seq)
    }

    async fn commit_outside(&self, store: &Store, record: ConversationRecord) -> Result<()> {
        if !protocol::valid_conversation(&record.conversation) {
            return Ok(());
        }
        let mut head = self.head.lock().await;
        let seq = store.commit(&self.id, record.clone()).await?;
        *head = seq;
        let _ = self
            .fanout
            .send(encode(&ServerFrame::Event(Event { seq, record })));
        Ok(())
    }

    fn set_presence(
        &self,
        connection: u64,
        member: &str,
        conversation: &str,
        mark: Mark,
    ) -> std::result::Result<(), ()> {
        let mut presence = self.presence();
        match presence.set(connection, member, conversation, mark, Instant::now()) {
            Ok(Some(entry)) => {
                let _ = self.fanout.send(encode(&ServerFrame::Presence(entry)));
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(_) => Err(()),
        }
    }

    fn drop_presence(&self, connection: u64) {
        let mut presence = self.presence();
        for entry in presence.remove_connection(connection, Instant::now()) {
            let _ = self.fanout.send(encode(&ServerFrame::Presence(entry)));
        }
    }

    /// Subscribes and builds the welcome under the mailbox's lock, so the broadcast takes
    /// over exactly where the welcome ends.
    async fn welcome(
        &self,
        shared: &Shared,
        member: &str,
        last_seq: Option<u64>,
        epoch: Option<&str>,
    ) -> Result<(Welcome, broadcast::Receiver<Utf8Bytes>)> {
        let head = self.head.lock().await;
        let (receiver, presence) = {
            let presence = self.presence();
            (self.fanout.subscribe(), presence.entries(Instant::now()))
        };
        let resume = match (last_seq, epoch) {
            (Some(last), Some(epoch)) if epoch == shared.epoch => {
                shared.store.since(&self.id, last, MAX_RESUME).await?
            }
            _ => None,
        };
        let snapshot = match resume {
            Some(_) => None,
            None => Some(shared.store.snapshot(&self.id).await?.1),
        };
        let (mut changes, mut notes) = (Vec::new(), Vec::new());
        let resume = resume.map(|entries| {
            for entry in entries {
                match entry {
                    LogEntry::Change(event) => changes.push(event),
                    LogEntry::Note(note) => notes.push(note),
                }
            }
            changes
        });
        let welcome = Welcome {
            server: server_name(),
            protocol: PROTOCOL.to_owned(),
            mailbox: self.id.clone(),
            member: member.to_owned(),
            epoch: shared.epoch.clone(),
            seq: *head,
            mode: self.authority.mode(),
            presence,
            resume,
            snapshot,
            notes,
        };
        Ok((welcome, receiver))
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (tcp, peer) = tokio::select! {
            _ = shared.cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "too many connections; refused one");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        connections.spawn(async move {
            serve(&shared, tcp, peer).await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        connections.shutdown().await;
    }
}

async fn serve(shared: &Shared, tcp: TcpStream, peer: SocketAddr) {
    match &shared.acceptor {
        Some(acceptor) => {
            match tokio::time::timeout(shared.hello_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => handshake(shared, stream, peer).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
        None => handshake(shared, tcp, peer).await,
    }
}

async fn handshake<S>(shared: &Shared, stream: S, peer: SocketAddr)
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
        let frame = match serde_json::from_str::<ClientFrame>(&text) {
            Ok(frame @ (ClientFrame::Hello { .. } | ClientFrame::Redeem { .. })) => frame,
            _ => {
                self.error(
                    None,
                    ErrorCode::Unauthenticated,
                    "the first frame must be a hello (or a redeem)",
                )
                .await;
                return None;
            }
        };
        let shared = self.shared;
        match frame {
            ClientFrame::Redeem {
                version,
                mailbox,
                member,
                invite,
            } => {
                if version != PROTOCOL {
                    self.wrong_version(&version).await;
                    return None;
                }
                match members::redeem(&shared.store, &shared.verifier, &mailbox, &member, &invite)
                    .await
                {
                    Ok(secret) => {
                        self.send(&ServerFrame::Redeemed { secret }).await;
                    }
                    Err((code, message)) => {
                        tracing::warn!(peer = %self.peer, %member, "invite refused");
                        self.error(None, code, message).await;
                    }
                }
                None
            }
            ClientFrame::Hello {
                version,
                mailbox,
                member,
                secret,
                last_seq,
                epoch,
            } => {
                if version != PROTOCOL {
                    self.wrong_version(&version).await;
                    return None;
                }
                if let Err((code, message)) = members::authenticate(
                    &shared.store,
                    &shared.verifier,
                    &mailbox,
                    &member,
                    &secret,
                )
                .await
                {
                    tracing::warn!(peer = %self.peer, %member, %mailbox, ?code, "hello refused");
                    self.error(None, code, message).await;
                    return None;
                }
                let Some(hub) = shared.hubs.get(&mailbox).cloned() else {
                    self.error(
                        None,
                        ErrorCode::WrongMailbox,
                        format!("this server has no mailbox {mailbox:?}"),
                    )
                    .await;
                    return None;
                };
                let (welcome, receiver) = match hub
                    .welcome(shared, &member, last_seq, epoch.as_deref())
                    .await
                {
                    Ok(built) => built,
                    Err(problem) => {
                        tracing::error!(%problem, "could not build a welcome");
                        self.error(
                            None,
                            ErrorCode::StoreFailed,
                            "the server could not read its store",
                        )
                        .await;
                        return None;
                    }
                };
                tracing::info!(
                    peer = %self.peer,
                    %member,
                    %mailbox,
                    seq = welcome.seq,
                    resumed = welcome.resume.is_some(),
                    "connected"
                );
                if !self.send(&ServerFrame::Welcome(welcome)).await {
                    return None;
                }
                Some(Session {
                    hub,
                    member,
                    events: receiver,
                })
            }
            _ => None,
        }
    }

    async fn wrong_version(&mut self, version: &str) {
        self.error(
            None,
            ErrorCode::Version,
            format!("this server speaks {PROTOCOL}, not {version:?}"),
        )
        .await;
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
        match frame {
            ClientFrame::Hello { .. } | ClientFrame::Redeem { .. } => {
                self.bad_frame(id, "already authenticated").await
            }
            ClientFrame::Ping { id } => {
                self.send(&ServerFrame::Pong { id }).await;
                Next::Continue
            }
            note @ ClientFrame::Note { .. } => self.submit_note(session, note).await,
            ClientFrame::History {
                id,
                mailbox,
                conversation,
            } => {
                if let Some(next) = self
                    .refused(session, &id, mailbox.as_deref(), &conversation)
                    .await
                {
                    return next;
                }
                let frame = match self
                    .shared
                    .store
                    .history(&session.hub.id, &conversation)
                    .await
                {
                    Ok((events, complete)) => ServerFrame::History {
                        id,
                        events,
                        complete,
                    },
                    Err(problem) => ServerFrame::Error(ErrorFrame::new(
                        Some(id),
                        store_failed(problem).code,
                        "the server could not read the conversation's history",
                    )),
                };
                self.send(&frame).await;
                Next::Continue
            }
            ClientFrame::Presence {
                id,
                mailbox,
                conversation,
                activity,
                leaves_in_ms,
                message_id,
            } => {
                if let Some(code) = self.check_target(session, mailbox.as_deref(), &conversation) {
                    self.refuse_target(id, code, session).await;
                    return Next::Continue;
                }
                let mark = Mark {
                    activity,
                    leaves_in_ms,
                    message_id,
                };
                if let Some(problem) = protocol::mark_problem(&mark) {
                    self.error(id, ErrorCode::BadFrame, problem).await;
                    return Next::Continue;
                }
                if session
                    .hub
                    .set_presence(self.id, &session.member, &conversation, mark)
                    .is_err()
                {
                    self.error(
                        id,
                        ErrorCode::BadFrame,
                        "too many conversations marked at once",
                    )
                    .await;
                }
                Next::Continue
            }
            ClientFrame::Change {
                id,
                mailbox,
                conversation,
                action,
                expect,
            } => {
                if let Some(next) = self
                    .refused(session, &id, mailbox.as_deref(), &conversation)
                    .await
                {
                    return next;
                }
                let action = Action::from(action);
                // Its own task: once decided, a change is stored and broadcast even if this
                // connection is torn down meanwhile.
                let hub = session.hub.clone();
                let store = self.shared.store.clone();
                let member = session.member.clone();
                let outcome = tokio::spawn(async move {
                    hub.change(&store, &member, &conversation, &action, expect)
                        .await
                })
                .await
                .unwrap_or_else(|_| {
                    Err(Rejection::new(ErrorCode::StoreFailed, "the change failed"))
                });
                let frame = match outcome {
                    Ok(seq) => ServerFrame::Ok { id, seq },
                    Err(rejection) => ServerFrame::Error(ErrorFrame {
                        id: Some(id),
                        code: rejection.code,
                        message: rejection.message,
                        holder: rejection.holder,
                        since_ms: rejection.since_ms,
                        current: rejection.current,
                    }),
                };
                self.send(&frame).await;
                Next::Continue
            }
        }
    }

    /// A note version: checked strictly, then carried out with the authenticated member as
    /// its author (whatever the client believes).
    async fn submit_note(&mut self, session: &Session, frame: ClientFrame) -> Next {
        let ClientFrame::Note {
            id,
            mailbox,
            about,
            note,
            action,
            text,
            at,
        } = frame
        else {
            return Next::Continue;
        };
        if !protocol::valid_request_id(&id) {
            return self.bad_frame(None, "the id is too long").await;
        }
        if mailbox.as_deref().is_some_and(|m| m != session.hub.id) {
            self.refuse_target(Some(id), ErrorCode::WrongMailbox, session)
                .await;
            return Next::Continue;
        }
        if let Some(problem) = protocol::note_problem(&about, &note, &text, at) {
            self.error(Some(id), ErrorCode::InvalidNote, problem).await;
            return Next::Continue;
        }
        let version = NoteMessage {
            id: note,
            about,
            author: session.member.clone(),
            action: action.into(),
            at,
            text,
        };
        // Its own task, like a change: once written to the mailbox it is logged too.
        let hub = session.hub.clone();
        let store = self.shared.store.clone();
        let member = session.member.clone();
        let outcome = tokio::spawn(async move { hub.note(&store, &member, version).await })
            .await
            .unwrap_or_else(|_| Err(Rejection::new(ErrorCode::StoreFailed, "the note failed")));
        let frame = match outcome {
            Ok(seq) => ServerFrame::Ok { id, seq },
            Err(rejection) => ServerFrame::Error(ErrorFrame {
                holder: rejection.holder,
                ..ErrorFrame::new(Some(id), rejection.code, rejection.message)
            }),
        };
        self.send(&frame).await;
        Next::Continue
    }

    /// Checks a request's id and what it is about, and answers when it is refused:
    /// `Some(next)` then.
    async fn refused(
        &mut self,
        session: &Session,
        id: &str,
        mailbox: Option<&str>,
        conversation: &str,
    ) -> Option<Next> {
        if !protocol::valid_request_id(id) {
            return Some(self.bad_frame(None, "the id is too long").await);
        }
        let code = self.check_target(session, mailbox, conversation)?;
        self.refuse_target(Some(id.to_owned()), code, session).await;
        Some(Next::Continue)
    }

    /// The server checks on every request that it is about the member's own mailbox.
    fn check_target(
        &self,
        session: &Session,
        mailbox: Option<&str>,
        conversation: &str,
    ) -> Option<ErrorCode> {
        if mailbox.is_some_and(|m| m != session.hub.id) {
            Some(ErrorCode::WrongMailbox)
        } else if !protocol::valid_conversation(conversation) {
            Some(ErrorCode::InvalidConversation)
        } else {
            None
        }
    }

    async fn refuse_target(&mut self, id: Option<String>, code: ErrorCode, session: &Session) {
        let message = match code {
            ErrorCode::WrongMailbox => format!(
                "this connection is for the mailbox {:?} only",
                session.hub.id
            ),
            _ => "a conversation id is 1 to 512 characters without control characters".to_owned(),
        };
        self.error(id, code, message).await;
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
