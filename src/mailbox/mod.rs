//! One connected shared mailbox: its cache, the sync connection (IDLE) and the fetcher
//! connection (bodies, previews, team actions, mail operations), and the work asked of
//! them. The member's engine runs one; a team server hosted in the app (or `baton-sync`)
//! runs its own, with nothing of the desktop around it.

pub mod notes;
pub mod templates;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::account::AccountSettings;
use crate::connectivity::Connectivity;
use crate::contract::{Action, ConversationState};
use crate::conversation::{ConversationDetail, ConversationId, ConversationPage, MessageKey, View};
use crate::events::{EngineEvent, Events};
use crate::imap::tls::client_config;
use crate::problem::{Problem, ProblemCode, Result, blocking};
use crate::secrets::SecretStore;
use crate::store::Store;
use crate::store::bodies::BodyCache;
use crate::sync::connection::Connection;
use crate::sync::context::SyncContext;
use crate::sync::fetcher::{BodyRequest, Fetcher, MAX_BODY, PreviewQueue};
use crate::sync::mailops::MailOp;
use crate::sync::team::ActionRequest;
use crate::sync::worker::{SyncNow, SyncWorker};

/// How long shutdown waits for the connection tasks before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// A cheap handle; clones share one mailbox.
#[derive(Clone)]
pub struct Mailbox {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: SyncContext,
    connection: Connection,
    bodies: mpsc::Sender<BodyRequest>,
    actions: mpsc::Sender<ActionRequest>,
    mail: mpsc::Sender<MailOp>,
    wake: Arc<Notify>,
    wanted: PreviewQueue,
    previews: Arc<Notify>,
    sync_now: Arc<SyncNow>,
    /// Becomes true once the cached messages are loaded and threaded.
    ready: watch::Receiver<bool>,
    cancel: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Mailbox {
    /// Opens the cache in `dir` and starts the connections for `account`. The list shows
    /// from the cache's snapshot at once; the messages load and thread off the lock, and
    /// the connections start once they are in place. `connectivity` hears the sync
    /// connection's state.
    pub async fn open(
        dir: &Path,
        account: AccountSettings,
        secrets: Arc<dyn SecretStore>,
        events: Events,
        connectivity: watch::Sender<Connectivity>,
    ) -> Result<Mailbox> {
        let shared = account.shared_address.clone();
        let member = account.member_id.clone();
        let store_dir = dir.join("headers");
        let (store, pending) = blocking(
            ProblemCode::CacheFailed,
            "the cache could not be opened",
            move || Store::open(&store_dir, &shared, &member),
        )
        .await??;
        let ctx = SyncContext {
            store: Arc::new(Mutex::new(store)),
            events: events.clone(),
            bodies: BodyCache::new(&dir.join("bodies")),
            suspects: Default::default(),
            checked: Default::default(),
            keywords: Default::default(),
        };
        let connection = Connection {
            tls: client_config(account.extra_ca_file.as_deref())?,
            account,
            secrets,
        };
        let cancel = CancellationToken::new();
        let wake = Arc::new(Notify::new());
        let previews = Arc::new(Notify::new());
        let wanted = PreviewQueue::default();
        let (bodies, requests) = mpsc::channel(64);
        let (actions, action_requests) = mpsc::channel(64);
        let (mail, mail_ops) = mpsc::channel(64);
        let sync_now = Arc::new(SyncNow::default());
        let worker = SyncWorker {
            connection: connection.clone(),
            ctx: ctx.clone(),
            connectivity,
            wake: wake.clone(),
            previews: previews.clone(),
            sync_now: sync_now.clone(),
            cancel: cancel.clone(),
        };
        let fetcher = Fetcher {
            connection: connection.clone(),
            ctx: ctx.clone(),
            member: connection.account.member_id.clone(),
            requests,
            actions: action_requests,
            mail: mail_ops,
            previews: previews.clone(),
            wanted: wanted.clone(),
            cancel: cancel.clone(),
        };
        let (ready_tx, ready) = watch::channel(false);
        let loader = {
            let ctx = ctx.clone();
            async move {
                let built = blocking(
                    ProblemCode::CacheFailed,
                    "the cache could not be loaded",
                    move || pending.build(),
                );
                match built.await.and_then(|built| built) {
                    Ok(built) => ctx.store().install(built),
                    Err(problem) => {
                        // The cache is only a copy: start empty and let sync fill it again.
                        tracing::error!("cache load: {problem} ({:?})", problem.detail);
                        if let Err(e) = ctx.store().start_over(problem) {
                            tracing::error!("clearing the cache: {e}");
                        }
                    }
                }
                let _ = ready_tx.send(true);
                ctx.events.emit(EngineEvent::Resync);
            }
        };
        let mailbox = Mailbox {
            inner: Arc::new(Inner {
                ctx,
                connection,
                bodies,
                actions,
                mail,
                wake,
                wanted,
                previews,
                sync_now,
                ready,
                cancel,
                tasks: Mutex::default(),
            }),
        };
        let worker_ready = mailbox.loaded();
        let fetcher_ready = mailbox.loaded();
        mailbox.keep(tokio::spawn(loader));
        mailbox.keep(tokio::spawn(async move {
            worker_ready.await;
            worker.run().await
        }));
        mailbox.keep(tokio::spawn(async move {
            fetcher_ready.await;
            fetcher.run().await
        }));
        Ok(mailbox)
    }

    /// Keeps a task that lives as long as the mailbox (stopped with it).
    pub fn keep(&self, task: JoinHandle<()>) {
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task);
    }

