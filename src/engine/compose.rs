//! The facade for writing and sending: drafts, the duplicate-reply guard, the outbox
//! and the team's templates.

use std::path::Path;
use std::time::Duration;

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
use crate::conversation::{ConversationId, FolderRole, MessageKey};
use crate::outbox::store::{AfterSend, Entry, Phase};
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
    pub(super) fn drafts(&self) -> DraftStore {
        self.inner.drafts.clone()
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
    pub(super) async fn look(&self, conversation: ConversationId, live: bool) -> Look {
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
    pub(super) fn own_message_ids(&self, this: &str) -> Vec<String> {
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

    /// The team's canned replies and the mailbox signature, from the mailbox.
    pub async fn templates(&self) -> Result<Vec<Template>> {
        self.mailbox()
            .ok_or_else(super::no_account)?
            .templates()
            .await
    }

    /// Adds or changes a template (an empty id adds one); older versions are removed.
    pub async fn save_template(&self, mut template: Template) -> Result<Template> {
        if template.id.is_empty() {
            template.id = new_id();
        }
        self.mailbox()
            .ok_or_else(super::no_account)?
            .save_template(&template)
            .await?;
        Ok(template)
    }

    pub async fn delete_template(&self, id: &str) -> Result<()> {
        self.mailbox()
            .ok_or_else(super::no_account)?
            .delete_template(id)
            .await
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
}

/// The conversation and the team on it, for the guard.
#[derive(Default)]
pub(super) struct Look {
    pub(super) messages: Vec<guard::GuardMessage>,
    /// Who holds it (not counted when it is done).
    pub(super) owner: Option<String>,
    pub(super) owner_since: Option<i64>,
    pub(super) replying: Vec<String>,
    pub(super) sending: Vec<guard::Sending>,
    /// The mailbox was read again for this look.
    pub(super) checked_live: bool,
}

impl Look {
    pub(super) fn team<'a>(&'a self, me: &'a str, sending: &'a [guard::Sending]) -> TeamNow<'a> {
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
pub(super) fn conflict_finding(problem: &Problem) -> GuardFinding {
    GuardFinding::OwnedByOther {
        member: problem.holder.clone().unwrap_or_default(),
        since: problem.held_since,
    }
}
