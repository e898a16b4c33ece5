//! The demo shared mailbox: a private Dovecot on loopback holding a realistic support
//! mailbox, and a Baton profile per team member pointing at it, passwords in the OS
//! credential store. `scripts/demo.sh` runs this and then opens Baton.
//!
//! ```text
//! baton-demo up --dir DIR      start (and on first run, fill) the mailbox; write profiles
//! baton-demo down --dir DIR    stop the mailbox
//! baton-demo act --dir DIR --member bram --subject S [--undo SECONDS] ACTION
//!                              a colleague at another desk: claim or release the
//!                              conversation with subject S through the team server
//!                              (or the mailbox), wait until NAME holds it (owner=NAME),
//!                              answer the customer (reply, reply=TEXT; with --undo the
//!                              reply waits out that undo window, and colleagues see it
//!                              on its way), read or leave notes (notes, note=TEXT)
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::Engine;
use baton::compose::{DraftEdit, DraftKind};
use baton::connectivity::Connectivity;
use baton::conversation::{TeamAction, View};
use baton::outbox::OutboxStatus;
use baton::outbox::{SendOptions, SendOutcome};
use baton::team::TeamServerState;

use baton::account::{AccountSettings, Security, ServerEndpoint};
use baton::dev::corpus::{self, CorpusOptions};
use baton::dev::dovecot::{Dovecot, DovecotOptions, Login};
use baton::dev::postfix::{Postfix, PostfixOptions, SINK_MAILBOX};
use baton::dev::tls::TestPki;
use baton::profile::Profile;
use baton::secrets::{OsKeychain, SecretStore};
use baton::team::host::{HOSTED_MAILBOX, store_dir};
use baton::team::{HostSettings, TeamServerSettings};
use baton::teamsync::ServerConfig;
use baton::teamsync::auth::Verifier;
use baton::teamsync::members;
use baton::teamsync::store::Store as TeamStore;

/// Must match the desktop shell's keychain service name.
const KEYCHAIN_SERVICE: &str = "baton";
const MAILBOX: &str = "support";
/// Where Anna's Baton hosts the team server.
const TEAM_PORT: u16 = 7467;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("baton-demo"));
    let result = match args.first().map(String::as_str) {
        Some("up") => up(&dir),
        Some("down") => down(&dir),
        Some("act") => act(&dir, &args),
        _ => {
            eprintln!(
                "usage: baton-demo up|down [--dir DIR]\n       \
                 baton-demo act [--dir DIR] --member M --subject S \
                 [--undo SECONDS] claim|release|reply|reply=TEXT|notes|note=TEXT|owner=NAME"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Member {
    id: &'static str,
    name: &'static str,
    password: &'static str,
}

const MEMBERS: [Member; 3] = [
    Member {
        id: "anna",
        name: "Anna de Vries",
        password: "anna-demo-pw",
    },
    Member {
        id: "bram",
        name: "Bram Jansen",
        password: "bram-demo-pw",
    },
    Member {
        id: "chloe",
        name: "Chloé Martin",
        password: "chloe-demo-pw",
    },
];

fn up(dir: &Path) -> Result<(), String> {
    let options = CorpusOptions::demo();
    let server_dir = dir.join("dovecot");
    // A mailbox that is already up is reused, so a second window can join the first.
    let (ports, ca_file) = match running(&server_dir) {
        Some(running) => running,
        None => start(&server_dir, &options)?,
    };
    let port = ports.imaps;
    let smtp_port = match running_postfix(&dir.join("postfix")) {
        Some(port) => Some(port),
        None => match start_postfix(&dir.join("postfix"), &server_dir, &ports, &options) {
            Ok(port) => Some(port),
            Err(e) => {
                eprintln!("baton-demo: sending is not available in this demo: {e}");
                None
            }
        },
    };
    let app_dir = dir.join("app");
    for member in &MEMBERS {
        let profile = Profile::open(&app_dir, member.id).map_err(|e| e.to_string())?;
        let settings = AccountSettings {
            member_id: member.id.into(),
            display_name: member.name.into(),
            shared_address: options.shared_address.clone(),
            imap: ServerEndpoint {
                host: "127.0.0.1".into(),
                port,
                security: Security::Tls,
            },
            // The demo's own Postfix: mail to the shared address comes back into the
            // mailbox, every other address lands in a private `sink` mailbox.
            smtp: ServerEndpoint {
                host: "127.0.0.1".into(),
                port: smtp_port.unwrap_or(465),
                security: Security::Tls,
            },
            username: member.id.into(),
            extra_ca_file: Some(ca_file.display().to_string()),
        };
        profile.save_account(&settings).map_err(|e| e.to_string())?;
        OsKeychain::new(KEYCHAIN_SERVICE, member.id)
            .set(&settings.credential_key(), member.password)
            .map_err(|e| format!("{e}: {}", e.detail.as_deref().unwrap_or_default()))?;
    }
    provision_team(&app_dir)?;
    println!(
        "The demo shared mailbox {} is up on 127.0.0.1:{port} (IMAP over TLS).",
        options.shared_address
    );
    if let Some(smtp) = smtp_port {
        println!(
            "Sending goes through a private Postfix on 127.0.0.1:{smtp} (SMTP over TLS); \
             nothing leaves this computer: replies to customers land in the mailbox `{SINK_MAILBOX}`."
        );
    }
    for member in &MEMBERS {
        println!(
            "  {:<6} {:<15} login {:<6} password {}",
            member.id, member.name, member.id, member.password
        );
    }
    Ok(())
}

/// Acts as a member from the command line, through the same engine the app uses.
fn act(dir: &Path, args: &[String]) -> Result<(), String> {
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .ok_or(format!("{name} is required"))
    };
    let member = flag("--member")?;
    let subject = flag("--subject")?;
    // Replies leave at once unless the colleague has an undo window.
    let undo = match flag("--undo") {
        Ok(seconds) => seconds
            .parse::<u32>()
            .map_err(|_| "--undo is a number of seconds".to_owned())?,
        Err(_) => 0,
    };
    let what = args.last().cloned().unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let profile = Profile::open(&dir.join("app"), &member).map_err(|e| e.to_string())?;
        let secrets: Arc<dyn SecretStore> = Arc::new(OsKeychain::new(KEYCHAIN_SERVICE, &member));
        let engine = Engine::open(profile, secrets)
            .await
            .map_err(|e| e.to_string())?;
        let result = act_on(&engine, &subject, &what, undo).await;
        engine.shutdown().await;
        result
    })
}

