//! The team sync server (`baton-sync`) and its client: claims, status and presence for a
//! shared mailbox, decided in one place and fanned out to every member's desktop.
//!
//! - [`protocol`]: the JSON frames (documented there), strict on what clients send.
//! - [`server`]: [`TeamServer`] / [`RunningServer`], hostable inside the desktop app.
//! - [`authority`]: who decides a change ([`StoreAuthority`], later IMAP).
//! - [`store`]: the durable store, owned by one thread, flushed before every `ok`.
//! - [`members`], [`auth`]: invites, secrets (Argon2 hashes only).
//! - [`presence`], [`limits`], [`tls`], [`config`]: one job each.
//! - [`client`]: [`TeamClient`], used by the desktop engine and the tests.

pub mod auth;
pub mod authority;
pub mod client;
pub mod config;
pub mod limits;
pub mod members;
pub mod presence;
pub mod protocol;
pub mod server;
pub mod store;
pub mod tls;

pub use authority::{Authority, ChangeRequest, Decision, NoteRequest, Rejection, StoreAuthority};
pub use client::handle::TeamClient;
pub use client::{
    ClientOptions, ClientState, ConversationHistory, OwnMark, TeamError, TeamEvent, Trust,
};
pub use config::ServerConfig;
pub use members::Enrollment;
pub use protocol::{Activity, ConversationRecord, ErrorCode, Event, Mode, NoteEvent};
pub use server::{RunningServer, TeamServer};
