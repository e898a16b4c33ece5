//! What the lists and the reading pane show: where each conversation sits in the views
//! (kept up to date as conversations change), pages of a view and the previews their rows
//! still want, a row's summary and a conversation's messages.

use super::index::RowMeta;
use super::record::{Flags, MessageRecord};
use super::team_state::state_message;
use super::{Changed, Folder, MAX_PAGE, Store, now_ms, record_in, unhandle};
use crate::contract::{self, Status};
use crate::conversation::{
    ConversationDetail, ConversationId, ConversationPage, ConversationSummary, Correspondent,
    FolderRole, MessageKey, MessageSummary, View,
};
use crate::problem::{Problem, ProblemCode};
use crate::threading::Threads;

impl Store {
    pub(super) fn reindex(&mut self, ids: Changed) -> Changed {
        self.lists_dirty |= !ids.is_empty();
        let now = now_ms();
        for &id in &ids {
            let mut meta = self.row_meta(id);
            if let Some(new) = meta.as_mut() {
                // Remember when the baton changed hands, for "claimed by bram 3 s ago".
                new.owner_since = match self.index.meta(id) {
                    Some(old) if old.owner == new.owner => old.owner_since,
                    _ if new.owner.is_some() => Some(now),
                    _ => None,
                };
            }
            self.index.set(id, meta);
        }
        ids
    }

    fn row_meta(&self, id: ConversationId) -> Option<RowMeta> {
        let mut meta = row_meta(&self.threads, &self.folders, &self.shared_address, id)?;
        if let Some(state) = self.overlaid(id) {
            meta.owner = state.owner;
            meta.status = state.status;
        }
        Some(meta)
    }

    pub fn page(&self, view: View, offset: usize, limit: usize) -> ConversationPage {
        if !self.ready {
            return self.snapshot_page(view, offset, limit);
        }
        let rows = self
            .index
            .page(view, offset, limit.min(MAX_PAGE))
            .into_iter()
            .filter_map(|id| self.summary(id))
            .collect();
        ConversationPage {
            view,
            total: self.index.total(view) as u32,
            offset: offset as u32,
            rows,
        }
    }

    fn snapshot_page(&self, view: View, offset: usize, limit: usize) -> ConversationPage {
        let (total, rows) = self
            .snapshot
            .views
            .iter()
            .find(|(v, _, _)| *v == view)
            .map(|(_, total, rows)| {
                (
                    *total,
                    rows.iter()
                        .skip(offset)
                        .take(limit.min(MAX_PAGE))
                        .cloned()
                        .collect(),
                )
            })
            .unwrap_or((0, Vec::new()));
        ConversationPage {
            view,
            total,
            offset: offset as u32,
            rows,
        }
    }

    /// The newest message of each conversation that still lacks a preview.
    pub fn previews_wanted(&self, ids: &[ConversationId]) -> Vec<(u16, u32)> {
        ids.iter()
            .filter_map(|&id| {
                let records = self.sorted_records(id);
                let (slot, newest) = records.last()?;
                newest.preview.is_none().then_some((*slot, newest.uid))
            })
            .collect()
    }

    pub fn summary(&self, id: ConversationId) -> Option<ConversationSummary> {
        let records = self.sorted_records(id);
        let (_, first) = *records.first()?;
        let (newest_slot, newest) = *records.last()?;
        let customer = records
            .iter()
            .rev()
            .find(|(_, r)| !self.is_team(&r.from.address))
            .map(|(_, r)| Correspondent::from(&r.from))
            .or_else(|| {
                first
                    .to
                    .iter()
                    .find(|a| !self.is_team(&a.address))
                    .map(Correspondent::from)
            })
            .unwrap_or(Correspondent {
                name: String::new(),
                address: String::new(),
            });
        let preview = records
            .iter()
            .rev()
            .find_map(|(_, r)| r.preview.clone())
            .unwrap_or_default();
        let team = self.state_from(id, &records);
        Some(ConversationSummary {
            id,
            owner: team.owner,
            status: team.status,
            has_notes: team.has_notes,
            subject: first.subject.clone(),
            customer,
            latest_at: newest.date,
            message_count: records.len() as u32,
            preview,
            has_attachments: records.iter().any(|(_, r)| r.has_attachments),
            awaiting_reply: self.role(newest_slot) == FolderRole::Inbox
                && !self.is_team(&newest.from.address)
                && !newest.flags.has(Flags::ANSWERED),
        })
    }

