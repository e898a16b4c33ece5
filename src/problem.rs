//! Problems the engine reports to people: a stable code the UI branches on and
//! translates, plus the English text for logs and the server's own words when it gave any.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Stable codes. The UI maps each to plain words in every language it speaks; never
/// branch on `Problem::message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// The server refused the user name or password.
    AuthFailed,
    /// The host name did not resolve or nothing answered on the port.
    Unreachable,
    /// The connection attempt took too long.
    Timeout,
    /// The TLS handshake failed (certificate not trusted, wrong name, protocol mismatch).
    TlsFailed,
    /// STARTTLS was configured but the server does not offer it.
    StartTlsUnavailable,
    /// The server answered something that is not valid IMAP, or closed the connection.
    ProtocolError,
    /// The server does not offer something Baton needs (for example IMAP4rev1).
    ServerUnsupported,
    /// The server refused a command (NO/BAD) for one item.
    ServerRefused,
    /// The connection dropped.
    ConnectionLost,
    /// The account settings are incomplete or invalid.
    InvalidSettings,
    /// No password is stored for this account in the OS credential store.
    PasswordMissing,
    /// The OS credential store could not be used.
    CredentialStoreFailed,
    /// A message could not be parsed; the raw message is still available.
    MessageUnreadable,
    /// A message is larger than Baton shows inline.
    MessageTooLarge,
    /// The message no longer exists on the server.
    MessageGone,
    /// The local cache could not be read or written.
    CacheFailed,
    /// Writing a file (for example a saved attachment) failed.
    FileFailed,
    /// The requested conversation, message or attachment does not exist.
    NotFound,
    /// The engine is shutting down.
    ShuttingDown,
    /// A link from a mail was not opened: only web and e-mail links are.
    LinkRefused,
    /// A colleague holds the conversation (`holder`), or changed it at the same moment.
    ClaimConflict,
    /// Only the holder of the conversation may do this.
    NotHolder,
    /// A member id is not valid (`[a-z0-9][a-z0-9._-]{0,31}`).
    InvalidMember,
    /// The mail server cannot store the team's state as keywords (Microsoft 365) and no
    /// team server is connected.
    TeamStateUnavailable,
    /// A recipient address cannot be used (the detail names it).
    InvalidRecipient,
    /// A message to send has no recipient.
    NoRecipients,
    /// The message is no longer in the outbox's undo window (it is being sent or sent).
    TooLateToUndo,
}

/// Something that went wrong, in a form the UI can show and translate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct Problem {
    pub code: ProblemCode,
    /// English, for logs and as a fallback; the UI shows its own text for `code`.
    pub message: String,
    /// What the server or the operating system said, when there is something, shown
    /// under "details".
    pub detail: Option<String>,
    /// The colleague a claim conflict is about.
    pub holder: Option<String>,
    /// Since when `holder` holds the conversation (milliseconds since the epoch), when
    /// known.
    pub held_since: Option<i64>,
}

impl Problem {
    pub fn new(code: ProblemCode, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
            detail: None,
            holder: None,
            held_since: None,
        }
    }

    /// A conversation held (or just changed) by a colleague.
    pub fn conflict(holder: Option<String>, held_since: Option<i64>) -> Self {
        let message = match &holder {
            Some(member) => format!("the conversation is held by {member}"),
            None => "a colleague changed the conversation at the same moment".to_owned(),
        };
        Problem {
            holder,
            held_since,
            ..Problem::new(ProblemCode::ClaimConflict, message)
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

pub type Result<T, E = Problem> = std::result::Result<T, E>;

/// Runs `work` on a blocking thread (parsing, disk, the OS keychain). Should that thread
/// panic, the caller gets a problem with `code` and `message` instead of a crash.
pub async fn blocking<T, F>(code: ProblemCode, message: &str, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Problem::new(code, message).with_detail(e.to_string()))
}
