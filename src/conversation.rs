//! What the conversation list and the reading pane show. These types cross the IPC
//! boundary; their TypeScript twins are generated (see `bindings`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::contract::Status;
use crate::problem::Problem;

/// A conversation's id: stable while the conversation exists. Conversations merge when a
/// message links two of them; the merged one keeps the older id. It travels as a string
/// because JavaScript numbers cannot hold every u64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, TS)]
#[ts(type = "string")]
pub struct ConversationId(pub u64);

impl Serialize for ConversationId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ConversationId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map(ConversationId)
            .map_err(serde::de::Error::custom)
    }
}

/// Where a message lives on the server. The UID is only meaningful with its folder's
/// UIDVALIDITY, so all three travel together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct MessageKey {
    pub folder: String,
    pub uid_validity: u32,
    pub uid: u32,
}

/// What a member can do with a conversation's baton, as the window asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TeamAction {
    Claim,
    Release,
    HandOver { to: String },
    SetStatus { status: Status },
}

impl From<TeamAction> for crate::contract::Action {
    fn from(action: TeamAction) -> Self {
        use crate::contract::Action;
        match action {
            TeamAction::Claim => Action::Claim,
            TeamAction::Release => Action::Release,
            TeamAction::HandOver { to } => Action::HandOver { to },
            TeamAction::SetStatus { status } => Action::SetStatus(status),
        }
    }
}

/// The lists in the sidebar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Open conversations in the inbox that nobody holds: what needs someone.
    Unassigned,
    /// Conversations this member holds that are not done.
    Mine,
    /// Conversations someone holds that are not done, grouped by who holds them.
    Team,
    /// Waiting on the customer.
    Waiting,
    Done,
    /// Every conversation that reached the inbox.
    All,
    /// Conversations the team wrote in (a message in the Sent folder).
    Sent,
}

/// What a folder is for, from SPECIAL-USE (RFC 6154) or, failing that, its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FolderRole {
    Inbox,
    Sent,
    Drafts,
    Trash,
    Junk,
    Archive,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Correspondent {
    /// The display name, or empty when the mail gave none.
    pub name: String,
    pub address: String,
}

/// One row of the conversation list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConversationSummary {
    pub id: ConversationId,
    pub subject: String,
    /// The person the team talks to: the sender of the latest message that did not come
    /// from the shared address.
    pub customer: Correspondent,
    /// Milliseconds since the Unix epoch of the newest message.
    #[ts(type = "number")]
    pub latest_at: i64,
    pub message_count: u32,
    /// The start of the newest message's text, when known.
    pub preview: String,
    pub has_attachments: bool,
    /// The newest message came from the customer and no reply is known yet.
    pub awaiting_reply: bool,
    /// The member who holds the conversation.
    pub owner: Option<String>,
    pub status: Status,
    pub has_notes: bool,
}

/// A window of a view's rows, newest first. `total` lets a virtualized list size itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConversationPage {
    pub view: View,
    pub total: u32,
    pub offset: u32,
    pub rows: Vec<ConversationSummary>,
}

/// A message as the reading pane lists it before its body is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MessageSummary {
    pub key: MessageKey,
    pub role: FolderRole,
    /// Sent from the shared address: the team's own message, wherever it is stored.
    pub from_team: bool,
    pub from: Correspondent,
    pub to: Vec<Correspondent>,
    pub cc: Vec<Correspondent>,
    pub subject: String,
    /// Milliseconds since the Unix epoch.
    #[ts(type = "number")]
    pub date: i64,
    pub size: u32,
    pub preview: String,
    pub answered: bool,
    pub flagged: bool,
    /// Set when the headers could not be read; the rest of the message list is fine.
    pub problem: Option<Problem>,
}

/// The whole conversation for the reading pane, oldest message first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConversationDetail {
    pub id: ConversationId,
    pub subject: String,
    pub messages: Vec<MessageSummary>,
    /// The member who holds the conversation.
    pub owner: Option<String>,
    pub status: Status,
    /// Since when `owner` holds it (milliseconds since the epoch), when this client saw
    /// it happen.
    pub held_since: Option<i64>,
}

// ---- The team on a conversation, as the window shows it (see `team`) ----

/// The link to the team server, as the status bar shows it. Claims and status work in
/// every state (on IMAP when there is no server); presence needs the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TeamServerState {
    /// No team server is configured: claims go straight to the mailbox.
    NotConfigured,
    Connecting,
    /// Connected. `authoritative` when the team server, not the mailbox, holds who owns
    /// what (mail servers without custom keywords, such as Microsoft 365).
    Online {
        authoritative: bool,
    },
    /// Not reachable; claims still work on the mailbox, live presence is paused.
    Offline {
        problem: Problem,
        retry_in_secs: Option<u32>,
    },
}

/// Where the mailbox keeps the team's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TeamStateHome {
    /// Not known yet (not connected).
    Unknown,
    /// IMAP keywords on the messages.
    Keywords,
    /// The mail server cannot keep keywords; the team server holds the state.
    TeamServer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Viewing,
    Replying,
    /// A reply is in the colleague's outbox: waiting out the undo window (or send
    /// later), being sent, or being filed in Sent. Their guard counts it as given.
    Sending,
}

/// One colleague's presence on a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Presence {
    pub member: String,
    pub activity: Activity,
    /// With `Sending`: when the reply leaves, on this computer's clock (milliseconds);
    /// `None` while it is being handed to the mail server.
    #[ts(type = "number | null")]
    pub leaves_at: Option<i64>,
    /// With `Sending`: the reply's Message-ID, so its copy in Sent is known as the same
    /// reply.
    #[serde(skip)]
    #[ts(skip)]
    pub message_id: Option<String>,
    /// With `Sending`: the team server's order of replies on their way (smaller came
    /// first), the same on every computer.
    #[serde(skip)]
    #[ts(skip)]
    pub turn: Option<u64>,
}

/// Everything the window shows about the team at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TeamOverview {
    /// This member.
    pub me: String,
    /// Colleagues known to use Baton on this mailbox, this member included.
    pub members: Vec<String>,
    pub server: TeamServerState,
    pub state_home: TeamStateHome,
    /// This computer hosts the team server (inside the app).
    pub hosting: bool,
}

/// Presence on the conversations that have any, for the list's avatars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PresenceOn {
    pub id: ConversationId,
    pub present: Vec<Presence>,
}
