//! One method per frame a client sends (`ClientFrame`): each checks its frame, does what
//! it asks and answers. `hello` and `redeem` come first, before a session; the others
//! only within one (the connection's dispatcher picks the method).

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Connection, Next, Session};
use crate::contract::Action;
use crate::notes::message::NoteMessage;
use crate::teamsync::authority::Rejection;
use crate::teamsync::members;
use crate::teamsync::protocol::{
    self, ClientFrame, ErrorCode, ErrorFrame, Mark, PROTOCOL, ServerFrame,
};
use crate::teamsync::server::hub::store_failed;

impl<S> Connection<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// A redeem: the invite is exchanged for the member's secret (or refused); the
    /// connection is closed after it either way.
    pub(super) async fn on_redeem(&mut self, frame: ClientFrame) {
        let ClientFrame::Redeem {
            version,
            mailbox,
            member,
            invite,
        } = frame
        else {
            return;
        };
        if version != PROTOCOL {
            self.wrong_version(&version).await;
            return;
        }
        let shared = self.shared;
        match members::redeem(&shared.store, &shared.verifier, &mailbox, &member, &invite).await {
            Ok(secret) => {
                self.send(&ServerFrame::Redeemed { secret }).await;
            }
            Err((code, message)) => {
                tracing::warn!(peer = %self.peer, %member, "invite refused");
                self.error(None, code, message).await;
            }
        }
    }

    /// A hello: the member is authenticated and welcomed; `Some` then, and the session
    /// begins.
    pub(super) async fn on_hello(&mut self, frame: ClientFrame) -> Option<Session> {
        let ClientFrame::Hello {
            version,
            mailbox,
            member,
            secret,
            last_seq,
            epoch,
        } = frame
        else {
            return None;
        };
        if version != PROTOCOL {
            self.wrong_version(&version).await;
            return None;
        }
        let shared = self.shared;
        if let Err((code, message)) =
            members::authenticate(&shared.store, &shared.verifier, &mailbox, &member, &secret).await
        {
            tracing::warn!(peer = %self.peer, %member, %mailbox, ?code, "hello refused");
            self.error(None, code, message).await;
            return None;
        }
        let Some(hub) = shared.hubs.get(&mailbox).cloned() else {
            self.error(
                None,
                ErrorCode::WrongMailbox,
                format!("this server has no mailbox {mailbox:?}"),
            )
            .await;
            return None;
        };
        let (welcome, receiver) = match hub
            .welcome(&shared.store, &member, last_seq, epoch.as_deref())
            .await
        {
            Ok(built) => built,
            Err(problem) => {
                tracing::error!(%problem, "could not build a welcome");
                self.error(
                    None,
                    ErrorCode::StoreFailed,
                    "the server could not read its store",
                )
                .await;
                return None;
            }
        };
        tracing::info!(
            peer = %self.peer,
            %member,
            %mailbox,
            seq = welcome.seq,
            resumed = welcome.resume.is_some(),
            "connected"
        );
        if !self.send(&ServerFrame::Welcome(welcome)).await {
            return None;
        }
        Some(Session {
            hub,
            member,
            events: receiver,
        })
    }

    async fn wrong_version(&mut self, version: &str) {
        self.error(
            None,
            ErrorCode::Version,
            format!("this server speaks {PROTOCOL}, not {version:?}"),
        )
        .await;
    }

    pub(super) async fn on_ping(&mut self, frame: ClientFrame) -> Next {
        let ClientFrame::Ping { id } = frame else {
            return Next::Continue;
        };
        self.send(&ServerFrame::Pong { id }).await;
        Next::Continue
    }

    /// A change to a conversation (claim, release, hand over, status), decided by the
    /// mailbox's authority.
    pub(super) async fn on_change(&mut self, session: &Session, frame: ClientFrame) -> Next {
        let ClientFrame::Change {
            id,
            mailbox,
            conversation,
            action,
            expect,
        } = frame
        else {
            return Next::Continue;
        };
        if let Some(next) = self
            .refused(session, &id, mailbox.as_deref(), &conversation)
            .await
        {
            return next;
        }
        let action = Action::from(action);
        // Its own task: once decided, a change is stored and broadcast even if this
        // connection is torn down meanwhile.
        let hub = session.hub.clone();
        let store = self.shared.store.clone();
        let member = session.member.clone();
        let outcome = tokio::spawn(async move {
            hub.change(&store, &member, &conversation, &action, expect)
                .await
        })
        .await
        .unwrap_or_else(|_| Err(Rejection::new(ErrorCode::StoreFailed, "the change failed")));
        let frame = match outcome {
            Ok(seq) => ServerFrame::Ok { id, seq },
            Err(rejection) => ServerFrame::Error(ErrorFrame {
                id: Some(id),
                code: rejection.code,
                message: rejection.message,
                holder: rejection.holder,
                since_ms: rejection.since_ms,
                current: rejection.current,
            }),
        };
        self.send(&frame).await;
        Next::Continue
    }

    /// A presence mark: not answered with `ok` (only errors carry its `id`); its broadcast
    /// reaches the sender too.
    pub(super) async fn on_presence(&mut self, session: &Session, frame: ClientFrame) -> Next {
        let ClientFrame::Presence {
            id,
            mailbox,
            conversation,
            activity,
            leaves_in_ms,
            message_id,
        } = frame
        else {
            return Next::Continue;
        };
        if let Some(code) = self.check_target(session, mailbox.as_deref(), &conversation) {
            self.refuse_target(id, code, session).await;
            return Next::Continue;
        }
        let mark = Mark {
            activity,
            leaves_in_ms,
            message_id,
        };
        if let Some(problem) = protocol::mark_problem(&mark) {
            self.error(id, ErrorCode::BadFrame, problem).await;
            return Next::Continue;
        }
        if session
            .hub
            .set_presence(self.id, &session.member, &conversation, mark)
            .is_err()
        {
            self.error(
                id,
                ErrorCode::BadFrame,
                "too many conversations marked at once",
            )
            .await;
        }
        Next::Continue
    }

    /// A note version: checked strictly, then carried out with the authenticated member as
    /// its author (whatever the client believes).
    pub(super) async fn on_note(&mut self, session: &Session, frame: ClientFrame) -> Next {
        let ClientFrame::Note {
            id,
            mailbox,
            about,
            note,
            action,
            text,
            at,
        } = frame
        else {
            return Next::Continue;
        };
        if !protocol::valid_request_id(&id) {
            return self.bad_frame(None, "the id is too long").await;
        }
        if mailbox.as_deref().is_some_and(|m| m != session.hub.id) {
            self.refuse_target(Some(id), ErrorCode::WrongMailbox, session)
                .await;
            return Next::Continue;
        }
        if let Some(problem) = protocol::note_problem(&about, &note, &text, at) {
            self.error(Some(id), ErrorCode::InvalidNote, problem).await;
            return Next::Continue;
        }
        let version = NoteMessage {
            id: note,
            about,
            author: session.member.clone(),
            action: action.into(),
            at,
            text,
        };
        // Its own task, like a change: once written to the mailbox it is logged too.
        let hub = session.hub.clone();
        let store = self.shared.store.clone();
        let member = session.member.clone();
        let outcome = tokio::spawn(async move { hub.note(&store, &member, version).await })
            .await
            .unwrap_or_else(|_| Err(Rejection::new(ErrorCode::StoreFailed, "the note failed")));
        let frame = match outcome {
            Ok(seq) => ServerFrame::Ok { id, seq },
            Err(rejection) => ServerFrame::Error(ErrorFrame {
                holder: rejection.holder,
                ..ErrorFrame::new(Some(id), rejection.code, rejection.message)
            }),
        };
        self.send(&frame).await;
        Next::Continue
    }

    /// A conversation's history, answered from the store.
    pub(super) async fn on_history(&mut self, session: &Session, frame: ClientFrame) -> Next {
        let ClientFrame::History {
            id,
            mailbox,
            conversation,
        } = frame
        else {
            return Next::Continue;
        };
        if let Some(next) = self
            .refused(session, &id, mailbox.as_deref(), &conversation)
            .await
        {
            return next;
        }
        let frame = match self
            .shared
            .store
            .history(&session.hub.id, &conversation)
            .await
        {
            Ok((events, complete)) => ServerFrame::History {
                id,
                events,
                complete,
            },
            Err(problem) => ServerFrame::Error(ErrorFrame::new(
                Some(id),
                store_failed(problem).code,
                "the server could not read the conversation's history",
            )),
        };
        self.send(&frame).await;
        Next::Continue
    }

    /// Checks a request's id and what it is about, and answers when it is refused:
    /// `Some(next)` then.
    async fn refused(
        &mut self,
        session: &Session,
        id: &str,
        mailbox: Option<&str>,
        conversation: &str,
    ) -> Option<Next> {
        if !protocol::valid_request_id(id) {
            return Some(self.bad_frame(None, "the id is too long").await);
        }
        let code = self.check_target(session, mailbox, conversation)?;
        self.refuse_target(Some(id.to_owned()), code, session).await;
        Some(Next::Continue)
    }

    /// The server checks on every request that it is about the member's own mailbox.
    fn check_target(
        &self,
        session: &Session,
        mailbox: Option<&str>,
        conversation: &str,
    ) -> Option<ErrorCode> {
        if mailbox.is_some_and(|m| m != session.hub.id) {
            Some(ErrorCode::WrongMailbox)
        } else if !protocol::valid_conversation(conversation) {
            Some(ErrorCode::InvalidConversation)
        } else {
            None
        }
    }

    async fn refuse_target(&mut self, id: Option<String>, code: ErrorCode, session: &Session) {
        let message = match code {
            ErrorCode::WrongMailbox => format!(
                "this connection is for the mailbox {:?} only",
                session.hub.id
            ),
            _ => "a conversation id is 1 to 512 characters without control characters".to_owned(),
        };
        self.error(id, code, message).await;
    }
}
