//! Notes through the team server: a note version goes to the server, which writes it into
//! the mailbox's notes folder as the member who sent it (never as whoever the client
//! names), logs it with the changes and tells every member at once. Without the server
//! notes still reach the mailbox; a server started on an empty store finds every note in
//! the folder; a hostile frame gets a clear error and the connection keeps serving.

mod common;
mod teamsync_common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use baton::Engine;
use baton::dev::dovecot::Dovecot;
use baton::notes::Note;
use baton::notes::message::{Action, NoteMessage};
use baton::problem::ProblemCode;
use baton::team::authority::{ImapAuthority, ServerMailbox};
use baton::teamsync::protocol::{ErrorCode, NoteAction, NoteEvent, ServerFrame};
use baton::teamsync::{
    Authority, ClientOptions, RunningServer, ServerConfig, TeamClient, TeamEvent, TeamServer, Trust,
};
use common::{
    WAIT, by_subject, engine, host_and_join, online, questions, server_mailbox, team_dovecot,
    wait_synced, wait_until,
};
use teamsync_common::{Raw, fast, next};
use tokio::sync::broadcast;

const NOTE: &str = "0123456789abcdef";

/// The tests with a Dovecot and engines take turns: side by side on two cores, an engine
/// restarting (hosting, joining) has been seen to outwait the two seconds its cache's
/// file lock is waited for.
static MAILBOX_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const ABOUT: &str = "q0@customer.example";

fn version(note: &str, author: &str, action: Action, at: i64, text: &str) -> NoteMessage {
    NoteMessage {
        id: note.to_owned(),
        about: ABOUT.to_owned(),
        author: author.to_owned(),
        action,
        at,
        text: text.to_owned(),
    }
}

/// The next note event, skipping everything else.
async fn note_event(events: &mut broadcast::Receiver<TeamEvent>) -> NoteEvent {
    match next(events, |e| matches!(e, TeamEvent::Note(_))).await {
        TeamEvent::Note(note) => note,
        _ => unreachable!(),
    }
}