    /// Cancelled when the mailbox stops: tasks kept with it watch this.
    pub fn cancel_token(&self) -> CancellationToken {
        self.inner.cancel.clone()
    }

    /// Resolves once the cached messages are loaded and threaded.
    pub fn loaded(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut ready = self.inner.ready.clone();
        async move {
            let _ = ready.wait_for(|r| *r).await;
        }
    }

    /// The cache and the rest the sync connections share, once the cache is loaded.
    pub async fn ready(&self) -> SyncContext {
        self.loaded().await;
        self.inner.ctx.clone()
    }

    /// The shared state without waiting for the cache (the list shows its snapshot).
    pub fn ctx(&self) -> &SyncContext {
        &self.inner.ctx
    }

    /// The login the connections run with.
    pub fn connection(&self) -> &Connection {
        &self.inner.connection
    }

    /// The member whose account this is.
    pub fn member(&self) -> &str {
        &self.inner.connection.account.member_id
    }

    /// Where claims and refreshes are carried out (the fetcher's connection).
    pub fn actions(&self) -> &mpsc::Sender<ActionRequest> {
        &self.inner.actions
    }

    /// Where mail operations go (the fetcher's connection).
    pub fn mail(&self) -> &mpsc::Sender<MailOp> {
        &self.inner.mail
    }

    /// "Read the inbox and Sent now", and what wakes the sync connection for it.
    pub fn sync_now(&self) -> (&Arc<SyncNow>, &Arc<Notify>) {
        (&self.inner.sync_now, &self.inner.wake)
    }

    /// Asks the connections to try again now.
    pub fn retry_now(&self) {
        self.inner.wake.notify_one();
    }

    /// Reads the inbox and Sent again and waits up to `limit` for it; false when that did
    /// not happen in time.
    pub async fn read_again(&self, limit: Duration) -> bool {
        self.inner.sync_now.request(&self.inner.wake, limit).await
    }

    /// A page of a view; rows without a preview ask the fetcher for one.
    pub fn page(&self, view: View, offset: u32, limit: u32) -> ConversationPage {
        let store = self.inner.ctx.store();
        let page = store.page(view, offset as usize, limit as usize);
        let ids: Vec<ConversationId> = page
            .rows
            .iter()
            .filter(|r| r.preview.is_empty())
            .map(|r| r.id)
            .collect();
        let wanted = store.previews_wanted(&ids);
        drop(store);
        if !wanted.is_empty() {
            self.inner.wanted.push(wanted);
            self.inner.previews.notify_one();
        }
        page
    }

    pub async fn conversation(&self, id: ConversationId) -> Result<ConversationDetail> {
        self.ready()
            .await
            .store()
            .conversation(id)
            .ok_or_else(|| Problem::new(ProblemCode::NotFound, "the conversation no longer exists"))
    }

    /// Carries out `action` for `member` straight on the mailbox (the contract's
    /// conditional stores): what the member's engine does without a team server, and
    /// what a team server does for each member who asks it.
    pub async fn act_as(&self, member: &str, id: ConversationId, action: Action) -> Result<()> {
        crate::account::validate_member_id(member)?;
        self.loaded().await;
        let (reply, answer) = oneshot::channel();
        let request = ActionRequest {
            member: member.to_owned(),
            id,
            action: Some(action),
            reply,
        };
        self.inner
            .actions
            .send(request)
            .await
            .map_err(|_| shutting_down())?;
        answer.await.map_err(|_| shutting_down())?
    }

