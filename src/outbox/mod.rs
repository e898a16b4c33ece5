//! The outbox: messages on their way out. Each is written to disk (and synced) before
//! the window hears "queued", and every step of its way is recorded before it is taken,
//! so a crash at any point resumes without losing the message or sending it twice.

pub mod policy;
pub mod smtp;
pub mod store;
pub mod worker;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::compose::{GuardFinding, GuardReport};
use crate::conversation::{ConversationId, MessageKey};
use store::Entry;

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

/// A reply on its way out of this computer, as colleagues see it ("sending").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// When it leaves (the end of the undo window, send later, the next retry); `None`
    /// while it is handed to the mail server or filed in Sent.
    pub leaves_at: Option<i64>,
    pub message_id: String,
}

/// The replies colleagues must know are on their way, per conversation: from the moment
/// one is queued until its copy is in Sent (and the answered flag is set), because until
/// then nothing in the mailbox says it was given. Held, failed and undecided messages
/// are not on their way. Of two on one conversation, the one leaving first.
pub fn outgoing(entries: &[Entry]) -> BTreeMap<ConversationId, Outgoing> {
    let mut out: BTreeMap<ConversationId, Outgoing> = BTreeMap::new();
    for entry in entries {
        let Some(conversation) = entry.item.conversation else {
            continue;
        };
        let leaves_at = match &entry.item.status {
            OutboxStatus::Queued => Some(entry.item.send_at),
            OutboxStatus::Retrying { next_at, .. } => Some(*next_at),
            OutboxStatus::Sending => None,
            OutboxStatus::Sent { .. } if !(entry.after.sent_copy && entry.after.answered) => None,
            _ => continue,
        };
        let this = Outgoing {
            leaves_at,
            message_id: entry.item.message_id.clone(),
        };
        match out.get(&conversation) {
            Some(first)
                if first
                    .leaves_at
                    .is_none_or(|f| leaves_at.is_some_and(|l| l >= f)) => {}
            _ => {
                out.insert(conversation, this);
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::store::tests::entry;

    #[test]
    fn colleagues_see_a_reply_on_its_way_until_its_copy_is_filed() {
        let queued = entry("00000000000000a1", 10, OutboxStatus::Queued);
        let out = outgoing(std::slice::from_ref(&queued));
        assert_eq!(
            out.get(&ConversationId(7)),
            Some(&Outgoing {
                leaves_at: Some(10_010),
                message_id: "00000000000000a1@acme.test".into(),
            })
        );
        let mut sending = queued.clone();
        sending.item.status = OutboxStatus::Sending;
        assert_eq!(
            outgoing(&[sending.clone()])[&ConversationId(7)].leaves_at,
            None
        );
        // Sent, but not yet in Sent: still on its way for colleagues.
        let mut sent = sending.clone();
        sent.item.status = OutboxStatus::Sent {
            at: 1,
            sent_copy: false,
        };
        assert!(outgoing(&[sent.clone()]).contains_key(&ConversationId(7)));
        sent.after.sent_copy = true;
        sent.after.answered = true;
        assert!(outgoing(&[sent]).is_empty());
        // Held, failed or undecided: not on its way.
        let failure = SendFailure {
            kind: SendFailureKind::MessageRefused,
            server: String::new(),
            code: None,
            server_text: None,
        };
        for status in [
            OutboxStatus::Held {
                findings: Vec::new(),
            },
            OutboxStatus::Failed {
                failure: failure.clone(),
            },
            OutboxStatus::Unknown { failure },
        ] {
            let mut e = queued.clone();
            e.item.status = status;
            assert!(outgoing(&[e]).is_empty());
        }
    }

    #[test]
    fn of_two_replies_on_one_conversation_the_one_leaving_first_shows() {
        let later = entry("00000000000000a1", 50, OutboxStatus::Queued);
        let sooner = entry("00000000000000b2", 20, OutboxStatus::Queued);
        let out = outgoing(&[later.clone(), sooner]);
        assert_eq!(
            out[&ConversationId(7)].message_id,
            "00000000000000b2@acme.test"
        );
        let mut now = later;
        now.item.status = OutboxStatus::Sending;
        let out = outgoing(&[entry("00000000000000b2", 20, OutboxStatus::Queued), now]);
        assert_eq!(out[&ConversationId(7)].leaves_at, None);
    }
}
