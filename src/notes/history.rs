//! The team part of a conversation's history: who claimed, handed over, released or set
//! a status, and when. Two sources, pure here: the team server's log of the changes it
//! made and saw (with who made them), and what this computer saw change in the rows
//! (the only source without a server, and for changes made while it was away). The
//! server's account wins where both tell of the same change.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Note;
use super::watch::{TeamChange, changes_between};
use crate::contract::Status;
use crate::conversation::{Correspondent, MessageKey};

/// How far this computer's clock and the team server's may differ: what this computer
/// saw this long before the server's log begins is older than the log.
const CLOCK_SLACK_MS: i64 = 10_000;
/// A release followed this soon by a claim is one hand-over (see [`record`]).
const HAND_OVER_MS: i64 = 5_000;

/// One entry of a conversation's history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActivityItem {
    Received {
        #[ts(type = "number")]
        at: i64,
        from: Correspondent,
        message: MessageKey,
    },
    Replied {
        #[ts(type = "number")]
        at: i64,
        by: String,
        message: MessageKey,
    },
    /// A delivery report came back (a bounce).
    Bounced {
        #[ts(type = "number")]
        at: i64,
        message: MessageKey,
    },
    Note {
        #[ts(type = "number")]
        at: i64,
        note: Note,
    },
    /// Claimed, released, handed over, status: from the team server's log, and what
    /// this computer saw happen.
    Team {
        #[ts(type = "number")]
        at: i64,
        change: TeamChange,
        /// Who made the change, when known.
        by: Option<String>,
        /// Made in another mail app (seen in the mailbox).
        outside: bool,
    },
}

impl ActivityItem {
    pub fn at(&self) -> i64 {
        match self {
            ActivityItem::Received { at, .. }
            | ActivityItem::Replied { at, .. }
            | ActivityItem::Bounced { at, .. }
            | ActivityItem::Note { at, .. }
            | ActivityItem::Team { at, .. } => *at,
        }
    }
}

/// One team change in a conversation's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SavedStep")]
pub struct TeamStep {
    pub at: i64,
    pub change: TeamChange,
    /// Who made it, when known: the team server says for every change it made, and this
    /// computer knows its own member's.
    pub by: Option<String>,
    /// Made outside Baton (another mail app set the keywords); the team server saw it in
    /// the mailbox.
    pub outside: bool,
}

/// A step as saved: earlier versions saved `(at, change)` pairs.
#[derive(Deserialize)]
#[serde(untagged)]
enum SavedStep {
    Step {
        at: i64,
        change: TeamChange,
        #[serde(default)]
        by: Option<String>,
        #[serde(default)]
        outside: bool,
    },
    Pair(i64, TeamChange),
}

impl From<SavedStep> for TeamStep {
    fn from(saved: SavedStep) -> TeamStep {
        match saved {
            SavedStep::Step {
                at,
                change,
                by,
                outside,
            } => TeamStep {
                at,
                change,
                by,
                outside,
            },
            SavedStep::Pair(at, change) => TeamStep {
                at,
                change,
                by: None,
                outside: false,
            },
        }
    }
}

/// Adds a change this computer saw to a conversation's log. A hand-over made on the
/// mailbox alone is two stores, and a client may see the moment between them: "released
/// by X" followed within seconds by "claimed by Y", by the same hand as far as this
/// computer knows, is recorded as X handing over to Y.
pub fn record(log: &mut Vec<TeamStep>, step: TeamStep) {
    if let TeamChange::Claimed { member: to } = &step.change
        && let Some(last) = log.last()
        && let TeamChange::Released { member: from } = &last.change
        && step.at - last.at < HAND_OVER_MS
        && step.by == last.by
    {
        let (from, when) = (from.clone(), last.at);
        log.pop();
        if from != *to {
            log.push(TeamStep {
                at: when,
                change: TeamChange::HandedOver {
                    from,
                    to: to.clone(),
                },
                ..step
            });
        }
        return;
    }
    log.push(step);
}

/// One change as the team server logged it: where the conversation stood after it, who
/// made it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    pub owner: Option<String>,
    pub status: Status,
    /// Who made it (for a change made outside Baton: the owner it left).
    pub by: String,
    /// Milliseconds since the epoch, by the server's clock.
    pub at_ms: u64,
    /// Made in another mail app, seen by the server in the mailbox.
    pub outside: bool,
}

/// The steps in the team server's log of a conversation, oldest first. `complete`: the
/// log goes back to the conversation's first change, so that change is from "open, not
/// held"; otherwise the first event only says where things stood.
pub fn logged_steps(events: &[LoggedChange], complete: bool) -> Vec<TeamStep> {
    let mut steps = Vec::new();
    let mut before: Option<(Option<&str>, Status)> = complete.then_some((None, Status::Open));
    for (i, record) in events.iter().enumerate() {
        let after = (record.owner.as_deref(), record.status);
        // What the mailbox held when the server first looked is a starting point, not a
        // change someone made then.
        let first_look = i == 0 && record.outside;
        if let Some((owner, status)) = before.filter(|_| !first_look) {
            for change in changes_between(owner, status, after.0, after.1) {
                steps.push(TeamStep {
                    at: record.at_ms.min(i64::MAX as u64) as i64,
                    change,
                    by: (!record.outside).then(|| record.by.clone()),
                    outside: record.outside,
                });
            }
        }
        before = Some(after);
    }
    steps
}

