//! The duplicate-reply guard against real servers: two members answer the same customer,
//! an "Outlook user" answers beside Baton with plain IMAP and SMTP, the customer writes
//! again, a colleague holds the conversation or is replying right now.

mod common;

use baton::compose::GuardFinding;
use baton::conversation::TeamAction;
use baton::outbox::{SendOptions, SendOutcome};
use common::raw::RawImap;
use common::sending::*;
use common::*;

fn question(world: &SendWorld, id: &str, subject: &str) {
    let raw = mail(
        id,
        &format!("Jan Klant <{CUSTOMER}>"),
        subject,
        &[],
        "Help?",
    );
    world
        .dovecot
        .import(
            "anna",
            vec![("INBOX".to_owned(), 1_793_000_000, String::new(), raw)],
        )
        .expect("import");
}

async fn raw_imap(world: &SendWorld, login: &str) -> RawImap {
    RawImap::login(
        world.dovecot.imaps_port,
        &world.dovecot.pki.ca_file,
        login,
        &password(login),
    )
    .await
}

/// Sets the answered flag on the inbox message `message_id`, as another mail app does.
async fn answer_flag(imap: &mut RawImap, message_id: &str) {
    let found = imap
        .ok(&format!("UID SEARCH HEADER Message-ID <{message_id}>"))
        .await;
    let uid = found
        .iter()
        .find_map(|l| l.strip_prefix("* SEARCH "))
        .expect("the question")
        .trim()
        .to_owned();
    imap.ok(&format!("UID STORE {uid} +FLAGS (\\Answered)"))
        .await;
}

