//! What deserves a notification, and what belongs in a conversation's history, from the
//! rows before and after a change. Pure: the engine keeps the rows it saw last and feeds
//! every change through here.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::contract::{Action, Status};
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

/// A change in who holds a conversation or where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum TeamChange {
    Claimed { member: String },
    Released { member: String },
    HandedOver { from: String, to: String },
    Status { status: Status },
}

/// How long a change this member made counts as theirs when the row shows it.
pub const OWN_CHANGE_MS: i64 = 10_000;

/// What this computer remembers between changes: the rows as they looked, and what its
/// member did a moment ago (no "handed to you" for one's own doing, and the history
/// knows who made a change).
#[derive(Debug, Default)]
pub struct RowWatch {
    rows: std::collections::HashMap<ConversationId, RowSeen>,
    own: std::collections::HashMap<ConversationId, Vec<(i64, Action)>>,
    /// A pass over every row took them in.
    primed: bool,
}

/// What one pass over changed rows found.
#[derive(Debug, Default, PartialEq)]
pub struct Pass {
    /// For the member, in the order of the rows (what they chose to hear of).
    pub notifications: Vec<Notification>,
    /// Team changes to record in each conversation's history; `true` when this member
    /// made it.
    pub changes: Vec<(ConversationId, TeamChange, bool)>,
    /// A row that has notes changed: the notes folder is worth reading now.
    pub notes_news: bool,
}

impl RowWatch {
    /// Remembers that `me` is about to change conversation `id` with `action`.
    pub fn own_change(&mut self, id: ConversationId, action: Action, now: i64) {
        self.own.entry(id).or_default().push((now, action));
    }

    /// Compares `rows` with how they looked and remembers them. `full`: every row (at
    /// start, after a reconnect or a lag). The very first full pass only takes the rows
    /// in; a later one compares them like any other pass — a change that arrives with it
    /// is still a change.
    pub fn pass(
        &mut self,
        rows: Vec<ConversationSummary>,
        full: bool,
        me: &str,
        wanted: &NotificationSettings,
        now: i64,
    ) -> Pass {
        for actions in self.own.values_mut() {
            actions.retain(|(at, _)| now - *at < OWN_CHANGE_MS);
        }
        self.own.retain(|_, actions| !actions.is_empty());
        let taking_in = !self.primed;
        let mut pass = Pass::default();
        for row in rows {
            let before = self.rows.get(&row.id).cloned();
            pass.notes_news |= row.has_notes && !taking_in && !full;
            let own: Vec<Action> = self
                .own
                .get(&row.id)
                .map(|actions| actions.iter().map(|(_, a)| a.clone()).collect())
                .unwrap_or_default();
            let (notify, changes) = compare(before.as_ref(), &row, me, &own);
            if !taking_in {
                pass.changes
                    .extend(changes.into_iter().map(|(c, mine)| (row.id, c, mine)));
                for kind in notify.into_iter().filter(|k| wanted.wants(*k)) {
                    pass.notifications.push(Notification {
                        kind,
                        conversation: row.id,
                        subject: row.subject.clone(),
                        who: if kind == NotificationKind::HandedToMe {
                            before
                                .as_ref()
                                .and_then(|b| b.owner.clone())
                                .unwrap_or_default()
                        } else {
                            row.customer.name.clone()
                        },
                        text: row.preview.clone(),
                    });
                }
            }
            self.rows.insert(row.id, RowSeen::of(&row));
        }
        if full {
            self.primed = true;
        }
        pass
    }
}

/// What a row's change means: notifications for `me`, and the team changes to record,
/// each with whether `me` made it. `own` is what this member just did to the
/// conversation (no notification for one's own doing).
pub fn compare(
    before: Option<&RowSeen>,
    after: &ConversationSummary,
    me: &str,
    own: &[Action],
) -> (Vec<NotificationKind>, Vec<(TeamChange, bool)>) {
    let mut notify = Vec::new();
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
        return (notify, Vec::new());
    };
    let changes: Vec<(TeamChange, bool)> = changes_between(
        before.owner.as_deref(),
        before.status,
        after.owner.as_deref(),
        after.status,
    )
    .into_iter()
    .map(|change| {
        let mine = own.iter().any(|action| made_by(action, &change, me));
        (change, mine)
    })
    .collect();
    let handed_to_me = changes.iter().any(|(change, mine)| {
        matches!(change, TeamChange::HandedOver { to, .. } if to == me) && !mine
    });
    if handed_to_me {
        notify.push(NotificationKind::HandedToMe);
    }
    (notify, changes)
}

