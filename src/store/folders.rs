//! The folders and the messages in them: which folders there are and where each one's
//! sync stands, and the changes sync brings (new messages, flags, removals, previews).

use std::collections::{BTreeMap, BTreeSet};

use super::persist::{CHUNK_SHIFT, FolderMeta, FolderState};
use super::record::{FlagUpdate, MessageRecord};
use super::threads::{correspondent_of, thread_input};
use super::{Changed, Folder, Store, handle, record_in};
use crate::conversation::{FolderRole, MessageKey};
use crate::threading::ThreadChanges;

impl Store {
    pub fn folder(&self, slot: u16) -> Option<&Folder> {
        self.folders.get(slot as usize)
    }

    pub fn slot_of(&self, name: &str) -> Option<u16> {
        self.folders
            .iter()
            .position(|f| f.meta.name == name)
            .map(|p| p as u16)
    }

    /// The slot for a folder, created when new.
    pub fn ensure_folder(&mut self, name: &str, role: FolderRole) -> u16 {
        if let Some(slot) = self.slot_of(name) {
            if self.folders[slot as usize].meta.role != role {
                self.folders[slot as usize].meta.role = role;
                self.dirty_folders.insert(slot);
            }
            return slot;
        }
        let slot = self.folders.len() as u16;
        self.folders.push(Folder {
            meta: FolderMeta {
                name: name.to_owned(),
                slot,
                role,
                state: FolderState::default(),
            },
            messages: BTreeMap::new(),
        });
        self.dirty_folders.insert(slot);
        slot
    }

    pub fn state(&self, slot: u16) -> FolderState {
        self.folder(slot)
            .map(|f| f.meta.state.clone())
            .unwrap_or_default()
    }

    pub fn set_state(&mut self, slot: u16, state: FolderState) {
        if let Some(folder) = self.folders.get_mut(slot as usize)
            && folder.meta.state != state
        {
            folder.meta.state = state;
            self.dirty_folders.insert(slot);
        }
    }

    pub fn uids(&self, slot: u16) -> Vec<u32> {
        self.folder(slot)
            .map(|f| f.messages.keys().copied().collect())
            .unwrap_or_default()
    }

    pub fn message_count(&self, slot: u16) -> usize {
        self.folder(slot).map_or(0, |f| f.messages.len())
    }

    /// Forgets every message of a folder (its UIDVALIDITY changed: the UIDs mean
    /// something else now).
    pub fn reset_folder(&mut self, slot: u16) -> Changed {
        let uids = self.uids(slot);
        let changed = self.remove(slot, &uids);
        self.set_state(slot, FolderState::default());
        changed
    }

    // ----- changes -----

    /// Adds or replaces messages.
    pub fn upsert(&mut self, slot: u16, records: Vec<MessageRecord>) -> Changed {
        let mut changes = ThreadChanges::default();
        for record in records {
            let h = handle(slot, record.uid);
            self.dirty_chunks.insert((slot, record.uid >> CHUNK_SHIFT));
            let Some(folder) = self.folders.get_mut(slot as usize) else {
                continue;
            };
            let replaced = folder.messages.insert(record.uid, record);
            if replaced.is_some() {
                self.threads.remove(h, &mut changes);
            }
            if let Some(record) = record_in(&self.folders, h) {
                let correspondent = correspondent_of(&self.shared_address, record);
                let input = thread_input(h, record, correspondent);
                self.threads.add(&input, &mut changes);
            }
        }
        self.reindex(changes.all())
    }

    /// Adds messages without threading them (a first sync's bulk); `thread_pending` must
    /// follow before they show in the lists.
    pub fn insert_unthreaded(&mut self, slot: u16, records: Vec<MessageRecord>) {
        let Some(folder) = self.folders.get_mut(slot as usize) else {
            return;
        };
        self.unthreaded = true;
        for record in records {
            self.dirty_chunks.insert((slot, record.uid >> CHUNK_SHIFT));
            folder.messages.insert(record.uid, record);
        }
    }

