//! The team sync server against real clients: the in-process server on 127.0.0.1 port 0
//! with a private store, and the real `baton-sync` binary where a process matters
//! (killing it, its command line).

mod teamsync_common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton::contract::{Action, Status};
use baton::teamsync::protocol::{ClientFrame, ServerFrame, WireAction};
use baton::teamsync::{
    Activity, ClientOptions, ErrorCode, ServerConfig, TeamClient, TeamEvent, TeamServer, Trust,
};
use teamsync_common::*;

fn changed_to(events: &TeamEvent, conversation: &str) -> bool {
    matches!(events, TeamEvent::Change(e) if e.record.conversation == conversation)
}

/// A well-behaved member is still answered and still sees events.
async fn still_served(
    client: &TeamClient,
    events: &mut tokio::sync::broadcast::Receiver<TeamEvent>,
    conversation: &str,
) {
    let seq = client
        .change(conversation, &Action::Claim, None)
        .await
        .expect("the well-behaved member is answered");
    match next(events, |e| changed_to(e, conversation)).await {
        TeamEvent::Change(event) => assert_eq!(event.seq, seq),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_is_seen_by_colleagues_and_the_contract_holds() {
    let team = team(&["anna", "bram", "chloe"]).await;
    let (anna, mut anna_events) = team.client("anna").await;
    let (bram, mut bram_events) = team.client("bram").await;

    let seq = anna
        .change("c1", &Action::Claim, None)
        .await
        .expect("claim");
    for events in [&mut anna_events, &mut bram_events] {
        match next(events, |e| changed_to(e, "c1")).await {
            TeamEvent::Change(event) => {
                assert_eq!(event.seq, seq);
                assert_eq!(event.record.owner.as_deref(), Some("anna"));
                assert_eq!(
                    (event.record.version, event.record.by.as_str()),
                    (1, "anna")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    let refused = bram
        .change("c1", &Action::Claim, None)
        .await
        .expect_err("held by anna");
    assert_eq!(refused.code, ErrorCode::Conflict);
    assert_eq!(refused.holder.as_deref(), Some("anna"));
    assert!(refused.since_ms.is_some());
    assert!(refused.message.contains("anna"), "{}", refused.message);

    // Claiming what one holds changes nothing and is not an error.
    assert_eq!(anna.change("c1", &Action::Claim, None).await, Ok(seq));

    let not_holder = bram
        .change("c1", &Action::Release, None)
        .await
        .expect_err("only the holder releases");
    assert_eq!(not_holder.code, ErrorCode::NotHolder);
    assert_eq!(not_holder.holder.as_deref(), Some("anna"));
    assert_eq!(
        bram.change("c1", &Action::SetStatus(Status::Done), None)
            .await
            .expect_err("only the holder sets the status")
            .code,
        ErrorCode::Conflict
    );
    assert_eq!(
        bram.change("c1", &Action::HandOver { to: "bram".into() }, None)
            .await
            .expect_err("nobody takes it away")
            .code,
        ErrorCode::Conflict
    );
    assert_eq!(
        anna.change(
            "c1",
            &Action::HandOver {
                to: "Bad Id".into()
            },
            None
        )
        .await
        .expect_err("invalid member")
        .code,
        ErrorCode::InvalidMember
    );

    anna.change("c1", &Action::HandOver { to: "bram".into() }, None)
        .await
        .expect("hand over");
    let waiting = bram
        .change("c1", &Action::SetStatus(Status::Waiting), None)
        .await
        .expect("the new holder sets the status");
    match next(
        &mut anna_events,
        |e| matches!(e, TeamEvent::Change(ev) if ev.seq == waiting),
    )
    .await
    {
        TeamEvent::Change(event) => {
            assert_eq!(event.record.owner.as_deref(), Some("bram"));
            assert_eq!(event.record.status, Status::Waiting);
            assert_eq!(event.record.version, 3);
        }
        other => panic!("{other:?}"),
    }

    // Compare-and-set: a change based on an old version is refused, naming the holder.
    let stale = bram
        .change("c1", &Action::Release, Some(2))
        .await
        .expect_err("stale version");
    assert_eq!(stale.code, ErrorCode::Conflict);
    assert_eq!(stale.holder.as_deref(), Some("bram"));
    assert_eq!(stale.current.as_ref().map(|c| c.version), Some(3));
    bram.change("c1", &Action::Release, Some(3))
        .await
        .expect("release at the version seen");
    // Unheld: anyone may set the status or assign it.
    anna.change("c1", &Action::SetStatus(Status::Done), None)
        .await
        .expect("status of an unheld conversation");
    anna.change("c1", &Action::HandOver { to: "chloe".into() }, None)
        .await
        .expect("assign an unheld conversation");
    assert_eq!(
        anna.change("", &Action::Claim, None)
            .await
            .expect_err("empty id")
            .code,
        ErrorCode::InvalidConversation
    );

    anna.shutdown().await;
    bram.shutdown().await;
    team.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversations_history_says_who_changed_it_and_when() {
    let team = team(&["anna", "bram"]).await;
    let (anna, _anna_events) = team.client("anna").await;
    let (bram, _bram_events) = team.client("bram").await;
    let before = baton::store::now_ms() as u64;
    anna.change("c1", &Action::Claim, None)
        .await
        .expect("claim");
    anna.change("other", &Action::Claim, None)
        .await
        .expect("another conversation");
    anna.change("c1", &Action::HandOver { to: "bram".into() }, None)
        .await
        .expect("hand over");
    bram.change("c1", &Action::SetStatus(Status::Waiting), None)
        .await
        .expect("status");
    bram.change("c1", &Action::Release, None)
        .await
        .expect("release");

    let history = bram.history("c1").await.expect("history");
    assert!(history.complete);
    assert_eq!(
        history
            .events
            .iter()
            .map(|e| (
                e.record.by.as_str(),
                e.record.owner.as_deref(),
                e.record.status,
                e.record.outside
            ))
            .collect::<Vec<_>>(),
        vec![
            ("anna", Some("anna"), Status::Open, false),
            ("anna", Some("bram"), Status::Open, false),
            ("bram", Some("bram"), Status::Waiting, false),
            ("bram", None, Status::Waiting, false),
        ]
    );
    assert!(history.events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(history.events.iter().all(|e| e.record.at_ms >= before));
    let nothing = anna.history("never-touched").await.expect("empty");
    assert_eq!((nothing.events.len(), nothing.complete), (0, true));

    // A raw client asking about another mailbox, or with a hostile id, is refused and
    // keeps its connection.
    let mut raw = team.raw_member("anna").await;
    for (frame, code) in [
        (
            r#"{"type":"history","id":"h1","mailbox":"other","conversation":"c1"}"#,
            ErrorCode::WrongMailbox,
        ),
        (
            r#"{"type":"history","id":"h2","conversation":"c1\r\nx"}"#,
            ErrorCode::InvalidConversation,
        ),
        (
            r#"{"type":"history","id":"h3","conversation":""}"#,
            ErrorCode::InvalidConversation,
        ),
        (
            r#"{"type":"history","id":"h4","conversation":"c1","author":"x"}"#,
            ErrorCode::BadFrame,
        ),
    ] {
        raw.send(frame).await;
        let error = raw.error().await.expect("an error");
        assert_eq!(error.code, code, "{frame}");
        assert!(error.id.is_some(), "{frame}");
    }
    raw.send(r#"{"type":"history","id":"h5","conversation":"c1"}"#)
        .await;
    loop {
        match raw.recv().await {
            Some(ServerFrame::History { id, events, .. }) => {
                assert_eq!((id.as_str(), events.len()), ("h5", 4));
                break;
            }
            Some(_) => {}
            None => panic!("closed after refused history requests"),
        }
    }

    anna.shutdown().await;
    bram.shutdown().await;
    team.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_race_exactly_one_claim_wins_every_round() {
    const CLIENTS: usize = 8;
    let rounds: usize = std::env::var("BATON_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let names: Vec<String> = (0..CLIENTS).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    // Each client sends as fast as it is answered, above a desktop's flood limit.
    let team = team_with(&refs, &[], |config| {
        config.limits.messages_per_second = 100_000.0;
        config.limits.burst = 100_000.0;
    })
    .await;
    let mut clients = Vec::new();
    for name in &names {
        clients.push(team.client(name).await.0);
    }
    let started = Instant::now();
    for round in 0..rounds {
        let conversation = format!("race-{round}");
        // Half the rounds with compare-and-set on the version everybody saw (0).
        let expect = (round % 2 == 1).then_some(0);
        let answers = futures::future::join_all(
            clients
                .iter()
                .map(|c| c.change(&conversation, &Action::Claim, expect)),
        )
        .await;
        let winners: Vec<usize> = answers
            .iter()
            .enumerate()
            .filter(|(_, a)| a.is_ok())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {answers:?}");
        let winner = names[winners[0]].as_str();
        for answer in &answers {
            if let Err(error) = answer {
                assert_eq!(error.code, ErrorCode::Conflict, "round {round}");
                assert_eq!(error.holder.as_deref(), Some(winner), "round {round}");
            }
        }
    }
    let elapsed = started.elapsed();
    println!(
        "race: {rounds} rounds of {CLIENTS} claims in {elapsed:?} ({:.2} ms/round)",
        elapsed.as_secs_f64() * 1000.0 / rounds as f64
    );
    for client in clients {
        client.shutdown().await;
    }
    team.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_client_gets_exactly_what_it_missed_or_a_snapshot() {
    let team = team(&["anna", "bram"]).await;
    let (anna, _) = team.client("anna").await;
    let (bram, _) = team.client("bram").await;
    bram.change("before", &Action::Claim, None)
        .await
        .expect("claim");
    // Wait until anna saw it, then leave.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let cursor = anna.cursor().expect("a cursor");
    anna.shutdown().await;

    let mut missed = Vec::new();
    for conversation in ["m1", "m2", "m3"] {
        missed.push(
            bram.change(conversation, &Action::Claim, None)
                .await
                .expect("claim"),
        );
    }

    let mut options = team.options("anna");
    options.resume = Some(cursor.clone());
    let (anna, mut events) = TeamClient::start(options);
    match next(&mut events, |e| matches!(e, TeamEvent::Connected { .. })).await {
        TeamEvent::Connected { resumed, seq, .. } => {
            assert!(resumed);
            assert_eq!(seq, *missed.last().expect("some"));
        }
        other => panic!("{other:?}"),
    }
    let mut seen = Vec::new();
    loop {
        match next(&mut events, |_| true).await {
            TeamEvent::Change(event) => seen.push(event.seq),
            TeamEvent::PresenceSnapshot(_) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, missed, "exactly the missed events, in order");
    anna.shutdown().await;

    // A seq from another store (another epoch) cannot be trusted: a snapshot.
    let mut options = team.options("anna");
    options.resume = Some(("0123456789abcdef".into(), cursor.1));
    let (anna, mut events) = TeamClient::start(options);
    match next(&mut events, |e| matches!(e, TeamEvent::Connected { .. })).await {
        TeamEvent::Connected { resumed, .. } => assert!(!resumed),
        other => panic!("{other:?}"),
    }
    match next(&mut events, |_| true).await {
        TeamEvent::Snapshot(records) => {
            let names: BTreeSet<&str> = records.iter().map(|r| r.conversation.as_str()).collect();
            assert_eq!(names, BTreeSet::from(["before", "m1", "m2", "m3"]));
        }
        other => panic!("expected a snapshot, got {other:?}"),
    }
    anna.shutdown().await;
    bram.shutdown().await;
    team.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_reported_down_once_while_the_client_keeps_trying() {
    let team = team(&["anna"]).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let mut options = team.options("anna");
    options.url = format!("ws://127.0.0.1:{port}/");
    let (client, mut events) = TeamClient::start(options);
    // Said at once, not after a first connection that never comes.
    next(&mut events, |e| matches!(e, TeamEvent::Disconnected { .. })).await;
    // Only once while it keeps failing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e, TeamEvent::Disconnected { .. }))
        .count();
    assert_eq!(again, 0, "told again while still down");
    client.shutdown().await;
    team.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reconnects_by_itself_after_a_server_restart() {
    let team = team(&["anna", "bram"]).await;
    let (anna, mut events) = team.client("anna").await;
    let address = team.server.local_addr();
    let Team {
        server,
        mut config,
        dir,
        secrets,
    } = team;
    server.shutdown().await;
    next(&mut events, |e| matches!(e, TeamEvent::Disconnected { .. })).await;

    config.listen = address;
    let server = TeamServer::start(config.clone())
        .await
        .expect("restart on the same store and port");
    let team = Team {
        server,
        config,
        dir,
        secrets,
    };
    match next(&mut events, |e| matches!(e, TeamEvent::Connected { .. })).await {
        TeamEvent::Connected { resumed, .. } => assert!(resumed, "same store, same epoch"),
        other => panic!("{other:?}"),
    }
    let (bram, _) = team.client("bram").await;
    let seq = bram
        .change("after", &Action::Claim, None)
        .await
        .expect("claim");
    match next(&mut events, |e| changed_to(e, "after")).await {
        TeamEvent::Change(event) => assert_eq!(event.seq, seq),
        other => panic!("{other:?}"),
    }
    anna.shutdown().await;
    bram.shutdown().await;
    team.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_shared_and_expires() {
    let team = team_with(&["anna", "bram", "chloe"], &[], |config| {
        config.silence_timeout_secs = 1.0;
    })
    .await;
    let (anna, _) = team.client("anna").await;
    let (bram, mut bram_events) = team.client("bram").await;
    let presence = |member: &'static str, activity: Activity| {
        move |e: &TeamEvent| {
            matches!(e, TeamEvent::Presence(p)
                if p.member == member && p.conversation == "c1" && p.activity == activity)
        }
    };

    anna.presence("c1", Activity::Viewing).await;
    next(&mut bram_events, presence("anna", Activity::Viewing)).await;
    anna.presence("c1", Activity::Replying).await;
    next(&mut bram_events, presence("anna", Activity::Replying)).await;

    // A newcomer is told in the welcome.
    let (chloe, mut chloe_events) = TeamClient::start(team.options("chloe"));
    match next(&mut chloe_events, |e| {
        matches!(e, TeamEvent::PresenceSnapshot(_))
    })
    .await
    {
        TeamEvent::PresenceSnapshot(entries) => {
            assert!(
                entries
                    .iter()
                    .any(|p| p.member == "anna" && p.activity == Activity::Replying),
                "{entries:?}"
            );
        }
        other => panic!("{other:?}"),
    }

    // Gone with the connection.
    anna.shutdown().await;
    next(&mut bram_events, presence("anna", Activity::None)).await;

    // Gone with silence: a raw connection that never sends a heartbeat.
    let started = Instant::now();
    let mut raw = team.raw_member("anna").await;
    let frame = ClientFrame::Presence {
        id: None,
        mailbox: None,
        conversation: "c1".into(),
        activity: Activity::Viewing,
        leaves_in_ms: None,
        message_id: None,
    };
    raw.send(&serde_json::to_string(&frame).expect("json"))
        .await;
    next(&mut bram_events, presence("anna", Activity::Viewing)).await;
    next(&mut bram_events, presence("anna", Activity::None)).await;
    let silent = started.elapsed();
    assert!(
        silent >= Duration::from_millis(900) && silent < Duration::from_secs(5),
        "{silent:?}"
    );
    assert_eq!(raw.error().await.map(|e| e.code), Some(ErrorCode::Timeout));
    // bram's heartbeats keep bram connected meanwhile.
    still_served(&bram, &mut bram_events, "after-silence").await;

    bram.shutdown().await;
    chloe.shutdown().await;
    team.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_works_once() {
    let team = team_with(&["anna"], &[], |_| {}).await;
    let url = team.url();
    let enrollment = team.server.add_member(MAILBOX, "dirk").await.expect("add");
    let invite = enrollment.invite.expect("invite");
    let wrong = TeamClient::redeem(&url, &Trust::System, MAILBOX, "dirk", "0000")
        .await
        .expect_err("wrong code");
    assert_eq!(wrong.code, ErrorCode::BadInvite);
    let other_mailbox = TeamClient::redeem(&url, &Trust::System, OTHER_MAILBOX, "dirk", &invite)
        .await
        .expect_err("not for that mailbox");
    assert_eq!(other_mailbox.code, ErrorCode::BadInvite);
    let secret = TeamClient::redeem(&url, &Trust::System, MAILBOX, "dirk", &invite)
        .await
        .expect("first use");
    let again = TeamClient::redeem(&url, &Trust::System, MAILBOX, "dirk", &invite)
        .await
        .expect_err("second use");
    assert_eq!(again.code, ErrorCode::BadInvite);
    let options = fast(ClientOptions::new(
        &url,
        Trust::System,
        MAILBOX,
        "dirk",
        &secret,
    ));
    let (dirk, _) = connect(options).await;
    dirk.shutdown().await;

    // Joining a second mailbox keeps the secret; no new invite.
    let again = team
        .server
        .add_member(OTHER_MAILBOX, "dirk")
        .await
        .expect("add");
    assert_eq!(again.invite, None);
    let options = fast(ClientOptions::new(
        &url,
        Trust::System,
        OTHER_MAILBOX,
        "dirk",
        &secret,
    ));
    let (dirk, _) = connect(options).await;
    dirk.shutdown().await;
    team.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_clients_are_refused_and_others_keep_going() {
    let team = team_with(&["anna", "bram"], &["sam"], |config| {
        config.limits.messages_per_second = 50.0;
        config.limits.burst = 100.0;
        config.limits.hello_timeout_secs = 1.0;
    })
    .await;
    let (bram, mut events) = team.client("bram").await;

    // No hello first.
    let mut raw = team.raw().await;
    raw.send(r#"{"type":"ping","id":"1"}"#).await;
    assert_eq!(
        raw.error().await.map(|e| e.code),
        Some(ErrorCode::Unauthenticated)
    );
    assert!(raw.closed().await);
    still_served(&bram, &mut events, "after-no-hello").await;

    // Wrong secret, unknown member, invalid member id.
    for (member, secret, code) in [
        ("anna", "not the secret".to_owned(), ErrorCode::BadSecret),
        ("nobody", "x".to_owned(), ErrorCode::BadSecret),
        ("Not Valid", "x".to_owned(), ErrorCode::InvalidMember),
    ] {
        let mut raw = team.raw().await;
        raw.hello(MAILBOX, member, &secret).await;
        assert_eq!(raw.error().await.map(|e| e.code), Some(code), "{member}");
        assert!(raw.closed().await);
    }
    still_served(&bram, &mut events, "after-bad-secret").await;

    // A member of another mailbox, and a request about another mailbox.
    let mut raw = team.raw().await;
    raw.hello(MAILBOX, "sam", team.secret("sam")).await;
    assert_eq!(
        raw.error().await.map(|e| e.code),
        Some(ErrorCode::WrongMailbox)
    );
    assert!(raw.closed().await);
    let mut raw = team.raw_member("anna").await;
    let change = ClientFrame::Change {
        id: "x1".into(),
        mailbox: Some(OTHER_MAILBOX.into()),
        conversation: "c".into(),
        action: WireAction::Claim,
        expect: None,
    };
    raw.send(&serde_json::to_string(&change).expect("json"))
        .await;
    let error = raw.error().await.expect("an error");
    assert_eq!(
        (error.code, error.id.as_deref()),
        (ErrorCode::WrongMailbox, Some("x1"))
    );

    // Malformed JSON and an unknown type: answered, connection kept.
    raw.send("{not json").await;
    assert_eq!(raw.error().await.map(|e| e.code), Some(ErrorCode::BadFrame));
    raw.send(r#"{"type":"change","id":"x2","conversation":"c","action":{"kind":"steal"}}"#)
        .await;
    let error = raw.error().await.expect("an error");
    assert_eq!(
        (error.code, error.id.as_deref()),
        (ErrorCode::BadFrame, Some("x2"))
    );
    raw.send(r#"{"type":"steal","id":"x3"}"#).await;
    assert_eq!(
        raw.error().await.map(|e| e.code),
        Some(ErrorCode::UnknownType)
    );
    raw.send(r#"{"type":"ping","id":"alive"}"#).await;
    loop {
        match raw.recv().await {
            Some(ServerFrame::Pong { id }) => {
                assert_eq!(id.as_deref(), Some("alive"));
                break;
            }
            Some(_) => {}
            None => panic!("closed after one bad frame"),
        }
    }
    // Repeated garbage closes it.
    for _ in 0..20 {
        if !raw.try_send("garbage").await {
            break;
        }
    }
    assert!(raw.closed().await);
    still_served(&bram, &mut events, "after-garbage").await;

    // A frame above the limit.
    let mut raw = team.raw_member("anna").await;
    let huge = format!(
        r#"{{"type":"ping","id":"{}"}}"#,
        "x".repeat(team.config.limits.max_message_bytes + 1)
    );
    let _ = raw.try_send(&huge).await;
    assert_eq!(raw.error().await.map(|e| e.code), Some(ErrorCode::TooLarge));
    assert!(raw.closed().await);
    still_served(&bram, &mut events, "after-huge").await;

    // A flood: told once, then closed; bram meanwhile is answered.
    let mut raw = team.raw_member("anna").await;
    let flood = tokio::spawn(async move {
        let mut sent = 0;
        for i in 0..5_000 {
            if !raw
                .try_send(&format!(r#"{{"type":"ping","id":"{i}"}}"#))
                .await
            {
                break;
            }
            sent += 1;
        }
        let mut limited = false;
        while let Some(frame) = raw.recv().await {
            if let ServerFrame::Error(e) = frame
                && e.code == ErrorCode::RateLimited
            {
                limited = true;
            }
        }
        (sent, limited)
    });
    still_served(&bram, &mut events, "during-flood").await;
    let (sent, limited) = flood.await.expect("flood task");
    assert!(limited, "rate_limited after {sent} frames");
    still_served(&bram, &mut events, "after-flood").await;

    // Silence before the hello.
    let mut raw = team.raw().await;
    assert_eq!(raw.error().await.map(|e| e.code), Some(ErrorCode::Timeout));
    assert!(raw.closed().await);

    bram.shutdown().await;
    team.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_pinned_self_signed_certificate() {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = ServerConfig::loopback(dir.path().join("store"), &[MAILBOX]);
    config.tls = baton::teamsync::config::TlsConfig::SelfSigned;
    let server = TeamServer::start(config).await.expect("start");
    let fingerprint = server.fingerprint().expect("a fingerprint").to_owned();
    let url = server.url();
    assert!(url.starts_with("wss://"), "{url}");
    let invite = server
        .add_member(MAILBOX, "anna")
        .await
        .expect("add")
        .invite
        .expect("invite");

    let wrong = Trust::Pinned(fingerprint.replace(&fingerprint[..2], "00"));
    let refused = TeamClient::redeem(&url, &wrong, MAILBOX, "anna", &invite)
        .await
        .expect_err("another certificate");
    assert_eq!(refused.code, ErrorCode::Disconnected);
    assert!(refused.message.contains("TLS"), "{}", refused.message);
    let not_trusted = TeamClient::redeem(&url, &Trust::System, MAILBOX, "anna", &invite).await;
    assert!(
        not_trusted.is_err(),
        "a self-signed certificate is not trusted by the system"
    );

    let pinned = Trust::Pinned(fingerprint.clone());
    let secret = TeamClient::redeem(&url, &pinned, MAILBOX, "anna", &invite)
        .await
        .expect("redeem over TLS");
    let (anna, _) = connect(fast(ClientOptions::new(
        &url, pinned, MAILBOX, "anna", &secret,
    )))
    .await;
    anna.change("c1", &Action::Claim, None)
        .await
        .expect("claim over TLS");
    anna.shutdown().await;
    server.shutdown().await;

    // Plain ws:// to anything but loopback is refused by the client itself.
    let refused = TeamClient::redeem("ws://192.0.2.1:7443/", &Trust::System, MAILBOX, "anna", "x")
        .await
        .expect_err("plain off loopback");
    assert!(refused.message.contains("wss://"), "{}", refused.message);
}

#[test]
fn the_binary_documents_its_configuration() {
    let output = Command::new(env!("CARGO_BIN_EXE_baton-sync"))
        .arg("--help")
        .output()
        .expect("run baton-sync --help");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for key in [
        "--config",
        "invite",
        "listen",
        "store",
        "silence_timeout_secs",
        "log_keep",
        "[tls]",
        "mode",
        "cert",
        "key",
        "max_connections",
        "max_message_bytes",
        "messages_per_second",
        "burst",
        "hello_timeout_secs",
        "max_concurrent_auth",
        "[[mailbox]]",
        "[mailbox.imap]",
        "host",
        "port",
        "security",
        "username",
        "password_env",
        "password_keychain",
    ] {
        assert!(help.contains(key), "--help does not mention {key}");
    }
    let sample = help
        .split_once("CONFIGURATION (TOML), every key with an example:\n")
        .expect("sample section")
        .1;
    ServerConfig::parse(sample).expect("the sample in --help parses");

    let bad = Command::new(env!("CARGO_BIN_EXE_baton-sync"))
        .arg("--frobnicate")
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
}

// ---- the real binary, killed at random moments ----

fn write_config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("baton-sync.toml");
    let text = format!(
        "listen = \"127.0.0.1:0\"\nstore = {:?}\n[tls]\nmode = \"none\"\n[[mailbox]]\nid = \"support\"\n",
        dir.join("store")
    );
    std::fs::write(&path, text).expect("config");
    path
}

fn invite_with_binary(config: &Path, member: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_baton-sync"))
        .args(["--config"])
        .arg(config)
        .args(["invite", MAILBOX, member])
        .output()
        .expect("run invite");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("invite code (valid for 7 days, works once): "))
        .expect("an invite code")
        .trim()
        .to_owned()
}

/// Starts the binary and reads the address it prints.
fn start_binary(config: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton-sync"))
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start baton-sync");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("baton-sync printed its address")
            .expect("read");
        if let Some((_, url)) = line.split_once(" listening on ") {
            break url.trim().to_owned();
        }
    };
    (child, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_change_survives_kill_9() {
    let long = std::env::var("BATON_LONG_TESTS").is_ok_and(|v| v == "1");
    let kills = if long { 50 } else { 5 };
    const MEMBERS: [&str; 3] = ["anna", "bram", "chloe"];
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path());
    let invites: Vec<String> = MEMBERS
        .iter()
        .map(|m| invite_with_binary(&config, m))
        .collect();
    let mut secrets: Vec<String> = Vec::new();
    // (conversation, member, seq) the server acknowledged.
    let acked: Arc<Mutex<Vec<(String, String, u64)>>> = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut verified = 0usize;
    for round in 0..=kills {
        let (mut child, url) = start_binary(&config);
        if secrets.is_empty() {
            for (member, invite) in MEMBERS.iter().zip(&invites) {
                secrets.push(
                    TeamClient::redeem(&url, &Trust::System, MAILBOX, member, invite)
                        .await
                        .expect("redeem"),
                );
            }
        }
        // Everything acknowledged before the last kill is there.
        let checker = ClientOptions::new(&url, Trust::System, MAILBOX, "anna", &secrets[0]);
        let (client, mut events) = TeamClient::start(fast(checker));
        client
            .wait_connected(WAIT)
            .await
            .expect("connects after restart");
        let welcome_seq = match next(&mut events, |_| true).await {
            TeamEvent::Connected { seq, resumed, .. } => {
                assert!(!resumed);
                seq
            }
            other => panic!("{other:?}"),
        };
        let snapshot = match next(&mut events, |_| true).await {
            TeamEvent::Snapshot(records) => records,
            other => panic!("expected a snapshot, got {other:?}"),
        };
        {
            let acked = acked.lock().expect("lock");
            for (conversation, member, seq) in acked.iter() {
                let record = snapshot
                    .iter()
                    .find(|r| &r.conversation == conversation)
                    .unwrap_or_else(|| panic!("acknowledged {conversation} (seq {seq}) was lost"));
                assert_eq!(record.owner.as_deref(), Some(member.as_str()));
                assert!(welcome_seq >= *seq, "seq went back: {welcome_seq} < {seq}");
            }
            verified = acked.len();
        }
        client.shutdown().await;
        if round == kills {
            child.kill().expect("stop");
            let _ = child.wait();
            break;
        }

        // Members claim fresh conversations as fast as they are answered…
        let killed = tokio_util::sync::CancellationToken::new();
        let mut workers = Vec::new();
        for (i, member) in MEMBERS.iter().enumerate() {
            let options = fast(ClientOptions::new(
                &url,
                Trust::System,
                MAILBOX,
                member,
                &secrets[i],
            ));
            let acked = acked.clone();
            let member = (*member).to_owned();
            let killed = killed.clone();
            workers.push(tokio::spawn(async move {
                let (client, _events) = TeamClient::start(options);
                // Killed before this member got in: it would keep retrying.
                let connected = tokio::select! {
                    connected = client.wait_connected(WAIT) => connected.is_ok(),
                    _ = killed.cancelled() => false,
                };
                if !connected {
                    client.shutdown().await;
                    return;
                }
                for n in 0.. {
                    let conversation = format!("r{round}-{member}-{n}");
                    match client.change(&conversation, &Action::Claim, None).await {
                        Ok(seq) => {
                            acked
                                .lock()
                                .expect("lock")
                                .push((conversation, member.clone(), seq))
                        }
                        Err(_) => break,
                    }
                }
                client.shutdown().await;
            }));
        }
        // …until the server is killed at a random moment.
        tokio::time::sleep(Duration::from_millis(50 + fastrand::u64(0..350))).await;
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        killed.cancel();
        for worker in workers {
            tokio::time::timeout(WAIT, worker)
                .await
                .expect("members notice the server is gone")
                .expect("member task");
        }
    }
    println!(
        "durability: {kills} kills, {verified} acknowledged changes all present after restart, in {:?}",
        started.elapsed()
    );
    assert!(verified > 0, "no change was acknowledged at all");
}

/// An authority with a view of its own, as the IMAP one will have: the server takes its
/// snapshot at start and its outside changes as they come, and logs and broadcasts them.
struct OutsideAuthority {
    start: Vec<baton::teamsync::ConversationRecord>,
    changes: Mutex<Option<tokio::sync::mpsc::Receiver<baton::teamsync::ConversationRecord>>>,
}

impl baton::teamsync::Authority for OutsideAuthority {
    fn mode(&self) -> baton::teamsync::Mode {
        baton::teamsync::Mode::Imap
    }

    fn apply<'a>(
        &'a self,
        request: baton::teamsync::ChangeRequest<'a>,
    ) -> futures::future::BoxFuture<'a, Result<baton::teamsync::Decision, baton::teamsync::Rejection>>
    {
        Box::pin(async move { baton::teamsync::authority::judge(&request) })
    }

    fn snapshot(
        &self,
    ) -> futures::future::BoxFuture<
        '_,
        baton::problem::Result<Option<Vec<baton::teamsync::ConversationRecord>>>,
    > {
        let start = self.start.clone();
        Box::pin(async move { Ok(Some(start)) })
    }

    fn outside_changes(
        &self,
    ) -> Option<tokio::sync::mpsc::Receiver<baton::teamsync::ConversationRecord>> {
        self.changes.lock().expect("lock").take()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_an_authority_notices_outside_are_logged_and_broadcast() {
    let record = |conversation: &str, owner: &str, version| baton::teamsync::ConversationRecord {
        conversation: conversation.into(),
        owner: Some(owner.into()),
        status: Status::Open,
        version,
        by: owner.into(),
        at_ms: 1,
        outside: true,
    };
    let (push, changes) = tokio::sync::mpsc::channel(8);
    let authority = Arc::new(OutsideAuthority {
        start: vec![record("from-imap", "outlook-user", 7)],
        changes: Mutex::new(Some(changes)),
    });
    let dir = tempfile::tempdir().expect("dir");
    let config = ServerConfig::loopback(dir.path().join("store"), &[MAILBOX]);
    let authorities = std::collections::BTreeMap::from([(
        MAILBOX.to_owned(),
        authority as Arc<dyn baton::teamsync::Authority>,
    )]);
    let server = TeamServer::start_with(config, authorities)
        .await
        .expect("start");
    let invite = server
        .add_member(MAILBOX, "anna")
        .await
        .expect("add")
        .invite
        .expect("invite");
    let secret = TeamClient::redeem(&server.url(), &Trust::System, MAILBOX, "anna", &invite)
        .await
        .expect("redeem");
    let (anna, mut events) = TeamClient::start(fast(ClientOptions::new(
        &server.url(),
        Trust::System,
        MAILBOX,
        "anna",
        &secret,
    )));
    match next(&mut events, |e| matches!(e, TeamEvent::Connected { .. })).await {
        TeamEvent::Connected { mode, seq, .. } => {
            assert_eq!(mode, baton::teamsync::Mode::Imap);
            assert_eq!(seq, 1, "the start snapshot was logged once");
        }
        other => panic!("{other:?}"),
    }
    match next(&mut events, |e| matches!(e, TeamEvent::Snapshot(_))).await {
        TeamEvent::Snapshot(records) => {
            assert_eq!(records, vec![record("from-imap", "outlook-user", 7)])
        }
        other => panic!("{other:?}"),
    }
    push.send(record("phone", "bram", 3)).await.expect("push");
    match next(&mut events, |e| changed_to(e, "phone")).await {
        TeamEvent::Change(event) => {
            assert_eq!(event.seq, 2);
            assert_eq!(event.record, record("phone", "bram", 3));
        }
        other => panic!("{other:?}"),
    }
    // The history tells an outside change from a member's.
    let history = anna.history("phone").await.expect("history");
    assert_eq!(
        history
            .events
            .iter()
            .map(|e| (e.seq, e.record.outside))
            .collect::<Vec<_>>(),
        vec![(2, true)]
    );
    // Members' own changes are judged on what the outside change left.
    let refused = anna
        .change("phone", &Action::Claim, None)
        .await
        .expect_err("held by bram");
    assert_eq!(refused.holder.as_deref(), Some("bram"));
    anna.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_above_the_limit_are_refused_until_one_closes() {
    let team = team_with(&["anna", "bram"], &[], |config| {
        config.limits.max_connections = 3;
    })
    .await;
    let (bram, mut events) = team.client("bram").await;
    let first = team.raw().await;
    let _second = team.raw().await;
    let address = team.url();
    let over = async {
        let tcp = tokio::net::TcpStream::connect(
            address.trim_start_matches("ws://").trim_end_matches('/'),
        )
        .await
        .expect("tcp");
        tokio_tungstenite::client_async(address.as_str(), tcp).await
    };
    assert!(over.await.is_err(), "a fourth connection is refused");
    still_served(&bram, &mut events, "at-the-limit").await;
    drop(first);
    let deadline = Instant::now() + WAIT;
    loop {
        let tcp = tokio::net::TcpStream::connect(
            address.trim_start_matches("ws://").trim_end_matches('/'),
        )
        .await
        .expect("tcp");
        if tokio_tungstenite::client_async(address.as_str(), tcp)
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "room again once a connection closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bram.shutdown().await;
    team.server.shutdown().await;
}
