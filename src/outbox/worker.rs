//! The outbox task: sends what is due, one message at a time, looks at the conversation
//! one last time before each message leaves (and holds it when a colleague answered
//! meanwhile), records every step before taking it, retries temporary failures with
//! backoff, never sends again on its own when a message may already have left, and
//! finishes the work after sending (the copy in Sent, the answered flag, the claim).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::policy::{GIVE_UP_AFTER, Verdict, retry_delay};
use super::smtp::{SmtpTarget, send};
use super::store::{Entry, OutboxStore, Phase};
use super::{OutboxItem, OutboxStatus, SendFailure, SendFailureKind};
use crate::compose::GuardFinding;
use crate::conversation::{ConversationId, MessageKey};
use crate::problem::{ProblemCode, Result};
use crate::store::now_ms;

/// How long the work after sending waits before trying again when the mailbox could
/// not be reached.
const AFTER_SEND_RETRY: Duration = Duration::from_secs(30);
/// Sent messages stay in the outbox list this long, so the member sees them leave.
const KEEP_SENT: Duration = Duration::from_secs(24 * 3600);

/// Gives the SMTP login (the password comes from the credential store each time).
pub type TargetSource = Arc<dyn Fn() -> BoxFuture<'static, Result<SmtpTarget>> + Send + Sync>;
/// Claims a conversation for this member when nobody holds it.
pub type ClaimHook = Arc<dyn Fn(ConversationId) -> BoxFuture<'static, Result<()>> + Send + Sync>;
/// The last look at the conversation before a message leaves.
pub type CheckHook = Arc<dyn Fn(Entry) -> BoxFuture<'static, LastCheck> + Send + Sync>;
/// An item of the outbox changed: the window hears it, colleagues hear which replies are
/// on their way.
pub type ChangeHook = Arc<dyn Fn(&OutboxItem) + Send + Sync>;

/// The mailbox work around sending, which the engine does on its connection.
pub trait SentFolder: Send + Sync {
    /// Whether a message with this Message-ID (without brackets) is in Sent.
    fn holds(&self, message_id: &str) -> BoxFuture<'_, Result<bool>>;
    /// Stores the sent copy in Sent.
    fn file(&self, message: Vec<u8>) -> BoxFuture<'_, Result<()>>;
    /// Sets the answered flag on the message a reply answers.
    fn mark_answered(&self, key: MessageKey) -> BoxFuture<'_, Result<()>>;
    /// A copy was just filed: read Sent again soon, so the conversation shows the reply
    /// now (and not at the next minute's look at Sent).
    fn filed(&self);
}

/// What the last check before sending decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastCheck {
    /// Nothing new since Send: it may leave. `claimed`: the claim was taken on the way
    /// (`Some(true)` when this send took it from nobody).
    Go { claimed: Option<bool> },
    /// Something the member did not know at Send: held until they choose.
    Hold(Vec<GuardFinding>),
    /// The conversation could not be read; the message waits and is checked again.
    Wait(String),
}

/// How long a message whose last check could not be made waits before the next one.
const CHECK_RETRY: Duration = Duration::from_secs(30);

pub struct OutboxWorker {
    pub store: OutboxStore,
    /// The drafts' attached files are kept until their message has left (undo gives
    /// the draft back with them).
    pub drafts: crate::compose::drafts::DraftStore,
    pub target: TargetSource,
    pub sent: Arc<dyn SentFolder>,
    pub claim: ClaimHook,
    pub check: CheckHook,
    pub changed: ChangeHook,
    /// The server files sent mail in Sent by itself (Gmail, Microsoft 365): no copy.
    pub server_saves_sent: bool,
    pub wake: Arc<Notify>,
    pub cancel: CancellationToken,
}

