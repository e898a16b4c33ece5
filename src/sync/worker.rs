//! The sync connection: one owned task that logs in, brings the inbox and the Sent
//! folder up to date, then waits in IDLE for news. It reconnects by dropping the session,
//! waiting with jittered backoff, and reports every state through `Connectivity`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::backoff;
use super::connection::Connection;
use super::context::SyncContext;
use super::folder::sync_folder;
use crate::connectivity::Connectivity;
use crate::conversation::FolderRole;
use crate::imap::session::{IdleEnd, ImapSession};
use crate::problem::{Problem, ProblemCode, Result};

/// How long one IDLE lasts before the Sent folder is checked again; well below the
/// 29 minutes after which servers may drop an idle connection.
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// Servers without IDLE are asked this often.
const POLL_INTERVAL: Duration = Duration::from_secs(30);

pub struct SyncWorker {
    pub connection: Connection,
    pub ctx: SyncContext,
    pub connectivity: watch::Sender<Connectivity>,
    /// Ends IDLE or a backoff wait early (the user asked to retry, or to sync now).
    pub wake: Arc<Notify>,
    /// Told after each sync round, so missing previews get fetched.
    pub previews: Arc<Notify>,
    /// Asks for the inbox and Sent to be read now (the duplicate-reply guard).
    pub sync_now: Arc<SyncNow>,
    pub cancel: CancellationToken,
}

/// "Read the inbox and the Sent folder now, and tell me when that is done": what the
/// duplicate-reply guard asks before a reply leaves, because Sent is otherwise only
/// looked at every minute.
///
/// Requests are numbered; a round serves the requests asked before it began. A round
/// already under way when a request comes may have read Sent before a colleague's copy
/// landed there, so it does not count for that request: the next one does.
#[derive(Debug)]
pub struct SyncNow {
    /// Requests (and nudges) asked so far.
    asked: std::sync::atomic::AtomicU64,
    /// The highest request number a finished round served.
    served: watch::Sender<u64>,
}

impl Default for SyncNow {
    fn default() -> Self {
        SyncNow {
            asked: Default::default(),
            served: watch::channel(0).0,
        }
    }
}

