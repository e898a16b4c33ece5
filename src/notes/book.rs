//! The notes as read from the folder: every version by UID, folded into notes with their
//! history. Pure; the engine fills it from the mailbox and keeps a copy on disk so notes
//! show offline.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::message::{Action, NoteMessage};
use super::{Note, NoteVersion, mentions};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteBook {
    /// The folder's UIDVALIDITY the versions belong to.
    pub uid_validity: u32,
    versions: BTreeMap<u32, NoteMessage>,
}

impl NoteBook {
    /// The next UID to read from the folder.
    pub fn next_uid(&self) -> u32 {
        self.versions.keys().next_back().map_or(1, |uid| uid + 1)
    }

    /// Adds versions read from the folder; a new UIDVALIDITY starts over. True when
    /// anything changed.
    pub fn apply(&mut self, uid_validity: u32, read: Vec<(u32, NoteMessage)>) -> bool {
        let mut changed = false;
        if uid_validity != self.uid_validity {
            changed = !self.versions.is_empty();
            self.versions.clear();
            self.uid_validity = uid_validity;
        }
        for (uid, version) in read {
            changed |= self.versions.insert(uid, version).is_none();
        }
        changed
    }

    /// Every note, oldest first. A version by anyone but the note's author is ignored:
    /// members edit and delete only their own notes.
    pub fn notes(&self) -> Vec<Note> {
        let mut by_id: HashMap<&str, Vec<(u32, &NoteMessage)>> = HashMap::new();
        for (uid, version) in &self.versions {
            by_id.entry(&version.id).or_default().push((*uid, version));
        }
        let mut notes: Vec<Note> = by_id
            .into_values()
            .filter_map(|mut versions| {
                versions.sort_by_key(|(uid, v)| (v.at, *uid));
                fold(&versions)
            })
            .collect();
        notes.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        notes
    }

    /// The notes about any of `message_ids` (a conversation's messages).
    pub fn about(&self, message_ids: &HashSet<&str>) -> Vec<Note> {
        self.notes()
            .into_iter()
            .filter(|n| message_ids.contains(n.about.as_str()))
            .collect()
    }
}

fn fold(versions: &[(u32, &NoteMessage)]) -> Option<Note> {
    let (_, first) = versions.first()?;
    let mut note = Note {
        id: first.id.clone(),
        about: first.about.clone(),
        author: first.author.clone(),
        created_at: first.at,
        edited_at: None,
        deleted: false,
        text: first.text.clone(),
        mentions: Vec::new(),
        history: Vec::new(),
    };
    if first.action == Action::Delete {
        note.deleted = true;
        note.text.clear();
    }
    for (_, version) in &versions[1..] {
        if version.author != note.author || note.deleted {
            continue;
        }
        note.history.push(NoteVersion {
            at: note.edited_at.unwrap_or(note.created_at),
            text: std::mem::take(&mut note.text),
        });
        note.edited_at = Some(version.at);
        match version.action {
            Action::Delete => note.deleted = true,
            Action::Add | Action::Edit => note.text = version.text.clone(),
        }
    }
    note.mentions = mentions(&note.text);
    Some(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, author: &str, action: Action, at: i64, text: &str) -> NoteMessage {
        NoteMessage {
            id: id.into(),
            about: "root@x".into(),
            author: author.into(),
            action,
            at,
            text: text.into(),
        }
    }

    #[test]
    fn versions_fold_into_notes_with_history_and_only_the_author_edits() {
        let mut book = NoteBook::default();
        assert_eq!(book.next_uid(), 1);
        let changed = book.apply(
            7,
            vec![
                (
                    1,
                    version("aaaaaaaaaaaaaaaa", "anna", Action::Add, 10, "first @bram"),
                ),
                (
                    3,
                    version(
                        "aaaaaaaaaaaaaaaa",
                        "anna",
                        Action::Edit,
                        30,
                        "second @chloe",
                    ),
                ),
                (
                    4,
                    version("aaaaaaaaaaaaaaaa", "bram", Action::Delete, 40, ""),
                ),
                (
                    2,
                    version("bbbbbbbbbbbbbbbb", "bram", Action::Add, 20, "other"),
                ),
                (
                    5,
                    version("bbbbbbbbbbbbbbbb", "bram", Action::Delete, 50, ""),
                ),
            ],
        );
        assert!(changed);
        assert_eq!(book.next_uid(), 6);
        let notes = book.notes();
        assert_eq!(notes.len(), 2);
        let anna = &notes[0];
        assert_eq!(anna.text, "second @chloe");
        assert_eq!(anna.mentions, ["chloe"]);
        assert!(!anna.deleted, "bram cannot delete anna's note");
        assert_eq!(anna.edited_at, Some(30));
        assert_eq!(
            anna.history,
            [NoteVersion {
                at: 10,
                text: "first @bram".into()
            }]
        );
        let bram = &notes[1];
        assert!(bram.deleted);
        assert!(bram.text.is_empty());
        assert_eq!(bram.history[0].text, "other");
        // The same versions again change nothing; a new UIDVALIDITY starts over.
        assert!(!book.apply(
            7,
            vec![(
                1,
                version("aaaaaaaaaaaaaaaa", "anna", Action::Add, 10, "first @bram")
            )]
        ));
        assert!(book.apply(8, Vec::new()));
        assert!(book.notes().is_empty());
    }

    #[test]
    fn notes_are_found_by_any_message_of_the_conversation() {
        let mut book = NoteBook::default();
        book.apply(
            1,
            vec![(1, version("aaaaaaaaaaaaaaaa", "anna", Action::Add, 1, "x"))],
        );
        let ids: HashSet<&str> = ["other@x", "root@x"].into_iter().collect();
        assert_eq!(book.about(&ids).len(), 1);
        let ids: HashSet<&str> = ["other@x"].into_iter().collect();
        assert!(book.about(&ids).is_empty());
    }
}
