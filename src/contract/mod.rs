//! The coordination contract `baton/1`, as it is stored in the mailbox: who holds each
//! conversation and where it stands, written as IMAP keywords on the conversation's
//! messages so that the mailbox alone holds the team state.
//!
//! Everything here is pure: the keyword codec, the derivation of a conversation's state
//! from its messages, and the planner that turns an action into conditional stores.

pub mod keyword;
pub mod plan;
pub mod state;

pub use keyword::TeamKeyword;
pub use plan::{Action, PlanMessage, Refusal, StoreOp, StoreStep, plan, state_of};
pub use state::{ConversationState, StateMessage, Status, derive};
