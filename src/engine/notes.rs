//! The facade for notes, mentions, a conversation's history and notifications. Notes are
//! read from and written to the mailbox folder `Baton/Notes`; a new note also touches
//! the note keyword, so every client's IDLE hears of it within a second and reads the
//! folder again. Notifications and the team part of the history come from comparing each
//! changed row with how it looked before.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::Engine;
use crate::compose::drafts::new_id;
use crate::conversation::{ConversationId, FolderRole};
use crate::events::EngineEvent;
use crate::notes::history::ActivityItem;
use crate::notes::history::{TeamStep, merge, record};
use crate::notes::message::{Action, NoteMessage};
use crate::notes::state::{NotesState, Saved};
use crate::notes::watch::{Notification, NotificationKind, NotificationSettings};
use crate::notes::{MAX_NOTE, Mention, Note};
use crate::problem::{Problem, ProblemCode, Result};
use crate::store::now_ms;
use crate::sync::context::SyncContext;

/// The notes folder is read again this often even without news (servers without
/// keywords, or a missed push).
const NOTES_POLL: Duration = Duration::from_secs(20);
/// At most this many notifications from one pass over every row (after a reconnect).
const MAX_CATCH_UP_NOTICES: usize = 5;
/// Team changes kept per conversation.
const LOG_LIMIT: usize = 200;
const STATE_FILE: &str = "notes-state.json";

