//! The desktop's link to the team server: claims go through it when it is up, its events
//! make colleagues' changes show at once, and it carries presence. When it is down the
//! engine works straight on the mailbox and says so (see `TeamServerState`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::contract::Action;
use crate::conversation::ConversationId;
use crate::events::EngineEvent;
use crate::notes::history::LoggedChange;
use crate::notes::message::NoteMessage;
use crate::outbox::outgoing::Outgoing;
use crate::problem::{Problem, ProblemCode, Result};
use crate::sync::context::SyncContext;
use crate::sync::team::ActionRequest;
use crate::team::{
    Activity, Presence, PresenceOn, TeamOverview, TeamServerSettings, TeamServerState,
    TeamStateHome,
};
use crate::teamsync::{
    self, ClientOptions, ErrorCode, Mode, OwnMark, TeamClient, TeamError, TeamEvent, Trust,
};

/// How long a conversation's history waits for the team server's log.
const HISTORY_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// What the link knows besides the client.
#[derive(Default)]
struct Known {
    server: Option<TeamServerState>,
    authoritative: bool,
    /// Presence per conversation (by the server's conversation id), per member, this
    /// member's own included (its turn orders its replies among colleagues').
    presence: HashMap<String, Vec<Seen>>,
}

/// A presence entry as it arrived, with its leaving time on this computer's clock.
struct Seen {
    entry: teamsync::protocol::PresenceEntry,
    leaves_at: Option<i64>,
}

impl Seen {
    fn arrived(entry: teamsync::protocol::PresenceEntry) -> Seen {
        let leaves_at = entry
            .leaves_in_ms
            .map(|ms| crate::store::now_ms() + i64::try_from(ms).unwrap_or(i64::MAX / 2));
        Seen { entry, leaves_at }
    }
}

/// What this member tells the team, per conversation: what the window is doing, and the
/// replies on their way out of this computer's outbox (those show over the window's).
#[derive(Default)]
struct Own {
    window: HashMap<ConversationId, Activity>,
    outgoing: BTreeMap<ConversationId, Outgoing>,
    /// What the server was last told.
    told: HashMap<ConversationId, OwnMark>,
}

impl Own {
    fn mark(&self, id: ConversationId) -> OwnMark {
        if let Some(out) = self.outgoing.get(&id) {
            return OwnMark {
                activity: teamsync::Activity::Sending,
                leaves_at: out.leaves_at,
                message_id: Some(out.message_id.clone()),
            };
        }
        OwnMark::of(match self.window.get(&id) {
            Some(Activity::Viewing) => teamsync::Activity::Viewing,
            Some(Activity::Replying) => teamsync::Activity::Replying,
            // The window never says "sending"; the outbox does.
            Some(Activity::Sending) | None => teamsync::Activity::None,
        })
    }
}

/// Who this member is and what the mailbox says about the team: enough to describe the
/// team to the window.
#[derive(Clone)]
pub struct TeamContext {
    pub me: String,
    pub sync: SyncContext,
    /// Whether this computer hosts the team server.
    pub hosting: Arc<std::sync::atomic::AtomicBool>,
    /// Wakes the engine's notes reading: a colleague's note arrives at once, not when
    /// IDLE gets round to the keyword.
    pub notes_wake: Arc<tokio::sync::Notify>,
    /// Asks the sync connection to read Sent now: a colleague's reply was just filed.
    pub read_sent: Arc<dyn Fn() + Send + Sync>,
}

impl TeamContext {
    pub fn overview(&self, server: TeamServerState) -> TeamOverview {
        overview(
            &self.me,
            &self.sync,
            self.hosting.load(std::sync::atomic::Ordering::SeqCst),
            server,
        )
    }
}

/// The team as the window shows it: who uses Baton on this mailbox (their claim keyword
/// is known to it), the server's link, where the team state lives.
pub fn overview(
    me: &str,
    sync: &SyncContext,
    hosting: bool,
    server: TeamServerState,
) -> TeamOverview {
    let mut members = sync.keywords.members();
    if !me.is_empty() {
        members.insert(me.to_owned());
    }
    let state_home = match sync.keywords.custom_supported() {
        Some(true) => TeamStateHome::Keywords,
        Some(false) => TeamStateHome::TeamServer,
        None => TeamStateHome::Unknown,
    };
    TeamOverview {
        me: me.to_owned(),
        members: members.into_iter().collect(),
        server,
        state_home,
        hosting,
    }
}

pub struct TeamLink {
    client: TeamClient,
    known: Arc<Mutex<Known>>,
    /// Taken while the server is told, so two changes reach it in the order they were
    /// decided.
    own: tokio::sync::Mutex<Own>,
    me: String,
    task: JoinHandle<()>,
}

