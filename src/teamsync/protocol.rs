//! The wire protocol between Baton desktops and `baton-sync`: JSON over WebSocket, one
//! message per text frame, each an object with a `type` field.
//!
//! Frames from clients are parsed strictly (unknown fields and unknown types are refused
//! with a stable error code) because they come from the network; frames from the server
//! are parsed leniently by the client, so a newer server can add fields without breaking
//! older desktops.
//!
//! # Client → server
//!
//! The first frame must be `hello` or `redeem`; the server answers anything else with
//! `error {code: "unauthenticated"}` and closes.
//!
//! ```json
//! {"type":"hello","version":"baton/1","mailbox":"support","member":"anna",
//!  "secret":"…","last_seq":41,"epoch":"9f…"}
//! {"type":"redeem","version":"baton/1","mailbox":"support","member":"anna","invite":"…"}
//! {"type":"change","id":"c1","conversation":"<root@example>","action":{"kind":"claim"},"expect":3}
//! {"type":"presence","conversation":"<root@example>","activity":"replying"}
//! {"type":"presence","conversation":"<root@example>","activity":"sending",
//!  "leaves_in_ms":8000,"message_id":"r1@example"}
//! {"type":"note","id":"n1","about":"root@example","note":"0123456789abcdef",
//!  "action":"add","text":"@bram see the invoice","at":1767225600000}
//! {"type":"ping","id":"p1"}
//! ```
//!
//! - `last_seq`/`epoch` (both optional) are the last event the client saw and the store
//!   it came from: with both, the welcome carries the missed events; otherwise a snapshot.
//! - `action` is `{"kind":"claim"}`, `{"kind":"release"}`, `{"kind":"hand_over","to":"bram"}`
//!   or `{"kind":"set_status","status":"open"|"waiting"|"done"}`.
//! - `expect` is the conversation `version` the member last saw (compare-and-set); `null`
//!   or absent judges on the current state with the contract's rules only.
//! - `change` and `presence` may name their `mailbox`; when it is not the mailbox of the
//!   hello, the answer is `wrong_mailbox` (the server checks every request).
//! - `id` is chosen by the client (at most 64 characters) and echoed in the answer.
//! - `note` submits one version of an internal note: `about` is the conversation root's
//!   Message-ID without brackets, `note` the note's id (16 hex digits), `action` `add`,
//!   `edit` or `delete`, `text` at most 16 KiB, `at` the author's clock in milliseconds.
//!   The author is the authenticated member; only the author may edit or delete. It is
//!   answered `ok` with the seq of its `note` event, or `invalid_note` / `not_holder`.
//!
//! # Server → client
//!
//! ```json
//! {"type":"welcome","server":"baton-sync 0.1.0","protocol":"baton/1","mailbox":"support",
//!  "member":"anna","epoch":"9f…","seq":44,"mode":"store","presence":[…],
//!  "resume":[{event}, …]}                       // or "snapshot":[{conversation record}, …]
//! {"type":"redeemed","secret":"…"}
//! {"type":"ok","id":"c1","seq":45}
//! {"type":"error","id":"c1","code":"conflict","message":"anna holds this conversation (claimed 3 s ago)",
//!  "holder":"anna","since_ms":3012,"current":{conversation record}}
//! {"type":"event","seq":45,"conversation":"…","owner":"anna","status":"open","version":4,
//!  "by":"anna","at_ms":1767225600000}
//! {"type":"note","seq":46,"about":"root@example","note":"0123456789abcdef","author":"anna",
//!  "action":"add","text":"…","at":1767225600000}
//! {"type":"presence","member":"bram","conversation":"…","activity":"viewing"}
//! {"type":"presence","member":"anna","conversation":"…","activity":"sending",
//!  "leaves_in_ms":7950,"message_id":"r1@example","turn":12}
//! {"type":"pong","id":"p1"}
//! {"type":"batch","frames":[{"type":"event",…},{"type":"presence",…}]}
//! ```
//!
//! - Events and presence that queued up for a connection while it was being written to
//!   arrive as one `batch` of frames, in order; a client handles them one by one.
//! - Every accepted change gets the mailbox's next `seq`; it is on disk before the `ok`
//!   is sent, and every member connected to the mailbox (the sender too) gets the
//!   `event`. `ok.seq` is the seq of the change, or the current seq when nothing had to
//!   change (claiming what one already holds).
//! - A `note` event is in the same numbered, durable log as changes: a welcome that
//!   resumes carries the missed ones in `notes`; after a snapshot the client reads the
//!   notes folder again (the mailbox holds every note, so no snapshot of them is sent).
//! - A conversation record is `{conversation, owner, status, version, by, at_ms}`: who
//!   made the last change and when (milliseconds since the epoch). `version` grows by one
//!   per change of that conversation.
//! - Presence `activity` is `viewing`, `replying`, `sending` or `none` (gone); it is per
//!   member and conversation, the strongest over the member's connections. `sending`
//!   says a reply is in the member's outbox, from the moment it is queued until its copy
//!   is in Sent: `leaves_in_ms` is how long until it leaves (absent while it is handed
//!   to the mail server), `message_id` is its Message-ID (so a colleague's guard knows
//!   its copy in Sent as the same reply), and the server numbers each reply it hears of
//!   with a `turn` — the same order for every member, whatever their clocks say, which
//!   decides whose reply goes first when two are on their way at once. Times travel as
//!   durations, never as clock readings, so a skewed clock cannot shift them. A presence frame is not
//!   answered with `ok` (only errors carry its `id`); its broadcast reaches the sender too.
//! - `redeem` is answered with `redeemed` (or `bad_invite`) and the connection is closed;
//!   the client then says hello with the secret.
//! - Frames over the limit in rate are dropped; a dropped request with an `id` is answered
//!   `rate_limited`, so no client waits for an answer that will not come.
//! - Error codes are stable (see [`ErrorCode`]); `message` is plain English for logs.

