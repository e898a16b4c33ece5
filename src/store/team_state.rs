//! Who holds each conversation and where it stands: derived from its messages' keywords
//! (the contract), or taken from the team server's overlay when the server holds the team
//! state; and what the contract's planner and the owner's tagging need of a conversation.

use super::record::MessageRecord;
use super::{Changed, Store};
use crate::contract::{self, ConversationState, PlanMessage, StateMessage, Status};
use crate::conversation::{ConversationId, View};

impl Store {
    /// Makes the team server the source of owner and status (`Some`), with these
    /// conversations' states; or the mailbox's keywords again (`None`). `replace` drops
    /// what the overlay held before (a snapshot) rather than adding to it (an event).
    pub fn set_overlay(
        &mut self,
        states: Option<Vec<(ConversationId, Option<String>, Status)>>,
        replace: bool,
    ) -> Changed {
        let mut touched: Changed = match (&self.overlay, replace || states.is_none()) {
            (Some(old), true) => old.keys().copied().collect(),
            _ => Changed::new(),
        };
        match states {
            None => self.overlay = None,
            Some(states) => {
                let overlay = self.overlay.get_or_insert_with(Default::default);
                if replace {
                    overlay.clear();
                }
                for (id, owner, status) in states {
                    overlay.insert(id, (owner, status));
                    touched.insert(id);
                }
            }
        }
        self.reindex(touched)
    }

    pub(super) fn reapply_overlay(&mut self) {
        if let Some(overlay) = &self.overlay {
            let ids: Changed = overlay.keys().copied().collect();
            self.reindex(ids);
        }
    }

    /// The team state from the overlay, when the team server holds it.
    pub(super) fn overlaid(&self, id: ConversationId) -> Option<ConversationState> {
        let overlay = self.overlay.as_ref()?;
        let (owner, status) = overlay.get(&id).cloned().unwrap_or((None, Status::Open));
        Some(ConversationState {
            owner,
            status,
            ..ConversationState::default()
        })
    }

    /// Who holds the conversation and where it stands: from its messages' keywords, or
    /// from the team server when it holds the team state.
    pub fn team_state(&self, id: ConversationId) -> ConversationState {
        self.state_from(id, &self.sorted_records(id))
    }

    /// `team_state` from records the caller already has.
    pub(super) fn state_from(
        &self,
        id: ConversationId,
        records: &[(u16, &MessageRecord)],
    ) -> ConversationState {
        self.overlaid(id)
            .unwrap_or_else(|| derive_from(&self.shared_address, records))
    }

    /// See `Engine::team_states`.
    pub fn team_states(
        &self,
        ids: Option<&[ConversationId]>,
    ) -> Vec<(ConversationId, ConversationState, u64)> {
        let candidates: Vec<ConversationId> = match ids {
            Some(ids) => ids.to_vec(),
            None => self
                .index
                .all_ids()
                .filter(|id| {
                    self.index
                        .meta(*id)
                        .is_some_and(|m| m.owner.is_some() || m.status != Status::Open)
                })
                .collect(),
        };
        candidates
            .into_iter()
            .filter_map(|id| {
                let records = self.sorted_records(id);
                if records.is_empty() {
                    return None;
                }
                let version = records.iter().map(|(_, r)| r.modseq).max().unwrap_or(0);
                // The mailbox's own view, without the overlay: the team server asks this
                // of the mailbox.
                Some((id, derive_from(&self.shared_address, &records), version))
            })
            .collect()
    }

    /// When this client saw the current owner take the conversation, if it did.
    pub fn owner_since(&self, id: ConversationId) -> Option<i64> {
        self.index.meta(id).and_then(|m| m.owner_since)
    }

