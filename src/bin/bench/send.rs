//! `baton-bench send`: what the duplicate-reply guard adds to sending, and a reply's way
//! from "Send" to the SMTP server's acceptance, against a real Postfix (delivering into
//! the private Dovecot), beside a baseline of the same message sent by plain lettre.

use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::Engine;
use baton::account::{AccountSettings, Security, ServerEndpoint};
use baton::compose::{ComposeSettings, DraftEdit, DraftKind};
use baton::connectivity::Connectivity;
use baton::conversation::View;
use baton::dev::dovecot::{Dovecot, DovecotOptions, Login};
use baton::dev::postfix::{Postfix, PostfixOptions, SINK_MAILBOX};
use baton::events::EngineEvent;
use baton::outbox::OutboxStatus;
use baton::outbox::{SendOptions, SendOutcome};
use baton::profile::Profile;
use baton::secrets::{MemorySecrets, SecretStore};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{BenchResult, flag, percentile, row, work_dir};

const SHARED: &str = "support@brightdesk.example";
const DOMAIN: &str = "brightdesk.example";
const CUSTOMER: &str = "customer@brightdesk.example";
const MEMBER: &str = "anna";
const PASSWORD: &str = "anna-secret";
/// How long one reply may take before the run is called broken.
const LIMIT: Duration = Duration::from_secs(30);

pub async fn run(args: &[String]) -> BenchResult {
    let replies = flag(args, "--replies", 40)?.max(1);
    let (_guard, work) = work_dir()?;
    eprintln!("starting a private Dovecot and Postfix …");
    let dovecot = Dovecot::start(DovecotOptions {
        dir: Some(work.join("dovecot")),
        logins: vec![
            Login::new(MEMBER, PASSWORD, "support"),
            Login::new("customer", "customer-secret", "customer"),
            Login::new(SINK_MAILBOX, "sink-secret", SINK_MAILBOX),
        ],
    })
    .map_err(|e| e.to_string())?;
    let postfix = Postfix::start(PostfixOptions {
        dir: Some(work.join("postfix")),
        lmtp_port: dovecot.lmtp_port,
        sasl_port: Some(dovecot.auth_port),
        domain: DOMAIN.into(),
        pki: dovecot.pki.clone(),
    })
    .map_err(|e| e.to_string())?;
    dovecot
        .import(MEMBER, (0..replies).map(question))
        .map_err(|e| e.to_string())?;

    eprintln!("baseline: {replies} sends with plain lettre …");
    let ca = std::fs::read(&dovecot.pki.ca_file).map_err(|e| e.to_string())?;
    let mut baseline = Vec::with_capacity(replies);
    for i in 0..replies {
        let started = Instant::now();
        raw_send(postfix.smtps_port, &ca, i).await?;
        baseline.push(started.elapsed().as_secs_f64() * 1000.0);
    }

    eprintln!("Baton: {replies} replies through the guard and the outbox …");
    let engine = engine(&work, &dovecot, postfix.smtps_port).await?;
    let mut events = engine.events();
    let ids: Vec<_> = engine
        .list_conversations(View::All, 0, 500)
        .rows
        .into_iter()
        .map(|r| r.id)
        .collect();
    let (mut guard_ms, mut send_ms, mut queued_ms) = (Vec::new(), Vec::new(), Vec::new());
    // From "queued" to the start of SMTP: the last check before a message leaves (the
    // claim if still to take, the mailbox read again, the guard once more).
    let mut check_ms = Vec::new();
    for id in ids.into_iter().take(replies) {
        let draft = engine
            .start_draft(DraftKind::Reply, Some(id), None, "en")
            .await
            .map_err(|e| e.to_string())?;
        engine
            .save_draft(DraftEdit {
                id: draft.id.clone(),
                to: draft.to.clone(),
                cc: String::new(),
                bcc: String::new(),
                subject: draft.subject.clone(),
                body: format!("Thank you, it is on its way.{}", draft.body),
            })
            .await
            .map_err(|e| e.to_string())?;
        // The guard alone, as "Send" runs it (the mailbox read again first).
        let started = Instant::now();
        let report = engine
            .check_draft(&draft.id, true)
            .await
            .map_err(|e| e.to_string())?;
        guard_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        if !report.checked_live {
            return Err("the guard could not read the mailbox".into());
        }
        // "Send" to the SMTP server's 250: guard, outbox write (synced), SMTP.
        let started = Instant::now();
        let outcome = engine
            .send_draft(&draft.id, SendOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let queued_at = Instant::now();
        queued_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        match outcome {
            SendOutcome::Queued { .. } => {}
            SendOutcome::Guarded { report } => {
                return Err(format!("unexpected guard findings: {report:?}"));
            }
            SendOutcome::Held { item } => return Err(format!("unexpectedly held: {item:?}")),
        }
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, events.next()).await {
                Ok(Some(EngineEvent::Outbox { item })) if item.id == draft.id => {
                    match item.status {
                        OutboxStatus::Sent { .. } => break,
                        OutboxStatus::Sending => {
                            check_ms.push(queued_at.elapsed().as_secs_f64() * 1000.0);
                        }
                        OutboxStatus::Queued => {}
                        other => return Err(format!("a reply did not go out: {other:?}")),
                    }
                }
                Ok(Some(_)) => {}
                _ => return Err("a reply took too long".into()),
            }
        }
        send_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    engine.shutdown().await;

    let ms = |v: f64| format!("{v:.1} ms");
    let (b50, s50, g50) = (
        percentile(&baseline, 0.5),
        percentile(&send_ms, 0.5),
        percentile(&guard_ms, 0.5),
    );
    let (g95, s95, q50) = (
        percentile(&guard_ms, 0.95),
        percentile(&send_ms, 0.95),
        percentile(&queued_ms, 0.5),
    );
    if check_ms.len() != send_ms.len() {
        return Err("a reply left without the outbox saying it started".into());
    }
    let (c50, c95) = (percentile(&check_ms, 0.5), percentile(&check_ms, 0.95));
    println!();
    println!(
        "{:<58} {:>11} {:>7} {:>10}",
        "measure", "value", "ratio", "target"
    );
    row(
        "plain lettre send to Postfix, p50 (baseline)",
        ms(b50),
        Some(1.0),
        "",
    );
    row(
        "Baton: Send → SMTP accepted, p50",
        ms(s50),
        Some(s50 / b50),
        "",
    );
    row(
        "Baton: Send → SMTP accepted, p95",
        ms(s95),
        Some(s95 / b50),
        "",
    );
    row(
        "Baton: Send → queued (guard + outbox on disk), p50",
        ms(q50),
        None,
        "",
    );
    row(
        "duplicate-reply guard (live), p50",
        ms(g50),
        None,
        "≤ 150 ms",
    );
    row("duplicate-reply guard (live), p95", ms(g95), None, "");
    row(
        "last check before leaving (queued → SMTP starts), p50",
        ms(c50),
        None,
        "≤ 150 ms",
    );
    row(
        "last check before leaving (queued → SMTP starts), p95",
        ms(c95),
        None,
        "≤ 150 ms",
    );
    println!();
    println!(
        "RESULT send guard_added_ms={g50:.1} send_ms={s50:.1} baseline_ms={b50:.1} \
         ratio={:.2} guard_p95_ms={g95:.1} send_p95_ms={s95:.1} queued_ms={q50:.1} \
         last_check_ms={c50:.1} last_check_p95_ms={c95:.1} replies={replies}",
        s50 / b50
    );
    Ok(())
}