use serde::{Deserialize, Serialize};

use crate::contract::{Action, Status};
use crate::notes::MAX_NOTE;
use crate::notes::message::{Action as NoteVerb, NoteMessage};

/// The protocol version a client names in its hello.
pub const PROTOCOL: &str = "baton/1";
/// The longest request id a client may choose.
pub const MAX_ID_LEN: usize = 64;
/// The longest conversation id (a Message-ID is at most 998 octets in a header line, but
/// real ones are far shorter; the bound keeps the store and the fan-out small).
pub const MAX_CONVERSATION_LEN: usize = 512;

/// Frames a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    Hello {
        version: String,
        mailbox: String,
        member: String,
        secret: String,
        #[serde(default)]
        last_seq: Option<u64>,
        #[serde(default)]
        epoch: Option<String>,
    },
    /// Exchanges a one-time invite code for the member's secret.
    Redeem {
        version: String,
        mailbox: String,
        member: String,
        invite: String,
    },
    Change {
        id: String,
        #[serde(default)]
        mailbox: Option<String>,
        conversation: String,
        action: WireAction,
        #[serde(default)]
        expect: Option<u64>,
    },
    Presence {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        mailbox: Option<String>,
        conversation: String,
        activity: Activity,
        /// With `sending`: milliseconds until the reply leaves.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leaves_in_ms: Option<u64>,
        /// With `sending`: the reply's Message-ID, without brackets.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
    },
    /// One version of an internal note; the author is whoever said hello.
    Note {
        id: String,
        #[serde(default)]
        mailbox: Option<String>,
        about: String,
        note: String,
        action: NoteAction,
        #[serde(default)]
        text: String,
        at: i64,
    },
    /// Asks for a conversation's changes (who claimed, handed over, released, set a
    /// status, and when), answered by a `history` frame.
    History {
        id: String,
        #[serde(default)]
        mailbox: Option<String>,
        conversation: String,
    },
    Ping {
        #[serde(default)]
        id: Option<String>,
    },
}

/// The `type` values a client may send; anything else is `unknown_type` rather than
/// `bad_frame`, so a client speaking a newer protocol learns what it is.
pub const CLIENT_TYPES: &[&str] = &[
    "hello", "redeem", "change", "presence", "note", "history", "ping",
];

/// What a note version does, as it travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteAction {
    Add,
    Edit,
    Delete,
}

