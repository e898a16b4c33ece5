//! The order of the conversation lists: per view, conversations newest first. Kept up to
//! date incrementally so a 100,000-row list pages without sorting.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use rustc_hash::FxHashMap as HashMap;

use crate::conversation::{ConversationId, View};

/// What decides a conversation's place in the lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowMeta {
    pub latest: i64,
    pub in_inbox: bool,
    pub in_sent: bool,
}

type Order = BTreeSet<(Reverse<i64>, ConversationId)>;

#[derive(Debug, Default)]
pub struct ConversationIndex {
    meta: HashMap<ConversationId, RowMeta>,
    inbox: Order,
    sent: Order,
}

impl ConversationIndex {
    pub fn set(&mut self, id: ConversationId, meta: Option<RowMeta>) {
        if let Some(old) = self.meta.remove(&id) {
            self.inbox.remove(&(Reverse(old.latest), id));
            self.sent.remove(&(Reverse(old.latest), id));
        }
        if let Some(meta) = meta {
            if meta.in_inbox {
                self.inbox.insert((Reverse(meta.latest), id));
            }
            if meta.in_sent {
                self.sent.insert((Reverse(meta.latest), id));
            }
            self.meta.insert(id, meta);
        }
    }

    fn order(&self, view: View) -> &Order {
        match view {
            View::Inbox => &self.inbox,
            View::Sent => &self.sent,
        }
    }

    pub fn total(&self, view: View) -> usize {
        self.order(view).len()
    }

    pub fn page(&self, view: View, offset: usize, limit: usize) -> Vec<ConversationId> {
        self.order(view)
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(_, id)| *id)
            .collect()
    }

    pub fn clear(&mut self) {
        *self = ConversationIndex::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_and_moves_on_update() {
        let mut index = ConversationIndex::default();
        let meta = |latest, in_inbox, in_sent| {
            Some(RowMeta {
                latest,
                in_inbox,
                in_sent,
            })
        };
        index.set(ConversationId(1), meta(10, true, false));
        index.set(ConversationId(2), meta(20, true, true));
        index.set(ConversationId(3), meta(5, false, true));
        assert_eq!(
            index.page(View::Inbox, 0, 10),
            vec![ConversationId(2), ConversationId(1)]
        );
        assert_eq!(
            index.page(View::Sent, 0, 10),
            vec![ConversationId(2), ConversationId(3)]
        );
        index.set(ConversationId(1), meta(30, true, false));
        assert_eq!(index.page(View::Inbox, 0, 1), vec![ConversationId(1)]);
        assert_eq!(index.page(View::Inbox, 1, 5), vec![ConversationId(2)]);
        index.set(ConversationId(2), None);
        assert_eq!(index.total(View::Inbox), 1);
        assert_eq!(index.total(View::Sent), 1);
    }
}