    pub fn conversation(&self, id: ConversationId) -> Option<ConversationDetail> {
        let records = self.sorted_records(id);
        let subject = records.first()?.1.subject.clone();
        let messages = records
            .iter()
            .filter_map(|(slot, r)| self.message_summary(*slot, r))
            .collect();
        let team = self.state_from(id, &records);
        Some(ConversationDetail {
            id,
            subject,
            messages,
            owner: team.owner,
            status: team.status,
            held_since: self.owner_since(id),
        })
    }

    fn message_summary(&self, slot: u16, r: &MessageRecord) -> Option<MessageSummary> {
        let folder = self.folder(slot)?;
        Some(MessageSummary {
            key: MessageKey {
                folder: folder.meta.name.clone(),
                uid_validity: folder.meta.state.uid_validity,
                uid: r.uid,
            },
            role: folder.meta.role,
            from_team: self.is_team(&r.from.address),
            from: Correspondent::from(&r.from),
            to: r.to.iter().map(Correspondent::from).collect(),
            cc: r.cc.iter().map(Correspondent::from).collect(),
            subject: r.subject.clone(),
            date: r.date,
            size: r.size,
            preview: r.preview.clone().unwrap_or_default(),
            answered: r.flags.has(Flags::ANSWERED),
            flagged: r.flags.has(Flags::FLAGGED),
            problem: r
                .problem
                .as_ref()
                .map(|p| Problem::new(ProblemCode::MessageUnreadable, p.clone())),
        })
    }

    /// The conversation's messages as the duplicate-reply guard compares them.
    pub fn guard_messages(&self, id: ConversationId) -> Vec<crate::compose::guard::GuardMessage> {
        self.sorted_records(id)
            .into_iter()
            .filter_map(|(slot, r)| {
                let summary = self.message_summary(slot, r)?;
                Some(crate::compose::guard::GuardMessage {
                    key: summary.key,
                    message_id: r.message_id.clone(),
                    role: summary.role,
                    from_team: summary.from_team,
                    from: summary.from,
                    date: r.date,
                    preview: summary.preview,
                    answered: summary.answered,
                })
            })
            .collect()
    }

    pub fn total(&self, view: View) -> usize {
        self.index.total(view)
    }
}