impl From<NoteAction> for NoteVerb {
    fn from(action: NoteAction) -> NoteVerb {
        match action {
            NoteAction::Add => NoteVerb::Add,
            NoteAction::Edit => NoteVerb::Edit,
            NoteAction::Delete => NoteVerb::Delete,
        }
    }
}

impl From<NoteVerb> for NoteAction {
    fn from(action: NoteVerb) -> NoteAction {
        match action {
            NoteVerb::Add => NoteAction::Add,
            NoteVerb::Edit => NoteAction::Edit,
            NoteVerb::Delete => NoteAction::Delete,
        }
    }
}

/// An accepted note version, numbered in the mailbox's order like changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteEvent {
    pub seq: u64,
    pub about: String,
    pub note: String,
    /// The member who submitted it, as the server authenticated them.
    pub author: String,
    pub action: NoteAction,
    pub text: String,
    pub at: i64,
}

impl NoteEvent {
    /// The version as the notes folder stores it.
    pub fn version(&self) -> NoteMessage {
        NoteMessage {
            id: self.note.clone(),
            about: self.about.clone(),
            author: self.author.clone(),
            action: self.action.into(),
            at: self.at,
            text: self.text.clone(),
        }
    }
}

/// An action of the contract as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WireAction {
    Claim,
    Release,
    HandOver { to: String },
    SetStatus { status: Status },
}

impl From<WireAction> for Action {
    fn from(action: WireAction) -> Action {
        match action {
            WireAction::Claim => Action::Claim,
            WireAction::Release => Action::Release,
            WireAction::HandOver { to } => Action::HandOver { to },
            WireAction::SetStatus { status } => Action::SetStatus(status),
        }
    }
}

impl From<&Action> for WireAction {
    fn from(action: &Action) -> WireAction {
        match action {
            Action::Claim => WireAction::Claim,
            Action::Release => WireAction::Release,
            Action::HandOver { to } => WireAction::HandOver { to: to.clone() },
            Action::SetStatus(status) => WireAction::SetStatus { status: *status },
        }
    }
}

/// What a member is doing with a conversation, for the duplicate-reply guard; later
/// variants are stronger (a member's connections show their strongest).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    #[default]
    None,
    Viewing,
    Replying,
    /// A reply is in the member's outbox: queued, being sent, or being filed in Sent.
    Sending,
}

/// What a connection says about one conversation: its activity and, while a reply is on
/// its way, when it leaves and its Message-ID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mark {
    pub activity: Activity,
    pub leaves_in_ms: Option<u64>,
    pub message_id: Option<String>,
}

impl Mark {
    pub fn of(activity: Activity) -> Mark {
        Mark {
            activity,
            ..Mark::default()
        }
    }
}

/// The longest a queued reply may say it waits (send later is bounded by this).
pub const MAX_LEAVES_IN_MS: u64 = 400 * 24 * 3600 * 1000;

/// Why a presence mark is refused: the extras belong to `sending` only, and the
/// Message-ID must be one (it is compared with the Sent folder's).
pub fn mark_problem(mark: &Mark) -> Option<&'static str> {
    let sending = mark.activity == Activity::Sending;
    if !sending && (mark.leaves_in_ms.is_some() || mark.message_id.is_some()) {
        Some("leaves_in_ms and message_id belong to the sending activity")
    } else if mark.leaves_in_ms.is_some_and(|ms| ms > MAX_LEAVES_IN_MS) {
        Some("leaves_in_ms is too far away")
    } else if mark
        .message_id
        .as_deref()
        .is_some_and(|id| crate::compose::build::checked_id(id).is_err())
    {
        Some("message_id is a Message-ID (local@domain, no brackets or controls)")
    } else {
        None
    }
}

/// How the server decides changes: its own store, or the mailbox's IMAP keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The mailbox's keywords are the truth; the server is their single writer.
    Imap,
    /// The server's store is the truth (servers without custom keywords).
    Store,
}

/// A conversation's team state as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationRecord {
    pub conversation: String,
    pub owner: Option<String>,
    pub status: Status,
    /// Grows by one with every change of this conversation.
    pub version: u64,
    /// Who made the last change (for a change made outside Baton: the owner it left).
    pub by: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The change was made outside Baton (a plain IMAP client set the keywords) and the
    /// server saw it in the mailbox: `by` is a guess then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside: bool,
}

