//! The engine against a real Dovecot: first sync, changes by other clients through IDLE,
//! UIDVALIDITY resets, dropped connections, broken messages, bodies and login errors.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use baton::connectivity::Connectivity;
use baton::conversation::View;
use baton::problem::ProblemCode;
use baton::secrets::{MemorySecrets, SecretStore};
use common::raw::RawImap;
use common::*;

const WAIT: Duration = Duration::from_secs(20);

fn inbox_total(engine: &baton::Engine) -> u32 {
    engine.list_conversations(View::All, 0, 1).total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_threads_conversations_and_the_cache_serves_a_restart() {
    let server = dovecot();
    let mut batch = questions(30);
    // A three-message conversation: the customer, our reply in Sent, the customer again.
    batch.push((
        "INBOX".into(),
        1_793_100_000,
        String::new(),
        mail(
            "t1@customer.example",
            "Jan <jan@customer.example>",
            "Bestelling 1234",
            &[],
            "Waar blijft mijn pakket?",
        ),
    ));
    batch.push((
        "Sent".into(),
        1_793_100_100,
        "S".into(),
        mail(
            "t2@brightdesk.example",
            SHARED,
            "Re: Bestelling 1234",
            &["t1@customer.example"],
            "Het is onderweg.",
        ),
    ));
    batch.push((
        "INBOX".into(),
        1_793_100_200,
        String::new(),
        mail(
            "t3@customer.example",
            "Jan <jan@customer.example>",
            "Re: Bestelling 1234",
            &["t1@customer.example", "t2@brightdesk.example"],
            "Dank je!",
        ),
    ));
    server.import("anna", batch).expect("import");

    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), &server, "anna", server.imaps_port).await;
    wait_synced(&engine).await;
    assert_eq!(inbox_total(&engine), 31);
    let page = engine.list_conversations(View::All, 0, 50);
    let thread = page
        .rows
        .iter()
        .find(|r| r.subject == "Bestelling 1234")
        .expect("the thread is listed");
    assert_eq!(thread.message_count, 3);
    assert_eq!(thread.customer.address, "jan@customer.example");
    assert!(thread.awaiting_reply, "the customer wrote last");
    // Newest first.
    assert_eq!(page.rows[0].id, thread.id);
    let sent = engine.list_conversations(View::Sent, 0, 10);
    assert_eq!(sent.total, 1);
    let detail = engine.conversation(thread.id).await.expect("conversation");
    assert_eq!(detail.messages.len(), 3);
    assert_eq!(
        detail.messages[1].role,
        baton::conversation::FolderRole::Sent
    );

    // Bodies come on demand.
    let body = engine
        .message_body(detail.messages[0].key.clone(), false)
        .await
        .expect("body");
    let text: String = body.content.text.iter().map(|b| b.text.as_str()).collect();
    assert!(text.contains("Waar blijft mijn pakket?"), "{text}");

    // Previews of recent mail arrive without being asked for.
    wait_until(WAIT, "previews are filled", || {
        engine.list_conversations(View::All, 0, 1).rows[0]
            .preview
            .contains("Dank je")
    })
    .await;
    engine.shutdown().await;

    // A restart lists from the cache at once, before (or without) the server.
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    let restarted = reopen(dir.path(), "anna", secrets).await;
    assert_eq!(inbox_total(&restarted), 31);
    let again = restarted.list_conversations(View::All, 0, 50);
    let rows = |p: &baton::conversation::ConversationPage| {
        p.rows
            .iter()
            .map(|r| (r.id, r.subject.clone(), r.message_count))
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(&again), rows(&page));
    // Without a password in this fresh store it goes offline, plainly, and keeps the list.
    wait_until(WAIT, "the missing password is reported", || {
        matches!(restarted.connectivity(), Connectivity::Offline { ref problem } if problem.code == ProblemCode::PasswordMissing)
    })
    .await;
    assert_eq!(inbox_total(&restarted), 31);
    restarted.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_by_another_client_arrive_live() {
    let server = dovecot();
    server.import("anna", questions(5)).expect("import");
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), &server, "anna", server.imaps_port).await;
    wait_synced(&engine).await;
    assert_eq!(inbox_total(&engine), 5);

    // Bram, on a plain IMAP client, sees a new mail arrive, answers one, deletes another.
    let mut bram = RawImap::login(
        server.imaps_port,
        &server.pki.ca_file,
        "bram",
        "bram-secret",
    )
    .await;
    bram.append(
        "INBOX",
        "",
        &mail(
            "new@customer.example",
            "New <new@customer.example>",
            "Brand new",
            &[],
            "Hi",
        ),
    )
    .await;
    wait_until(WAIT, "the new mail is listed", || inbox_total(&engine) == 6).await;
    assert_eq!(
        engine.list_conversations(View::All, 0, 1).rows[0].subject,
        "Brand new"
    );

    bram.ok("SELECT INBOX").await;
    bram.ok("UID STORE 1 +FLAGS (\\Answered)").await;
    wait_until(WAIT, "the answered flag shows", || {
        let page = engine.list_conversations(View::All, 0, 10);
        page.rows
            .iter()
            .any(|r| r.subject == "Question number 0" && !r.awaiting_reply)
    })
    .await;

    bram.ok("UID STORE 2 +FLAGS (\\Deleted)").await;
    bram.ok("EXPUNGE").await;
    wait_until(WAIT, "the expunged mail disappears", || {
        inbox_total(&engine) == 5
    })
    .await;
    let page = engine.list_conversations(View::All, 0, 10);
    assert!(page.rows.iter().all(|r| r.subject != "Question number 1"));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uidvalidity_change_replaces_the_cache() {
    let server = dovecot();
    server.import("anna", questions(8)).expect("import");
    let dir = tempfile::tempdir().expect("tempdir");
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    let engine = engine(dir.path(), &server, "anna", server.imaps_port).await;
    wait_synced(&engine).await;
    let before = engine.list_conversations(View::All, 0, 1).rows[0].clone();
    let old_key = engine
        .conversation(before.id)
        .await
        .expect("conversation")
        .messages[0]
        .key
        .clone();
    engine.shutdown().await;

    server
        .doveadm(&[
            "mailbox",
            "update",
            "-u",
            "anna",
            "--uid-validity",
            "4242",
            "INBOX",
        ])
        .expect("change UIDVALIDITY");
    secrets
        .set(
            &account(&server, "anna", server.imaps_port).credential_key(),
            &password("anna"),
        )
        .expect("secret");
    let engine = reopen(dir.path(), "anna", secrets).await;
    let started = std::time::Instant::now();
    loop {
        let page = engine.list_conversations(View::All, 0, 1);
        let mut refreshed = false;
        if let Some(row) = page.rows.first()
            && let Ok(detail) = engine.conversation(row.id).await
        {
            refreshed = detail.messages[0].key.uid_validity == 4242;
        }
        if refreshed {
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "the inbox is fetched again under the new UIDVALIDITY"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(inbox_total(&engine), 8);
    assert_ne!(old_key.uid_validity, 4242);
    // The old key no longer names a message.
    let err = engine
        .message_body(old_key, false)
        .await
        .expect_err("stale key");
    assert_eq!(err.code, ProblemCode::MessageGone);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_mid_sync_resumes_without_loss_or_duplicates() {
    let server = dovecot();
    server.import("anna", questions(12_000)).expect("import");
    let proxy = proxy::Proxy::start(server.imaps_port).await;
    // The first connection to receive ~1.5 MB dies there: the sync, mid-fetch.
    proxy
        .faults
        .cut_after_bytes
        .store(1_500_000, Ordering::SeqCst);
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), &server, "anna", proxy.port).await;
    wait_until(Duration::from_secs(120), "all 12,000 are listed", || {
        matches!(
            engine.connectivity(),
            Connectivity::Online { syncing: false }
        ) && inbox_total(&engine) == 12_000
    })
    .await;
    assert!(
        proxy.faults.connections.load(Ordering::SeqCst) >= 3,
        "the sync reconnected"
    );
    let page = engine.list_conversations(View::All, 0, 500);
    let mut subjects: Vec<&str> = page.rows.iter().map(|r| r.subject.as_str()).collect();
    subjects.dedup();
    assert_eq!(subjects.len(), 500);
    assert_eq!(page.rows[0].subject, "Question number 11999");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_messages_are_listed_with_what_can_be_read() {
    let server = dovecot();
    let broken = [
        // Multipart without its closing boundary and with a bogus charset.
        b"From: Broken <broken@customer.example>\r\nTo: support@brightdesk.example\r\nSubject: Kapot\r\n\
Message-ID: <broken1@customer.example>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\nHalf a message\r\n"
            .to_vec(),
        // Invalid UTF-8 in headers and body, no Message-ID.
        b"From: \xff\xfe <odd@customer.example>\r\nTo: support@brightdesk.example\r\nSubject: caf\xe9 \xff\r\n\
Date: nonsense\r\n\r\nBody with \xc3\x28 invalid bytes\r\n"
            .to_vec(),
        // Headers only, no body at all.
        b"Subject: no body\r\nFrom: empty@customer.example\r\n".to_vec(),
    ];
    let mut batch = questions(2);
    for (i, raw) in broken.iter().enumerate() {
        batch.push((
            "INBOX".into(),
            1_793_200_000 + i as i64,
            String::new(),
            raw.clone(),
        ));
    }
    server.import("anna", batch).expect("import");
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), &server, "anna", server.imaps_port).await;
    wait_synced(&engine).await;
    assert_eq!(inbox_total(&engine), 5);
    let page = engine.list_conversations(View::All, 0, 10);
    for row in &page.rows {
        let detail = engine.conversation(row.id).await.expect("conversation");
        for message in detail.messages {
            // Every body opens: at worst with a problem noted, never an error for the list.
            engine
                .message_body(message.key.clone(), false)
                .await
                .expect("body opens");
        }
    }
    assert!(page.rows.iter().any(|r| r.subject.starts_with("caf")));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_errors_are_plain() {
    let server = dovecot();
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = baton::profile::Profile::open(dir.path(), "anna").expect("profile");
    let engine = baton::Engine::open(profile, Arc::new(MemorySecrets::default()))
        .await
        .expect("open");
    assert_eq!(engine.connectivity(), Connectivity::NotConfigured);

    let wrong = engine
        .configure(account(&server, "anna", server.imaps_port), "wrong".into())
        .await;
    assert_eq!(wrong.expect_err("refused").code, ProblemCode::AuthFailed);

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let unreachable = engine
        .configure(account(&server, "anna", closed), password("anna"))
        .await;
    let problem = unreachable.expect_err("unreachable");
    assert_eq!(problem.code, ProblemCode::Unreachable);
    assert!(
        problem.message.contains(&format!("127.0.0.1:{closed}")),
        "{}",
        problem.message
    );

    // The plain port speaks IMAP without TLS: implicit TLS against it must fail, not
    // fall back to plaintext.
    let plaintext = engine
        .configure(account(&server, "anna", server.imap_port), password("anna"))
        .await;
    assert_eq!(plaintext.expect_err("no TLS").code, ProblemCode::TlsFailed);

    // Trusting only the system roots, the private CA's certificate is refused.
    let mut untrusted = account(&server, "anna", server.imaps_port);
    untrusted.extra_ca_file = None;
    let refused = engine.configure(untrusted, password("anna")).await;
    assert_eq!(refused.expect_err("untrusted").code, ProblemCode::TlsFailed);

    // STARTTLS on the plain port works when configured.
    let mut starttls = account(&server, "anna", server.imap_port);
    starttls.imap.security = baton::account::Security::StartTls;
    engine
        .configure(starttls, password("anna"))
        .await
        .expect("STARTTLS login");
    wait_synced(&engine).await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_cannot_be_read_costs_one_message_not_the_sync() {
    let server = dovecot();
    let mut batch = questions(5);
    batch.insert(
        2,
        (
            "INBOX".into(),
            1_793_000_010,
            String::new(),
            mail(
                "poison@customer.example",
                "Poison <p@customer.example>",
                "POISON",
                &[],
                "x",
            ),
        ),
    );
    server.import("anna", batch).expect("import");
    let proxy =
        garble::GarblingProxy::start(server.imap_port, &server.pki, b"Subject: POISON").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), &server, "anna", proxy.port).await;
    wait_until(
        Duration::from_secs(60),
        "the other messages are synced despite the bad answer",
        || {
            matches!(
                engine.connectivity(),
                Connectivity::Online { syncing: false }
            ) && inbox_total(&engine) == 6
        },
    )
    .await;
    assert!(
        proxy.garbled.load(Ordering::SeqCst) >= 1,
        "the proxy did garble an answer"
    );
    let page = engine.list_conversations(View::All, 0, 10);
    let mut readable = 0;
    let mut unreadable = 0;
    for row in &page.rows {
        let detail = engine.conversation(row.id).await.expect("conversation");
        match &detail.messages[0].problem {
            Some(problem) => {
                assert_eq!(problem.code, ProblemCode::MessageUnreadable);
                unreadable += 1;
            }
            None => {
                assert!(
                    detail.subject.starts_with("Question number"),
                    "{}",
                    detail.subject
                );
                readable += 1;
            }
        }
    }
    assert_eq!((readable, unreadable), (5, 1));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_message_is_listed_opened_and_its_attachment_saved() {
    let server = dovecot();
    // 50 MB: a short text and a large attachment, base64 in 76-character lines.
    let payload: Vec<u8> = (0..37_500_000u32).map(|i| (i % 251) as u8).collect();
    let mut raw = format!(
        "From: Big <big@customer.example>\r\nTo: {SHARED}\r\nSubject: Scans of the damage\r\n\
         Date: Mon, 2 Nov 2026 10:00:00 +0100\r\nMessage-ID: <big@customer.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         The scans are attached.\r\n--b\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"scans.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    let encoded = base64_lines(&payload);
    raw.extend_from_slice(&encoded);
    raw.extend_from_slice(b"\r\n--b--\r\n");
    assert!(raw.len() > 50_000_000);
    let mut batch = questions(2);
    batch.push(("INBOX".into(), 1_793_300_000, String::new(), raw));
    server.import("anna", batch).expect("import");

    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), &server, "anna", server.imaps_port).await;
    wait_synced(&engine).await;
    let row = engine.list_conversations(View::All, 0, 1).rows[0].clone();
    assert_eq!(row.subject, "Scans of the damage");
    assert!(row.has_attachments);
    let detail = engine.conversation(row.id).await.expect("conversation");
    let key = detail.messages[0].key.clone();
    assert!(detail.messages[0].size > 50_000_000);

    let body = engine
        .message_body(key.clone(), false)
        .await
        .expect("the body opens");
    let text: String = body.content.text.iter().map(|b| b.text.as_str()).collect();
    assert!(text.contains("The scans are attached."), "{text}");
    let attachment = body
        .content
        .attachments
        .iter()
        .find(|a| a.filename == "scans.bin")
        .expect("listed");
    let target = dir.path().join("saved.bin");
    engine
        .save_attachment(key, attachment.index, &target)
        .await
        .expect("saved");
    assert_eq!(std::fs::read(&target).expect("read back"), payload);
    engine.shutdown().await;
}

