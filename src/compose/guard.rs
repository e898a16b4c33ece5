//! The duplicate-reply guard, as a pure function: what the conversation looked like when
//! the draft was started (the baseline), what it looks like now, who is replying and who
//! holds it → what the member should know before the reply leaves.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::conversation::{Correspondent, FolderRole, MessageKey};

/// What the guard found before a reply leaves, or while it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GuardReport {
    pub findings: Vec<GuardFinding>,
    /// The mailbox was read again for this check (a send-time check); otherwise it is
    /// what this computer knew.
    pub checked_live: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GuardFinding {
    /// Someone answered since the draft was started: a reply in the Sent folder (`by`
    /// is its sender's name), or the answered flag set from elsewhere (`by` empty, no
    /// message).
    ColleagueReplied {
        by: String,
        #[ts(type = "number | null")]
        at: Option<i64>,
        preview: String,
        message: Option<MessageKey>,
        /// The reply's Message-ID, when there is a message.
        #[serde(default)]
        message_id: Option<String>,
    },
    /// A colleague's reply is on its way: in their outbox (the undo window, send later,
    /// a retry) or being sent. It counts as a reply given.
    ColleagueSending {
        member: String,
        /// When it leaves (this computer's clock); `None` while it is being sent.
        #[ts(type = "number | null")]
        leaves_at: Option<i64>,
        message_id: Option<String>,
    },
    /// A colleague has a reply open on this conversation right now.
    ColleagueReplying { member: String },
    /// The customer wrote again since the draft was started.
    CustomerWrote {
        from: Correspondent,
        #[ts(type = "number")]
        at: i64,
        preview: String,
        message: MessageKey,
    },
    /// A colleague holds the conversation.
    OwnedByOther {
        member: String,
        #[ts(type = "number | null")]
        since: Option<i64>,
    },
}

/// The conversation when the draft was started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Message-IDs of its messages.
    pub known: Vec<String>,
    /// Those of them that were already answered.
    pub answered: Vec<String>,
}

/// A message of the conversation, as the guard needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardMessage {
    pub key: MessageKey,
    pub message_id: String,
    pub role: FolderRole,
    /// Sent from the shared address.
    pub from_team: bool,
    pub from: Correspondent,
    pub date: i64,
    pub preview: String,
    pub answered: bool,
}

impl Baseline {
    pub fn of(messages: &[GuardMessage]) -> Baseline {
        Baseline {
            known: messages.iter().map(|m| m.message_id.clone()).collect(),
            answered: messages
                .iter()
                .filter(|m| m.answered)
                .map(|m| m.message_id.clone())
                .collect(),
        }
    }
}

/// The team's side of the conversation now.
pub struct TeamNow<'a> {
    pub me: &'a str,
    /// Members with a reply open on it (presence).
    pub replying: &'a [String],
    /// Colleagues' replies on their way (presence: in their outbox, not yet in Sent).
    pub sending: &'a [Sending],
    pub owner: Option<&'a str>,
    pub owner_since: Option<i64>,
}

/// A colleague's reply on its way, as the team server passes it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sending {
    pub member: String,
    pub leaves_at: Option<i64>,
    pub message_id: Option<String>,
    /// The team server's order of replies on their way (smaller was first).
    pub turn: Option<u64>,
}

/// The colleagues' replies that were on their way before this member's (by the team
/// server's turns): those go first, and this one waits for the member. Without a turn of
/// our own (the server has not answered yet) every colleague's reply counts as earlier,
/// which holds rather than risks a second reply.
pub fn sending_before(sending: &[Sending], mine: Option<u64>) -> Vec<Sending> {
    sending
        .iter()
        .filter(|s| match (s.turn, mine) {
            (Some(theirs), Some(mine)) => theirs < mine,
            _ => true,
        })
        .cloned()
        .collect()
}

