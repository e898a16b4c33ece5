//! "Host the team server on this computer": the team server runs inside the app, with
//! its own connection to the shared mailbox (as the IMAP authority) and its store in the
//! profile. Small teams need no other machine.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::account::AccountSettings;
use crate::problem::{Problem, ProblemCode, Result};
use crate::secrets::SecretStore;
use crate::team::authority::{ImapAuthority, ServerMailbox};
use crate::team::{HostSettings, TeamInvite, TeamServerSettings};
use crate::teamsync::config::TlsConfig;
use crate::teamsync::{Authority, RunningServer, ServerConfig, TeamClient, TeamServer};

/// The mailbox's id on a hosted server: it serves exactly one.
pub const HOSTED_MAILBOX: &str = "shared";
/// The member id the server's own mailbox connection uses; it never holds anything.
const SERVER_MEMBER: &str = "team-server";

/// The hosted server's store, under the directory it keeps its data in.
pub fn store_dir(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("store")
}

/// The hosted server's own cache of the mailbox, under the same directory.
fn cache_dir(dir: &std::path::Path, account: &AccountSettings) -> std::path::PathBuf {
    // Where it always was (a profile named "host" under the directory).
    crate::mailbox::cache_dir(&dir.join("profiles").join("host").join("cache"), account)
}

pub struct Hosted {
    server: RunningServer,
    /// The server's own connection to the mailbox (as the IMAP authority).
    mailbox: Arc<ServerMailbox>,
    /// How this computer reaches the server.
    settings: TeamServerSettings,
    /// How colleagues reach it: by this computer's name when it is open to the network.
    shared_settings: TeamServerSettings,
}

impl Hosted {
    /// Starts the server for `account`'s mailbox, with its data under `dir`.
    pub async fn start(
        dir: &std::path::Path,
        secrets: Arc<dyn SecretStore>,
        account: &AccountSettings,
        host: &HostSettings,
    ) -> Result<Hosted> {
        let server_account = AccountSettings {
            member_id: SERVER_MEMBER.to_owned(),
            ..account.clone()
        };
        // The same login as the member's (the password is found under the same key).
        let cache = cache_dir(dir, &server_account);
        let mailbox = Arc::new(ServerMailbox::open(&cache, server_account, secrets).await?);
        let authority: Arc<dyn Authority> = ImapAuthority::new(mailbox.clone());
        let (listen, tls) = if host.open_to_network {
            (
                SocketAddr::from(([0, 0, 0, 0], host.port)),
                TlsConfig::SelfSigned,
            )
        } else {
            (
                SocketAddr::from(([127, 0, 0, 1], host.port)),
                TlsConfig::None,
            )
        };
        let mut config = ServerConfig::loopback(store_dir(dir), &[HOSTED_MAILBOX]);
        config.listen = listen;
        config.tls = tls;
        let started = TeamServer::start_with(
            config,
            BTreeMap::from([(HOSTED_MAILBOX.to_owned(), authority)]),
        )
        .await;
        let server = match started {
            Ok(server) => server,
            Err(problem) => {
                mailbox.stop().await;
                return Err(problem);
            }
        };
        let port = server.local_addr().port();
        let settings = TeamServerSettings {
            url: match server.fingerprint() {
                Some(_) => format!("wss://127.0.0.1:{port}/"),
                None => format!("ws://127.0.0.1:{port}/"),
            },
            fingerprint: server.fingerprint().map(str::to_owned),
            mailbox: HOSTED_MAILBOX.to_owned(),
        };
        let shared_settings = match (host.open_to_network, host_name()) {
            (true, Some(name)) => TeamServerSettings {
                url: format!("wss://{name}:{port}/"),
                ..settings.clone()
            },
            _ => settings.clone(),
        };
        Ok(Hosted {
            server,
            mailbox,
            settings,
            shared_settings,
        })
    }

    /// How members on this computer reach the server.
    pub fn settings(&self) -> &TeamServerSettings {
        &self.settings
    }

    /// Adds `member` and returns what they need to join; `None` as code when they already
    /// have a secret (they are only added to the mailbox).
    pub async fn invite(&self, member: &str) -> Result<Option<TeamInvite>> {
        let enrollment = self.server.add_member(HOSTED_MAILBOX, member).await?;
        Ok(enrollment.invite.map(|code| TeamInvite {
            settings: self.shared_settings.clone(),
            member: member.to_owned(),
            code,
        }))
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
        self.mailbox.stop().await;
    }
}

/// This computer's name on the network, as colleagues' computers would look it up.
fn host_name() -> Option<String> {
    let name = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())?;
    let name = name.trim().to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    valid.then_some(name)
}

/// Exchanges an invite code for the member's secret on the server.
pub async fn redeem(settings: &TeamServerSettings, member: &str, code: &str) -> Result<String> {
    settings.validate()?;
    TeamClient::redeem(
        &settings.url,
        &crate::team::link::trust(settings),
        &settings.mailbox,
        member,
        code,
    )
    .await
    .map_err(|e| {
        let code = match e.code {
            crate::teamsync::ErrorCode::Disconnected => ProblemCode::Unreachable,
            _ => ProblemCode::AuthFailed,
        };
        Problem::new(code, "the team server did not accept the invite").with_detail(e.message)
    })
}
