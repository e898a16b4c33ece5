//! From an action (claim, release, hand over, set status) and the conversation as we last
//! saw it, to the conditional stores that carry it out — or the reason it is refused.
//!
//! The stores are compare-and-set: each is sent with `UNCHANGEDSINCE` the highest
//! modseq we saw on its messages, so a change by anyone since we looked makes it fail
//! (RFC 7162) instead of silently overwriting. The executor keeps the modseqs up to date
//! between the steps of one plan.

use super::keyword::TeamKeyword;
use super::state::{ConversationState, StateMessage, Status, derive};
use crate::account::validate_member_id;

/// What a member asks to do with a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Take the baton: only when nobody holds it.
    Claim,
    /// Give it back: only by its holder.
    Release,
    /// Give it to a colleague: by its holder, or anyone while nobody holds it.
    HandOver { to: String },
    /// Open, waiting or done: by its holder, or anyone while nobody holds it.
    SetStatus(Status),
}

/// Why an action is not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Someone else holds the conversation.
    HeldBy(String),
    /// Only the holder may do this, and `me` is not the holder (nobody is when `None`).
    NotHolder(Option<String>),
    /// The colleague's member id is not valid.
    InvalidMember,
    /// The conversation has no messages we know of.
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    Add,
    Remove,
}

/// A message as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanMessage {
    pub folder: String,
    pub uid: u32,
    pub modseq: u64,
    pub date: i64,
    pub inbound: bool,
    pub keywords: Vec<String>,
}

/// One conditional `UID STORE` in one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStep {
    pub folder: String,
    pub uids: Vec<u32>,
    pub op: StoreOp,
    pub keywords: Vec<String>,
}

/// The state the messages give.
pub fn state_of(messages: &[PlanMessage]) -> ConversationState {
    let inputs: Vec<StateMessage<'_>> = messages
        .iter()
        .map(|m| StateMessage {
            date: m.date,
            inbound: m.inbound,
            keywords: &m.keywords,
        })
        .collect();
    derive(&inputs)
}

/// The steps that carry out `action` for member `me`; empty when there is nothing to
/// change. Steps for the inbox come first: the inbox is where races are decided.
pub fn plan(
    action: &Action,
    me: &str,
    messages: &[PlanMessage],
) -> Result<Vec<StoreStep>, Refusal> {
    if messages.is_empty() {
        return Err(Refusal::Empty);
    }
    let state = state_of(messages);
    let held_by_other = state.owner.as_deref().filter(|owner| *owner != me);
    let claim = |member: &str| TeamKeyword::Claim(member.to_owned()).encode();
    let mut steps = Vec::new();
    match action {
        Action::Claim => {
            if let Some(owner) = held_by_other {
                return Err(Refusal::HeldBy(owner.to_owned()));
            }
            let mine = claim(me).ok_or(Refusal::InvalidMember)?;
            remove_claims_except(messages, Some(&mine), &mut steps);
            add_where_missing(messages, &mine, &mut steps);
        }
        Action::Release => {
            if state.owner.as_deref() != Some(me) {
                return Err(Refusal::NotHolder(state.owner));
            }
            remove_claims_except(messages, None, &mut steps);
        }
        Action::HandOver { to } => {
            if let Some(owner) = held_by_other {
                return Err(Refusal::HeldBy(owner.to_owned()));
            }
            validate_member_id(to).map_err(|_| Refusal::InvalidMember)?;
            let theirs = claim(to).ok_or(Refusal::InvalidMember)?;
            // Remove first, then add: a racing claimer in between wins cleanly rather
            // than leaving two claims behind.
            remove_claims_except(messages, Some(&theirs), &mut steps);
            add_where_missing(messages, &theirs, &mut steps);
        }
        Action::SetStatus(status) => {
            if let Some(owner) = held_by_other {
                return Err(Refusal::HeldBy(owner.to_owned()));
            }
            if state.status == *status {
                return Ok(Vec::new());
            }
            let (keep, drop) = match status {
                Status::Open => (None, [TeamKeyword::Waiting, TeamKeyword::Done]),
                Status::Waiting => (
                    Some(TeamKeyword::Waiting),
                    [TeamKeyword::Done, TeamKeyword::Done],
                ),
                Status::Done => (
                    Some(TeamKeyword::Done),
                    [TeamKeyword::Waiting, TeamKeyword::Waiting],
                ),
            };
            for keyword in unique(&drop) {
                if let Some(encoded) = keyword.encode() {
                    remove_where_present(messages, &encoded, &mut steps);
                }
            }
            if let Some(keyword) = keep.and_then(|k| k.encode()) {
                add_where_missing(messages, &keyword, &mut steps);
            }
            // The holder's write also repairs rival claims.
            if state.owner.as_deref() == Some(me) {
                remove_rivals(messages, &state, &mut steps);
            }
        }
    }
    steps.sort_by_key(|s| (s.folder != "INBOX", s.folder.clone()));
    Ok(merge(steps))
}

