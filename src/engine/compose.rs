//! The facade for writing and sending: drafts, the duplicate-reply guard, the outbox
//! and the team's templates.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::Engine;
use crate::compose::build::{self, From};
use crate::compose::drafts::{DraftStore, new_id, new_message_id};
use crate::compose::guard::{self, Baseline, TeamNow};
use crate::compose::quote::{self, Lang, Source};
use crate::compose::templates::{self, Placeholders};
use crate::compose::{
    ComposeSettings, Draft, DraftEdit, DraftKind, GuardFinding, GuardReport, Template,
    TemplateKind, Threading,
};
use crate::contract::Status;
use crate::conversation::{ConversationId, FolderRole, MessageKey, TeamAction};
use crate::mailbox::Mailbox;
use crate::outbox::smtp::SmtpTarget;
use crate::outbox::store::{AfterSend, Entry, Phase};
use crate::outbox::worker::{
    ChangeHook, CheckHook, ClaimHook, LastCheck, OutboxWorker, SentFolder, TargetSource,
    server_saves_sent,
};
use crate::outbox::{OutboxItem, OutboxStatus};
use crate::outbox::{SendOptions, SendOutcome};
use crate::problem::{Problem, ProblemCode, Result, blocking};
use crate::store::now_ms;
use crate::sync::mailops::{FolderTarget, MailOp};
use crate::team::Activity;