fn question(i: usize) -> (String, i64, String, Vec<u8>) {
    let raw = format!(
        "From: Customer {i} <{CUSTOMER}>\r\nTo: {SHARED}\r\nSubject: Order {i}\r\n\
         Date: Mon, 2 Nov 2026 10:00:00 +0100\r\nMessage-ID: <order{i}@customer.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Where is order {i}?\r\n"
    );
    (
        "INBOX".to_owned(),
        1_793_000_000 + i as i64,
        String::new(),
        raw.into_bytes(),
    )
}

/// One message by plain lettre, a new connection each, as Baton's outbox does.
async fn raw_send(port: u16, ca: &[u8], i: usize) -> BenchResult {
    let tls = TlsParameters::builder("127.0.0.1".into())
        .add_root_certificate(Certificate::from_pem(ca).map_err(|e| e.to_string())?)
        .build_rustls()
        .map_err(|e| e.to_string())?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .tls(Tls::Wrapper(tls))
        .credentials(Credentials::new(MEMBER.into(), PASSWORD.into()))
        .build();
    let message = lettre::Message::builder()
        .from(SHARED.parse().map_err(|e| format!("{e}"))?)
        .to(CUSTOMER.parse().map_err(|e| format!("{e}"))?)
        .subject(format!("Re: Order {i}"))
        .body(String::from("Thank you, it is on its way."))
        .map_err(|e| e.to_string())?;
    transport.send(message).await.map_err(|e| e.to_string())?;
    Ok(())
}

async fn engine(work: &std::path::Path, dovecot: &Dovecot, smtps: u16) -> BenchResult<Engine> {
    let profile = Profile::open(&work.join("app"), MEMBER).map_err(|e| e.to_string())?;
    profile
        .save_compose_settings(&ComposeSettings {
            undo_seconds: 0,
            ..ComposeSettings::default()
        })
        .map_err(|e| e.to_string())?;
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    let engine = Engine::open(profile, secrets)
        .await
        .map_err(|e| e.to_string())?;
    let endpoint = |port| ServerEndpoint {
        host: "127.0.0.1".into(),
        port,
        security: Security::Tls,
    };
    engine
        .configure(
            AccountSettings {
                member_id: MEMBER.into(),
                display_name: "Anna".into(),
                shared_address: SHARED.into(),
                imap: endpoint(dovecot.imaps_port),
                smtp: endpoint(smtps),
                username: MEMBER.into(),
                extra_ca_file: Some(dovecot.pki.ca_file.display().to_string()),
            },
            PASSWORD.into(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + LIMIT;
    while engine.connectivity() != (Connectivity::Online { syncing: false }) {
        if Instant::now() > deadline {
            return Err("the engine did not finish its first sync".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(engine)
}
