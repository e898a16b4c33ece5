//! One mailbox's hub: the state every member connected to it shares. Its authority
//! decides changes, its lock (`head`) orders them, its broadcast fans events, notes and
//! presence out to the connections, and it builds a connection's welcome under that lock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::contract::Action;
use crate::notes::message::NoteMessage;
use crate::problem::{Problem, Result};
use crate::teamsync::authority::{Authority, ChangeRequest, Decision, NoteRequest, Rejection};
use crate::teamsync::members::now_ms;
use crate::teamsync::presence::Presence;
use crate::teamsync::protocol::{
    self, ConversationRecord, ErrorCode, Event, Mark, NoteEvent, PROTOCOL, ServerFrame, Welcome,
};
use crate::teamsync::store::{LogEntry, Store};

/// Events a connection may fall behind before it is closed as lagging.
const FANOUT_CAPACITY: usize = 4096;
/// More missed events than this and a reconnecting client gets a snapshot instead.
const MAX_RESUME: u64 = 10_000;

/// The name and version the server gives in its welcome.
pub fn server_name() -> String {
    format!("baton-sync {}", env!("CARGO_PKG_VERSION"))
}

/// One mailbox: its authority, the order of its changes, its fan-out and presence.
pub(super) struct MailboxHub {
    pub(super) id: String,
    authority: Arc<dyn Authority>,
    /// The latest seq; held while a change is decided, stored and broadcast, and while a
    /// connection subscribes and reads its welcome.
    head: tokio::sync::Mutex<u64>,
    fanout: broadcast::Sender<Utf8Bytes>,
    presence: Mutex<Presence>,
}

pub(super) fn encode(frame: &ServerFrame) -> Utf8Bytes {
    // Serializing these types cannot fail (string keys, no maps with other keys).
    Utf8Bytes::from(serde_json::to_string(frame).unwrap_or_default())
}

pub(super) fn store_failed(problem: Problem) -> Rejection {
    tracing::error!(%problem, "the store failed");
    Rejection::new(
        ErrorCode::StoreFailed,
        "the server could not store the change; it was not made",
    )
}

impl MailboxHub {
    /// A hub whose latest seq is `head` (as stored), with no one connected yet.
    pub(super) fn new(id: String, authority: Arc<dyn Authority>, head: u64) -> MailboxHub {
        MailboxHub {
            id,
            authority,
            head: tokio::sync::Mutex::new(head),
            fanout: broadcast::channel(FANOUT_CAPACITY).0,
            presence: Mutex::new(Presence::default()),
        }
    }

