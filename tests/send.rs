//! Sending for real: a reply goes through a real Postfix into the customer's mailbox on
//! a real Dovecot, threads, lands in Sent and marks the answered message — and every
//! failure a server or the network can cause ends with the message delivered exactly
//! once or not at all, and the right status shown.

mod common;

use std::sync::Arc;
use std::time::Duration;

use baton::Engine;
use baton::compose::{Draft, DraftEdit, DraftKind, Template, TemplateKind};
use baton::conversation::ConversationId;
use baton::outbox::store::{OutboxStore, Phase};
use baton::outbox::{OutboxItem, OutboxStatus, SendFailureKind};
use baton::outbox::{SendOptions, SendOutcome};
use baton::problem::ProblemCode;
use baton::secrets::{MemorySecrets, SecretStore};
use common::sending::*;
use common::smtp::Fault;
use common::*;

const QUIET: Duration = Duration::from_millis(1500);

fn question(world: &SendWorld, id: &str, subject: &str) {
    let raw = mail(
        id,
        &format!("Jan Klant <{CUSTOMER}>"),
        subject,
        &[],
        "Where is my order?",
    );
    world
        .dovecot
        .import(
            "anna",
            vec![("INBOX".to_owned(), 1_793_000_000, String::new(), raw)],
        )
        .expect("import");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_arrives_once_threads_lands_in_sent_and_marks_the_question_answered() {
    let world = send_world(&["anna", "bram"]).await;
    question(&world, "q1@customer.example", "Where is my order?");
    let dir = tempfile::tempdir().expect("tempdir");
    let anna = sending_engine(dir.path(), &world, "anna").await;
    let id = by_subject(&anna, "Where is my order?");

    let draft = reply(&anna, id, "Hello Jan, it ships today.").await;
    assert_eq!(draft.to, format!("Jan Klant <{CUSTOMER}>"));
    assert_eq!(draft.subject, "Re: Where is my order?");
    assert!(
        draft.body.contains("> Where is my order?"),
        "{}",
        draft.body
    );
    let item = send(&anna, &draft).await;
    assert_eq!(item.status, OutboxStatus::Queued);
    assert_eq!(item.recipients, [CUSTOMER]);

    wait_outbox(&anna, &item.id, "sent with a copy in Sent", fully_sent).await;
    wait_count(&world, "customer", "INBOX", &draft.message_id, 1).await;
    wait_count(&world, "anna", "Sent", &draft.message_id, 1).await;
    // The customer's copy threads under the question.
    let threaded = world
        .dovecot
        .doveadm(&[
            "search",
            "-u",
            "customer",
            "mailbox",
            "INBOX",
            "header",
            "In-Reply-To",
            "<q1@customer.example>",
        ])
        .expect("search");
    assert_eq!(
        threaded.lines().count(),
        1,
        "In-Reply-To points at the question"
    );
    // The question is answered, the conversation has Anna's reply and is Anna's.
    wait_until(WAIT, "the question is answered and claimed", || {
        row(&anna, id).is_some_and(|r| {
            !r.awaiting_reply && r.message_count == 2 && r.owner.as_deref() == Some("anna")
        })
    })
    .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(count(&world, "customer", "INBOX", &draft.message_id), 1);
    assert!(anna.drafts_list().is_empty(), "the draft is gone once sent");
}

/// Replies while the proxy plays `fault`, and waits for the outbox to say `status`
/// ("retrying", "failed" or "unknown").
async fn send_under(
    world: &SendWorld,
    anna: &Engine,
    id: ConversationId,
    fault: Fault,
    status: &str,
) -> (Draft, OutboxItem) {
    world.proxy.set_fault(fault);
    let draft = reply(anna, id, &format!("Under {fault:?}.")).await;
    let item = send(anna, &draft).await;
    let reached = wait_outbox(anna, &item.id, status, |i| {
        matches!(
            (&i.status, status),
            (OutboxStatus::Retrying { .. }, "retrying")
                | (OutboxStatus::Failed { .. }, "failed")
                | (OutboxStatus::Unknown { .. }, "unknown")
        )
    })
    .await;
    (draft, reached)
}

/// The fault is gone: "send again" delivers the message exactly once.
async fn delivered_once_when_retried(
    world: &SendWorld,
    anna: &Engine,
    draft: &Draft,
    item: &OutboxItem,
) {
    world.proxy.set_fault(Fault::None);
    anna.send_again(&item.id).expect("retry now");
    wait_outbox(anna, &item.id, "sent after the retry", fully_sent).await;
    wait_count(world, "customer", "INBOX", &draft.message_id, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_smtp_fault_ends_with_zero_or_one_delivery_and_the_right_status() {
    let world = send_world(&["anna"]).await;
    question(&world, "q2@customer.example", "Broken servers");
    let dir = tempfile::tempdir().expect("tempdir");
    let anna = sending_engine(dir.path(), &world, "anna").await;
    let id = by_subject(&anna, "Broken servers");

    // 4xx on RCPT: retrying, nothing delivered; the retry delivers once.
    let (draft, retrying) = send_under(&world, &anna, id, Fault::TempFailRcpt, "retrying").await;
    let OutboxStatus::Retrying { next_at, failure } = retrying.status.clone() else {
        unreachable!()
    };
    assert_eq!(failure.kind, SendFailureKind::TemporarilyRefused);
    assert_eq!(failure.code, Some(451));
    assert_eq!(failure.server, "127.0.0.1");
    assert!(next_at > baton::store::now_ms() + 20_000, "backs off");
    tokio::time::sleep(QUIET).await;
    assert_eq!(count(&world, "customer", "INBOX", &draft.message_id), 0);
    delivered_once_when_retried(&world, &anna, &draft, &retrying).await;

    // The server cannot be reached: retrying; nothing delivered.
    let (draft, retrying) = send_under(&world, &anna, id, Fault::RefuseConnect, "retrying").await;
    assert!(matches!(
        retrying.status,
        OutboxStatus::Retrying { ref failure, .. } if failure.kind == SendFailureKind::Unreachable
    ));
    delivered_once_when_retried(&world, &anna, &draft, &retrying).await;

    // 5xx on DATA: failed for good, in plain terms, with the server's words; nothing
    // delivered and nothing retried.
    let (draft, failed) = send_under(&world, &anna, id, Fault::PermFailData, "failed").await;
    let OutboxStatus::Failed { failure } = failed.status else {
        unreachable!()
    };
    assert_eq!(failure.kind, SendFailureKind::MessageRefused);
    assert_eq!(failure.code, Some(554));
    assert!(
        failure
            .server_text
            .as_deref()
            .unwrap_or_default()
            .contains("refused"),
        "{failure:?}"
    );
    let connections = world.proxy.connections();
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        world.proxy.connections(),
        connections,
        "no retry after a 5xx"
    );
    assert_eq!(count(&world, "customer", "INBOX", &draft.message_id), 0);

    // The connection drops after the content, before the answer: Postfix delivered it.
    // Baton does not know, finds no copy in Sent, says "unknown" and never resends.
    let (draft, unknown) = send_under(&world, &anna, id, Fault::DropAfterData, "unknown").await;
    let item = unknown.clone();
    assert!(matches!(
        unknown.status,
        OutboxStatus::Unknown { ref failure } if failure.kind == SendFailureKind::ConnectionLostAfterData
    ));
    wait_count(&world, "customer", "INBOX", &draft.message_id, 1).await;
    world.proxy.set_fault(Fault::None);
    let connections = world.proxy.connections();
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        world.proxy.connections(),
        connections,
        "never resent blindly"
    );
    assert_eq!(count(&world, "customer", "INBOX", &draft.message_id), 1);
    // The member learns it arrived: sent, with its copy in Sent.
    anna.mark_sent(&item.id).expect("mark sent");
    wait_outbox(&anna, &item.id, "sent", fully_sent).await;
    wait_count(&world, "anna", "Sent", &draft.message_id, 1).await;
    assert_eq!(count(&world, "customer", "INBOX", &draft.message_id), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_at_any_step_resumes_without_loss_or_a_second_copy() {
    let world = send_world(&["anna"]).await;
    question(&world, "q3@customer.example", "Restarts");
    let dir = tempfile::tempdir().expect("tempdir");
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    let anna = sending_engine_with(dir.path(), &world, "anna", secrets.clone()).await;
    let id = by_subject(&anna, "Restarts");
    // The outbox's files as a crash would leave them (a store of their own each time:
    // a store keeps what it read in memory).
    let outbox = || OutboxStore::new(&dir.path().join("profiles/anna/outbox"));

    // Stopped between the outbox write and SMTP (in the undo window): after the
    // restart it is sent, once.
    let mut settings = anna.compose_settings().expect("settings");
    settings.undo_seconds = 3;
    anna.save_compose_settings(settings.clone()).expect("save");
    let first = reply(&anna, id, "Queued before a crash.").await;
    let item = send(&anna, &first).await;
    anna.shutdown().await;
    drop(anna);
    assert_eq!(count(&world, "customer", "INBOX", &first.message_id), 0);
    let anna = reopen(dir.path(), "anna", secrets.clone()).await;
    wait_outbox(&anna, &item.id, "sent after the restart", fully_sent).await;
    wait_count(&world, "customer", "INBOX", &first.message_id, 1).await;

    // Stopped while the content was handed over, after it did arrive (and its copy is
    // in Sent): the restart finds it in Sent and does not send it again.
    outbox()
        .update(&item.id, |e| {
            e.phase = Phase::Content;
            e.item.status = OutboxStatus::Sending;
            Ok((true, ()))
        })
        .expect("pretend the crash");
    anna.shutdown().await;
    drop(anna);
    let connections = world.proxy.connections();
    let anna = reopen(dir.path(), "anna", secrets.clone()).await;
    wait_outbox(&anna, &item.id, "recognised as sent", fully_sent).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(world.proxy.connections(), connections, "not sent again");
    assert_eq!(count(&world, "customer", "INBOX", &first.message_id), 1);

    // Stopped while handing over, and nothing is in Sent: unknown, not resent.
    settings.undo_seconds = 60;
    anna.save_compose_settings(settings).expect("save");
    let second = reply(&anna, id, "Unclear.").await;
    let item = send(&anna, &second).await;
    anna.shutdown().await;
    drop(anna);
    outbox()
        .update(&item.id, |e| {
            e.phase = Phase::Content;
            e.item.status = OutboxStatus::Sending;
            Ok((true, ()))
        })
        .expect("pretend the crash");
    let anna = reopen(dir.path(), "anna", secrets).await;
    wait_outbox(&anna, &item.id, "unknown", |i| {
        matches!(i.status, OutboxStatus::Unknown { .. })
    })
    .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(count(&world, "customer", "INBOX", &second.message_id), 0);
    // The member checked with the customer and sends it after all.
    anna.send_again(&item.id).expect("send again");
    wait_outbox(&anna, &item.id, "sent", fully_sent).await;
    wait_count(&world, "customer", "INBOX", &second.message_id, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_takes_a_message_back_before_smtp_and_send_later_waits() {
    let world = send_world(&["anna"]).await;
    question(&world, "q4@customer.example", "Undo");
    let dir = tempfile::tempdir().expect("tempdir");
    let anna = sending_engine(dir.path(), &world, "anna").await;
    let id = by_subject(&anna, "Undo");
    let mut settings = anna.compose_settings().expect("settings");
    settings.undo_seconds = 5;
    anna.save_compose_settings(settings).expect("save");

    let draft = reply(&anna, id, "Oops, wrong customer.").await;
    let item = send(&anna, &draft).await;
    assert!(item.send_at >= item.queued_at + 5_000);
    let back = anna.undo_send(&item.id).await.expect("undo");
    assert_eq!(back.id, draft.id);
    assert!(back.body.starts_with("Oops"));
    assert!(anna.outbox_items().is_empty());
    assert_eq!(anna.drafts_list().len(), 1);

    // Send later: queued until the chosen time.
    let later = baton::store::now_ms() + 2_500;
    let SendOutcome::Queued { item } = anna
        .send_draft(
            &back.id,
            SendOptions {
                send_at: Some(later),
                despite: Vec::new(),
            },
        )
        .await
        .expect("send later")
    else {
        panic!("guarded")
    };
    assert!(item.send_at >= later);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(count(&world, "customer", "INBOX", &draft.message_id), 0);
    wait_outbox(&anna, &item.id, "sent later", fully_sent).await;
    wait_count(&world, "customer", "INBOX", &draft.message_id, 1).await;
    let too_late = anna.undo_send(&item.id).await.expect_err("too late");
    assert_eq!(too_late.code, ProblemCode::TooLateToUndo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_line_breaks_cannot_add_recipients_on_the_wire() {
    let world = send_world(&["anna"]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let anna = sending_engine(dir.path(), &world, "anna").await;
    let draft = anna
        .start_draft(DraftKind::New, None, None, "en")
        .await
        .expect("draft");
    let evil = "sink@brightdesk.example";
    // Saved as typed: the checks come when it is sent.
    let type_in = async |to: String, subject: String| {
        anna.save_draft(DraftEdit {
            id: draft.id.clone(),
            to,
            cc: String::new(),
            bcc: String::new(),
            subject,
            body: "Body\r\n.\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<sink@brightdesk.example>\r\n".into(),
        })
        .await
        .expect("saved as typed")
    };
    type_in(
        format!("{CUSTOMER}\r\nRCPT TO:<{evil}>"),
        format!("Hello\r\nBcc: {evil}\r\n\r\n.\r\nRCPT TO:<{evil}>"),
    )
    .await;
    let problem = anna
        .send_draft(&draft.id, SendOptions::default())
        .await
        .expect_err("the recipient line is refused");
    assert_eq!(problem.code, ProblemCode::InvalidRecipient);
    type_in(
        format!("\"Jan\r\nBcc: {evil}\" <{CUSTOMER}>"),
        format!("Hello\r\nBcc: {evil}"),
    )
    .await;
    let problem = anna
        .send_draft(&draft.id, SendOptions::default())
        .await
        .expect_err("a name with a line break is refused");
    assert_eq!(problem.code, ProblemCode::InvalidRecipient);
    type_in(format!("Jan <{CUSTOMER}>"), format!("Hello\r\nBcc: {evil}")).await;
    let item = send(&anna, &anna.draft(&draft.id).expect("draft")).await;
    assert_eq!(item.recipients, [CUSTOMER]);
    wait_outbox(&anna, &item.id, "sent", fully_sent).await;
    wait_count(&world, "customer", "INBOX", &draft.message_id, 1).await;
    tokio::time::sleep(QUIET).await;
    let sink = world
        .dovecot
        .message_count(baton::dev::postfix::SINK_MAILBOX, "INBOX")
        .expect("count");
    assert_eq!(
        sink, 0,
        "no line of the body or subject became an SMTP command"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_are_kept_in_the_drafts_folder_and_templates_are_shared() {
    let world = send_world(&["anna", "bram"]).await;
    question(&world, "q5@customer.example", "Templates");
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let anna = sending_engine(a.path(), &world, "anna").await;
    let bram = sending_engine(b.path(), &world, "bram").await;
    let id = by_subject(&anna, "Templates");

    let draft = reply(&anna, id, "Work in progress").await;
    wait_count(&world, "anna", "Drafts", &draft.message_id, 1).await;

    let saved = anna
        .save_template(Template {
            id: String::new(),
            kind: TemplateKind::CannedReply,
            name: "Shipping time".into(),
            body: "Dear {customer_first},\n\nYour order ships within two days.\n\n{me}".into(),
        })
        .await
        .expect("template saved");
    anna.save_template(Template {
        id: String::new(),
        kind: TemplateKind::MailboxSignature,
        name: "Signature".into(),
        body: "Brightdesk Support — +31 20 123 4567".into(),
    })
    .await
    .expect("signature saved");
    let listed = bram.templates().await.expect("bram sees them");
    assert_eq!(listed.len(), 2, "{listed:?}");
    let filled = anna
        .fill_template(&draft.id, &saved.id)
        .await
        .expect("filled");
    assert_eq!(
        filled,
        "Dear Jan,\n\nYour order ships within two days.\n\nanna"
    );
    // An edit replaces the old version; a delete removes it for everyone.
    anna.save_template(Template {
        body: "v2".into(),
        ..saved.clone()
    })
    .await
    .expect("edited");
    let listed = bram.templates().await.expect("list");
    assert_eq!(listed.iter().filter(|t| t.id == saved.id).count(), 1);
    assert!(listed.iter().any(|t| t.body == "v2"));
    // New drafts carry the mailbox signature.
    let other = bram
        .start_draft(DraftKind::Reply, Some(id), None, "nl")
        .await
        .expect("draft");
    assert!(other.body.contains("Brightdesk Support — +31 20 123 4567"));
    assert!(other.body.contains("schreef Jan Klant"), "{}", other.body);
    bram.delete_template(&saved.id).await.expect("deleted");
    assert_eq!(anna.templates().await.expect("list").len(), 1);

    // Sending removes the draft's copy from Drafts.
    let item = send(&anna, &anna.draft(&draft.id).expect("draft")).await;
    wait_outbox(&anna, &item.id, "sent", fully_sent).await;
    wait_count(&world, "anna", "Drafts", &draft.message_id, 0).await;
    // Discarding does too.
    bram.discard_draft(&other.id).await.expect("discard");
    wait_count(&world, "bram", "Drafts", &other.message_id, 0).await;
}
