//! The facade for the outbox: the task that sends (and the last look at a conversation
//! before each message leaves, the claim, the Sent folder work), the replies colleagues
//! must see on their way, and what the member can do with a message in the outbox: undo,
//! edit or send a held one anyway, send again, mark sent, look again, discard.

use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::oneshot;

use super::Engine;
use super::compose::conflict_finding;
use crate::compose::guard::{self, Baseline};
use crate::compose::{Draft, GuardFinding};
use crate::conversation::{ConversationId, FolderRole, MessageKey, TeamAction};
use crate::mailbox::Mailbox;
use crate::outbox::smtp::SmtpTarget;
use crate::outbox::store::{Entry, Phase};
use crate::outbox::worker::{
    ChangeHook, CheckHook, ClaimHook, LastCheck, OutboxWorker, SentFolder, TargetSource,
    server_saves_sent,
};
use crate::outbox::{OutboxItem, OutboxStatus};
use crate::problem::{Problem, ProblemCode, Result};
use crate::store::now_ms;
use crate::sync::mailops::{FolderTarget, MailOp};
use crate::team::Activity;

impl Engine {
    /// The outbox task for an account (started with the other connections).
    pub(super) fn outbox_worker(&self, mailbox: &Mailbox) -> OutboxWorker {
        let connection = mailbox.connection();
        let login = connection.clone();
        let target: TargetSource = Arc::new(move || {
            let login = login.clone();
            Box::pin(async move {
                let password = login.password().await?;
                let extra_ca = match &login.account.extra_ca_file {
                    Some(file) => Some(
                        tokio::fs::read(file)
                            .await
                            .map_err(|e| crate::durable::problem(Path::new(file), e))?,
                    ),
                    None => None,
                };
                Ok(SmtpTarget {
                    endpoint: login.account.smtp.clone(),
                    username: login.account.username.clone(),
                    password,
                    extra_ca,
                })
            })
        });
        let engine = Arc::downgrade(&self.inner);
        let claim: ClaimHook = Arc::new(move |id| {
            let engine = engine.clone();
            Box::pin(async move {
                let Some(inner) = engine.upgrade() else {
                    return Ok(());
                };
                match (Engine { inner }).claim_if_free(id).await {
                    // Someone else took it meanwhile: theirs it is.
                    Err(problem) if problem.code == ProblemCode::ClaimConflict => Ok(()),
                    other => other.map(|_| ()),
                }
            })
        });
        let engine = Arc::downgrade(&self.inner);
        let check: CheckHook = Arc::new(move |entry| {
            let engine = engine.clone();
            Box::pin(async move {
                match engine.upgrade() {
                    Some(inner) => Engine { inner }.last_check(entry).await,
                    None => LastCheck::Wait("Baton is shutting down".to_owned()),
                }
            })
        });
        let engine = Arc::downgrade(&self.inner);
        let events = self.inner.events.clone();
        let changed: ChangeHook = Arc::new(move |item| {
            events.emit(crate::events::EngineEvent::Outbox { item: item.clone() });
            if let Some(inner) = engine.upgrade() {
                tokio::spawn(async move { Engine { inner }.publish_outgoing().await });
            }
        });
        OutboxWorker {
            store: self.inner.outbox.clone(),
            drafts: self.drafts(),
            target,
            sent: Arc::new(SentOnConnection {
                mailbox: mailbox.clone(),
            }),
            claim,
            check,
            changed,
            server_saves_sent: server_saves_sent(&connection.account.smtp.host),
            wake: Default::default(),
            cancel: mailbox.cancel_token(),
        }
    }

    /// Claims `id` for this member when nobody holds it; true when this took it. A
    /// colleague who got there first is a `ClaimConflict` naming them.
    pub(super) async fn claim_if_free(&self, id: ConversationId) -> Result<bool> {
        let Some(ctx) = self.ready().await else {
            return Ok(false);
        };
        let free = ctx.store().team_state(id).owner.is_none();
        if !free {
            return Ok(false);
        }
        self.act(id, TeamAction::Claim).await.map(|()| true)
    }

