//! Which conversations the cached messages form: all of them threaded at once on a start
//! (`Pending::build`) and after a bulk insert (`rethread`), and the lookups by
//! conversation. Messages that come one at a time are threaded as they are added
//! (`folders`).

use std::collections::BTreeMap;

use super::index::ConversationIndex;
use super::persist::{FolderMeta, FolderState};
use super::record::MessageRecord;
use super::views::row_meta;
use super::{Built, Folder, Pending, Store, handle, record_in, unhandle};
use crate::conversation::{ConversationId, FolderRole};
use crate::problem::{Problem, ProblemCode, Result};
use crate::threading::{MessageHandle, ThreadChanges, ThreadInput, Threads};

impl Pending {
    /// Waits for the messages, builds the folders and threads every message (the slow
    /// part of a start). Blocks: run it on a blocking thread.
    pub fn build(self) -> Result<Built> {
        let loaded = self
            .loaded
            .recv()
            .map_err(|_| Problem::new(ProblemCode::CacheFailed, "the cache thread stopped"))??;
        let mut folders: Vec<Folder> = Vec::new();
        for meta in loaded.folders {
            let slot = meta.slot as usize;
            if folders.len() <= slot {
                folders.resize_with(slot + 1, || Folder {
                    meta: placeholder_meta(),
                    messages: BTreeMap::new(),
                });
            }
            folders[slot] = Folder {
                meta,
                messages: BTreeMap::new(),
            };
        }
        for (slot, records) in loaded.chunks {
            if let Some(folder) = folders.get_mut(slot as usize) {
                folder
                    .messages
                    .extend(records.into_iter().map(|r| (r.uid, r)));
            }
        }
        let (threads, index) = thread_all(&folders, &self.shared_address, &self.member);
        Ok(Built {
            folders,
            threads,
            index,
        })
    }
}

impl Store {
    /// Threads what `insert_unthreaded` added (by threading everything again, in date
    /// order). Returns whether anything was done.
    pub fn thread_pending(&mut self) -> bool {
        if !self.unthreaded {
            return false;
        }
        self.rethread();
        true
    }

    /// Threads every message again, oldest first. The result depends only on the
    /// messages, so it is the same after a restart and on every colleague's computer.
    pub fn rethread(&mut self) {
        let (threads, index) = thread_all(&self.folders, &self.shared_address, &self.member);
        self.threads = threads;
        self.index = index;
        self.unthreaded = false;
        self.lists_dirty = true;
        self.reapply_overlay();
    }

    pub(super) fn sorted_records(&self, id: ConversationId) -> Vec<(u16, &MessageRecord)> {
        let mut records: Vec<(u16, &MessageRecord)> = self
            .threads
            .messages(id)
            .iter()
            .filter_map(|&h| Some((unhandle(h).0, self.record(h)?)))
            .collect();
        records.sort_by_key(|(slot, r)| (r.date, *slot, r.uid));
        records
    }

    /// Every conversation's id.
    pub fn conversation_ids(&self) -> Vec<ConversationId> {
        self.threads.conversation_ids().collect()
    }

    /// The Message-ID of the conversation's root: what a note is about.
    pub fn root_message_id(&self, id: ConversationId) -> Option<String> {
        self.threads.root_message_id(id).map(str::to_owned)
    }

    /// The conversation a message belongs to, by its Message-ID, if it is here.
    pub fn conversation_of_message_id(&self, message_id: &str) -> Option<ConversationId> {
        self.threads.conversation_of_message_id(message_id)
    }

    pub fn conversation_count(&self) -> usize {
        self.threads.conversation_count()
    }
}

/// Threads every message, oldest first, and orders the lists. The result depends only on
/// the messages, so it is the same after a restart and on every colleague's computer.
fn thread_all(
    folders: &[Folder],
    shared_address: &str,
    member: &str,
) -> (Threads, ConversationIndex) {
    let mut order: Vec<(i64, MessageHandle)> = Vec::new();
    for (slot, folder) in folders.iter().enumerate() {
        order.extend(
            folder
                .messages
                .values()
                .map(|r| (r.date, handle(slot as u16, r.uid))),
        );
    }
    order.sort_unstable();
    let mut threads = Threads::new();
    let mut ignored = ThreadChanges::default();
    for (_, h) in &order {
        if let Some(record) = record_in(folders, *h) {
            let correspondent = correspondent_of(shared_address, record);
            threads.add(&thread_input(*h, record, correspondent), &mut ignored);
        }
    }
    let mut index = ConversationIndex::new(member);
    let ids: Vec<ConversationId> = threads.conversation_ids().collect();
    for id in ids {
        index.set(id, row_meta(&threads, folders, shared_address, id));
    }
    (threads, index)
}

/// The customer's address of a message: its sender, or for the team's own messages the
/// first recipient.
pub(super) fn correspondent_of<'a>(
    shared_address: &str,
    record: &'a MessageRecord,
) -> Option<&'a str> {
    if record.from.address != shared_address && !record.from.address.is_empty() {
        return Some(&record.from.address);
    }
    record
        .to
        .iter()
        .find(|a| a.address != shared_address)
        .map(|a| a.address.as_str())
}

