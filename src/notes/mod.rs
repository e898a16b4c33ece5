//! Internal notes on conversations. Every version of a note is a small message in the
//! mailbox folder `Baton/Notes` (DESIGN.md: `X-Baton-Note-For`, `X-Baton-Author`), so the
//! mailbox alone holds them, backs them up with the mail and lets a team server with an
//! empty store rebuild them. An edit or a delete adds a version; the history stays.

pub mod book;
pub mod history;
pub mod message;
pub mod state;
pub mod watch;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::conversation::ConversationId;

/// The hidden folder that holds the notes.
pub const FOLDER: &str = "Baton/Notes";
/// Notes are short; a longer text is refused.
pub const MAX_NOTE: usize = 16 * 1024;

/// A note as the window shows it: its current text and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Note {
    pub id: String,
    /// The Message-ID (without brackets) of the conversation's root when the note was
    /// written: what ties it to the conversation.
    pub about: String,
    pub author: String,
    #[ts(type = "number")]
    pub created_at: i64,
    /// When last edited, if ever.
    #[ts(type = "number | null")]
    pub edited_at: Option<i64>,
    pub deleted: bool,
    /// Plain text with light formatting (`*bold*`, `_italic_`, links); empty once
    /// deleted.
    pub text: String,
    /// Members named with `@member`.
    pub mentions: Vec<String>,
    /// Earlier texts, oldest first.
    pub history: Vec<NoteVersion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NoteVersion {
    #[ts(type = "number")]
    pub at: i64,
    pub text: String,
}

/// A note that names this member, for the Mentions view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Mention {
    pub note: Note,
    pub conversation: Option<ConversationId>,
    pub subject: String,
    /// Not yet seen in the Mentions view.
    pub unread: bool,
}

/// The `@member` names in a text: member ids after an `@` that starts a word.
pub fn mentions(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c != '@' || (i > 0 && (chars[i - 1].is_alphanumeric() || ".@".contains(chars[i - 1]))) {
            continue;
        }
        let name: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(**c))
            .collect();
        // A sentence may end right after the name: "thanks @bram."
        let name = name.trim_end_matches(['.', '-', '_']).to_owned();
        if crate::account::validate_member_id(&name).is_ok() && !found.contains(&name) {
            found.push(name);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_member_ids_after_an_at_sign() {
        assert_eq!(
            mentions("@bram can you check? cc @chloe. not mail@anna.nl, @Bram, @@x, @b.de-vries_2"),
            ["bram", "chloe", "b.de-vries_2"]
        );
        assert!(mentions("no one").is_empty());
        assert_eq!(mentions("@bram @bram"), ["bram"]);
    }
}
