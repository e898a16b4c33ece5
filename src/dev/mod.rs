//! Development servers and data: a private Dovecot and Postfix on loopback and a
//! generator of a realistic support mailbox. Used by the demo, the tests and `baton-bench`;
//! never by the desktop app (it depends on the engine without the `dev` feature).

pub mod corpus;
pub mod dovecot;
pub mod postfix;
pub mod tls;