/// An accepted change, numbered in the mailbox's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    #[serde(flatten)]
    pub record: ConversationRecord,
}

/// Someone's activity on a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceEntry {
    pub member: String,
    pub conversation: String,
    pub activity: Activity,
    /// With `sending`: milliseconds until the reply leaves, counted when this frame was
    /// made; absent while it is being handed over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaves_in_ms: Option<u64>,
    /// With `sending`: the reply's Message-ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// With `sending`: the order in which the server heard of replies on their way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u64>,
}

/// Frames the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Welcome(Welcome),
    Redeemed {
        secret: String,
    },
    Ok {
        id: String,
        seq: u64,
    },
    Error(ErrorFrame),
    Event(Event),
    Note(NoteEvent),
    Presence(PresenceEntry),
    /// The answer to `history`: the conversation's changes, oldest first; `complete`
    /// when they go back to its first (the server keeps the newest ones).
    History {
        id: String,
        events: Vec<Event>,
        complete: bool,
    },
    Pong {
        #[serde(default)]
        id: Option<String>,
    },
    /// Several frames in one, in order: what queued up for a connection while it was
    /// being written to (under load, one frame per event costs more than the events).
    Batch {
        frames: Vec<ServerFrame>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    pub server: String,
    pub protocol: String,
    pub mailbox: String,
    pub member: String,
    /// The store's identity: a `last_seq` is only meaningful with the same epoch.
    pub epoch: String,
    /// The mailbox's latest seq; events after the welcome are numbered above it.
    pub seq: u64,
    pub mode: Mode,
    /// Everyone's current activity.
    #[serde(default)]
    pub presence: Vec<PresenceEntry>,
    /// The events after the client's `last_seq`, when the log still has them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Vec<Event>>,
    /// Every conversation with team state, when the client cannot resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Vec<ConversationRecord>>,
    /// The note events after the client's `last_seq`, when resuming; after a snapshot
    /// the client reads the notes folder instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<NoteEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    pub id: Option<String>,
    pub code: ErrorCode,
    pub message: String,
    /// Who holds the conversation, on `conflict` and `not_holder`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// How long ago the conversation last changed, on `conflict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<u64>,
    /// The conversation as it stands, when a change was refused because of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Box<ConversationRecord>>,
}

impl ErrorFrame {
    pub fn new(id: Option<String>, code: ErrorCode, message: impl Into<String>) -> ErrorFrame {
        ErrorFrame {
            id,
            code,
            message: message.into(),
            holder: None,
            since_ms: None,
            current: None,
        }
    }
}

/// Stable error codes: clients branch on these, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The first frame was not a hello or redeem. The connection is closed.
    Unauthenticated,
    /// Unknown member or wrong secret. The connection is closed.
    BadSecret,
    /// The invite code is wrong, used or expired. The connection is closed.
    BadInvite,
    /// The member does not belong to that mailbox, or the mailbox does not exist.
    WrongMailbox,
    /// The protocol version is not spoken here. The connection is closed.
    Version,
    /// Not JSON, or not a valid frame of its type.
    BadFrame,
    /// A frame larger than the server accepts. The connection is closed.
    TooLarge,
    /// Too many frames too fast; they are dropped, and a sustained flood is closed.
    RateLimited,
    /// A `type` this server does not know.
    UnknownType,
    /// Someone else holds the conversation, or it changed since the version expected.
    Conflict,
    /// Only the holder may do that.
    NotHolder,
    /// A member id is not valid.
    InvalidMember,
    /// A conversation id is empty, too long or has control characters.
    InvalidConversation,
    /// A note version is malformed (its id, the Message-ID it is about, its text's
    /// length) or names a note that does not exist.
    InvalidNote,
    /// The authority could not be reached (for example the IMAP server is down).
    Unavailable,
    /// The server could not write its store; the change was not made.
    StoreFailed,
    /// The connection fell too far behind the mailbox's events; reconnect to resume.
    Lagged,
    /// Nothing arrived in time (hello, or heartbeats). The connection is closed.
    Timeout,
    /// The server is shutting down.
    ShuttingDown,
    /// Client side only: not connected to the server, so the request was not sent or its
    /// answer was lost.
    Disconnected,
}

