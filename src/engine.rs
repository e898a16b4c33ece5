//! The engine's one facade. The desktop shell (and tests, and the benchmark) call these
//! methods and forward the events; nothing else of the engine is needed to run Baton.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::account::AccountSettings;
use crate::connectivity::Connectivity;
use crate::contract::{Action, ConversationState};
use crate::conversation::{
    ConversationDetail, ConversationId, ConversationPage, MessageKey, TeamAction, View,
};
use crate::events::{EngineEvent, EventListener, Events};
use crate::mailbox::Mailbox;
use crate::mime::{AttachmentInfo, IngestOptions, MessageBody};
use crate::outbox::worker::OutboxWorker;
use crate::problem::{Problem, ProblemCode, Result, blocking};
use crate::profile::{Profile, SetupState};
use crate::secrets::SecretStore;
use crate::sync::context::SyncContext;
use crate::team::host::Hosted;
use crate::team::link::{TeamContext, TeamLink};
use crate::team::{
    Activity, HostSettings, Presence, TeamInvite, TeamOverview, TeamServerSettings,
    TeamServerState, TeamStateHome,
};

mod compose;
mod notes;

pub use notes::ActivityItem;

/// How often a team server that could not start is tried again.
const HOSTING_RETRY: Duration = Duration::from_secs(3);

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
    notes: std::sync::Mutex<notes::NotesState>,
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

    /// Tries to host again every few seconds until it works, hosting is turned off, or
    /// the engine is gone. Members' links reconnect by themselves once it is up.
    fn retry_hosting(&self, account: AccountSettings, host: HostSettings) {
        let engine = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HOSTING_RETRY).await;
                let Some(inner) = engine.upgrade() else {
                    return;
                };
                let engine = Engine { inner };
                if engine.inner.profile.hosting().ok().flatten().as_ref() != Some(&host)
                    || engine.inner.hosted.lock().await.is_some()
                {
                    return;
                }
                match Box::pin(engine.start_hosting(&account, &host)).await {
                    Ok(()) => {
                        tracing::info!("hosting the team server");
                        return;
                    }
                    Err(problem) => tracing::debug!("hosting the team server: {problem}"),
                }
            }
        });
    }

    async fn start_hosting(&self, account: &AccountSettings, host: &HostSettings) -> Result<()> {
        let mut hosted = self.inner.hosted.lock().await;
        if let Some(old) = hosted.take() {
            old.shutdown().await;
        }
        let started = Hosted::start(
            &self.inner.profile.hosted_server_dir(),
            self.inner.secrets.clone(),
            account,
            host,
        )
        .await?;
        let settings = started.settings().clone();
        // This member joins its own server once; later starts find the secret stored.
        let invite = started.invite(&account.member_id).await?;
        *hosted = Some(started);
        self.inner.hosting.store(true, Ordering::SeqCst);
        drop(hosted);
        if let Some(invite) = invite {
            self.store_team_secret(&settings, &account.member_id, &invite.code)
                .await?;
        }
        self.inner.profile.save_team_server(Some(&settings))?;
        Ok(())
    }

    async fn store_team_secret(
        &self,
        settings: &TeamServerSettings,
        member: &str,
        code: &str,
    ) -> Result<()> {
        let secret = crate::team::host::redeem(settings, member, code).await?;
        crate::secrets::write(
            &self.inner.secrets,
            &settings.credential_key(),
            &secret,
            "the team server secret",
        )
        .await
    }

    /// Hosts the team server inside this app from now on (also after restarts), joins
    /// it, and reconnects the team link.
    pub async fn host_team_server(&self, host: HostSettings) -> Result<TeamServerSettings> {
        let account = self
            .inner
            .profile
            .account()?
            .ok_or_else(|| Problem::new(ProblemCode::NotFound, "no account is set up"))?;
        self.start_hosting(&account, &host).await?;
        self.inner.profile.save_hosting(Some(&host))?;
        self.restart().await?;
        self.inner
            .profile
            .team_server()?
            .ok_or_else(|| Problem::new(ProblemCode::NotFound, "the team server did not start"))
    }

    /// Stops hosting the team server here.
    pub async fn stop_hosting(&self) -> Result<()> {
        if let Some(hosted) = self.inner.hosted.lock().await.take() {
            hosted.shutdown().await;
        }
        self.inner.hosting.store(false, Ordering::SeqCst);
        self.inner.profile.save_hosting(None)?;
        self.inner.profile.save_team_server(None)?;
        self.restart().await
    }

    /// A colleague's invitation to the hosted team server.
    pub async fn invite_colleague(&self, member: &str) -> Result<TeamInvite> {
        let hosted = self.inner.hosted.lock().await;
        let hosted = hosted.as_ref().ok_or_else(|| {
            Problem::new(
                ProblemCode::NotFound,
                "this computer does not host the team server",
            )
        })?;
        hosted.invite(member).await?.ok_or_else(|| {
            Problem::new(
                ProblemCode::InvalidSettings,
                format!("{member} has already joined the team server"),
            )
        })
    }

    /// Joins a team server with an invitation from its host, then connects to it.
    pub async fn join_team_server(&self, invite: TeamInvite) -> Result<()> {
        invite.settings.validate()?;
        self.store_team_secret(&invite.settings, &invite.member, &invite.code)
            .await?;
        self.inner
            .profile
            .save_team_server(Some(&invite.settings))?;
        self.restart().await
    }

    /// Stops using a team server: claims go straight to the mailbox.
    pub async fn leave_team_server(&self) -> Result<()> {
        self.inner.profile.save_team_server(None)?;
        self.restart().await
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

    pub fn list_conversations(&self, view: View, offset: u32, limit: u32) -> ConversationPage {
        match self.mailbox() {
            Some(mailbox) => mailbox.page(view, offset, limit),
            None => ConversationPage {
                view,
                total: 0,
                offset,
                rows: vec![],
            },
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

    pub async fn conversation(&self, id: ConversationId) -> Result<ConversationDetail> {
        self.mailbox()
            .ok_or_else(no_account)?
            .conversation(id)
            .await
    }

    /// Claims, releases, hands over or changes the status of a conversation, as this
    /// member. Fails with a `ClaimConflict` naming the colleague when one got there first.
    pub async fn act(&self, id: ConversationId, action: TeamAction) -> Result<()> {
        let member = self.member();
        let action: Action = action.into();
        self.mark_own_change(id, &action);
        if let Some(link) = self.team_link_ref()
            && link.connected()
        {
            if link.change(id, &action).await?.is_some() {
                // Show the result now, not when the mailbox's news arrives.
                self.refresh_conversation(id).await;
                return Ok(());
            }
            if link.authoritative() {
                return Err(Problem::new(
                    ProblemCode::TeamStateUnavailable,
                    "the team server holds the team state and cannot be reached",
                ));
            }
        }
        // No team server, or it cannot be reached: the same contract, on the mailbox.
        self.act_as(&member, id, action).await
    }

    /// Reads a conversation's flags afresh from the mailbox.
    async fn refresh_conversation(&self, id: ConversationId) {
        let Some(mailbox) = self.mailbox() else {
            return;
        };
        if let Err(problem) = mailbox.refresh(id).await {
            tracing::debug!("refreshing {id:?}: {problem}");
        }
    }

    /// This member's id (empty before an account is set up); kept with the running
    /// connections, so asking costs no file read.
    fn member(&self) -> String {
        self.running_ref()
            .as_ref()
            .map(|r| r.mailbox.member().to_owned())
            .unwrap_or_default()
    }

    /// Carries out `action` for `member` straight on the mailbox: what `act` does for
    /// this member, and what a team server does for each member who asks it.
    pub async fn act_as(&self, member: &str, id: ConversationId, action: Action) -> Result<()> {
        self.mailbox()
            .ok_or_else(no_account)?
            .act_as(member, id, action)
            .await
    }

    /// The team at a glance: who is in it, the team server's link, where the state lives.
    pub fn team(&self) -> TeamOverview {
        let running = self.running_ref();
        let Some(running) = running.as_ref() else {
            return TeamOverview {
                me: String::new(),
                members: Vec::new(),
                server: TeamServerState::NotConfigured,
                state_home: TeamStateHome::Unknown,
                hosting: self.inner.hosting.load(Ordering::SeqCst),
            };
        };
        let server = running
            .team
            .as_ref()
            .map_or(TeamServerState::NotConfigured, |link| link.state());
        // Not `self.member()`: that takes the lock held here.
        crate::team::link::overview(
            running.mailbox.member(),
            running.mailbox.ctx(),
            self.inner.hosting.load(Ordering::SeqCst),
            server,
        )
    }

    /// The team state of conversations: all that are held or not open when `ids` is
    /// `None`, else those of `ids` that still exist. With each, a version that grows with
    /// every change of its messages (their highest modseq).
    pub async fn team_states(
        &self,
        ids: Option<&[ConversationId]>,
    ) -> Vec<(ConversationId, ConversationState, u64)> {
        match self.mailbox() {
            Some(mailbox) => mailbox.team_states(ids).await,
            None => Vec::new(),
        }
    }

    /// Whether the mail server keeps the team's keywords (`None` before connecting).
    pub fn keywords_supported(&self) -> Option<bool> {
        self.mailbox()?.keywords_supported()
    }

    /// Who is viewing or replying on conversation `id` (empty without a team server).
    pub fn presence(&self, id: ConversationId) -> Vec<Presence> {
        self.team_link_ref()
            .map(|link| link.presence(id, &self.member()))
            .unwrap_or_default()
    }

    /// Tells colleagues what this member is doing on conversation `id` (`None`: nothing).
    /// Without a team server there is nobody to tell; presence is paused.
    pub async fn report_activity(&self, id: ConversationId, activity: Option<Activity>) {
        if let Some(link) = self.team_link_ref() {
            link.report(id, activity).await;
        }
    }

    /// The colleagues who use Baton on this mailbox (their claim keyword is known to
    /// it), this member included.
    pub fn team_members(&self) -> Vec<String> {
        self.team().members
    }

    /// The raw message, from the body cache or the server.
    async fn raw_message(&self, key: &MessageKey) -> Result<Vec<u8>> {
        self.mailbox()
            .ok_or_else(no_account)?
            .raw_message(key)
            .await
    }

    pub async fn message_body(
        &self,
        key: MessageKey,
        allow_remote_images: bool,
    ) -> Result<MessageBody> {
        let raw = self.raw_message(&key).await?;
        let options = IngestOptions {
            allow_remote_images,
        };
        let content = blocking(
            ProblemCode::MessageUnreadable,
            "the message could not be read",
            move || crate::mime::ingest(&raw, &options),
        )
        .await?;
        Ok(MessageBody { key, content })
    }

    /// Writes attachment `index` of a message to `path`.
    pub async fn save_attachment(
        &self,
        key: MessageKey,
        index: u32,
        path: &Path,
    ) -> Result<AttachmentInfo> {
        let (info, bytes) = self.attachment(key, index).await?;
        tokio::fs::write(path, bytes).await.map_err(|e| {
            Problem::new(
                ProblemCode::FileFailed,
                format!("could not write {}", path.display()),
            )
            .with_detail(e.to_string())
        })?;
        Ok(info)
    }

    /// The attachment's metadata, for a save dialog's suggested file name.
    pub async fn attachment_info(&self, key: MessageKey, index: u32) -> Result<AttachmentInfo> {
        Ok(self.attachment(key, index).await?.0)
    }

    async fn attachment(&self, key: MessageKey, index: u32) -> Result<(AttachmentInfo, Vec<u8>)> {
        let raw = self.raw_message(&key).await?;
        blocking(
            ProblemCode::MessageUnreadable,
            "the attachment could not be read",
            move || crate::mime::attachment(&raw, index),
        )
        .await?
    }
}

fn no_account() -> Problem {
    Problem::new(ProblemCode::NotFound, "no account is set up")
}
