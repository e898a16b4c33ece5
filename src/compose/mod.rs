//! Writing mail: drafts, their recipients and threading headers, quoting, the outgoing
//! message, and the duplicate-reply guard's findings. Pure where it can be; the engine
//! (`engine/compose.rs`) wires it to the mailbox and the outbox.

pub mod address;
pub mod build;
pub mod drafts;
pub mod guard;
pub mod quote;
pub mod templates;

pub use guard::{GuardFinding, GuardReport};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::conversation::{ConversationId, MessageKey};

/// What a draft answers, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    Reply,
    ReplyAll,
    Forward,
    New,
}

/// A draft as the composer shows it. Recipients are the text the member types
/// (`Name <a@b.c>, d@e.f`); they are parsed and checked when saving and sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Draft {
    pub id: String,
    /// Given when the draft is created, so a send that may or may not have happened can
    /// be looked up in the Sent folder by it.
    pub message_id: String,
    pub kind: DraftKind,
    pub conversation: Option<ConversationId>,
    /// The message being answered or forwarded.
    pub source: Option<MessageKey>,
    pub to: String,
    pub cc: String,
    pub bcc: String,
    pub subject: String,
    /// Plain text: the member's words, the signature and, for replies, the quote.
    pub body: String,
    pub attachments: Vec<DraftAttachment>,
    /// Milliseconds since the epoch.
    #[ts(type = "number")]
    pub started_at: i64,
    #[ts(type = "number")]
    pub saved_at: i64,
    /// What the engine keeps for sending; the window never edits it.
    #[serde(default)]
    #[ts(skip)]
    pub threading: Threading,
    #[serde(default)]
    #[ts(skip)]
    pub baseline: Option<guard::Baseline>,
    /// When the draft was last copied to the Drafts folder (milliseconds).
    #[serde(default)]
    #[ts(skip)]
    pub server_copied_at: Option<i64>,
}

/// The headers that keep a reply in its thread, for every mail client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threading {
    /// Without angle brackets.
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// Outlook's Thread-Index for the reply, when the answered message had one.
    pub thread_index: Option<String>,
    pub thread_topic: Option<String>,
}

/// An attached file, copied into the draft's directory when added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DraftAttachment {
    pub id: String,
    pub name: String,
    pub mime_type: String,
    #[ts(type = "number")]
    pub size: u64,
}

/// What the window may change in a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DraftEdit {
    pub id: String,
    pub to: String,
    pub cc: String,
    pub bcc: String,
    pub subject: String,
    pub body: String,
}

/// How this member writes: kept in the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ComposeSettings {
    /// The member's own signature, below the mailbox's.
    pub signature: String,
    /// The name in From: `{name}` is the member's display name, for example
    /// "{name} from Acme Support". Empty: the display name alone.
    pub sender_name: String,
    /// Seconds a sent message waits in the outbox, during which "Undo" takes it back.
    pub undo_seconds: u32,
    /// Claim the conversation when a reply goes out and nobody holds it.
    pub claim_on_send: bool,
}

impl Default for ComposeSettings {
    fn default() -> Self {
        ComposeSettings {
            signature: String::new(),
            sender_name: String::new(),
            undo_seconds: 10,
            claim_on_send: true,
        }
    }
}

/// The longest undo window: longer is "send later".
pub const MAX_UNDO_SECONDS: u32 = 120;

/// A shared canned reply, or the mailbox's signature. Kept in the mailbox, so every
/// member (and every computer) has the same ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Template {
    pub id: String,
    pub kind: TemplateKind,
    pub name: String,
    /// Plain text with placeholders: {customer}, {customer_first}, {me}, {subject}.
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    CannedReply,
    MailboxSignature,
}