/// Whether `change` is what `action`, done by `me`, does (or one of its steps: on the
/// mailbox alone a hand-over is a release and a claim).
pub fn made_by(action: &Action, change: &TeamChange, me: &str) -> bool {
    match (action, change) {
        // A claim only takes what nobody holds.
        (Action::Claim, TeamChange::Claimed { member }) => member == me,
        (Action::Release, TeamChange::Released { .. }) => true,
        (Action::HandOver { to }, TeamChange::HandedOver { to: given, .. })
        | (Action::HandOver { to }, TeamChange::Claimed { member: given }) => given == to,
        (Action::HandOver { .. }, TeamChange::Released { .. }) => true,
        (Action::SetStatus(wanted), TeamChange::Status { status }) => wanted == status,
        _ => false,
    }
}

/// The team changes that lead from one owner and status to another.
pub fn changes_between(
    owner_before: Option<&str>,
    status_before: Status,
    owner: Option<&str>,
    status: Status,
) -> Vec<TeamChange> {
    let mut changes = Vec::new();
    match (owner_before, owner) {
        (None, Some(member)) => changes.push(TeamChange::Claimed {
            member: member.to_owned(),
        }),
        (Some(member), None) => changes.push(TeamChange::Released {
            member: member.to_owned(),
        }),
        (Some(from), Some(to)) if from != to => changes.push(TeamChange::HandedOver {
            from: from.to_owned(),
            to: to.to_owned(),
        }),
        _ => {}
    }
    if status_before != status {
        changes.push(TeamChange::Status { status });
    }
    changes
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
            compare(None, &new, "anna", &[]).0,
            [NotificationKind::NewUnassigned]
        );
        let before = RowSeen::of(&row(Some("anna"), 2, false, Status::Waiting));
        let after = row(Some("anna"), 3, true, Status::Open);
        let (notify, changes) = compare(Some(&before), &after, "anna", &[]);
        assert_eq!(notify, [NotificationKind::CustomerReplied]);
        assert_eq!(
            changes,
            [(
                TeamChange::Status {
                    status: Status::Open
                },
                false
            )]
        );
        // Our own reply growing the conversation is nothing to announce.
        let after = row(Some("anna"), 3, false, Status::Waiting);
        assert!(compare(Some(&before), &after, "anna", &[]).0.is_empty());
    }

    #[test]
    fn a_colleagues_hand_over_to_me_is_announced_a_claim_from_the_pool_is_not() {
        let before = RowSeen::of(&row(Some("bram"), 1, false, Status::Open));
        let after = row(Some("anna"), 1, false, Status::Open);
        let (notify, changes) = compare(Some(&before), &after, "anna", &[]);
        assert_eq!(notify, [NotificationKind::HandedToMe]);
        assert_eq!(
            changes,
            [(
                TeamChange::HandedOver {
                    from: "bram".into(),
                    to: "anna".into()
                },
                false
            )]
        );
        // Anna's claim a moment ago has nothing to do with it.
        let (notify, changes) = compare(Some(&before), &after, "anna", &[Action::Claim]);
        assert_eq!(notify, [NotificationKind::HandedToMe]);
        assert!(!changes[0].1);
        let free = RowSeen::of(&row(None, 1, false, Status::Open));
        let (notify, changes) = compare(Some(&free), &after, "anna", &[]);
        assert!(
            notify.is_empty(),
            "a claim from the free pool is no hand-over"
        );
        assert_eq!(
            changes,
            [(
                TeamChange::Claimed {
                    member: "anna".into()
                },
                false
            )]
        );
    }

    #[test]
    fn only_what_my_action_does_is_mine() {
        let claimed = |m: &str| TeamChange::Claimed { member: m.into() };
        let released = |m: &str| TeamChange::Released { member: m.into() };
        let done = TeamChange::Status {
            status: Status::Done,
        };
        let hand_to_bram = Action::HandOver { to: "bram".into() };
        assert!(made_by(&Action::Claim, &claimed("anna"), "anna"));
        let to_anna = TeamChange::HandedOver {
            from: "bram".into(),
            to: "anna".into(),
        };
        assert!(!made_by(&Action::Claim, &to_anna, "anna"));
        assert!(!made_by(&Action::Claim, &claimed("bram"), "anna"));
        // A hand-over on the mailbox alone: a release, then the colleague's claim.
        assert!(made_by(&hand_to_bram, &released("anna"), "anna"));
        assert!(made_by(&hand_to_bram, &claimed("bram"), "anna"));
        assert!(!made_by(&hand_to_bram, &claimed("chloe"), "anna"));
        // Someone else's status change right after my release is not mine.
        assert!(made_by(&Action::Release, &released("anna"), "anna"));
        assert!(!made_by(&Action::Release, &done, "anna"));
        assert!(made_by(&Action::SetStatus(Status::Done), &done, "anna"));
        assert!(!made_by(&Action::SetStatus(Status::Waiting), &done, "anna"));
    }

    #[test]
    fn a_pass_takes_rows_in_first_then_reports_changes_and_who_made_them() {
        let wanted = NotificationSettings::default();
        let mut watch = RowWatch::default();
        // The first full pass only takes the rows in: no notifications, no history.
        let first = watch.pass(
            vec![row(None, 1, true, Status::Open)],
            true,
            "anna",
            &wanted,
            0,
        );
        assert_eq!(first, Pass::default());
        // Bram claims it: recorded as someone else's change, nothing to notify anna.
        let claimed = watch.pass(
            vec![row(Some("bram"), 1, true, Status::Open)],
            false,
            "anna",
            &wanted,
            1_000,
        );
        assert!(claimed.notifications.is_empty());
        assert_eq!(
            claimed.changes,
            [(
                ConversationId(1),
                TeamChange::Claimed {
                    member: "bram".into()
                },
                false
            )]
        );
        // Bram hands it to anna: "handed to you", naming bram.
        let handed = watch.pass(
            vec![row(Some("anna"), 1, true, Status::Open)],
            false,
            "anna",
            &wanted,
            2_000,
        );
        assert_eq!(handed.notifications.len(), 1);
        assert_eq!(handed.notifications[0].kind, NotificationKind::HandedToMe);
        assert_eq!(handed.notifications[0].who, "bram");
        // Anna releases it herself: her change, for OWN_CHANGE_MS.
        watch.own_change(ConversationId(1), Action::Release, 3_000);
        let released = watch.pass(
            vec![row(None, 1, true, Status::Open)],
            false,
            "anna",
            &wanted,
            3_500,
        );
        assert_eq!(
            released.changes,
            [(
                ConversationId(1),
                TeamChange::Released {
                    member: "anna".into()
                },
                true
            )]
        );
        // Long after, the same kind of change is no longer taken for hers.
        watch.pass(
            vec![row(Some("anna"), 1, true, Status::Open)],
            false,
            "anna",
            &wanted,
            4_000,
        );
        let later = watch.pass(
            vec![row(None, 1, true, Status::Open)],
            false,
            "anna",
            &wanted,
            3_000 + OWN_CHANGE_MS + 1,
        );
        assert!(matches!(
            &later.changes[..],
            [(_, TeamChange::Released { .. }, false)]
        ));
    }

    #[test]
    fn a_later_full_pass_still_reports_and_unwanted_kinds_are_left_out() {
        let mut wanted = NotificationSettings::default();
        let mut watch = RowWatch::default();
        watch.pass(
            vec![row(None, 1, true, Status::Open)],
            true,
            "anna",
            &wanted,
            0,
        );
        // After a reconnect, every row again: the customer wrote meanwhile.
        let back = watch.pass(
            vec![row(None, 2, true, Status::Open)],
            true,
            "anna",
            &wanted,
            10,
        );
        assert_eq!(back.notifications.len(), 1);
        assert_eq!(back.notifications[0].kind, NotificationKind::NewUnassigned);
        // The member turned those off.
        wanted.new_unassigned = false;
        let off = watch.pass(
            vec![row(None, 3, true, Status::Open)],
            false,
            "anna",
            &wanted,
            20,
        );
        assert!(off.notifications.is_empty());
        // A row with notes in an ordinary pass is worth a read of the notes folder.
        let mut noted = row(None, 3, true, Status::Open);
        noted.has_notes = true;
        assert!(
            watch
                .pass(vec![noted.clone()], false, "anna", &wanted, 30)
                .notes_news
        );
        assert!(
            !watch
                .pass(vec![noted], true, "anna", &wanted, 40)
                .notes_news
        );
    }
}
