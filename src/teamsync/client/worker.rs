//! The client's one task: connect, say hello, run the session (heartbeats, requests and
//! their answers, events in order), reconnect with backoff when it drops.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::teamsync::protocol::{Activity, ClientFrame, ErrorCode, PROTOCOL, ServerFrame, Welcome};

use super::socket::{Socket, first_frame, open, parse, send};
use super::{
    ClientOptions, ClientState, Command, ConversationHistory, Cursor, OwnMark, TeamError, TeamEvent,
};

/// Requests sent and not answered yet, by id, with their deadline.
type Pending = HashMap<String, (Waiting, tokio::time::Instant)>;

/// Who waits for a request's answer.
enum Waiting {
    /// A change or a note: `ok` with the seq it was logged under.
    Seq(oneshot::Sender<Result<u64, TeamError>>),
    History(oneshot::Sender<Result<ConversationHistory, TeamError>>),
}

impl Waiting {
    fn fail(self, error: TeamError) {
        match self {
            Waiting::Seq(reply) => {
                let _ = reply.send(Err(error));
            }
            Waiting::History(reply) => {
                let _ = reply.send(Err(error));
            }
        }
    }
}

/// Refusals that reconnecting cannot fix.
fn fatal(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::BadSecret
            | ErrorCode::WrongMailbox
            | ErrorCode::Version
            | ErrorCode::InvalidMember
            | ErrorCode::Unauthenticated
    )
}