impl Engine {
    fn notes_state(&self) -> std::sync::MutexGuard<'_, NotesState> {
        let mut state = self.inner.notes.lock().unwrap_or_else(|p| p.into_inner());
        if !state.loaded {
            state.loaded = true;
            let path = self.inner.profile.dir().join(STATE_FILE);
            match crate::durable::read_json::<Saved>(&path) {
                Ok(Some(saved)) => state.saved = saved,
                Ok(None) => {}
                Err(problem) => tracing::warn!("notes state: {problem}"),
            }
        }
        state
    }

    fn save_notes_state(&self, state: &NotesState) {
        let path = self.inner.profile.dir().join(STATE_FILE);
        if let Err(problem) = crate::durable::write_json(&path, &state.saved) {
            tracing::warn!("saving the notes state: {problem}");
        }
    }

    /// Remembers that this member is about to change conversation `id`.
    pub(super) fn mark_own_change(&self, id: ConversationId, action: &crate::contract::Action) {
        self.notes_state()
            .watch
            .own_change(id, action.clone(), now_ms());
    }

    /// The notes of a conversation, oldest first (deleted ones with their history).
    pub async fn notes(&self, id: ConversationId) -> Vec<Note> {
        let Some(ctx) = self.ready().await else {
            return Vec::new();
        };
        let ids: Vec<String> = ctx
            .store()
            .guard_messages(id)
            .into_iter()
            .map(|m| m.message_id)
            .collect();
        let ids: HashSet<&str> = ids.iter().map(String::as_str).collect();
        self.notes_state().saved.book.about(&ids)
    }

    /// Adds a note to conversation `id` as this member.
    pub async fn add_note(&self, id: ConversationId, text: &str) -> Result<Note> {
        let about = self
            .ready()
            .await
            .and_then(|ctx| ctx.store().root_message_id(id))
            .ok_or_else(|| {
                Problem::new(ProblemCode::NotFound, "the conversation no longer exists")
            })?;
        let note_id = new_id();
        self.submit_note(NoteMessage {
            id: note_id.clone(),
            about,
            author: self.member(),
            action: Action::Add,
            at: now_ms(),
            text: checked_text(text)?,
        })
        .await?;
        self.find_note(&note_id)
    }

    /// Changes the text of one of this member's notes (the old text stays in history).
    pub async fn edit_note(&self, note_id: &str, text: &str) -> Result<Note> {
        let note = self.own_note(note_id)?;
        // Still there to be written about.
        self.conversation_of_note(&note).await?;
        self.submit_note(NoteMessage {
            id: note.id.clone(),
            about: note.about.clone(),
            author: note.author.clone(),
            action: Action::Edit,
            at: now_ms().max(note.edited_at.unwrap_or(note.created_at) + 1),
            text: checked_text(text)?,
        })
        .await?;
        self.find_note(note_id)
    }

    /// Deletes one of this member's notes (its history stays).
    pub async fn delete_note(&self, note_id: &str) -> Result<Note> {
        let note = self.own_note(note_id)?;
        // Still there to be written about.
        self.conversation_of_note(&note).await?;
        self.submit_note(NoteMessage {
            id: note.id.clone(),
            about: note.about.clone(),
            author: note.author.clone(),
            action: Action::Delete,
            at: now_ms().max(note.edited_at.unwrap_or(note.created_at) + 1),
            text: String::new(),
        })
        .await?;
        self.find_note(note_id)
    }

    /// Every note read so far from the notes folder, of every conversation.
    pub fn known_notes(&self) -> Vec<Note> {
        self.notes_state().saved.book.notes()
    }

    fn own_note(&self, note_id: &str) -> Result<Note> {
        let note = self.find_note(note_id)?;
        if note.author != self.member() {
            return Err(Problem::new(
                ProblemCode::NotHolder,
                "only the author can change a note",
            ));
        }
        if note.deleted {
            return Err(Problem::new(ProblemCode::NotFound, "the note was deleted"));
        }
        Ok(note)
    }

    fn find_note(&self, note_id: &str) -> Result<Note> {
        self.notes_state()
            .saved
            .book
            .notes()
            .into_iter()
            .find(|n| n.id == note_id)
            .ok_or_else(|| Problem::new(ProblemCode::NotFound, "no such note"))
    }

    async fn conversation_of_note(&self, note: &Note) -> Result<ConversationId> {
        self.ready()
            .await
            .and_then(|ctx| ctx.store().conversation_of_message_id(&note.about))
            .ok_or_else(|| Problem::new(ProblemCode::NotFound, "the conversation no longer exists"))
    }

    /// Hands a note version to the team server when one is connected (it writes it into
    /// the mailbox as this member and tells everyone at once), or writes it straight
    /// into the mailbox.
    async fn submit_note(&self, version: NoteMessage) -> Result<()> {
        if let Some(link) = self.team_link_ref()
            && link.connected()
            && link.note(&version).await?.is_some()
        {
            // The server wrote it into the folder; read it back now for this window.
            return self.refresh_notes().await;
        }
        // No team server, or it cannot be reached: the note is never lost, the mailbox
        // takes it directly — unless a server that stopped answering wrote it after all.
        if self.team_link_ref().is_some() {
            if let Err(problem) = self.refresh_notes().await {
                tracing::debug!("notes before writing directly: {problem}");
            }
            if self.holds_version(&version) {
                return Ok(());
            }
        }
        self.write_note(version).await
    }

    /// Whether the folder, as last read, already has this version of its note.
    fn holds_version(&self, version: &NoteMessage) -> bool {
        self.known_notes().iter().any(|note| {
            note.id == version.id
                && note.author == version.author
                && match version.action {
                    Action::Add => note.created_at == version.at,
                    Action::Edit | Action::Delete => note.edited_at == Some(version.at),
                }
        })
    }

    async fn write_note(&self, version: NoteMessage) -> Result<()> {
        self.mailbox()
            .ok_or_else(no_account)?
            .write_note(&version)
            .await?;
        self.refresh_notes().await
    }

    /// Reads new note versions from the folder; announces new mentions.
    pub async fn refresh_notes(&self) -> Result<()> {
        let from_uid = self.notes_state().saved.book.next_uid();
        let (validity, versions) = self
            .mailbox()
            .ok_or_else(no_account)?
            .read_notes(from_uid)
            .await?;
        let me = self.member();
        let fresh: Vec<Note> = {
            let mut state = self.notes_state();
            let first_read = !state.saved.read_once;
            if !state.saved.book.apply(validity, versions) && !first_read {
                return Ok(());
            }
            state.saved.read_once = true;
            let seen_at = state.saved.mentions_seen_at;
            let notes = state.saved.book.notes();
            let mut fresh = Vec::new();
            for note in notes {
                if note.author != me
                    && !note.deleted
                    && note.mentions.contains(&me)
                    && state.saved.announced.insert(note.id.clone())
                    && note.created_at > seen_at
                    && !first_read
                {
                    fresh.push(note);
                }
            }
            self.save_notes_state(&state);
            fresh
        };
        self.inner.events.emit(EngineEvent::NotesChanged);
        let wanted = self.notification_settings().unwrap_or_default();
        let ctx = self.ready().await;
        for note in fresh {
            let (conversation, subject) = place_of(ctx.as_ref(), &note);
            if let Some(conversation) = conversation
                && wanted.mentioned
            {
                self.inner.events.emit(EngineEvent::Notify {
                    notification: Notification {
                        kind: NotificationKind::Mentioned,
                        conversation,
                        subject,
                        who: note.author.clone(),
                        text: note.text.clone(),
                    },
                });
            }
        }
        Ok(())
    }

    /// Notes that name this member, newest first.
    pub async fn mentions(&self) -> Vec<Mention> {
        let me = self.member();
        let (notes, seen_at) = {
            let state = self.notes_state();
            (state.saved.book.notes(), state.saved.mentions_seen_at)
        };
        let ctx = self.ready().await;
        let mut found: Vec<Mention> = notes
            .into_iter()
            .filter(|n| n.mentions.contains(&me) && !n.deleted && n.author != me)
            .map(|note| {
                let (conversation, subject) = place_of(ctx.as_ref(), &note);
                Mention {
                    unread: note.created_at > seen_at,
                    note,
                    conversation,
                    subject,
                }
            })
            .collect();
        found.sort_by_key(|m| std::cmp::Reverse(m.note.created_at));
        found
    }

    /// The member looked at the Mentions view.
    pub fn mentions_seen(&self) {
        let mut state = self.notes_state();
        state.saved.mentions_seen_at = now_ms();
        self.save_notes_state(&state);
    }

    /// The conversation's history: mails, replies, bounces, notes and the team changes
    /// (the team server's log, and what this computer saw), oldest first.
    pub async fn activity(&self, id: ConversationId) -> Vec<ActivityItem> {
        let Some(ctx) = self.ready().await else {
            return Vec::new();
        };
        let messages = ctx.store().guard_messages(id);
        let mut items: Vec<ActivityItem> = messages
            .iter()
            .map(|m| {
                let local = m
                    .from
                    .address
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_lowercase();
                if local == "mailer-daemon" || local == "postmaster" {
                    ActivityItem::Bounced {
                        at: m.date,
                        message: m.key.clone(),
                    }
                } else if m.from_team || m.role == FolderRole::Sent {
                    ActivityItem::Replied {
                        at: m.date,
                        by: if m.from.name.is_empty() {
                            m.from.address.clone()
                        } else {
                            m.from.name.clone()
                        },
                        message: m.key.clone(),
                    }
                } else {
                    ActivityItem::Received {
                        at: m.date,
                        from: m.from.clone(),
                        message: m.key.clone(),
                    }
                }
            })
            .collect();
        let ids: HashSet<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
        let logged = match self.team_link_ref() {
            Some(link) => link.history(id).await,
            None => None,
        };
        let state = self.notes_state();
        items.extend(
            state
                .saved
                .book
                .about(&ids)
                .into_iter()
                .map(|note| ActivityItem::Note {
                    at: note.created_at,
                    note,
                }),
        );
        let seen = state.saved.log.get(&id).cloned().unwrap_or_default();
        drop(state);
        let logged = logged
            .as_ref()
            .map(|(events, complete)| (events.as_slice(), *complete));
        items.extend(
            merge(&seen, logged)
                .into_iter()
                .map(|step| ActivityItem::Team {
                    at: step.at,
                    change: step.change,
                    by: step.by,
                    outside: step.outside,
                }),
        );
        // Stable: by time, and for the same moment in the order they were gathered.
        items.sort_by_key(ActivityItem::at);
        items
    }

    pub fn notification_settings(&self) -> Result<NotificationSettings> {
        self.inner.profile.notification_settings()
    }

    pub fn save_notification_settings(&self, settings: NotificationSettings) -> Result<()> {
        self.inner.profile.save_notification_settings(&settings)
    }

    /// Compares changed rows with how they looked: notifications and the team history.
    fn watch_rows(&self, ids: &[ConversationId]) {
        let Some(ctx) = self.mailbox().map(|m| m.ctx().clone()) else {
            return;
        };
        let me = self.member();
        let wanted = self.notification_settings().unwrap_or_default();
        let rows: Vec<_> = if ids.is_empty() {
            // Every row (at start, after a lag): a large mailbox has 100,000 of them, so
            // the store is taken a slice at a time and the window's calls get in between.
            let all = {
                let store = ctx.store();
                if !store.is_ready() {
                    return;
                }
                store.conversation_ids()
            };
            all.chunks(2_000)
                .flat_map(|slice| {
                    let store = ctx.store();
                    slice
                        .iter()
                        .filter_map(|id| store.summary(*id))
                        .collect::<Vec<_>>()
                })
                .collect()
        } else {
            let store = ctx.store();
            ids.iter().filter_map(|id| store.summary(*id)).collect()
        };
        let (mut announce, notes_news) = {
            let mut state = self.notes_state();
            let now = now_ms();
            let pass = state.watch.pass(rows, ids.is_empty(), &me, &wanted, now);
            let recorded = !pass.changes.is_empty();
            for (id, change, mine) in pass.changes {
                let log = state.saved.log.entry(id).or_default();
                let by = mine.then(|| me.clone());
                record(
                    log,
                    TeamStep {
                        at: now,
                        change,
                        by,
                        outside: false,
                    },
                );
                if log.len() > LOG_LIMIT {
                    let extra = log.len() - LOG_LIMIT;
                    log.drain(..extra);
                }
            }
            if recorded {
                self.save_notes_state(&state);
            }
            (pass.notifications, pass.notes_news)
        };
        if ids.is_empty() && announce.len() > MAX_CATCH_UP_NOTICES {
            // Back after a while: the lists show what changed; a stack of notices would
            // only bury the one that matters.
            tracing::debug!(
                "{} notifications from catching up not shown",
                announce.len()
            );
            announce.clear();
        }
        for notification in announce {
            self.inner.events.emit(EngineEvent::Notify { notification });
        }
        if notes_news {
            self.inner.notes_wake.notify_one();
        }
    }

    /// The task that watches rows for notifications and keeps the notes read.
    pub(super) fn spawn_notes_watch(
        &self,
        cancel: CancellationToken,
        wake: Arc<Notify>,
    ) -> tokio::task::JoinHandle<()> {
        let engine = Arc::downgrade(&self.inner);
        let mut events = self.inner.events.subscribe();
        tokio::spawn(async move {
            let upgrade = || engine.upgrade().map(|inner| Engine { inner });
            if let Some(engine) = upgrade() {
                engine.ready().await;
                prime(&engine).await;
                if let Err(problem) = engine.refresh_notes().await {
                    tracing::debug!("notes: {problem}");
                }
            }
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    event = events.next() => {
                        let Some(engine) = upgrade() else { return };
                        match event {
                            Some(EngineEvent::ConversationsChanged { ids }) => engine.watch_rows(&ids),
                            Some(EngineEvent::Resync) => prime(&engine).await,
                            Some(_) => {}
                            None => return,
                        }
                    }
                    _ = wake.notified() => {
                        let Some(engine) = upgrade() else { return };
                        // Several pushes in a row: one read.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        if let Err(problem) = engine.refresh_notes().await {
                            tracing::debug!("notes: {problem}");
                        }
                    }
                    _ = tokio::time::sleep(NOTES_POLL) => {
                        let Some(engine) = upgrade() else { return };
                        if let Err(problem) = engine.refresh_notes().await {
                            tracing::debug!("notes: {problem}");
                        }
                    }
                }
            }
        })
    }
}

/// The conversation a note is about and its subject, when it is here.
fn place_of(ctx: Option<&SyncContext>, note: &Note) -> (Option<ConversationId>, String) {
    let Some(ctx) = ctx else {
        return (None, String::new());
    };
    let store = ctx.store();
    let id = store.conversation_of_message_id(&note.about);
    let subject = id
        .and_then(|id| store.summary(id))
        .map(|s| s.subject)
        .unwrap_or_default();
    (id, subject)
}

/// Takes in every row (at start and after a lag) off the async threads: a large mailbox
/// keeps a thread busy for a while.
async fn prime(engine: &Engine) {
    let engine = engine.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || engine.watch_rows(&[])).await {
        tracing::warn!("taking in the rows: {e}");
    }
}

fn checked_text(text: &str) -> Result<String> {
    let text = text.replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::new(
            ProblemCode::InvalidSettings,
            "the note is empty",
        ));
    }
    if text.len() > MAX_NOTE {
        return Err(Problem::new(
            ProblemCode::MessageTooLarge,
            "the note is too long",
        ));
    }
    Ok(text.to_owned())
}

fn no_account() -> Problem {
    Problem::new(ProblemCode::NotFound, "no account is set up")
}
