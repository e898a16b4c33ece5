//! The desktop's side of the team server: one owned task per connection that connects,
//! says hello with the last seq it saw, keeps the connection alive with heartbeats, and
//! reconnects with jittered backoff when it drops. Nothing here knows about Tauri.
//!
//! Changes are not queued across a dropped connection: a change either gets its answer
//! or fails with `disconnected`, and the engine then applies the contract straight to
//! IMAP (the serverless mode). Presence is remembered and sent again after a reconnect,
//! because it describes what the member is doing now.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Bytes read from the socket at a time (frames larger than this still arrive whole).
const READ_BUFFER: usize = 8 * 1024;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use super::protocol::{
    Activity, ClientFrame, ConversationRecord, ErrorCode, ErrorFrame, Event, MAX_LEAVES_IN_MS,
    Mode, NoteEvent, PROTOCOL, PresenceEntry, ServerFrame, Welcome, WireAction,
};
use super::tls::pinned_client_config;
use crate::contract::Action;
use crate::notes::message::NoteMessage;

/// How the client trusts a `wss://` server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Exactly the certificate with this SHA-256 fingerprint (a self-signed server).
    Pinned(String),
    /// The system's certificate authorities (a server with a public certificate).
    System,
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `wss://host:port/`, or `ws://` on a loopback address only.
    pub url: String,
    pub trust: Trust,
    pub mailbox: String,
    pub member: String,
    pub secret: String,
    /// How often a ping is sent; three missed answers and the connection is given up.
    pub heartbeat: Duration,
    /// The first wait before reconnecting; it doubles up to `reconnect_max`, with jitter.
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// How long an answer to a change may take.
    pub request_timeout: Duration,
    /// Where the desktop left off last time (store epoch, last seq), so a restarted app
    /// gets only what it missed; see [`TeamClient::cursor`].
    pub resume: Option<(String, u64)>,
}

impl ClientOptions {
    pub fn new(url: &str, trust: Trust, mailbox: &str, member: &str, secret: &str) -> Self {
        ClientOptions {
            url: url.to_owned(),
            trust,
            mailbox: mailbox.to_owned(),
            member: member.to_owned(),
            secret: secret.to_owned(),
            heartbeat: Duration::from_secs(10),
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            resume: None,
        }
    }
}

/// A refused or failed request, with the server's stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct TeamError {
    pub code: ErrorCode,
    pub message: String,
    pub holder: Option<String>,
    pub since_ms: Option<u64>,
    pub current: Option<Box<ConversationRecord>>,
}

impl TeamError {
    fn new(code: ErrorCode, message: impl Into<String>) -> TeamError {
        TeamError {
            code,
            message: message.into(),
            holder: None,
            since_ms: None,
            current: None,
        }
    }

    fn disconnected() -> TeamError {
        TeamError::new(ErrorCode::Disconnected, "not connected to the team server")
    }
}

impl From<ErrorFrame> for TeamError {
    fn from(frame: ErrorFrame) -> TeamError {
        TeamError {
            code: frame.code,
            message: frame.message,
            holder: frame.holder,
            since_ms: frame.since_ms,
            current: frame.current,
        }
    }
}

/// What the client reports, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamEvent {
    /// A welcome: what follows is either `Snapshot` or the missed `Change`s.
    Connected {
        server: String,
        mode: Mode,
        seq: u64,
        resumed: bool,
    },
    /// Every conversation's state, replacing what the listener knew.
    Snapshot(Vec<ConversationRecord>),
    Change(Event),
    /// A note version the server accepted (missed ones follow a resuming `Connected`).
    Note(NoteEvent),
    /// Everyone's activity at connection time, replacing what the listener knew.
    PresenceSnapshot(Vec<PresenceEntry>),
    Presence(PresenceEntry),
    /// The server cannot be reached: the connection dropped, or the first attempts since
    /// the last connection failed (told once until it connects again); the client keeps
    /// trying by itself.
    Disconnected {
        reason: String,
    },
    /// The server refused the member (wrong secret, not a member, …); the client stopped.
    Refused {
        code: ErrorCode,
        message: String,
    },
}

/// Whether the client is connected, for a status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientState {
    Connecting,
    Connected,
    Stopped { code: ErrorCode, message: String },
}

