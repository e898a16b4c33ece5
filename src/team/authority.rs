//! The team server's IMAP side: its own connection to the shared mailbox carries out
//! each accepted change as the contract's conditional stores, and whatever anyone else
//! changes in the mailbox (Outlook users, Baton clients without the server) comes back
//! as outside changes for the server to broadcast. It needs only what [`SharedMailbox`]
//! offers — no desktop engine: [`ServerMailbox`] is the mailbox and its notes folder.
//!
//! A conversation's version is the highest modseq of its messages: it grows with every
//! change, is the same after a restart, and needs no bookkeeping of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::mpsc;

use crate::account::AccountSettings;
use crate::connectivity::Connectivity;
use crate::contract::{Action, ConversationState, Status};
use crate::conversation::ConversationId;
use crate::events::{EngineEvent, EventListener, Events};
use crate::mailbox::Mailbox;
use crate::notes::Note;
use crate::notes::book::NoteBook;
use crate::notes::message::{Action as NoteVerb, NoteMessage};
use crate::problem::{Problem, ProblemCode};
use crate::secrets::SecretStore;
use crate::teamsync::authority::{
    Authority, ChangeRequest, Decision, NoteRequest, Rejection, judge,
};
use crate::teamsync::protocol::{ConversationRecord, ErrorCode, Mode};

/// How long the first snapshot waits for the mailbox's first sync.
const FIRST_SYNC: Duration = Duration::from_secs(600);
/// Outside changes queued for the server before the watcher waits.
const OUTSIDE_QUEUE: usize = 4096;

/// (owner, status) last reported per conversation, so a change is reported once.
type Reported = Arc<Mutex<HashMap<ConversationId, (Option<String>, Status)>>>;
type InFlight = Arc<Mutex<std::collections::HashSet<ConversationId>>>;

/// What the IMAP authority needs of the shared mailbox, and no more.
pub trait SharedMailbox: Send + Sync + 'static {
    /// Whether the mail server keeps custom keywords (`None` before it said).
    fn keywords_supported(&self) -> Option<bool>;
    /// The sync connection's state as it changes (the first snapshot waits for the
    /// first sync).
    fn connectivity(&self) -> tokio::sync::watch::Receiver<Connectivity>;
    /// What changes in the mailbox: conversations changed, everything may have.
    fn events(&self) -> EventListener;
    /// Cancelled when the mailbox stops: the authority's watcher ends with it (it holds
    /// the mailbox, whose events would otherwise keep it, and the cache, open for ever).
    fn stopped(&self) -> tokio_util::sync::CancellationToken;
    /// Carries out `member`'s change on the mailbox (the contract's compare-and-set).
    fn act_as<'a>(
        &'a self,
        member: &'a str,
        id: ConversationId,
        action: Action,
    ) -> BoxFuture<'a, Result<(), Problem>>;
    /// The team state of conversations (see [`Mailbox::team_states`]).
    fn team_states<'a>(
        &'a self,
        ids: Option<&'a [ConversationId]>,
    ) -> BoxFuture<'a, Vec<(ConversationId, ConversationState, u64)>>;
    /// Every note in the notes folder, read afresh.
    fn notes(&self) -> BoxFuture<'_, Result<Vec<Note>, Problem>>;
    /// Writes a note version into the notes folder as its author says.
    fn write_note<'a>(&'a self, version: &'a NoteMessage) -> BoxFuture<'a, Result<(), Problem>>;
}

/// The team server's own connection to a shared mailbox, and the notes read from it.
pub struct ServerMailbox {
    mailbox: Mailbox,
    events: Events,
    connectivity: tokio::sync::watch::Receiver<Connectivity>,
    book: tokio::sync::Mutex<NoteBook>,
}

impl ServerMailbox {
    /// Checks the login, then opens the mailbox with its cache in `dir`; the password is
    /// read from `secrets` under the account's credential key at every connect.
    pub async fn open(
        dir: &std::path::Path,
        account: AccountSettings,
        secrets: Arc<dyn SecretStore>,
    ) -> Result<ServerMailbox, Problem> {
        crate::mailbox::check_login(&account, &secrets).await?;
        let events = Events::new();
        let (sender, connectivity) = tokio::sync::watch::channel(Connectivity::Connecting);
        let mailbox = Mailbox::open(dir, account, secrets, events.clone(), sender).await?;
        Ok(ServerMailbox {
            mailbox,
            events,
            connectivity,
            book: Default::default(),
        })
    }

