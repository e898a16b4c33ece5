//! Carrying out a member's claim, release, hand-over or status change straight on IMAP:
//! the contract's plan, sent as conditional stores, re-planned when a colleague got there
//! first, and checked afterwards because a server may let two claims win.

use std::collections::BTreeMap;

use tokio::sync::oneshot;

use super::context::SyncContext;
use crate::contract::{Action, PlanMessage, Refusal, StoreOp, TeamKeyword, plan, state_of};
use crate::conversation::ConversationId;
use crate::imap::session::ImapSession;
use crate::problem::{Problem, ProblemCode, Result};
use crate::store::record::FlagUpdate;

/// Rounds of "a colleague changed it, look again, plan again" before giving up.
const ATTEMPTS: usize = 4;

pub struct ActionRequest {
    /// The member acting: this member, or on a team server the one who asked.
    pub member: String,
    pub id: ConversationId,
    /// `None`: only read the conversation's flags afresh (a colleague changed it).
    pub action: Option<Action>,
    pub reply: oneshot::Sender<Result<()>>,
}

/// The part of a connection the executor needs: a session and which folder is selected.
pub trait FolderSession {
    fn session(&mut self) -> &mut ImapSession;
    /// Selects `folder` unless it is; returns its UIDVALIDITY.
    fn select<'a>(
        &'a mut self,
        folder: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32>> + Send + 'a>>;
}

/// Carries out `action` for `member` on conversation `id`.
pub async fn carry_out(
    link: &mut (dyn FolderSession + Send),
    ctx: &SyncContext,
    member: &str,
    id: ConversationId,
    action: &Action,
) -> Result<()> {
    if ctx.keywords.custom_supported() == Some(false) {
        return Err(Problem::new(
            ProblemCode::TeamStateUnavailable,
            "this mail server cannot store who holds a conversation; a team server is needed",
        ));
    }
    // Decide on what the server says now, not on what the cache last heard: news can
    // lag behind (IDLE pushes come half a second late), and a refusal must name the
    // colleague who really holds the conversation.
    refresh(link, ctx, id).await?;
    for _ in 0..ATTEMPTS {
        let messages = ctx.store().plan_messages(id);
        let validity: BTreeMap<String, u32> = messages
            .iter()
            .map(|(v, m)| (m.folder.clone(), *v))
            .collect();
        let messages: Vec<PlanMessage> = messages.into_iter().map(|(_, m)| m).collect();
        let steps = plan(action, member, &messages).map_err(|r| refusal(ctx, id, r))?;
        let mut interrupted = false;
        for step in &steps {
            let expected = validity.get(&step.folder).copied().unwrap_or(0);
            if link.select(&step.folder).await? != expected {
                return Err(Problem::new(
                    ProblemCode::MessageGone,
                    "the folder changed on the server; try again once it is synced",
                ));
            }
            if step.op == StoreOp::Add {
                for keyword in &step.keywords {
                    register(link, ctx, &step.folder, keyword, &step.uids).await?;
                }
            }
            // The newest state we have of these messages, updated by earlier steps.
            let since = ctx.store().modseq_of(&step.folder, &step.uids);
            let outcome = link
                .session()
                .store_keywords(&step.uids, since, step.op == StoreOp::Add, &step.keywords)
                .await?;
            apply(ctx, &step.folder, &outcome.updates);
            if !outcome.modified.is_empty() {
                // A colleague changed these messages since we read them: read them
                // again and decide anew.
                let fresh = link.session().fetch_flags_of(&outcome.modified).await?;
                apply(ctx, &step.folder, &fresh);
                interrupted = true;
                break;
            }
        }
        if interrupted {
            continue;
        }
        return verify(link, ctx, member, id, action).await;
    }
    Err(Problem::conflict(None, None))
}

/// Reads the conversation's flags back after the stores: under a race Dovecot can let
/// two claims through. The contract's derivation names the same winner on every client;
/// a loser takes its keyword off again and is told who won.
async fn verify(
    link: &mut (dyn FolderSession + Send),
    ctx: &SyncContext,
    member: &str,
    id: ConversationId,
    action: &Action,
) -> Result<()> {
    let wanted = match action {
        Action::Claim => member.to_owned(),
        Action::HandOver { to } => to.clone(),
        _ => return Ok(()),
    };
    refresh(link, ctx, id).await?;
    let messages: Vec<PlanMessage> = ctx
        .store()
        .plan_messages(id)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let state = state_of(&messages);
    if state.owner.as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    // We lost: repair by taking our keyword off wherever it went on.
    if let Some(ours) = TeamKeyword::Claim(wanted).encode() {
        let mut by_folder: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for m in messages.iter().filter(|m| m.keywords.contains(&ours)) {
            by_folder.entry(&m.folder).or_default().push(m.uid);
        }
        for (folder, uids) in by_folder {
            link.select(folder).await?;
            let since = ctx.store().modseq_of(folder, &uids);
            let outcome = link
                .session()
                .store_keywords(&uids, since, false, std::slice::from_ref(&ours))
                .await?;
            apply(ctx, folder, &outcome.updates);
        }
    }
    Err(Problem::conflict(state.owner, ctx.store().owner_since(id)))
}

/// Reads the flags of every message of the conversation from the server.
pub async fn refresh(
    link: &mut (dyn FolderSession + Send),
    ctx: &SyncContext,
    id: ConversationId,
) -> Result<()> {
    let mut by_folder: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (_, m) in ctx.store().plan_messages(id) {
        by_folder.entry(m.folder).or_default().push(m.uid);
    }
    for (folder, uids) in by_folder {
        link.select(&folder).await?;
        let fresh = link.session().fetch_flags_of(&uids).await?;
        apply(ctx, &folder, &fresh);
    }
    Ok(())
}

/// Makes sure the folder knows `keyword` before a conditional store brings it (see
/// `ImapSession::register_keyword`). Uses a message outside `avoid` when there is one,
/// so the conversation's own modseqs stay as they are.
async fn register(
    link: &mut (dyn FolderSession + Send),
    ctx: &SyncContext,
    folder: &str,
    keyword: &str,
    avoid: &[u32],
) -> Result<()> {
    if ctx.keywords.knows(folder, keyword) {
        return Ok(());
    }
    let uid = ctx
        .store()
        .some_uid_besides(folder, avoid)
        .or_else(|| avoid.first().copied());
    if let Some(uid) = uid {
        link.session().register_keyword(uid, keyword).await?;
        ctx.keywords.learn(folder, keyword);
    }
    Ok(())
}

fn apply(ctx: &SyncContext, folder: &str, updates: &[FlagUpdate]) {
    if updates.is_empty() {
        return;
    }
    let changed = {
        let mut store = ctx.store();
        let Some(slot) = store.slot_of(folder) else {
            return;
        };
        let changed = store.apply_flags(slot, updates);
        if let Err(problem) = store.save() {
            tracing::warn!("saving the team state: {problem}");
        }
        changed
    };
    ctx.announce(changed);
}

fn refusal(ctx: &SyncContext, id: ConversationId, refusal: Refusal) -> Problem {
    match refusal {
        Refusal::HeldBy(member) => {
            let since = ctx.store().owner_since(id);
            Problem::conflict(Some(member), since)
        }
        Refusal::NotHolder(holder) => Problem {
            holder,
            ..Problem::new(
                ProblemCode::NotHolder,
                "only the colleague who holds the conversation can do this",
            )
        },
        Refusal::InvalidMember => {
            Problem::new(ProblemCode::InvalidMember, "that is not a valid member id")
        }
        Refusal::Empty => Problem::new(ProblemCode::NotFound, "the conversation has no messages"),
    }
}
