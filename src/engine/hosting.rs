//! The facade for hosting the team server on this computer and for joining or leaving
//! one: the server runs inside the app with its own connection to the mailbox, and this
//! member joins it like any colleague.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Engine;
use crate::account::AccountSettings;
use crate::problem::{Problem, ProblemCode, Result};
use crate::team::host::Hosted;
use crate::team::{HostSettings, TeamInvite, TeamServerSettings};

/// How often a team server that could not start is tried again.
const HOSTING_RETRY: Duration = Duration::from_secs(3);

impl Engine {
    /// Tries to host again every few seconds until it works, hosting is turned off, or
    /// the engine is gone. Members' links reconnect by themselves once it is up.
    pub(super) fn retry_hosting(&self, account: AccountSettings, host: HostSettings) {
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

    pub(super) async fn start_hosting(
        &self,
        account: &AccountSettings,
        host: &HostSettings,
    ) -> Result<()> {
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

    pub(super) async fn store_team_secret(
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
}
