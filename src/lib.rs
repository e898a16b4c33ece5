//! Baton's engine: everything that is not pixels. IMAP sync, MIME ingest, threading, the
//! local cache and the coordination contract for a shared mailbox. It knows nothing of
//! the desktop shell; the shell calls the engine and forwards its events.

pub mod account;
pub mod bindings;
pub mod compose;
pub mod connectivity;
pub mod contract;
pub mod conversation;
#[cfg(feature = "dev")]
pub mod dev;
pub mod durable;
pub mod engine;
pub mod events;
pub mod imap;
pub mod mailbox;
pub mod mime;
pub mod notes;
pub mod outbox;
pub mod problem;
pub mod profile;
pub mod secrets;
pub mod store;
pub mod sync;
pub mod team;
pub mod teamsync;
pub mod threading;

pub use engine::Engine;
