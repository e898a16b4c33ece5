//! A conversation's team state, derived from the keywords on its messages. Every client
//! derives the same state from the same messages, so no client has to be asked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::keyword::TeamKeyword;

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Someone on the team has to act (no status keyword).
    #[default]
    Open,
    /// Waiting on the customer (`baton.waiting`).
    Waiting,
    /// Nothing left to do (`baton.done`).
    Done,
}

/// What derivation needs of one message.
#[derive(Debug, Clone, Copy)]
pub struct StateMessage<'a> {
    /// Milliseconds since the epoch; messages are considered in this order.
    pub date: i64,
    /// Written by the customer (not by the team from the shared address).
    pub inbound: bool,
    pub keywords: &'a [String],
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationState {
    pub owner: Option<String>,
    pub status: Status,
    pub has_notes: bool,
    /// Members whose claim lost to `owner` (a race, or a client that broke the contract);
    /// the next write removes their keywords.
    pub rival_claims: Vec<String>,
}

/// The state of a conversation from its messages.
///
/// - Owner: the member whose claim keyword is on the most messages; a tie goes to the
///   smallest member id. A message without a claim keyword (new mail) does not take the
///   baton from the owner.
/// - Status: messages in date order; status keywords on a message set the status (done
///   over waiting); a customer's message without them makes the conversation open again
///   (the customer wrote back); the team's own message without them changes nothing.
pub fn derive(messages: &[StateMessage<'_>]) -> ConversationState {
    let mut claims: BTreeMap<String, usize> = BTreeMap::new();
    let mut has_notes = false;
    let mut ordered: Vec<&StateMessage<'_>> = messages.iter().collect();
    // Stable: messages with the same date keep the caller's order.
    ordered.sort_by_key(|m| m.date);
    let mut status = Status::Open;
    for message in ordered {
        let mut marked: Option<Status> = None;
        for keyword in message
            .keywords
            .iter()
            .filter_map(|k| TeamKeyword::parse(k))
        {
            match keyword {
                TeamKeyword::Claim(member) => *claims.entry(member).or_default() += 1,
                TeamKeyword::Done => marked = Some(Status::Done),
                TeamKeyword::Waiting => {
                    if marked != Some(Status::Done) {
                        marked = Some(Status::Waiting);
                    }
                }
                TeamKeyword::Note => has_notes = true,
            }
        }
        match marked {
            Some(new) => status = new,
            None if message.inbound => status = Status::Open,
            None => {}
        }
    }
    // Most messages first, then the smallest id: BTreeMap iterates ids in order, and
    // `max_by_key` keeps the last maximum, so pick explicitly.
    let owner = claims
        .iter()
        .fold(
            None::<(&String, usize)>,
            |best, (member, &count)| match best {
                Some((_, best_count)) if best_count >= count => best,
                _ => Some((member, count)),
            },
        )
        .map(|(member, _)| member.clone());
    let rival_claims = claims
        .keys()
        .filter(|m| Some(*m) != owner.as_ref())
        .cloned()
        .collect();
    ConversationState {
        owner,
        status,
        has_notes,
        rival_claims,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn state(messages: &[(i64, bool, Vec<String>)]) -> ConversationState {
        let inputs: Vec<StateMessage<'_>> = messages
            .iter()
            .map(|(date, inbound, keywords)| StateMessage {
                date: *date,
                inbound: *inbound,
                keywords,
            })
            .collect();
        derive(&inputs)
    }

    #[test]
    fn nothing_set_is_open_and_unassigned() {
        assert_eq!(state(&[(1, true, kw(&[]))]), ConversationState::default());
        assert_eq!(derive(&[]), ConversationState::default());
    }

    #[test]
    fn a_claim_names_the_owner_and_new_mail_keeps_it() {
        let s = state(&[
            (1, true, kw(&["baton.claim.anna"])),
            (2, false, kw(&["baton.claim.anna"])),
            (3, true, kw(&[])),
        ]);
        assert_eq!(s.owner.as_deref(), Some("anna"));
        assert!(s.rival_claims.is_empty());
    }

    #[test]
    fn conflicting_claims_resolve_the_same_way_everywhere() {
        // More messages wins…
        let s = state(&[
            (1, true, kw(&["baton.claim.bram"])),
            (2, false, kw(&["baton.claim.bram"])),
            (3, true, kw(&["baton.claim.anna"])),
        ]);
        assert_eq!(s.owner.as_deref(), Some("bram"));
        assert_eq!(s.rival_claims, vec!["anna".to_string()]);
        // …a tie goes to the smallest member id, whatever order the keywords come in.
        let a = state(&[(1, true, kw(&["baton.claim.chloe", "baton.claim.anna"]))]);
        let b = state(&[(1, true, kw(&["Baton.Claim.Anna", "baton.claim.chloe"]))]);
        assert_eq!(a.owner.as_deref(), Some("anna"));
        assert_eq!(a, b);
    }

    #[test]
    fn done_until_the_customer_writes_back() {
        let done = vec![
            (1, true, kw(&["baton.done"])),
            (2, false, kw(&["baton.done"])),
        ];
        assert_eq!(state(&done).status, Status::Done);
        let mut wrote_back = done.clone();
        wrote_back.push((3, true, kw(&[])));
        assert_eq!(state(&wrote_back).status, Status::Open);
        // The team's own later message does not reopen it.
        let mut our_reply = done;
        our_reply.push((3, false, kw(&[])));
        assert_eq!(state(&our_reply).status, Status::Done);
    }

    #[test]
    fn waiting_and_done_together_read_as_done() {
        assert_eq!(
            state(&[(1, true, kw(&["baton.waiting", "baton.done"]))]).status,
            Status::Done
        );
        assert_eq!(
            state(&[(1, true, kw(&["baton.done", "baton.waiting"]))]).status,
            Status::Done
        );
        assert_eq!(
            state(&[(1, true, kw(&["baton.waiting"]))]).status,
            Status::Waiting
        );
    }

    #[test]
    fn order_is_by_date_not_by_position() {
        let s = state(&[(5, true, kw(&[])), (1, true, kw(&["baton.waiting"]))]);
        assert_eq!(
            s.status,
            Status::Open,
            "the customer's newer message reopens it"
        );
    }

    #[test]
    fn notes_and_foreign_keywords() {
        let s = state(&[(
            1,
            true,
            kw(&["$Forwarded", "baton.note", "baton.claim.Not Valid"]),
        )]);
        assert!(s.has_notes);
        assert_eq!(s.owner, None);
    }
}
