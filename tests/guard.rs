//! The duplicate-reply guard against real servers: two members answer the same customer,
//! an "Outlook user" answers beside Baton with plain IMAP and SMTP, the customer writes
//! again, a colleague holds the conversation or is replying right now.

mod common;

use baton::compose::{GuardFinding, SendOptions, SendOutcome};
use baton::conversation::TeamAction;
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
