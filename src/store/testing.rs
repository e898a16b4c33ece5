//! Test-only helpers: a loaded store in a temporary directory, and message records with
//! just the headers the store looks at.

use std::ops::{Deref, DerefMut};

use super::Store;
use super::persist::FolderState;
use super::record::{Address, FlagUpdate, Flags, MessageRecord};
use crate::conversation::{ConversationId, FolderRole};
use crate::threading::conversation_id;

/// The shared mailbox's address.
pub(crate) const SHARED: &str = "support@example.com";
/// The member whose store it is.
pub(crate) const ME: &str = "anna";
/// A customer writing in.
pub(crate) const CUSTOMER: &str = "carla@customer.example";
/// A date to count from (2023-11-14), so the messages look like real mail.
pub(crate) const T0: i64 = 1_700_000_000_000;

/// A store in its own temporary directory, with an INBOX (slot 0) and a Sent folder
/// (slot 1). The store is dropped (and its cache thread joined) before the directory.
pub(crate) struct TestStore {
    pub(crate) store: Store,
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) const INBOX: u16 = 0;
pub(crate) const SENT: u16 = 1;

impl TestStore {
    pub(crate) fn new() -> TestStore {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut store = Store::open_loaded(dir.path(), SHARED, ME).expect("store opens");
        assert_eq!(store.ensure_folder("INBOX", FolderRole::Inbox), INBOX);
        assert_eq!(store.ensure_folder("Sent", FolderRole::Sent), SENT);
        TestStore { store, dir }
    }
}

impl Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl DerefMut for TestStore {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.store
    }
}

/// A message from `from` (lowercase address) with its own Message-ID, `date`
/// milliseconds after `T0`. To the shared address when a customer sent it, to `CUSTOMER`
/// when the team did.
pub(crate) fn message(uid: u32, date: i64, from: &str, message_id: &str) -> MessageRecord {
    let to = if from == SHARED { CUSTOMER } else { SHARED };
    MessageRecord {
        uid,
        modseq: 1,
        date: T0 + date,
        size: 1000,
        subject: format!("Question {message_id}"),
        from: Address {
            name: String::new(),
            address: from.to_owned(),
        },
        to: vec![Address {
            name: String::new(),
            address: to.to_owned(),
        }],
        message_id: message_id.to_owned(),
        ..MessageRecord::default()
    }
}

/// A reply to `parent` (a Message-ID), in the same conversation.
pub(crate) fn reply(
    uid: u32,
    date: i64,
    from: &str,
    message_id: &str,
    parent: &str,
) -> MessageRecord {
    MessageRecord {
        in_reply_to: vec![parent.to_owned()],
        references: vec![parent.to_owned()],
        ..message(uid, date, from, message_id)
    }
}

/// New flags and keywords for `uid`, as a flag FETCH brings them.
pub(crate) fn flags(uid: u32, bits: u8, keywords: &[&str], modseq: u64) -> FlagUpdate {
    FlagUpdate {
        uid,
        flags: Flags(bits),
        keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
        modseq,
    }
}

/// The id of the conversation whose root has this Message-ID.
pub(crate) fn id(root_message_id: &str) -> ConversationId {
    conversation_id(root_message_id)
}

/// A folder's sync state with this UIDVALIDITY and nothing synced.
pub(crate) fn uid_validity(uid_validity: u32) -> FolderState {
    FolderState {
        uid_validity,
        ..FolderState::default()
    }
}