    pub fn apply_flags(&mut self, slot: u16, updates: &[FlagUpdate]) -> Changed {
        let mut touched = BTreeSet::new();
        for update in updates {
            let Some(folder) = self.folders.get_mut(slot as usize) else {
                break;
            };
            let Some(record) = folder.messages.get_mut(&update.uid) else {
                continue;
            };
            // News can arrive out of order (a pushed FETCH read after a fresher STORE
            // answer): an older state must not overwrite a newer one, or a claim would
            // be compared against a modseq whose keywords we no longer show.
            if update.modseq != 0 && update.modseq < record.modseq {
                continue;
            }
            if record.flags != update.flags
                || record.keywords != update.keywords
                || record.modseq != update.modseq
            {
                record.flags = update.flags;
                record.keywords = update.keywords.clone();
                record.modseq = update.modseq.max(record.modseq);
                self.dirty_chunks.insert((slot, update.uid >> CHUNK_SHIFT));
                touched.extend(self.threads.conversation_of(handle(slot, update.uid)));
            }
        }
        self.reindex(touched)
    }

    pub fn remove(&mut self, slot: u16, uids: &[u32]) -> Changed {
        let mut changes = ThreadChanges::default();
        for &uid in uids {
            let Some(folder) = self.folders.get_mut(slot as usize) else {
                break;
            };
            if folder.messages.remove(&uid).is_some() {
                self.dirty_chunks.insert((slot, uid >> CHUNK_SHIFT));
                self.threads.remove(handle(slot, uid), &mut changes);
            }
        }
        self.reindex(changes.all())
    }

    pub fn set_preview(&mut self, slot: u16, uid: u32, preview: String) -> Changed {
        let Some(record) = self
            .folders
            .get_mut(slot as usize)
            .and_then(|f| f.messages.get_mut(&uid))
        else {
            return Changed::new();
        };
        record.preview = Some(preview);
        self.dirty_chunks.insert((slot, uid >> CHUNK_SHIFT));
        self.threads
            .conversation_of(handle(slot, uid))
            .into_iter()
            .collect()
    }

    pub(super) fn role(&self, slot: u16) -> FolderRole {
        self.folder(slot).map_or(FolderRole::Other, |f| f.meta.role)
    }

    /// The highest modseq we know of among `uids` of `folder`: what a conditional store
    /// on them compares against.
    pub fn modseq_of(&self, folder: &str, uids: &[u32]) -> u64 {
        let Some(folder) = self.slot_of(folder).and_then(|slot| self.folder(slot)) else {
            return 0;
        };
        uids.iter()
            .filter_map(|uid| folder.messages.get(uid))
            .map(|r| r.modseq)
            .max()
            .unwrap_or(0)
    }

    /// Some message of `folder` other than `avoid` (the oldest).
    pub fn some_uid_besides(&self, folder: &str, avoid: &[u32]) -> Option<u32> {
        let folder = self.folder(self.slot_of(folder)?)?;
        folder
            .messages
            .keys()
            .copied()
            .find(|uid| !avoid.contains(uid))
    }

    /// The slot and record of a message the UI names, if it is still the same message.
    pub fn locate(&self, key: &MessageKey) -> Option<(u16, &MessageRecord)> {
        let slot = self.slot_of(&key.folder)?;
        let folder = self.folder(slot)?;
        if folder.meta.state.uid_validity != key.uid_validity {
            return None;
        }
        Some((slot, folder.messages.get(&key.uid)?))
    }

    /// Messages without a preview, newest first.
    pub fn missing_previews(&self, limit: usize) -> Vec<(u16, u32)> {
        let mut missing: Vec<(i64, u16, u32)> = Vec::new();
        for (slot, folder) in self.folders.iter().enumerate() {
            missing.extend(
                folder
                    .messages
                    .values()
                    .filter(|r| r.preview.is_none())
                    .map(|r| (r.date, slot as u16, r.uid)),
            );
        }
        missing.sort_unstable_by(|a, b| b.cmp(a));
        missing.truncate(limit);
        missing
            .into_iter()
            .map(|(_, slot, uid)| (slot, uid))
            .collect()
    }

    /// The date of the newest cached message (0 when empty).
    pub fn newest_date(&self) -> i64 {
        self.folders
            .iter()
            .flat_map(|f| f.messages.values().map(|r| r.date))
            .max()
            .unwrap_or(0)
    }

