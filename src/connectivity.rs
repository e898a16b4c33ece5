//! The state of the connection to the mailbox, as the status bar shows it.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::problem::Problem;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Connectivity {
    /// No account is set up yet.
    NotConfigured,
    /// Connecting and logging in.
    Connecting,
    /// Logged in; `syncing` while a folder is being brought up to date.
    Online { syncing: bool },
    /// Not connected and not trying again until something changes (for example the
    /// password was refused: retrying would only lock the account).
    Offline { problem: Problem },
    /// Not connected; the next attempt starts in `in_secs` seconds.
    Retrying { problem: Problem, in_secs: u32 },
}

/// Progress of bringing one folder up to date, for the progress bar of the first sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncProgress {
    pub folder: String,
    pub done: u32,
    pub total: u32,
    /// The copy on this computer was damaged and is being fetched again.
    #[serde(default)]
    pub rebuilding: bool,
}