/// One history from both accounts. From the moment the server's log begins it tells
/// every change, with who made it (what this computer saw is coarser: several quick
/// changes may show as one); before that, what this computer saw. Without the server's
/// log, what this computer saw.
pub fn merge(seen: &[TeamStep], logged: Option<(&[LoggedChange], bool)>) -> Vec<TeamStep> {
    let Some((events, complete)) = logged else {
        return seen.to_vec();
    };
    let Some(first) = events.first() else {
        return seen.to_vec();
    };
    let since = first.at_ms.min(i64::MAX as u64) as i64 - CLOCK_SLACK_MS;
    let mut steps: Vec<TeamStep> = seen.iter().filter(|s| s.at < since).cloned().collect();
    steps.extend(logged_steps(events, complete));
    steps.sort_by_key(|s| s.at);
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(member: &str) -> TeamChange {
        TeamChange::Claimed {
            member: member.into(),
        }
    }

    fn released(member: &str) -> TeamChange {
        TeamChange::Released {
            member: member.into(),
        }
    }

    fn seen(at: i64, change: TeamChange) -> TeamStep {
        TeamStep {
            at,
            change,
            by: None,
            outside: false,
        }
    }

    fn event(
        _seq: u64,
        owner: Option<&str>,
        status: Status,
        by: &str,
        at_ms: u64,
        outside: bool,
    ) -> LoggedChange {
        LoggedChange {
            owner: owner.map(str::to_owned),
            status,
            by: by.into(),
            at_ms,
            outside,
        }
    }

    #[test]
    fn the_two_steps_of_a_hand_over_are_recorded_as_one() {
        let mut log = Vec::new();
        record(&mut log, seen(1, claimed("anna")));
        record(&mut log, seen(10, released("anna")));
        record(&mut log, seen(20, claimed("bram")));
        assert_eq!(
            log,
            [
                seen(1, claimed("anna")),
                seen(
                    10,
                    TeamChange::HandedOver {
                        from: "anna".into(),
                        to: "bram".into()
                    }
                )
            ]
        );
        // A release that stands is a release.
        record(&mut log, seen(30, released("bram")));
        record(&mut log, seen(9_000, claimed("chloe")));
        assert_eq!(log.len(), 4);
        // Another app's release and this member's claim a moment later are two steps.
        record(&mut log, seen(9_100, released("chloe")));
        record(
            &mut log,
            TeamStep {
                by: Some("anna".into()),
                ..seen(9_200, claimed("anna"))
            },
        );
        assert_eq!(log.len(), 6);
    }

    #[test]
    fn the_servers_log_says_who_did_what() {
        let events = [
            event(3, Some("anna"), Status::Open, "anna", 1_000, false),
            event(5, Some("bram"), Status::Open, "anna", 2_000, false),
            event(6, Some("bram"), Status::Waiting, "bram", 3_000, false),
            // Chloe released and closed it in one go (a manager).
            event(9, None, Status::Done, "chloe", 4_000, false),
            event(12, Some("dirk"), Status::Done, "dirk", 5_000, true),
        ];
        let steps = logged_steps(&events, true);
        let by = |s: &TeamStep| (s.at, s.change.clone(), s.by.clone(), s.outside);
        assert_eq!(
            steps.iter().map(by).collect::<Vec<_>>(),
            vec![
                (1_000, claimed("anna"), Some("anna".into()), false),
                (
                    2_000,
                    TeamChange::HandedOver {
                        from: "anna".into(),
                        to: "bram".into()
                    },
                    Some("anna".into()),
                    false
                ),
                (
                    3_000,
                    TeamChange::Status {
                        status: Status::Waiting
                    },
                    Some("bram".into()),
                    false
                ),
                (4_000, released("bram"), Some("chloe".into()), false),
                (
                    4_000,
                    TeamChange::Status {
                        status: Status::Done
                    },
                    Some("chloe".into()),
                    false
                ),
                (5_000, claimed("dirk"), None, true),
            ]
        );
        // Cut short, the first event is where things stood.
        let steps = logged_steps(&events[1..], false);
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[0].by.as_deref(), Some("bram"));
        // What the mailbox held when the server first looked is no change.
        let first_look = [event(1, Some("erik"), Status::Open, "erik", 10, true)];
        assert!(logged_steps(&first_look, true).is_empty());
    }

    #[test]
    fn the_servers_log_wins_from_where_it_begins() {
        let logged = [
            event(3, Some("anna"), Status::Open, "anna", 100_000, false),
            event(5, Some("bram"), Status::Open, "anna", 100_010, false),
        ];
        let seen_here = [
            // Before the server kept a log: only this computer knows.
            seen(20_000, claimed("chloe")),
            seen(30_000, released("chloe")),
            // The claim and the hand-over, seen as one change.
            seen(100_050, claimed("bram")),
        ];
        let merged = merge(&seen_here, Some((&logged, true)));
        assert_eq!(
            merged
                .iter()
                .map(|s| (s.at, s.change.clone(), s.by.clone()))
                .collect::<Vec<_>>(),
            vec![
                (20_000, claimed("chloe"), None),
                (30_000, released("chloe"), None),
                (100_000, claimed("anna"), Some("anna".into())),
                (
                    100_010,
                    TeamChange::HandedOver {
                        from: "anna".into(),
                        to: "bram".into()
                    },
                    Some("anna".into())
                ),
            ]
        );
        assert_eq!(merge(&seen_here, None), seen_here.to_vec());
        assert_eq!(merge(&seen_here, Some((&[], true))), seen_here.to_vec());
    }

    #[test]
    fn steps_saved_as_pairs_still_read() {
        let old: Vec<TeamStep> =
            serde_json::from_str(r#"[[5,{"change":"claimed","member":"anna"}]]"#).expect("old");
        assert_eq!(old, [seen(5, claimed("anna"))]);
        let new = serde_json::to_string(&old).expect("json");
        assert_eq!(
            serde_json::from_str::<Vec<TeamStep>>(&new).expect("new"),
            old
        );
    }
}
