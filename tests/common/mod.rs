//! Shared set-up for the engine's integration tests: a private Dovecot with a team of
//! logins on one shared mailbox, engines connected to it, and small mail builders.
#![allow(dead_code)]

pub mod front;
pub mod garble;
pub mod m365;
pub mod proxy;
pub mod raw;
pub mod sending;
pub mod smtp;

use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::Engine;
use baton::account::{AccountSettings, Security, ServerEndpoint};
use baton::connectivity::Connectivity;
use baton::conversation::{ConversationId, ConversationSummary, View};
use baton::dev::dovecot::{Dovecot, DovecotOptions, Login};
use baton::profile::Profile;
use baton::secrets::{MemorySecrets, SecretStore};
use baton::team::{HostSettings, TeamServerState};

pub const SHARED: &str = "support@brightdesk.example";

/// How long a test waits for something a colleague did to show.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn dovecot() -> Dovecot {
    team_dovecot(&["anna", "bram"])
}

/// A private Dovecot where each of `members` logs in to the one shared mailbox.
pub fn team_dovecot(members: &[&str]) -> Dovecot {
    Dovecot::start(DovecotOptions {
        dir: None,
        logins: members
            .iter()
            .map(|m| Login::new(m, &password(m), "support"))
            .collect(),
    })
    .expect("a private Dovecot must start for this test")
}

/// The row of conversation `id` among the first 500 of all.
pub fn row(engine: &Engine, id: ConversationId) -> Option<ConversationSummary> {
    engine
        .list_conversations(View::All, 0, 500)
        .rows
        .into_iter()
        .find(|r| r.id == id)
}

/// The conversation with `subject` among the first 500 of all.
pub fn by_subject(engine: &Engine, subject: &str) -> ConversationId {
    engine
        .list_conversations(View::All, 0, 500)
        .rows
        .into_iter()
        .find(|r| r.subject == subject)
        .map(|r| r.id)
        .expect("the conversation is listed")
}

/// Who holds conversation `id`, as `engine`'s list shows it.
pub fn owner_of(engine: &Engine, id: ConversationId) -> Option<String> {
    row(engine, id).and_then(|r| r.owner)
}

pub fn account(server: &Dovecot, member: &str, port: u16) -> AccountSettings {
    AccountSettings {
        member_id: member.into(),
        display_name: member.into(),
        shared_address: SHARED.into(),
        imap: ServerEndpoint {
            host: "127.0.0.1".into(),
            port,
            security: Security::Tls,
        },
        smtp: ServerEndpoint {
            host: "127.0.0.1".into(),
            port: 465,
            security: Security::Tls,
        },
        username: member.into(),
        extra_ca_file: Some(server.pki.ca_file.display().to_string()),
    }
}

pub fn password(member: &str) -> String {
    format!("{member}-secret")
}

/// An engine for `member` in its own profile directory, configured against `server`
/// through `port` (Dovecot's own, or a proxy's).
pub async fn engine(dir: &std::path::Path, server: &Dovecot, member: &str, port: u16) -> Engine {
    engine_with(
        dir,
        server,
        member,
        port,
        Arc::new(MemorySecrets::default()),
    )
    .await
}

/// An engine whose secrets outlive it, so that [`reopen`] finds them.
pub async fn engine_with(
    dir: &std::path::Path,
    server: &Dovecot,
    member: &str,
    port: u16,
    secrets: Arc<dyn SecretStore>,
) -> Engine {
    let profile = Profile::open(dir, member).expect("profile");
    let engine = Engine::open(profile, secrets).await.expect("engine opens");
    engine
        .configure(account(server, member, port), password(member))
        .await
        .expect("the account is accepted");
    engine
}

/// Reopens an already configured profile, as the app does at start.
pub async fn reopen(dir: &std::path::Path, member: &str, secrets: Arc<dyn SecretStore>) -> Engine {
    Engine::open(Profile::open(dir, member).expect("profile"), secrets)
        .await
        .expect("engine opens")
}

