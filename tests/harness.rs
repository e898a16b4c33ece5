//! The private Dovecot that every other integration test stands on.

use baton::dev::dovecot::{Dovecot, DovecotOptions, Login};

fn message(n: u32) -> Vec<u8> {
    format!(
        "From: Customer <c{n}@example.net>\r\nTo: support@brightdesk.example\r\nSubject: Question {n}\r\n\
         Date: Mon, 2 Nov 2026 10:00:00 +0100\r\nMessage-ID: <q{n}@example.net>\r\n\r\nHello {n}\r\n"
    )
    .into_bytes()
}

#[test]
fn members_share_one_mailbox_and_import_is_verified() {
    let server = Dovecot::start(DovecotOptions {
        dir: None,
        logins: vec![
            Login::new("anna", "anna-pw", "support"),
            Login::new("bram", "bram-pw", "support"),
            Login::new("outsider", "out-pw", "outsider"),
        ],
    })
    .expect("start dovecot");
    let batch = (0..5).map(|n| {
        let folder = if n == 4 { "Sent" } else { "INBOX" };
        (
            folder.to_owned(),
            1_790_000_000 + i64::from(n),
            "S".to_owned(),
            message(n),
        )
    });
    server.import("anna", batch).expect("import");
    assert_eq!(server.message_count("anna", "INBOX").expect("count"), 4);
    assert_eq!(server.message_count("bram", "INBOX").expect("count"), 4);
    assert_eq!(server.message_count("bram", "Sent").expect("count"), 1);
    assert_eq!(server.message_count("outsider", "INBOX").expect("count"), 0);
}
