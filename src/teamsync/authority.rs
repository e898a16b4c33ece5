//! Who decides a change. The server serializes the changes of one mailbox, asks its
//! authority to decide and carry out each one, then numbers, stores and broadcasts what
//! the authority accepted.
//!
//! Two authorities are meant to exist: [`StoreAuthority`], where the server's own store is
//! the truth (mail servers without custom keywords, such as Microsoft 365), and an IMAP
//! authority that writes the contract's keywords with conditional stores and reports
//! changes made by Outlook users or serverless Baton clients through
//! [`Authority::outside_changes`]. The trait is kept small so the second one only has to
//! answer three questions.

use futures::future::BoxFuture;
use tokio::sync::mpsc;

use super::protocol::{ConversationRecord, ErrorCode, Mode};
use crate::account::validate_member_id;
use crate::contract::{Action, Status};
use crate::notes::message::NoteMessage;
use crate::problem::Problem;

/// A change one member asks for, with what the server knows of the conversation.
#[derive(Debug, Clone, Copy)]
pub struct ChangeRequest<'a> {
    pub mailbox: &'a str,
    /// Authenticated and valid.
    pub member: &'a str,
    pub conversation: &'a str,
    pub action: &'a Action,
    /// The version the member last saw; `None` judges on the current state alone.
    pub expect: Option<u64>,
    /// The conversation as the server's store has it; `None` when it never changed.
    pub current: Option<&'a ConversationRecord>,
    /// The server's clock, in milliseconds since the Unix epoch.
    pub now_ms: u64,
}

/// A note version one member submits; its author is that member.
#[derive(Debug, Clone, Copy)]
pub struct NoteRequest<'a> {
    pub mailbox: &'a str,
    /// Authenticated and valid; `version.author` is this member.
    pub member: &'a str,
    /// Checked with [`super::protocol::note_problem`].
    pub version: &'a NoteMessage,
}

/// What an accepted change leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The conversation is now this; the server logs and broadcasts it.
    Changed(ConversationRecord),
    /// Nothing to change (claiming what one holds, setting the status it has).
    Unchanged,
}

/// Why a change is refused, in the protocol's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: ErrorCode,
    pub message: String,
    pub holder: Option<String>,
    pub since_ms: Option<u64>,
    pub current: Option<Box<ConversationRecord>>,
}

impl Rejection {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Rejection {
        Rejection {
            code,
            message: message.into(),
            holder: None,
            since_ms: None,
            current: None,
        }
    }
}

/// Decides and carries out changes for one mailbox.
///
/// Object-safe (boxed futures) so the server can hold `Arc<dyn Authority>`. The server
/// never calls `apply` twice at once for the same mailbox, so an authority need not
/// guard against its own races — only against other writers (IMAP clients).
pub trait Authority: Send + Sync + 'static {
    /// Reported to clients in the welcome, so the UI can say where the truth lives.
    fn mode(&self) -> Mode;

    /// Decides `request` and, when accepted, makes it so (for IMAP: the conditional
    /// stores). The returned record must carry a version above the current one.
    fn apply<'a>(
        &'a self,
        request: ChangeRequest<'a>,
    ) -> BoxFuture<'a, Result<Decision, Rejection>>;

    /// The authority's own view of every conversation, if it has one apart from the
    /// server's store; the server reconciles its store with it when it starts. `None`
    /// when the store is the truth.
    fn snapshot(&self) -> BoxFuture<'_, Result<Option<Vec<ConversationRecord>>, Problem>>;

    /// Carries out a note version (for IMAP: writes it into the notes folder as the
    /// member). The server has already refused versions of another member's note that it
    /// knows of; an authority that knows more notes (the mailbox's) checks again.
    ///
    /// An authority without a mailbox of its own (the store) has nothing to write: by
    /// default the version is accepted, and the server's log and broadcast carry it.
    fn note<'a>(&'a self, request: NoteRequest<'a>) -> BoxFuture<'a, Result<(), Rejection>> {
        let _ = request;
        Box::pin(async { Ok(()) })
    }

    /// Changes the authority noticed from outside (someone else wrote the mailbox), each
    /// as the conversation now stands. The server takes the receiver once, at start, and
    /// logs and broadcasts every record it yields.
    fn outside_changes(&self) -> Option<mpsc::Receiver<ConversationRecord>>;
}