enum Command {
    Change {
        conversation: String,
        action: WireAction,
        expect: Option<u64>,
        reply: oneshot::Sender<Result<u64, TeamError>>,
    },
    Note {
        version: NoteMessage,
        reply: oneshot::Sender<Result<u64, TeamError>>,
    },
    Presence {
        conversation: String,
        mark: OwnMark,
    },
    History {
        conversation: String,
        reply: oneshot::Sender<Result<ConversationHistory, TeamError>>,
    },
    Resync,
}

/// A conversation's changes as the server logged them, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationHistory {
    pub events: Vec<Event>,
    /// They go back to the conversation's first change (the server keeps the newest).
    pub complete: bool,
}

/// The last event seen, in the store it came from.
#[derive(Debug, Clone, Default)]
struct Cursor {
    epoch: Option<String>,
    seq: Option<u64>,
}

/// A connection to the team server that keeps itself up.
pub struct TeamClient {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<TeamEvent>,
    state: watch::Receiver<ClientState>,
    cursor: Arc<Mutex<Cursor>>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Events a slow listener may fall behind before it sees `Lagged` (and should `resync`).
const EVENT_CAPACITY: usize = 8192;
/// The largest frame the client accepts: a snapshot of a big mailbox is one frame.
const MAX_INCOMING: usize = 64 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

impl TeamClient {
    /// Starts the client; the receiver gets every event from the first connection on.
    pub fn start(options: ClientOptions) -> (TeamClient, broadcast::Receiver<TeamEvent>) {
        let (events, first) = broadcast::channel(EVENT_CAPACITY);
        let (commands, queue) = mpsc::channel(256);
        let (state_tx, state) = watch::channel(ClientState::Connecting);
        let cursor = Arc::new(Mutex::new(match &options.resume {
            Some((epoch, seq)) => Cursor {
                epoch: Some(epoch.clone()),
                seq: Some(*seq),
            },
            None => Cursor::default(),
        }));
        let cancel = CancellationToken::new();
        let worker = Worker {
            options,
            events: events.clone(),
            state: state_tx,
            cursor: cursor.clone(),
            cancel: cancel.clone(),
            queue,
            presence: BTreeMap::new(),
            next_id: 0,
        };
        let task = tokio::spawn(worker.run());
        (
            TeamClient {
                commands,
                events,
                state,
                cursor,
                cancel,
                task: Some(task),
            },
            first,
        )
    }

    pub fn subscribe(&self) -> broadcast::Receiver<TeamEvent> {
        self.events.subscribe()
    }

    pub fn state(&self) -> ClientState {
        self.state.borrow().clone()
    }

    /// Waits until connected; fails when the server refused the member or time ran out.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), TeamError> {
        let mut state = self.state.clone();
        let waited = tokio::time::timeout(
            timeout,
            state.wait_for(|s| !matches!(s, ClientState::Connecting)),
        )
        .await;
        match waited {
            Err(_) => Err(TeamError::new(ErrorCode::Timeout, "not connected in time")),
            Ok(Err(_)) => Err(TeamError::disconnected()),
            Ok(Ok(state)) => match &*state {
                ClientState::Connected => Ok(()),
                ClientState::Stopped { code, message } => Err(TeamError::new(*code, message)),
                ClientState::Connecting => Err(TeamError::disconnected()),
            },
        }
    }

    /// The store epoch and last seq seen, to keep for [`ClientOptions::resume`].
    pub fn cursor(&self) -> Option<(String, u64)> {
        let cursor = self.cursor.lock().unwrap_or_else(|p| p.into_inner());
        cursor.epoch.clone().zip(cursor.seq)
    }

    /// The last seq seen (the welcome's or an event's).
    pub fn last_seq(&self) -> Option<u64> {
        self.cursor.lock().unwrap_or_else(|p| p.into_inner()).seq
    }

    /// Asks for a change; `Ok(seq)` once the server stored it.
    pub async fn change(
        &self,
        conversation: &str,
        action: &Action,
        expect: Option<u64>,
    ) -> Result<u64, TeamError> {
        self.ask(|reply| Command::Change {
            conversation: conversation.to_owned(),
            action: WireAction::from(action),
            expect,
            reply,
        })
        .await
    }