/// How long a send-time guard waits for the mailbox to be read again.
const LIVE_CHECK_LIMIT: Duration = Duration::from_secs(3);
/// A draft's copy in the Drafts folder is refreshed at most this often while typing.
const SERVER_DRAFT_EVERY_MS: i64 = 30_000;

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

    fn drafts(&self) -> DraftStore {
        self.inner.drafts.clone()
    }

    /// Claims `id` for this member when nobody holds it; true when this took it. A
    /// colleague who got there first is a `ClaimConflict` naming them.
    async fn claim_if_free(&self, id: ConversationId) -> Result<bool> {
        let Some(ctx) = self.ready().await else {
            return Ok(false);
        };
        let free = ctx.store().team_state(id).owner.is_none();
        if !free {
            return Ok(false);
        }
        self.act(id, TeamAction::Claim).await.map(|()| true)
    }

    pub fn compose_settings(&self) -> Result<ComposeSettings> {
        self.inner.profile.compose_settings()
    }

    pub fn save_compose_settings(&self, settings: ComposeSettings) -> Result<()> {
        self.inner.profile.save_compose_settings(&settings)
    }

    /// Starts a draft. Replies and forwards name their `source` message (or, for a
    /// reply, the conversation's newest message from the customer is used); `lang` is
    /// the window's language for the attribution line.
    pub async fn start_draft(
        &self,
        kind: DraftKind,
        conversation: Option<ConversationId>,
        source: Option<MessageKey>,
        lang: &str,
    ) -> Result<Draft> {
        let account = self.account()?;
        let settings = self.compose_settings()?;
        let ctx = self.ready().await;
        let source = match (kind, source, conversation, &ctx) {
            (DraftKind::New, _, _, _) => None,
            (_, Some(source), _, _) => Some(source),
            (_, None, Some(id), Some(ctx)) => {
                let messages = ctx.store().guard_messages(id);
                messages
                    .iter()
                    .rev()
                    .find(|m| !m.from_team)
                    .or(messages.last())
                    .map(|m| m.key.clone())
            }
            _ => None,
        };
        if kind != DraftKind::New && source.is_none() {
            return Err(Problem::new(
                ProblemCode::NotFound,
                "the message to answer is no longer there",
            ));
        }
        let now = now_ms();
        let read = match &source {
            Some(key) => {
                let raw = self.raw_message(key).await?;
                blocking(
                    ProblemCode::MessageUnreadable,
                    "the message could not be read",
                    move || {
                        let content = crate::mime::ingest(&raw, &Default::default());
                        Source::read(&raw, &content.text)
                    },
                )
                .await?
            }
            None => Source::default(),
        };
        let (to, cc) = quote::recipients(kind, &read, &account.shared_address);
        let threading = if kind == DraftKind::New {
            Threading::default()
        } else {
            quote::threading(kind, &read, now)
        };
        let signature = self.signature(&settings).await;
        let quoted = quote::quoted_body(kind, &read, Lang::from_tag(lang));
        let mut body = String::from("\n\n");
        if !signature.is_empty() {
            body.push_str(&signature);
            body.push_str("\n\n");
        }
        body.push_str(&quoted);
        let conversation = conversation.or_else(|| {
            let ctx = ctx.as_ref()?;
            let key = source.as_ref()?;
            let store = ctx.store();
            let (_, record) = store.locate(key)?;
            store.conversation_of_message_id(&record.message_id)
        });
        let baseline = match (conversation, &ctx) {
            (Some(id), Some(ctx)) if kind != DraftKind::Forward => {
                Some(Baseline::of(&ctx.store().guard_messages(id)))
            }
            _ => None,
        };
        let draft = Draft {
            id: new_id(),
            message_id: new_message_id(&account.shared_address, now),
            kind,
            conversation: conversation.filter(|_| kind != DraftKind::Forward),
            source,
            to: crate::compose::address::format_list(&to),
            cc: crate::compose::address::format_list(&cc),
            bcc: String::new(),
            subject: quote::subject(kind, &read.subject),
            body,
            attachments: Vec::new(),
            started_at: now,
            saved_at: now,
            threading,
            baseline,
            server_copied_at: None,
        };
        self.drafts().save(&draft)?;
        if let Some(id) = draft.conversation {
            self.report_activity(id, Some(Activity::Replying)).await;
        }
        Ok(draft)
    }

    /// The member's signature and the mailbox's, as they go under a new draft.
    async fn signature(&self, settings: &ComposeSettings) -> String {
        let mailbox = self
            .templates()
            .await
            .unwrap_or_default()
            .into_iter()
            .find(|t| t.kind == TemplateKind::MailboxSignature)
            .map(|t| t.body)
            .unwrap_or_default();
        [settings.signature.trim(), mailbox.trim()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub(super) fn account(&self) -> Result<crate::account::AccountSettings> {
        self.inner
            .profile
            .account()?
            .ok_or_else(|| Problem::new(ProblemCode::NotFound, "no account is set up"))
    }

    /// Saves what the member typed; the Drafts folder gets a copy now and then.
    pub async fn save_draft(&self, edit: DraftEdit) -> Result<Draft> {
        let (draft, server_due) = self.drafts().update(&edit.id, |draft| {
            draft.to = edit.to;
            draft.cc = edit.cc;
            draft.bcc = edit.bcc;
            draft.subject = edit.subject;
            draft.body = edit.body;
            let now = now_ms();
            draft.saved_at = now;
            // Typing saves every second or two; the Drafts folder gets a copy now and then.
            Ok(draft
                .server_copied_at
                .is_none_or(|at| now - at >= SERVER_DRAFT_EVERY_MS))
        })?;
        if server_due {
            self.copy_draft_to_server(&draft);
        }
        Ok(draft)
    }

    /// Puts the draft's current text in the mailbox's Drafts folder (replacing the
    /// previous copy), in the background: the local file is what counts.
    fn copy_draft_to_server(&self, draft: &Draft) {
        let Some(mail) = self.mail_sender() else {
            return;
        };
        let Ok(account) = self.account() else { return };
        let settings = self.compose_settings().unwrap_or_default();
        let from = From {
            shared_address: &account.shared_address,
            display_name: &account.display_name,
            settings: &settings,
        };
        let dir = self.drafts().attachments_dir(&draft.id);
        // An unfinished draft may not have valid recipients yet; its copy goes without.
        let mut copy = draft.clone();
        if build::build(&copy, &from, &dir).is_err() {
            copy.to = account.shared_address.clone();
            copy.cc.clear();
            copy.bcc.clear();
        }
        let Ok(outgoing) = build::build(&copy, &from, &dir) else {
            return;
        };
        let message_id = draft.message_id.clone();
        let drafts = self.drafts();
        let id = draft.id.clone();
        let copies = self.inner.draft_copies.clone();
        tokio::spawn(async move {
            let _turn = copies.lock().await;
            if drafts.load(&id).is_err() {
                // Sent or discarded meanwhile: no copy.
                return;
            }
            let (reply, answer) = oneshot::channel();
            let remove = MailOp::RemoveById {
                folder: FolderTarget::Role(FolderRole::Drafts),
                message_id,
                reply,
            };
            if mail.send(remove).await.is_err() || answer.await.is_err() {
                return;
            }
            let (reply, answer) = oneshot::channel();
            let append = MailOp::Append {
                folder: FolderTarget::Role(FolderRole::Drafts),
                flags: "\\Draft \\Seen",
                message: outgoing.bytes,
                reply,
            };
            if mail.send(append).await.is_ok()
                && let Ok(Ok(())) = answer.await
            {
                // Only the copy's time: what the member typed meanwhile stays.
                let _ = drafts.update(&id, |saved| {
                    saved.server_copied_at = Some(now_ms());
                    Ok(())
                });
            }
        });
    }

    /// Removes the draft's copy from the Drafts folder, in the background.
    fn remove_server_draft(&self, message_id: &str) {
        let Some(mail) = self.mail_sender() else {
            return;
        };
        let message_id = message_id.to_owned();
        let copies = self.inner.draft_copies.clone();
        tokio::spawn(async move {
            let _turn = copies.lock().await;
            let (reply, answer) = oneshot::channel();
            let op = MailOp::RemoveById {
                folder: FolderTarget::Role(FolderRole::Drafts),
                message_id,
                reply,
            };
            if mail.send(op).await.is_ok()
                && let Ok(Err(problem)) = answer.await
            {
                tracing::debug!("removing a draft copy: {problem}");
            }
        });
    }

    fn mail_sender(&self) -> Option<mpsc::Sender<MailOp>> {
        Some(self.mailbox()?.mail().clone())
    }

    pub fn drafts_list(&self) -> Vec<Draft> {
        self.drafts().list()
    }

    pub fn draft(&self, id: &str) -> Result<Draft> {
        self.drafts().load(id)
    }

    pub async fn attach_file(&self, id: &str, path: &Path) -> Result<Draft> {
        let drafts = self.drafts();
        drafts.load(id)?;
        let attached = {
            let drafts = drafts.clone();
            let (id, path) = (id.to_owned(), path.to_path_buf());
            blocking(
                ProblemCode::FileFailed,
                "the file could not be attached",
                move || drafts.attach(&id, &path),
            )
            .await??
        };
        let (draft, ()) = drafts.update(id, |draft| {
            draft.attachments.push(attached);
            Ok(())
        })?;
        Ok(draft)
    }

    pub fn detach_file(&self, id: &str, attachment: &str) -> Result<Draft> {
        let drafts = self.drafts();
        let (draft, ()) = drafts.update(id, |draft| {
            drafts.detach(id, attachment)?;
            draft.attachments.retain(|a| a.id != attachment);
            Ok(())
        })?;
        Ok(draft)
    }

    /// Throws a draft away, here and in the Drafts folder.
    pub async fn discard_draft(&self, id: &str) -> Result<()> {
        let drafts = self.drafts();
        let draft = drafts.load(id)?;
        drafts.remove(id)?;
        self.remove_server_draft(&draft.message_id);
        if let Some(conversation) = draft.conversation {
            self.report_activity(conversation, None).await;
        }
        Ok(())
    }

    /// The duplicate-reply guard for draft `id`. `live` reads the inbox and Sent again
    /// first (at send time); otherwise it is what this computer knows (live banners).
    pub async fn check_draft(&self, id: &str, live: bool) -> Result<GuardReport> {
        let draft = self.drafts().load(id)?;
        self.guard(&draft, live).await
    }

    async fn guard(&self, draft: &Draft, live: bool) -> Result<GuardReport> {
        Ok(self.guard_with_baseline(draft, live).await.0)
    }

    /// The guard's report, and the conversation as it looked for it: what a send is
    /// checked against once more before it leaves.
    async fn guard_with_baseline(
        &self,
        draft: &Draft,
        live: bool,
    ) -> (GuardReport, Option<Baseline>) {
        let (Some(conversation), Some(baseline)) = (draft.conversation, &draft.baseline) else {
            let report = GuardReport {
                findings: Vec::new(),
                checked_live: live,
            };
            return (report, None);
        };
        let look = self.look(conversation, live).await;
        let me = self.member();
        let team = look.team(&me, &look.sending);
        let own = self.own_message_ids(&draft.message_id);
        let report = GuardReport {
            findings: guard::findings(baseline, &own, &look.messages, &team),
            checked_live: look.checked_live,
        };
        (report, Some(Baseline::of(&look.messages)))
    }

    /// The conversation and the team on it now; `live` reads the inbox and Sent again
    /// first (the answer says whether that happened in time).
    async fn look(&self, conversation: ConversationId, live: bool) -> Look {
        let mut checked_live = false;
        if live && let Some(mailbox) = self.mailbox() {
            checked_live = mailbox.read_again(LIVE_CHECK_LIMIT).await;
        }
        let mut look = Look {
            checked_live,
            ..Look::default()
        };
        let Some(ctx) = self.ready().await else {
            return look;
        };
        {
            let store = ctx.store();
            let state = store.team_state(conversation);
            look.owner = state.owner.filter(|_| state.status != Status::Done);
            look.messages = store.guard_messages(conversation);
            look.owner_since = store.owner_since(conversation);
        }
        for presence in self.presence(conversation) {
            match presence.activity {
                Activity::Replying => look.replying.push(presence.member),
                Activity::Sending => look.sending.push(guard::Sending {
                    member: presence.member,
                    leaves_at: presence.leaves_at,
                    message_id: presence.message_id,
                    turn: presence.turn,
                }),
                Activity::Viewing => {}
            }
        }
        look
    }

    /// This member's own messages (sent from this computer): not a colleague's reply.
    fn own_message_ids(&self, this: &str) -> Vec<String> {
        let mut own: Vec<String> = self
            .inner
            .outbox
            .list()
            .into_iter()
            .map(|e| e.item.message_id)
            .collect();
        own.push(this.to_owned());
        own
    }

    /// The last look before a queued message leaves (the outbox task asks when its undo
    /// window or send-later time is over, and before each retry): the claim is taken if
    /// that is still to do, the mailbox is read again, and anything new since the member
    /// pressed Send that they did not choose to send despite holds the message.
    async fn last_check(&self, entry: Entry) -> LastCheck {
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
        link.set_outgoing(crate::outbox::outgoing(&entries)).await;
    }

    /// Sends draft `id`: the guard first (a finding the member has not seen stops it),
    /// then the claim when "claim when I reply" is on and nobody holds the conversation
    /// (the compare-and-set claim is the lock: of two members sending at once, one gets
    /// it), then into the outbox (on disk, synced) and the team hears the reply is on its
    /// way — the answer means "queued". A colleague who got the claim first leaves the
    /// message in the outbox, held, until the member chooses.
    pub async fn send_draft(&self, id: &str, options: SendOptions) -> Result<SendOutcome> {
        let drafts = self.drafts();
        let draft = drafts.load(id)?;
        let account = self.account()?;
        let settings = self.compose_settings()?;
        let outgoing = build::build(
            &draft,
            &From {
                shared_address: &account.shared_address,
                display_name: &account.display_name,
                settings: &settings,
            },
            &drafts.attachments_dir(id),
        )?;
        let (report, sent_against) = self.guard_with_baseline(&draft, true).await;
        let unseen = guard::unacknowledged(report.findings.clone(), &options.despite);
        if !unseen.is_empty() {
            return Ok(SendOutcome::Guarded { report });
        }
        let outbox = self.outbox()?;
        let claim = settings.claim_on_send && draft.conversation.is_some();
        let mut status = OutboxStatus::Queued;
        let mut after = AfterSend::default();
        let mut claimed_by_send = false;
        if let (true, Some(conversation)) = (claim, draft.conversation) {
            match self.claim_if_free(conversation).await {
                Ok(by_send) => {
                    after.claimed = true;
                    claimed_by_send = by_send;
                }
                Err(problem) if problem.code == ProblemCode::ClaimConflict => {
                    let held =
                        guard::last_check_news(vec![conflict_finding(&problem)], &options.despite);
                    if held.is_empty() {
                        after.claimed = true;
                    } else {
                        status = OutboxStatus::Held { findings: held };
                    }
                }
                // Offline: the claim is taken before the message leaves.
                Err(problem) => tracing::debug!("claim at send: {problem}"),
            }
        }
        let now = now_ms();
        let undo_until = now + i64::from(settings.undo_seconds) * 1000;
        let item = OutboxItem {
            id: draft.id.clone(),
            message_id: draft.message_id.clone(),
            conversation: draft.conversation,
            replying_to: match draft.kind {
                DraftKind::Reply | DraftKind::ReplyAll => draft.source.clone(),
                _ => None,
            },
            subject: build::one_line(&draft.subject),
            recipients: outgoing.recipients.clone(),
            status,
            queued_at: now,
            send_at: options.send_at.map_or(undo_until, |at| at.max(undo_until)),
            attempts: 0,
        };
        let entry = Entry {
            item: item.clone(),
            sender: outgoing.sender.clone(),
            phase: Phase::Idle,
            after,
            claim,
            draft: draft.clone(),
            first_attempt_at: None,
            sent_against,
            despite: options.despite,
            claimed_by_send,
        };
        {
            let store = outbox.store.clone();
            let bytes = outgoing.bytes;
            blocking(
                ProblemCode::FileFailed,
                "the outbox could not be written",
                move || store.add(&entry, &bytes),
            )
            .await??;
        }
        // The outbox holds it now; the draft's text goes (its files stay until it left).
        let _ = crate::durable::remove(&self.inner.profile.drafts_dir().join(format!("{id}.json")));
        self.remove_server_draft(&draft.message_id);
        if let Some(conversation) = draft.conversation {
            self.report_activity(conversation, None).await;
        }
        self.publish_outgoing().await;
        self.inner
            .events
            .emit(crate::events::EngineEvent::Outbox { item: item.clone() });
        outbox.wake.notify_one();
        Ok(match item.status {
            OutboxStatus::Held { .. } => SendOutcome::Held { item },
            _ => SendOutcome::Queued { item },
        })
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
    async fn give_back_claim(&self, entry: &Entry) {
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

    fn outbox(&self) -> Result<Arc<OutboxWorker>> {
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

    /// The team's canned replies and the mailbox signature, from the mailbox.
    pub async fn templates(&self) -> Result<Vec<Template>> {
        let messages = self
            .mail_op(|reply| MailOp::ReadSince {
                folder: FolderTarget::Named(templates::FOLDER.to_owned()),
                from_uid: 1,
                limit: (templates::MAX_TEMPLATE * 2) as u64,
                reply,
            })
            .await?
            .1;
        Ok(templates::latest(
            messages
                .into_iter()
                .filter_map(|(uid, raw)| Some((uid, templates::from_message(&raw)?)))
                .collect(),
        ))
    }

    /// Adds or changes a template (an empty id adds one); older versions are removed.
    pub async fn save_template(&self, mut template: Template) -> Result<Template> {
        if template.id.is_empty() {
            template.id = new_id();
        }
        let account = self.account()?;
        let message = templates::to_message(&template, &account.shared_address)?;
        let old = self.template_uids(&template.id).await?;
        self.mail_op(|reply| MailOp::Append {
            folder: FolderTarget::Named(templates::FOLDER.to_owned()),
            flags: "\\Seen",
            message,
            reply,
        })
        .await?;
        if !old.is_empty() {
            self.mail_op(|reply| MailOp::Remove {
                folder: FolderTarget::Named(templates::FOLDER.to_owned()),
                uids: old,
                reply,
            })
            .await?;
        }
        Ok(template)
    }

    pub async fn delete_template(&self, id: &str) -> Result<()> {
        let uids = self.template_uids(id).await?;
        self.mail_op(|reply| MailOp::Remove {
            folder: FolderTarget::Named(templates::FOLDER.to_owned()),
            uids,
            reply,
        })
        .await
    }

    async fn template_uids(&self, id: &str) -> Result<Vec<u32>> {
        let messages = self
            .mail_op(|reply| MailOp::ReadSince {
                folder: FolderTarget::Named(templates::FOLDER.to_owned()),
                from_uid: 1,
                limit: (templates::MAX_TEMPLATE * 2) as u64,
                reply,
            })
            .await?
            .1;
        Ok(messages
            .into_iter()
            .filter(|(_, raw)| templates::from_message(raw).is_some_and(|t| t.id == id))
            .map(|(uid, _)| uid)
            .collect())
    }

    /// A canned reply's text with this draft's placeholders filled in.
    pub async fn fill_template(&self, draft: &str, template: &str) -> Result<String> {
        let draft = self.drafts().load(draft)?;
        let template = self
            .templates()
            .await?
            .into_iter()
            .find(|t| t.id == template)
            .ok_or_else(|| Problem::new(ProblemCode::NotFound, "no such template"))?;
        let account = self.account()?;
        let customer = crate::compose::address::parse_list(&draft.to)
            .ok()
            .and_then(|list| list.into_iter().next());
        Ok(templates::fill(
            &template.body,
            &Placeholders {
                customer: customer.as_ref(),
                me: &account.display_name,
                subject: &draft.subject,
            },
        ))
    }

    /// One piece of mailbox work on the fetcher's connection, once the cache is loaded.
    pub(super) async fn mail_op<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T>>) -> MailOp,
    ) -> Result<T> {
        let mailbox = self
            .mailbox()
            .ok_or_else(|| Problem::new(ProblemCode::NotFound, "no account is set up"))?;
        mailbox.mail_op(make).await
    }
}

/// The conversation and the team on it, for the guard.
#[derive(Default)]
struct Look {
    messages: Vec<guard::GuardMessage>,
    /// Who holds it (not counted when it is done).
    owner: Option<String>,
    owner_since: Option<i64>,
    replying: Vec<String>,
    sending: Vec<guard::Sending>,
    /// The mailbox was read again for this look.
    checked_live: bool,
}

impl Look {
    fn team<'a>(&'a self, me: &'a str, sending: &'a [guard::Sending]) -> TeamNow<'a> {
        TeamNow {
            me,
            replying: &self.replying,
            sending,
            owner: self.owner.as_deref(),
            owner_since: self.owner_since,
        }
    }
}

/// A colleague got the claim first: what the member is told.
fn conflict_finding(problem: &Problem) -> GuardFinding {
    GuardFinding::OwnedByOther {
        member: problem.holder.clone().unwrap_or_default(),
        since: problem.held_since,
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
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T>>) -> MailOp) -> Result<T> {
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
