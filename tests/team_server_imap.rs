//! The team server with the mailbox as the truth: changes asked of the server become the
//! contract's keywords in a real Dovecot, changes made beside it (a Baton without the
//! server, a plain IMAP client) reach every member, and an empty store rebuilds from
//! the mailbox.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use baton::contract::{Action, Status};
use baton::conversation::{TeamAction, View};
use baton::dev::dovecot::Dovecot;
use baton::team::authority::{ImapAuthority, ServerMailbox};
use baton::teamsync::authority::Authority;
use baton::teamsync::protocol::ErrorCode;
use baton::teamsync::{ClientOptions, TeamClient, TeamEvent, Trust};
use baton::teamsync::{RunningServer, ServerConfig, TeamServer};
use common::raw::RawImap;
use common::*;
use tokio::sync::broadcast;

const MAILBOX: &str = "support";

/// A team server whose authority for the mailbox is its own connection, logged in as
/// `server`.
async fn start_server(
    dovecot: &Dovecot,
    dir: &std::path::Path,
) -> (RunningServer, Arc<ServerMailbox>) {
    let mailbox = server_mailbox(&dir.join("imap"), dovecot, "server").await;
    let authority: Arc<dyn Authority> = ImapAuthority::new(mailbox.clone());
    let config = ServerConfig::loopback(dir.join("store"), &[MAILBOX]);
    let server = TeamServer::start_with(config, BTreeMap::from([(MAILBOX.to_owned(), authority)]))
        .await
        .expect("the team server starts");
    (server, mailbox)
}

async fn member(
    server: &RunningServer,
    name: &str,
) -> (TeamClient, broadcast::Receiver<TeamEvent>) {
    let enrollment = server.add_member(MAILBOX, name).await.expect("member");
    let invite = enrollment.invite.expect("a new member gets an invite");
    let secret = TeamClient::redeem(&server.url(), &Trust::System, MAILBOX, name, &invite)
        .await
        .expect("the invite is redeemed");
    let (client, events) = TeamClient::start(ClientOptions::new(
        &server.url(),
        Trust::System,
        MAILBOX,
        name,
        &secret,
    ));
    client.wait_connected(WAIT).await.expect("connected");
    (client, events)
}

/// Waits until the events say `conversation` has `owner` and `status`.
async fn see(
    events: &mut broadcast::Receiver<TeamEvent>,
    conversation: &str,
    owner: Option<&str>,
    status: Status,
) {
    see_all(events, &[(conversation, owner, status)]).await;
}