impl SyncNow {
    /// Asks for a round and waits up to `limit` for it; false when it did not happen in
    /// time (offline, or a first sync still running).
    pub async fn request(&self, wake: &Notify, limit: Duration) -> bool {
        let mut served = self.served.subscribe();
        let mine = self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        wake.notify_one();
        tokio::time::timeout(limit, served.wait_for(|s| *s >= mine))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Asks for a round without waiting for it (a sent copy was just stored).
    pub fn nudge(&self, wake: &Notify) {
        self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        wake.notify_one();
    }

    /// At the start of a round: the newest request it serves, if any is waiting.
    fn take(&self) -> Option<u64> {
        let asked = self.asked.load(std::sync::atomic::Ordering::SeqCst);
        (asked > *self.served.borrow()).then_some(asked)
    }

    /// At the end of a round that began when `asked` was the newest request.
    fn done(&self, asked: u64) {
        self.served.send_if_modified(|served| {
            let newer = asked > *served;
            *served = (*served).max(asked);
            newer
        });
    }
}

/// The folders Baton syncs and where they sit in the cache.
struct Folders {
    inbox: (u16, String),
    sent: Option<(u16, String)>,
}

impl SyncWorker {
    pub async fn run(self) {
        let mut failures = 0u32;
        loop {
            self.set(Connectivity::Connecting);
            let outcome = tokio::select! {
                _ = self.cancel.cancelled() => return,
                outcome = self.session_round(&mut failures) => outcome,
            };
            let problem = match outcome {
                Ok(()) => return,
                Err(problem) => problem,
            };
            tracing::warn!(code = ?problem.code, "sync connection: {problem} ({:?})", problem.detail);
            if matches!(
                problem.code,
                ProblemCode::AuthFailed
                    | ProblemCode::PasswordMissing
                    | ProblemCode::InvalidSettings
            ) {
                // Trying again would only repeat the refusal (and may lock the
                // account); wait for new settings or an explicit retry.
                self.set(Connectivity::Offline { problem });
                tokio::select! {
                    _ = self.cancel.cancelled() => return,
                    _ = self.wake.notified() => continue,
                }
            }
            let delay = backoff::delay(failures);
            failures = failures.saturating_add(1);
            self.set(Connectivity::Retrying {
                problem,
                in_secs: delay.as_secs_f64().ceil() as u32,
            });
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    fn set(&self, state: Connectivity) {
        self.connectivity.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
    }

    /// One connection's life: returns only with the problem that ended it (or Ok when
    /// cancelled).
    async fn session_round(&self, failures: &mut u32) -> Result<()> {
        let mut session = self.connection.open().await?;
        *failures = 0;
        self.set(Connectivity::Online { syncing: true });
        let folders = self.find_folders(&mut session).await?;
        if let Some((slot, name)) = &folders.sent {
            sync_folder(&mut session, &self.ctx, *slot, name).await?;
        }
        sync_folder(&mut session, &self.ctx, folders.inbox.0, &folders.inbox.1).await?;
        self.ctx.thread_pending().await?;
        self.set(Connectivity::Online { syncing: false });
        self.previews.notify_one();

        loop {
            let end = if session.caps().idle {
                session.idle(IDLE_LIMIT, &self.wake).await?
            } else {
                tokio::select! {
                    _ = self.wake.notified() => IdleEnd::Woken,
                    _ = tokio::time::sleep(POLL_INTERVAL) => IdleEnd::TimedOut,
                }
            };
            if self.cancel.is_cancelled() {
                session.logout().await;
                return Ok(());
            }
            let asked = self.sync_now.take();
            // Re-selecting the inbox with QRESYNC reports exactly what changed. The inbox
            // comes before Sent: a Baton colleague stores the copy in Sent before it flags
            // the customer's message answered, so a flag seen here has its copy (and so its
            // sender's name) in the Sent read that follows.
            let changed =
                sync_folder(&mut session, &self.ctx, folders.inbox.0, &folders.inbox.1).await?;
            if (end == IdleEnd::TimedOut || asked.is_some())
                && let Some((slot, name)) = &folders.sent
            {
                sync_folder(&mut session, &self.ctx, *slot, name).await?;
            }
            if let Some(asked) = asked {
                self.sync_now.done(asked);
            }
            if changed {
                self.previews.notify_one();
            }
        }
    }

    async fn find_folders(&self, session: &mut ImapSession) -> Result<Folders> {
        let listed = session.list_folders().await?;
        let inbox_name = listed
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case("INBOX"))
            .map_or_else(|| "INBOX".to_owned(), |f| f.name.clone());
        let sent_name = listed
            .iter()
            .find(|f| f.role == FolderRole::Sent && f.selectable)
            .map(|f| f.name.clone());
        let mut store = self.ctx.store();
        let inbox = (
            store.ensure_folder(&inbox_name, FolderRole::Inbox),
            inbox_name,
        );
        let sent = sent_name.map(|name| (store.ensure_folder(&name, FolderRole::Sent), name));
        store.save()?;
        if listed.is_empty() {
            return Err(Problem::new(
                ProblemCode::ProtocolError,
                "the server listed no folders",
            ));
        }
        Ok(Folders { inbox, sent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_round_under_way_does_not_serve_a_later_request() {
        let sync_now = Arc::new(SyncNow::default());
        let wake = Arc::new(Notify::new());
        sync_now.nudge(&wake);
        // A round begins for the nudge…
        let round = sync_now.take().expect("a round is wanted");
        // …and a guard asks while it runs.
        let asking = {
            let (sync_now, wake) = (sync_now.clone(), wake.clone());
            tokio::spawn(async move { sync_now.request(&wake, Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        sync_now.done(round);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !asking.is_finished(),
            "served by a round that began before it"
        );
        // The next round serves it.
        let next = sync_now.take().expect("the request wants a round");
        sync_now.done(next);
        assert!(asking.await.expect("task"));
        assert_eq!(sync_now.take(), None, "nothing left to do");
    }

    #[tokio::test]
    async fn no_round_in_time_is_false() {
        let sync_now = SyncNow::default();
        let wake = Notify::new();
        assert!(!sync_now.request(&wake, Duration::from_millis(10)).await);
    }
}