    /// The mailbox itself (its lists, for a server's tools and tests).
    pub fn mailbox(&self) -> &Mailbox {
        &self.mailbox
    }

    pub async fn stop(&self) {
        self.mailbox.stop().await;
    }
}

impl SharedMailbox for ServerMailbox {
    fn keywords_supported(&self) -> Option<bool> {
        self.mailbox.keywords_supported()
    }

    fn stopped(&self) -> tokio_util::sync::CancellationToken {
        self.mailbox.cancel_token()
    }

    fn connectivity(&self) -> tokio::sync::watch::Receiver<Connectivity> {
        self.connectivity.clone()
    }

    fn events(&self) -> EventListener {
        self.events.subscribe()
    }

    fn act_as<'a>(
        &'a self,
        member: &'a str,
        id: ConversationId,
        action: Action,
    ) -> BoxFuture<'a, Result<(), Problem>> {
        Box::pin(self.mailbox.act_as(member, id, action))
    }

    fn team_states<'a>(
        &'a self,
        ids: Option<&'a [ConversationId]>,
    ) -> BoxFuture<'a, Vec<(ConversationId, ConversationState, u64)>> {
        Box::pin(self.mailbox.team_states(ids))
    }

    fn notes(&self) -> BoxFuture<'_, Result<Vec<Note>, Problem>> {
        Box::pin(async move {
            let mut book = self.book.lock().await;
            let (validity, versions) = self.mailbox.read_notes(book.next_uid()).await?;
            book.apply(validity, versions);
            Ok(book.notes())
        })
    }

    fn write_note<'a>(&'a self, version: &'a NoteMessage) -> BoxFuture<'a, Result<(), Problem>> {
        Box::pin(self.mailbox.write_note(version))
    }
}

pub struct ImapAuthority {
    mailbox: Arc<dyn SharedMailbox>,
    reported: Reported,
    /// Conversations a change is being carried out on: the watcher leaves them to
    /// `apply`, so the change is announced once, under the member's own request.
    in_flight: InFlight,
    outside: Mutex<Option<mpsc::Receiver<ConversationRecord>>>,
    /// For a change by someone else found while carrying out a refused one.
    outside_sender: mpsc::Sender<ConversationRecord>,
}

impl ImapAuthority {
    /// Takes the server's connection to the mailbox and starts watching it.
    pub fn new(mailbox: Arc<dyn SharedMailbox>) -> Arc<ImapAuthority> {
        let (sender, receiver) = mpsc::channel(OUTSIDE_QUEUE);
        let authority = Arc::new(ImapAuthority {
            mailbox: mailbox.clone(),
            reported: Default::default(),
            in_flight: Default::default(),
            outside: Mutex::new(Some(receiver)),
            outside_sender: sender.clone(),
        });
        tokio::spawn(watch(
            mailbox,
            authority.reported.clone(),
            authority.in_flight.clone(),
            sender,
        ));
        authority
    }