/// Waits until the events (snapshots and changes, latest wins) say every conversation
/// has the owner and status given.
async fn see_all(
    events: &mut broadcast::Receiver<TeamEvent>,
    wanted: &[(&str, Option<&str>, Status)],
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut known: BTreeMap<String, (Option<String>, Status)> = BTreeMap::new();
    loop {
        let done = wanted.iter().all(|(c, owner, status)| {
            known
                .get(*c)
                .is_some_and(|(o, s)| o.as_deref() == *owner && s == status)
        });
        if done {
            return;
        }
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("not seen: {wanted:?}, known: {known:?}"))
            .expect("events");
        match event {
            TeamEvent::Change(e) => {
                known.insert(e.record.conversation, (e.record.owner, e.record.status));
            }
            TeamEvent::Snapshot(records) => {
                known = records
                    .into_iter()
                    .map(|r| (r.conversation, (r.owner, r.status)))
                    .collect();
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_through_the_server_land_in_the_mailbox_and_changes_beside_it_come_back() {
    let dovecot = team_dovecot(&["server", "anna", "bram", "chloe"]);
    dovecot.import("anna", questions(4)).expect("import");
    let dir = tempfile::tempdir().expect("dir");
    let (server, server_engine) = start_server(&dovecot, dir.path()).await;
    let (anna, _anna_events) = member(&server, "anna").await;
    let (bram, mut bram_events) = member(&server, "bram").await;
    // Chloe runs Baton without the team server.
    let chloe_dir = tempfile::tempdir().expect("dir");
    let chloe = engine(chloe_dir.path(), &dovecot, "chloe", dovecot.imaps_port).await;
    wait_synced(&chloe).await;

    let q0 = subject_in(server_engine.mailbox(), "Question number 0");
    let q1 = subject_in(server_engine.mailbox(), "Question number 1");
    let c0 = q0.0.to_string();
    let c1 = q1.0.to_string();

    // Anna claims through the server: Bram hears it at once, and it is in the mailbox.
    let seq = anna
        .change(&c0, &Action::Claim, None)
        .await
        .expect("anna claims");
    // The event carries the seq of the change that was acknowledged, once.
    let event = loop {
        match tokio::time::timeout(WAIT, bram_events.recv()).await {
            Ok(Ok(TeamEvent::Change(e))) if e.record.conversation == c0 => break e,
            Ok(Ok(_)) => {}
            other => panic!("no event for the claim: {other:?}"),
        }
    };
    assert_eq!(event.seq, seq);
    assert_eq!(event.record.owner.as_deref(), Some("anna"));
    assert_eq!(event.record.by, "anna");
    wait_until(WAIT, "chloe sees anna's keyword through IMAP", || {
        owner_of(&chloe, q0).as_deref() == Some("anna")
    })
    .await;

    // Bram's claim is refused and names Anna.
    let refused = bram
        .change(&c0, &Action::Claim, None)
        .await
        .expect_err("held");
    assert_eq!(refused.code, ErrorCode::Conflict);
    assert_eq!(refused.holder.as_deref(), Some("anna"));

    // Chloe, without the server, claims q1 on IMAP: the server notices and tells Bram.
    chloe
        .act(q1, TeamAction::Claim)
        .await
        .expect("chloe claims");
    see(&mut bram_events, &c1, Some("chloe"), Status::Open).await;
    let refused = anna
        .change(&c1, &Action::Claim, None)
        .await
        .expect_err("held");
    assert_eq!(refused.holder.as_deref(), Some("chloe"));

    // A plain IMAP client marks q1 done behind everyone's back.
    let mut raw = RawImap::login(
        dovecot.imaps_port,
        &dovecot.pki.ca_file,
        "anna",
        &password("anna"),
    )
    .await;
    raw.ok("SELECT INBOX").await;
    raw.ok("UID STORE 1:* +FLAGS (baton.done)").await;
    see(&mut bram_events, &c1, Some("chloe"), Status::Done).await;

    // An empty store rebuilds from the mailbox.
    anna.shutdown().await;
    bram.shutdown().await;
    server.shutdown().await;
    std::fs::remove_dir_all(dir.path().join("store")).expect("store removed");
    let authority: Arc<dyn Authority> = ImapAuthority::new(server_engine.clone());
    let config = ServerConfig::loopback(dir.path().join("store"), &[MAILBOX]);
    let server = TeamServer::start_with(config, BTreeMap::from([(MAILBOX.to_owned(), authority)]))
        .await
        .expect("restarts on an empty store");
    let (_bram, mut bram_events) = member(&server, "bram").await;
    see_all(
        &mut bram_events,
        &[
            (&c0, Some("anna"), Status::Done),
            (&c1, Some("chloe"), Status::Done),
        ],
    )
    .await;
    server.shutdown().await;
    chloe.shutdown().await;
    server_engine.stop().await;
}

/// Members claim the same conversation through the server at the same moment: the server
/// is the single writer, so exactly one wins each round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_race_through_the_server_has_one_winner_every_round() {
    let rounds: usize = std::env::var("BATON_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let names = ["anna", "bram", "chloe", "dirk"];
    let dovecot = team_dovecot(&["server", "anna", "bram", "chloe", "dirk"]);
    dovecot.import("anna", questions(rounds)).expect("import");
    let dir = tempfile::tempdir().expect("dir");
    let (server, server_engine) = start_server(&dovecot, dir.path()).await;
    let mut clients = Vec::new();
    for name in names {
        clients.push(member(&server, name).await.0);
    }
    let mut ids = Vec::new();
    while ids.len() < rounds {
        let page = server_engine
            .mailbox()
            .page(View::All, ids.len() as u32, 500);
        assert!(!page.rows.is_empty(), "every conversation is listed");
        ids.extend(page.rows.iter().map(|r| r.id.0.to_string()));
    }
    let started = std::time::Instant::now();
    for (round, id) in ids.iter().enumerate() {
        let results =
            futures::future::join_all(clients.iter().map(|c| c.change(id, &Action::Claim, None)))
                .await;
        let winners: Vec<usize> = (0..names.len()).filter(|&i| results[i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for result in &results {
            if let Err(e) = result {
                assert_eq!(e.code, ErrorCode::Conflict, "round {round}: {e:?}");
                assert_eq!(
                    e.holder.as_deref(),
                    Some(names[winners[0]]),
                    "round {round}"
                );
            }
        }
    }
    println!(
        "{rounds} rounds through the server in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for client in clients {
        client.shutdown().await;
    }
    server.shutdown().await;
    server_engine.stop().await;
}

/// The `baton-sync` binary configured with the mailbox's IMAP account writes claims into
/// the mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_baton_sync_binary_keeps_the_team_state_in_the_mailbox() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dovecot = team_dovecot(&["server", "anna"]);
    dovecot.import("anna", questions(2)).expect("import");
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("baton-sync.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nstore = \"{store}\"\n[tls]\nmode = \"none\"\n\
             [[mailbox]]\nid = \"{MAILBOX}\"\n[mailbox.imap]\nhost = \"127.0.0.1\"\n\
             port = {port}\nusername = \"server\"\naddress = \"{SHARED}\"\n\
             ca_file = \"{ca}\"\npassword_env = \"BATON_TEST_IMAP_PASSWORD\"\n",
            store = dir.path().join("store").display(),
            port = dovecot.imaps_port,
            ca = dovecot.pki.ca_file.display(),
        ),
    )
    .expect("config");
    let binary = env!("CARGO_BIN_EXE_baton-sync");
    let invite = Command::new(binary)
        .args([
            "--config",
            &config.display().to_string(),
            "invite",
            MAILBOX,
            "anna",
        ])
        .output()
        .expect("invite runs");
    assert!(invite.status.success(), "{invite:?}");
    let code = String::from_utf8_lossy(&invite.stdout)
        .lines()
        .find_map(|l| l.split("works once): ").nth(1).map(str::to_owned))
        .expect("an invite code is printed");
    let mut child = Command::new(binary)
        .args(["--config", &config.display().to_string()])
        .env("BATON_TEST_IMAP_PASSWORD", password("server"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("baton-sync starts");
    let stdout = child.stdout.take().expect("stdout");
    let url = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.split("listening on ").nth(1).map(str::to_owned))
    })
    .await
    .expect("reader")
    .expect("the address is printed");
    let secret = TeamClient::redeem(&url, &Trust::System, MAILBOX, "anna", &code)
        .await
        .expect("redeem");
    let (anna, _events) = TeamClient::start(ClientOptions::new(
        &url,
        Trust::System,
        MAILBOX,
        "anna",
        &secret,
    ));
    anna.wait_connected(WAIT).await.expect("connected");

    // Anna claims the conversation of the message with UID 1 (its id from any engine).
    let observer_dir = tempfile::tempdir().expect("dir");
    let observer = engine(observer_dir.path(), &dovecot, "anna", dovecot.imaps_port).await;
    wait_synced(&observer).await;
    let q1 = by_subject(&observer, "Question number 1");
    anna.change(&q1.0.to_string(), &Action::Claim, None)
        .await
        .expect("claim");
    wait_until(WAIT, "the claim is in the mailbox", || {
        owner_of(&observer, q1).as_deref() == Some("anna")
    })
    .await;
    anna.shutdown().await;
    observer.shutdown().await;
    let _ = child.kill();
    let _ = child.wait();
}