/// What the member should know. `own` are the Message-IDs of this member's own
/// messages (this draft, and what their outbox sent): those are not a colleague's reply.
pub fn findings(
    baseline: &Baseline,
    own: &[String],
    now: &[GuardMessage],
    team: &TeamNow<'_>,
) -> Vec<GuardFinding> {
    let known: HashSet<&str> = baseline.known.iter().map(String::as_str).collect();
    let answered_before: HashSet<&str> = baseline.answered.iter().map(String::as_str).collect();
    let mut found = Vec::new();
    let mut fresh: Vec<&GuardMessage> = now
        .iter()
        .filter(|m| !known.contains(m.message_id.as_str()) && !own.contains(&m.message_id))
        .collect();
    fresh.sort_by_key(|m| m.date);
    // The same message can sit in the inbox and in Sent (a copy to the shared address).
    let mut reported = HashSet::new();
    for message in fresh {
        if !reported.insert(message.message_id.as_str()) {
            continue;
        }
        if message.role == FolderRole::Sent || message.from_team {
            found.push(GuardFinding::ColleagueReplied {
                by: if message.from.name.is_empty() {
                    message.from.address.clone()
                } else {
                    message.from.name.clone()
                },
                at: Some(message.date),
                preview: message.preview.clone(),
                message: Some(message.key.clone()),
                message_id: Some(message.message_id.clone()),
            });
        } else {
            found.push(GuardFinding::CustomerWrote {
                from: message.from.clone(),
                at: message.date,
                preview: message.preview.clone(),
                message: message.key.clone(),
            });
        }
    }
    let replied_seen = found
        .iter()
        .any(|f| matches!(f, GuardFinding::ColleagueReplied { .. }));
    // Answered from somewhere Baton cannot see the reply of (a phone that keeps no copy
    // in the shared Sent folder): the flag is all there is. A flag that follows a team
    // reply the conversation already shows after that message is that reply's (a
    // colleague's copy lands in Sent just before their flag does, so a draft can start
    // in between): the member saw the reply, the flag tells nothing new.
    let team_reply_after = |m: &GuardMessage| {
        now.iter().any(|r| {
            (r.role == FolderRole::Sent || r.from_team)
                && r.message_id != m.message_id
                && r.date >= m.date
        })
    };
    let newly_answered = now.iter().any(|m| {
        m.answered
            && known.contains(m.message_id.as_str())
            && !answered_before.contains(m.message_id.as_str())
            && !team_reply_after(m)
    });
    // A colleague's reply on its way whose copy is already in Sent was reported above.
    let mut sending: Vec<&Sending> = team
        .sending
        .iter()
        .filter(|s| s.member != team.me)
        .filter(|s| {
            s.message_id
                .as_deref()
                .is_none_or(|id| !reported.contains(id))
        })
        .collect();
    sending.sort_by_key(|s| (s.turn, s.member.clone()));
    sending.dedup_by(|a, b| a.member == b.member && a.message_id == b.message_id);
    // The flag of a reply we know is on its way is that reply's, named below.
    if newly_answered && !replied_seen && sending.is_empty() {
        found.push(GuardFinding::ColleagueReplied {
            by: String::new(),
            at: None,
            preview: String::new(),
            message: None,
            message_id: None,
        });
    }
    for s in &sending {
        found.push(GuardFinding::ColleagueSending {
            member: s.member.clone(),
            leaves_at: s.leaves_at,
            message_id: s.message_id.clone(),
        });
    }
    let mut replying: Vec<&String> = team
        .replying
        .iter()
        .filter(|m| *m != team.me && !team.sending.iter().any(|s| &s.member == *m))
        .collect();
    replying.sort();
    replying.dedup();
    for member in replying {
        found.push(GuardFinding::ColleagueReplying {
            member: member.clone(),
        });
    }
    if let Some(owner) = team.owner
        && owner != team.me
    {
        found.push(GuardFinding::OwnedByOther {
            member: owner.to_owned(),
            since: team.owner_since,
        });
    }
    found
}