async fn act_on(engine: &Engine, subject: &str, what: &str, undo: u32) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    let wait = |what: &str| {
        if Instant::now() > deadline {
            Err(format!("timed out waiting for {what}"))
        } else {
            Ok(())
        }
    };
    while !matches!(
        engine.connectivity(),
        Connectivity::Online { syncing: false }
    ) || matches!(engine.team().server, TeamServerState::Connecting)
    {
        wait("the mailbox and the team server")?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let find = || {
        let mut offset = 0;
        loop {
            let page = engine.list_conversations(View::All, offset, 500);
            if let Some(row) = page.rows.iter().find(|r| r.subject == subject) {
                return Some(row.clone());
            }
            if page.rows.is_empty() {
                return None;
            }
            offset += page.rows.len() as u32;
        }
    };
    let row = find().ok_or(format!("no conversation with subject {subject:?}"))?;
    match what {
        "claim" | "release" => {
            let action = if what == "claim" {
                TeamAction::Claim
            } else {
                TeamAction::Release
            };
            engine
                .act(row.id, action)
                .await
                .map_err(|p| format!("{p} ({:?})", p.holder))?;
            println!("{what}: done");
        }
        other if other == "reply" || other.starts_with("reply=") => {
            let text = other
                .strip_prefix("reply=")
                .unwrap_or("Thanks for your patience, we are on it.");
            // A colleague answers the customer: through the guard and the outbox, at once.
            let mut settings = engine.compose_settings().map_err(|e| e.to_string())?;
            settings.undo_seconds = undo;
            engine
                .save_compose_settings(settings)
                .map_err(|e| e.to_string())?;
            let draft = engine
                .start_draft(DraftKind::Reply, Some(row.id), None, "en")
                .await
                .map_err(|e| e.to_string())?;
            let edit = DraftEdit {
                id: draft.id.clone(),
                to: draft.to.clone(),
                cc: draft.cc.clone(),
                bcc: String::new(),
                subject: draft.subject.clone(),
                body: format!("{text}\n{}", draft.body),
            };
            engine.save_draft(edit).await.map_err(|e| e.to_string())?;
            // A colleague at the command line sends anyway, after saying what the
            // guard found.
            let mut despite = Vec::new();
            let item = loop {
                let options = SendOptions {
                    send_at: None,
                    despite: despite.clone(),
                };
                match engine
                    .send_draft(&draft.id, options)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    SendOutcome::Queued { item } | SendOutcome::Held { item } => break item,
                    SendOutcome::Guarded { report } => {
                        println!("the guard found: {:?}; sending anyway", report.findings);
                        despite = report.findings;
                    }
                }
                wait("the guard to let the reply go")?;
            };
            println!("queued: leaves in {undo} s");
            loop {
                let now = engine.outbox_items().into_iter().find(|i| i.id == item.id);
                match now.map(|i| i.status) {
                    Some(OutboxStatus::Sent {
                        sent_copy: true, ..
                    }) => break,
                    Some(OutboxStatus::Held { findings }) => {
                        println!("held before leaving: {findings:?}; sending anyway");
                        engine
                            .send_held(&item.id, findings)
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    Some(OutboxStatus::Failed { failure } | OutboxStatus::Unknown { failure }) => {
                        return Err(format!("the reply did not go out: {failure:?}"));
                    }
                    _ => {}
                }
                wait("the reply to be sent")?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            println!("replied: {}", item.message_id);
        }
        "notes" => {
            engine.refresh_notes().await.map_err(|e| e.to_string())?;
            for note in engine.notes(row.id).await {
                println!("note by {}: {}", note.author, note.text);
            }
        }
        other if other.starts_with("note=") => {
            let text = &other["note=".len()..];
            engine
                .add_note(row.id, text)
                .await
                .map_err(|e| e.to_string())?;
            println!("noted");
        }
        other => {
            let owner = other
                .strip_prefix("owner=")
                .ok_or(format!("unknown action {other:?}"))?;
            while find().and_then(|r| r.owner).as_deref() != Some(owner) {
                wait(&format!("{owner} to hold it"))?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            println!("{owner} holds it");
        }
    }
    Ok(())
}

/// Anna's Baton hosts the team server (on `TEAM_PORT`, this computer only); every member
/// is enrolled in it ahead of time with a secret in their credential store, so the
/// windows coordinate from the first start. Members who have their secret already are
/// left alone (the server may be running in Anna's window and holding its store).
fn provision_team(app_dir: &Path) -> Result<(), String> {
    let host = Profile::open(app_dir, MEMBERS[0].id).map_err(|e| e.to_string())?;
    host.save_hosting(Some(&HostSettings {
        port: TEAM_PORT,
        open_to_network: false,
    }))
    .map_err(|e| e.to_string())?;
    let settings = TeamServerSettings {
        url: format!("ws://127.0.0.1:{TEAM_PORT}/"),
        fingerprint: None,
        mailbox: HOSTED_MAILBOX.to_owned(),
    };
    let mut missing = Vec::new();
    for member in &MEMBERS {
        let profile = Profile::open(app_dir, member.id).map_err(|e| e.to_string())?;
        profile
            .save_team_server(Some(&settings))
            .map_err(|e| e.to_string())?;
        let keychain = OsKeychain::new(KEYCHAIN_SERVICE, member.id);
        if keychain
            .get(&settings.credential_key())
            .map_err(|e| e.to_string())?
            .is_none()
        {
            missing.push((member.id, keychain));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let config =
            ServerConfig::loopback(store_dir(&host.hosted_server_dir()), &[HOSTED_MAILBOX]);
        let store = TeamStore::open(&config.store, config.log_keep).map_err(|e| {
            format!(
                "{e} (is Baton running as {}? close it first)",
                MEMBERS[0].id
            )
        })?;
        let verifier = Verifier::new(1);
        for (member, keychain) in missing {
            let enrolled = members::enroll(&store, &verifier, &config, HOSTED_MAILBOX, member)
                .await
                .map_err(|e| e.to_string())?;
            let Some(invite) = enrolled.invite else {
                return Err(format!(
                    "{member} is enrolled in the team server but its secret is gone; \
                     remove {} to start the team afresh",
                    store_dir(&host.hosted_server_dir()).display()
                ));
            };
            let secret = members::redeem(&store, &verifier, HOSTED_MAILBOX, member, &invite)
                .await
                .map_err(|(_, message)| message)?;
            keychain
                .set(&settings.credential_key(), &secret)
                .map_err(|e| e.to_string())?;
        }
        tokio::task::spawn_blocking(move || store.close())
            .await
            .map_err(|e| e.to_string())
    })
}

/// The demo Dovecot's ports, as recorded when it started.
struct Ports {
    imaps: u16,
    lmtp: u16,
    auth: u16,
}

/// The ports and CA of a demo mailbox that is already running in `dir`.
fn running(dir: &Path) -> Option<(Ports, PathBuf)> {
    let state = std::fs::read_to_string(dir.join("demo-ports")).ok()?;
    let ports: Vec<u16> = state
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    let [imaps, lmtp, auth] = ports[..] else {
        return None;
    };
    let ca = dir.join("tls").join("ca.pem");
    let answering = std::net::TcpStream::connect(("127.0.0.1", imaps)).is_ok();
    (answering && ca.exists()).then_some((Ports { imaps, lmtp, auth }, ca))
}

/// The SMTP port of the demo's Postfix, when it is running.
fn running_postfix(dir: &Path) -> Option<u16> {
    let port: u16 = std::fs::read_to_string(dir.join("demo-port"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    std::net::TcpStream::connect(("127.0.0.1", port))
        .is_ok()
        .then_some(port)
}

fn start_postfix(
    dir: &Path,
    dovecot_dir: &Path,
    ports: &Ports,
    options: &CorpusOptions,
) -> Result<u16, String> {
    let tls = dovecot_dir.join("tls");
    let domain = options
        .shared_address
        .rsplit_once('@')
        .map(|(_, d)| d.to_owned())
        .unwrap_or_default();
    let server = Postfix::start(PostfixOptions {
        dir: Some(dir.to_path_buf()),
        lmtp_port: ports.lmtp,
        sasl_port: Some(ports.auth),
        domain,
        pki: TestPki {
            ca_file: tls.join("ca.pem"),
            cert_file: tls.join("server.pem"),
            key_file: tls.join("server.key"),
        },
    })
    .map_err(|e| e.to_string())?;
    let port = server.smtps_port;
    std::fs::write(dir.join("demo-port"), port.to_string()).map_err(|e| e.to_string())?;
    server.detach();
    Ok(port)
}

fn start(dir: &Path, options: &CorpusOptions) -> Result<(Ports, PathBuf), String> {
    let mut logins: Vec<Login> = MEMBERS
        .iter()
        .map(|m| Login::new(m.id, m.password, MAILBOX))
        .collect();
    // Where the demo's Postfix puts mail to anyone outside the demo's domain.
    logins.push(Login::new(SINK_MAILBOX, "sink-demo", SINK_MAILBOX));
    let server = Dovecot::start(DovecotOptions {
        dir: Some(dir.to_path_buf()),
        logins,
    })
    .map_err(|e| e.to_string())?;
    if server
        .message_count(MEMBERS[0].id, "INBOX")
        .map_err(|e| e.to_string())?
        == 0
    {
        eprintln!("Filling the demo mailbox …");
        let batch = corpus::generate(options).map(|m| {
            (
                m.folder.name().to_owned(),
                m.received_at,
                m.maildir_flags().to_owned(),
                m.raw,
            )
        });
        let report = server
            .import(MEMBERS[0].id, batch)
            .map_err(|e| e.to_string())?;
        eprintln!("Demo mailbox: {:?}", report.folders);
    }
    std::fs::write(
        dir.join("demo-ports"),
        format!(
            "{} {} {}",
            server.imaps_port, server.lmtp_port, server.auth_port
        ),
    )
    .map_err(|e| e.to_string())?;
    let found = (
        Ports {
            imaps: server.imaps_port,
            lmtp: server.lmtp_port,
            auth: server.auth_port,
        },
        server.pki.ca_file.clone(),
    );
    // The server keeps running after this program exits; `down` stops it.
    server.detach();
    Ok(found)
}

fn down(dir: &Path) -> Result<(), String> {
    let conf = dir.join("dovecot").join("dovecot.conf");
    if conf.exists() {
        let _ = std::process::Command::new("doveadm")
            .arg("-c")
            .arg(&conf)
            .arg("stop")
            .status();
    }
    let _ = std::fs::remove_file(dir.join("dovecot").join("demo-ports"));
    let postfix = Postfix::config_dir(&dir.join("postfix"));
    if postfix.exists() {
        let _ = std::process::Command::new("postfix")
            .arg("-c")
            .arg(&postfix)
            .arg("stop")
            .status();
    }
    let _ = std::fs::remove_file(dir.join("postfix").join("demo-port"));
    Ok(())
}
