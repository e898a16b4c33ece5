//! The team server: accepts desktops over WebSocket, authenticates them, serializes each
//! mailbox's changes through its [`Authority`], stores and numbers what was accepted,
//! and fans events and presence out to every member connected to the mailbox.
//!
//! Ordering is kept by one lock per mailbox (`MailboxHub::head`): a change is decided,
//! committed (flushed) and broadcast under it, and a new connection subscribes to the
//! broadcast and reads its snapshot or missed events under it too. So a welcome and the
//! events after it fit together exactly: nothing is missed, nothing arrives twice.
//!
//! Each connection is one task that owns its socket; a slow or misbehaving connection
//! only ever holds up itself. One that falls too far behind the broadcast is told
//! `lagged` and closed, and catches up from the log when it reconnects.
//!
//! This file is the server's lifecycle: start (store, TLS, hubs, listener), the accept
//! loop and shutdown. One mailbox's shared state is in `hub`; one connection (handshake,
//! hello, the session's frames in and events out) in `connection`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use tokio_util::sync::CancellationToken;

use super::auth::Verifier;
use super::authority::{Authority, StoreAuthority};
use super::config::ServerConfig;
use super::members::{self, Enrollment};
use super::store::Store;
use super::tls;
use crate::problem::{Problem, ProblemCode, Result};

mod connection;
mod hub;

use connection::{Shared, handshake};
use hub::MailboxHub;
pub use hub::server_name;

/// Bytes read from the socket at a time (frames larger than this still arrive whole).
const READ_BUFFER: usize = 8 * 1024;
/// How long shutdown waits for connections to say goodbye before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Starts team servers.
pub struct TeamServer;

impl TeamServer {
    /// Starts a server where the store is the authority for every mailbox.
    pub async fn start(config: ServerConfig) -> Result<RunningServer> {
        Self::start_with(config, BTreeMap::new()).await
    }

    /// Starts a server with the given authority for some mailboxes (by id); the others
    /// use [`StoreAuthority`].
    pub async fn start_with(
        config: ServerConfig,
        mut authorities: BTreeMap<String, Arc<dyn Authority>>,
    ) -> Result<RunningServer> {
        config.validate()?;
        let silence = config.silence_timeout()?;
        let hello_timeout = config.hello_timeout()?;
        let store_dir = config.store.clone();
        let log_keep = config.log_keep;
        let store = crate::problem::blocking(
            ProblemCode::CacheFailed,
            "opening the store failed",
            move || Store::open(&store_dir, log_keep),
        )
        .await??;
        let tls = tls::server_tls(&config.tls, &config.store)?;
        let cancel = CancellationToken::new();
        let mut hubs = BTreeMap::new();
        let mut outside = Vec::new();
        for mailbox in &config.mailboxes {
            let authority = authorities
                .remove(&mailbox.id)
                .unwrap_or_else(|| Arc::new(StoreAuthority));
            let head = store.head(&mailbox.id).await?;
            let hub = Arc::new(MailboxHub::new(mailbox.id.clone(), authority.clone(), head));
            hub.reconcile(&store).await?;
            if let Some(changes) = authority.outside_changes() {
                outside.push((hub.clone(), changes));
            }
            hubs.insert(mailbox.id.clone(), hub);
        }
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            Problem::new(
                ProblemCode::InvalidSettings,
                format!("could not listen on {}", config.listen),
            )
            .with_detail(e.to_string())
        })?;
        let local_addr = listener.local_addr().map_err(|e| {
            Problem::new(ProblemCode::InvalidSettings, "no local address")
                .with_detail(e.to_string())
        })?;
        let ws_config = WebSocketConfig::default()
            // tungstenite zeroes this much before every socket read: with the default
            // 128 KiB that, not the events, was most of the fan-out's cost.
            .read_buffer_size(READ_BUFFER)
            .max_message_size(Some(config.limits.max_message_bytes))
            .max_frame_size(Some(config.limits.max_message_bytes));
        let shared = Arc::new(Shared {
            verifier: Verifier::new(config.limits.max_concurrent_auth),
            connections: Arc::new(Semaphore::new(config.limits.max_connections)),
            epoch: store.epoch().to_owned(),
            store,
            hubs,
            next_connection: AtomicU64::new(1),
            cancel: cancel.clone(),
            silence,
            hello_timeout,
            ws_config,
            acceptor: tls.as_ref().map(|t| TlsAcceptor::from(t.config.clone())),
            config,
        });
        let mut background = JoinSet::new();
        for (hub, mut changes) in outside {
            let shared = shared.clone();
            background.spawn(async move {
                loop {
                    let record = tokio::select! {
                        _ = shared.cancel.cancelled() => break,
                        record = changes.recv() => match record {
                            Some(record) => record,
                            None => break,
                        },
                    };
                    if let Err(problem) = hub.commit_outside(&shared.store, record).await {
                        tracing::error!(mailbox = %hub.id, %problem, "an outside change could not be stored");
                    }
                }
            });
        }
        let accept = tokio::spawn(accept_loop(shared.clone(), listener));
        let fingerprint = tls.map(|t| t.fingerprint);
        tracing::info!(
            address = %local_addr,
            tls = fingerprint.is_some(),
            fingerprint = fingerprint.as_deref().unwrap_or("-"),
            "team server listening"
        );
        Ok(RunningServer {
            local_addr,
            fingerprint,
            shared,
            accept: Some(accept),
            background,
        })
    }
}

/// A started server. Dropping it cancels it; [`RunningServer::shutdown`] also waits.
pub struct RunningServer {
    local_addr: SocketAddr,
    fingerprint: Option<String>,
    shared: Arc<Shared>,
    accept: Option<tokio::task::JoinHandle<()>>,
    background: JoinSet<()>,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The SHA-256 fingerprint of the server's certificate; `None` without TLS.
    pub fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// `ws://…` or `wss://…` for clients on this machine.
    pub fn url(&self) -> String {
        let scheme = if self.fingerprint.is_some() {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}/", self.local_addr)
    }

    /// The store's epoch (changes when the store is created anew).
    pub fn epoch(&self) -> &str {
        &self.shared.epoch
    }

    /// Adds a member to a mailbox; see [`Enrollment`] for the invite code.
    pub async fn add_member(&self, mailbox: &str, member: &str) -> Result<Enrollment> {
        members::enroll(
            &self.shared.store,
            &self.shared.verifier,
            &self.shared.config,
            mailbox,
            member,
        )
        .await
    }

    /// Staged shutdown: cancel (connections are told `shutting_down`), wait for them with
    /// a grace period, abort what is left, then close the store (flushed).
    pub async fn shutdown(mut self) {
        self.shared.cancel.cancel();
        if let Some(mut accept) = self.accept.take()
            && tokio::time::timeout(SHUTDOWN_GRACE * 2, &mut accept)
                .await
                .is_err()
        {
            accept.abort();
            let _ = accept.await;
        }
        if tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.background.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            self.background.shutdown().await;
        }
        let store = self.shared.store.clone();
        drop(self);
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
        tracing::info!("team server stopped");
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (tcp, peer) = tokio::select! {
            _ = shared.cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "too many connections; refused one");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        connections.spawn(async move {
            serve(&shared, tcp, peer).await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        connections.shutdown().await;
    }
}

async fn serve(shared: &Shared, tcp: TcpStream, peer: SocketAddr) {
    match &shared.acceptor {
        Some(acceptor) => {
            match tokio::time::timeout(shared.hello_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => handshake(shared, stream, peer).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
        None => handshake(shared, tcp, peer).await,
    }
}
