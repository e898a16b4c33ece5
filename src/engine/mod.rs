//! The engine's one facade. The desktop shell (and tests, and the benchmark) call these
//! methods and forward the events; nothing else of the engine is needed to run Baton.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};

use crate::account::AccountSettings;
use crate::connectivity::Connectivity;
use crate::events::{EngineEvent, EventListener, Events};
use crate::mailbox::Mailbox;
use crate::outbox::worker::OutboxWorker;
use crate::problem::{Problem, ProblemCode, Result};
use crate::profile::{Profile, SetupState};
use crate::secrets::SecretStore;
use crate::sync::context::SyncContext;
use crate::team::host::Hosted;
use crate::team::link::{TeamContext, TeamLink};

mod compose;
mod hosting;
mod notes;
mod outbox;
mod read;
mod team;

pub use crate::notes::history::ActivityItem;

/// A cheap handle; clones share one engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    profile: Profile,
    secrets: Arc<dyn SecretStore>,
    events: Events,
    connectivity: watch::Sender<Connectivity>,
    running: Mutex<Option<Running>>,
    /// The team server hosted inside this app, when it hosts one.
    hosted: tokio::sync::Mutex<Option<Hosted>>,
    /// Whether `hosted` holds a running server, readable without waiting.
    hosting: Arc<std::sync::atomic::AtomicBool>,
    /// Taken while a draft's copy in the Drafts folder is replaced or removed, so a late
    /// copy can never land after the draft was sent or discarded.
    draft_copies: Arc<tokio::sync::Mutex<()>>,
    /// The drafts on this computer; one store, so every change to a draft takes turns.
    drafts: crate::compose::drafts::DraftStore,
    /// The outbox on this computer; one store (and one copy in memory) for the outbox
    /// task, the guard and the window.
    outbox: crate::outbox::store::OutboxStore,
    /// Notes read from the mailbox, rows last seen (for notifications), team history.
    notes: std::sync::Mutex<crate::notes::state::NotesState>,
    /// Read the notes folder now (a push said a conversation's notes changed).
    notes_wake: Arc<Notify>,
}

/// The parts that exist while an account is configured.
struct Running {
    /// The shared mailbox: its cache and connections, and the engine's own tasks kept
    /// with it (the outbox, the notes watch), so stopping it stops them all.
    mailbox: Mailbox,
    /// The link to the team server, when one is configured.
    team: Option<Arc<TeamLink>>,
    outbox: Arc<OutboxWorker>,
}

impl Engine {
    /// Opens a profile: its cache is loaded and, when an account is configured, the
    /// connections start. Must be called inside a tokio runtime.
    pub async fn open(profile: Profile, secrets: Arc<dyn SecretStore>) -> Result<Engine> {
        let (connectivity, _) = watch::channel(Connectivity::NotConfigured);
        let drafts = crate::compose::drafts::DraftStore::new(&profile.drafts_dir());
        let outbox = crate::outbox::store::OutboxStore::new(&profile.outbox_dir());
        let engine = Engine {
            inner: Arc::new(Inner {
                drafts,
                outbox,
                profile,
                secrets,
                events: Events::new(),
                connectivity,
                running: Mutex::new(None),
                hosted: tokio::sync::Mutex::new(None),
                hosting: Default::default(),
                draft_copies: Default::default(),
                notes: Default::default(),
                notes_wake: Default::default(),
            }),
        };
        engine.forward_connectivity();
        if let Some(account) = engine.inner.profile.account()? {
            if let Some(host) = engine.inner.profile.hosting()? {
                // Members on this computer connect to it, so it starts first; a server
                // that cannot start leaves claims working on the mailbox.
                if let Err(problem) = engine.start_hosting(&account, &host).await {
                    tracing::error!("hosting the team server: {problem} ({:?})", problem.detail);
                    // Most often the port is still held by a Baton that is closing.
                    engine.retry_hosting(account.clone(), host);
                }
            }
            engine.start(account).await?;
        }
        Ok(engine)
    }

    pub fn events(&self) -> EventListener {
        self.inner.events.subscribe()
    }

    pub fn connectivity(&self) -> Connectivity {
        self.inner.connectivity.borrow().clone()
    }

    pub fn setup_state(&self) -> Result<SetupState> {
        self.inner.profile.setup_state()
    }

    /// Checks the settings by logging in, then stores the password in the credential
    /// store, saves the settings and (re)starts syncing.
    pub async fn configure(&self, settings: AccountSettings, password: String) -> Result<()> {
        settings.validate()?;
        crate::mailbox::check_login_with(&settings, &password).await?;
        crate::secrets::write(
            &self.inner.secrets,
            &settings.credential_key(),
            &password,
            "the password",
        )
        .await?;
        self.inner.profile.save_account(&settings)?;
        self.stop().await;
        self.start(settings).await
    }

