//! A conversation's history with a team server: the server's log says who claimed,
//! handed over, released or set a status, including what happened while a member's Baton
//! was closed, and marks a change another mail app made in the mailbox.

mod common;

use std::sync::Arc;

use baton::contract::Status;
use baton::conversation::TeamAction;
use baton::engine::ActivityItem;
use baton::notes::watch::TeamChange;
use baton::secrets::{MemorySecrets, SecretStore};
use common::raw::RawImap;
use common::*;

/// The team part of a history, in words a test can compare.
fn team_steps(history: &[ActivityItem]) -> Vec<String> {
    history
        .iter()
        .filter_map(|item| match item {
            ActivityItem::Team {
                change,
                by,
                outside,
                ..
            } => {
                let what = match change {
                    TeamChange::Claimed { member } => format!("claimed by {member}"),
                    TeamChange::Released { member } => format!("released by {member}"),
                    TeamChange::HandedOver { from, to } => format!("{from} → {to}"),
                    TeamChange::Status { status } => format!("status {status:?}"),
                };
                let who = match (by, outside) {
                    (_, true) => "another mail app".to_owned(),
                    (Some(by), false) => by.clone(),
                    (None, false) => "?".to_owned(),
                };
                Some(format!("{what} ({who})"))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_servers_log_says_who_did_what_even_while_a_member_was_away() {
    let dovecot = team_dovecot(&["anna", "bram"]);
    dovecot.import("anna", questions(1)).expect("import");
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    let anna = engine(dir_a.path(), &dovecot, "anna", dovecot.imaps_port).await;
    let bram = engine_with(
        dir_b.path(),
        &dovecot,
        "bram",
        dovecot.imaps_port,
        secrets.clone(),
    )
    .await;
    wait_synced(&anna).await;
    wait_synced(&bram).await;
    host_and_join(&anna, &bram, "bram").await;
    wait_synced(&bram).await;
    let q0 = by_subject(&anna, "Question number 0");

    anna.act(q0, TeamAction::Claim).await.expect("claim");
    anna.act(q0, TeamAction::HandOver { to: "bram".into() })
        .await
        .expect("hand over");
    wait_until(WAIT, "bram holds it", || {
        owner_of(&bram, q0).as_deref() == Some("bram")
    })
    .await;

    // Bram closes Baton; Anna takes the conversation back, waits on the customer and lets
    // it go; someone marks it done in another mail app.
    bram.shutdown().await;
    drop(bram);
    anna.act(q0, TeamAction::HandOver { to: "anna".into() })
        .await
        .expect_err("only the holder hands over");
    anna.act(q0, TeamAction::Claim)
        .await
        .expect_err("bram holds it");
    let mut raw = RawImap::login(
        dovecot.imaps_port,
        &dovecot.pki.ca_file,
        "anna",
        &password("anna"),
    )
    .await;
    raw.ok("SELECT INBOX").await;
    raw.ok("UID STORE 1:* -FLAGS (baton.claim.bram)").await;
    wait_until(WAIT, "anna sees it released", || {
        owner_of(&anna, q0).is_none()
    })
    .await;
    anna.act(q0, TeamAction::Claim).await.expect("claim again");
    anna.act(
        q0,
        TeamAction::SetStatus {
            status: Status::Waiting,
        },
    )
    .await
    .expect("waiting");
    anna.act(q0, TeamAction::Release).await.expect("release");
    raw.ok("UID STORE 1:* -FLAGS (baton.waiting)").await;
    raw.ok("UID STORE 1:* +FLAGS (baton.done)").await;
    wait_until(WAIT, "anna sees it done", || {
        row(&anna, q0).is_some_and(|r| r.status == Status::Done)
    })
    .await;

    let bram = reopen(dir_b.path(), "bram", secrets).await;
    wait_synced(&bram).await;
    wait_until(WAIT, "bram is back online with the team server", || {
        online(&bram)
    })
    .await;
    let expected = [
        "claimed by anna (anna)",
        "anna → bram (anna)",
        "released by bram (another mail app)",
        "claimed by anna (anna)",
        "status Waiting (anna)",
        "released by anna (anna)",
        "status Done (another mail app)",
    ];
    let start = std::time::Instant::now();
    let history = loop {
        let history = bram.activity(q0).await;
        if team_steps(&history) == expected || start.elapsed() > WAIT {
            break history;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(team_steps(&history), expected, "{history:?}");
    // The mail comes first, and Anna's Baton tells the same story.
    assert!(matches!(history[0], ActivityItem::Received { .. }));
    assert_eq!(team_steps(&anna.activity(q0).await), expected);
    assert_eq!(bram.activity(q0).await, history, "stable");

    // Without the server, Bram's Baton says what it saw itself: Anna's claim on the
    // mailbox alone, with nobody named as its maker.
    anna.stop_hosting().await.expect("stop hosting");
    wait_until(WAIT, "bram sees the team server offline", || !online(&bram)).await;
    anna.act(q0, TeamAction::Claim)
        .await
        .expect("claim on IMAP");
    let start = std::time::Instant::now();
    let seen = loop {
        let seen = team_steps(&bram.activity(q0).await);
        if seen.last().map(String::as_str) == Some("claimed by anna (?)") || start.elapsed() > WAIT
        {
            break seen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        seen.last().map(String::as_str),
        Some("claimed by anna (?)"),
        "{seen:?}"
    );
    assert!(seen.iter().all(|s| s.ends_with("(?)")), "{seen:?}");
    anna.shutdown().await;
    bram.shutdown().await;
}