    /// Submits a note version; `Ok(seq)` once the server carried it out and stored it.
    /// The server makes this member its author, whatever `version.author` says.
    pub async fn note(&self, version: &NoteMessage) -> Result<u64, TeamError> {
        self.ask(|reply| Command::Note {
            version: version.clone(),
            reply,
        })
        .await
    }

    /// The changes the server logged for a conversation: who claimed, handed over,
    /// released or set a status, and when.
    pub async fn history(&self, conversation: &str) -> Result<ConversationHistory, TeamError> {
        self.ask(|reply| Command::History {
            conversation: conversation.to_owned(),
            reply,
        })
        .await
    }

    /// Hands the connection task a request and waits for its answer; `disconnected`
    /// when the task is gone.
    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, TeamError>>) -> Command,
    ) -> Result<T, TeamError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| TeamError::disconnected())?;
        answer
            .await
            .unwrap_or_else(|_| Err(TeamError::disconnected()))
    }

    /// Tells the team what this member is doing with a conversation (`None` to stop).
    pub async fn presence(&self, conversation: &str, activity: Activity) {
        self.mark(conversation, OwnMark::of(activity)).await;
    }

    /// Tells the team what this member is doing with a conversation, a reply on its way
    /// included (`Activity::None` to stop).
    pub async fn mark(&self, conversation: &str, mark: OwnMark) {
        let _ = self
            .commands
            .send(Command::Presence {
                conversation: conversation.to_owned(),
                mark,
            })
            .await;
    }

    /// Reconnects and asks for a snapshot: for a listener that lagged behind.
    pub async fn resync(&self) {
        let _ = self.commands.send(Command::Resync).await;
    }

    /// Cancels the connection without waiting: requests in flight hear `disconnected`.
    /// For a holder that cannot take the client to [`shutdown`](Self::shutdown) it.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Cancels the connection and waits for the task, aborting it after a grace period.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(3), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }

    /// Exchanges an invite code for the member's secret (one connection, then closed).
    pub async fn redeem(
        url: &str,
        trust: &Trust,
        mailbox: &str,
        member: &str,
        invite: &str,
    ) -> Result<String, TeamError> {
        let mut ws = open(url, trust).await?;
        let frame = ClientFrame::Redeem {
            version: PROTOCOL.to_owned(),
            mailbox: mailbox.to_owned(),
            member: member.to_owned(),
            invite: invite.to_owned(),
        };
        send(&mut ws, &frame).await?;
        let answer = first_frame(&mut ws).await;
        let _ = ws.close(None).await;
        match answer? {
            ServerFrame::Redeemed { secret } => Ok(secret),
            ServerFrame::Error(error) => Err(error.into()),
            other => Err(TeamError::new(
                ErrorCode::BadFrame,
                format!("unexpected answer to redeem: {other:?}"),
            )),
        }
    }
}

