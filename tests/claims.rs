//! The coordination contract on a real Dovecot: conditional stores, and claims racing.

mod common;

use std::time::Duration;

use baton::Engine;
use baton::contract::Status;
use baton::conversation::{ConversationId, TeamAction, View};
use baton::problem::ProblemCode;
use common::raw::RawImap;

use baton::imap::connect::open_session;
use baton::imap::session::ImapSession;
use baton::imap::tls::client_config;
use common::*;

async fn session(server: &baton::dev::dovecot::Dovecot, member: &str) -> ImapSession {
    let settings = account(server, member, server.imaps_port);
    let tls = client_config(settings.extra_ca_file.as_deref()).expect("tls");
    open_session(&settings.imap, tls, &settings.username, &password(member))
        .await
        .expect("login")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conditional_store_loses_to_an_earlier_change_and_says_so() {
    let server = dovecot();
    server.import("anna", questions(2)).expect("import");
    let mut anna = session(&server, "anna").await;
    let mut bram = session(&server, "bram").await;
    let seen = anna
        .select("INBOX", None)
        .await
        .expect("select")
        .highest_modseq
        .expect("condstore");
    bram.select("INBOX", None).await.expect("select");

    let won = anna
        .store_keywords(&[1], seen, true, &["baton.claim.anna".into()])
        .await
        .expect("store");
    assert!(won.modified.is_empty());
    assert_eq!(won.updates.len(), 1);
    assert!(
        won.updates[0]
            .keywords
            .contains(&"baton.claim.anna".to_string())
    );
    assert!(won.updates[0].modseq > seen);

    // Bram read the same modseq before Anna's change: his store must fail.
    let lost = bram
        .store_keywords(&[1], seen, true, &["baton.claim.bram".into()])
        .await
        .expect("store");
    assert_eq!(lost.modified, vec![1]);
    assert!(
        lost.updates
            .iter()
            .all(|u| !u.keywords.contains(&"baton.claim.bram".to_string()))
    );

    // A store on a message nobody touched goes through.
    let other = bram
        .store_keywords(&[2], seen, true, &["baton.claim.bram".into()])
        .await
        .expect("store");
    assert!(other.modified.is_empty());

    // Keywords that are not atoms never reach the server.
    assert!(
        bram.store_keywords(&[2], seen, true, &["a) UID EXPUNGE 1:* (".into()])
            .await
            .is_err()
    );
}

// ----- the contract through the engine, as the app uses it -----

fn in_view(engine: &Engine, view: View, id: ConversationId) -> bool {
    engine
        .list_conversations(view, 0, 500)
        .rows
        .iter()
        .any(|r| r.id == id)
}

async fn owner_is(engine: &Engine, id: ConversationId, owner: Option<&str>, what: &str) {
    wait_until(WAIT, what, || {
        row(engine, id).is_some_and(|r| r.owner.as_deref() == owner)
    })
    .await;
}

/// The keywords on every message of the inbox, by UID, as a plain client sees them.
async fn keywords(raw: &mut RawImap) -> Vec<(u32, String)> {
    raw.ok("SELECT INBOX").await;
    raw.ok("UID FETCH 1:* (UID FLAGS)")
        .await
        .into_iter()
        .filter_map(|line| {
            let uid = line
                .split("UID ")
                .nth(1)?
                .split([' ', ')'])
                .next()?
                .parse()
                .ok()?;
            Some((uid, line))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_hand_overs_and_status_reach_colleagues_and_new_mail_stays_with_the_owner() {
    let server = dovecot();
    server.import("anna", questions(3)).expect("import");
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let anna = engine(dir_a.path(), &server, "anna", server.imaps_port).await;
    let bram = engine(dir_b.path(), &server, "bram", server.imaps_port).await;
    wait_synced(&anna).await;
    wait_synced(&bram).await;
    let id = by_subject(&anna, "Question number 0");
    assert_eq!(
        id,
        by_subject(&bram, "Question number 0"),
        "the same id everywhere"
    );
    assert!(in_view(&anna, View::Unassigned, id));

    anna.act(id, TeamAction::Claim).await.expect("anna claims");
    assert_eq!(
        row(&anna, id).and_then(|r| r.owner).as_deref(),
        Some("anna")
    );
    assert!(in_view(&anna, View::Mine, id));
    assert!(!in_view(&anna, View::Unassigned, id));
    owner_is(&bram, id, Some("anna"), "bram sees anna's claim").await;
    assert!(in_view(&bram, View::Team, id));
    assert!(!in_view(&bram, View::Mine, id));

    let refused = bram
        .act(id, TeamAction::Claim)
        .await
        .expect_err("held by anna");
    assert_eq!(refused.code, ProblemCode::ClaimConflict);
    assert_eq!(refused.holder.as_deref(), Some("anna"));
    assert!(refused.held_since.is_some(), "bram saw when anna took it");
    let refused = bram
        .act(id, TeamAction::Release)
        .await
        .expect_err("not his");
    assert_eq!(refused.code, ProblemCode::NotHolder);
    let refused = anna
        .act(
            id,
            TeamAction::HandOver {
                to: "Bram Smit".into(),
            },
        )
        .await
        .expect_err("not a member id");
    assert_eq!(refused.code, ProblemCode::InvalidMember);

    anna.act(id, TeamAction::HandOver { to: "bram".into() })
        .await
        .expect("hand over");
    owner_is(&bram, id, Some("bram"), "bram sees he has it").await;
    assert!(in_view(&bram, View::Mine, id));
    assert!(bram.team_members().contains(&"anna".to_string()));

    bram.act(
        id,
        TeamAction::SetStatus {
            status: Status::Done,
        },
    )
    .await
    .expect("done");
    wait_until(WAIT, "anna sees it done", || {
        row(&anna, id).is_some_and(|r| r.status == Status::Done)
    })
    .await;
    assert!(in_view(&anna, View::Done, id));
    assert!(!in_view(&bram, View::Mine, id), "done work leaves Mine");

    // The customer writes again: open again, still bram's, and the new message carries
    // bram's keyword (his client tags it).
    let mut raw = RawImap::login(
        server.imaps_port,
        &server.pki.ca_file,
        "anna",
        &password("anna"),
    )
    .await;
    raw.append(
        "INBOX",
        "",
        &mail(
            "q0-again@customer.example",
            "Customer 0 <c0@customer.example>",
            "Re: Question number 0",
            &["q0@customer.example"],
            "Still waiting!",
        ),
    )
    .await;
    wait_until(WAIT, "anna sees the customer wrote back", || {
        row(&anna, id).is_some_and(|r| r.status == Status::Open && r.message_count == 2)
    })
    .await;
    assert_eq!(
        row(&anna, id).and_then(|r| r.owner).as_deref(),
        Some("bram")
    );
    let start = std::time::Instant::now();
    loop {
        let flags = keywords(&mut raw).await;
        let tagged = flags
            .iter()
            .filter(|(_, line)| line.contains("baton.claim.bram"))
            .count();
        if tagged == 2 {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "the new mail gets bram's keyword: {flags:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A colleague on a plain client takes bram's keyword off: everyone converges.
    raw.ok("UID STORE 1:* -FLAGS (baton.claim.bram)").await;
    owner_is(&anna, id, None, "anna sees it unassigned").await;
    owner_is(&bram, id, None, "bram sees it unassigned").await;
    anna.shutdown().await;
    bram.shutdown().await;
}

/// N members claim the same conversation at the same moment, round after round, on a
/// fresh mailbox whose claim keywords were never used (the Dovecot race): exactly one
/// wins each round and every other is told who.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_race_has_exactly_one_winner_every_round() {
    let rounds: usize = std::env::var("BATON_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let members = ["anna", "bram", "chloe", "dirk"];
    let server = team_dovecot(&members);
    server.import("anna", questions(rounds)).expect("import");
    let dirs: Vec<_> = members
        .iter()
        .map(|_| tempfile::tempdir().expect("dir"))
        .collect();
    let mut engines = Vec::new();
    for (member, dir) in members.iter().zip(&dirs) {
        engines.push(engine(dir.path(), &server, member, server.imaps_port).await);
    }
    for engine in &engines {
        wait_synced(engine).await;
        wait_until(WAIT, "every conversation is listed", || {
            engine.list_conversations(View::All, 0, 1).total as usize == rounds
        })
        .await;
    }
    let ids: Vec<ConversationId> = engines[0]
        .list_conversations(View::All, 0, rounds as u32)
        .rows
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids.len(), rounds.min(500));
    let mut ids = ids;
    let mut offset = ids.len();
    while offset < rounds {
        let page = engines[0].list_conversations(View::All, offset as u32, 500);
        offset += page.rows.len();
        ids.extend(page.rows.iter().map(|r| r.id));
    }
    let started = std::time::Instant::now();
    let mut wins = vec![0usize; members.len()];
    for (round, &id) in ids.iter().enumerate() {
        let attempts = engines.iter().map(|e| e.act(id, TeamAction::Claim));
        let results = futures::future::join_all(attempts).await;
        let winners: Vec<usize> = (0..members.len()).filter(|&i| results[i].is_ok()).collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: winners {winners:?} {results:?}"
        );
        let winner = members[winners[0]];
        wins[winners[0]] += 1;
        for (i, result) in results.iter().enumerate() {
            if let Err(problem) = result {
                assert_eq!(
                    problem.code,
                    ProblemCode::ClaimConflict,
                    "round {round}: {problem:?}"
                );
                assert_eq!(
                    problem.holder.as_deref(),
                    Some(winner),
                    "round {round}: {} is told who won",
                    members[i]
                );
            }
        }
    }
    println!(
        "{rounds} rounds, {} members, wins {wins:?}, {:.1} s",
        members.len(),
        started.elapsed().as_secs_f64()
    );
    // Every client ends up agreeing on every owner.
    for engine in &engines {
        wait_until(WAIT, "every client agrees", || {
            engine.list_conversations(View::Unassigned, 0, 1).total == 0
        })
        .await;
    }
    for engine in engines {
        engine.shutdown().await;
    }
}
