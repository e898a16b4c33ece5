//! The connection itself: TCP, TLS for `wss` (pinned or system roots), the WebSocket,
//! and reading and writing one frame.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::teamsync::protocol::{ClientFrame, ErrorCode, ServerFrame};
use crate::teamsync::tls::pinned_client_config;

use super::{TeamError, Trust};

/// Bytes read from the socket at a time (frames larger than this still arrive whole).
const READ_BUFFER: usize = 8 * 1024;
/// The largest frame the client accepts: a snapshot of a big mailbox is one frame.
const MAX_INCOMING: usize = 64 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
pub(super) type Socket = WebSocketStream<Box<dyn Io>>;

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Connects TCP, TLS (for `wss`) and WebSocket.
pub(super) async fn open(url: &str, trust: &Trust) -> Result<Socket, TeamError> {
    let settings = |m: String| TeamError::new(ErrorCode::BadFrame, m);
    let uri: Uri = url
        .parse()
        .map_err(|_| settings(format!("{url:?} is not a valid address")))?;
    let host = uri
        .host()
        .ok_or_else(|| settings(format!("{url:?} names no host")))?
        .to_owned();
    let secure = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") if is_loopback(&host) => false,
        Some("ws") => {
            return Err(settings(
                "plain ws:// is only for a server on this computer; use wss://".into(),
            ));
        }
        _ => {
            return Err(settings(format!(
                "{url:?} is not a ws:// or wss:// address"
            )));
        }
    };
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let bare_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let lost = |e: std::io::Error| TeamError::new(ErrorCode::Disconnected, e.to_string());
    let tcp = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((bare_host.as_str(), port)),
    )
    .await
    .map_err(|_| TeamError::new(ErrorCode::Timeout, "connecting took too long"))?
    .map_err(lost)?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Io> = if secure {
        let config = match trust {
            Trust::Pinned(fingerprint) => pinned_client_config(fingerprint),
            Trust::System => crate::imap::tls::client_config(None),
        }
        .map_err(|p| TeamError::new(ErrorCode::BadFrame, p.message))?;
        let name = ServerName::try_from(bare_host.clone())
            .map_err(|_| settings(format!("{host:?} is not a valid server name")))?;
        let tls = tokio::time::timeout(
            CONNECT_TIMEOUT,
            TlsConnector::from(config).connect(name, tcp),
        )
        .await
        .map_err(|_| TeamError::new(ErrorCode::Timeout, "the TLS handshake took too long"))?
        .map_err(|e| {
            TeamError::new(
                ErrorCode::Disconnected,
                format!("TLS failed (is the fingerprint right?): {e}"),
            )
        })?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let config = WebSocketConfig::default()
        // tungstenite zeroes this much before every socket read: with the default
        // 128 KiB that, not the events, was most of the fan-out's cost.
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(MAX_INCOMING))
        .max_frame_size(Some(MAX_INCOMING));
    let (ws, _) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)),
    )
    .await
    .map_err(|_| TeamError::new(ErrorCode::Timeout, "the WebSocket handshake took too long"))?
    .map_err(|e| TeamError::new(ErrorCode::Disconnected, e.to_string()))?;
    Ok(ws)
}

pub(super) async fn send(ws: &mut Socket, frame: &ClientFrame) -> Result<(), TeamError> {
    let text = serde_json::to_string(frame)
        .map_err(|e| TeamError::new(ErrorCode::BadFrame, e.to_string()))?;
    ws.send(Message::Text(Utf8Bytes::from(text)))
        .await
        .map_err(|e| TeamError::new(ErrorCode::Disconnected, e.to_string()))
}

pub(super) fn parse(text: &str) -> Result<ServerFrame, TeamError> {
    serde_json::from_str(text).map_err(|e| {
        TeamError::new(
            ErrorCode::BadFrame,
            format!("the server sent something unreadable: {e}"),
        )
    })
}

/// The server's first answer (welcome, redeemed or an error).
pub(super) async fn first_frame(ws: &mut Socket) -> Result<ServerFrame, TeamError> {
    loop {
        let next = tokio::time::timeout(CONNECT_TIMEOUT, ws.next())
            .await
            .map_err(|_| TeamError::new(ErrorCode::Timeout, "no answer to the hello"))?;
        match next {
            Some(Ok(Message::Text(text))) => return parse(&text),
            Some(Ok(Message::Close(_))) | None => return Err(TeamError::disconnected()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(TeamError::new(ErrorCode::Disconnected, e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_computer_counts_as_loopback() {
        for host in ["localhost", "127.0.0.1", "127.3.2.1", "[::1]", "::1"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "example.com",
            "10.0.0.1",
            "[2001:db8::1]",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[tokio::test]
    async fn addresses_that_would_leak_or_make_no_sense_are_refused_before_connecting() {
        for url in [
            "ws://team.example.com:7443/",
            "http://127.0.0.1:7443/",
            "not an address",
            "wss:///no-host",
        ] {
            let refused = open(url, &Trust::System).await.err().expect(url);
            assert_eq!(refused.code, ErrorCode::BadFrame, "{url}: {refused:?}");
        }
    }

    #[test]
    fn garbage_from_the_server_is_a_bad_frame_not_a_panic() {
        for text in ["", "{", "{\"type\":\"no-such-frame\"}", "\u{0}\u{ffff}"] {
            let error = parse(text).expect_err(text);
            assert_eq!(error.code, ErrorCode::BadFrame);
            assert!(error.message.contains("unreadable"), "{}", error.message);
        }
    }
}