impl TeamLink {
    /// Connects (and keeps reconnecting) to the team server. `refresh` reads a
    /// conversation afresh from the mailbox when a colleague changed it.
    pub fn start(
        settings: &TeamServerSettings,
        secret: &str,
        team: TeamContext,
        refresh: mpsc::Sender<ActionRequest>,
    ) -> TeamLink {
        let options = ClientOptions::new(
            &settings.url,
            trust(settings),
            &settings.mailbox,
            &team.me,
            secret,
        );
        let (client, events) = TeamClient::start(options);
        let known = Arc::new(Mutex::new(Known {
            server: Some(TeamServerState::Connecting),
            ..Known::default()
        }));
        let me = team.me.clone();
        let task = tokio::spawn(listen(events, known.clone(), team, refresh));
        TeamLink {
            client,
            known,
            own: Default::default(),
            me,
            task,
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn state(&self) -> TeamServerState {
        self.known()
            .server
            .clone()
            .unwrap_or(TeamServerState::Connecting)
    }

    pub fn connected(&self) -> bool {
        matches!(self.state(), TeamServerState::Online { .. })
    }

    /// Whether the server, not the mailbox, holds the team state.
    pub fn authoritative(&self) -> bool {
        self.known().authoritative
    }

    /// Asks the server for a change. `Ok(None)`: the server could not be reached, so the
    /// caller may carry it out on the mailbox itself.
    pub async fn change(&self, id: ConversationId, action: &Action) -> Result<Option<()>> {
        match self.client.change(&id.0.to_string(), action, None).await {
            Ok(_) => Ok(Some(())),
            Err(e) if server_unavailable(e.code) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Hands a note version to the server, which writes it into the mailbox as this
    /// member. `Ok(None)`: the server could not be reached, so the caller writes it
    /// into the mailbox itself.
    pub async fn note(&self, version: &NoteMessage) -> Result<Option<()>> {
        match self.client.note(version).await {
            Ok(_) => Ok(Some(())),
            // A dropped note is written to the mailbox instead (never lost).
            Err(e) if server_unavailable(e.code) || e.code == ErrorCode::RateLimited => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The changes the server logged for conversation `id`, and whether they go back to
    /// its first; `None` when the server cannot say now (the caller uses what this
    /// computer saw). Asked while the window waits, so it waits briefly.
    pub async fn history(&self, id: ConversationId) -> Option<(Vec<LoggedChange>, bool)> {
        if !self.connected() {
            return None;
        }
        let conversation = id.0.to_string();
        match tokio::time::timeout(HISTORY_WAIT, self.client.history(&conversation)).await {
            Ok(Ok(history)) => Some((
                history
                    .events
                    .into_iter()
                    .map(|e| LoggedChange {
                        owner: e.record.owner,
                        status: e.record.status,
                        by: e.record.by,
                        at_ms: e.record.at_ms,
                        outside: e.record.outside,
                    })
                    .collect(),
                history.complete,
            )),
            Ok(Err(e)) => {
                tracing::debug!(code = ?e.code, message = %e.message, "the team server's history");
                None
            }
            Err(_) => {
                tracing::debug!("the team server's history took too long");
                None
            }
        }
    }

    /// What the window is doing on conversation `id` (`None`: nothing).
    pub async fn report(&self, id: ConversationId, activity: Option<Activity>) {
        let mut own = self.own.lock().await;
        match activity {
            Some(activity) => own.window.insert(id, activity),
            None => own.window.remove(&id),
        };
        self.tell(&mut own, id).await;
    }

    /// The replies on their way out of this computer's outbox, per conversation: shown
    /// to colleagues as "sending" until their copy is in Sent.
    pub async fn set_outgoing(&self, outgoing: BTreeMap<ConversationId, Outgoing>) {
        let mut own = self.own.lock().await;
        let touched: BTreeSet<ConversationId> = own
            .outgoing
            .keys()
            .chain(outgoing.keys())
            .copied()
            .collect();
        own.outgoing = outgoing;
        for id in touched {
            self.tell(&mut own, id).await;
        }
    }

    /// Tells the server what this member now does on `id`, if that changed.
    async fn tell(&self, own: &mut Own, id: ConversationId) {
        let mark = own.mark(id);
        let told = own.told.get(&id).cloned().unwrap_or_default();
        if mark == told {
            return;
        }
        if mark.activity == teamsync::Activity::None {
            own.told.remove(&id);
        } else {
            own.told.insert(id, mark.clone());
        }
        self.client.mark(&id.0.to_string(), mark).await;
    }

    /// Colleagues' presence on conversation `id` (never this member's own).
    pub fn presence(&self, id: ConversationId, me: &str) -> Vec<Presence> {
        present(&self.known(), &id.0.to_string(), me)
    }

    /// The team server's turn for this member's reply on its way on `id`, once the
    /// server has said it; a colleague's reply with an earlier turn goes first.
    pub fn own_turn(&self, id: ConversationId) -> Option<u64> {
        self.known()
            .presence
            .get(&id.0.to_string())
            .into_iter()
            .flatten()
            .find(|s| s.entry.member == self.me && s.entry.activity == teamsync::Activity::Sending)
            .and_then(|s| s.entry.turn)
    }

    pub async fn shutdown(self) {
        self.task.abort();
        self.client.shutdown().await;
    }

    /// Stops the link while a request still borrows it: its listener lets go of the
    /// mailbox's cache now (an engine restarting reopens it), and the request in flight
    /// hears that the server is gone.
    pub fn close(&self) {
        self.task.abort();
        self.client.cancel();
    }
}

/// Whether a refusal means the server could not do it at all (rather than would not), so
/// the engine does it on the mailbox instead.
/// What a refusal by the team server means to the engine: one translation for every
/// request (a claim, a note, the connection itself), so the window words each the same.
impl From<TeamError> for Problem {
    fn from(e: TeamError) -> Problem {
        match e.code {
            ErrorCode::Conflict => {
                let held_since = e
                    .since_ms
                    .map(|ago| crate::store::now_ms() - ago.min(i64::MAX as u64) as i64);
                Problem::conflict(e.holder, held_since)
            }
            ErrorCode::NotHolder => Problem {
                holder: e.holder,
                ..Problem::new(ProblemCode::NotHolder, e.message)
            },
            ErrorCode::InvalidMember => Problem::new(ProblemCode::InvalidMember, e.message),
            ErrorCode::InvalidConversation | ErrorCode::InvalidNote => {
                Problem::new(ProblemCode::NotFound, e.message)
            }
            ErrorCode::BadSecret | ErrorCode::WrongMailbox | ErrorCode::Unauthenticated => {
                Problem::new(
                    ProblemCode::AuthFailed,
                    "the team server did not accept this member",
                )
                .with_detail(e.message)
            }
            _ => Problem::new(ProblemCode::ServerRefused, "the team server refused it")
                .with_detail(e.message),
        }
    }
}

fn server_unavailable(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::Disconnected
            | ErrorCode::Unavailable
            | ErrorCode::ShuttingDown
            | ErrorCode::Timeout
            | ErrorCode::Lagged
            | ErrorCode::StoreFailed
    )
}

/// How the client trusts the server: the pinned fingerprint of a self-signed server, or
/// the system's certificate authorities.
pub fn trust(settings: &TeamServerSettings) -> Trust {
    match &settings.fingerprint {
        Some(fingerprint) => Trust::Pinned(fingerprint.clone()),
        None => Trust::System,
    }
}

fn present(known: &Known, conversation: &str, me: &str) -> Vec<Presence> {
    let mut present: Vec<Presence> = known
        .presence
        .get(conversation)
        .into_iter()
        .flatten()
        .filter(|s| s.entry.member != me)
        .filter_map(|s| {
            let activity = match s.entry.activity {
                teamsync::Activity::Viewing => Activity::Viewing,
                teamsync::Activity::Replying => Activity::Replying,
                teamsync::Activity::Sending => Activity::Sending,
                teamsync::Activity::None => return None,
            };
            Some(Presence {
                member: s.entry.member.clone(),
                activity,
                leaves_at: s.leaves_at,
                message_id: s.entry.message_id.clone(),
                turn: s.entry.turn,
            })
        })
        .collect();
    present.sort_by(|a, b| a.member.cmp(&b.member));
    present.dedup_by(|a, b| a.member == b.member);
    present
}

/// Shows the team server's states in the lists (it holds the team state).
fn overlay(team: &TeamContext, records: Vec<teamsync::ConversationRecord>, replace: bool) {
    let states = records
        .into_iter()
        .filter_map(|r| {
            let id = ConversationId(r.conversation.parse().ok()?);
            Some((id, r.owner, r.status))
        })
        .collect();
    let changed = team.sync.store().set_overlay(Some(states), replace);
    team.sync.announce(changed);
}

/// Turns the server's events into the engine's.
async fn listen(
    mut events: broadcast::Receiver<TeamEvent>,
    known: Arc<Mutex<Known>>,
    team: TeamContext,
    refresh: mpsc::Sender<ActionRequest>,
) {
    let lock = || known.lock().unwrap_or_else(|p| p.into_inner());
    let announce_state = |state: TeamServerState| {
        lock().server = Some(state.clone());
        team.sync.events.emit(EngineEvent::Team {
            overview: team.overview(state),
        });
    };
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // Missed events: everything may have changed.
                team.sync.events.emit(EngineEvent::Resync);
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match event {
            TeamEvent::Connected { mode, resumed, .. } => {
                lock().authoritative = mode == Mode::Store;
                if !resumed {
                    // Note events may have been missed: the folder has them all.
                    team.notes_wake.notify_one();
                }
                if mode == Mode::Imap {
                    let changed = team.sync.store().set_overlay(None, true);
                    team.sync.announce(changed);
                }
                announce_state(TeamServerState::Online {
                    authoritative: mode == Mode::Store,
                });
            }
            TeamEvent::Disconnected { reason } => {
                lock().presence.clear();
                team.sync.events.emit(EngineEvent::Resync);
                announce_state(TeamServerState::Offline {
                    problem: Problem::new(
                        ProblemCode::Unreachable,
                        "the team server cannot be reached",
                    )
                    .with_detail(reason),
                    retry_in_secs: None,
                });
            }
            TeamEvent::Refused { code, message } => {
                let problem = Problem::from(TeamError::new(code, message));
                announce_state(TeamServerState::Offline {
                    problem,
                    retry_in_secs: None,
                });
            }
            TeamEvent::Change(event) if lock().authoritative => {
                overlay(&team, vec![event.record], false);
            }
            TeamEvent::Snapshot(records) if lock().authoritative => {
                overlay(&team, records, true);
            }
            TeamEvent::Change(event) => {
                // The mailbox is the truth the list is drawn from: read this conversation
                // afresh now rather than when IDLE gets round to it.
                if let Ok(id) = event.record.conversation.parse::<u64>() {
                    let (reply, _) = oneshot::channel();
                    let _ = refresh.try_send(ActionRequest {
                        member: team.me.clone(),
                        id: ConversationId(id),
                        action: None,
                        reply,
                    });
                }
            }
            TeamEvent::Snapshot(_) => {}
            TeamEvent::Note(_) => team.notes_wake.notify_one(),
            TeamEvent::PresenceSnapshot(entries) => {
                let mut known = lock();
                known.presence.clear();
                for entry in entries {
                    known
                        .presence
                        .entry(entry.conversation.clone())
                        .or_default()
                        .push(Seen::arrived(entry));
                }
                drop(known);
                team.sync.events.emit(EngineEvent::Resync);
            }
            TeamEvent::Presence(entry) => {
                let conversation = entry.conversation.clone();
                let (present_now, reply_filed) = {
                    let mut known = lock();
                    let list = known.presence.entry(conversation.clone()).or_default();
                    let was_sending = list.iter().any(|s| {
                        s.entry.member == entry.member
                            && s.entry.activity == teamsync::Activity::Sending
                    });
                    list.retain(|s| s.entry.member != entry.member);
                    let sending = entry.activity == teamsync::Activity::Sending;
                    let colleague = entry.member != team.me;
                    if entry.activity != teamsync::Activity::None {
                        list.push(Seen::arrived(entry));
                    }
                    (
                        present(&known, &conversation, &team.me),
                        colleague && was_sending && !sending,
                    )
                };
                if reply_filed {
                    // A colleague's reply just reached Sent (or was taken back): read
                    // Sent now, so the conversation shows it rather than in a minute.
                    (team.read_sent)();
                }
                if let Ok(id) = conversation.parse::<u64>() {
                    team.sync.events.emit(EngineEvent::Presence {
                        presence: PresenceOn {
                            id: ConversationId(id),
                            present: present_now,
                        },
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(code: ErrorCode) -> TeamError {
        TeamError {
            holder: Some("bram".into()),
            since_ms: Some(60_000),
            ..TeamError::new(code, "server's words")
        }
    }

    #[test]
    fn a_refusal_becomes_the_problem_the_window_words() {
        let conflict = Problem::from(refusal(ErrorCode::Conflict));
        assert_eq!(conflict.code, ProblemCode::ClaimConflict);
        assert_eq!(conflict.holder.as_deref(), Some("bram"));
        let since = conflict.held_since.expect("held since");
        let ago = crate::store::now_ms() - since;
        assert!((60_000..65_000).contains(&ago), "held {ago} ms ago");

        let not_holder = Problem::from(refusal(ErrorCode::NotHolder));
        assert_eq!(not_holder.code, ProblemCode::NotHolder);
        assert_eq!(not_holder.holder.as_deref(), Some("bram"));

        for (code, problem) in [
            (ErrorCode::InvalidMember, ProblemCode::InvalidMember),
            (ErrorCode::InvalidConversation, ProblemCode::NotFound),
            (ErrorCode::InvalidNote, ProblemCode::NotFound),
            (ErrorCode::BadSecret, ProblemCode::AuthFailed),
            (ErrorCode::WrongMailbox, ProblemCode::AuthFailed),
            (ErrorCode::RateLimited, ProblemCode::ServerRefused),
        ] {
            assert_eq!(Problem::from(refusal(code)).code, problem, "{code:?}");
        }
        let refused = Problem::from(refusal(ErrorCode::RateLimited));
        assert!(
            format!("{refused:?}").contains("server's words"),
            "{refused:?}"
        );
    }
}