fn unique(keywords: &[TeamKeyword; 2]) -> Vec<&TeamKeyword> {
    let mut out: Vec<&TeamKeyword> = keywords.iter().collect();
    out.dedup();
    out
}

fn has(message: &PlanMessage, keyword: &str) -> bool {
    message
        .keywords
        .iter()
        .any(|k| k.eq_ignore_ascii_case(keyword))
}

/// Removes every claim keyword but `keep` from the messages that carry one.
fn remove_claims_except(messages: &[PlanMessage], keep: Option<&str>, steps: &mut Vec<StoreStep>) {
    let mut claims: Vec<String> = messages
        .iter()
        .flat_map(|m| m.keywords.iter())
        .filter_map(|k| match TeamKeyword::parse(k)? {
            TeamKeyword::Claim(member) => TeamKeyword::Claim(member).encode(),
            _ => None,
        })
        .filter(|k| Some(k.as_str()) != keep)
        .collect();
    claims.sort();
    claims.dedup();
    for claim in claims {
        remove_where_present(messages, &claim, steps);
    }
}

fn remove_rivals(messages: &[PlanMessage], state: &ConversationState, steps: &mut Vec<StoreStep>) {
    for rival in &state.rival_claims {
        if let Some(keyword) = TeamKeyword::Claim(rival.clone()).encode() {
            remove_where_present(messages, &keyword, steps);
        }
    }
}

fn add_where_missing(messages: &[PlanMessage], keyword: &str, steps: &mut Vec<StoreStep>) {
    push_per_folder(
        messages.iter().filter(|m| !has(m, keyword)),
        StoreOp::Add,
        keyword,
        steps,
    );
}

fn remove_where_present(messages: &[PlanMessage], keyword: &str, steps: &mut Vec<StoreStep>) {
    push_per_folder(
        messages.iter().filter(|m| has(m, keyword)),
        StoreOp::Remove,
        keyword,
        steps,
    );
}

fn push_per_folder<'a>(
    messages: impl Iterator<Item = &'a PlanMessage>,
    op: StoreOp,
    keyword: &str,
    steps: &mut Vec<StoreStep>,
) {
    for message in messages {
        match steps
            .iter_mut()
            .find(|s| s.folder == message.folder && s.op == op && s.keywords == [keyword])
        {
            Some(step) => step.uids.push(message.uid),
            None => steps.push(StoreStep {
                folder: message.folder.clone(),
                uids: vec![message.uid],
                op,
                keywords: vec![keyword.to_owned()],
            }),
        }
    }
}