    pub fn date_of(&self, slot: u16, uid: u32) -> i64 {
        self.folder(slot)
            .and_then(|f| f.messages.get(&uid))
            .map_or(0, |r| r.date)
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::Flags;
    use super::super::testing::{
        CUSTOMER, INBOX, SENT, SHARED, T0, TestStore, flags, id, message, reply, uid_validity,
    };
    use super::*;

    #[test]
    fn ensure_folder_finds_or_adds_a_slot_and_keeps_its_role_current() {
        let mut store = TestStore::new();
        assert_eq!(store.slot_of("INBOX"), Some(INBOX));
        assert_eq!(store.slot_of("Sent"), Some(SENT));
        assert_eq!(store.slot_of("Archive"), None);
        assert_eq!(store.ensure_folder("INBOX", FolderRole::Inbox), INBOX);
        assert_eq!(store.ensure_folder("Archive", FolderRole::Archive), 2);
        // The server may name another folder its Sent: the slot stays, the role follows.
        assert_eq!(store.ensure_folder("Sent", FolderRole::Other), SENT);
        assert_eq!(
            store.folder(SENT).map(|f| f.meta.role),
            Some(FolderRole::Other)
        );
        assert_eq!(store.role(SENT), FolderRole::Other);
        assert_eq!(store.role(99), FolderRole::Other, "no folder: Other");
        assert_eq!(
            store.folder(2).map(|f| f.meta.name.as_str()),
            Some("Archive")
        );
    }

    #[test]
    fn upsert_then_apply_flags_changes_the_record_and_reports_its_conversation() {
        let mut store = TestStore::new();
        let changed = store.upsert(
            INBOX,
            vec![
                message(1, 0, CUSTOMER, "q1@c"),
                reply(2, 1000, CUSTOMER, "q2@c", "q1@c"),
            ],
        );
        assert_eq!(changed, Changed::from([id("q1@c")]));
        assert_eq!(store.uids(INBOX), vec![1, 2]);
        assert_eq!(store.message_count(INBOX), 2);

        let claim = "baton.claim.anna";
        let changed = store.apply_flags(INBOX, &[flags(2, Flags::ANSWERED, &[claim], 5)]);
        assert_eq!(changed, Changed::from([id("q1@c")]));
        let record = &store.folder(INBOX).expect("inbox").messages[&2];
        assert!(record.flags.has(Flags::ANSWERED));
        assert_eq!(record.keywords, vec![claim.to_owned()]);
        assert_eq!(record.modseq, 5);

        // The same news again changes nothing, and older news is not applied.
        let again = store.apply_flags(INBOX, &[flags(2, Flags::ANSWERED, &[claim], 5)]);
        assert!(again.is_empty());
        let stale = store.apply_flags(INBOX, &[flags(2, 0, &[], 3)]);
        assert!(stale.is_empty());
        let record = &store.folder(INBOX).expect("inbox").messages[&2];
        assert!(record.flags.has(Flags::ANSWERED), "older news ignored");
        assert_eq!(record.modseq, 5);
        // Unknown UIDs and folders are skipped.
        assert!(store.apply_flags(INBOX, &[flags(9, 0, &[], 6)]).is_empty());
        assert!(store.apply_flags(7, &[flags(1, 0, &[], 6)]).is_empty());
    }

    #[test]
    fn upsert_replaces_a_message_with_the_same_uid() {
        let mut store = TestStore::new();
        store.upsert(INBOX, vec![message(1, 0, CUSTOMER, "a@c")]);
        let mut again = message(1, 0, CUSTOMER, "a@c");
        again.subject = "Corrected".into();
        store.upsert(INBOX, vec![again]);
        assert_eq!(store.message_count(INBOX), 1);
        assert_eq!(store.conversation_count(), 1);
        assert_eq!(
            store.folder(INBOX).expect("inbox").messages[&1].subject,
            "Corrected"
        );
    }

    #[test]
    fn remove_drops_uids_and_count_and_the_emptied_conversation() {
        let mut store = TestStore::new();
        store.upsert(
            INBOX,
            vec![
                message(1, 0, CUSTOMER, "a@c"),
                message(2, 1000, CUSTOMER, "b@c"),
                reply(3, 2000, CUSTOMER, "b2@c", "b@c"),
            ],
        );
        assert_eq!(store.conversation_count(), 2);
        let changed = store.remove(INBOX, &[1, 3, 99]);
        assert_eq!(changed, Changed::from([id("a@c"), id("b@c")]));
        assert_eq!(store.uids(INBOX), vec![2]);
        assert_eq!(store.message_count(INBOX), 1);
        assert_eq!(store.conversation_count(), 1);
        assert!(store.remove(INBOX, &[1]).is_empty(), "already gone");
    }

    #[test]
    fn reset_folder_forgets_its_messages_and_sync_state() {
        let mut store = TestStore::new();
        store.upsert(INBOX, vec![message(1, 0, CUSTOMER, "a@c")]);
        store.upsert(SENT, vec![message(1, 500, SHARED, "s@c")]);
        let state = FolderState {
            uid_validity: 7,
            uid_next: 2,
            highest_modseq: 3,
            synced_from: 1,
        };
        store.set_state(INBOX, state.clone());
        assert_eq!(store.state(INBOX), state);
        assert_eq!(store.state(42), FolderState::default(), "no such folder");

        assert_eq!(store.reset_folder(INBOX), Changed::from([id("a@c")]));
        assert!(store.uids(INBOX).is_empty());
        assert_eq!(store.state(INBOX), FolderState::default());
        assert_eq!(store.uids(SENT), vec![1], "other folders keep theirs");
    }

    #[test]
    fn locate_finds_a_message_only_under_the_same_uid_validity() {
        let mut store = TestStore::new();
        store.upsert(INBOX, vec![message(4, 0, CUSTOMER, "a@c")]);
        store.set_state(INBOX, uid_validity(7));
        let key = |folder: &str, uid_validity, uid| MessageKey {
            folder: folder.to_owned(),
            uid_validity,
            uid,
        };
        let (slot, record) = store.locate(&key("INBOX", 7, 4)).expect("found");
        assert_eq!((slot, record.message_id.as_str()), (INBOX, "a@c"));
        assert!(
            store.locate(&key("INBOX", 8, 4)).is_none(),
            "UIDs renumbered"
        );
        assert!(store.locate(&key("INBOX", 7, 5)).is_none());
        assert!(store.locate(&key("Nowhere", 7, 4)).is_none());
    }

    #[test]
    fn previews_are_missing_newest_first_until_set() {
        let mut store = TestStore::new();
        store.upsert(
            INBOX,
            vec![
                message(1, 0, CUSTOMER, "a@c"),
                message(2, 3000, CUSTOMER, "b@c"),
                reply(3, 1000, CUSTOMER, "a2@c", "a@c"),
            ],
        );
        store.upsert(SENT, vec![reply(1, 2000, SHARED, "a3@c", "a@c")]);
        assert_eq!(
            store.missing_previews(3),
            vec![(INBOX, 2), (SENT, 1), (INBOX, 3)]
        );

        let changed = store.set_preview(SENT, 1, "Thanks, fixed".into());
        assert_eq!(changed, Changed::from([id("a@c")]));
        assert_eq!(
            store.folder(SENT).expect("sent").messages[&1]
                .preview
                .as_deref(),
            Some("Thanks, fixed")
        );
        assert_eq!(store.missing_previews(10).len(), 3);
        assert!(store.set_preview(SENT, 99, "x".into()).is_empty());
    }

    #[test]
    fn modseqs_dates_and_another_uid_are_read_per_folder() {
        let mut store = TestStore::new();
        assert_eq!(store.newest_date(), 0, "empty");
        store.upsert(
            INBOX,
            vec![
                message(1, 0, CUSTOMER, "a@c"),
                message(2, 5000, CUSTOMER, "b@c"),
                message(3, 2000, CUSTOMER, "c@c"),
            ],
        );
        store.apply_flags(INBOX, &[flags(1, 0, &[], 8), flags(3, 0, &[], 4)]);
        assert_eq!(store.modseq_of("INBOX", &[1, 3]), 8);
        assert_eq!(store.modseq_of("INBOX", &[3, 77]), 4);
        assert_eq!(store.modseq_of("Nowhere", &[1]), 0);
        assert_eq!(store.newest_date(), T0 + 5000);
        assert_eq!(store.date_of(INBOX, 3), T0 + 2000);
        assert_eq!(store.date_of(INBOX, 9), 0);
        assert_eq!(
            store.some_uid_besides("INBOX", &[1]),
            Some(2),
            "the oldest other"
        );
        assert_eq!(store.some_uid_besides("INBOX", &[1, 2, 3]), None);
        assert_eq!(store.some_uid_besides("Nowhere", &[]), None);
    }
}