    fn presence(&self) -> std::sync::MutexGuard<'_, Presence> {
        self.presence.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Brings the store in line with an authority that has its own view (IMAP): every
    /// record that differs is logged as a change.
    pub(super) async fn reconcile(&self, store: &Store) -> Result<()> {
        let Some(records) = self.authority.snapshot().await? else {
            return Ok(());
        };
        let (_, stored) = store.snapshot(&self.id).await?;
        let stored: BTreeMap<&str, &ConversationRecord> = stored
            .iter()
            .map(|r| (r.conversation.as_str(), r))
            .collect();
        let mut head = self.head.lock().await;
        for record in records {
            let same = stored.get(record.conversation.as_str()).is_some_and(|s| {
                s.owner == record.owner && s.status == record.status && s.version == record.version
            });
            if !same {
                *head = store.commit(&self.id, record).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn change(
        &self,
        store: &Store,
        member: &str,
        conversation: &str,
        action: &Action,
        expect: Option<u64>,
    ) -> std::result::Result<u64, Rejection> {
        let mut head = self.head.lock().await;
        let current = store
            .conversation(&self.id, conversation)
            .await
            .map_err(store_failed)?;
        let decision = self
            .authority
            .apply(ChangeRequest {
                mailbox: &self.id,
                member,
                conversation,
                action,
                expect,
                current: current.as_ref(),
                now_ms: now_ms(),
            })
            .await?;
        match decision {
            Decision::Unchanged => Ok(*head),
            Decision::Changed(mut record) => {
                record.conversation = conversation.to_owned();
                let seq = store
                    .commit(&self.id, record.clone())
                    .await
                    .map_err(store_failed)?;
                *head = seq;
                let _ = self
                    .fanout
                    .send(encode(&ServerFrame::Event(Event { seq, record })));
                Ok(seq)
            }
        }
    }

    /// A note version from `member`: refused when the note is someone else's, else
    /// carried out by the authority, logged and broadcast like a change.
    pub(super) async fn note(
        &self,
        store: &Store,
        member: &str,
        version: NoteMessage,
    ) -> std::result::Result<u64, Rejection> {
        let mut head = self.head.lock().await;
        let author = store
            .note_author(&self.id, &version.id)
            .await
            .map_err(store_failed)?;
        if let Some(author) = author.filter(|a| a != member) {
            return Err(Rejection {
                holder: Some(author.clone()),
                ..Rejection::new(
                    ErrorCode::NotHolder,
                    format!("only {author}, who wrote this note, can change it"),
                )
            });
        }
        self.authority
            .note(NoteRequest {
                mailbox: &self.id,
                member,
                version: &version,
            })
            .await?;
        let event = NoteEvent {
            seq: 0,
            about: version.about,
            note: version.id,
            author: version.author,
            action: version.action.into(),
            text: version.text,
            at: version.at,
        };
        let seq = store
            .commit_note(&self.id, event.clone())
            .await
            .map_err(store_failed)?;
        *head = seq;
        let _ = self
            .fanout
            .send(encode(&ServerFrame::Note(NoteEvent { seq, ..event })));
        Ok(seq)
    }

    pub(super) async fn commit_outside(
        &self,
        store: &Store,
        record: ConversationRecord,
    ) -> Result<()> {
        if !protocol::valid_conversation(&record.conversation) {
            return Ok(());
        }
        let mut head = self.head.lock().await;
        let seq = store.commit(&self.id, record.clone()).await?;
        *head = seq;
        let _ = self
            .fanout
            .send(encode(&ServerFrame::Event(Event { seq, record })));
        Ok(())
    }

    pub(super) fn set_presence(
        &self,
        connection: u64,
        member: &str,
        conversation: &str,
        mark: Mark,
    ) -> std::result::Result<(), ()> {
        let mut presence = self.presence();
        match presence.set(connection, member, conversation, mark, Instant::now()) {
            Ok(Some(entry)) => {
                let _ = self.fanout.send(encode(&ServerFrame::Presence(entry)));
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(_) => Err(()),
        }
    }

    pub(super) fn drop_presence(&self, connection: u64) {
        let mut presence = self.presence();
        for entry in presence.remove_connection(connection, Instant::now()) {
            let _ = self.fanout.send(encode(&ServerFrame::Presence(entry)));
        }
    }

    /// Subscribes and builds the welcome under the mailbox's lock, so the broadcast takes
    /// over exactly where the welcome ends.
    pub(super) async fn welcome(
        &self,
        store: &Store,
        member: &str,
        last_seq: Option<u64>,
        epoch: Option<&str>,
    ) -> Result<(Welcome, broadcast::Receiver<Utf8Bytes>)> {
        let head = self.head.lock().await;
        let (receiver, presence) = {
            let presence = self.presence();
            (self.fanout.subscribe(), presence.entries(Instant::now()))
        };
        let resume = match (last_seq, epoch) {
            (Some(last), Some(epoch)) if epoch == store.epoch() => {
                store.since(&self.id, last, MAX_RESUME).await?
            }
            _ => None,
        };
        let snapshot = match resume {
            Some(_) => None,
            None => Some(store.snapshot(&self.id).await?.1),
        };
        let (mut changes, mut notes) = (Vec::new(), Vec::new());
        let resume = resume.map(|entries| {
            for entry in entries {
                match entry {
                    LogEntry::Change(event) => changes.push(event),
                    LogEntry::Note(note) => notes.push(note),
                }
            }
            changes
        });
        let welcome = Welcome {
            server: server_name(),
            protocol: PROTOCOL.to_owned(),
            mailbox: self.id.clone(),
            member: member.to_owned(),
            epoch: store.epoch().to_owned(),
            seq: *head,
            mode: self.authority.mode(),
            presence,
            resume,
            snapshot,
            notes,
        };
        Ok((welcome, receiver))
    }
}