/// Joins steps with the same folder, operation and messages into one store, keeping the
/// order of removals before additions within a folder.
fn merge(steps: Vec<StoreStep>) -> Vec<StoreStep> {
    let mut merged: Vec<StoreStep> = Vec::new();
    for step in steps {
        match merged.last_mut() {
            Some(last)
                if last.folder == step.folder && last.op == step.op && last.uids == step.uids =>
            {
                last.keywords.extend(step.keywords);
            }
            _ => merged.push(step),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(folder: &str, uid: u32, inbound: bool, keywords: &[&str]) -> PlanMessage {
        PlanMessage {
            folder: folder.into(),
            uid,
            modseq: u64::from(uid) * 10,
            date: i64::from(uid),
            inbound,
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn step(folder: &str, uids: &[u32], op: StoreOp, keywords: &[&str]) -> StoreStep {
        StoreStep {
            folder: folder.into(),
            uids: uids.to_vec(),
            op,
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn conversation(keywords: &[&str]) -> Vec<PlanMessage> {
        vec![
            message("INBOX", 1, true, keywords),
            message("Sent", 7, false, keywords),
            message("INBOX", 2, true, keywords),
        ]
    }

    #[test]
    fn claim_an_unassigned_conversation_inbox_first() {
        let steps = plan(&Action::Claim, "anna", &conversation(&[])).expect("allowed");
        assert_eq!(
            steps,
            vec![
                step("INBOX", &[1, 2], StoreOp::Add, &["baton.claim.anna"]),
                step("Sent", &[7], StoreOp::Add, &["baton.claim.anna"]),
            ]
        );
    }

    #[test]
    fn claim_held_by_someone_else_is_refused_with_their_name() {
        let refused = plan(&Action::Claim, "bram", &conversation(&["baton.claim.anna"]));
        assert_eq!(refused, Err(Refusal::HeldBy("anna".into())));
    }

    #[test]
    fn claiming_again_only_tags_new_mail() {
        let mut messages = conversation(&["baton.claim.anna"]);
        messages.push(message("INBOX", 3, true, &[]));
        let steps = plan(&Action::Claim, "anna", &messages).expect("allowed");
        assert_eq!(
            steps,
            vec![step("INBOX", &[3], StoreOp::Add, &["baton.claim.anna"])]
        );
        assert_eq!(
            plan(&Action::Claim, "anna", &conversation(&["baton.claim.anna"])),
            Ok(vec![])
        );
    }

    #[test]
    fn the_winner_of_a_race_repairs_the_rival_claim() {
        // Both keywords ended up on the same messages; the tie goes to anna.
        let messages = conversation(&["baton.claim.anna", "baton.claim.bram"]);
        assert_eq!(
            plan(&Action::Claim, "bram", &messages),
            Err(Refusal::HeldBy("anna".into()))
        );
        let steps = plan(&Action::Claim, "anna", &messages).expect("allowed");
        assert_eq!(
            steps,
            vec![
                step("INBOX", &[1, 2], StoreOp::Remove, &["baton.claim.bram"]),
                step("Sent", &[7], StoreOp::Remove, &["baton.claim.bram"]),
            ]
        );
    }

    #[test]
    fn release_only_by_the_holder() {
        assert_eq!(
            plan(
                &Action::Release,
                "bram",
                &conversation(&["baton.claim.anna"])
            ),
            Err(Refusal::NotHolder(Some("anna".into())))
        );
        assert_eq!(
            plan(&Action::Release, "bram", &conversation(&[])),
            Err(Refusal::NotHolder(None))
        );
        let steps = plan(
            &Action::Release,
            "anna",
            &conversation(&["baton.claim.anna"]),
        )
        .expect("allowed");
        assert_eq!(
            steps,
            vec![
                step("INBOX", &[1, 2], StoreOp::Remove, &["baton.claim.anna"]),
                step("Sent", &[7], StoreOp::Remove, &["baton.claim.anna"]),
            ]
        );
    }

    #[test]
    fn hand_over_removes_then_adds() {
        let steps = plan(
            &Action::HandOver { to: "bram".into() },
            "anna",
            &conversation(&["baton.claim.anna"]),
        )
        .expect("allowed");
        assert_eq!(
            steps,
            vec![
                step("INBOX", &[1, 2], StoreOp::Remove, &["baton.claim.anna"]),
                step("INBOX", &[1, 2], StoreOp::Add, &["baton.claim.bram"]),
                step("Sent", &[7], StoreOp::Remove, &["baton.claim.anna"]),
                step("Sent", &[7], StoreOp::Add, &["baton.claim.bram"]),
            ]
        );
        // Anyone may assign an unassigned conversation; nobody may take a held one away.
        assert!(
            plan(
                &Action::HandOver { to: "bram".into() },
                "chloe",
                &conversation(&[])
            )
            .is_ok()
        );
        assert_eq!(
            plan(
                &Action::HandOver { to: "chloe".into() },
                "bram",
                &conversation(&["baton.claim.anna"])
            ),
            Err(Refusal::HeldBy("anna".into()))
        );
        assert_eq!(
            plan(
                &Action::HandOver {
                    to: "Not Valid".into()
                },
                "anna",
                &conversation(&[])
            ),
            Err(Refusal::InvalidMember)
        );
    }

    #[test]
    fn status_changes_replace_the_other_status() {
        let steps = plan(
            &Action::SetStatus(Status::Done),
            "anna",
            &conversation(&["baton.waiting"]),
        )
        .expect("ok");
        assert_eq!(
            steps,
            vec![
                step("INBOX", &[1, 2], StoreOp::Remove, &["baton.waiting"]),
                step("INBOX", &[1, 2], StoreOp::Add, &["baton.done"]),
                step("Sent", &[7], StoreOp::Remove, &["baton.waiting"]),
                step("Sent", &[7], StoreOp::Add, &["baton.done"]),
            ]
        );
        let reopen = plan(
            &Action::SetStatus(Status::Open),
            "anna",
            &conversation(&["baton.done"]),
        )
        .expect("ok");
        assert!(
            reopen
                .iter()
                .all(|s| s.op == StoreOp::Remove && s.keywords == ["baton.done"])
        );
        assert_eq!(
            plan(&Action::SetStatus(Status::Open), "anna", &conversation(&[])),
            Ok(vec![])
        );
        assert_eq!(
            plan(
                &Action::SetStatus(Status::Done),
                "bram",
                &conversation(&["baton.claim.anna"])
            ),
            Err(Refusal::HeldBy("anna".into()))
        );
    }

    #[test]
    fn a_reopened_conversation_needs_no_write() {
        // Done, then the customer wrote back: the state is open already.
        let mut messages = conversation(&["baton.done"]);
        messages.push(message("INBOX", 9, true, &[]));
        assert_eq!(state_of(&messages).status, Status::Open);
        assert_eq!(
            plan(&Action::SetStatus(Status::Open), "anna", &messages),
            Ok(vec![])
        );
    }

    #[test]
    fn nothing_to_plan_for_an_empty_conversation() {
        assert_eq!(plan(&Action::Claim, "anna", &[]), Err(Refusal::Empty));
    }
}
