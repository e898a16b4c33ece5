//! A TLS-terminating proxy in front of Dovecot's plain port that garbles the answer for
//! one message: a server that answers something no IMAP parser can read. (A real server
//! does not produce this on demand; the rest of the conversation is the real Dovecot.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use baton::dev::tls::TestPki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::front::tls_front;

/// Bytes held back so a FETCH item and the marker later in its literal are rewritten
/// together; released after a short quiet spell so replies never stall.
const HOLD: usize = 8192;

pub struct GarblingProxy {
    pub port: u16,
    /// Answers garbled so far.
    pub garbled: Arc<AtomicU64>,
}

impl GarblingProxy {
    /// Messages whose fetched headers contain `marker` get their FETCH item name mangled.
    pub async fn start(plain_port: u16, pki: &TestPki, marker: &'static [u8]) -> GarblingProxy {
        let garbled = Arc::new(AtomicU64::new(0));
        let counter = garbled.clone();
        let port = tls_front(plain_port, pki, move |client, server| {
            relay(client, server, marker, counter.clone())
        })
        .await;
        GarblingProxy { port, garbled }
    }
}

async fn relay(
    client: tokio_rustls::server::TlsStream<TcpStream>,
    mut server: TcpStream,
    marker: &[u8],
    garbled: Arc<AtomicU64>,
) {
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut server_read, mut server_write) = server.split();
    let upstream = tokio::io::copy(&mut client_read, &mut server_write);
    let downstream = async {
        let mut pending: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let read =
                tokio::time::timeout(Duration::from_millis(30), server_read.read(&mut buf)).await;
            let release = match read {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    let _ = client_write.write_all(&pending).await;
                    return;
                }
                Ok(Ok(n)) => {
                    pending.extend_from_slice(&buf[..n]);
                    if garble(&mut pending, marker) {
                        garbled.fetch_add(1, Ordering::SeqCst);
                    }
                    pending.len().saturating_sub(HOLD)
                }
                Err(_) => pending.len(),
            };
            if release > 0 {
                if client_write.write_all(&pending[..release]).await.is_err() {
                    return;
                }
                let _ = client_write.flush().await;
                pending.drain(..release);
            }
        }
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}

/// Renames `BODY[HEADER.FIELDS` to `BODY[HEADER.XIELDS` in the FETCH item whose literal
/// holds `marker`: the answer no longer parses. Returns whether it did.
fn garble(pending: &mut [u8], marker: &[u8]) -> bool {
    const ITEM: &[u8] = b"BODY[HEADER.FIELDS";
    let Some(at) = find(pending, marker) else {
        return false;
    };
    let Some(item) = rfind(&pending[..at], ITEM) else {
        return false;
    };
    pending[item + b"BODY[HEADER.".len()] = b'X';
    true
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}