    /// Asks the connections to try again now (after a network change, or when the user
    /// presses "retry").
    pub fn retry_now(&self) {
        if let Some(running) = self.running_ref().as_ref() {
            running.mailbox.retry_now();
        }
    }

    fn running_ref(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.inner.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn forward_connectivity(&self) {
        let mut changes = self.inner.connectivity.subscribe();
        let events = self.inner.events.clone();
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let connectivity = changes.borrow_and_update().clone();
                events.emit(EngineEvent::Connectivity { connectivity });
            }
        });
    }

    fn cache_dir(&self, account: &AccountSettings) -> PathBuf {
        crate::mailbox::cache_dir(&self.inner.profile.cache_dir(), account)
    }

    async fn start(&self, account: AccountSettings) -> Result<()> {
        let dir = self.cache_dir(&account);
        let mailbox = Mailbox::open(
            &dir,
            account,
            self.inner.secrets.clone(),
            self.inner.events.clone(),
            self.inner.connectivity.clone(),
        )
        .await?;
        let outbox = Arc::new(self.outbox_worker(&mailbox));
        let team = self.team_link(&mailbox).await;
        let loaded = mailbox.loaded();
        let outbox_task = outbox.clone();
        mailbox.keep(tokio::spawn(async move {
            loaded.await;
            outbox_task.run().await
        }));
        let watch = self.spawn_notes_watch(mailbox.cancel_token(), self.inner.notes_wake.clone());
        mailbox.keep(watch);
        *self.running_ref() = Some(Running {
            mailbox,
            team,
            outbox,
        });
        self.inner.events.emit(EngineEvent::Resync);
        Ok(())
    }

    /// The link to the configured team server, if there is one and a secret for it.
    async fn team_link(&self, mailbox: &Mailbox) -> Option<Arc<TeamLink>> {
        let settings = match self.inner.profile.team_server() {
            Ok(settings) => settings?,
            Err(problem) => {
                tracing::error!("team server settings: {problem}");
                return None;
            }
        };
        let secret = crate::secrets::read(
            &self.inner.secrets,
            &settings.credential_key(),
            "the team server secret",
        )
        .await
        .ok()
        .flatten()?;
        let (sync_now, wake) = (mailbox.sync_now().0.clone(), mailbox.sync_now().1.clone());
        let team = TeamContext {
            me: mailbox.member().to_owned(),
            sync: mailbox.ctx().clone(),
            hosting: self.inner.hosting.clone(),
            notes_wake: self.inner.notes_wake.clone(),
            read_sent: Arc::new(move || sync_now.nudge(&wake)),
        };
        Some(Arc::new(TeamLink::start(
            &settings,
            &secret,
            team,
            mailbox.actions().clone(),
        )))
    }

    async fn restart(&self) -> Result<()> {
        self.stop().await;
        match self.inner.profile.account()? {
            Some(account) => self.start(account).await,
            None => Ok(()),
        }
    }

    fn team_link_ref(&self) -> Option<Arc<TeamLink>> {
        self.running_ref().as_ref().and_then(|r| r.team.clone())
    }

    /// Staged shutdown: the team link first, then the mailbox with the tasks kept with
    /// it (cancel, wait a little for a clean logout, then abort; the cache flushed).
    async fn stop(&self) {
        let running = self.running_ref().take();
        let Some(mut running) = running else { return };
        if let Some(link) = running.team.take() {
            match Arc::try_unwrap(link) {
                Ok(link) => link.shutdown().await,
                // Borrowed by a request in flight (a claim, a history): closed under it.
                Err(link) => link.close(),
            }
        }
        running.mailbox.stop().await;
        self.inner
            .connectivity
            .send_replace(Connectivity::NotConfigured);
    }

    pub async fn shutdown(&self) {
        self.stop().await;
        if let Some(hosted) = self.inner.hosted.lock().await.take() {
            hosted.shutdown().await;
        }
    }

    /// The mailbox, while an account is configured.
    fn mailbox(&self) -> Option<Mailbox> {
        self.running_ref().as_ref().map(|r| r.mailbox.clone())
    }

    /// Waits (briefly, at start) until the cached messages are loaded.
    async fn ready(&self) -> Option<SyncContext> {
        Some(self.mailbox()?.ready().await)
    }

    /// This member's id (empty before an account is set up); kept with the running
    /// connections, so asking costs no file read.
    fn member(&self) -> String {
        self.running_ref()
            .as_ref()
            .map(|r| r.mailbox.member().to_owned())
            .unwrap_or_default()
    }
}

fn no_account() -> Problem {
    Problem::new(ProblemCode::NotFound, "no account is set up")
}
