//! The facade for the team: claims, releases, hand-overs and status (through the team
//! server when it is up, else on the mailbox), who is on which conversation, the team at
//! a glance.

use std::sync::atomic::Ordering;

use super::{Engine, no_account};
use crate::contract::{Action, ConversationState};
use crate::conversation::{ConversationId, TeamAction};
use crate::problem::{Problem, ProblemCode, Result};
use crate::team::{Activity, Presence, TeamOverview, TeamServerState, TeamStateHome};

impl Engine {
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
    pub(super) async fn refresh_conversation(&self, id: ConversationId) {
        let Some(mailbox) = self.mailbox() else {
            return;
        };
        if let Err(problem) = mailbox.refresh(id).await {
            tracing::debug!("refreshing {id:?}: {problem}");
        }
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
}
