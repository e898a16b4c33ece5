//! The outbox: messages on their way out. Each is written to disk (and synced) before
//! the window hears "queued", and every step of its way is recorded before it is taken,
//! so a crash at any point resumes without losing the message or sending it twice.

pub mod outgoing;
pub mod policy;
pub mod smtp;
pub mod store;
pub mod worker;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::compose::{GuardFinding, GuardReport};
use crate::conversation::{ConversationId, MessageKey};

/// One message in the outbox, as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OutboxItem {
    /// The draft's id: "undo" turns the item back into that draft.
    pub id: String,
    pub message_id: String,
    pub conversation: Option<ConversationId>,
    /// The message answered, which gets the answered flag once this is sent.
    pub replying_to: Option<MessageKey>,
    pub subject: String,
    /// Every envelope recipient (To, Cc and Bcc).
    pub recipients: Vec<String>,
    pub status: OutboxStatus,
    #[ts(type = "number")]
    pub queued_at: i64,
    /// SMTP does not start before this: the end of the undo window, or "send later".
    #[ts(type = "number")]
    pub send_at: i64,
    /// SMTP attempts made so far.
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for `send_at` (undo window or send later).
    Queued,
    /// Being handed to the SMTP server.
    Sending,
    /// A temporary failure; tried again at `next_at`.
    Retrying {
        #[ts(type = "number")]
        next_at: i64,
        failure: SendFailure,
    },
    /// The connection broke after the message was handed over: it may have left.
    /// Baton looked in the Sent folder and did not find it, and does not send again on
    /// its own; the member decides.
    Unknown { failure: SendFailure },
    /// The server refused the message for good.
    Failed { failure: SendFailure },
    /// Held back before it left: the last check before sending found what the member
    /// did not know when they pressed Send (a colleague's reply sent or on its way, the
    /// customer writing again, a colleague holding the conversation). Nothing leaves
    /// until the member chooses: send anyway, edit, or discard.
    Held {
        findings: Vec<crate::compose::GuardFinding>,
    },
    Sent {
        #[ts(type = "number")]
        at: i64,
        /// A copy is in the shared Sent folder.
        sent_copy: bool,
    },
}

impl OutboxStatus {
    /// Still on its way: the outbox task has work to do for it.
    pub fn pending(&self) -> bool {
        matches!(
            self,
            OutboxStatus::Queued | OutboxStatus::Sending | OutboxStatus::Retrying { .. }
        )
    }
}

/// How a send is asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SendOptions {
    /// Send later: milliseconds since the epoch. `None`: now (after the undo window).
    #[ts(type = "number | null")]
    pub send_at: Option<i64>,
    /// The member saw these findings and sends anyway; a finding not among them still
    /// stops the send.
    pub despite: Vec<GuardFinding>,
}

/// The answer to a send: held back by the guard (still a draft), in the outbox, or in
/// the outbox but held because a colleague got the claim first (the item says who).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SendOutcome {
    Guarded { report: GuardReport },
    Queued { item: OutboxItem },
    Held { item: OutboxItem },
}

/// Why a send did not (or may not have) worked, for plain words in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SendFailure {
    pub kind: SendFailureKind,
    /// The SMTP server's host name.
    pub server: String,
    /// The server's reply code and text, when it answered.
    pub code: Option<u16>,
    pub server_text: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SendFailureKind {
    /// Nothing answered, or the connection could not be made.
    Unreachable,
    /// The connection broke before the message was handed over.
    ConnectionLost,
    /// The connection broke (or timed out) after the message was handed over, before
    /// the server confirmed it.
    ConnectionLostAfterData,
    TlsFailed,
    /// The server refused the login.
    AuthFailed,
    /// The server said "not now" (4xx).
    TemporarilyRefused,
    /// The server refused the sender or a recipient for good (5xx).
    RecipientRefused,
    /// The server refused the message itself for good (5xx), for example as spam or too
    /// large.
    MessageRefused,
    /// The message could not be built (an attachment vanished, an address is invalid).
    Invalid,
    /// No password stored for sending.
    PasswordMissing,
    /// The last check before sending could not read the conversation (the mailbox or
    /// the team server did not answer in time), so the message waits rather than leave
    /// unchecked.
    CheckFailed,
}
