//! What the window knows about the team besides the mail: the link to the team server
//! and who is looking at or answering which conversation.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::conversation::ConversationId;
use crate::problem::Problem;

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
}

/// One colleague's presence on a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Presence {
    pub member: String,
    pub activity: Activity,
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
}

/// Presence on the conversations that have any, for the list's avatars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PresenceOn {
    pub id: ConversationId,
    pub present: Vec<Presence>,
}