impl OutboxWorker {
    pub async fn run(self: Arc<Self>) {
        // After a restart: an attempt that was handing over the content may have
        // delivered; one that was still at the envelope did not.
        for entry in self.store.list() {
            match (entry.phase, &entry.item.status) {
                (Phase::Content, _) => self.ambiguous(entry.item.id.clone(), None).await,
                (Phase::Envelope, _) => {
                    let _ = self.store.update(&entry.item.id, |e| {
                        e.phase = Phase::Idle;
                        e.item.status = OutboxStatus::Queued;
                        Ok((true, ()))
                    });
                }
                _ => {}
            }
        }
        let mut after_send_due: HashMap<String, i64> = HashMap::new();
        loop {
            let now = now_ms();
            let mut next: Option<i64> = None;
            for entry in self.store.list() {
                let due = match &entry.item.status {
                    OutboxStatus::Queued => Some(entry.item.send_at),
                    OutboxStatus::Retrying { next_at, .. } => Some(*next_at),
                    OutboxStatus::Sent { at, .. } => {
                        if !after_send_done(&entry) {
                            Some(*after_send_due.get(&entry.item.id).unwrap_or(&now))
                        } else {
                            if now - at > KEEP_SENT.as_millis() as i64 {
                                let _ = self.store.remove(&entry.item.id);
                            }
                            None
                        }
                    }
                    _ => None,
                };
                let Some(due) = due else { continue };
                if due > now {
                    next = Some(next.map_or(due, |n: i64| n.min(due)));
                    continue;
                }
                if self.cancel.is_cancelled() {
                    return;
                }
                if matches!(entry.item.status, OutboxStatus::Sent { .. }) {
                    if !self.after_send(&entry.item.id).await {
                        let retry = now + AFTER_SEND_RETRY.as_millis() as i64;
                        after_send_due.insert(entry.item.id.clone(), retry);
                        next = Some(next.map_or(retry, |n: i64| n.min(retry)));
                    }
                } else {
                    self.attempt(&entry.item.id).await;
                    // Its follow-up (after-send work, or a retry time) is picked up by
                    // the next pass.
                    next = Some(now);
                }
            }
            let wait = next.map_or(Duration::from_secs(3600), |n| {
                Duration::from_millis(u64::try_from(n - now_ms()).unwrap_or(0))
            });
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    fn emit(&self, item: &OutboxItem) {
        (self.changed)(item);
    }

    /// One SMTP attempt for entry `id`, if it is still due, after the last check.
    async fn attempt(&self, id: &str) {
        let Ok(entry) = self.store.get(id) else {
            return;
        };
        if !due(&entry, now_ms()) {
            return;
        }
        // The member can still take it back while this looks (it has not started).
        let claimed = match (self.check)(entry).await {
            LastCheck::Go { claimed } => claimed,
            LastCheck::Hold(findings) => {
                self.finish_if_due(id, |e| {
                    e.item.status = OutboxStatus::Held { findings };
                });
                return;
            }
            LastCheck::Wait(reason) => {
                let next_at = now_ms() + CHECK_RETRY.as_millis() as i64;
                self.finish_if_due(id, |e| {
                    e.item.status = OutboxStatus::Retrying {
                        next_at,
                        failure: SendFailure {
                            kind: SendFailureKind::CheckFailed,
                            server: String::new(),
                            code: None,
                            server_text: Some(reason),
                        },
                    };
                });
                return;
            }
        };
        let now = now_ms();
        let started = self.store.update(id, |e| {
            let due = due(e, now);
            if due {
                e.item.status = OutboxStatus::Sending;
                e.item.attempts += 1;
                e.phase = Phase::Envelope;
                e.first_attempt_at.get_or_insert(now);
                if let Some(by_send) = claimed {
                    e.after.claimed = true;
                    e.claimed_by_send |= by_send;
                }
            }
            Ok((due, due))
        });
        let entry = match started {
            Ok((entry, true)) => entry,
            Ok(_) => return,
            Err(problem) => {
                tracing::debug!("outbox {id}: {problem}");
                return;
            }
        };
        self.emit(&entry.item);
        let verdict = match self.deliver(&entry).await {
            Ok(()) => {
                self.finish(id, |e| {
                    e.phase = Phase::Delivered;
                    e.item.status = OutboxStatus::Sent {
                        at: now_ms(),
                        sent_copy: false,
                    };
                    // A server that files sent mail itself makes the copy.
                    e.after.sent_copy = self.server_saves_sent;
                });
                return;
            }
            Err(verdict) => verdict,
        };
        match verdict {
            Verdict::Retry(failure) => {
                let given_up = entry
                    .first_attempt_at
                    .is_some_and(|first| now_ms() - first > GIVE_UP_AFTER.as_millis() as i64);
                let next_at = now_ms() + retry_delay(entry.item.attempts).as_millis() as i64;
                self.finish(id, |e| {
                    e.phase = Phase::Idle;
                    e.item.status = if given_up {
                        OutboxStatus::Failed { failure }
                    } else {
                        OutboxStatus::Retrying { next_at, failure }
                    };
                });
            }
            Verdict::Stop(failure) => self.finish(id, |e| {
                e.phase = Phase::Idle;
                e.item.status = OutboxStatus::Failed { failure };
            }),
            Verdict::Ambiguous(failure) => self.ambiguous(id.to_owned(), Some(failure)).await,
        }
    }

    async fn deliver(&self, entry: &Entry) -> std::result::Result<(), Verdict> {
        // Before the login is known there is no server name to show.
        let server = String::new();
        let stop = |kind, detail: String| {
            Verdict::Stop(SendFailure {
                kind,
                server: server.clone(),
                code: None,
                server_text: Some(detail),
            })
        };
        let target = (self.target)().await.map_err(|problem| {
            let kind = if problem.code == ProblemCode::PasswordMissing {
                SendFailureKind::PasswordMissing
            } else {
                SendFailureKind::Invalid
            };
            stop(kind, problem.to_string())
        })?;
        let message = self
            .store
            .message(&entry.item.id)
            .map_err(|problem| stop(SendFailureKind::Invalid, problem.to_string()))?;
        let store = self.store.clone();
        let id = entry.item.id.clone();
        let mark_content = move || async move {
            // From here on the message may leave: recorded (synced) first.
            store
                .update(&id, |e| {
                    e.phase = Phase::Content;
                    Ok((true, ()))
                })
                .map(|_| ())
        };
        send(
            &target,
            &entry.sender,
            &entry.item.recipients,
            &message,
            mark_content,
        )
        .await
        .map(|_| ())
    }

    /// The connection broke after the content was handed over (or Baton stopped then):
    /// the message may have left. Look in Sent before anything else; never resend.
    async fn ambiguous(&self, id: String, failure: Option<SendFailure>) {
        let Ok(entry) = self.store.get(&id) else {
            return;
        };
        let failure = failure.unwrap_or_else(|| SendFailure {
            kind: SendFailureKind::ConnectionLostAfterData,
            server: String::new(),
            code: None,
            server_text: None,
        });
        let found = self.sent.holds(&entry.item.message_id).await;
        match found {
            Ok(true) => self.finish(&id, |e| {
                e.phase = Phase::Delivered;
                e.after.sent_copy = true;
                e.item.status = OutboxStatus::Sent {
                    at: now_ms(),
                    sent_copy: true,
                };
            }),
            Ok(false) | Err(_) => self.finish(&id, |e| {
                e.phase = Phase::Idle;
                e.item.status = OutboxStatus::Unknown { failure };
            }),
        }
    }

    /// Looks again for a message whose fate is unknown (the member asked).
    pub async fn recheck(&self, id: &str) {
        self.ambiguous(id.to_owned(), None).await;
    }

    /// Changes entry `id` if it is still waiting to go (not taken back meanwhile).
    fn finish_if_due(&self, id: &str, change: impl FnOnce(&mut Entry)) {
        let now = now_ms();
        match self.store.update(id, |e| {
            let due = due(e, now);
            if due {
                change(e);
            }
            Ok((due, due))
        }) {
            Ok((entry, true)) => self.emit(&entry.item),
            Ok(_) => {}
            Err(problem) => tracing::debug!("outbox {id}: {problem}"),
        }
    }

    fn finish(&self, id: &str, change: impl FnOnce(&mut Entry)) {
        match self.store.update(id, |e| {
            change(e);
            Ok((true, ()))
        }) {
            Ok((entry, ())) => self.emit(&entry.item),
            Err(problem) => tracing::error!("outbox {id}: {problem}"),
        }
    }

    /// The sent copy, the answered flag and the claim; true when all are done.
    async fn after_send(&self, id: &str) -> bool {
        let Ok(entry) = self.store.get(id) else {
            return true;
        };
        let mut after = entry.after.clone();
        if !after.sent_copy {
            after.sent_copy = match self.sent_copy(&entry).await {
                Ok(()) => true,
                Err(problem) => {
                    tracing::warn!("sent copy of {id}: {problem} ({:?})", problem.detail);
                    false
                }
            };
        }
        // The answered flag only once the copy is in Sent: colleagues' guards (and the
        // mailbox's other readers) take a flag with no copy for a reply they cannot see
        // and cannot name, and the copy is what names the sender. A failed copy is tried
        // again later, the flag with it.
        if !after.answered && after.sent_copy {
            after.answered = match &entry.item.replying_to {
                Some(key) => {
                    match self.sent.mark_answered(key.clone()).await {
                        // A message deleted meanwhile needs no flag.
                        Err(p) if p.code == ProblemCode::MessageGone => true,
                        Err(problem) => {
                            tracing::warn!("answered flag for {id}: {problem}");
                            false
                        }
                        Ok(()) => true,
                    }
                }
                None => true,
            };
        }
        if !after.claimed {
            after.claimed = match entry.item.conversation {
                Some(conversation) if entry.claim => match (self.claim)(conversation).await {
                    Ok(()) => true,
                    Err(problem) => {
                        tracing::warn!("claim after sending {id}: {problem}");
                        false
                    }
                },
                _ => true,
            };
        }
        if after.sent_copy && !entry.after.sent_copy {
            self.sent.filed();
        }
        let done = after.sent_copy && after.answered && after.claimed;
        if let Err(problem) = self.drafts.remove(&entry.item.id) {
            tracing::debug!("draft files of {id}: {problem}");
        }
        self.finish(id, |e| {
            if let OutboxStatus::Sent { sent_copy, .. } = &mut e.item.status {
                *sent_copy = after.sent_copy;
            }
            e.after = after;
        });
        done
    }

    /// Appends the sent copy, unless it is there already (a crash after the append).
    async fn sent_copy(&self, entry: &Entry) -> Result<()> {
        if self.sent.holds(&entry.item.message_id).await? {
            return Ok(());
        }
        let message = self.store.message(&entry.item.id)?;
        self.sent.file(message).await
    }
}

/// Waiting to go and its time has come.
fn due(entry: &Entry, now: i64) -> bool {
    match &entry.item.status {
        OutboxStatus::Queued => entry.item.send_at <= now,
        OutboxStatus::Retrying { next_at, .. } => *next_at <= now,
        _ => false,
    }
}

fn after_send_done(entry: &Entry) -> bool {
    entry.after.sent_copy && entry.after.answered && entry.after.claimed
}

/// Mail services known to file every sent message in Sent themselves; a copy from Baton
/// would be a second one.
pub fn server_saves_sent(smtp_host: &str) -> bool {
    let host = smtp_host.to_ascii_lowercase();
    [
        "gmail.com",
        "googlemail.com",
        "office365.com",
        "outlook.com",
    ]
    .iter()
    .any(|h| host == *h || host.ends_with(&format!(".{h}")))
}
