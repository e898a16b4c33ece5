//! A mail server without custom keywords (Microsoft 365, imitated by a proxy in front of
//! Dovecot): Baton notices at connect, refuses claims it cannot store rather than
//! pretending, and with a team server the server's store holds owner and status with
//! the same compare-and-set rules.

mod common;

use std::sync::atomic::Ordering;

use baton::conversation::{TeamAction, View};
use baton::problem::ProblemCode;
use baton::team::{HostSettings, TeamServerState, TeamStateHome};
use common::m365::M365Proxy;
use common::raw::RawImap;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keywords_the_team_server_holds_the_baton() {
    let server = dovecot();
    server.import("anna", questions(2)).expect("import");
    let proxy = M365Proxy::start(server.imap_port, &server.pki).await;

    // The proxy answers as Microsoft 365 does.
    let mut raw = RawImap::login(proxy.port, &server.pki.ca_file, "bram", &password("bram")).await;
    let select = raw.ok("SELECT INBOX").await.join("\n");
    assert!(
        select.contains("PERMANENTFLAGS") && !select.contains("\\*"),
        "{select}"
    );
    let refused = raw
        .run("UID STORE 1 +FLAGS (baton.claim.bram)")
        .await
        .join("\n");
    assert!(refused.contains("Command Argument Error. 11"), "{refused}");

    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let anna = engine(dir_a.path(), &server, "anna", proxy.port).await;
    let bram = engine(dir_b.path(), &server, "bram", proxy.port).await;
    wait_synced(&anna).await;
    wait_synced(&bram).await;
    assert_eq!(anna.team().state_home, TeamStateHome::TeamServer);
    let q0 = by_subject(&anna, "Question number 0");

    // Without a team server a claim cannot be kept anywhere: say so, store nothing.
    let before = proxy.refused.load(Ordering::SeqCst);
    let problem = anna
        .act(q0, TeamAction::Claim)
        .await
        .expect_err("nowhere to keep it");
    assert_eq!(problem.code, ProblemCode::TeamStateUnavailable);
    assert_eq!(
        proxy.refused.load(Ordering::SeqCst),
        before,
        "no store was tried"
    );

    // With the team server hosted by Anna, claims work, with the same rules.
    anna.host_team_server(HostSettings {
        port: 0,
        open_to_network: false,
    })
    .await
    .expect("hosting");
    let invite = anna.invite_colleague("bram").await.expect("invite");
    bram.join_team_server(invite).await.expect("join");
    wait_synced(&anna).await;
    wait_synced(&bram).await;
    wait_until(
        WAIT,
        "both are online, the server holding the state",
        || {
            [&anna, &bram].iter().all(|e| {
                e.team().server
                    == TeamServerState::Online {
                        authoritative: true,
                    }
            })
        },
    )
    .await;
    anna.act(q0, TeamAction::Claim).await.expect("anna claims");
    wait_until(WAIT, "both lists show anna holding it", || {
        owner_of(&anna, q0).as_deref() == Some("anna")
            && owner_of(&bram, q0).as_deref() == Some("anna")
    })
    .await;
    let problem = bram.act(q0, TeamAction::Claim).await.expect_err("held");
    assert_eq!(problem.code, ProblemCode::ClaimConflict);
    assert_eq!(problem.holder.as_deref(), Some("anna"));
    anna.act(q0, TeamAction::HandOver { to: "bram".into() })
        .await
        .expect("hand over");
    wait_until(WAIT, "bram holds it in both lists", || {
        owner_of(&anna, q0).as_deref() == Some("bram")
            && owner_of(&bram, q0).as_deref() == Some("bram")
    })
    .await;
    assert!(
        bram.list_conversations(View::Mine, 0, 10)
            .rows
            .iter()
            .any(|r| r.id == q0)
    );

    // Nothing was written to the mailbox.
    let mut direct = RawImap::login(
        server.imaps_port,
        &server.pki.ca_file,
        "bram",
        &password("bram"),
    )
    .await;
    direct.ok("SELECT INBOX").await;
    let flags = direct.ok("UID FETCH 1:* (FLAGS)").await.join("\n");
    assert!(!flags.contains("baton."), "{flags}");
    anna.shutdown().await;
    bram.shutdown().await;
}