async fn wait_notes(
    engine: &Engine,
    id: baton::conversation::ConversationId,
    what: &str,
    done: impl Fn(&[Note]) -> bool,
) -> Vec<Note> {
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
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn notes_travel_through_the_server_as_the_authenticated_member_and_resume() {
    let team = teamsync_common::team(&["anna", "bram"]).await;
    let (anna, _anna_events) = team.client("anna").await;
    let (bram, mut bram_events) = team.client("bram").await;

    // Anna claims to be bram: the server makes her the author all the same.
    let seq = anna
        .note(&version(NOTE, "bram", Action::Add, 1, "@bram have a look"))
        .await
        .expect("the note is accepted");
    let seen = note_event(&mut bram_events).await;
    assert_eq!(seen.seq, seq);
    assert_eq!(seen.author, "anna", "the author is who said hello");
    assert_eq!(
        (seen.note.as_str(), seen.action, seen.text.as_str()),
        (NOTE, NoteAction::Add, "@bram have a look")
    );

    // Only the author changes her note.
    let refused = bram
        .note(&version(NOTE, "anna", Action::Edit, 2, "mine now"))
        .await
        .expect_err("not his note");
    assert_eq!(refused.code, ErrorCode::NotHolder);
    assert_eq!(refused.holder.as_deref(), Some("anna"));
    let edited = anna
        .note(&version(NOTE, "anna", Action::Edit, 2, "edited"))
        .await
        .expect("her own note");
    assert_eq!(note_event(&mut bram_events).await.seq, edited);

    // Bram goes away; what he missed comes with his welcome when he resumes.
    let cursor = bram.cursor().expect("a cursor");
    bram.shutdown().await;
    let missed = anna
        .note(&version(NOTE, "anna", Action::Delete, 3, ""))
        .await
        .expect("delete");
    let mut options = team.options("bram");
    options.resume = Some(cursor);
    let (bram, mut bram_events) = TeamClient::start(options);
    let resumed = note_event(&mut bram_events).await;
    assert_eq!(
        (resumed.seq, resumed.action, resumed.author.as_str()),
        (missed, NoteAction::Delete, "anna")
    );
    bram.shutdown().await;
    anna.shutdown().await;
}

#[tokio::test]
async fn hostile_note_frames_get_clear_errors_and_the_connection_keeps_serving() {
    let team = teamsync_common::team(&["anna"]).await;
    let mut raw: Raw = team.raw_member("anna").await;
    let note = |id: &str, about: &str, note: &str, text: &str| {
        serde_json::json!({
            "type": "note", "id": id, "about": about, "note": note,
            "action": "add", "text": text, "at": 1
        })
        .to_string()
    };
    let cases = [
        (
            note("big", ABOUT, NOTE, &"x".repeat(20 * 1024)),
            ErrorCode::InvalidNote,
        ),
        (
            note("id", ABOUT, "../../etc/passwd", "hi"),
            ErrorCode::InvalidNote,
        ),
        (
            note("hex", ABOUT, "0123456789abcdeg", "hi"),
            ErrorCode::InvalidNote,
        ),
        (
            note("brackets", "<q0@customer.example>", NOTE, "hi"),
            ErrorCode::InvalidNote,
        ),
        (
            note("header", "q0@x\r\nBcc: y@z", NOTE, "hi"),
            ErrorCode::InvalidNote,
        ),
        (
            note("forged", ABOUT, NOTE, "hi").replace("\"at\":1", "\"at\":1,\"author\":\"bram\""),
            ErrorCode::BadFrame,
        ),
        (
            note("verb", ABOUT, NOTE, "hi").replace("\"add\"", "\"steal\""),
            ErrorCode::BadFrame,
        ),
        (
            note("elsewhere", ABOUT, NOTE, "hi")
                .replace("\"at\":1", "\"at\":1,\"mailbox\":\"sales\""),
            ErrorCode::WrongMailbox,
        ),
    ];
    for (frame, code) in cases {
        raw.send(&frame).await;
        let error = raw
            .error()
            .await
            .expect("an error, not a closed connection");
        assert_eq!(error.code, code, "{frame:.120}: {}", error.message);
        assert!(!error.message.is_empty());
    }
    raw.send(&note("fine", ABOUT, NOTE, "a proper note")).await;
    loop {
        match raw.recv().await.expect("still connected") {
            ServerFrame::Ok { id, .. } => {
                assert_eq!(id, "fine");
                break;
            }
            ServerFrame::Error(error) => panic!("refused: {error:?}"),
            _ => {}
        }
    }
}

/// A team server whose authority is its own connection to the mailbox, logged in as
/// `server`.
async fn imap_server(
    dovecot: &Dovecot,
    dir: &std::path::Path,
) -> (RunningServer, Arc<ImapAuthority>, Arc<ServerMailbox>) {
    let mailbox = server_mailbox(&dir.join("imap"), dovecot, "server").await;
    let authority = ImapAuthority::new(mailbox.clone());
    let config = ServerConfig::loopback(dir.join("store"), &[teamsync_common::MAILBOX]);
    let dyn_authority: Arc<dyn Authority> = authority.clone();
    let server = TeamServer::start_with(
        config,
        BTreeMap::from([(teamsync_common::MAILBOX.to_owned(), dyn_authority)]),
    )
    .await
    .expect("the team server starts");
    (server, authority, mailbox)
}

async fn client_of(
    server: &RunningServer,
    name: &str,
) -> (TeamClient, broadcast::Receiver<TeamEvent>) {
    let mailbox = teamsync_common::MAILBOX;
    let enrollment = server.add_member(mailbox, name).await.expect("member");
    let invite = enrollment.invite.expect("an invite");
    let secret = TeamClient::redeem(&server.url(), &Trust::System, mailbox, name, &invite)
        .await
        .expect("redeemed");
    teamsync_common::connect(fast(ClientOptions::new(
        &server.url(),
        Trust::System,
        mailbox,
        name,
        &secret,
    )))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_imap_authority_writes_notes_as_the_member_and_an_empty_store_rebuilds_them() {
    let _turn = MAILBOX_TESTS.lock().await;
    let dovecot = team_dovecot(&["anna", "bram", "server"]);
    dovecot.import("anna", questions(1)).expect("import");
    let dir = tempfile::tempdir().expect("dir");
    let (server, _, server_engine) = imap_server(&dovecot, &dir.path().join("first")).await;
    let (anna, _) = client_of(&server, "anna").await;
    let (bram, mut bram_events) = client_of(&server, "bram").await;
    // Anna's own Baton without the server: it sees only what is in the mailbox.
    let mailbox_view = engine(
        &dir.path().join("anna"),
        &dovecot,
        "anna",
        dovecot.imaps_port,
    )
    .await;
    wait_synced(&mailbox_view).await;
    let q0 = by_subject(&mailbox_view, "Question number 0");

    let seq = anna
        .note(&version(
            NOTE,
            "bram",
            Action::Add,
            10,
            "@bram refund approved",
        ))
        .await
        .expect("written to the mailbox");
    let seen = note_event(&mut bram_events).await;
    assert_eq!((seen.seq, seen.author.as_str()), (seq, "anna"));
    let notes = wait_notes(&mailbox_view, q0, "the note is in the folder", |n| {
        n.len() == 1
    })
    .await;
    assert_eq!(
        notes[0].author, "anna",
        "written as the member, not as claimed"
    );
    assert_eq!(notes[0].text, "@bram refund approved");

    let unknown = bram
        .note(&version("fedcba9876543210", "bram", Action::Edit, 11, "x"))
        .await
        .expect_err("no such note");
    assert_eq!(unknown.code, ErrorCode::InvalidNote);
    let unknown_conversation = bram
        .note(&NoteMessage {
            about: "nobody@nowhere.example".into(),
            ..version("fedcba9876543211", "bram", Action::Add, 11, "x")
        })
        .await
        .expect_err("no such conversation");
    assert_eq!(unknown_conversation.code, ErrorCode::InvalidNote);
    anna.note(&version(
        NOTE,
        "anna",
        Action::Edit,
        12,
        "refund approved, sent",
    ))
    .await
    .expect("her edit");
    wait_notes(&mailbox_view, q0, "the edit is in the folder", |n| {
        n.first().is_some_and(|n| n.text == "refund approved, sent")
    })
    .await;
    anna.shutdown().await;
    bram.shutdown().await;
    server.shutdown().await;
    server_engine.stop().await;

    // A new server on an empty store and a new cache: the folder gives it every note,
    // and who wrote each, so a colleague still cannot change anna's.
    let (server, authority, server_engine) =
        imap_server(&dovecot, &dir.path().join("second")).await;
    let rebuilt = authority.notes().await.expect("the folder is read");
    assert_eq!(rebuilt.len(), 1, "{rebuilt:?}");
    assert_eq!(
        (rebuilt[0].id.as_str(), rebuilt[0].author.as_str()),
        (NOTE, "anna")
    );
    assert_eq!(rebuilt[0].text, "refund approved, sent");
    assert_eq!(rebuilt[0].history.len(), 1);
    let (bram, _) = client_of(&server, "bram").await;
    let refused = bram
        .note(&version(NOTE, "anna", Action::Delete, 13, ""))
        .await
        .expect_err("anna's note");
    assert_eq!(refused.code, ErrorCode::NotHolder);
    bram.shutdown().await;
    server.shutdown().await;
    server_engine.stop().await;
    mailbox_view.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_between_members_go_through_a_hosted_server_and_without_it_through_the_mailbox() {
    let _turn = MAILBOX_TESTS.lock().await;
    let dovecot = team_dovecot(&["anna", "bram"]);
    dovecot.import("anna", questions(1)).expect("import");
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let anna = engine(dir_a.path(), &dovecot, "anna", dovecot.imaps_port).await;
    let bram = engine(dir_b.path(), &dovecot, "bram", dovecot.imaps_port).await;
    wait_synced(&anna).await;
    wait_synced(&bram).await;
    host_and_join(&anna, &bram, "bram").await;
    // A third member listens to the server itself: what it hears went through it.
    let watch = anna.invite_colleague("watcher").await.expect("invite");
    let secret = TeamClient::redeem(
        &watch.settings.url,
        &Trust::System,
        &watch.settings.mailbox,
        "watcher",
        &watch.code,
    )
    .await
    .expect("redeemed");
    let (watcher, mut heard) = teamsync_common::connect(fast(ClientOptions::new(
        &watch.settings.url,
        Trust::System,
        &watch.settings.mailbox,
        "watcher",
        &secret,
    )))
    .await;
    wait_synced(&anna).await;
    wait_synced(&bram).await;
    wait_until(WAIT, "both are online with the team server", || {
        online(&anna) && online(&bram)
    })
    .await;
    let q0 = by_subject(&anna, "Question number 0");

    let note = anna
        .add_note(q0, "@bram through the server")
        .await
        .expect("add");
    let event = note_event(&mut heard).await;
    assert_eq!(
        (event.note.as_str(), event.author.as_str(), event.action),
        (note.id.as_str(), "anna", NoteAction::Add)
    );
    let started = std::time::Instant::now();
    wait_notes(&bram, q0, "bram has anna's note", |n| {
        n.iter().any(|n| n.id == note.id)
    })
    .await;
    eprintln!("bram had the note after {:?}", started.elapsed());

    let refused = bram
        .edit_note(&note.id, "mine now")
        .await
        .expect_err("only the author");
    assert_eq!(refused.code, ProblemCode::NotHolder);
    anna.edit_note(&note.id, "edited through the server")
        .await
        .expect("edit");
    assert_eq!(note_event(&mut heard).await.action, NoteAction::Edit);
    wait_notes(&bram, q0, "bram sees the edit", |n| {
        n.iter().any(|n| n.text == "edited through the server")
    })
    .await;
    anna.delete_note(&note.id).await.expect("delete");
    assert_eq!(note_event(&mut heard).await.action, NoteAction::Delete);
    wait_notes(&bram, q0, "bram sees the delete", |n| {
        n.iter().any(|n| n.id == note.id && n.deleted)
    })
    .await;
    watcher.shutdown().await;

    // The server goes away: notes still reach everyone, through the mailbox.
    anna.stop_hosting().await.expect("stop hosting");
    wait_until(WAIT, "bram sees the team server offline", || !online(&bram)).await;
    let direct = bram
        .add_note(q0, "@anna without the server")
        .await
        .expect("notes work without the server");
    wait_notes(&anna, q0, "anna has bram's note from the mailbox", |n| {
        n.iter().any(|n| n.id == direct.id && n.author == "bram")
    })
    .await;
    anna.shutdown().await;
    bram.shutdown().await;
}