    /// The last look before a queued message leaves (the outbox task asks when its undo
    /// window or send-later time is over, and before each retry): the claim is taken if
    /// that is still to do, the mailbox is read again, and anything new since the member
    /// pressed Send that they did not choose to send despite holds the message.
    pub(super) async fn last_check(&self, entry: Entry) -> LastCheck {
        let Some(conversation) = entry.item.conversation else {
            return LastCheck::Go { claimed: None };
        };
        let mut claimed = None;
        if entry.claim && !entry.after.claimed {
            match self.claim_if_free(conversation).await {
                Ok(by_send) => claimed = Some(by_send),
                Err(problem) if problem.code == ProblemCode::ClaimConflict => {
                    let held =
                        guard::last_check_news(vec![conflict_finding(&problem)], &entry.despite);
                    if !held.is_empty() {
                        return LastCheck::Hold(held);
                    }
                    // Sent despite this colleague holding it: theirs it stays.
                    claimed = Some(false);
                }
                Err(problem) if unreachable(&problem) => {
                    return LastCheck::Wait(problem.to_string());
                }
                // Nobody can hold it here (a mail server without keywords and no team
                // server): the checks below are all there is.
                Err(problem) => tracing::warn!("claim before sending: {problem}"),
            }
        }
        let look = self.look(conversation, true).await;
        if !look.checked_live {
            return LastCheck::Wait("the mailbox did not answer in time".to_owned());
        }
        let Some(baseline) = entry
            .sent_against
            .as_ref()
            .or(entry.draft.baseline.as_ref())
        else {
            return LastCheck::Go { claimed };
        };
        let mine = self
            .team_link_ref()
            .and_then(|link| link.own_turn(conversation));
        let earlier = guard::sending_before(&look.sending, mine);
        let me = self.member();
        let team = guard::TeamNow {
            replying: &[],
            ..look.team(&me, &earlier)
        };
        let own = self.own_message_ids(&entry.item.message_id);
        let found = guard::findings(baseline, &own, &look.messages, &team);
        let news = guard::last_check_news(found, &entry.despite);
        if news.is_empty() {
            LastCheck::Go { claimed }
        } else {
            LastCheck::Hold(news)
        }
    }

    /// Tells colleagues (through the team server) which replies are on their way out of
    /// this computer's outbox.
    pub(super) async fn publish_outgoing(&self) {
        let Some(link) = self.team_link_ref() else {
            return;
        };
        let entries = self.inner.outbox.list();
        link.set_outgoing(crate::outbox::outgoing::outgoing(&entries))
            .await;
    }

    /// Sends a held message anyway: the member saw what held it. It is checked once more
    /// as it leaves, and only something new since this choice holds it again.
    pub async fn send_held(&self, id: &str, despite: Vec<GuardFinding>) -> Result<OutboxItem> {
        let outbox = self.outbox()?;
        let conversation = outbox.store.get(id)?.item.conversation;
        // What the member saw when choosing is the new starting point.
        let sent_against = match conversation {
            Some(conversation) => {
                Some(Baseline::of(&self.look(conversation, false).await.messages))
            }
            None => None,
        };
        let (entry, ()) = outbox.store.update(id, |e| {
            let OutboxStatus::Held { findings } = &e.item.status else {
                return Err(Problem::new(
                    ProblemCode::TooLateToUndo,
                    "the message is not held any more",
                ));
            };
            let unseen = guard::unacknowledged(findings.clone(), &despite);
            if !unseen.is_empty() {
                return Err(Problem::new(
                    ProblemCode::InvalidSettings,
                    "the message is held for something not confirmed",
                ));
            }
            if findings
                .iter()
                .any(|f| matches!(f, GuardFinding::OwnedByOther { .. }))
            {
                // A colleague holds it: sending anyway does not take it from them.
                e.after.claimed = true;
            }
            e.despite.extend(despite);
            if sent_against.is_some() {
                e.sent_against = sent_against;
            }
            e.item.status = OutboxStatus::Queued;
            e.item.send_at = now_ms();
            Ok((true, ()))
        })?;
        self.publish_outgoing().await;
        self.inner.events.emit(crate::events::EngineEvent::Outbox {
            item: entry.item.clone(),
        });
        outbox.wake.notify_one();
        Ok(entry.item)
    }

    /// Gives back a claim that sending `entry` took, now that it will not leave: to the
    /// colleague whose reply held it (they answered, so the baton is theirs), else to
    /// nobody.
    pub(super) async fn give_back_claim(&self, entry: &Entry) {
        let (true, Some(conversation)) = (entry.claimed_by_send, entry.item.conversation) else {
            return;
        };
        let answered_by = match &entry.item.status {
            OutboxStatus::Held { findings } => findings.iter().find_map(|f| match f {
                GuardFinding::ColleagueSending { member, .. } => Some(member.clone()),
                _ => None,
            }),
            _ => None,
        };
        let action = match answered_by {
            Some(to) => TeamAction::HandOver { to },
            None => TeamAction::Release,
        };
        match self.act(conversation, action).await {
            Ok(()) => {}
            // Handed over or released meanwhile: not ours to give back.
            Err(problem) if problem.code == ProblemCode::NotHolder => {}
            Err(problem) => tracing::warn!("giving back the claim: {problem}"),
        }
    }

    pub(super) fn outbox(&self) -> Result<Arc<OutboxWorker>> {
        self.running_ref()
            .as_ref()
            .map(|r| r.outbox.clone())
            .ok_or_else(|| Problem::new(ProblemCode::NotFound, "no account is set up"))
    }

    /// Everything in the outbox, oldest first.
    pub fn outbox_items(&self) -> Vec<OutboxItem> {
        self.inner
            .outbox
            .list()
            .into_iter()
            .map(|e| e.item)
            .collect()
    }

