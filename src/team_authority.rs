//! The team server's IMAP side: an engine connected to the shared mailbox carries out
//! each accepted change as the contract's conditional stores, and whatever anyone else
//! changes in the mailbox (Outlook users, Baton clients without the server) comes back
//! as outside changes for the server to broadcast.
//!
//! A conversation's version is the highest modseq of its messages: it grows with every
//! change, is the same after a restart, and needs no bookkeeping of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::mpsc;

use crate::Engine;
use crate::connectivity::Connectivity;
use crate::contract::{ConversationState, Status};
use crate::conversation::ConversationId;
use crate::events::EngineEvent;
use crate::notes::Note;
use crate::notes::message::Action as NoteVerb;
use crate::problem::{Problem, ProblemCode};
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

pub struct ImapAuthority {
    engine: Engine,
    reported: Reported,
    /// Conversations a change is being carried out on: the watcher leaves them to
    /// `apply`, so the change is announced once, under the member's own request.
    in_flight: InFlight,
    outside: Mutex<Option<mpsc::Receiver<ConversationRecord>>>,
    /// For a change by someone else found while carrying out a refused one.
    outside_sender: mpsc::Sender<ConversationRecord>,
}

impl ImapAuthority {
    /// Takes an engine configured with the mailbox's account and starts watching it.
    pub fn new(engine: Engine) -> Arc<ImapAuthority> {
        let (sender, receiver) = mpsc::channel(OUTSIDE_QUEUE);
        let authority = Arc::new(ImapAuthority {
            engine: engine.clone(),
            reported: Default::default(),
            in_flight: Default::default(),
            outside: Mutex::new(Some(receiver)),
            outside_sender: sender.clone(),
        });
        tokio::spawn(watch(
            engine,
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
        self.engine.refresh_notes().await?;
        Ok(self.engine.known_notes())
    }

    async fn record_of(&self, id: ConversationId) -> Option<(ConversationState, u64)> {
        self.engine
            .team_states(Some(&[id]))
            .await
            .into_iter()
            .next()
            .map(|(_, state, version)| (state, version))
    }
}

impl Authority for ImapAuthority {
    fn mode(&self) -> Mode {
        match self.engine.keywords_supported() {
            Some(false) => Mode::Store,
            _ => Mode::Imap,
        }
    }

    fn apply<'a>(
        &'a self,
        request: ChangeRequest<'a>,
    ) -> BoxFuture<'a, Result<Decision, Rejection>> {
        Box::pin(async move {
            if self.engine.keywords_supported() == Some(false) {
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
                .engine
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
            let synced = tokio::time::timeout(FIRST_SYNC, async {
                let mut events = self.engine.events();
                loop {
                    match self.engine.connectivity() {
                        Connectivity::Online { syncing: false } => return true,
                        // Refused for good (a wrong password): no point waiting. Not
                        // configured yet is the moment between opening and starting.
                        Connectivity::Offline { .. } => return false,
                        _ => {}
                    }
                    if events.next().await.is_none() {
                        return false;
                    }
                }
            })
            .await
            .unwrap_or(false);
            if !synced {
                return Err(Problem::new(
                    ProblemCode::Unreachable,
                    "the shared mailbox could not be read to learn the team state",
                ));
            }
            if self.engine.keywords_supported() == Some(false) {
                // No keywords in this mailbox: the server's store is the truth.
                return Ok(None);
            }
            let states = self.engine.team_states(None).await;
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
            self.engine
                .write_note_version(version.clone())
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
    engine: Engine,
    reported: Reported,
    in_flight: InFlight,
    sender: mpsc::Sender<ConversationRecord>,
) {
    let mut events = engine.events();
    while let Some(event) = events.next().await {
        let ids: Option<Vec<ConversationId>> = match event {
            EngineEvent::ConversationsChanged { ids } if !ids.is_empty() => Some(ids),
            EngineEvent::ConversationsChanged { .. } | EngineEvent::Resync => None,
            _ => continue,
        };
        if engine.keywords_supported() == Some(false) {
            // The mailbox keeps no team state; nothing can change there.
            continue;
        }
        let states = engine.team_states(ids.as_deref()).await;
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
