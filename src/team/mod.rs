//! What the window knows about the team besides the mail: the link to the team server
//! and who is looking at or answering which conversation.

pub mod authority;
pub mod host;
pub mod link;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::problem::Problem;

// The team as the window sees it crosses IPC and travels in the engine's events, so it
// is defined with the other such types; here is its home for everyone else.
pub use crate::conversation::{
    Activity, Presence, PresenceOn, TeamOverview, TeamServerState, TeamStateHome,
};

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
