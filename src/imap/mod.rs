//! Talking IMAP: connecting and logging in, the commands Baton sends, and reading what
//! the server answers.

pub mod command;
pub mod connect;
pub mod headers;
pub mod session;
pub mod tls;
