//! Keeping the cache in step with the server: the plan for a folder, applying it, and
//! the two connection tasks (sync with IDLE, and bodies/previews on demand).

pub mod backoff;
pub mod connection;
pub mod context;
pub mod fetcher;
pub mod folder;
pub mod mailops;
pub mod plan;
pub mod session;
pub mod team;
pub mod worker;