/// Polls until `done` holds; fails the test with `what` after `limit`.
pub async fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn wait_synced(engine: &Engine) {
    wait_until(Duration::from_secs(60), "the first sync is done", || {
        matches!(
            engine.connectivity(),
            Connectivity::Online { syncing: false }
        )
    })
    .await;
}

/// A plain mail from a customer, optionally replying to earlier Message-IDs.
pub fn mail(id: &str, from: &str, subject: &str, references: &[&str], body: &str) -> Vec<u8> {
    let mut headers = format!(
        "From: {from}\r\nTo: {SHARED}\r\nSubject: {subject}\r\nDate: Mon, 2 Nov 2026 10:00:00 +0100\r\n\
         Message-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    );
    if let Some(parent) = references.last() {
        headers.push_str(&format!("In-Reply-To: <{parent}>\r\n"));
        let refs: Vec<String> = references.iter().map(|r| format!("<{r}>")).collect();
        headers.push_str(&format!("References: {}\r\n", refs.join(" ")));
    }
    format!("{headers}\r\n{body}\r\n").into_bytes()
}

/// `n` separate conversations of one message each.
pub fn questions(n: usize) -> Vec<(String, i64, String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let raw = mail(
                &format!("q{i}@customer.example"),
                &format!("Customer {i} <c{i}@customer.example>"),
                &format!("Question number {i}"),
                &[],
                "Hello, I have a question.",
            );
            (
                "INBOX".to_owned(),
                1_793_000_000 + i as i64,
                String::new(),
                raw,
            )
        })
        .collect()
}

/// Whether the engine is connected to its team server.
pub fn online(engine: &Engine) -> bool {
    matches!(engine.team().server, TeamServerState::Online { .. })
}

/// `host` hosts the team server on loopback and `member` (with the id `name`) joins it
/// with an invitation; returns once both are online with it.
pub async fn host_and_join(host: &Engine, member: &Engine, name: &str) {
    host.host_team_server(HostSettings {
        port: 0,
        open_to_network: false,
    })
    .await
    .expect("hosting the team server");
    let invite = host.invite_colleague(name).await.expect("invite");
    member.join_team_server(invite).await.expect("joining");
    wait_until(WAIT, "both are online with the team server", || {
        online(host) && online(member)
    })
    .await;
}

/// A team server's own connection to the mailbox, logged in as `login`, once its first
/// sync is done: what `baton-sync` and a hosted server give their IMAP authority.
pub async fn server_mailbox(
    dir: &std::path::Path,
    server: &Dovecot,
    login: &str,
) -> Arc<baton::team::authority::ServerMailbox> {
    use baton::team::authority::SharedMailbox;
    let account = account(server, login, server.imaps_port);
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    secrets
        .set(&account.credential_key(), &password(login))
        .expect("secret");
    let mailbox = baton::team::authority::ServerMailbox::open(dir, account, secrets)
        .await
        .expect("the server's mailbox opens");
    wait_until(
        Duration::from_secs(60),
        "the server's first sync is done",
        || {
            matches!(
                *mailbox.connectivity().borrow(),
                Connectivity::Online { syncing: false }
            )
        },
    )
    .await;
    Arc::new(mailbox)
}

/// The conversation with `subject` among the first 500 of a mailbox.
pub fn subject_in(mailbox: &baton::mailbox::Mailbox, subject: &str) -> ConversationId {
    mailbox
        .page(View::All, 0, 500)
        .rows
        .into_iter()
        .find(|r| r.subject == subject)
        .map(|r| r.id)
        .expect("the conversation is listed")
}

/// Where `member`'s profile under `dir` keeps its message cache for `account` (the sled
/// directory), for tests that damage or inspect it.
pub fn headers_cache(
    dir: &std::path::Path,
    member: &str,
    account: &AccountSettings,
) -> std::path::PathBuf {
    let profile = Profile::open(dir, member).expect("profile");
    baton::mailbox::cache_dir(&profile.cache_dir(), account).join("headers")
}