/// A conversation id the store accepts: not empty, bounded, printable.
pub fn valid_conversation(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_CONVERSATION_LEN && !id.chars().any(char::is_control)
}

/// A client-chosen request id: bounded and printable, so it can be echoed and logged.
pub fn valid_request_id(id: &str) -> bool {
    id.len() <= MAX_ID_LEN && !id.chars().any(char::is_control)
}

/// Why a submitted note version is refused, before anything is written: the id is 16 hex
/// digits, `about` a bare Message-ID (it goes into a header), the text bounded.
pub fn note_problem(about: &str, note: &str, text: &str, at: i64) -> Option<String> {
    if note.len() != 16 || !note.chars().all(|c| c.is_ascii_hexdigit()) {
        Some("a note id is 16 hexadecimal digits".to_owned())
    } else if crate::compose::build::checked_id(about).is_err() {
        Some("a note is about a Message-ID (local@domain, no brackets or controls)".to_owned())
    } else if text.len() > MAX_NOTE {
        Some(format!("a note is at most {MAX_NOTE} bytes"))
    } else if at <= 0 {
        Some("a note's time is milliseconds since the epoch".to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_holds_frames_in_order() {
        let text = r#"{"type":"batch","frames":[
            {"type":"event","seq":7,"conversation":"c","owner":"anna","status":"open","version":2,"by":"anna","at_ms":1},
            {"type":"presence","member":"bram","conversation":"c","activity":"viewing"}]}"#;
        let ServerFrame::Batch { frames } = serde_json::from_str(text).expect("parses") else {
            panic!("not a batch");
        };
        assert!(
            matches!(&frames[0], ServerFrame::Event(e) if e.seq == 7 && e.record.owner.as_deref() == Some("anna"))
        );
        assert!(matches!(&frames[1], ServerFrame::Presence(p) if p.member == "bram"));
    }

    #[test]
    fn client_frames_parse_strictly() {
        let hello: ClientFrame = serde_json::from_str(
            r#"{"type":"hello","version":"baton/1","mailbox":"support","member":"anna","secret":"s","last_seq":null}"#,
        )
        .expect("hello");
        assert!(matches!(hello, ClientFrame::Hello { last_seq: None, .. }));
        let change: ClientFrame = serde_json::from_str(
            r#"{"type":"change","id":"1","conversation":"c","action":{"kind":"set_status","status":"waiting"},"expect":3}"#,
        )
        .expect("change");
        assert_eq!(
            change,
            ClientFrame::Change {
                id: "1".into(),
                mailbox: None,
                conversation: "c".into(),
                action: WireAction::SetStatus {
                    status: Status::Waiting
                },
                expect: Some(3),
            }
        );
        for bad in [
            r#"{"type":"ping","id":"1","extra":true}"#,
            r#"{"type":"change","id":"1","conversation":"c","action":{"kind":"steal"}}"#,
            r#"{"type":"change","id":"1","conversation":"c","action":{"kind":"hand_over"}}"#,
            r#"{"type":"presence","conversation":"c","activity":"typing"}"#,
        ] {
            assert!(serde_json::from_str::<ClientFrame>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn events_are_flat() {
        let event = ServerFrame::Event(Event {
            seq: 7,
            record: ConversationRecord {
                conversation: "c".into(),
                owner: Some("anna".into()),
                status: Status::Open,
                version: 2,
                by: "anna".into(),
                at_ms: 5,
                outside: false,
            },
        });
        let text = serde_json::to_string(&event).expect("json");
        assert_eq!(
            text,
            r#"{"type":"event","seq":7,"conversation":"c","owner":"anna","status":"open","version":2,"by":"anna","at_ms":5}"#
        );
        assert_eq!(
            serde_json::from_str::<ServerFrame>(&text).expect("back"),
            event
        );
    }

    #[test]
    fn identifiers() {
        assert!(valid_conversation("<a@b>"));
        assert!(!valid_conversation(""));
        assert!(!valid_conversation("a\r\nb"));
        assert!(!valid_conversation(&"x".repeat(MAX_CONVERSATION_LEN + 1)));
        assert!(valid_request_id(""));
        assert!(!valid_request_id(&"x".repeat(65)));
    }
}
