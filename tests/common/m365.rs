//! A TLS-terminating proxy in front of Dovecot that behaves as Microsoft 365 does with
//! custom keywords: PERMANENTFLAGS without `\*`, and a STORE of a keyword refused with
//! "Command Argument Error. 11". (Dovecot keeps keywords; this is the one difference a
//! real Microsoft 365 mailbox shows Baton, so the rest is the real server.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use baton::dev::tls::TestPki;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::front::tls_front;

pub struct M365Proxy {
    pub port: u16,
    /// Keyword stores refused so far.
    pub refused: Arc<AtomicU64>,
}

impl M365Proxy {
    pub async fn start(plain_port: u16, pki: &TestPki) -> M365Proxy {
        let refused = Arc::new(AtomicU64::new(0));
        let counter = refused.clone();
        let port = tls_front(plain_port, pki, move |client, server| {
            relay(client, server, counter.clone())
        })
        .await;
        M365Proxy { port, refused }
    }
}

async fn relay(
    client: tokio_rustls::server::TlsStream<TcpStream>,
    server: TcpStream,
    refused: Arc<AtomicU64>,
) {
    let (client_read, client_write) = tokio::io::split(client);
    let client_write = Arc::new(Mutex::new(client_write));
    let (server_read, mut server_write) = server.into_split();
    // Client to server, line by line: keyword stores are answered here and go no further.
    let answers = client_write.clone();
    let upstream = async move {
        let mut lines = BufReader::new(client_read);
        let mut line = Vec::new();
        loop {
            line.clear();
            match lines.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if let Some(tag) = keyword_store(&line) {
                refused.fetch_add(1, Ordering::SeqCst);
                let answer = format!("{tag} BAD Command Argument Error. 11\r\n");
                if answers
                    .lock()
                    .await
                    .write_all(answer.as_bytes())
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
            if server_write.write_all(&line).await.is_err() {
                return;
            }
        }
    };
    // Server to client: PERMANENTFLAGS lose `\*`. Whole lines are rewritten; a line still
    // incomplete after a quiet spell goes out as it is.
    let downstream = async move {
        let mut server_read = server_read;
        let mut pending: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let read =
                tokio::time::timeout(Duration::from_millis(20), server_read.read(&mut buf)).await;
            let upto = match read {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(n)) => {
                    pending.extend_from_slice(&buf[..n]);
                    pending
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |p| p + 1)
                }
                Err(_) => pending.len(),
            };
            if upto == 0 {
                continue;
            }
            let out: Vec<u8> = pending.drain(..upto).collect();
            let out = String::from_utf8_lossy(&out).replace(" \\*)]", ")]");
            if client_write
                .lock()
                .await
                .write_all(out.as_bytes())
                .await
                .is_err()
            {
                return;
            }
        }
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}

/// The tag of a STORE that sets or clears a keyword (a flag without a backslash).
fn keyword_store(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?;
    let upper = text.to_ascii_uppercase();
    if !upper.contains(" STORE ") {
        return None;
    }
    let flags = text.rsplit_once('(')?.1.trim_end().trim_end_matches(')');
    flags
        .split_whitespace()
        .any(|f| !f.starts_with('\\'))
        .then(|| text.split_whitespace().next().unwrap_or("*").to_owned())
}