    /// Takes a queued (or held) message back before SMTP starts; it is a draft again,
    /// colleagues no longer see it on its way, and a claim the send took is given back.
    pub async fn undo_send(&self, id: &str) -> Result<Draft> {
        let outbox = self.outbox()?;
        let entry = outbox.store.take_if(id, |e| {
            let back = matches!(
                e.item.status,
                OutboxStatus::Queued | OutboxStatus::Held { .. }
            );
            if back && e.phase == Phase::Idle {
                Ok(())
            } else {
                Err(Problem::new(
                    ProblemCode::TooLateToUndo,
                    "the message is already on its way",
                ))
            }
        })?;
        self.publish_outgoing().await;
        self.give_back_claim(&entry).await;
        let mut draft = entry.draft;
        draft.saved_at = now_ms();
        self.drafts().save(&draft)?;
        if let Some(conversation) = draft.conversation {
            self.report_activity(conversation, Some(Activity::Replying))
                .await;
        }
        outbox.wake.notify_one();
        Ok(draft)
    }

    /// Sends a failed message again, or one whose fate is unknown after the member
    /// checked with the recipient: a deliberate choice, never automatic.
    pub fn send_again(&self, id: &str) -> Result<OutboxItem> {
        let outbox = self.outbox()?;
        let (entry, ()) = outbox.store.update(id, |e| {
            if !matches!(
                e.item.status,
                OutboxStatus::Failed { .. }
                    | OutboxStatus::Unknown { .. }
                    | OutboxStatus::Retrying { .. }
            ) {
                return Err(Problem::new(
                    ProblemCode::TooLateToUndo,
                    "the message is already on its way",
                ));
            }
            e.item.status = OutboxStatus::Queued;
            e.item.send_at = now_ms();
            e.phase = Phase::Idle;
            e.first_attempt_at = None;
            Ok((true, ()))
        })?;
        self.inner.events.emit(crate::events::EngineEvent::Outbox {
            item: entry.item.clone(),
        });
        outbox.wake.notify_one();
        Ok(entry.item)
    }

    /// The member knows a message whose fate was unknown did arrive: it counts as sent
    /// (and gets its copy in Sent and the answered flag).
    pub fn mark_sent(&self, id: &str) -> Result<OutboxItem> {
        let outbox = self.outbox()?;
        let (entry, ()) = outbox.store.update(id, |e| {
            if !matches!(e.item.status, OutboxStatus::Unknown { .. }) {
                return Err(Problem::new(
                    ProblemCode::NotFound,
                    "only a message whose fate is unknown can be marked as sent",
                ));
            }
            e.item.status = OutboxStatus::Sent {
                at: now_ms(),
                sent_copy: false,
            };
            e.phase = Phase::Delivered;
            Ok((true, ()))
        })?;
        self.inner.events.emit(crate::events::EngineEvent::Outbox {
            item: entry.item.clone(),
        });
        outbox.wake.notify_one();
        Ok(entry.item)
    }

    /// Looks in Sent again for a message whose fate is unknown.
    pub async fn recheck_sent(&self, id: &str) -> Result<OutboxItem> {
        let outbox = self.outbox()?;
        outbox.recheck(id).await;
        Ok(outbox.store.get(id)?.item)
    }

    /// Removes a message that failed, is unknown, held, or was sent, from the list.
    pub async fn discard_outbox(&self, id: &str) -> Result<()> {
        let outbox = self.outbox()?;
        let entry = outbox.store.take_if(id, |e| {
            if e.phase == Phase::Content || e.item.status == OutboxStatus::Sending {
                Err(Problem::new(
                    ProblemCode::TooLateToUndo,
                    "the message is being sent right now",
                ))
            } else {
                Ok(())
            }
        })?;
        if !matches!(entry.item.status, OutboxStatus::Sent { .. }) {
            let _ = self.drafts().remove(id);
            self.publish_outgoing().await;
            if !matches!(entry.item.status, OutboxStatus::Unknown { .. }) {
                self.give_back_claim(&entry).await;
            }
        }
        Ok(())
    }
}

/// The claim could not be asked for at all (rather than was refused).
fn unreachable(problem: &Problem) -> bool {
    matches!(
        problem.code,
        ProblemCode::Unreachable
            | ProblemCode::ShuttingDown
            | ProblemCode::ConnectionLost
            | ProblemCode::Timeout
    )
}

/// The outbox's work in Sent, on the fetcher's connection; a copy filed asks the sync
/// connection to read Sent again.
struct SentOnConnection {
    mailbox: Mailbox,
}

impl SentOnConnection {
    pub(super) async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T>>) -> MailOp,
    ) -> Result<T> {
        self.mailbox.mail_op(make).await
    }
}

impl SentFolder for SentOnConnection {
    fn holds(&self, message_id: &str) -> BoxFuture<'_, Result<bool>> {
        let message_id = message_id.to_owned();
        Box::pin(self.ask(|reply| MailOp::Find {
            folder: FolderTarget::Role(FolderRole::Sent),
            message_id,
            reply,
        }))
    }

    fn file(&self, message: Vec<u8>) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.ask(|reply| MailOp::Append {
            folder: FolderTarget::Role(FolderRole::Sent),
            flags: "\\Seen",
            message,
            reply,
        }))
    }

    fn mark_answered(&self, key: MessageKey) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.ask(|reply| MailOp::MarkAnswered { key, reply }))
    }

    fn filed(&self) {
        let (sync_now, wake) = self.mailbox.sync_now();
        sync_now.nudge(wake);
    }
}
