//! The coordination contract on a real Dovecot: conditional stores, and claims racing.

mod common;

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