fn placeholder_meta() -> FolderMeta {
    FolderMeta {
        name: String::new(),
        slot: u16::MAX,
        role: FolderRole::Other,
        state: FolderState::default(),
    }
}

pub(super) fn thread_input<'a>(
    h: MessageHandle,
    record: &'a MessageRecord,
    correspondent: Option<&'a str>,
) -> ThreadInput<'a> {
    ThreadInput {
        handle: h,
        message_id: &record.message_id,
        references: &record.references,
        in_reply_to: &record.in_reply_to,
        subject: &record.subject,
        date: record.date,
        thread_key: record.thread_topic_key.as_deref(),
        correspondent,
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::Address;
    use super::super::testing::{CUSTOMER, INBOX, ME, SENT, SHARED, TestStore, id, message, reply};
    use super::*;
    use crate::conversation::View;

    #[test]
    fn replies_join_their_root_in_any_folder() {
        let mut store = TestStore::new();
        store.upsert(
            INBOX,
            vec![
                message(1, 0, CUSTOMER, "q@c"),
                message(2, 500, CUSTOMER, "other@c"),
            ],
        );
        store.upsert(SENT, vec![reply(1, 1000, SHARED, "a@s", "q@c")]);
        assert_eq!(store.conversation_count(), 2);
        let mut ids = store.conversation_ids();
        ids.sort();
        let mut expected = vec![id("q@c"), id("other@c")];
        expected.sort();
        assert_eq!(ids, expected);
        assert_eq!(store.conversation_of_message_id("a@s"), Some(id("q@c")));
        assert_eq!(store.conversation_of_message_id("unknown@x"), None);
        assert_eq!(store.root_message_id(id("q@c")).as_deref(), Some("q@c"));
        let records: Vec<(u16, u32)> = store
            .sorted_records(id("q@c"))
            .into_iter()
            .map(|(slot, r)| (slot, r.uid))
            .collect();
        assert_eq!(records, vec![(INBOX, 1), (SENT, 1)], "oldest first");
    }

    #[test]
    fn unthreaded_messages_show_after_thread_pending() {
        let mut store = TestStore::new();
        assert!(!store.thread_pending(), "nothing to do");
        store.insert_unthreaded(
            INBOX,
            vec![
                // Added newest first, as a first sync does.
                reply(2, 1000, CUSTOMER, "q2@c", "q@c"),
                message(1, 0, CUSTOMER, "q@c"),
            ],
        );
        assert_eq!(store.message_count(INBOX), 2);
        assert_eq!(store.conversation_count(), 0);
        assert_eq!(store.total(View::All), 0);
        assert!(store.thread_pending());
        assert_eq!(store.conversation_count(), 1);
        assert_eq!(store.total(View::All), 1);
        assert_eq!(store.conversation_of_message_id("q2@c"), Some(id("q@c")));
        assert!(!store.thread_pending(), "done once");
    }

    #[test]
    fn a_reopened_cache_builds_the_same_conversations() {
        let mut store = TestStore::new();
        store.upsert(
            INBOX,
            vec![
                message(1, 0, CUSTOMER, "q@c"),
                reply(2, 1000, CUSTOMER, "q2@c", "q@c"),
                message(3, 2000, CUSTOMER, "other@c"),
            ],
        );
        store.upsert(SENT, vec![reply(1, 1500, SHARED, "a@s", "q@c")]);
        store.save().expect("saves");
        let TestStore { store, dir } = store;
        drop(store);

        let (mut reopened, pending) = Store::open(dir.path(), SHARED, ME).expect("opens");
        assert!(!reopened.is_ready());
        reopened.install(pending.build().expect("builds"));
        assert!(reopened.is_ready());
        assert_eq!(reopened.slot_of("Sent"), Some(SENT));
        assert_eq!(reopened.uids(INBOX), vec![1, 2, 3]);
        assert_eq!(reopened.conversation_count(), 2);
        assert_eq!(reopened.sorted_records(id("q@c")).len(), 3);
        assert_eq!(reopened.total(View::All), 2);
        assert_eq!(reopened.total(View::Sent), 1);
    }

    #[test]
    fn the_correspondent_is_the_customer_on_either_side() {
        let inbound = message(1, 0, CUSTOMER, "q@c");
        assert_eq!(correspondent_of(SHARED, &inbound), Some(CUSTOMER));
        let outbound = message(2, 0, SHARED, "a@s");
        assert_eq!(correspondent_of(SHARED, &outbound), Some(CUSTOMER));
        let no_sender = MessageRecord {
            from: Address::default(),
            ..message(3, 0, CUSTOMER, "x@c")
        };
        assert_eq!(
            correspondent_of(SHARED, &no_sender),
            None,
            "an empty sender, and the only recipient is the team"
        );
    }
}