/// The server's store is the truth: the contract's rules are applied to the stored
/// record, and the server storing the result is all there is to carry it out.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreAuthority;

impl Authority for StoreAuthority {
    fn mode(&self) -> Mode {
        Mode::Store
    }

    fn apply<'a>(
        &'a self,
        request: ChangeRequest<'a>,
    ) -> BoxFuture<'a, Result<Decision, Rejection>> {
        Box::pin(async move { judge(&request) })
    }

    fn snapshot(&self) -> BoxFuture<'_, Result<Option<Vec<ConversationRecord>>, Problem>> {
        Box::pin(async { Ok(None) })
    }

    fn outside_changes(&self) -> Option<mpsc::Receiver<ConversationRecord>> {
        None
    }
}

/// "3 s", "4 min", "2 h", "3 days": how long ago, in the words a refusal uses.
pub fn ago(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=172_799 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

/// The contract `baton/1` on a stored record, with compare-and-set on `expect`:
/// claim only when nobody else holds it; release only by the holder; hand over and set
/// the status by the holder, or by anyone while nobody holds it.
pub fn judge(request: &ChangeRequest<'_>) -> Result<Decision, Rejection> {
    let current = request.current;
    let version = current.map_or(0, |c| c.version);
    let owner = current.and_then(|c| c.owner.as_deref());
    let status = current.map_or(Status::Open, |c| c.status);
    let me = request.member;
    let since = current.map(|c| request.now_ms.saturating_sub(c.at_ms));
    let refuse = |code: ErrorCode, message: String| Rejection {
        code,
        message,
        holder: owner.map(str::to_owned),
        since_ms: since,
        current: current.cloned().map(Box::new),
    };

    if let Some(expected) = request.expect
        && expected != version
    {
        let who = current.map_or("someone", |c| c.by.as_str());
        return Err(refuse(
            ErrorCode::Conflict,
            format!(
                "the conversation changed since you looked: {who} changed it {} ago \
                 (version {version}, you saw {expected})",
                ago(since.unwrap_or(0))
            ),
        ));
    }
    let held_by_other = owner.filter(|o| *o != me);
    let held = |holder: &str| {
        refuse(
            ErrorCode::Conflict,
            format!(
                "{holder} holds this conversation (changed {} ago)",
                ago(since.unwrap_or(0))
            ),
        )
    };
    let (new_owner, new_status) = match request.action {
        Action::Claim => {
            if let Some(holder) = held_by_other {
                return Err(held(holder));
            }
            if owner == Some(me) {
                return Ok(Decision::Unchanged);
            }
            (Some(me), status)
        }
        Action::Release => {
            if owner != Some(me) {
                let message = match owner {
                    Some(holder) => format!("only {holder}, who holds it, can release it"),
                    None => "nobody holds this conversation".to_owned(),
                };
                return Err(refuse(ErrorCode::NotHolder, message));
            }
            (None, status)
        }
        Action::HandOver { to } => {
            if validate_member_id(to).is_err() {
                return Err(refuse(
                    ErrorCode::InvalidMember,
                    format!("{to:?} is not a valid member id"),
                ));
            }
            if let Some(holder) = held_by_other {
                return Err(held(holder));
            }
            if owner == Some(to.as_str()) {
                return Ok(Decision::Unchanged);
            }
            (Some(to.as_str()), status)
        }
        Action::SetStatus(wanted) => {
            if let Some(holder) = held_by_other {
                return Err(held(holder));
            }
            if status == *wanted {
                return Ok(Decision::Unchanged);
            }
            (owner, *wanted)
        }
    };
    Ok(Decision::Changed(ConversationRecord {
        conversation: request.conversation.to_owned(),
        owner: new_owner.map(str::to_owned),
        status: new_status,
        version: version + 1,
        by: me.to_owned(),
        at_ms: request.now_ms,
        outside: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(owner: Option<&str>, status: Status, version: u64) -> ConversationRecord {
        ConversationRecord {
            conversation: "c".into(),
            owner: owner.map(str::to_owned),
            status,
            version,
            by: owner.unwrap_or("chloe").to_owned(),
            at_ms: 1_000,
            outside: false,
        }
    }

    fn ask(
        member: &str,
        action: Action,
        expect: Option<u64>,
        current: Option<&ConversationRecord>,
    ) -> Result<Decision, Rejection> {
        judge(&ChangeRequest {
            mailbox: "support",
            member,
            conversation: "c",
            action: &action,
            expect,
            current,
            now_ms: 4_000,
        })
    }

    fn changed(result: Result<Decision, Rejection>) -> ConversationRecord {
        match result {
            Ok(Decision::Changed(record)) => record,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    fn refused(result: Result<Decision, Rejection>) -> Rejection {
        match result {
            Err(rejection) => rejection,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn claim_free_then_refused_to_others() {
        let first = changed(ask("anna", Action::Claim, None, None));
        assert_eq!(first.owner.as_deref(), Some("anna"));
        assert_eq!((first.version, first.by.as_str()), (1, "anna"));
        let anna = held(Some("anna"), Status::Open, 1);
        let no = refused(ask("bram", Action::Claim, None, Some(&anna)));
        assert_eq!(no.code, ErrorCode::Conflict);
        assert_eq!(no.holder.as_deref(), Some("anna"));
        assert_eq!(no.since_ms, Some(3_000));
        assert_eq!(no.message, "anna holds this conversation (changed 3 s ago)");
        assert_eq!(
            ask("anna", Action::Claim, None, Some(&anna)),
            Ok(Decision::Unchanged)
        );
    }

    #[test]
    fn compare_and_set_on_the_version() {
        let anna = held(None, Status::Open, 4);
        let stale = refused(ask("bram", Action::Claim, Some(3), Some(&anna)));
        assert_eq!(stale.code, ErrorCode::Conflict);
        assert_eq!(stale.current.map(|c| c.version), Some(4));
        assert_eq!(
            changed(ask("bram", Action::Claim, Some(4), Some(&anna))).version,
            5
        );
        assert_eq!(
            refused(ask("bram", Action::Claim, Some(1), None)).code,
            ErrorCode::Conflict
        );
        assert!(ask("bram", Action::Claim, Some(0), None).is_ok());
    }

    #[test]
    fn release_hand_over_and_status() {
        let anna = held(Some("anna"), Status::Open, 2);
        let no = refused(ask("bram", Action::Release, None, Some(&anna)));
        assert_eq!(
            (no.code, no.holder.as_deref()),
            (ErrorCode::NotHolder, Some("anna"))
        );
        assert_eq!(
            refused(ask("bram", Action::Release, None, None)).code,
            ErrorCode::NotHolder
        );
        assert_eq!(
            changed(ask("anna", Action::Release, None, Some(&anna))).owner,
            None
        );

        let to_bram = Action::HandOver { to: "bram".into() };
        assert_eq!(
            changed(ask("anna", to_bram.clone(), None, Some(&anna)))
                .owner
                .as_deref(),
            Some("bram")
        );
        assert_eq!(
            refused(ask("chloe", to_bram.clone(), None, Some(&anna))).code,
            ErrorCode::Conflict
        );
        assert_eq!(
            changed(ask("chloe", to_bram, None, None)).owner.as_deref(),
            Some("bram"),
            "anyone assigns an unassigned conversation"
        );
        let bad = Action::HandOver {
            to: "Not Valid".into(),
        };
        assert_eq!(
            refused(ask("anna", bad, None, Some(&anna))).code,
            ErrorCode::InvalidMember
        );

        let done = Action::SetStatus(Status::Done);
        assert_eq!(
            refused(ask("bram", done.clone(), None, Some(&anna))).code,
            ErrorCode::Conflict
        );
        let record = changed(ask("anna", done.clone(), None, Some(&anna)));
        assert_eq!(
            (record.status, record.owner.as_deref()),
            (Status::Done, Some("anna"))
        );
        assert_eq!(changed(ask("bram", done, None, None)).status, Status::Done);
        assert_eq!(
            ask("bram", Action::SetStatus(Status::Open), None, None),
            Ok(Decision::Unchanged)
        );
    }

    #[test]
    fn how_long_ago() {
        assert_eq!(ago(999), "0 s");
        assert_eq!(ago(61_000), "1 min");
        assert_eq!(ago(7_200_000), "2 h");
        assert_eq!(ago(3 * 86_400_000), "3 days");
    }
}
