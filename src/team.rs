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

/// How this member reaches the team server. The member's secret is in the OS credential
/// store, not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TeamServerSettings {
    /// `wss://host:port/`, or `ws://` on this computer only.
    pub url: String,
    /// SHA-256 fingerprint of a self-signed server certificate, as the host shows it;
    /// `None` trusts the system's certificate authorities.
    pub fingerprint: Option<String>,
    /// The shared mailbox's id on the server.
    pub mailbox: String,
}

impl TeamServerSettings {
    pub fn validate(&self) -> crate::problem::Result<()> {
        use crate::problem::ProblemCode;
        let invalid = |m: &str| Problem::new(ProblemCode::InvalidSettings, m);
        let loopback = ["ws://127.0.0.1:", "ws://localhost:", "ws://[::1]:"];
        if !(self.url.starts_with("wss://") || loopback.iter().any(|p| self.url.starts_with(p))) {
            return Err(invalid(
                "the team server address must start with wss:// (ws:// only on this computer)",
            ));
        }
        if self.url.len() > 512 || self.url.chars().any(|c| c.is_control() || c == ' ') {
            return Err(invalid("the team server address is not valid"));
        }
        if let Some(fingerprint) = &self.fingerprint
            && crate::teamsync::tls::parse_fingerprint(fingerprint).is_none()
        {
            return Err(invalid(
                "the fingerprint is 64 hexadecimal digits (colons allowed)",
            ));
        }
        crate::account::validate_member_id(&self.mailbox)
            .map_err(|_| invalid("the mailbox id on the team server is not valid"))
    }

    /// Where the member's secret for this server is kept in the credential store.
    pub fn credential_key(&self) -> String {
        format!("team/{}/{}", self.mailbox, self.url)
    }
}

/// This computer hosts the team server (inside the app) on `port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HostSettings {
    pub port: u16,
    /// Listen for colleagues on other computers (TLS with a self-signed certificate);
    /// otherwise only this computer can connect.
    pub open_to_network: bool,
}

/// What a colleague needs to join the hosted team server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TeamInvite {
    pub settings: TeamServerSettings,
    pub member: String,
    /// One-time code; it stops working once used.
    pub code: String,
}
