//! The order of the conversation lists: per view, conversations newest first (the team
//! view grouped by who holds them). Kept up to date incrementally so a 100,000-row list
//! pages without sorting.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use rustc_hash::FxHashMap;

use crate::contract::Status;
use crate::conversation::{ConversationId, View};

/// What decides a conversation's place in the lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowMeta {
    pub latest: i64,
    /// When this client saw the current owner take the conversation (milliseconds since
    /// the epoch); unknown for claims older than this session.
    pub owner_since: Option<i64>,
    pub in_inbox: bool,
    pub in_sent: bool,
    pub owner: Option<String>,
    pub status: Status,
}

/// (group, newest first, id): the group is the holder in the team view, empty elsewhere.
type Key = (String, Reverse<i64>, ConversationId);

#[derive(Debug, Default)]
pub struct ConversationIndex {
    /// This member: "mine" depends on it.
    me: String,
    meta: FxHashMap<ConversationId, RowMeta>,
    orders: HashMap<View, BTreeSet<Key>>,
}

/// Every view, in the sidebar's order.
pub const VIEWS: [View; 7] = [
    View::Unassigned,
    View::Mine,
    View::Team,
    View::Waiting,
    View::Done,
    View::All,
    View::Sent,
];

impl ConversationIndex {
    pub fn new(me: &str) -> ConversationIndex {
        ConversationIndex {
            me: me.to_owned(),
            ..Default::default()
        }
    }

    /// The views a conversation shows in.
    fn views(&self, meta: &RowMeta) -> Vec<View> {
        let open_work = meta.status != Status::Done;
        let mut views = Vec::with_capacity(3);
        if meta.in_inbox {
            views.push(View::All);
            if meta.owner.is_none() && meta.status == Status::Open {
                views.push(View::Unassigned);
            }
        }
        if open_work && meta.owner.as_deref() == Some(self.me.as_str()) {
            views.push(View::Mine);
        }
        if open_work && meta.owner.is_some() {
            views.push(View::Team);
        }
        match meta.status {
            Status::Waiting => views.push(View::Waiting),
            Status::Done => views.push(View::Done),
            Status::Open => {}
        }
        if meta.in_sent {
            views.push(View::Sent);
        }
        views
    }

    fn key(view: View, meta: &RowMeta, id: ConversationId) -> Key {
        let group = match view {
            View::Team => meta.owner.clone().unwrap_or_default(),
            _ => String::new(),
        };
        (group, Reverse(meta.latest), id)
    }

    pub fn set(&mut self, id: ConversationId, meta: Option<RowMeta>) {
        if let Some(old) = self.meta.remove(&id) {
            for view in self.views(&old) {
                if let Some(order) = self.orders.get_mut(&view) {
                    order.remove(&Self::key(view, &old, id));
                }
            }
        }
        if let Some(meta) = meta {
            for view in self.views(&meta) {
                self.orders
                    .entry(view)
                    .or_default()
                    .insert(Self::key(view, &meta, id));
            }
            self.meta.insert(id, meta);
        }
    }

    pub fn all_ids(&self) -> impl Iterator<Item = ConversationId> + '_ {
        self.meta.keys().copied()
    }

    pub fn meta(&self, id: ConversationId) -> Option<&RowMeta> {
        self.meta.get(&id)
    }

    pub fn total(&self, view: View) -> usize {
        self.orders.get(&view).map_or(0, BTreeSet::len)
    }

    pub fn page(&self, view: View, offset: usize, limit: usize) -> Vec<ConversationId> {
        self.orders
            .get(&view)
            .map(|order| {
                order
                    .iter()
                    .skip(offset)
                    .take(limit)
                    .map(|(_, _, id)| *id)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many conversations each view holds, for the sidebar's counters.
    pub fn counts(&self) -> Vec<(View, u32)> {
        VIEWS
            .iter()
            .map(|&view| (view, self.total(view) as u32))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(latest: i64, owner: Option<&str>, status: Status) -> Option<RowMeta> {
        Some(RowMeta {
            latest,
            owner_since: None,
            in_inbox: true,
            in_sent: false,
            owner: owner.map(String::from),
            status,
        })
    }

    #[test]
    fn views_follow_owner_and_status() {
        let mut index = ConversationIndex::new("anna");
        index.set(ConversationId(1), meta(10, None, Status::Open));
        index.set(ConversationId(2), meta(20, Some("anna"), Status::Open));
        index.set(ConversationId(3), meta(30, Some("bram"), Status::Waiting));
        index.set(ConversationId(4), meta(40, Some("anna"), Status::Done));
        fn ids(index: &ConversationIndex, view: View) -> Vec<u64> {
            index.page(view, 0, 10).into_iter().map(|c| c.0).collect()
        }
        assert_eq!(ids(&index, View::All), vec![4, 3, 2, 1]);
        assert_eq!(ids(&index, View::Unassigned), vec![1]);
        assert_eq!(ids(&index, View::Mine), vec![2]);
        assert_eq!(
            ids(&index, View::Team),
            vec![2, 3],
            "grouped by holder: anna before bram"
        );
        assert_eq!(ids(&index, View::Waiting), vec![3]);
        assert_eq!(ids(&index, View::Done), vec![4]);
        assert_eq!(ids(&index, View::Sent), Vec::<u64>::new());
        // A claim moves a conversation out of Unassigned and into Mine.
        index.set(ConversationId(1), meta(10, Some("anna"), Status::Open));
        assert_eq!(ids(&index, View::Unassigned), Vec::<u64>::new());
        assert_eq!(ids(&index, View::Mine), vec![2, 1]);
        index.set(ConversationId(2), None);
        assert_eq!(index.total(View::All), 3);
        assert_eq!(index.counts()[1], (View::Mine, 1));
    }
}