    /// The conversation's messages as the contract's planner sees them, with each
    /// folder's UIDVALIDITY so a store goes to the messages we mean.
    pub fn plan_messages(&self, id: ConversationId) -> Vec<(u32, PlanMessage)> {
        self.sorted_records(id)
            .into_iter()
            .filter_map(|(slot, r)| {
                let folder = self.folder(slot)?;
                Some((
                    folder.meta.state.uid_validity,
                    PlanMessage {
                        folder: folder.meta.name.clone(),
                        uid: r.uid,
                        modseq: r.modseq,
                        date: r.date,
                        inbound: r.from.address != self.shared_address,
                        keywords: r.keywords.clone(),
                    },
                ))
            })
            .collect()
    }

    /// Of `ids` (or of all when `None`), the conversations this member holds that have
    /// messages without the member's claim keyword (new mail): the owner's client tags
    /// them.
    pub fn untagged_mine(&self, ids: Option<&Changed>) -> Vec<ConversationId> {
        if self.overlay.is_some() {
            // The mailbox cannot keep keywords: the team server holds the baton.
            return Vec::new();
        }
        let Some(mine) = contract::TeamKeyword::Claim(self.member.clone()).encode() else {
            return Vec::new();
        };
        let candidates = match ids {
            Some(ids) => ids.iter().copied().collect(),
            None => self.index.page(View::Mine, 0, usize::MAX),
        };
        candidates
            .into_iter()
            .filter(|&id| {
                self.index
                    .meta(id)
                    .is_some_and(|m| m.owner.as_deref() == Some(self.member.as_str()))
                    && self
                        .sorted_records(id)
                        .iter()
                        .any(|(_, r)| !r.keywords.contains(&mine))
            })
            .collect()
    }
}

/// The team state the keywords of `records` give.
fn derive_from(shared_address: &str, records: &[(u16, &MessageRecord)]) -> ConversationState {
    let messages: Vec<StateMessage<'_>> = records
        .iter()
        .map(|(_, r)| state_message(shared_address, r))
        .collect();
    contract::derive(&messages)
}

/// What the contract needs of a message.
pub(super) fn state_message<'a>(
    shared_address: &str,
    record: &'a MessageRecord,
) -> StateMessage<'a> {
    StateMessage {
        date: record.date,
        inbound: record.from.address != shared_address,
        keywords: &record.keywords,
    }
}

#[cfg(test)]
mod tests {
    use super::super::now_ms;
    use super::super::testing::{
        CUSTOMER, INBOX, SENT, SHARED, T0, TestStore, flags, id, message, reply, uid_validity,
    };
    use super::*;

    const CLAIM_ANNA: &str = "baton.claim.anna";
    const CLAIM_BRAM: &str = "baton.claim.bram";

    fn in_view(store: &Store, view: View, conversation: ConversationId) -> bool {
        store
            .page(view, 0, 50)
            .rows
            .iter()
            .any(|r| r.id == conversation)
    }

    /// One customer question (INBOX 1) and one other conversation (INBOX 2).
    fn two() -> TestStore {
        let mut store = TestStore::new();
        store.upsert(
            INBOX,
            vec![
                message(1, 0, CUSTOMER, "q@c"),
                message(2, 1000, CUSTOMER, "other@c"),
            ],
        );
        store
    }

    #[test]
    fn a_claim_keyword_gives_the_owner_and_moves_the_conversation_to_mine() {
        let mut store = two();
        let q = id("q@c");
        assert!(in_view(&store, View::Unassigned, q));
        assert_eq!(store.team_state(q).owner, None);
        assert_eq!(store.owner_since(q), None);

        let before = now_ms();
        store.apply_flags(INBOX, &[flags(1, 0, &[CLAIM_ANNA], 2)]);
        assert_eq!(store.team_state(q).owner.as_deref(), Some("anna"));
        assert!(!in_view(&store, View::Unassigned, q));
        assert!(in_view(&store, View::Mine, q));
        assert!(in_view(&store, View::Team, q));
        assert!(
            in_view(&store, View::Unassigned, id("other@c")),
            "untouched"
        );
        let since = store.owner_since(q).expect("seen taking it");
        assert!(since >= before && since <= now_ms());
        assert_eq!(
            store.conversation(q).expect("detail").held_since,
            Some(since)
        );

        // Waiting on the customer, then done: out of Mine, into Done.
        store.apply_flags(INBOX, &[flags(1, 0, &[CLAIM_ANNA, "baton.waiting"], 3)]);
        assert_eq!(store.team_state(q).status, Status::Waiting);
        assert!(in_view(&store, View::Waiting, q));
        assert_eq!(store.owner_since(q), Some(since), "same owner: same since");
        store.apply_flags(INBOX, &[flags(1, 0, &[CLAIM_ANNA, "baton.done"], 4)]);
        assert!(in_view(&store, View::Done, q));
        assert!(!in_view(&store, View::Mine, q));
    }