    /// Reads a conversation's flags afresh from the mailbox.
    pub async fn refresh(&self, id: ConversationId) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        let request = ActionRequest {
            member: self.member().to_owned(),
            id,
            action: None,
            reply,
        };
        self.inner
            .actions
            .send(request)
            .await
            .map_err(|_| shutting_down())?;
        answer.await.map_err(|_| shutting_down())?
    }

    /// The team state of conversations: all that are held or not open when `ids` is
    /// `None`, else those of `ids` that still exist. With each, a version that grows with
    /// every change of its messages (their highest modseq).
    pub async fn team_states(
        &self,
        ids: Option<&[ConversationId]>,
    ) -> Vec<(ConversationId, ConversationState, u64)> {
        self.ready().await.store().team_states(ids)
    }

    /// Whether the mail server keeps the team's keywords (`None` before connecting).
    pub fn keywords_supported(&self) -> Option<bool> {
        self.inner.ctx.keywords.custom_supported()
    }

    /// One piece of mailbox work on the fetcher's connection, once the cache is loaded.
    pub async fn mail_op<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T>>) -> MailOp,
    ) -> Result<T> {
        self.loaded().await;
        let (reply, answer) = oneshot::channel();
        self.inner
            .mail
            .send(make(reply))
            .await
            .map_err(|_| shutting_down())?;
        answer.await.map_err(|_| shutting_down())?
    }

    /// Files one of Baton's own messages (a note version, a template) in one of its
    /// folders, already read, so no mail app counts it as new.
    pub async fn file_read(&self, folder: &str, message: Vec<u8>) -> Result<()> {
        self.mail_op(|reply| MailOp::Append {
            folder: crate::sync::mailops::FolderTarget::Named(folder.to_owned()),
            flags: "\\Seen",
            message,
            reply,
        })
        .await
    }

    /// The raw message, from the body cache or the server.
    pub async fn raw_message(&self, key: &MessageKey) -> Result<Vec<u8>> {
        let ctx = self.ready().await;
        let (slot, size) = {
            let store = ctx.store();
            let (slot, record) = store.locate(key).ok_or_else(|| {
                Problem::new(
                    ProblemCode::MessageGone,
                    "the message is no longer in the mailbox",
                )
            })?;
            (slot, record.size)
        };
        if u64::from(size) > MAX_BODY {
            return Err(Problem::new(
                ProblemCode::MessageTooLarge,
                "the message is too large to show",
            ));
        }
        if let Some(raw) = ctx.bodies.read(slot, key.uid_validity, key.uid).await {
            return Ok(raw);
        }
        let (reply, answer) = oneshot::channel();
        let request = BodyRequest {
            slot,
            folder: key.folder.clone(),
            uid_validity: key.uid_validity,
            uid: key.uid,
            reply,
        };
        self.inner
            .bodies
            .send(request)
            .await
            .map_err(|_| shutting_down())?;
        let raw = answer.await.map_err(|_| shutting_down())??;
        ctx.bodies
            .write(slot, key.uid_validity, key.uid, &raw)
            .await?;
        Ok(raw)
    }

    /// Staged shutdown: cancel, wait a little for a clean logout, then abort; the cache
    /// is flushed last.
    pub async fn stop(&self) {
        self.inner.cancel.cancel();
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for mut task in tasks {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        let flusher = self.inner.ctx.store().flusher();
        if let Err(problem) = flusher.flush().await {
            tracing::warn!("cache flush at shutdown: {problem}");
        }
    }
}

/// Logs in with `password` and out again: the settings work.
pub async fn check_login_with(account: &AccountSettings, password: &str) -> Result<()> {
    let tls = client_config(account.extra_ca_file.as_deref())?;
    let session =
        crate::imap::connect::open_session(&account.imap, tls, &account.username, password).await?;
    session.logout().await;
    Ok(())
}

/// Logs in with the password `secrets` hold for the account, and out again.
pub async fn check_login(account: &AccountSettings, secrets: &Arc<dyn SecretStore>) -> Result<()> {
    let password = crate::secrets::read(secrets, &account.credential_key(), "the password")
        .await?
        .ok_or_else(|| {
            Problem::new(
                ProblemCode::PasswordMissing,
                "no password is stored for the mailbox",
            )
        })?;
    check_login_with(account, &password).await
}

/// Where an account's cache lives under a cache directory: one per server account, so
/// switching accounts never mixes mailboxes.
pub fn cache_dir(base: &Path, account: &AccountSettings) -> std::path::PathBuf {
    let id = crate::threading::conversation_id(&account.credential_key()).0;
    base.join(format!("{id:016x}"))
}

fn shutting_down() -> Problem {
    Problem::new(ProblemCode::ShuttingDown, "Baton is shutting down")
}
