//! The sending side's test bench, proved against real servers: a private Postfix that
//! authenticates against the private Dovecot and delivers into its mailboxes, and the
//! fault-injecting proxy in front of it. Mail is sent with lettre (what the engine uses)
//! and looked for over IMAP, as a colleague would see it.

mod common;

use std::time::{Duration, Instant};

use baton::dev::dovecot::{Dovecot, DovecotOptions, Login};
use baton::dev::postfix::{Postfix, PostfixOptions, SINK_MAILBOX};
use common::password;
use common::raw::RawImap;
use common::smtp::{Fault, SmtpProxy};
use lettre::message::Message;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

const DOMAIN: &str = "brightdesk.example";
const CUSTOMER: &str = "customer@brightdesk.example";

/// How long a message may take from Postfix's 250 to the mailbox (10–50 ms measured).
const DELIVERY: Duration = Duration::from_secs(10);
/// How long to watch for a message that must not arrive.
const QUIET: Duration = Duration::from_millis(1500);

struct Servers {
    dovecot: Dovecot,
    postfix: Postfix,
}

fn servers() -> Servers {
    let login = |name: &str, mailbox: &str| Login::new(name, &password(name), mailbox);
    let dovecot = Dovecot::start(DovecotOptions {
        dir: None,
        logins: vec![
            login("anna", "support"),
            login("bram", "support"),
            login("customer", "customer"),
            login(SINK_MAILBOX, SINK_MAILBOX),
        ],
    })
    .expect("a private Dovecot must start for this test");
    let started = Instant::now();
    let postfix = Postfix::start(PostfixOptions {
        dir: None,
        lmtp_port: dovecot.lmtp_port,
        sasl_port: Some(dovecot.auth_port),
        domain: DOMAIN.into(),
        pki: dovecot.pki.clone(),
    })
    .expect("a private Postfix must start for this test");
    eprintln!("postfix started in {:?}", started.elapsed());
    Servers { dovecot, postfix }
}

enum Security {
    StartTls,
    Implicit,
}

fn transport(
    servers: &Servers,
    port: u16,
    security: Security,
    user: &str,
    secret: &str,
) -> AsyncSmtpTransport<Tokio1Executor> {
    let ca = std::fs::read(&servers.dovecot.pki.ca_file).expect("test CA");
    let params = TlsParameters::builder("localhost".into())
        .add_root_certificate(Certificate::from_pem(&ca).expect("CA certificate"))
        .build()
        .expect("TLS parameters");
    let tls = match security {
        Security::StartTls => Tls::Required(params),
        Security::Implicit => Tls::Wrapper(params),
    };
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .tls(tls)
        .credentials(Credentials::new(user.into(), secret.into()))
        .timeout(Some(Duration::from_secs(10)))
        .build()
}

fn anna_via(
    servers: &Servers,
    port: u16,
    security: Security,
) -> AsyncSmtpTransport<Tokio1Executor> {
    transport(servers, port, security, "anna", &password("anna"))
}

/// A reply from support@ to `to`, with a Message-ID to look for.
fn message(id: &str, to: &str) -> Message {
    Message::builder()
        .from(
            "Anna at Brightdesk <support@brightdesk.example>"
                .parse()
                .expect("from"),
        )
        .to(to.parse().expect("to"))
        .subject(format!("Re: your question ({id})"))
        .message_id(Some(format!("<{id}>")))
        .body("Hello, here is the answer.\r\n.\r\n..a line that starts with a dot\r\n".to_owned())
        .expect("message")
}

fn unique(name: &str) -> String {
    format!("{name}.{}@baton.test", fastrand::u64(..))
}

/// How many messages with `message_id` `login`'s INBOX holds, over IMAP.
async fn count(servers: &Servers, login: &str, message_id: &str) -> usize {
    let dovecot = &servers.dovecot;
    let mut imap = RawImap::login(
        dovecot.imaps_port,
        &dovecot.pki.ca_file,
        login,
        &password(login),
    )
    .await;
    imap.ok("EXAMINE INBOX").await;
    let lines = imap
        .ok(&format!("SEARCH HEADER Message-ID \"{message_id}\""))
        .await;
    let _ = imap.run("LOGOUT").await;
    lines
        .iter()
        .find(|line| line.starts_with("* SEARCH"))
        .map(|line| line.split_whitespace().count() - 2)
        .unwrap_or(0)
}

