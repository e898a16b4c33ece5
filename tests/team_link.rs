//! The desktop's side of the team server: one member hosts it inside the app, a
//! colleague joins with an invitation, claims and presence travel through it, and when
//! it goes away claims keep working on the mailbox.

mod common;

use baton::conversation::TeamAction;
use baton::problem::ProblemCode;
use baton::team::{Activity, HostSettings, TeamServerState};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosted_team_server_carries_claims_and_presence_and_claims_survive_without_it() {
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
    assert_eq!(bram.team().server, TeamServerState::NotConfigured);

    let hosted = anna
        .host_team_server(HostSettings {
            port: 0,
            open_to_network: true,
        })
        .await
        .expect("anna hosts the team server");
    assert!(hosted.url.starts_with("wss://"), "{hosted:?}");
    assert!(hosted.fingerprint.is_some());
    let invite = anna.invite_colleague("bram").await.expect("invite");
    bram.join_team_server(invite.clone())
        .await
        .expect("bram joins");
    assert!(
        bram.join_team_server(invite).await.is_err(),
        "an invitation works once"
    );
    wait_synced(&anna).await;
    wait_synced(&bram).await;
    wait_until(WAIT, "both are online with the team server", || {
        online(&anna) && online(&bram)
    })
    .await;

    let q0 = by_subject(&anna, "Question number 0");
    anna.act(q0, TeamAction::Claim).await.expect("anna claims");
    assert_eq!(owner_of(&anna, q0).as_deref(), Some("anna"));
    wait_until(WAIT, "bram sees anna's claim", || {
        owner_of(&bram, q0).as_deref() == Some("anna")
    })
    .await;
    let refused = bram.act(q0, TeamAction::Claim).await.expect_err("held");
    assert_eq!(refused.code, ProblemCode::ClaimConflict);
    assert_eq!(refused.holder.as_deref(), Some("anna"));
    assert!(refused.held_since.is_some());

    bram.report_activity(q0, Some(Activity::Viewing)).await;
    wait_until(WAIT, "anna sees bram viewing", || {
        anna.presence(q0)
            .iter()
            .any(|p| p.member == "bram" && p.activity == Activity::Viewing)
    })
    .await;
    bram.report_activity(q0, Some(Activity::Replying)).await;
    wait_until(WAIT, "anna sees bram replying", || {
        anna.presence(q0)
            .iter()
            .any(|p| p.member == "bram" && p.activity == Activity::Replying)
    })
    .await;
    assert!(
        bram.presence(q0).is_empty(),
        "one's own presence is not shown"
    );

    // Anna stops hosting: bram's link goes offline, and his claim still works, on IMAP.
    anna.stop_hosting().await.expect("stop hosting");
    wait_until(WAIT, "bram sees the team server offline", || {
        matches!(bram.team().server, TeamServerState::Offline { .. })
    })
    .await;
    assert!(anna.presence(q0).is_empty());
    let q1 = by_subject(&bram, "Question number 1");
    bram.act(q1, TeamAction::Claim)
        .await
        .expect("claims work without the team server");
    wait_until(WAIT, "anna sees bram's claim through IDLE", || {
        owner_of(&anna, q1).as_deref() == Some("bram")
    })
    .await;
    anna.shutdown().await;
    bram.shutdown().await;
}

/// Baton that hosts the team server opens again after a restart: the server comes back
/// with its store and the mailbox's state, and the member is online with it (the real
/// app hung here once, opening the hosted server a second time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosting_baton_opens_again_after_a_restart() {
    let server = dovecot();
    server.import("anna", questions(30)).expect("import");
    let dir = tempfile::tempdir().expect("dir");
    let secrets: std::sync::Arc<dyn baton::secrets::SecretStore> =
        std::sync::Arc::new(baton::secrets::MemorySecrets::default());
    let anna = engine_with(
        dir.path(),
        &server,
        "anna",
        server.imaps_port,
        secrets.clone(),
    )
    .await;
    wait_synced(&anna).await;
    // A fixed port, as a real host has one (port 0 would move at every start).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    anna.host_team_server(HostSettings {
        port,
        open_to_network: false,
    })
    .await
    .expect("hosting");
    wait_until(WAIT, "anna is online with her server", || online(&anna)).await;
    let id = by_subject(&anna, "Question number 3");
    anna.act(id, TeamAction::Claim).await.expect("claim");
    anna.shutdown().await;

    let again = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        reopen(dir.path(), "anna", secrets),
    )
    .await
    .expect("the hosting Baton opens again within a minute");
    let started = std::time::Instant::now();
    while !online(&again) && started.elapsed() < WAIT {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        online(&again),
        "not online again: {:?}",
        again.team().server
    );
    assert_eq!(owner_of(&again, id).as_deref(), Some("anna"));
    again.shutdown().await;
}