    #[test]
    fn set_overlay_with_a_claim_reports_the_owner_and_moves_the_conversation() {
        let mut store = two();
        let q = id("q@c");
        let changed = store.set_overlay(Some(vec![(q, Some("bram".into()), Status::Open)]), true);
        assert_eq!(changed, Changed::from([q]));
        assert_eq!(store.team_state(q).owner.as_deref(), Some("bram"));
        assert!(!in_view(&store, View::Unassigned, q));
        assert!(in_view(&store, View::Team, q));
        assert!(!in_view(&store, View::Mine, q), "bram's, not anna's");
        assert!(store.owner_since(q).is_some());
        let summary = store.summary(q).expect("summary");
        assert_eq!(summary.owner.as_deref(), Some("bram"));

        // An event for anna adds to what the overlay holds.
        let other = id("other@c");
        store.set_overlay(
            Some(vec![(other, Some("anna".into()), Status::Open)]),
            false,
        );
        assert!(in_view(&store, View::Mine, other));
        assert!(in_view(&store, View::Team, q), "still bram's");

        // Back to the mailbox's keywords, which claim nothing.
        let changed = store.set_overlay(None, false);
        assert_eq!(changed, Changed::from([q, other]));
        assert_eq!(store.team_state(q).owner, None);
        assert!(in_view(&store, View::Unassigned, q));
        assert!(in_view(&store, View::Unassigned, other));
        assert_eq!(store.owner_since(q), None);
    }

    #[test]
    fn an_overlay_snapshot_replaces_what_it_held_and_ignores_the_keywords() {
        let mut store = two();
        let (q, other) = (id("q@c"), id("other@c"));
        store.apply_flags(INBOX, &[flags(2, 0, &[CLAIM_ANNA], 2)]);
        store.set_overlay(
            Some(vec![
                (q, Some("bram".into()), Status::Waiting),
                (other, Some("bram".into()), Status::Open),
            ]),
            true,
        );
        assert_eq!(store.team_state(other).owner.as_deref(), Some("bram"));
        assert_eq!(store.team_state(q).status, Status::Waiting);

        let changed = store.set_overlay(Some(vec![(q, Some("bram".into()), Status::Done)]), true);
        assert_eq!(changed, Changed::from([q, other]), "both rows change");
        assert_eq!(store.team_state(q).status, Status::Done);
        // Not listed by the server: open and unassigned, whatever the keywords say.
        assert_eq!(store.team_state(other), ConversationState::default());
        assert!(in_view(&store, View::Unassigned, other));
    }

    #[test]
    fn the_overlay_survives_threading_again() {
        let mut store = two();
        let q = id("q@c");
        store.set_overlay(Some(vec![(q, Some("anna".into()), Status::Open)]), true);
        store.insert_unthreaded(INBOX, vec![reply(3, 2000, CUSTOMER, "q2@c", "q@c")]);
        assert!(store.thread_pending());
        assert_eq!(store.team_state(q).owner.as_deref(), Some("anna"));
        assert!(in_view(&store, View::Mine, q));
    }