/// Where a conversation sits in the lists.
pub(super) fn row_meta(
    threads: &Threads,
    folders: &[Folder],
    shared_address: &str,
    id: ConversationId,
) -> Option<RowMeta> {
    let mut meta: Option<RowMeta> = None;
    let mut team = Vec::new();
    for &h in threads.messages(id) {
        let (slot, _) = unhandle(h);
        let (Some(record), Some(folder)) = (record_in(folders, h), folders.get(slot as usize))
        else {
            continue;
        };
        let m = meta.get_or_insert(RowMeta {
            latest: i64::MIN,
            owner_since: None,
            in_inbox: false,
            in_sent: false,
            owner: None,
            status: Status::Open,
        });
        m.latest = m.latest.max(record.date);
        m.in_inbox |= folder.meta.role == FolderRole::Inbox;
        m.in_sent |= folder.meta.role == FolderRole::Sent;
        team.push(state_message(shared_address, record));
    }
    if let Some(m) = meta.as_mut() {
        let state = contract::derive(&team);
        m.owner = state.owner;
        m.status = state.status;
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::super::testing::{
        CUSTOMER, INBOX, ME, SENT, SHARED, T0, TestStore, flags, id, message, reply, uid_validity,
    };
    use super::*;

    fn ids(page: &ConversationPage) -> Vec<ConversationId> {
        page.rows.iter().map(|r| r.id).collect()
    }

    /// Three conversations in the INBOX, written at 10 s, 30 s and 20 s.
    fn three() -> TestStore {
        let mut store = TestStore::new();
        store.upsert(
            INBOX,
            vec![
                message(1, 10_000, CUSTOMER, "a@c"),
                message(2, 30_000, CUSTOMER, "b@c"),
                message(3, 20_000, CUSTOMER, "c@c"),
            ],
        );
        store
    }

    #[test]
    fn pages_are_newest_first_with_totals_and_respect_offset_and_limit() {
        let store = three();
        let newest_first = vec![id("b@c"), id("c@c"), id("a@c")];
        for view in [View::Unassigned, View::All] {
            let page = store.page(view, 0, 50);
            assert_eq!(page.view, view);
            assert_eq!(ids(&page), newest_first, "{view:?}");
            assert_eq!((page.total, page.offset), (3, 0));
            assert_eq!(store.total(view), 3);
        }
        let page = store.page(View::All, 1, 1);
        assert_eq!(ids(&page), vec![id("c@c")]);
        assert_eq!(
            (page.total, page.offset),
            (3, 1),
            "the total of the whole view"
        );
        assert!(store.page(View::All, 3, 10).rows.is_empty());
        for view in [
            View::Mine,
            View::Team,
            View::Waiting,
            View::Done,
            View::Sent,
        ] {
            assert_eq!(store.page(view, 0, 50).total, 0, "{view:?}");
        }
        assert_eq!(store.page(View::All, 0, 50).rows[0].latest_at, T0 + 30_000);
    }

    #[test]
    fn a_new_message_moves_its_conversation_to_the_top() {
        let mut store = three();
        let changed = store.upsert(INBOX, vec![reply(4, 40_000, CUSTOMER, "a2@c", "a@c")]);
        assert_eq!(changed, Changed::from([id("a@c")]));
        assert_eq!(
            ids(&store.page(View::All, 0, 50)),
            vec![id("a@c"), id("b@c"), id("c@c")]
        );
        store.remove(INBOX, &[2]);
        assert_eq!(
            ids(&store.page(View::All, 0, 50)),
            vec![id("a@c"), id("c@c")]
        );
        assert_eq!(store.total(View::All), 2);
    }

    #[test]
    fn only_sent_mail_shows_in_sent_and_not_in_all() {
        let mut store = TestStore::new();
        store.upsert(SENT, vec![message(1, 0, SHARED, "out@s")]);
        assert_eq!(ids(&store.page(View::Sent, 0, 50)), vec![id("out@s")]);
        assert_eq!(
            store.total(View::All),
            0,
            "All is the INBOX's conversations"
        );
        assert_eq!(store.total(View::Unassigned), 0);
    }

    #[test]
    fn summary_names_the_customer_and_awaits_a_reply_until_answered() {
        let mut store = TestStore::new();
        let mut question = message(1, 0, CUSTOMER, "q@c");
        question.subject = "Broken invoice".into();
        question.preview = Some("It is broken".into());
        store.upsert(INBOX, vec![question]);
        let summary = store.summary(id("q@c")).expect("summary");
        assert_eq!(summary.subject, "Broken invoice");
        assert_eq!(summary.customer.address, CUSTOMER);
        assert_eq!(summary.message_count, 1);
        assert_eq!(summary.preview, "It is broken");
        assert!(summary.awaiting_reply);
        assert_eq!((summary.owner, summary.status), (None, Status::Open));

        store.apply_flags(INBOX, &[flags(1, Flags::ANSWERED, &[], 2)]);
        assert!(!store.summary(id("q@c")).expect("summary").awaiting_reply);

        let mut answer = reply(1, 1000, SHARED, "a@s", "q@c");
        answer.has_attachments = true;
        store.upsert(SENT, vec![answer]);
        let summary = store.summary(id("q@c")).expect("summary");
        assert_eq!(summary.message_count, 2);
        assert_eq!(summary.subject, "Broken invoice", "the first message's");
        assert_eq!(summary.customer.address, CUSTOMER, "not the team");
        assert_eq!(
            summary.preview, "It is broken",
            "the newest preview there is"
        );
        assert!(summary.has_attachments);
        assert_eq!(summary.latest_at, T0 + 1000);
        assert!(store.summary(id("nothing@x")).is_none());
    }

    #[test]
    fn conversation_lists_its_messages_oldest_first_with_their_keys() {
        let mut store = TestStore::new();
        store.set_state(INBOX, uid_validity(7));
        store.upsert(INBOX, vec![message(5, 0, CUSTOMER, "q@c")]);
        let mut unreadable = reply(9, 1000, SHARED, "a@s", "q@c");
        unreadable.problem = Some("no headers".into());
        store.upsert(SENT, vec![unreadable]);
        let detail = store.conversation(id("q@c")).expect("detail");
        assert_eq!(detail.id, id("q@c"));
        assert_eq!(detail.subject, "Question q@c");
        let keys: Vec<(String, u32, u32, bool)> = detail
            .messages
            .iter()
            .map(|m| {
                (
                    m.key.folder.clone(),
                    m.key.uid_validity,
                    m.key.uid,
                    m.from_team,
                )
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                ("INBOX".to_owned(), 7, 5, false),
                ("Sent".to_owned(), 0, 9, true)
            ]
        );
        assert_eq!(detail.messages[1].role, FolderRole::Sent);
        assert!(detail.messages[0].problem.is_none());
        let problem = detail.messages[1].problem.as_ref().expect("a problem");
        assert_eq!(problem.code, ProblemCode::MessageUnreadable);
        assert_eq!(detail.held_since, None);
        assert!(store.conversation(id("nothing@x")).is_none());

        let guard = store.guard_messages(id("q@c"));
        let seen: Vec<(&str, bool)> = guard
            .iter()
            .map(|m| (m.message_id.as_str(), m.from_team))
            .collect();
        assert_eq!(seen, vec![("q@c", false), ("a@s", true)]);
    }

    #[test]
    fn before_the_messages_are_loaded_pages_come_from_the_saved_snapshot() {
        let mut store = three();
        store.save().expect("saves");
        let TestStore { store, dir } = store;
        drop(store);

        let (mut reopened, pending) = Store::open(dir.path(), SHARED, ME).expect("opens");
        assert!(!reopened.is_ready());
        let page = reopened.page(View::All, 1, 10);
        assert_eq!(ids(&page), vec![id("c@c"), id("a@c")]);
        assert_eq!((page.total, page.offset), (3, 1));
        assert_eq!(reopened.page(View::Mine, 0, 10).total, 0);
        reopened.install(pending.build().expect("builds"));
        assert_eq!(ids(&reopened.page(View::All, 1, 10)), ids(&page));
    }

    #[test]
    fn rows_want_the_preview_of_their_newest_message() {
        let mut store = TestStore::new();
        store.upsert(
            INBOX,
            vec![
                message(1, 0, CUSTOMER, "a@c"),
                message(2, 3000, CUSTOMER, "b@c"),
            ],
        );
        store.upsert(SENT, vec![reply(1, 2000, SHARED, "a2@s", "a@c")]);
        assert_eq!(
            store.previews_wanted(&[id("a@c"), id("b@c"), id("nothing@x")]),
            vec![(SENT, 1), (INBOX, 2)]
        );
        store.set_preview(SENT, 1, "Thanks, fixed".into());
        assert_eq!(store.previews_wanted(&[id("a@c")]), Vec::new());
        assert_eq!(
            store.summary(id("a@c")).expect("summary").preview,
            "Thanks, fixed"
        );
    }
}