fn base64_lines(data: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(data.len() * 4 / 3 + data.len() / 38 + 4);
    for (i, chunk) in data.chunks(3).enumerate() {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63]);
        out.push(ALPHABET[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63]
        } else {
            b'='
        });
        if (i + 1) % 19 == 0 {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// A cache whose saved position ran ahead of its messages (killed between the two
/// writes, as Baton before one atomic save could be) must not hide mail for ever: the
/// first sync after opening compares the cache with the server and fetches what it lacks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_missing_messages_below_its_position_fetches_them_again() {
    let server = dovecot();
    server.import("anna", questions(40)).expect("import");
    let dir = tempfile::tempdir().expect("tempdir");
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    let engine = engine_with(
        dir.path(),
        &server,
        "anna",
        server.imaps_port,
        secrets.clone(),
    )
    .await;
    wait_synced(&engine).await;
    assert_eq!(inbox_total(&engine), 40);
    engine.shutdown().await;

    // Take ten messages out of the saved cache and leave the folder's position as it
    // was: what a crash between the position and the messages reaching the disk left.
    let cache = headers_cache(
        dir.path(),
        "anna",
        &account(&server, "anna", server.imaps_port),
    );
    {
        let mut store = baton::store::Store::open_loaded(&cache, SHARED, "anna").expect("cache");
        let inbox = store.slot_of("INBOX").expect("inbox cached");
        let before = store.state(inbox);
        let uids = store.uids(inbox);
        let lost: Vec<u32> = uids.iter().copied().skip(10).take(10).collect();
        store.remove(inbox, &lost);
        store.set_state(inbox, before.clone());
        store.save().expect("save");
        store.flusher().flush().await.expect("flush");
        assert_eq!(store.message_count(inbox), 30);
        assert_eq!(store.state(inbox), before, "the position still claims them");
    }

    let restarted = reopen(dir.path(), "anna", secrets).await;
    wait_until(WAIT, "the ten missing messages are back", || {
        inbox_total(&restarted) == 40
    })
    .await;
    restarted.shutdown().await;
}