async fn guarded(engine: &baton::Engine, draft: &baton::compose::Draft) -> Vec<GuardFinding> {
    match engine
        .send_draft(&draft.id, SendOptions::default())
        .await
        .expect("send")
    {
        SendOutcome::Guarded { report } => {
            assert!(report.checked_live, "the send-time check reads the mailbox");
            report.findings
        }
        SendOutcome::Queued { item } | SendOutcome::Held { item } => {
            panic!("into the outbox without a warning: {item:?}")
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_member_to_send_is_warned_with_who_when_and_what() {
    let world = send_world(&["anna", "bram"]).await;
    question(&world, "g1@customer.example", "Refund please");
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let anna = sending_engine(a.path(), &world, "anna").await;
    let bram = sending_engine(b.path(), &world, "bram").await;
    let id = by_subject(&anna, "Refund please");

    let anna_draft = reply(&anna, id, "Refund is on its way.").await;
    let bram_draft = reply(&bram, id, "We will look into it.").await;
    let item = send(&anna, &anna_draft).await;
    wait_outbox(&anna, &item.id, "anna's reply is sent", fully_sent).await;
    wait_until(WAIT, "anna holds it after replying", || {
        owner_of(&anna, id).as_deref() == Some("anna")
    })
    .await;

    let findings = guarded(&bram, &bram_draft).await;
    let replied = findings
        .iter()
        .find_map(|f| match f {
            GuardFinding::ColleagueReplied {
                by, at, message, ..
            } => Some((by.clone(), *at, message.clone())),
            _ => None,
        })
        .expect("anna's reply is found");
    assert_eq!(replied.0, "anna from Brightdesk");
    assert!(replied.1.is_some());
    assert_eq!(replied.2.expect("her message").folder, "Sent");
    assert!(
        findings
            .iter()
            .any(|f| matches!(f, GuardFinding::OwnedByOther { member, .. } if member == "anna")),
        "{findings:?}"
    );
    // Bram sends anyway, having seen exactly these: it goes.
    let outcome = bram
        .send_draft(
            &bram_draft.id,
            SendOptions {
                send_at: None,
                despite: findings,
            },
        )
        .await
        .expect("send anyway");
    let SendOutcome::Queued { item } = outcome else {
        panic!("still guarded: {outcome:?}")
    };
    wait_outbox(&bram, &item.id, "bram's reply is sent", fully_sent).await;
    wait_count(&world, "customer", "INBOX", &bram_draft.message_id, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_from_outlook_or_a_phone_and_new_customer_mail_are_found_in_imap_alone() {
    let world = send_world(&["anna", "bram"]).await;
    question(&world, "g2@customer.example", "Invoice wrong");
    question(&world, "g3@customer.example", "Opening hours");
    question(&world, "g4@customer.example", "Broken item");
    let dir = tempfile::tempdir().expect("dir");
    let bram = sending_engine(dir.path(), &world, "bram").await;
    let invoice = by_subject(&bram, "Invoice wrong");
    let hours = by_subject(&bram, "Opening hours");
    let broken = by_subject(&bram, "Broken item");
    let invoice_draft = reply(&bram, invoice, "Let me check.").await;
    let hours_draft = reply(&bram, hours, "We open at nine.").await;
    let broken_draft = reply(&bram, broken, "Sorry to hear.").await;
    assert!(
        bram.check_draft(&invoice_draft.id, true)
            .await
            .expect("check")
            .findings
            .is_empty(),
        "nothing to warn about yet"
    );

    // Olga answers the invoice question from Outlook: SMTP straight to the customer,
    // her client files the copy in Sent and flags the question answered.
    let olga_reply = format!(
        "From: \"Olga (Outlook)\" <{SHARED}>\r\nTo: {CUSTOMER}\r\nSubject: RE: Invoice wrong\r\n\
         Date: Mon, 2 Nov 2026 11:00:00 +0100\r\nMessage-ID: <olga1@brightdesk.example>\r\n\
         In-Reply-To: <g2@customer.example>\r\nReferences: <g2@customer.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCorrected invoice attached.\r\n"
    );
    let mut olga = raw_imap(&world, "anna").await;
    olga.append("Sent", "\\Seen", olga_reply.as_bytes()).await;
    olga.ok("SELECT INBOX").await;
    answer_flag(&mut olga, "g2@customer.example").await;

    let findings = guarded(&bram, &invoice_draft).await;
    assert!(
        matches!(
            &findings[..],
            [GuardFinding::ColleagueReplied { by, message: Some(_), .. }] if by == "Olga (Outlook)"
        ),
        "{findings:?}"
    );

    // Someone answers the opening hours from a phone that keeps no copy: only the
    // answered flag tells.
    answer_flag(&mut olga, "g3@customer.example").await;
    let findings = guarded(&bram, &hours_draft).await;
    assert_eq!(
        findings,
        [GuardFinding::ColleagueReplied {
            by: String::new(),
            at: None,
            preview: String::new(),
            message: None,
            message_id: None,
        }]
    );

    // The customer writes again about the broken item while Bram types.
    let again = mail(
        "g4b@customer.example",
        &format!("Jan Klant <{CUSTOMER}>"),
        "Re: Broken item",
        &["g4@customer.example"],
        "Also the box was wet.",
    );
    olga.append("INBOX", "", &again).await;
    let findings = guarded(&bram, &broken_draft).await;
    assert!(
        matches!(
            &findings[..],
            [GuardFinding::CustomerWrote { from, .. }] if from.address == CUSTOMER
        ),
        "{findings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_banners_show_a_colleague_replying_right_now_and_the_holder() {
    let world = send_world(&["anna", "bram"]).await;
    question(&world, "g5@customer.example", "Delivery address");
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let anna = sending_engine(a.path(), &world, "anna").await;
    let bram = sending_engine(b.path(), &world, "bram").await;
    host_and_join(&anna, &bram, "bram").await;
    wait_synced(&anna).await;
    wait_synced(&bram).await;
    let id = by_subject(&anna, "Delivery address");

    // Starting a reply tells the team; Anna's draft shows it without reading the mailbox.
    let bram_draft = reply(&bram, id, "Changing it now.").await;
    let anna_draft = reply(&anna, id, "I'll do it.").await;
    let mut findings = Vec::new();
    for _ in 0..200 {
        findings = anna
            .check_draft(&anna_draft.id, false)
            .await
            .expect("check")
            .findings;
        if !findings.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        findings,
        [GuardFinding::ColleagueReplying {
            member: "bram".into()
        }]
    );
    // Bram claims it: the banner says he holds it.
    bram.act(id, TeamAction::Claim).await.expect("claim");
    wait_until(WAIT, "anna sees bram's claim", || {
        owner_of(&anna, id).as_deref() == Some("bram")
    })
    .await;
    let findings = anna
        .check_draft(&anna_draft.id, false)
        .await
        .expect("check")
        .findings;
    assert!(
        findings
            .iter()
            .any(|f| matches!(f, GuardFinding::OwnedByOther { member, since } if member == "bram" && since.is_some())),
        "{findings:?}"
    );
    // Bram discards his draft: he is no longer replying.
    bram.discard_draft(&bram_draft.id).await.expect("discard");
    wait_until(WAIT, "bram's replying presence ends", || {
        anna.presence(id).is_empty()
    })
    .await;
}

/// Gives `engine` an undo window of `seconds`.
fn undo_window(engine: &baton::Engine, seconds: u32) {
    let mut settings = engine.compose_settings().expect("settings");
    settings.undo_seconds = seconds;
    engine.save_compose_settings(settings).expect("save");
}

fn status_of(engine: &baton::Engine, id: &str) -> Option<baton::outbox::OutboxStatus> {
    engine
        .outbox_items()
        .into_iter()
        .find(|i| i.id == id)
        .map(|i| i.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_on_its_way_is_seen_by_colleagues_at_once_and_undo_takes_it_back_everywhere() {
    use baton::team::Activity;
    let world = send_world(&["anna", "bram"]).await;
    question(&world, "w1@customer.example", "Where is my parcel");
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let anna = sending_engine(a.path(), &world, "anna").await;
    let bram = sending_engine(b.path(), &world, "bram").await;
    host_and_join(&anna, &bram, "bram").await;
    wait_synced(&anna).await;
    wait_synced(&bram).await;
    let id = by_subject(&anna, "Where is my parcel");
    undo_window(&anna, 10);
    let anna_draft = reply(&anna, id, "It left the warehouse today.").await;
    let pressed = baton::store::now_ms();
    let item = send(&anna, &anna_draft).await;
    // Bram opens a reply while hers waits out its undo window.
    let bram_draft = reply(&bram, id, "Let me look it up.").await;
    // The claim was taken before "queued": it is the lock.
    assert_eq!(owner_of(&anna, id).as_deref(), Some("anna"));
    // Bram sees her reply on its way, with the time it leaves, within moments.
    wait_until(WAIT, "bram sees anna's reply on its way", || {
        bram.presence(id)
            .iter()
            .any(|p| p.member == "anna" && p.activity == Activity::Sending)
    })
    .await;
    let seen = bram
        .presence(id)
        .into_iter()
        .find(|p| p.member == "anna")
        .expect("anna's presence");
    let leaves_at = seen.leaves_at.expect("a time to leave");
    assert!(
        (leaves_at - (pressed + 10_000)).abs() < 2_000,
        "leaves at {leaves_at}, pressed at {pressed}"
    );
    // His Send meets it as a reply given, naming her, and her claim.
    let findings = guarded(&bram, &bram_draft).await;
    assert!(
        findings.iter().any(|f| matches!(f,
            GuardFinding::ColleagueSending { member, leaves_at: Some(_), message_id: Some(m) }
                if member == "anna" && *m == anna_draft.message_id)),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| matches!(f, GuardFinding::OwnedByOther { member, .. } if member == "anna")),
        "{findings:?}"
    );

    // Anna takes it back: nobody holds the conversation and she is writing again.
    anna.undo_send(&item.id).await.expect("undo");
    wait_until(WAIT, "bram sees the reply taken back", || {
        owner_of(&bram, id).is_none()
            && bram
                .presence(id)
                .iter()
                .all(|p| p.activity != Activity::Sending)
    })
    .await;
    anna.discard_draft(&anna_draft.id).await.expect("discard");
    wait_until(WAIT, "bram sees anna stop replying", || {
        bram.presence(id).is_empty()
    })
    .await;
    // Now Bram's reply is the only one, and it goes.
    let item = send(&bram, &bram_draft).await;
    wait_outbox(&bram, &item.id, "bram's reply is sent", fully_sent).await;
    wait_count(&world, "customer", "INBOX", &bram_draft.message_id, 1).await;
    assert_eq!(
        count(&world, "customer", "INBOX", &anna_draft.message_id),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sends_at_the_same_moment_let_one_reply_out_and_hold_the_other_naming_the_winner() {
    let world = send_world(&["anna", "bram"]).await;
    for i in 0..4 {
        question(
            &world,
            &format!("same{i}@customer.example"),
            &format!("Same moment {i}"),
        );
    }
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let anna = sending_engine(a.path(), &world, "anna").await;
    let bram = sending_engine(b.path(), &world, "bram").await;
    for i in 0..4 {
        let id = by_subject(&anna, &format!("Same moment {i}"));
        wait_until(WAIT, "bram lists it", || row(&bram, id).is_some()).await;
        let anna_draft = reply(&anna, id, "Anna answers.").await;
        let bram_draft = reply(&bram, id, "Bram answers.").await;
        // Both press Send in the same instant (no team server: the mailbox decides).
        let (a, b) = tokio::join!(
            anna.send_draft(&anna_draft.id, SendOptions::default()),
            bram.send_draft(&bram_draft.id, SendOptions::default())
        );
        let outcomes = [
            ("anna", &anna, &anna_draft, a.expect("anna sends")),
            ("bram", &bram, &bram_draft, b.expect("bram sends")),
        ];
        let queued: Vec<_> = outcomes
            .iter()
            .filter(|o| matches!(o.3, SendOutcome::Queued { .. }))
            .collect();
        let said: Vec<_> = outcomes.iter().map(|o| (o.0, &o.3)).collect();
        assert_eq!(queued.len(), 1, "exactly one goes: {said:?}");
        let winner = queued[0].0;
        let (_, loser, loser_draft, outcome) =
            outcomes.iter().find(|o| o.0 != winner).expect("the other");
        // The other is held in the outbox (both claimed) or stopped at the guard (the
        // winner's claim was already there): either way it names the winner.
        let findings = match outcome {
            SendOutcome::Held { item } => match &item.status {
                baton::outbox::OutboxStatus::Held { findings } => findings.clone(),
                other => panic!("held without findings: {other:?}"),
            },
            SendOutcome::Guarded { report } => report.findings.clone(),
            SendOutcome::Queued { .. } => unreachable!(),
        };
        assert!(
            findings.iter().any(
                |f| matches!(f, GuardFinding::OwnedByOther { member, .. } if member == winner)
            ),
            "{findings:?}"
        );
        wait_count(
            &world,
            "customer",
            "INBOX",
            &[anna_draft.message_id.clone(), bram_draft.message_id.clone()]
                .into_iter()
                .find(|m| *m != loser_draft.message_id)
                .expect("winner's"),
            1,
        )
        .await;
        if let SendOutcome::Held { item } = outcome {
            // Held stays held: nothing leaves until the member chooses. Discarding it
            // leaves the conversation with the winner.
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            assert!(matches!(
                status_of(loser, &item.id),
                Some(baton::outbox::OutboxStatus::Held { .. })
            ));
            loser.discard_outbox(&item.id).await.expect("discard");
        } else {
            loser.discard_draft(&loser_draft.id).await.expect("discard");
        }
        assert_eq!(
            count(&world, "customer", "INBOX", &loser_draft.message_id),
            0
        );
        assert_eq!(owner_of(&anna, id).as_deref(), Some(winner));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_check_holds_a_reply_when_someone_answered_or_the_customer_wrote_during_the_undo_window()
 {
    let world = send_world(&["anna", "bram"]).await;
    question(&world, "h1@customer.example", "Wrong size");
    question(&world, "h2@customer.example", "Gift wrap");
    let dir = tempfile::tempdir().expect("dir");
    let anna = sending_engine(dir.path(), &world, "anna").await;
    let size = by_subject(&anna, "Wrong size");
    let wrap = by_subject(&anna, "Gift wrap");
    undo_window(&anna, 4);
    let size_draft = reply(&anna, size, "Please send it back.").await;
    let wrap_draft = reply(&anna, wrap, "Yes, we can.").await;
    let size_item = send(&anna, &size_draft).await;
    let wrap_item = send(&anna, &wrap_draft).await;

    // During the undo window Olga answers the first from Outlook (no claim, no Baton),
    // and the customer writes again about the second.
    let olga_reply = format!(
        "From: \"Olga (Outlook)\" <{SHARED}>\r\nTo: {CUSTOMER}\r\nSubject: RE: Wrong size\r\n\
         Date: Mon, 2 Nov 2026 11:00:00 +0100\r\nMessage-ID: <olga-h1@brightdesk.example>\r\n\
         In-Reply-To: <h1@customer.example>\r\nReferences: <h1@customer.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nExchange arranged.\r\n"
    );
    let mut olga = raw_imap(&world, "bram").await;
    olga.append("Sent", "\\Seen", olga_reply.as_bytes()).await;
    let again = mail(
        "h2b@customer.example",
        &format!("Jan Klant <{CUSTOMER}>"),
        "Re: Gift wrap",
        &["h2@customer.example"],
        "Never mind, no wrapping needed.",
    );
    olga.append("INBOX", "", &again).await;

    let held = |id: &str| match status_of(&anna, id) {
        Some(baton::outbox::OutboxStatus::Held { findings }) => Some(findings),
        _ => None,
    };
    wait_until(std::time::Duration::from_secs(30), "both are held", || {
        held(&size_item.id).is_some() && held(&wrap_item.id).is_some()
    })
    .await;
    let size_findings = held(&size_item.id).expect("held");
    assert!(
        matches!(&size_findings[..],
            [GuardFinding::ColleagueReplied { by, message_id: Some(m), .. }]
                if by == "Olga (Outlook)" && m == "olga-h1@brightdesk.example"),
        "{size_findings:?}"
    );
    let wrap_findings = held(&wrap_item.id).expect("held");
    assert!(
        matches!(&wrap_findings[..], [GuardFinding::CustomerWrote { preview, .. }] if preview.contains("no wrapping")),
        "{wrap_findings:?}"
    );
    // Held means held: nothing went out.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        count(&world, "customer", "INBOX", &size_draft.message_id),
        0
    );
    assert_eq!(
        count(&world, "customer", "INBOX", &wrap_draft.message_id),
        0
    );

    // Anna reads the customer's news and sends anyway: it goes, once. A choice covers
    // only what she saw.
    assert!(
        anna.send_held(&wrap_item.id, Vec::new()).await.is_err(),
        "sending anyway needs the findings seen"
    );
    anna.send_held(&wrap_item.id, wrap_findings)
        .await
        .expect("send anyway");
    wait_outbox(&anna, &wrap_item.id, "the held reply is sent", fully_sent).await;
    wait_count(&world, "customer", "INBOX", &wrap_draft.message_id, 1).await;
    // The other she edits: it is her draft again, and nothing left.
    let back = anna.undo_send(&size_item.id).await.expect("edit");
    assert_eq!(back.id, size_draft.id);
    assert!(status_of(&anna, &size_item.id).is_none());
    assert_eq!(
        count(&world, "customer", "INBOX", &size_draft.message_id),
        0
    );
}
