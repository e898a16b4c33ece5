//! Which replies colleagues must see on their way: the outbox's entries as the team
//! server's "sending" presence.

use std::collections::BTreeMap;

use super::OutboxStatus;
use super::store::Entry;
use crate::conversation::ConversationId;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::store::tests::entry;
    use crate::outbox::{SendFailure, SendFailureKind};

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
