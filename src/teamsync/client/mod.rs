//! The desktop's side of the team server: one owned task per connection that connects,
//! says hello with the last seq it saw, keeps the connection alive with heartbeats, and
//! reconnects with jittered backoff when it drops. Nothing here knows about Tauri.
//!
//! Changes are not queued across a dropped connection: a change either gets its answer
//! or fails with `disconnected`, and the engine then applies the contract straight to
//! IMAP (the serverless mode). Presence is remembered and sent again after a reconnect,
//! because it describes what the member is doing now.

pub mod handle;
mod socket;
mod worker;

use std::time::Duration;

use tokio::sync::oneshot;

use crate::notes::message::NoteMessage;
use crate::teamsync::protocol::{
    Activity, ClientFrame, ConversationRecord, ErrorCode, ErrorFrame, Event, MAX_LEAVES_IN_MS,
    Mode, NoteEvent, PresenceEntry, WireAction,
};

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
    pub fn new(code: ErrorCode, message: impl Into<String>) -> TeamError {
        TeamError {
            code,
            message: message.into(),
            holder: None,
            since_ms: None,
            current: None,
        }
    }

    pub(super) fn disconnected() -> TeamError {
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

pub(super) enum Command {
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
    pub(super) epoch: Option<String>,
    pub(super) seq: Option<u64>,
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

    pub(super) fn frame(&self, conversation: &str) -> ClientFrame {
        let now = crate::teamsync::members::now_ms() as i64;
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
