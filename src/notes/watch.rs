//! What deserves a notification, and what belongs in a conversation's history, from the
//! rows before and after a change. Pure: the engine keeps the rows it saw last and feeds
//! every change through here.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::contract::Status;
use crate::conversation::{ConversationId, ConversationSummary};

/// What the engine remembers of a row between changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowSeen {
    pub owner: Option<String>,
    pub status: Status,
    pub count: u32,
}

impl RowSeen {
    pub fn of(row: &ConversationSummary) -> RowSeen {
        RowSeen {
            owner: row.owner.clone(),
            status: row.status,
            count: row.message_count,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// New mail that nobody holds.
    NewUnassigned,
    /// A colleague handed a conversation to this member.
    HandedToMe,
    /// A note names this member.
    Mentioned,
    /// The customer wrote again in a conversation this member holds.
    CustomerReplied,
}

/// A notification for the window (which shows it on the desktop in its language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Notification {
    pub kind: NotificationKind,
    pub conversation: ConversationId,
    pub subject: String,
    /// The customer, the colleague who handed over, or the note's author.
    pub who: String,
    /// The note's text or the mail's preview.
    pub text: String,
}

/// Which notifications this member wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct NotificationSettings {
    pub new_unassigned: bool,
    pub handed_to_me: bool,
    pub mentioned: bool,
    pub customer_replied: bool,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings {
            new_unassigned: true,
            handed_to_me: true,
            mentioned: true,
            customer_replied: true,
        }
    }
}

impl NotificationSettings {
    pub fn wants(&self, kind: NotificationKind) -> bool {
        match kind {
            NotificationKind::NewUnassigned => self.new_unassigned,
            NotificationKind::HandedToMe => self.handed_to_me,
            NotificationKind::Mentioned => self.mentioned,
            NotificationKind::CustomerReplied => self.customer_replied,
        }
    }
}

/// A change in who holds a conversation or where it stands, as this computer saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum TeamChange {
    Claimed { member: String },
    Released { member: String },
    HandedOver { from: String, to: String },
    Status { status: Status },
}

/// What a row's change means: notifications for `me`, and the team changes to record.
/// `mine` says this member made the change (no notification for one's own doing).
pub fn compare(
    before: Option<&RowSeen>,
    after: &ConversationSummary,
    me: &str,
    mine: bool,
) -> (Vec<NotificationKind>, Vec<TeamChange>) {
    let mut notify = Vec::new();
    let mut changes = Vec::new();
    let grew = before.is_none_or(|b| after.message_count > b.count);
    let customer_last = after.awaiting_reply;
    if grew && customer_last {
        match after.owner.as_deref() {
            None if after.status != Status::Done => notify.push(NotificationKind::NewUnassigned),
            Some(owner) if owner == me => notify.push(NotificationKind::CustomerReplied),
            _ => {}
        }
    }
    let Some(before) = before else {
        return (notify, changes);
    };
    if before.owner != after.owner {
        match (&before.owner, &after.owner) {
            (None, Some(member)) => changes.push(TeamChange::Claimed {
                member: member.clone(),
            }),
            (Some(member), None) => changes.push(TeamChange::Released {
                member: member.clone(),
            }),
            (Some(from), Some(to)) => changes.push(TeamChange::HandedOver {
                from: from.clone(),
                to: to.clone(),
            }),
            (None, None) => {}
        }
        if after.owner.as_deref() == Some(me) && before.owner.is_some() && !mine {
            notify.push(NotificationKind::HandedToMe);
        }
    }
    if before.status != after.status {
        changes.push(TeamChange::Status {
            status: after.status,
        });
    }
    (notify, changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Correspondent;

    fn row(owner: Option<&str>, count: u32, awaiting: bool, status: Status) -> ConversationSummary {
        ConversationSummary {
            id: ConversationId(1),
            subject: "s".into(),
            customer: Correspondent {
                name: "Jan".into(),
                address: "jan@x.nl".into(),
            },
            latest_at: 0,
            message_count: count,
            preview: String::new(),
            has_attachments: false,
            awaiting_reply: awaiting,
            owner: owner.map(str::to_owned),
            status,
            has_notes: false,
        }
    }

    #[test]
    fn new_mail_nobody_holds_and_customer_replies_on_mine() {
        let new = row(None, 1, true, Status::Open);
        assert_eq!(
            compare(None, &new, "anna", false).0,
            [NotificationKind::NewUnassigned]
        );
        let before = RowSeen::of(&row(Some("anna"), 2, false, Status::Waiting));
        let after = row(Some("anna"), 3, true, Status::Open);
        let (notify, changes) = compare(Some(&before), &after, "anna", false);
        assert_eq!(notify, [NotificationKind::CustomerReplied]);
        assert_eq!(
            changes,
            [TeamChange::Status {
                status: Status::Open
            }]
        );
        // Our own reply growing the conversation is nothing to announce.
        let after = row(Some("anna"), 3, false, Status::Waiting);
        assert!(compare(Some(&before), &after, "anna", false).0.is_empty());
    }

    #[test]
    fn hand_over_to_me_is_announced_unless_i_took_it() {
        let before = RowSeen::of(&row(Some("bram"), 1, false, Status::Open));
        let after = row(Some("anna"), 1, false, Status::Open);
        let (notify, changes) = compare(Some(&before), &after, "anna", false);
        assert_eq!(notify, [NotificationKind::HandedToMe]);
        assert_eq!(
            changes,
            [TeamChange::HandedOver {
                from: "bram".into(),
                to: "anna".into()
            }]
        );
        assert!(compare(Some(&before), &after, "anna", true).0.is_empty());
        let free = RowSeen::of(&row(None, 1, false, Status::Open));
        let (notify, changes) = compare(Some(&free), &after, "anna", false);
        assert!(
            notify.is_empty(),
            "a claim from the free pool is no hand-over"
        );
        assert_eq!(
            changes,
            [TeamChange::Claimed {
                member: "anna".into()
            }]
        );
    }
}
