//! The handle the engine holds: it starts the client's task, asks it for changes, notes
//! and history, tells it this member's presence, and stops it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use tokio_util::sync::CancellationToken;

use crate::contract::Action;
use crate::notes::message::NoteMessage;
use crate::teamsync::protocol::{
    Activity, ClientFrame, ErrorCode, PROTOCOL, ServerFrame, WireAction,
};

use super::socket::{first_frame, open, send};
use super::worker::Worker;
use super::{
    ClientOptions, ClientState, Command, ConversationHistory, Cursor, OwnMark, TeamError,
    TeamEvent, Trust,
};

/// A connection to the team server that keeps itself up.
pub struct TeamClient {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<TeamEvent>,
    state: watch::Receiver<ClientState>,
    cursor: Arc<Mutex<Cursor>>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Events a slow listener may fall behind before it sees `Lagged` (and should `resync`).
const EVENT_CAPACITY: usize = 8192;

impl TeamClient {
    /// Starts the client; the receiver gets every event from the first connection on.
    pub fn start(options: ClientOptions) -> (TeamClient, broadcast::Receiver<TeamEvent>) {
        let (events, first) = broadcast::channel(EVENT_CAPACITY);
        let (commands, queue) = mpsc::channel(256);
        let (state_tx, state) = watch::channel(ClientState::Connecting);
        let cursor = Arc::new(Mutex::new(match &options.resume {
            Some((epoch, seq)) => Cursor {
                epoch: Some(epoch.clone()),
                seq: Some(*seq),
            },
            None => Cursor::default(),
        }));
        let cancel = CancellationToken::new();
        let worker = Worker {
            options,
            events: events.clone(),
            state: state_tx,
            cursor: cursor.clone(),
            cancel: cancel.clone(),
            queue,
            presence: BTreeMap::new(),
            next_id: 0,
        };
        let task = tokio::spawn(worker.run());
        (
            TeamClient {
                commands,
                events,
                state,
                cursor,
                cancel,
                task: Some(task),
            },
            first,
        )
    }

    pub fn subscribe(&self) -> broadcast::Receiver<TeamEvent> {
        self.events.subscribe()
    }

    pub fn state(&self) -> ClientState {
        self.state.borrow().clone()
    }

    /// Waits until connected; fails when the server refused the member or time ran out.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), TeamError> {
        let mut state = self.state.clone();
        let waited = tokio::time::timeout(
            timeout,
            state.wait_for(|s| !matches!(s, ClientState::Connecting)),
        )
        .await;
        match waited {
            Err(_) => Err(TeamError::new(ErrorCode::Timeout, "not connected in time")),
            Ok(Err(_)) => Err(TeamError::disconnected()),
            Ok(Ok(state)) => match &*state {
                ClientState::Connected => Ok(()),
                ClientState::Stopped { code, message } => Err(TeamError::new(*code, message)),
                ClientState::Connecting => Err(TeamError::disconnected()),
            },
        }
    }

    /// The store epoch and last seq seen, to keep for [`ClientOptions::resume`].
    pub fn cursor(&self) -> Option<(String, u64)> {
        let cursor = self.cursor.lock().unwrap_or_else(|p| p.into_inner());
        cursor.epoch.clone().zip(cursor.seq)
    }

    /// The last seq seen (the welcome's or an event's).
    pub fn last_seq(&self) -> Option<u64> {
        self.cursor.lock().unwrap_or_else(|p| p.into_inner()).seq
    }

    /// Asks for a change; `Ok(seq)` once the server stored it.
    pub async fn change(
        &self,
        conversation: &str,
        action: &Action,
        expect: Option<u64>,
    ) -> Result<u64, TeamError> {
        self.ask(|reply| Command::Change {
            conversation: conversation.to_owned(),
            action: WireAction::from(action),
            expect,
            reply,
        })
        .await
    }

    /// Submits a note version; `Ok(seq)` once the server carried it out and stored it.
    /// The server makes this member its author, whatever `version.author` says.
    pub async fn note(&self, version: &NoteMessage) -> Result<u64, TeamError> {
        self.ask(|reply| Command::Note {
            version: version.clone(),
            reply,
        })
        .await
    }

    /// The changes the server logged for a conversation: who claimed, handed over,
    /// released or set a status, and when.
    pub async fn history(&self, conversation: &str) -> Result<ConversationHistory, TeamError> {
        self.ask(|reply| Command::History {
            conversation: conversation.to_owned(),
            reply,
        })
        .await
    }

    /// Hands the connection task a request and waits for its answer; `disconnected`
    /// when the task is gone.
    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, TeamError>>) -> Command,
    ) -> Result<T, TeamError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| TeamError::disconnected())?;
        answer
            .await
            .unwrap_or_else(|_| Err(TeamError::disconnected()))
    }

    /// Tells the team what this member is doing with a conversation (`None` to stop).
    pub async fn presence(&self, conversation: &str, activity: Activity) {
        self.mark(conversation, OwnMark::of(activity)).await;
    }

    /// Tells the team what this member is doing with a conversation, a reply on its way
    /// included (`Activity::None` to stop).
    pub async fn mark(&self, conversation: &str, mark: OwnMark) {
        let _ = self
            .commands
            .send(Command::Presence {
                conversation: conversation.to_owned(),
                mark,
            })
            .await;
    }

    /// Reconnects and asks for a snapshot: for a listener that lagged behind.
    pub async fn resync(&self) {
        let _ = self.commands.send(Command::Resync).await;
    }

    /// Cancels the connection without waiting: requests in flight hear `disconnected`.
    /// For a holder that cannot take the client to [`shutdown`](Self::shutdown) it.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Cancels the connection and waits for the task, aborting it after a grace period.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(3), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }

    /// Exchanges an invite code for the member's secret (one connection, then closed).
    pub async fn redeem(
        url: &str,
        trust: &Trust,
        mailbox: &str,
        member: &str,
        invite: &str,
    ) -> Result<String, TeamError> {
        let mut ws = open(url, trust).await?;
        let frame = ClientFrame::Redeem {
            version: PROTOCOL.to_owned(),
            mailbox: mailbox.to_owned(),
            member: member.to_owned(),
            invite: invite.to_owned(),
        };
        send(&mut ws, &frame).await?;
        let answer = first_frame(&mut ws).await;
        let _ = ws.close(None).await;
        match answer? {
            ServerFrame::Redeemed { secret } => Ok(secret),
            ServerFrame::Error(error) => Err(error.into()),
            other => Err(TeamError::new(
                ErrorCode::BadFrame,
                format!("unexpected answer to redeem: {other:?}"),
            )),
        }
    }
}

impl Drop for TeamClient {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