impl Drop for TeamClient {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type Socket = WebSocketStream<Box<dyn Io>>;
/// Requests sent and not answered yet, by id, with their deadline.
type Pending = HashMap<String, (Waiting, tokio::time::Instant)>;

/// Who waits for a request's answer.
enum Waiting {
    /// A change or a note: `ok` with the seq it was logged under.
    Seq(oneshot::Sender<Result<u64, TeamError>>),
    History(oneshot::Sender<Result<ConversationHistory, TeamError>>),
}

impl Waiting {
    fn fail(self, error: TeamError) {
        match self {
            Waiting::Seq(reply) => {
                let _ = reply.send(Err(error));
            }
            Waiting::History(reply) => {
                let _ = reply.send(Err(error));
            }
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Connects TCP, TLS (for `wss`) and WebSocket.
async fn open(url: &str, trust: &Trust) -> Result<Socket, TeamError> {
    let settings = |m: String| TeamError::new(ErrorCode::BadFrame, m);
    let uri: Uri = url
        .parse()
        .map_err(|_| settings(format!("{url:?} is not a valid address")))?;
    let host = uri
        .host()
        .ok_or_else(|| settings(format!("{url:?} names no host")))?
        .to_owned();
    let secure = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") if is_loopback(&host) => false,
        Some("ws") => {
            return Err(settings(
                "plain ws:// is only for a server on this computer; use wss://".into(),
            ));
        }
        _ => {
            return Err(settings(format!(
                "{url:?} is not a ws:// or wss:// address"
            )));
        }
    };
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let bare_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let lost = |e: std::io::Error| TeamError::new(ErrorCode::Disconnected, e.to_string());
    let tcp = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((bare_host.as_str(), port)),
    )
    .await
    .map_err(|_| TeamError::new(ErrorCode::Timeout, "connecting took too long"))?
    .map_err(lost)?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Io> = if secure {
        let config = match trust {
            Trust::Pinned(fingerprint) => pinned_client_config(fingerprint),
            Trust::System => crate::imap::tls::client_config(None),
        }
        .map_err(|p| TeamError::new(ErrorCode::BadFrame, p.message))?;
        let name = ServerName::try_from(bare_host.clone())
            .map_err(|_| settings(format!("{host:?} is not a valid server name")))?;
        let tls = tokio::time::timeout(
            CONNECT_TIMEOUT,
            TlsConnector::from(config).connect(name, tcp),
        )
        .await
        .map_err(|_| TeamError::new(ErrorCode::Timeout, "the TLS handshake took too long"))?
        .map_err(|e| {
            TeamError::new(
                ErrorCode::Disconnected,
                format!("TLS failed (is the fingerprint right?): {e}"),
            )
        })?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let config = WebSocketConfig::default()
        // tungstenite zeroes this much before every socket read: with the default
        // 128 KiB that, not the events, was most of the fan-out's cost.
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(MAX_INCOMING))
        .max_frame_size(Some(MAX_INCOMING));
    let (ws, _) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)),
    )
    .await
    .map_err(|_| TeamError::new(ErrorCode::Timeout, "the WebSocket handshake took too long"))?
    .map_err(|e| TeamError::new(ErrorCode::Disconnected, e.to_string()))?;
    Ok(ws)
}

async fn send(ws: &mut Socket, frame: &ClientFrame) -> Result<(), TeamError> {
    let text = serde_json::to_string(frame)
        .map_err(|e| TeamError::new(ErrorCode::BadFrame, e.to_string()))?;
    ws.send(Message::Text(Utf8Bytes::from(text)))
        .await
        .map_err(|e| TeamError::new(ErrorCode::Disconnected, e.to_string()))
}

fn parse(text: &str) -> Result<ServerFrame, TeamError> {
    serde_json::from_str(text).map_err(|e| {
        TeamError::new(
            ErrorCode::BadFrame,
            format!("the server sent something unreadable: {e}"),
        )
    })
}

/// The server's first answer (welcome, redeemed or an error).
async fn first_frame(ws: &mut Socket) -> Result<ServerFrame, TeamError> {
    loop {
        let next = tokio::time::timeout(CONNECT_TIMEOUT, ws.next())
            .await
            .map_err(|_| TeamError::new(ErrorCode::Timeout, "no answer to the hello"))?;
        match next {
            Some(Ok(Message::Text(text))) => return parse(&text),
            Some(Ok(Message::Close(_))) | None => return Err(TeamError::disconnected()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(TeamError::new(ErrorCode::Disconnected, e.to_string())),
        }
    }
}

/// Refusals that reconnecting cannot fix.
fn fatal(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::BadSecret
            | ErrorCode::WrongMailbox
            | ErrorCode::Version
            | ErrorCode::InvalidMember
            | ErrorCode::Unauthenticated
    )
}

fn backoff(options: &ClientOptions, failures: u32) -> Duration {
    let exponential = options
        .reconnect_min
        .saturating_mul(1u32 << failures.min(16));
    let capped = exponential.min(options.reconnect_max);
    // Between half and all of it, so a team's desktops do not all knock at once.
    capped.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// How a session ended.
enum End {
    Stop,
    Reconnect { reason: String, resync: bool },
}

/// What this member is doing with a conversation, as the client keeps it. A reply's
/// leaving time is this computer's clock; it travels as the time left, counted again at
/// every send (a reconnect too), so nobody's clock has to agree with ours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnMark {
    pub activity: Activity,
    /// With `Sending`: when the reply leaves (milliseconds since the epoch, this
    /// computer's clock); `None` while it is handed over.
    pub leaves_at: Option<i64>,
    pub message_id: Option<String>,
}

impl OwnMark {
    pub fn of(activity: Activity) -> OwnMark {
        OwnMark {
            activity,
            ..OwnMark::default()
        }
    }