/// Damaged cache files do not stop Baton: the cache is only a copy, so it is moved aside
/// and fetched again, and a later start uses the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_cache_is_moved_aside_and_fetched_again() {
    let server = dovecot();
    server.import("anna", questions(40)).expect("import");
    let dir = tempfile::tempdir().expect("tempdir");
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    let engine = engine_with(
        dir.path(),
        &server,
        "anna",
        server.imaps_port,
        secrets.clone(),
    )
    .await;
    wait_synced(&engine).await;
    engine.shutdown().await;

    let cache = headers_cache(
        dir.path(),
        "anna",
        &account(&server, "anna", server.imaps_port),
    );
    // Garbage over every file the cache keeps, as a disk fault or a killed copy leaves.
    let mut damaged = 0;
    for entry in std::fs::read_dir(&cache).expect("cache files").flatten() {
        if entry.path().is_file() {
            let len = std::fs::metadata(entry.path()).expect("len").len().max(64) as usize;
            std::fs::write(
                entry.path(),
                (0..len).map(|i| (i * 7 + 13) as u8).collect::<Vec<_>>(),
            )
            .expect("damage");
            damaged += 1;
        }
    }
    assert!(damaged > 0, "no cache files in {cache:?}");

    let restarted = reopen(dir.path(), "anna", secrets.clone()).await;
    wait_until(WAIT, "the mailbox is fetched again", || {
        inbox_total(&restarted) == 40
    })
    .await;
    assert!(
        cache.with_extension("damaged").is_dir(),
        "the damaged copy is kept aside"
    );
    restarted.shutdown().await;

    // The new cache serves the next start.
    let again = reopen(dir.path(), "anna", secrets).await;
    assert_eq!(inbox_total(&again), 40);
    again.shutdown().await;
}

/// Damaged account settings do not stop Baton: it opens at set-up, with what could be
/// read filled in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_account_file_opens_at_set_up_with_what_could_be_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = baton::profile::Profile::open(dir.path(), "anna").expect("profile");
    std::fs::write(
        profile.dir().join("account.json"),
        br#"{ "member_id": "anna", "display_name": "Anna", "shared_address": "support@brightdesk.example", "imap": { "host": "127.0.0.1", "po"#,
    )
    .expect("damage");
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    let engine = reopen(dir.path(), "anna", secrets).await;
    let setup = engine.setup_state().expect("setup state");
    assert_eq!(setup.account, None);
    let recovered = setup.recovered.expect("what could be read");
    assert_eq!(recovered.member_id.as_deref(), Some("anna"));
    assert_eq!(recovered.imap_host.as_deref(), Some("127.0.0.1"));
    assert_eq!(recovered.imap_port, None);
    assert_eq!(engine.connectivity(), Connectivity::NotConfigured);
    engine.shutdown().await;
}
