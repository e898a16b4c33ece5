//! What the cache keeps of each message: the headers the list and threading need, flags,
//! and a short preview. Bodies are cached separately, on demand.

use serde::{Deserialize, Serialize};

use crate::conversation::Correspondent;

/// System flags as bits; Baton reads them but never depends on `\Seen`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags(pub u8);

impl Flags {
    pub const SEEN: u8 = 1;
    pub const ANSWERED: u8 = 2;
    pub const FLAGGED: u8 = 4;
    pub const DELETED: u8 = 8;
    pub const DRAFT: u8 = 16;

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    pub fn set(&mut self, bit: u8, on: bool) {
        if on {
            self.0 |= bit;
        } else {
            self.0 &= !bit;
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: String,
    pub address: String,
}

impl From<&Address> for Correspondent {
    fn from(a: &Address) -> Correspondent {
        Correspondent {
            name: a.name.clone(),
            address: a.address.clone(),
        }
    }
}

/// One message's cached headers and state. Field order is part of the cache format
/// (postcard); bump `persist::SCHEMA` when changing it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub uid: u32,
    pub modseq: u64,
    pub flags: Flags,
    /// IMAP keywords (for example the team's `baton.*` state), lowercase.
    pub keywords: Vec<String>,
    /// Milliseconds since the epoch: the Date header, or the arrival time when the Date
    /// header is missing or absurd.
    pub date: i64,
    pub size: u32,
    pub subject: String,
    pub from: Address,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Without angle brackets. Messages without one get a synthetic id so that threading
    /// and the team state can still refer to them.
    pub message_id: String,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Outlook's Thread-Index conversation prefix (hex), for replies without References.
    pub thread_topic_key: Option<String>,
    pub has_attachments: bool,
    pub preview: Option<String>,
    /// Why the headers could not be read, when they could not.
    pub problem: Option<String>,
}

/// New flags of a message, from a flag FETCH or news pushed by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagUpdate {
    pub uid: u32,
    pub flags: Flags,
    pub keywords: Vec<String>,
    pub modseq: u64,
}
