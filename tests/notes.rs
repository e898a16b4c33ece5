//! Notes, mentions, history and notifications between members on a real Dovecot: notes
//! travel through the mailbox folder `Baton/Notes` (no server needed), a fresh Baton
//! rebuilds them all from it, a mention reaches a colleague who was offline, and a
//! conversation's history keeps a stable order.

mod common;

use std::sync::Arc;
use std::time::Duration;

use baton::Engine;
use baton::conversation::TeamAction;
use baton::engine::ActivityItem;
use baton::events::EngineEvent;
use baton::notes::watch::{NotificationKind, TeamChange};
use baton::problem::ProblemCode;
use baton::secrets::{MemorySecrets, SecretStore};
use common::*;

async fn member(dir: &std::path::Path, server: &baton::dev::dovecot::Dovecot, who: &str) -> Engine {
    let engine = engine(dir, server, who, server.imaps_port).await;
    wait_synced(&engine).await;
    engine
}

async fn wait_notes(
    engine: &Engine,
    id: baton::conversation::ConversationId,
    what: &str,
    done: impl Fn(&[baton::notes::Note]) -> bool,
) -> Vec<baton::notes::Note> {
    let start = std::time::Instant::now();
    loop {
        let notes = engine.notes(id).await;
        if done(&notes) {
            return notes;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting until {what}: {notes:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_travel_between_members_through_the_mailbox_and_only_authors_change_them() {
    let server = team_dovecot(&["anna", "bram", "chloe"]);
    server.import("anna", questions(2)).expect("import");
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let anna = member(a.path(), &server, "anna").await;
    let bram = member(b.path(), &server, "bram").await;
    let mut bram_events = bram.events();
    let id = by_subject(&anna, "Question number 0");

    let hostile = "@bram look: <img src=x onerror=alert(1)> <script>alert(2)</script> [x](javascript:alert(3))";
    let note = anna.add_note(id, hostile).await.expect("note added");
    assert_eq!(note.author, "anna");
    assert_eq!(note.mentions, ["bram"]);
    assert_eq!(
        note.text, hostile,
        "kept as plain text; the window renders it inert"
    );
    let seen = wait_notes(&bram, id, "bram sees anna's note", |n| n.len() == 1).await;
    assert_eq!(seen[0].text, hostile);
    wait_until(WAIT, "bram's list marks the notes", || {
        row(&bram, id).is_some_and(|r| r.has_notes)
    })
    .await;

    // Bram was mentioned: a notification and an unread mention.
    let start = std::time::Instant::now();
    loop {
        match tokio::time::timeout(Duration::from_millis(200), bram_events.next()).await {
            Ok(Some(EngineEvent::Notify { notification }))
                if notification.kind == NotificationKind::Mentioned =>
            {
                assert_eq!(notification.conversation, id);
                assert_eq!(notification.who, "anna");
                break;
            }
            _ => assert!(start.elapsed() < WAIT, "no mention notification"),
        }
    }
    let mentions = bram.mentions().await;
    assert_eq!(mentions.len(), 1);
    assert!(mentions[0].unread);
    assert_eq!(mentions[0].conversation, Some(id));
    assert_eq!(mentions[0].subject, "Question number 0");
    bram.mentions_seen();
    assert!(!bram.mentions().await[0].unread);

    // Only the author edits or deletes; the history stays.
    let refused = bram
        .edit_note(&note.id, "mine now")
        .await
        .expect_err("not his");
    assert_eq!(refused.code, ProblemCode::NotHolder);
    assert!(bram.delete_note(&note.id).await.is_err());
    let edited = anna
        .edit_note(&note.id, "@bram fixed, thanks")
        .await
        .expect("edit");
    assert_eq!(edited.history.len(), 1);
    assert_eq!(edited.history[0].text, hostile);
    wait_notes(&bram, id, "bram sees the edit", |n| {
        n.first().is_some_and(|n| n.text == "@bram fixed, thanks")
    })
    .await;
    let deleted = anna.delete_note(&note.id).await.expect("delete");
    assert!(deleted.deleted && deleted.text.is_empty());
    assert_eq!(deleted.history.len(), 2);
    wait_notes(&bram, id, "bram sees the delete", |n| {
        n.first().is_some_and(|n| n.deleted)
    })
    .await;
    assert!(
        anna.add_note(id, "   ").await.is_err(),
        "an empty note is refused"
    );

    // A Baton with nothing stored rebuilds every note from the folder.
    let c = tempfile::tempdir().expect("c");
    let chloe = member(c.path(), &server, "chloe").await;
    let rebuilt = wait_notes(&chloe, id, "chloe rebuilds the notes", |n| n.len() == 1).await;
    assert!(rebuilt[0].deleted);
    assert_eq!(rebuilt[0].history.len(), 2);
    assert!(chloe.mentions().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_reaches_a_member_who_was_offline() {
    let server = dovecot();
    server.import("anna", questions(2)).expect("import");
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    let anna = member(a.path(), &server, "anna").await;
    let bram = engine_with(
        b.path(),
        &server,
        "bram",
        server.imaps_port,
        secrets.clone(),
    )
    .await;
    wait_synced(&bram).await;
    let id = by_subject(&anna, "Question number 1");
    // Bram has read the notes once (there is one, not for him), then goes offline.
    anna.add_note(id, "first look: probably a refund")
        .await
        .expect("note");
    wait_notes(&bram, id, "bram has the first note", |n| n.len() == 1).await;
    bram.shutdown().await;
    drop(bram);

    anna.add_note(id, "@bram can you call the customer?")
        .await
        .expect("note");
    let bram = reopen(b.path(), "bram", secrets).await;
    let mut events = bram.events();
    let start = std::time::Instant::now();
    let mut notified = false;
    while !notified {
        if let Ok(Some(EngineEvent::Notify { notification })) =
            tokio::time::timeout(Duration::from_millis(200), events.next()).await
        {
            notified = notification.kind == NotificationKind::Mentioned
                && notification.text == "@bram can you call the customer?";
        }
        assert!(
            start.elapsed() < WAIT,
            "the mention was not announced after reconnecting"
        );
    }
    let mentions = bram.mentions().await;
    assert_eq!(mentions.len(), 1);
    assert!(mentions[0].unread);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_interleaves_mail_notes_and_team_changes_in_a_stable_order() {
    let server = dovecot();
    server.import("anna", questions(1)).expect("import");
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let anna = member(a.path(), &server, "anna").await;
    let bram = member(b.path(), &server, "bram").await;
    let mut anna_events = anna.events();
    let id = by_subject(&anna, "Question number 0");

    anna.act(id, TeamAction::Claim).await.expect("claim");
    wait_until(WAIT, "bram sees the claim", || {
        owner_of(&bram, id).as_deref() == Some("anna")
    })
    .await;
    // The history is as Bram's computer saw it: let it record the claim first.
    let start = std::time::Instant::now();
    while !bram
        .activity(id)
        .await
        .iter()
        .any(|i| matches!(i, ActivityItem::Team { .. }))
    {
        assert!(start.elapsed() < WAIT, "bram never recorded the claim");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    anna.add_note(id, "asked the warehouse")
        .await
        .expect("note");
    anna.act(id, TeamAction::HandOver { to: "bram".into() })
        .await
        .expect("hand over");
    wait_until(WAIT, "bram holds it", || {
        owner_of(&bram, id).as_deref() == Some("bram")
    })
    .await;
    // Bram hands it back: Anna is told, since she did not take it herself.
    tokio::time::sleep(Duration::from_millis(300)).await;
    bram.act(id, TeamAction::HandOver { to: "anna".into() })
        .await
        .expect("hand back");
    let start = std::time::Instant::now();
    loop {
        if let Ok(Some(EngineEvent::Notify { notification })) =
            tokio::time::timeout(Duration::from_millis(200), anna_events.next()).await
            && notification.kind == NotificationKind::HandedToMe
        {
            assert_eq!(notification.who, "bram");
            break;
        }
        assert!(start.elapsed() < WAIT, "anna was not told of the hand-over");
    }

    let history = bram.activity(id).await;
    let kinds: Vec<String> = history
        .iter()
        .map(|item| match item {
            ActivityItem::Received { .. } => "received".to_owned(),
            ActivityItem::Replied { .. } => "replied".to_owned(),
            ActivityItem::Bounced { .. } => "bounced".to_owned(),
            ActivityItem::Note { .. } => "note".to_owned(),
            ActivityItem::Team { change, .. } => match change {
                TeamChange::Claimed { member } => format!("claimed by {member}"),
                TeamChange::Released { member } => format!("released by {member}"),
                TeamChange::HandedOver { from, to } => format!("{from} → {to}"),
                TeamChange::Status { status } => format!("status {status:?}"),
            },
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "received",
            "claimed by anna",
            "note",
            "anna → bram",
            "bram → anna"
        ],
        "{history:?}"
    );
    // Asking again gives the same order.
    assert_eq!(bram.activity(id).await, history);
}
