//! Who is viewing or replying to which conversation, for one mailbox.
//!
//! Presence is kept per connection, because a member may have Baton open on two
//! computers, and shown per member: the strongest activity over their connections
//! (replying over viewing). Only changes of what is shown are broadcast, and everything a
//! connection held goes when it closes or falls silent. Nothing here is stored: presence
//! is only true while someone is connected.

use std::collections::{BTreeMap, HashMap};

use super::protocol::{Activity, PresenceEntry};

/// Conversations one connection may mark at once; a desktop shows a handful.
pub const MAX_PER_CONNECTION: usize = 64;

#[derive(Debug, Default)]
pub struct Presence {
    connections: HashMap<u64, Marks>,
}

#[derive(Debug)]
struct Marks {
    member: String,
    activities: BTreeMap<String, Activity>,
}

/// A connection marked more conversations than [`MAX_PER_CONNECTION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany;

impl Presence {
    /// Records `activity` of connection `connection`; returns what others should now see,
    /// when that changed.
    pub fn set(
        &mut self,
        connection: u64,
        member: &str,
        conversation: &str,
        activity: Activity,
    ) -> Result<Option<PresenceEntry>, TooMany> {
        let before = self.shown(member, conversation);
        let marks = self.connections.entry(connection).or_insert_with(|| Marks {
            member: member.to_owned(),
            activities: BTreeMap::new(),
        });
        if activity == Activity::None {
            marks.activities.remove(conversation);
        } else {
            if !marks.activities.contains_key(conversation)
                && marks.activities.len() >= MAX_PER_CONNECTION
            {
                return Err(TooMany);
            }
            marks.activities.insert(conversation.to_owned(), activity);
        }
        let after = self.shown(member, conversation);
        Ok((before != after).then(|| PresenceEntry {
            member: member.to_owned(),
            conversation: conversation.to_owned(),
            activity: after,
        }))
    }

    /// Forgets a connection; returns what others should now see.
    pub fn remove_connection(&mut self, connection: u64) -> Vec<PresenceEntry> {
        let Some(marks) = self.connections.remove(&connection) else {
            return Vec::new();
        };
        marks
            .activities
            .into_iter()
            .filter_map(|(conversation, was)| {
                let now = self.shown(&marks.member, &conversation);
                (now != was).then(|| PresenceEntry {
                    member: marks.member.clone(),
                    conversation,
                    activity: now,
                })
            })
            .collect()
    }

    /// Everything shown now, for a welcome.
    pub fn entries(&self) -> Vec<PresenceEntry> {
        let mut shown: BTreeMap<(&str, &str), Activity> = BTreeMap::new();
        for marks in self.connections.values() {
            for (conversation, activity) in &marks.activities {
                let slot = shown
                    .entry((marks.member.as_str(), conversation.as_str()))
                    .or_insert(Activity::None);
                *slot = (*slot).max(*activity);
            }
        }
        shown
            .into_iter()
            .map(|((member, conversation), activity)| PresenceEntry {
                member: member.to_owned(),
                conversation: conversation.to_owned(),
                activity,
            })
            .collect()
    }

    fn shown(&self, member: &str, conversation: &str) -> Activity {
        self.connections
            .values()
            .filter(|m| m.member == member)
            .filter_map(|m| m.activities.get(conversation).copied())
            .max()
            .unwrap_or(Activity::None)
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
        }
    }

    #[test]
    fn strongest_over_a_members_connections() {
        let mut p = Presence::default();
        assert_eq!(
            p.set(1, "anna", "c", Activity::Viewing),
            Ok(Some(entry("anna", "c", Activity::Viewing)))
        );
        assert_eq!(
            p.set(2, "anna", "c", Activity::Replying),
            Ok(Some(entry("anna", "c", Activity::Replying)))
        );
        // Stopping viewing on the first computer changes nothing others see.
        assert_eq!(p.set(1, "anna", "c", Activity::None), Ok(None));
        assert_eq!(p.entries(), vec![entry("anna", "c", Activity::Replying)]);
        assert_eq!(
            p.remove_connection(2),
            vec![entry("anna", "c", Activity::None)]
        );
        assert!(p.entries().is_empty());
    }

    #[test]
    fn a_closed_connection_takes_its_marks_along() {
        let mut p = Presence::default();
        p.set(1, "anna", "a", Activity::Viewing).expect("set");
        p.set(1, "anna", "b", Activity::Replying).expect("set");
        p.set(2, "anna", "b", Activity::Viewing).expect("set");
        p.set(3, "bram", "a", Activity::Viewing).expect("set");
        assert_eq!(
            p.remove_connection(1),
            vec![
                entry("anna", "a", Activity::None),
                entry("anna", "b", Activity::Viewing)
            ]
        );
        assert_eq!(p.remove_connection(1), vec![]);
        assert_eq!(p.entries().len(), 2);
    }

    #[test]
    fn bounded_per_connection() {
        let mut p = Presence::default();
        for i in 0..MAX_PER_CONNECTION {
            p.set(1, "anna", &i.to_string(), Activity::Viewing)
                .expect("room");
        }
        assert_eq!(
            p.set(1, "anna", "one more", Activity::Viewing),
            Err(TooMany)
        );
        assert!(p.set(1, "anna", "0", Activity::Replying).is_ok());
    }
}