/// The findings the member has not yet chosen to send despite.
pub fn unacknowledged(found: Vec<GuardFinding>, despite: &[GuardFinding]) -> Vec<GuardFinding> {
    found
        .into_iter()
        .filter(|f| !despite.iter().any(|d| same(d, f)))
        .collect()
}

/// What holds a message at the last check before it leaves: news since Send that the
/// member did not choose to send despite. A colleague merely writing a reply is not a
/// reply given; their own guard meets this one when they send.
pub fn last_check_news(found: Vec<GuardFinding>, despite: &[GuardFinding]) -> Vec<GuardFinding> {
    unacknowledged(found, despite)
        .into_iter()
        .filter(|f| !matches!(f, GuardFinding::ColleagueReplying { .. }))
        .collect()
}

/// Two findings are the same news (a preview fetched later does not make it new; a
/// reply seen on its way and later in Sent is one reply).
fn same(a: &GuardFinding, b: &GuardFinding) -> bool {
    use GuardFinding::*;
    match (a, b) {
        (
            ColleagueSending {
                member: a,
                message_id: ma,
                ..
            },
            ColleagueSending {
                member: b,
                message_id: mb,
                ..
            },
        ) => a == b && ma == mb,
        (
            ColleagueSending {
                message_id: Some(sending),
                ..
            },
            ColleagueReplied {
                message_id: Some(sent),
                ..
            },
        )
        | (
            ColleagueReplied {
                message_id: Some(sent),
                ..
            },
            ColleagueSending {
                message_id: Some(sending),
                ..
            },
        ) => sending == sent,
        (
            ColleagueReplied {
                message: ma,
                by: ba,
                ..
            },
            ColleagueReplied {
                message: mb,
                by: bb,
                ..
            },
        ) => ma == mb && (ma.is_some() || ba == bb),
        (CustomerWrote { message: ma, .. }, CustomerWrote { message: mb, .. }) => ma == mb,
        (ColleagueReplying { member: a }, ColleagueReplying { member: b }) => a == b,
        (OwnedByOther { member: a, .. }, OwnedByOther { member: b, .. }) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, role: FolderRole, from_team: bool, answered: bool) -> GuardMessage {
        GuardMessage {
            key: MessageKey {
                folder: if role == FolderRole::Sent {
                    "Sent"
                } else {
                    "INBOX"
                }
                .into(),
                uid_validity: 1,
                uid: id.len() as u32,
            },
            message_id: id.into(),
            role,
            from_team,
            from: Correspondent {
                name: if from_team { "Bram from Acme" } else { "Jan" }.into(),
                address: if from_team {
                    "support@acme.test"
                } else {
                    "jan@x.nl"
                }
                .into(),
            },
            date: 100,
            preview: format!("text of {id}"),
            answered,
        }
    }

    fn alone() -> TeamNow<'static> {
        TeamNow {
            me: "anna",
            replying: &[],
            sending: &[],
            owner: None,
            owner_since: None,
        }
    }

    #[test]
    fn nothing_new_is_nothing_found() {
        let start = vec![message("c1", FolderRole::Inbox, false, false)];
        let baseline = Baseline::of(&start);
        assert!(findings(&baseline, &["mine".to_owned()], &start, &alone()).is_empty());
    }

    #[test]
    fn a_colleagues_reply_in_sent_is_found_with_who_and_preview() {
        let start = vec![message("c1", FolderRole::Inbox, false, false)];
        let baseline = Baseline::of(&start);
        let mut now = start.clone();
        now.push(message("r1", FolderRole::Sent, true, false));
        now[0].answered = true;
        let found = findings(&baseline, &["mine".to_owned()], &now, &alone());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(matches!(
            &found[0],
            GuardFinding::ColleagueReplied { by, preview, message: Some(_), .. }
                if by == "Bram from Acme" && preview == "text of r1"
        ));
    }

    #[test]
    fn own_copy_is_not_a_colleagues_reply() {
        let start = vec![message("c1", FolderRole::Inbox, false, false)];
        let baseline = Baseline::of(&start);
        let mut now = start.clone();
        now.push(message("mine", FolderRole::Sent, true, false));
        assert!(findings(&baseline, &["mine".to_owned()], &now, &alone()).is_empty());
    }

    #[test]
    fn answered_flag_alone_is_a_reply_by_someone() {
        let start = vec![message("c1", FolderRole::Inbox, false, false)];
        let baseline = Baseline::of(&start);
        let mut now = start.clone();
        now[0].answered = true;
        let found = findings(&baseline, &["mine".to_owned()], &now, &alone());
        assert_eq!(
            found,
            vec![GuardFinding::ColleagueReplied {
                by: String::new(),
                at: None,
                preview: String::new(),
                message: None,
                message_id: None,
            }]
        );
        // Already answered when the draft started: not news.
        let baseline = Baseline::of(&now);
        assert!(findings(&baseline, &["mine".to_owned()], &now, &alone()).is_empty());
    }

    #[test]
    fn the_flag_of_a_reply_already_shown_is_not_news() {
        // The draft started after a colleague's copy reached Sent, before their flag.
        let mut start = vec![
            message("c1", FolderRole::Inbox, false, false),
            message("bram-reply", FolderRole::Sent, true, false),
        ];
        start[1].date = 200;
        let baseline = Baseline::of(&start);
        let mut now = start.clone();
        now[0].answered = true;
        assert!(findings(&baseline, &[], &now, &alone()).is_empty());

        // A flag on a customer message after the last team reply is a reply Baton cannot
        // see, and is still reported.
        let mut later = now.clone();
        later.push(GuardMessage {
            date: 300,
            ..message("c2", FolderRole::Inbox, false, false)
        });
        let baseline = Baseline::of(&later);
        later[2].answered = true;
        assert!(matches!(
            findings(&baseline, &[], &later, &alone())[..],
            [GuardFinding::ColleagueReplied { ref by, message: None, .. }] if by.is_empty()
        ));
    }

    #[test]
    fn customer_wrote_again_colleague_replying_and_owner() {
        let start = vec![message("c1", FolderRole::Inbox, false, false)];
        let baseline = Baseline::of(&start);
        let mut now = start.clone();
        now.push(message("c2", FolderRole::Inbox, false, false));
        let replying = vec!["anna".to_owned(), "bram".to_owned(), "bram".to_owned()];
        let team = TeamNow {
            me: "anna",
            replying: &replying,
            sending: &[],
            owner: Some("chloe"),
            owner_since: Some(5),
        };
        let found = findings(&baseline, &["mine".to_owned()], &now, &team);
        assert!(
            matches!(&found[0], GuardFinding::CustomerWrote { preview, .. } if preview == "text of c2")
        );
        assert_eq!(
            found[1..],
            [
                GuardFinding::ColleagueReplying {
                    member: "bram".into()
                },
                GuardFinding::OwnedByOther {
                    member: "chloe".into(),
                    since: Some(5)
                }
            ]
        );
        // Holding it myself is no warning.
        let team = TeamNow {
            owner: Some("anna"),
            replying: &[],
            ..team
        };
        assert_eq!(
            findings(&baseline, &["mine".to_owned()], &now, &team).len(),
            1
        );
    }

    #[test]
    fn sending_despite_covers_only_what_was_seen() {
        let seen = vec![GuardFinding::ColleagueReplying {
            member: "bram".into(),
        }];
        let now = vec![
            GuardFinding::ColleagueReplying {
                member: "bram".into(),
            },
            GuardFinding::OwnedByOther {
                member: "bram".into(),
                since: None,
            },
        ];
        assert_eq!(unacknowledged(now.clone(), &seen), now[1..].to_vec());
    }

    fn on_its_way(member: &str, message_id: &str, turn: u64) -> Sending {
        Sending {
            member: member.into(),
            leaves_at: Some(8_000),
            message_id: Some(message_id.into()),
            turn: Some(turn),
        }
    }

    #[test]
    fn a_colleagues_reply_on_its_way_counts_as_given_and_names_them() {
        let start = vec![message("c1", FolderRole::Inbox, false, false)];
        let baseline = Baseline::of(&start);
        let sending = vec![on_its_way("bram", "b1", 4)];
        let replying = vec!["bram".to_owned()];
        let team = TeamNow {
            sending: &sending,
            replying: &replying,
            ..alone()
        };
        let found = findings(&baseline, &[], &start, &team);
        // Sending says more than replying: one finding for bram.
        assert_eq!(
            found,
            vec![GuardFinding::ColleagueSending {
                member: "bram".into(),
                leaves_at: Some(8_000),
                message_id: Some("b1".into()),
            }]
        );
        // Its copy reached Sent and set the answered flag: one reply, found in Sent.
        let mut now = start.clone();
        now.push(message("b1", FolderRole::Sent, true, false));
        now[0].answered = true;
        let found = findings(&baseline, &[], &now, &team);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            matches!(&found[0], GuardFinding::ColleagueReplied { message_id: Some(id), .. } if id == "b1")
        );
        // The flag came before the copy was read: the reply on its way explains it.
        let mut flagged = start.clone();
        flagged[0].answered = true;
        let found = findings(&baseline, &[], &flagged, &team);
        assert!(
            matches!(&found[..], [GuardFinding::ColleagueSending { member, .. }] if member == "bram")
        );
    }

    #[test]
    fn a_reply_sent_despite_on_its_way_is_the_same_news_once_in_sent() {
        let on_way = GuardFinding::ColleagueSending {
            member: "bram".into(),
            leaves_at: Some(1),
            message_id: Some("b1".into()),
        };
        let in_sent = GuardFinding::ColleagueReplied {
            by: "Bram from Acme".into(),
            at: Some(2),
            preview: String::new(),
            message: None,
            message_id: Some("b1".into()),
        };
        assert!(unacknowledged(vec![in_sent.clone()], std::slice::from_ref(&on_way)).is_empty());
        assert!(unacknowledged(vec![on_way.clone()], std::slice::from_ref(&in_sent)).is_empty());
        // Undone and sent again by bram: a new reply.
        let again = GuardFinding::ColleagueSending {
            member: "bram".into(),
            leaves_at: Some(5),
            message_id: Some("b2".into()),
        };
        assert_eq!(unacknowledged(vec![again.clone()], &[on_way]), vec![again]);
    }

    #[test]
    fn the_earlier_turn_goes_first() {
        let sending = vec![on_its_way("bram", "b1", 3), on_its_way("chloe", "c1", 7)];
        let before = |mine| {
            sending_before(&sending, mine)
                .into_iter()
                .map(|s| s.member)
                .collect::<Vec<_>>()
        };
        assert_eq!(before(Some(5)), ["bram"]);
        assert_eq!(before(Some(1)), Vec::<String>::new());
        assert_eq!(before(Some(9)), ["bram", "chloe"]);
        // Our own turn not heard yet: every colleague's counts as earlier.
        assert_eq!(before(None), ["bram", "chloe"]);
    }

    #[test]
    fn the_last_check_holds_for_replies_and_customer_news_not_for_a_draft_open() {
        let replying = GuardFinding::ColleagueReplying {
            member: "bram".into(),
        };
        let wrote = GuardFinding::CustomerWrote {
            from: Correspondent {
                name: "Jan".into(),
                address: "jan@x.nl".into(),
            },
            at: 1,
            preview: String::new(),
            message: message("c2", FolderRole::Inbox, false, false).key,
        };
        let owned = GuardFinding::OwnedByOther {
            member: "bram".into(),
            since: None,
        };
        assert_eq!(
            last_check_news(vec![replying, wrote.clone(), owned.clone()], &[]),
            vec![wrote.clone(), owned.clone()]
        );
        // Sent despite bram holding it: only the customer's news holds it.
        assert_eq!(
            last_check_news(vec![wrote.clone(), owned.clone()], &[owned]),
            vec![wrote]
        );
    }
}
