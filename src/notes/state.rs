//! What the engine keeps about notes on this computer: the notes read so far, the team
//! changes it saw, what it announced, and the rows as they last looked.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::book::NoteBook;
use super::history::TeamStep;
use super::watch::RowWatch;
use crate::conversation::ConversationId;

/// What survives a restart: the notes read so far, the team changes seen, what was
/// announced.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Saved {
    pub(crate) book: NoteBook,
    pub(crate) log: HashMap<ConversationId, Vec<TeamStep>>,
    pub(crate) mentions_seen_at: i64,
    pub(crate) announced: HashSet<String>,
    /// The notes folder was read at least once: mentions found on the very first read
    /// (a new computer) are listed, not announced one by one.
    pub(crate) read_once: bool,
}

/// The engine's notes state (one per engine, shared by its tasks).
#[derive(Default)]
pub(crate) struct NotesState {
    pub(crate) saved: Saved,
    /// The rows as they looked, and what this member just did.
    pub(crate) watch: RowWatch,
    pub(crate) loaded: bool,
}
