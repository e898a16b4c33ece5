//! A TLS front before Dovecot's plain port, with the test certificate: what the proxies
//! that play a misbehaving server share. Each accepted client is handed, with its own
//! connection to Dovecot, to the proxy's relay.

use std::future::Future;
use std::sync::Arc;

use baton::dev::tls::TestPki;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

/// Listens on a free loopback port and returns it.
pub async fn tls_front<F, Fut>(plain_port: u16, pki: &TestPki, relay: F) -> u16
where
    F: Fn(TlsStream<TcpStream>, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
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
    let relay = Arc::new(relay);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let relay = relay.clone();
            tokio::spawn(async move {
                let Ok(client) = acceptor.accept(client).await else {
                    return;
                };
                let Ok(server) = TcpStream::connect(("127.0.0.1", plain_port)).await else {
                    return;
                };
                relay(client, server).await;
            });
        }
    });
    port
}