    fn frame(&self, conversation: &str) -> ClientFrame {
        let now = super::members::now_ms() as i64;
        ClientFrame::Presence {
            id: None,
            mailbox: None,
            conversation: conversation.to_owned(),
            activity: self.activity,
            leaves_in_ms: self
                .leaves_at
                .map(|at| u64::try_from(at - now).unwrap_or(0).min(MAX_LEAVES_IN_MS)),
            message_id: self.message_id.clone(),
        }
    }
}

struct Worker {
    options: ClientOptions,
    events: broadcast::Sender<TeamEvent>,
    state: watch::Sender<ClientState>,
    cursor: Arc<Mutex<Cursor>>,
    cancel: CancellationToken,
    queue: mpsc::Receiver<Command>,
    /// What this member is doing, sent again after every reconnect.
    presence: BTreeMap<String, OwnMark>,
    next_id: u64,
}

impl Worker {
    fn emit(&self, event: TeamEvent) {
        let _ = self.events.send(event);
    }

    fn cursor(&self) -> std::sync::MutexGuard<'_, Cursor> {
        self.cursor.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn run(mut self) {
        let mut failures = 0u32;
        // Whether listeners heard the server is down since the last connection (the end
        // of a session always tells them): a server that never answered is "offline,
        // retrying", not "connecting" for ever.
        let mut down_told = false;
        loop {
            if self.cancel.is_cancelled() {
                return;
            }
            let cancel = self.cancel.clone();
            let connected = tokio::select! {
                _ = cancel.cancelled() => return,
                connected = self.connect() => connected,
            };
            let reason = match connected {
                Ok((ws, welcome)) => {
                    failures = 0;
                    match self.session(ws, welcome).await {
                        End::Stop => return,
                        End::Reconnect { reason, resync } => {
                            if resync {
                                *self.cursor() = Cursor::default();
                            }
                            self.state.send_replace(ClientState::Connecting);
                            self.emit(TeamEvent::Disconnected {
                                reason: reason.clone(),
                            });
                            down_told = true;
                            if resync {
                                continue;
                            }
                            reason
                        }
                    }
                }
                Err(error) if fatal(error.code) => {
                    tracing::warn!(code = ?error.code, message = %error.message, "the team server refused us");
                    self.state.send_replace(ClientState::Stopped {
                        code: error.code,
                        message: error.message.clone(),
                    });
                    self.emit(TeamEvent::Refused {
                        code: error.code,
                        message: error.message,
                    });
                    self.idle_until_cancelled().await;
                    return;
                }
                Err(error) => {
                    if !down_told {
                        self.emit(TeamEvent::Disconnected {
                            reason: error.message.clone(),
                        });
                        down_told = true;
                    }
                    error.message
                }
            };
            let wait = backoff(&self.options, failures);
            failures = failures.saturating_add(1);
            tracing::debug!(%reason, ?wait, "team server connection down; retrying");
            let until = tokio::time::Instant::now() + wait;
            loop {
                tokio::select! {
                    _ = self.cancel.cancelled() => return,
                    _ = tokio::time::sleep_until(until) => break,
                    command = self.queue.recv() => match command {
                        None => return,
                        Some(command) => self.offline(command),
                    },
                }
            }
        }
    }

    /// Answers commands while there is no connection.
    fn offline(&mut self, command: Command) {
        match command {
            Command::Change { reply, .. } | Command::Note { reply, .. } => {
                let _ = reply.send(Err(TeamError::disconnected()));
            }
            Command::History { reply, .. } => {
                let _ = reply.send(Err(TeamError::disconnected()));
            }
            Command::Presence { conversation, mark } => self.remember(conversation, mark),
            Command::Resync => *self.cursor() = Cursor::default(),
        }
    }

    fn remember(&mut self, conversation: String, mark: OwnMark) {
        if mark.activity == Activity::None {
            self.presence.remove(&conversation);
        } else {
            self.presence.insert(conversation, mark);
        }
    }

