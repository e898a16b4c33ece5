//! A TLS-terminating proxy in front of Dovecot's plain port that garbles the answer for
//! one message: a server that answers something no IMAP parser can read. (A real server
//! does not produce this on demand; the rest of the conversation is the real Dovecot.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use baton::dev::tls::TestPki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

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
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&pki.cert_file)
            .expect("cert file")
            .collect::<Result<_, _>>()
            .expect("certs");
        let key = PrivateKeyDer::from_pem_file(&pki.key_file).expect("key");
        let config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let garbled = Arc::new(AtomicU64::new(0));
        let counter = garbled.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(client) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(server) = TcpStream::connect(("127.0.0.1", plain_port)).await else {
                        return;
                    };
                    relay(client, server, marker, counter).await;
                });
            }
        });
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
