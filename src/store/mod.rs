//! The local cache: message headers per folder, conversations, and what the lists show.

pub mod record;