/// Waits until the message is in `login`'s INBOX, then checks it is there exactly once
/// after Postfix's queue has emptied (nothing more on its way).
async fn assert_delivered_once(servers: &Servers, login: &str, message_id: &str) {
    let start = Instant::now();
    loop {
        let seen = count(servers, login, message_id).await;
        if seen > 0 && servers.postfix.queued().expect("queue") == 0 {
            break;
        }
        assert!(
            start.elapsed() < DELIVERY,
            "{message_id} did not reach {login}'s INBOX within {DELIVERY:?} ({seen} seen)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(servers, login, message_id).await, 1, "{message_id}");
}

async fn assert_not_delivered(servers: &Servers, login: &str, message_id: &str) {
    tokio::time::sleep(QUIET).await;
    assert_eq!(count(servers, login, message_id).await, 0, "{message_id}");
    assert_eq!(
        servers.postfix.queued().expect("queue"),
        0,
        "nothing left queued"
    );
}

#[tokio::test]
async fn starttls_submission_delivers_into_the_customer_mailbox_once() {
    let servers = servers();
    let id = unique("starttls");
    let smtp = anna_via(&servers, servers.postfix.smtp_port, Security::StartTls);
    smtp.send(message(&id, CUSTOMER)).await.expect("sent");
    assert_delivered_once(&servers, "customer", &id).await;
    assert_eq!(count(&servers, "anna", &id).await, 0, "not into support@");
}

#[tokio::test]
async fn implicit_tls_submission_delivers_into_the_customer_mailbox_once() {
    let servers = servers();
    let id = unique("implicit");
    let smtp = anna_via(&servers, servers.postfix.smtps_port, Security::Implicit);
    smtp.send(message(&id, CUSTOMER)).await.expect("sent");
    assert_delivered_once(&servers, "customer", &id).await;
}

#[tokio::test]
async fn mail_to_the_shared_mailbox_is_seen_by_every_member() {
    let servers = servers();
    let id = unique("shared");
    let smtp = transport(
        &servers,
        servers.postfix.smtps_port,
        Security::Implicit,
        "customer",
        &password("customer"),
    );
    let mail = Message::builder()
        .from(CUSTOMER.parse().expect("from"))
        .to("support@brightdesk.example".parse().expect("to"))
        .subject("A question")
        .message_id(Some(format!("<{id}>")))
        .body("Hello?".to_owned())
        .expect("message");
    smtp.send(mail).await.expect("sent");
    assert_delivered_once(&servers, "anna", &id).await;
    assert_eq!(count(&servers, "bram", &id).await, 1);
}

#[tokio::test]
async fn mail_outside_the_domain_ends_in_the_sink() {
    let servers = servers();
    let id = unique("outside");
    let smtp = anna_via(&servers, servers.postfix.smtp_port, Security::StartTls);
    smtp.send(message(&id, "someone@elsewhere.test"))
        .await
        .expect("sent");
    assert_delivered_once(&servers, SINK_MAILBOX, &id).await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_permanently() {
    let servers = servers();
    let id = unique("wrong-password");
    for (port, security) in [
        (servers.postfix.smtp_port, Security::StartTls),
        (servers.postfix.smtps_port, Security::Implicit),
    ] {
        let smtp = transport(&servers, port, security, "anna", "not-her-password");
        let err = smtp
            .send(message(&id, CUSTOMER))
            .await
            .expect_err("a wrong password must be refused");
        assert!(err.is_permanent(), "5xx expected: {err:?}");
    }
    assert_not_delivered(&servers, "customer", &id).await;
}

#[tokio::test]
async fn the_proxy_passes_a_message_through() {
    let servers = servers();
    let proxy = SmtpProxy::start(servers.postfix.smtp_port, &servers.dovecot.pki).await;
    let id = unique("through-proxy");
    let smtp = anna_via(&servers, proxy.port, Security::Implicit);
    smtp.send(message(&id, CUSTOMER)).await.expect("sent");
    assert_delivered_once(&servers, "customer", &id).await;
    assert_eq!(proxy.delivered(), 1);
    // The dot-stuffed body arrives as written.
    let mut imap = RawImap::login(
        servers.dovecot.imaps_port,
        &servers.dovecot.pki.ca_file,
        "customer",
        &password("customer"),
    )
    .await;
    imap.ok("EXAMINE INBOX").await;
    let body = imap.ok("FETCH 1 BODY.PEEK[TEXT]").await.concat();
    assert!(
        body.contains("\r\n.\r\n..a line that starts with a dot"),
        "{body}"
    );
}

#[tokio::test]
async fn a_temporary_rcpt_failure_is_transient_and_delivers_nothing() {
    let servers = servers();
    let proxy = SmtpProxy::start(servers.postfix.smtp_port, &servers.dovecot.pki).await;
    proxy.set_fault(Fault::TempFailRcpt);
    let id = unique("temp-rcpt");
    let err = anna_via(&servers, proxy.port, Security::Implicit)
        .send(message(&id, CUSTOMER))
        .await
        .expect_err("RCPT is refused");
    assert!(err.is_transient(), "4xx expected: {err:?}");
    assert_not_delivered(&servers, "customer", &id).await;
    assert_eq!(proxy.delivered(), 0);
}

#[tokio::test]
async fn a_permanent_data_failure_is_permanent_and_delivers_nothing() {
    let servers = servers();
    let proxy = SmtpProxy::start(servers.postfix.smtp_port, &servers.dovecot.pki).await;
    proxy.set_fault(Fault::PermFailData);
    let id = unique("perm-data");
    let err = anna_via(&servers, proxy.port, Security::Implicit)
        .send(message(&id, CUSTOMER))
        .await
        .expect_err("the message is refused");
    assert!(err.is_permanent(), "5xx expected: {err:?}");
    assert_not_delivered(&servers, "customer", &id).await;
    assert_eq!(proxy.delivered(), 0);
}

#[tokio::test]
async fn a_connection_lost_after_data_still_delivers_once() {
    let servers = servers();
    let proxy = SmtpProxy::start(servers.postfix.smtp_port, &servers.dovecot.pki).await;
    proxy.set_fault(Fault::DropAfterData);
    let id = unique("drop-after-data");
    let err = anna_via(&servers, proxy.port, Security::Implicit)
        .send(message(&id, CUSTOMER))
        .await
        .expect_err("the client never hears the 250");
    assert!(
        !err.is_permanent() && !err.is_transient(),
        "a connection error, not a reply: {err:?}"
    );
    assert_delivered_once(&servers, "customer", &id).await;
    assert_eq!(proxy.delivered(), 1);
}

#[tokio::test]
async fn a_refused_connection_delivers_nothing() {
    let servers = servers();
    let proxy = SmtpProxy::start(servers.postfix.smtp_port, &servers.dovecot.pki).await;
    proxy.set_fault(Fault::RefuseConnect);
    let id = unique("refused");
    let err = anna_via(&servers, proxy.port, Security::Implicit)
        .send(message(&id, CUSTOMER))
        .await
        .expect_err("no greeting");
    assert!(
        !err.is_permanent() && !err.is_transient(),
        "a connection error, not a reply: {err:?}"
    );
    assert!(proxy.connections() >= 1);
    assert_not_delivered(&servers, "customer", &id).await;
    assert_eq!(proxy.delivered(), 0);
}

#[tokio::test]
async fn a_one_shot_fault_fails_once_then_the_retry_succeeds() {
    let servers = servers();
    let proxy = SmtpProxy::start(servers.postfix.smtp_port, &servers.dovecot.pki).await;
    proxy.fault_once(Fault::TempFailRcpt);
    let id = unique("once");
    let err = anna_via(&servers, proxy.port, Security::Implicit)
        .send(message(&id, CUSTOMER))
        .await
        .expect_err("the first attempt fails");
    assert!(err.is_transient(), "{err:?}");
    anna_via(&servers, proxy.port, Security::Implicit)
        .send(message(&id, CUSTOMER))
        .await
        .expect("the retry goes through");
    assert_delivered_once(&servers, "customer", &id).await;
    assert_eq!(proxy.connections(), 2);
    assert_eq!(proxy.delivered(), 1);
}
