//! Who is viewing, replying to or sending a reply on which conversation, for one mailbox.
//!
//! Presence is kept per connection, because a member may have Baton open on two
//! computers, and shown per member: the strongest activity over their connections
//! (sending over replying over viewing). Only changes of what is shown are broadcast, and
//! everything a connection held goes when it closes or falls silent. Nothing here is
//! stored: presence is only true while someone is connected.
//!
//! A reply on its way (`sending`) gets a turn, numbered in the order the server heard of
//! it: every member sees the same order, so when two replies are on their way at once
//! each desktop agrees which one came first.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::protocol::{Activity, Mark, PresenceEntry};

/// Conversations one connection may mark at once; a desktop shows a handful.
pub const MAX_PER_CONNECTION: usize = 64;

#[derive(Debug, Default)]
pub struct Presence {
    connections: HashMap<u64, Marks>,
    /// The last turn given to a reply on its way.
    turns: u64,
}

#[derive(Debug)]
struct Marks {
    member: String,
    activities: BTreeMap<String, Held>,
}

/// One connection's mark on one conversation, with the server's own clock.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    activity: Activity,
    leaves_at: Option<Instant>,
    message_id: Option<String>,
    turn: Option<u64>,
}

/// A connection marked more conversations than [`MAX_PER_CONNECTION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany;

impl Presence {
    /// Records `mark` of connection `connection`; returns what others should now see,
    /// when that changed.
    pub fn set(
        &mut self,
        connection: u64,
        member: &str,
        conversation: &str,
        mark: Mark,
        now: Instant,
    ) -> Result<Option<PresenceEntry>, TooMany> {
        let before = self.shown(member, conversation);
        let marks = self.connections.entry(connection).or_insert_with(|| Marks {
            member: member.to_owned(),
            activities: BTreeMap::new(),
        });
        if mark.activity == Activity::None {
            marks.activities.remove(conversation);
        } else {
            let previous = marks.activities.get(conversation);
            if previous.is_none() && marks.activities.len() >= MAX_PER_CONNECTION {
                return Err(TooMany);
            }
            // The same reply keeps its turn while its time to leave changes.
            let turn = match previous {
                Some(p)
                    if p.activity == Activity::Sending
                        && mark.activity == Activity::Sending
                        && p.message_id == mark.message_id =>
                {
                    p.turn
                }
                _ if mark.activity == Activity::Sending => {
                    self.turns += 1;
                    Some(self.turns)
                }
                _ => None,
            };
            let held = Held {
                activity: mark.activity,
                leaves_at: mark.leaves_in_ms.map(|ms| now + Duration::from_millis(ms)),
                message_id: mark.message_id,
                turn,
            };
            marks.activities.insert(conversation.to_owned(), held);
        }
        let after = self.shown(member, conversation);
        Ok((before != after).then(|| entry(member, conversation, after.as_ref(), now)))
    }

    /// Forgets a connection; returns what others should now see.
    pub fn remove_connection(&mut self, connection: u64, now: Instant) -> Vec<PresenceEntry> {
        let Some(marks) = self.connections.remove(&connection) else {
            return Vec::new();
        };
        marks
            .activities
            .into_iter()
            .filter_map(|(conversation, was)| {
                let shown = self.shown(&marks.member, &conversation);
                (shown.as_ref() != Some(&was))
                    .then(|| entry(&marks.member, &conversation, shown.as_ref(), now))
            })
            .collect()
    }

    /// Everything shown now, for a welcome.
    pub fn entries(&self, now: Instant) -> Vec<PresenceEntry> {
        let mut shown: BTreeMap<(&str, &str), &Held> = BTreeMap::new();
        for marks in self.connections.values() {
            for (conversation, held) in &marks.activities {
                let slot = shown
                    .entry((marks.member.as_str(), conversation.as_str()))
                    .or_insert(held);
                if stronger(held, slot) {
                    *slot = held;
                }
            }
        }
        shown
            .into_iter()
            .map(|((member, conversation), held)| entry(member, conversation, Some(held), now))
            .collect()
    }

    /// What others see of `member` on `conversation`: the strongest of their marks.
    fn shown(&self, member: &str, conversation: &str) -> Option<Held> {
        self.connections
            .values()
            .filter(|m| m.member == member)
            .filter_map(|m| m.activities.get(conversation))
            .fold(None, |best: Option<&Held>, held| match best {
                Some(best) if !stronger(held, best) => Some(best),
                _ => Some(held),
            })
            .cloned()
    }
}

/// Sending over replying over viewing; of two replies on their way, the earlier turn.
fn stronger(a: &Held, b: &Held) -> bool {
    match a.activity.cmp(&b.activity) {
        std::cmp::Ordering::Equal => a.turn.is_some_and(|t| b.turn.is_none_or(|u| t < u)),
        order => order.is_gt(),
    }
}

