//! Set-up shared by the team server benchmarks: a server on loopback with a fresh store,
//! members enrolled through the real invite flow, and connected clients.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use baton::teamsync::TeamServer;
use baton::teamsync::authority::Authority;
use baton::teamsync::{ClientOptions, RunningServer, ServerConfig, TeamClient, TeamEvent, Trust};
use futures::{StreamExt, stream};
use tokio::sync::broadcast;

use super::BenchResult;

pub const MAILBOX: &str = "support";
const CONNECT_WAIT: Duration = Duration::from_secs(120);
/// Clients connected at once: every hello costs an Argon2 check on the server.
const CONNECT_BATCH: usize = 50;

/// A loopback server for `clients` connections, without the limits a real deployment
/// keeps against floods (the benchmark is the flood).
pub async fn start_server(
    store: &Path,
    clients: usize,
    authority: Option<Arc<dyn Authority>>,
) -> BenchResult<RunningServer> {
    let mut config = ServerConfig::loopback(store, &[MAILBOX]);
    config.limits.max_connections = clients + 64;
    config.limits.messages_per_second = 1_000_000.0;
    config.limits.burst = 1_000_000.0;
    config.limits.hello_timeout_secs = CONNECT_WAIT.as_secs_f64();
    let authorities = authority
        .map(|a| BTreeMap::from([(MAILBOX.to_owned(), a)]))
        .unwrap_or_default();
    server_runtime()?
        .spawn(TeamServer::start_with(config, authorities))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|p| format!("the team server did not start: {p}"))
}

/// The server's own runtime, as if it were its own process: its connection tasks do not
/// queue behind the clients' tasks (they still share the cores). Lives until the end.
fn server_runtime() -> BenchResult<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("team-server")
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime for the server: {e}"))?;
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// Enrols `count` members (`m000`, `m001`, …) and redeems their invites; their secrets.
pub async fn enrol(server: &RunningServer, count: usize) -> BenchResult<Vec<(String, String)>> {
    let url = server.url();
    let enrolled = stream::iter(0..count)
        .map(|i| {
            let url = url.clone();
            async move {
                let member = format!("m{i:03}");
                let enrollment = server
                    .add_member(MAILBOX, &member)
                    .await
                    .map_err(|p| format!("enrolling {member}: {p}"))?;
                let invite = enrollment
                    .invite
                    .ok_or_else(|| format!("{member} got no invite"))?;
                let secret = TeamClient::redeem(&url, &Trust::System, MAILBOX, &member, &invite)
                    .await
                    .map_err(|e| format!("redeeming {member}'s invite: {e}"))?;
                Ok::<_, String>((member, secret))
            }
        })
        .buffered(8)
        .collect::<Vec<_>>()
        .await;
    enrolled.into_iter().collect()
}

/// `count` connected clients, the members taken in turn; each with its event receiver
/// (the welcome's events still in it).
pub async fn connect(
    server: &RunningServer,
    members: &[(String, String)],
    count: usize,
) -> BenchResult<Vec<(TeamClient, broadcast::Receiver<TeamEvent>)>> {
    let url = server.url();
    let mut clients = Vec::with_capacity(count);
    for batch in (0..count).collect::<Vec<_>>().chunks(CONNECT_BATCH) {
        let started: Vec<_> = batch
            .iter()
            .map(|i| {
                let (member, secret) = &members[i % members.len()];
                TeamClient::start(ClientOptions::new(
                    &url,
                    Trust::System,
                    MAILBOX,
                    member,
                    secret,
                ))
            })
            .collect();
        for (client, _) in &started {
            client
                .wait_connected(CONNECT_WAIT)
                .await
                .map_err(|e| format!("a client did not connect: {e}"))?;
        }
        clients.extend(started);
    }
    Ok(clients)
}

/// Stops the clients, then the server.
pub async fn stop(clients: Vec<TeamClient>, server: RunningServer) {
    stream::iter(clients)
        .for_each_concurrent(64, |c| c.shutdown())
        .await;
    server.shutdown().await;
}
