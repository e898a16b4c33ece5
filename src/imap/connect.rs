//! Reaching the server and logging in: TCP, TLS (implicit, or STARTTLS when configured —
//! never a fallback to plaintext), the greeting, LOGIN, and errors in plain words.

use std::sync::Arc;
use std::time::Duration;

use async_imap::Client;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

use super::session::{ImapSession, ImapStream};
use crate::account::{Security, ServerEndpoint};
use crate::problem::{Problem, ProblemCode, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects, secures and logs in; the session has its capabilities read and QRESYNC
/// enabled when the server has it.
pub async fn open_session(
    endpoint: &ServerEndpoint,
    tls: Arc<ClientConfig>,
    username: &str,
    password: &str,
) -> Result<ImapSession> {
    if password.chars().any(|c| matches!(c, '\r' | '\n' | '\0')) {
        return Err(Problem::new(
            ProblemCode::InvalidSettings,
            "the password contains a line break, which IMAP cannot send",
        ));
    }
    let client = connect(endpoint, tls).await?;
    let session = tokio::time::timeout(LOGIN_TIMEOUT, client.login(username, password))
        .await
        .map_err(|_| timeout(endpoint, "logging in"))?
        .map_err(|(e, _)| match e {
            async_imap::error::Error::No(text) => Problem::new(
                ProblemCode::AuthFailed,
                "the server refused the user name or password",
            )
            .with_detail(text),
            other => login_problem(endpoint, other),
        })?;
    ImapSession::start(session, endpoint).await
}

/// A secured connection that has read the server's greeting.
pub async fn connect(
    endpoint: &ServerEndpoint,
    tls: Arc<ClientConfig>,
) -> Result<Client<ImapStream>> {
    let tcp = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((endpoint.host.as_str(), endpoint.port)),
    )
    .await
    .map_err(|_| timeout(endpoint, "connecting"))?
    .map_err(|e| unreachable(endpoint, &e))?;
    let _ = tcp.set_nodelay(true);
    let server_name = ServerName::try_from(
        endpoint
            .host
            .trim_matches(|c| c == '[' || c == ']')
            .to_owned(),
    )
    .map_err(|e| {
        Problem::new(ProblemCode::InvalidSettings, "the server name is not valid")
            .with_detail(e.to_string())
    })?;
    let connector = TlsConnector::from(tls);

    let tcp = match endpoint.security {
        Security::Tls => tcp,
        Security::StartTls => starttls(endpoint, tcp).await?,
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(server_name, tcp))
        .await
        .map_err(|_| timeout(endpoint, "setting up encryption"))?
        .map_err(|e| {
            Problem::new(
                ProblemCode::TlsFailed,
                format!(
                    "could not set up a secure connection with {}:{}",
                    endpoint.host, endpoint.port
                ),
            )
            .with_detail(e.to_string())
        })?;
    let mut client = Client::new(stream);
    if endpoint.security == Security::Tls {
        read_greeting(endpoint, &mut client).await?;
    }
    Ok(client)
}

/// Reads the plaintext greeting and upgrades with STARTTLS. Anything but a clean `OK`
/// stops here: the password is never sent over an unencrypted connection.
async fn starttls(endpoint: &ServerEndpoint, tcp: TcpStream) -> Result<TcpStream> {
    let mut plain = Client::new(tcp);
    read_greeting(endpoint, &mut plain).await?;
    let result = tokio::time::timeout(
        CONNECT_TIMEOUT,
        plain.run_command_and_check_ok("STARTTLS", None),
    )
    .await
    .map_err(|_| timeout(endpoint, "starting encryption"))?;
    match result {
        Ok(()) => Ok(plain.into_inner()),
        Err(async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text)) => {
            Err(Problem::new(
                ProblemCode::StartTlsUnavailable,
                format!(
                    "{}:{} does not offer STARTTLS",
                    endpoint.host, endpoint.port
                ),
            )
            .with_detail(text))
        }
        Err(other) => Err(login_problem(endpoint, other)),
    }
}

async fn read_greeting<T>(endpoint: &ServerEndpoint, client: &mut Client<T>) -> Result<()>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    use async_imap::imap_proto::{Response, Status};
    let greeting = tokio::time::timeout(CONNECT_TIMEOUT, client.read_response())
        .await
        .map_err(|_| timeout(endpoint, "waiting for the greeting"))?
        .map_err(|e| not_imap(endpoint, e.to_string()))?
        .ok_or_else(|| not_imap(endpoint, "the server closed the connection".into()))?;
    match greeting.parsed() {
        Response::Data {
            status: Status::Ok | Status::PreAuth,
            ..
        } => Ok(()),
        Response::Data {
            status: Status::Bye,
            outcome,
        } => Err(Problem::new(
            ProblemCode::ServerRefused,
            format!("{}:{} refused the connection", endpoint.host, endpoint.port),
        )
        .with_detail(
            outcome
                .information
                .as_deref()
                .unwrap_or_default()
                .to_owned(),
        )),
        other => Err(not_imap(
            endpoint,
            format!("unexpected greeting: {other:?}"),
        )),
    }
}

fn timeout(endpoint: &ServerEndpoint, doing: &str) -> Problem {
    Problem::new(
        ProblemCode::Timeout,
        format!(
            "{}:{} did not answer in time ({doing})",
            endpoint.host, endpoint.port
        ),
    )
}

fn unreachable(endpoint: &ServerEndpoint, e: &std::io::Error) -> Problem {
    Problem::new(
        ProblemCode::Unreachable,
        format!("could not reach {}:{}", endpoint.host, endpoint.port),
    )
    .with_detail(e.to_string())
}

fn not_imap(endpoint: &ServerEndpoint, detail: String) -> Problem {
    Problem::new(
        ProblemCode::ProtocolError,
        format!(
            "{}:{} did not answer like an IMAP server",
            endpoint.host, endpoint.port
        ),
    )
    .with_detail(detail)
}

fn login_problem(endpoint: &ServerEndpoint, e: async_imap::error::Error) -> Problem {
    use async_imap::error::Error;
    match e {
        Error::Io(io) => Problem::new(
            ProblemCode::ConnectionLost,
            format!(
                "the connection to {}:{} broke",
                endpoint.host, endpoint.port
            ),
        )
        .with_detail(io.to_string()),
        Error::ConnectionLost => Problem::new(
            ProblemCode::ConnectionLost,
            format!("{}:{} closed the connection", endpoint.host, endpoint.port),
        ),
        other => not_imap(endpoint, other.to_string()),
    }
}