fn entry(member: &str, conversation: &str, held: Option<&Held>, now: Instant) -> PresenceEntry {
    PresenceEntry {
        member: member.to_owned(),
        conversation: conversation.to_owned(),
        activity: held.map_or(Activity::None, |h| h.activity),
        leaves_in_ms: held
            .and_then(|h| h.leaves_at)
            .map(|at| at.saturating_duration_since(now).as_millis() as u64),
        message_id: held.and_then(|h| h.message_id.clone()),
        turn: held.and_then(|h| h.turn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(member: &str, conversation: &str, activity: Activity) -> PresenceEntry {
        PresenceEntry {
            member: member.into(),
            conversation: conversation.into(),
            activity,
            leaves_in_ms: None,
            message_id: None,
            turn: None,
        }
    }

    fn sending(message_id: &str, leaves_in_ms: Option<u64>) -> Mark {
        Mark {
            activity: Activity::Sending,
            leaves_in_ms,
            message_id: Some(message_id.into()),
        }
    }

    #[test]
    fn strongest_over_a_members_connections() {
        let now = Instant::now();
        let mut p = Presence::default();
        assert_eq!(
            p.set(1, "anna", "c", Mark::of(Activity::Viewing), now),
            Ok(Some(entry("anna", "c", Activity::Viewing)))
        );
        assert_eq!(
            p.set(2, "anna", "c", Mark::of(Activity::Replying), now),
            Ok(Some(entry("anna", "c", Activity::Replying)))
        );
        // Stopping viewing on the first computer changes nothing others see.
        assert_eq!(
            p.set(1, "anna", "c", Mark::of(Activity::None), now),
            Ok(None)
        );
        assert_eq!(p.entries(now), vec![entry("anna", "c", Activity::Replying)]);
        assert_eq!(
            p.remove_connection(2, now),
            vec![entry("anna", "c", Activity::None)]
        );
        assert!(p.entries(now).is_empty());
    }

    #[test]
    fn a_closed_connection_takes_its_marks_along() {
        let now = Instant::now();
        let mut p = Presence::default();
        p.set(1, "anna", "a", Mark::of(Activity::Viewing), now)
            .expect("set");
        p.set(1, "anna", "b", Mark::of(Activity::Replying), now)
            .expect("set");
        p.set(2, "anna", "b", Mark::of(Activity::Viewing), now)
            .expect("set");
        p.set(3, "bram", "a", Mark::of(Activity::Viewing), now)
            .expect("set");
        assert_eq!(
            p.remove_connection(1, now),
            vec![
                entry("anna", "a", Activity::None),
                entry("anna", "b", Activity::Viewing)
            ]
        );
        assert_eq!(p.remove_connection(1, now), vec![]);
        assert_eq!(p.entries(now).len(), 2);
    }

    #[test]
    fn bounded_per_connection() {
        let now = Instant::now();
        let mut p = Presence::default();
        for i in 0..MAX_PER_CONNECTION {
            p.set(1, "anna", &i.to_string(), Mark::of(Activity::Viewing), now)
                .expect("room");
        }
        assert_eq!(
            p.set(1, "anna", "one more", Mark::of(Activity::Viewing), now),
            Err(TooMany)
        );
        assert!(
            p.set(1, "anna", "0", Mark::of(Activity::Replying), now)
                .is_ok()
        );
    }

    #[test]
    fn replies_on_their_way_get_turns_in_the_order_heard_and_keep_them() {
        let now = Instant::now();
        let mut p = Presence::default();
        let anna = p
            .set(1, "anna", "c", sending("a1@x", Some(10_000)), now)
            .expect("set")
            .expect("shown");
        assert_eq!(anna.activity, Activity::Sending);
        assert_eq!(anna.turn, Some(1));
        assert_eq!(anna.message_id.as_deref(), Some("a1@x"));
        assert_eq!(anna.leaves_in_ms, Some(10_000));
        let bram = p
            .set(2, "bram", "c", sending("b1@x", Some(0)), now)
            .expect("set")
            .expect("shown");
        assert_eq!(bram.turn, Some(2));
        // Leaving now instead of in 10 s: the same reply, the same turn.
        let later = now + Duration::from_secs(4);
        let anna = p
            .set(1, "anna", "c", sending("a1@x", None), later)
            .expect("set")
            .expect("shown");
        assert_eq!((anna.turn, anna.leaves_in_ms), (Some(1), None));
        // A welcome counts the time left from its own moment.
        p.set(1, "anna", "c", sending("a1@x", Some(10_000)), now)
            .expect("set");
        let welcome = p.entries(later);
        assert_eq!(welcome[0].leaves_in_ms, Some(6_000));
        // Undone and sent again: a new reply, a new turn after bram's.
        p.set(1, "anna", "c", Mark::of(Activity::Replying), later)
            .expect("set");
        let again = p
            .set(1, "anna", "c", sending("a2@x", Some(5_000)), later)
            .expect("set")
            .expect("shown");
        assert_eq!(again.turn, Some(3));
    }

    #[test]
    fn sending_shows_over_viewing_on_another_computer() {
        let now = Instant::now();
        let mut p = Presence::default();
        p.set(1, "anna", "c", sending("a1@x", Some(1_000)), now)
            .expect("set");
        assert_eq!(
            p.set(2, "anna", "c", Mark::of(Activity::Viewing), now),
            Ok(None)
        );
        let gone = p.remove_connection(1, now);
        assert_eq!(gone, vec![entry("anna", "c", Activity::Viewing)]);
    }
}
