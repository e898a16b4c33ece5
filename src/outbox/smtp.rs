//! One SMTP attempt, step by step, so the outbox knows where it stood when something
//! broke: before the message was handed over (safe to try again) or after (it may have
//! left). TLS is always on: implicit TLS, or STARTTLS that must succeed.

use std::future::Future;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;

use super::policy::{Step, Verdict, judge, timed_out};
use super::{SendFailure, SendFailureKind};
use crate::account::{Security, ServerEndpoint};
use crate::problem::Result;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// RFC 5321 allows the server 10 minutes after the final dot; big messages over slow
/// links need some of it.
const CONTENT_TIMEOUT: Duration = Duration::from_secs(300);

/// Where and as whom to send.
#[derive(Clone)]
pub struct SmtpTarget {
    pub endpoint: ServerEndpoint,
    pub username: String,
    pub password: String,
    /// PEM of an extra certificate authority (a server with a private CA).
    pub extra_ca: Option<Vec<u8>>,
}

/// Sends one message. `before_content` runs after the server accepted the envelope and
/// before the content is sent: the outbox records there that from now on the outcome
/// may be unknown. Its failure stops the attempt before anything could leave.
pub async fn send<F, Fut>(
    target: &SmtpTarget,
    sender: &str,
    recipients: &[String],
    message: &[u8],
    before_content: F,
) -> std::result::Result<Response, Verdict>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let server = target.endpoint.host.clone();
    let mut connection = connect(target).await?;
    let outcome = async {
        if connection
            .server_info()
            .supports_auth_mechanism(Mechanism::Plain)
            || connection
                .server_info()
                .supports_auth_mechanism(Mechanism::Login)
        {
            let credentials = Credentials::new(target.username.clone(), target.password.clone());
            step(
                Step::Auth,
                &server,
                COMMAND_TIMEOUT,
                connection.auth(&[Mechanism::Plain, Mechanism::Login], &credentials),
            )
            .await?;
        }
        let from = sender.parse().map_err(|_| invalid(&server))?;
        let envelope_from = lettre::transport::smtp::commands::Mail::new(Some(from), vec![]);
        step(
            Step::Envelope,
            &server,
            COMMAND_TIMEOUT,
            connection.command(envelope_from),
        )
        .await?;
        for recipient in recipients {
            let to = recipient.parse().map_err(|_| invalid(&server))?;
            let rcpt = lettre::transport::smtp::commands::Rcpt::new(to, vec![]);
            step(
                Step::Envelope,
                &server,
                COMMAND_TIMEOUT,
                connection.command(rcpt),
            )
            .await?;
        }
        step(
            Step::Envelope,
            &server,
            COMMAND_TIMEOUT,
            connection.command(lettre::transport::smtp::commands::Data),
        )
        .await?;
        before_content().await.map_err(|problem| {
            Verdict::Retry(SendFailure {
                kind: SendFailureKind::Invalid,
                server: server.clone(),
                code: None,
                server_text: Some(problem.to_string()),
            })
        })?;
        step(
            Step::Content,
            &server,
            CONTENT_TIMEOUT,
            connection.message(message),
        )
        .await
    }
    .await;
    match &outcome {
        Ok(_) => {
            let _ = tokio::time::timeout(Duration::from_secs(5), connection.quit()).await;
        }
        Err(_) => connection.abort().await,
    }
    outcome
}

async fn connect(target: &SmtpTarget) -> std::result::Result<AsyncSmtpConnection, Verdict> {
    let endpoint = &target.endpoint;
    let server = endpoint.host.clone();
    let tls = tls_parameters(target).map_err(Verdict::Stop)?;
    let hello = ClientId::default();
    let implicit = (endpoint.security == Security::Tls).then(|| tls.clone());
    let mut connection = step(
        Step::Connect,
        &server,
        CONNECT_TIMEOUT,
        AsyncSmtpConnection::connect_tokio1(
            (endpoint.host.as_str(), endpoint.port),
            Some(CONNECT_TIMEOUT),
            &hello,
            implicit,
            None,
        ),
    )
    .await?;
    if endpoint.security == Security::StartTls {
        if !connection.can_starttls() {
            // Never fall back to sending in the clear.
            connection.abort().await;
            return Err(Verdict::Stop(SendFailure {
                kind: SendFailureKind::TlsFailed,
                server,
                code: None,
                server_text: Some("the server does not offer STARTTLS".to_owned()),
            }));
        }
        step(
            Step::Connect,
            &server,
            CONNECT_TIMEOUT,
            connection.starttls(tls, &hello),
        )
        .await?;
    }
    Ok(connection)
}

fn tls_parameters(target: &SmtpTarget) -> std::result::Result<TlsParameters, SendFailure> {
    let failure = |detail: String| SendFailure {
        kind: SendFailureKind::TlsFailed,
        server: target.endpoint.host.clone(),
        code: None,
        server_text: Some(detail),
    };
    let mut builder = TlsParameters::builder(target.endpoint.host.clone());
    if let Some(pem) = &target.extra_ca {
        let certificate = Certificate::from_pem(pem).map_err(|e| failure(e.to_string()))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build_rustls().map_err(|e| failure(e.to_string()))
}

async fn step<T>(
    step: Step,
    server: &str,
    limit: Duration,
    work: impl Future<Output = std::result::Result<T, lettre::transport::smtp::Error>>,
) -> std::result::Result<T, Verdict> {
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(judge(&error, step, server)),
        Err(_) => Err(timed_out(step, server)),
    }
}

fn invalid(server: &str) -> Verdict {
    Verdict::Stop(SendFailure {
        kind: SendFailureKind::Invalid,
        server: server.to_owned(),
        code: None,
        server_text: None,
    })
}
