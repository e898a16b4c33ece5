//! A bare IMAP client over TLS — "a colleague on Outlook" making changes behind Baton's
//! back. Line-based on purpose: it shares no code with the engine.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

pub struct RawImap {
    stream: BufReader<TlsStream<TcpStream>>,
    tag: u32,
}

impl RawImap {
    pub async fn login(
        port: u16,
        ca_file: &std::path::Path,
        user: &str,
        password: &str,
    ) -> RawImap {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca_file).expect("ca file") {
            roots.add(cert.expect("cert")).expect("add ca");
        }
        let config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("tls versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let name = ServerName::try_from("127.0.0.1").expect("name");
        let tls = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .expect("tls");
        let mut client = RawImap {
            stream: BufReader::new(tls),
            tag: 0,
        };
        let greeting = client.line().await;
        assert!(greeting.starts_with("* OK"), "{greeting}");
        client.ok(&format!("LOGIN {user} {password}")).await;
        client
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        self.stream.read_line(&mut line).await.expect("read");
        assert!(!line.is_empty(), "server closed the connection");
        line
    }

    /// Sends a command and returns all lines up to and including the tagged reply,
    /// failing the test unless it is OK.
    pub async fn ok(&mut self, command: &str) -> Vec<String> {
        let lines = self.run(command).await;
        let last = lines.last().cloned().unwrap_or_default();
        assert!(
            last.split_whitespace().nth(1) == Some("OK"),
            "{command} failed: {lines:?}"
        );
        lines
    }

    pub async fn run(&mut self, command: &str) -> Vec<String> {
        self.tag += 1;
        let tag = format!("r{}", self.tag);
        self.stream
            .get_mut()
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .await
            .expect("write");
        let mut lines = Vec::new();
        loop {
            let line = self.line().await;
            let done = line.starts_with(&format!("{tag} "));
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    pub async fn append(&mut self, folder: &str, flags: &str, raw: &[u8]) {
        self.tag += 1;
        let tag = format!("r{}", self.tag);
        let command = format!("{tag} APPEND {folder} ({flags}) {{{}}}\r\n", raw.len());
        self.stream
            .get_mut()
            .write_all(command.as_bytes())
            .await
            .expect("write");
        let go = self.line().await;
        assert!(go.starts_with('+'), "{go}");
        self.stream.get_mut().write_all(raw).await.expect("write");
        self.stream
            .get_mut()
            .write_all(b"\r\n")
            .await
            .expect("write");
        loop {
            let line = self.line().await;
            if line.starts_with(&format!("{tag} ")) {
                assert!(line.contains(" OK"), "APPEND failed: {line}");
                return;
            }
        }
    }
}