    async fn idle_until_cancelled(&mut self) {
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                command = self.queue.recv() => match command {
                    None => return,
                    Some(command) => self.offline(command),
                },
            }
        }
    }

    async fn connect(&mut self) -> Result<(Socket, Welcome), TeamError> {
        let mut ws = open(&self.options.url, &self.options.trust).await?;
        let cursor = self.cursor().clone();
        let hello = ClientFrame::Hello {
            version: PROTOCOL.to_owned(),
            mailbox: self.options.mailbox.clone(),
            member: self.options.member.clone(),
            secret: self.options.secret.clone(),
            last_seq: cursor.seq,
            epoch: cursor.epoch,
        };
        send(&mut ws, &hello).await?;
        match first_frame(&mut ws).await? {
            ServerFrame::Welcome(welcome) => Ok((ws, welcome)),
            ServerFrame::Error(error) => Err(error.into()),
            other => Err(TeamError::new(
                ErrorCode::BadFrame,
                format!("unexpected answer to hello: {other:?}"),
            )),
        }
    }

    async fn session(&mut self, mut ws: Socket, welcome: Welcome) -> End {
        let resumed = welcome.resume.is_some();
        {
            let mut cursor = self.cursor();
            cursor.epoch = Some(welcome.epoch.clone());
            cursor.seq = Some(welcome.seq);
        }
        self.state.send_replace(ClientState::Connected);
        self.emit(TeamEvent::Connected {
            server: welcome.server,
            mode: welcome.mode,
            seq: welcome.seq,
            resumed,
        });
        if let Some(snapshot) = welcome.snapshot {
            self.emit(TeamEvent::Snapshot(snapshot));
        }
        for event in welcome.resume.unwrap_or_default() {
            self.emit(TeamEvent::Change(event));
        }
        for note in welcome.notes {
            self.emit(TeamEvent::Note(note));
        }
        self.emit(TeamEvent::PresenceSnapshot(welcome.presence));
        let remembered: Vec<ClientFrame> = self
            .presence
            .iter()
            .map(|(conversation, mark)| mark.frame(conversation))
            .collect();
        for frame in remembered {
            if let Err(e) = send(&mut ws, &frame).await {
                return End::Reconnect {
                    reason: e.message,
                    resync: false,
                };
            }
        }

        let mut pending = Pending::new();
        let heartbeat = self.options.heartbeat;
        let mut ticks = tokio::time::interval(heartbeat);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = tokio::time::Instant::now();
        let end = loop {
            tokio::select! {
                _ = self.cancel.cancelled() => {
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                    break End::Stop;
                }
                _ = ticks.tick() => {
                    let now = tokio::time::Instant::now();
                    if now.duration_since(last_heard) > heartbeat * 3 {
                        break End::Reconnect { reason: "the team server stopped answering".into(), resync: false };
                    }
                    let expired: Vec<String> = pending
                        .iter()
                        .filter(|(_, (_, deadline))| *deadline <= now)
                        .map(|(id, _)| id.clone())
                        .collect();
                    for id in expired {
                        if let Some((waiting, _)) = pending.remove(&id) {
                            waiting.fail(TeamError::new(ErrorCode::Timeout, "no answer in time"));
                        }
                    }
                    self.next_id += 1;
                    let ping = ClientFrame::Ping { id: Some(format!("p{}", self.next_id)) };
                    if let Err(e) = send(&mut ws, &ping).await {
                        break End::Reconnect { reason: e.message, resync: false };
                    }
                }
                command = self.queue.recv() => {
                    let Some(command) = command else { break End::Stop };
                    let sent = match command {
                        Command::Change { conversation, action, expect, reply } => {
                            self.next_id += 1;
                            let id = format!("c{}", self.next_id);
                            let frame = ClientFrame::Change { id: id.clone(), mailbox: None, conversation, action, expect };
                            self.request(&mut ws, &mut pending, id, &frame, Waiting::Seq(reply)).await
                        }
                        Command::Note { version, reply } => {
                            self.next_id += 1;
                            let id = format!("n{}", self.next_id);
                            let frame = ClientFrame::Note {
                                id: id.clone(),
                                mailbox: None,
                                about: version.about,
                                note: version.id,
                                action: version.action.into(),
                                text: version.text,
                                at: version.at,
                            };
                            self.request(&mut ws, &mut pending, id, &frame, Waiting::Seq(reply)).await
                        }
                        Command::History { conversation, reply } => {
                            self.next_id += 1;
                            let id = format!("h{}", self.next_id);
                            let frame = ClientFrame::History { id: id.clone(), mailbox: None, conversation };
                            self.request(&mut ws, &mut pending, id, &frame, Waiting::History(reply)).await
                        }
                        Command::Presence { conversation, mark } => {
                            let frame = mark.frame(&conversation);
                            self.remember(conversation, mark);
                            send(&mut ws, &frame).await
                        }
                        Command::Resync => {
                            let _ = ws.close(None).await;
                            break End::Reconnect { reason: "resync".into(), resync: true };
                        }
                    };
                    if let Err(e) = sent {
                        break End::Reconnect { reason: e.message, resync: false };
                    }
                }
                incoming = ws.next() => {
                    let text = match incoming {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None => break End::Reconnect { reason: "the team server closed the connection".into(), resync: false },
                        Some(Ok(_)) => { last_heard = tokio::time::Instant::now(); continue; }
                        Some(Err(e)) => break End::Reconnect { reason: e.to_string(), resync: false },
                    };
                    last_heard = tokio::time::Instant::now();
                    match parse(&text) {
                        Ok(frame) => {
                            if let Some(end) = self.received(frame, &mut pending) {
                                break end;
                            }
                        }
                        Err(e) => tracing::warn!(message = %e.message, "unreadable frame from the team server"),
                    }
                }
            }
        };
        for (_, (waiting, _)) in pending.drain() {
            waiting.fail(TeamError::disconnected());
        }
        end
    }

    /// Sends a request that is answered (`ok`, `history`) or refused (`error`); who
    /// waits for it waits in `pending` until then (or the deadline), and hears
    /// `disconnected` when it could not be sent.
    async fn request(
        &self,
        ws: &mut Socket,
        pending: &mut Pending,
        id: String,
        frame: &ClientFrame,
        waiting: Waiting,
    ) -> Result<(), TeamError> {
        let sent = send(ws, frame).await;
        match &sent {
            Ok(()) => {
                let deadline = tokio::time::Instant::now() + self.options.request_timeout;
                pending.insert(id, (waiting, deadline));
            }
            Err(_) => waiting.fail(TeamError::disconnected()),
        }
        sent
    }

    fn received(&mut self, frame: ServerFrame, pending: &mut Pending) -> Option<End> {
        match frame {
            ServerFrame::Ok { id, seq } => match pending.remove(&id) {
                Some((Waiting::Seq(reply), _)) => {
                    let _ = reply.send(Ok(seq));
                }
                Some((other, _)) => other.fail(TeamError::new(
                    ErrorCode::BadFrame,
                    "the team server answered ok to a question",
                )),
                None => {}
            },
            ServerFrame::History {
                id,
                events,
                complete,
            } => match pending.remove(&id) {
                Some((Waiting::History(reply), _)) => {
                    let _ = reply.send(Ok(ConversationHistory { events, complete }));
                }
                Some((other, _)) => other.fail(TeamError::new(
                    ErrorCode::BadFrame,
                    "the team server answered a change with a history",
                )),
                None => {}
            },
            ServerFrame::Error(error) => {
                match error.id.as_ref().and_then(|id| pending.remove(id)) {
                    Some((waiting, _)) => waiting.fail(error.into()),
                    None => {
                        tracing::warn!(code = ?error.code, message = %error.message, "the team server reported a problem");
                        if matches!(
                            error.code,
                            ErrorCode::Lagged | ErrorCode::ShuttingDown | ErrorCode::Timeout
                        ) {
                            return Some(End::Reconnect {
                                reason: error.message,
                                resync: false,
                            });
                        }
                    }
                }
            }
            ServerFrame::Event(event) => {
                {
                    let mut cursor = self.cursor();
                    if cursor.seq.is_none_or(|seq| event.seq > seq) {
                        cursor.seq = Some(event.seq);
                    }
                }
                self.emit(TeamEvent::Change(event));
            }
            ServerFrame::Note(note) => {
                {
                    let mut cursor = self.cursor();
                    if cursor.seq.is_none_or(|seq| note.seq > seq) {
                        cursor.seq = Some(note.seq);
                    }
                }
                self.emit(TeamEvent::Note(note));
            }
            ServerFrame::Presence(entry) => self.emit(TeamEvent::Presence(entry)),
            ServerFrame::Batch { frames } => {
                for frame in frames {
                    if let Some(end) = self.received(frame, pending) {
                        return Some(end);
                    }
                }
            }
            ServerFrame::Pong { .. } | ServerFrame::Welcome(_) | ServerFrame::Redeemed { .. } => {}
        }
        None
    }
}