    fn reported(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<ConversationId, (Option<String>, Status)>> {
        self.reported.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every note in the mailbox's notes folder, read afresh: the notes need no store of
    /// their own, so a server started with an empty store has them all.
    pub async fn notes(&self) -> Result<Vec<Note>, Problem> {
        self.mailbox.notes().await
    }

    async fn record_of(&self, id: ConversationId) -> Option<(ConversationState, u64)> {
        self.mailbox
            .team_states(Some(&[id]))
            .await
            .into_iter()
            .next()
            .map(|(_, state, version)| (state, version))
    }
}

impl Authority for ImapAuthority {
    fn mode(&self) -> Mode {
        match self.mailbox.keywords_supported() {
            Some(false) => Mode::Store,
            _ => Mode::Imap,
        }
    }

    fn apply<'a>(
        &'a self,
        request: ChangeRequest<'a>,
    ) -> BoxFuture<'a, Result<Decision, Rejection>> {
        Box::pin(async move {
            if self.mailbox.keywords_supported() == Some(false) {
                // Microsoft 365 and the like: the server's store is the truth.
                return judge(&request);
            }
            let id: ConversationId = request
                .conversation
                .parse::<u64>()
                .map(ConversationId)
                .map_err(|_| {
                    Rejection::new(ErrorCode::InvalidConversation, "not a conversation id")
                })?;
            let (_, version) = self.record_of(id).await.ok_or_else(|| {
                Rejection::new(
                    ErrorCode::InvalidConversation,
                    "the mailbox has no such conversation",
                )
            })?;
            if let Some(expect) = request.expect
                && expect != version
            {
                let current = request.current.cloned();
                return Err(Rejection {
                    holder: current.as_ref().and_then(|c| c.owner.clone()),
                    current: current.map(Box::new),
                    ..Rejection::new(
                        ErrorCode::Conflict,
                        "the conversation changed since you saw it",
                    )
                });
            }
            self.in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id);
            let acted = self
                .mailbox
                .act_as(request.member, id, request.action.clone())
                .await;
            let outcome = self.record_of(id).await;
            // The watcher left this conversation alone meanwhile; what it would have
            // reported is this state, announced below or by the refusal's record.
            let before = outcome.as_ref().and_then(|(state, _)| {
                self.reported()
                    .insert(id, (state.owner.clone(), state.status))
            });
            self.in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            if let Err(problem) = acted {
                // Refused: someone else changed it. Tell everyone what it is now.
                if let Some((state, version)) = outcome
                    && before != Some((state.owner.clone(), state.status))
                {
                    let now = crate::store::now_ms().max(0) as u64;
                    let _ = self
                        .outside_sender
                        .send(record(id, state, version, now))
                        .await;
                }
                return Err(rejection(problem, request.now_ms));
            }
            let (state, version) = outcome.ok_or_else(|| {
                Rejection::new(ErrorCode::Unavailable, "the conversation disappeared")
            })?;
            // Unchanged when the server already had this state (claiming what one holds).
            let same = match request.current {
                Some(current) => current.owner == state.owner && current.status == state.status,
                None => state.owner.is_none() && state.status == Status::Open,
            };
            if same {
                return Ok(Decision::Unchanged);
            }
            Ok(Decision::Changed(ConversationRecord {
                conversation: request.conversation.to_owned(),
                owner: state.owner,
                status: state.status,
                version: version.max(request.current.map_or(0, |c| c.version + 1)),
                by: request.member.to_owned(),
                at_ms: request.now_ms,
                outside: false,
            }))
        })
    }

    fn snapshot(&self) -> BoxFuture<'_, Result<Option<Vec<ConversationRecord>>, Problem>> {
        Box::pin(async move {
            // The mailbox is the truth: the store is rebuilt from it once it is synced.
            // Watched on the connection state itself: a restart with nothing new in
            // the mailbox ends its first sync without a single mailbox event, and a wait
            // for events hung the hosted server (and the app opening it) for ten minutes.
            let mut connectivity = self.mailbox.connectivity();
            let synced = tokio::time::timeout(
                FIRST_SYNC,
                connectivity.wait_for(|c| {
                    matches!(
                        c,
                        Connectivity::Online { syncing: false } | Connectivity::Offline { .. }
                    )
                }),
            )
            .await
            // Refused for good (a wrong password): no point waiting.
            .is_ok_and(|state| {
                state.is_ok_and(|c| matches!(*c, Connectivity::Online { syncing: false }))
            });
            if !synced {
                return Err(Problem::new(
                    ProblemCode::Unreachable,
                    "the shared mailbox could not be read to learn the team state",
                ));
            }
            if self.mailbox.keywords_supported() == Some(false) {
                // No keywords in this mailbox: the server's store is the truth.
                return Ok(None);
            }
            let states = self.mailbox.team_states(None).await;
            let now = crate::store::now_ms().max(0) as u64;
            let mut reported = self.reported();
            Ok(Some(
                states
                    .into_iter()
                    .map(|(id, state, version)| {
                        reported.insert(id, (state.owner.clone(), state.status));
                        record(id, state, version, now)
                    })
                    .collect(),
            ))
        })
    }

    fn note<'a>(&'a self, request: NoteRequest<'a>) -> BoxFuture<'a, Result<(), Rejection>> {
        Box::pin(async move {
            let version = request.version;
            // The folder is the truth about who wrote a note, also for notes written
            // before this server's store existed or without the server.
            let notes = self
                .notes()
                .await
                .map_err(|problem| note_rejection(&problem))?;
            match notes.iter().find(|n| n.id == version.id) {
                Some(note) if note.author != request.member => {
                    return Err(Rejection {
                        holder: Some(note.author.clone()),
                        ..Rejection::new(
                            ErrorCode::NotHolder,
                            format!("only {}, who wrote this note, can change it", note.author),
                        )
                    });
                }
                None if version.action != NoteVerb::Add => {
                    return Err(Rejection::new(ErrorCode::InvalidNote, "no such note"));
                }
                _ => {}
            }
            self.mailbox
                .write_note(version)
                .await
                .map_err(|problem| note_rejection(&problem))
        })
    }

    fn outside_changes(&self) -> Option<mpsc::Receiver<ConversationRecord>> {
        self.outside
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

fn record(
    id: ConversationId,
    state: ConversationState,
    version: u64,
    now: u64,
) -> ConversationRecord {
    ConversationRecord {
        conversation: id.0.to_string(),
        by: state.owner.clone().unwrap_or_else(|| "mailbox".to_owned()),
        owner: state.owner,
        status: state.status,
        version,
        at_ms: now,
        // Seen in the mailbox: made by another mail app, or before the server watched.
        outside: true,
    }
}

/// Reports every change of a conversation's owner or status seen in the mailbox.
async fn watch(
    mailbox: Arc<dyn SharedMailbox>,
    reported: Reported,
    in_flight: InFlight,
    sender: mpsc::Sender<ConversationRecord>,
) {
    let mut events = mailbox.events();
    let stopped = mailbox.stopped();
    loop {
        let event = tokio::select! {
            _ = stopped.cancelled() => return,
            event = events.next() => event,
        };
        let Some(event) = event else { return };
        let ids: Option<Vec<ConversationId>> = match event {
            EngineEvent::ConversationsChanged { ids } if !ids.is_empty() => Some(ids),
            EngineEvent::ConversationsChanged { .. } | EngineEvent::Resync => None,
            _ => continue,
        };
        if mailbox.keywords_supported() == Some(false) {
            // The mailbox keeps no team state; nothing can change there.
            continue;
        }
        let states = mailbox.team_states(ids.as_deref()).await;
        let now = crate::store::now_ms().max(0) as u64;
        let changed: Vec<ConversationRecord> = {
            let mut reported = reported.lock().unwrap_or_else(|p| p.into_inner());
            let in_flight = in_flight.lock().unwrap_or_else(|p| p.into_inner());
            states
                .into_iter()
                .filter(|(id, _, _)| !in_flight.contains(id))
                .filter(|(id, state, _)| {
                    let now = (state.owner.clone(), state.status);
                    let before = reported.insert(*id, now.clone());
                    // A conversation never reported and open is what the store assumes.
                    before.map_or(now.0.is_some() || now.1 != Status::Open, |b| b != now)
                })
                .map(|(id, state, version)| record(id, state, version, now))
                .collect()
        };
        for record in changed {
            if sender.send(record).await.is_err() {
                return;
            }
        }
    }
}

/// Why a note version could not be written, in the protocol's words.
fn note_rejection(problem: &Problem) -> Rejection {
    let code = match problem.code {
        ProblemCode::NotFound | ProblemCode::MessageTooLarge => ErrorCode::InvalidNote,
        ProblemCode::InvalidMember => ErrorCode::InvalidMember,
        _ => ErrorCode::Unavailable,
    };
    Rejection::new(code, problem.message.clone())
}

/// The engine's refusal in the protocol's words.
fn rejection(problem: Problem, now_ms: u64) -> Rejection {
    let code = match problem.code {
        ProblemCode::ClaimConflict => ErrorCode::Conflict,
        ProblemCode::NotHolder => ErrorCode::NotHolder,
        ProblemCode::InvalidMember => ErrorCode::InvalidMember,
        ProblemCode::NotFound => ErrorCode::InvalidConversation,
        _ => ErrorCode::Unavailable,
    };
    let since_ms = problem
        .held_since
        .map(|since| now_ms.saturating_sub(since.max(0) as u64));
    Rejection {
        holder: problem.holder.clone(),
        since_ms,
        ..Rejection::new(code, problem.message)
    }
}