    #[test]
    fn team_states_give_the_mailbox_view_and_its_newest_modseq() {
        let mut store = two();
        let (q, other) = (id("q@c"), id("other@c"));
        store.apply_flags(INBOX, &[flags(1, 0, &[CLAIM_BRAM], 9)]);
        let states = store.team_states(None);
        assert_eq!(states.len(), 1, "only conversations held or not open");
        let (state_id, state, version) = &states[0];
        assert_eq!(
            (*state_id, state.owner.as_deref(), *version),
            (q, Some("bram"), 9)
        );

        // The overlay does not change what the mailbox says.
        store.set_overlay(Some(vec![(q, Some("anna".into()), Status::Done)]), true);
        let states = store.team_states(Some(&[q, other, id("nothing@x")]));
        let owners: Vec<(ConversationId, Option<String>, u64)> = states
            .into_iter()
            .map(|(id, state, version)| (id, state.owner, version))
            .collect();
        assert_eq!(owners, vec![(q, Some("bram".into()), 9), (other, None, 1)]);
    }

    #[test]
    fn untagged_mine_finds_new_mail_in_the_conversations_this_member_holds() {
        let mut store = two();
        let q = id("q@c");
        store.apply_flags(INBOX, &[flags(1, 0, &[CLAIM_ANNA], 2)]);
        assert!(store.untagged_mine(None).is_empty(), "all tagged");
        // The customer writes again: the new message has no claim yet.
        store.upsert(INBOX, vec![reply(3, 2000, CUSTOMER, "q2@c", "q@c")]);
        assert_eq!(store.untagged_mine(None), vec![q]);
        assert_eq!(store.untagged_mine(Some(&Changed::from([q]))), vec![q]);
        assert!(
            store
                .untagged_mine(Some(&Changed::from([id("other@c")])))
                .is_empty()
        );
        // Held by someone else: not this member's to tag.
        store.apply_flags(INBOX, &[flags(1, 0, &[CLAIM_BRAM], 3)]);
        assert!(store.untagged_mine(None).is_empty());
        // With the team server holding the state there are no keywords to write.
        store.apply_flags(INBOX, &[flags(1, 0, &[CLAIM_ANNA], 4)]);
        assert_eq!(store.untagged_mine(None), vec![q]);
        store.set_overlay(Some(Vec::new()), true);
        assert!(store.untagged_mine(None).is_empty());
    }

    #[test]
    fn plan_messages_carry_folder_uid_validity_and_direction() {
        let mut store = two();
        store.set_state(INBOX, uid_validity(7));
        store.upsert(SENT, vec![reply(4, 500, SHARED, "a@s", "q@c")]);
        store.apply_flags(INBOX, &[flags(1, 0, &[CLAIM_ANNA], 6)]);
        let plan = store.plan_messages(id("q@c"));
        assert_eq!(
            plan,
            vec![
                (
                    7,
                    PlanMessage {
                        folder: "INBOX".into(),
                        uid: 1,
                        modseq: 6,
                        date: T0,
                        inbound: true,
                        keywords: vec![CLAIM_ANNA.to_owned()],
                    }
                ),
                (
                    0,
                    PlanMessage {
                        folder: "Sent".into(),
                        uid: 4,
                        modseq: 1,
                        date: T0 + 500,
                        inbound: false,
                        keywords: Vec::new(),
                    }
                ),
            ]
        );
    }

    #[test]
    fn a_team_reply_leaves_the_status_and_a_customer_reply_reopens() {
        let question = MessageRecord {
            keywords: vec!["baton.waiting".to_owned()],
            ..message(1, 0, CUSTOMER, "q@c")
        };
        let team_reply = reply(2, 1000, SHARED, "a@s", "q@c");
        assert!(!state_message(SHARED, &team_reply).inbound);
        let records = [(INBOX, &question), (SENT, &team_reply)];
        assert_eq!(derive_from(SHARED, &records).status, Status::Waiting);
        let customer_reply = reply(2, 1000, CUSTOMER, "q2@c", "q@c");
        assert!(state_message(SHARED, &customer_reply).inbound);
        let records = [(INBOX, &question), (INBOX, &customer_reply)];
        assert_eq!(derive_from(SHARED, &records).status, Status::Open);
    }
}