fn backoff(options: &ClientOptions, failures: u32) -> Duration {
    let exponential = options
        .reconnect_min
        .saturating_mul(1u32 << failures.min(16));
    let capped = exponential.min(options.reconnect_max);
    // Between half and all of it, so a team's desktops do not all knock at once.
    capped.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// How a session ended.
enum End {
    Stop,
    Reconnect { reason: String, resync: bool },
}

pub(super) struct Worker {
    pub(super) options: ClientOptions,
    pub(super) events: broadcast::Sender<TeamEvent>,
    pub(super) state: watch::Sender<ClientState>,
    pub(super) cursor: Arc<Mutex<Cursor>>,
    pub(super) cancel: CancellationToken,
    pub(super) queue: mpsc::Receiver<Command>,
    /// What this member is doing, sent again after every reconnect.
    pub(super) presence: BTreeMap<String, OwnMark>,
    pub(super) next_id: u64,
}

impl Worker {
    fn emit(&self, event: TeamEvent) {
        let _ = self.events.send(event);
    }

    fn cursor(&self) -> std::sync::MutexGuard<'_, Cursor> {
        self.cursor.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) async fn run(mut self) {
        let mut failures = 0u32;
        // Whether listeners heard the server is down since the last connection (the end
        // of a session always tells them): a server that never answered is "offline,
        // retrying", not "connecting" for ever.
        let mut down_told = false;
        loop {
            if self.cancel.is_cancelled() {
                return;
            }
            let cancel = self.cancel.clone();
            let connected = tokio::select! {
                _ = cancel.cancelled() => return,
                connected = self.connect() => connected,
            };
            let reason = match connected {
                Ok((ws, welcome)) => {
                    failures = 0;
                    match self.session(ws, welcome).await {
                        End::Stop => return,
                        End::Reconnect { reason, resync } => {
                            if resync {
                                *self.cursor() = Cursor::default();
                            }
                            self.state.send_replace(ClientState::Connecting);
                            self.emit(TeamEvent::Disconnected {
                                reason: reason.clone(),
                            });
                            down_told = true;
                            if resync {
                                continue;
                            }
                            reason
                        }
                    }
                }
                Err(error) if fatal(error.code) => {
                    tracing::warn!(code = ?error.code, message = %error.message, "the team server refused us");
                    self.state.send_replace(ClientState::Stopped {
                        code: error.code,
                        message: error.message.clone(),
                    });
                    self.emit(TeamEvent::Refused {
                        code: error.code,
                        message: error.message,
                    });
                    self.idle_until_cancelled().await;
                    return;
                }
                Err(error) => {
                    if !down_told {
                        self.emit(TeamEvent::Disconnected {
                            reason: error.message.clone(),
                        });
                        down_told = true;
                    }
                    error.message
                }
            };
            let wait = backoff(&self.options, failures);
            failures = failures.saturating_add(1);
            tracing::debug!(%reason, ?wait, "team server connection down; retrying");
            let until = tokio::time::Instant::now() + wait;
            loop {
                tokio::select! {
                    _ = self.cancel.cancelled() => return,
                    _ = tokio::time::sleep_until(until) => break,
                    command = self.queue.recv() => match command {
                        None => return,
                        Some(command) => self.offline(command),
                    },
                }
            }
        }
    }

    /// Answers commands while there is no connection.
    fn offline(&mut self, command: Command) {
        match command {
            Command::Change { reply, .. } | Command::Note { reply, .. } => {
                let _ = reply.send(Err(TeamError::disconnected()));
            }
            Command::History { reply, .. } => {
                let _ = reply.send(Err(TeamError::disconnected()));
            }
            Command::Presence { conversation, mark } => self.remember(conversation, mark),
            Command::Resync => *self.cursor() = Cursor::default(),
        }
    }

    fn remember(&mut self, conversation: String, mark: OwnMark) {
        if mark.activity == Activity::None {
            self.presence.remove(&conversation);
        } else {
            self.presence.insert(conversation, mark);
        }
    }

    async fn idle_until_cancelled(&mut self) {
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                command = self.queue.recv() => match command {
                    None => return,
                    Some(command) => self.offline(command),
                },
            }
        }
    }

    async fn connect(&mut self) -> Result<(Socket, Welcome), TeamError> {
        let mut ws = open(&self.options.url, &self.options.trust).await?;
        let cursor = self.cursor().clone();
        let hello = ClientFrame::Hello {
            version: PROTOCOL.to_owned(),
            mailbox: self.options.mailbox.clone(),
            member: self.options.member.clone(),
            secret: self.options.secret.clone(),
            last_seq: cursor.seq,
            epoch: cursor.epoch,
        };
        send(&mut ws, &hello).await?;
        match first_frame(&mut ws).await? {
            ServerFrame::Welcome(welcome) => Ok((ws, welcome)),
            ServerFrame::Error(error) => Err(error.into()),
            other => Err(TeamError::new(
                ErrorCode::BadFrame,
                format!("unexpected answer to hello: {other:?}"),
            )),
        }
    }

    async fn session(&mut self, mut ws: Socket, welcome: Welcome) -> End {
        let resumed = welcome.resume.is_some();
        {
            let mut cursor = self.cursor();
            cursor.epoch = Some(welcome.epoch.clone());
            cursor.seq = Some(welcome.seq);
        }
        self.state.send_replace(ClientState::Connected);
        self.emit(TeamEvent::Connected {
            server: welcome.server,
            mode: welcome.mode,
            seq: welcome.seq,
            resumed,
        });
        if let Some(snapshot) = welcome.snapshot {
            self.emit(TeamEvent::Snapshot(snapshot));
        }
        for event in welcome.resume.unwrap_or_default() {
            self.emit(TeamEvent::Change(event));
        }
        for note in welcome.notes {
            self.emit(TeamEvent::Note(note));
        }
        self.emit(TeamEvent::PresenceSnapshot(welcome.presence));
        let remembered: Vec<ClientFrame> = self
            .presence
            .iter()
            .map(|(conversation, mark)| mark.frame(conversation))
            .collect();
        for frame in remembered {
            if let Err(e) = send(&mut ws, &frame).await {
                return End::Reconnect {
                    reason: e.message,
                    resync: false,
                };
            }
        }

        let mut pending = Pending::new();
        let heartbeat = self.options.heartbeat;
        let mut ticks = tokio::time::interval(heartbeat);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = tokio::time::Instant::now();
        let end = loop {
            tokio::select! {
                _ = self.cancel.cancelled() => {
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                    break End::Stop;
                }
                _ = ticks.tick() => {
                    let now = tokio::time::Instant::now();
                    if now.duration_since(last_heard) > heartbeat * 3 {
                        break End::Reconnect { reason: "the team server stopped answering".into(), resync: false };
                    }
                    let expired: Vec<String> = pending
                        .iter()
                        .filter(|(_, (_, deadline))| *deadline <= now)
                        .map(|(id, _)| id.clone())
                        .collect();
                    for id in expired {
                        if let Some((waiting, _)) = pending.remove(&id) {
                            waiting.fail(TeamError::new(ErrorCode::Timeout, "no answer in time"));
                        }
                    }
                    self.next_id += 1;
                    let ping = ClientFrame::Ping { id: Some(format!("p{}", self.next_id)) };
                    if let Err(e) = send(&mut ws, &ping).await {
                        break End::Reconnect { reason: e.message, resync: false };
                    }
                }
                command = self.queue.recv() => {
                    let Some(command) = command else { break End::Stop };
                    let sent = match command {
                        Command::Change { conversation, action, expect, reply } => {
                            self.next_id += 1;
                            let id = format!("c{}", self.next_id);
                            let frame = ClientFrame::Change { id: id.clone(), mailbox: None, conversation, action, expect };
                            self.request(&mut ws, &mut pending, id, &frame, Waiting::Seq(reply)).await
                        }
                        Command::Note { version, reply } => {
                            self.next_id += 1;
                            let id = format!("n{}", self.next_id);
                            let frame = ClientFrame::Note {
                                id: id.clone(),
                                mailbox: None,
                                about: version.about,
                                note: version.id,
                                action: version.action.into(),
                                text: version.text,
                                at: version.at,
                            };
                            self.request(&mut ws, &mut pending, id, &frame, Waiting::Seq(reply)).await
                        }
                        Command::History { conversation, reply } => {
                            self.next_id += 1;
                            let id = format!("h{}", self.next_id);
                            let frame = ClientFrame::History { id: id.clone(), mailbox: None, conversation };
                            self.request(&mut ws, &mut pending, id, &frame, Waiting::History(reply)).await
                        }
                        Command::Presence { conversation, mark } => {
                            let frame = mark.frame(&conversation);
                            self.remember(conversation, mark);
                            send(&mut ws, &frame).await
                        }
                        Command::Resync => {
                            let _ = ws.close(None).await;
                            break End::Reconnect { reason: "resync".into(), resync: true };
                        }
                    };
                    if let Err(e) = sent {
                        break End::Reconnect { reason: e.message, resync: false };
                    }
                }
                incoming = ws.next() => {
                    let text = match incoming {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None => break End::Reconnect { reason: "the team server closed the connection".into(), resync: false },
                        Some(Ok(_)) => { last_heard = tokio::time::Instant::now(); continue; }
                        Some(Err(e)) => break End::Reconnect { reason: e.to_string(), resync: false },
                    };
                    last_heard = tokio::time::Instant::now();
                    match parse(&text) {
                        Ok(frame) => {
                            if let Some(end) = self.received(frame, &mut pending) {
                                break end;
                            }
                        }
                        Err(e) => tracing::warn!(message = %e.message, "unreadable frame from the team server"),
                    }
                }
            }
        };
        for (_, (waiting, _)) in pending.drain() {
            waiting.fail(TeamError::disconnected());
        }
        end
    }

    /// Sends a request that is answered (`ok`, `history`) or refused (`error`); who
    /// waits for it waits in `pending` until then (or the deadline), and hears
    /// `disconnected` when it could not be sent.
    async fn request(
        &self,
        ws: &mut Socket,
        pending: &mut Pending,
        id: String,
        frame: &ClientFrame,
        waiting: Waiting,
    ) -> Result<(), TeamError> {
        let sent = send(ws, frame).await;
        match &sent {
            Ok(()) => {
                let deadline = tokio::time::Instant::now() + self.options.request_timeout;
                pending.insert(id, (waiting, deadline));
            }
            Err(_) => waiting.fail(TeamError::disconnected()),
        }
        sent
    }

    fn received(&mut self, frame: ServerFrame, pending: &mut Pending) -> Option<End> {
        match frame {
            ServerFrame::Ok { id, seq } => match pending.remove(&id) {
                Some((Waiting::Seq(reply), _)) => {
                    let _ = reply.send(Ok(seq));
                }
                Some((other, _)) => other.fail(TeamError::new(
                    ErrorCode::BadFrame,
                    "the team server answered ok to a question",
                )),
                None => {}
            },
            ServerFrame::History {
                id,
                events,
                complete,
            } => match pending.remove(&id) {
                Some((Waiting::History(reply), _)) => {
                    let _ = reply.send(Ok(ConversationHistory { events, complete }));
                }
                Some((other, _)) => other.fail(TeamError::new(
                    ErrorCode::BadFrame,
                    "the team server answered a change with a history",
                )),
                None => {}
            },
            ServerFrame::Error(error) => {
                match error.id.as_ref().and_then(|id| pending.remove(id)) {
                    Some((waiting, _)) => waiting.fail(error.into()),
                    None => {
                        tracing::warn!(code = ?error.code, message = %error.message, "the team server reported a problem");
                        if matches!(
                            error.code,
                            ErrorCode::Lagged | ErrorCode::ShuttingDown | ErrorCode::Timeout
                        ) {
                            return Some(End::Reconnect {
                                reason: error.message,
                                resync: false,
                            });
                        }
                    }
                }
            }
            ServerFrame::Event(event) => {
                {
                    let mut cursor = self.cursor();
                    if cursor.seq.is_none_or(|seq| event.seq > seq) {
                        cursor.seq = Some(event.seq);
                    }
                }
                self.emit(TeamEvent::Change(event));
            }
            ServerFrame::Note(note) => {
                {
                    let mut cursor = self.cursor();
                    if cursor.seq.is_none_or(|seq| note.seq > seq) {
                        cursor.seq = Some(note.seq);
                    }
                }
                self.emit(TeamEvent::Note(note));
            }
            ServerFrame::Presence(entry) => self.emit(TeamEvent::Presence(entry)),
            ServerFrame::Batch { frames } => {
                for frame in frames {
                    if let Some(end) = self.received(frame, pending) {
                        return Some(end);
                    }
                }
            }
            ServerFrame::Pong { .. } | ServerFrame::Welcome(_) | ServerFrame::Redeemed { .. } => {}
        }
        None
    }
}
