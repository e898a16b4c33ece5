//! A team that sends: the shared mailbox and a customer's mailbox on the private Dovecot,
//! a private Postfix that authenticates against it and delivers into it, and the
//! fault-injecting proxy before Postfix. Engines send through the proxy (implicit TLS).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use baton::Engine;
use baton::account::{Security, ServerEndpoint};
use baton::compose::{ComposeSettings, Draft, DraftEdit, DraftKind};
use baton::conversation::ConversationId;
use baton::dev::dovecot::{Dovecot, DovecotOptions, Login};
use baton::dev::postfix::{Postfix, PostfixOptions, SINK_MAILBOX};
use baton::outbox::{OutboxItem, OutboxStatus};
use baton::outbox::{SendOptions, SendOutcome};
use baton::profile::Profile;
use baton::secrets::{MemorySecrets, SecretStore};

use super::smtp::SmtpProxy;
use super::{account, password, wait_synced};

pub const DOMAIN: &str = "brightdesk.example";
pub const CUSTOMER: &str = "customer@brightdesk.example";

pub struct SendWorld {
    pub dovecot: Dovecot,
    pub postfix: Postfix,
    pub proxy: SmtpProxy,
}

pub async fn send_world(members: &[&str]) -> SendWorld {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut logins: Vec<Login> = members
        .iter()
        .map(|m| Login::new(m, &password(m), "support"))
        .collect();
    logins.push(Login::new("customer", &password("customer"), "customer"));
    logins.push(Login::new(
        SINK_MAILBOX,
        &password(SINK_MAILBOX),
        SINK_MAILBOX,
    ));
    let dovecot = Dovecot::start(DovecotOptions { dir: None, logins })
        .expect("a private Dovecot must start for this test");
    let postfix = Postfix::start(PostfixOptions {
        dir: None,
        lmtp_port: dovecot.lmtp_port,
        sasl_port: Some(dovecot.auth_port),
        domain: DOMAIN.into(),
        pki: dovecot.pki.clone(),
    })
    .expect("a private Postfix must start for this test");
    let proxy = SmtpProxy::start(postfix.smtp_port, &dovecot.pki).await;
    SendWorld {
        dovecot,
        postfix,
        proxy,
    }
}

/// An engine for `member` that sends through the proxy; no undo window unless asked.
pub async fn sending_engine(dir: &Path, world: &SendWorld, member: &str) -> Engine {
    sending_engine_with(dir, world, member, Arc::new(MemorySecrets::default())).await
}

pub async fn sending_engine_with(
    dir: &Path,
    world: &SendWorld,
    member: &str,
    secrets: Arc<dyn SecretStore>,
) -> Engine {
    let profile = Profile::open(dir, member).expect("profile");
    profile
        .save_compose_settings(&ComposeSettings {
            sender_name: "{name} from Brightdesk".into(),
            undo_seconds: 0,
            ..ComposeSettings::default()
        })
        .expect("compose settings");
    let engine = Engine::open(profile, secrets).await.expect("engine opens");
    let mut settings = account(&world.dovecot, member, world.dovecot.imaps_port);
    settings.smtp = ServerEndpoint {
        host: "127.0.0.1".into(),
        port: world.proxy.port,
        security: Security::Tls,
    };
    engine
        .configure(settings, password(member))
        .await
        .expect("the account is accepted");
    wait_synced(&engine).await;
    engine
}

/// How many messages with `message_id` are in `login`'s `folder`.
pub fn count(world: &SendWorld, login: &str, folder: &str, message_id: &str) -> usize {
    let out = world
        .dovecot
        .doveadm(&[
            "search",
            "-u",
            login,
            "mailbox",
            folder,
            "header",
            "Message-ID",
            &format!("<{message_id}>"),
        ])
        .unwrap_or_default();
    out.lines().filter(|l| !l.trim().is_empty()).count()
}

/// Waits until `login`'s `folder` has `n` messages with `message_id`.
pub async fn wait_count(world: &SendWorld, login: &str, folder: &str, message_id: &str, n: usize) {
    let start = std::time::Instant::now();
    loop {
        let have = count(world, login, folder, message_id);
        if have == n {
            return;
        }
        assert!(
            start.elapsed() < super::WAIT,
            "{login}/{folder} has {have} copies of {message_id}, expected {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts a reply to the conversation's newest customer message and types `text`.
pub async fn reply(engine: &Engine, id: ConversationId, text: &str) -> Draft {
    let draft = engine
        .start_draft(DraftKind::Reply, Some(id), None, "en")
        .await
        .expect("a reply draft");
    engine
        .save_draft(DraftEdit {
            id: draft.id.clone(),
            to: draft.to.clone(),
            cc: draft.cc.clone(),
            bcc: draft.bcc.clone(),
            subject: draft.subject.clone(),
            body: format!("{text}{}", draft.body),
        })
        .await
        .expect("saved")
}

/// Sends a draft the guard lets through; the queued item.
pub async fn send(engine: &Engine, draft: &Draft) -> OutboxItem {
    match engine
        .send_draft(&draft.id, SendOptions::default())
        .await
        .expect("send")
    {
        SendOutcome::Queued { item } => item,
        SendOutcome::Guarded { report } => panic!("unexpected guard findings: {report:?}"),
        SendOutcome::Held { item } => panic!("unexpectedly held: {item:?}"),
    }
}

/// Waits until the outbox item `id` satisfies `done`; its last state.
pub async fn wait_outbox(
    engine: &Engine,
    id: &str,
    what: &str,
    done: impl Fn(&OutboxItem) -> bool,
) -> OutboxItem {
    let start = std::time::Instant::now();
    loop {
        let item = engine.outbox_items().into_iter().find(|i| i.id == id);
        if let Some(item) = &item
            && done(item)
        {
            return item.clone();
        }
        assert!(
            start.elapsed() < super::WAIT,
            "timed out waiting until {what}; now {item:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sent, with its copy in Sent and the rest of the work after sending done.
pub fn fully_sent(item: &OutboxItem) -> bool {
    matches!(
        item.status,
        OutboxStatus::Sent {
            sent_copy: true,
            ..
        }
    )
}
