//! TLS for the team server: its certificate (configured files, or a self-signed one made
//! once and kept in the store), and the client side that trusts either the system's
//! roots or exactly one certificate, pinned by its SHA-256 fingerprint.
//!
//! A small team's server usually has no public name, so a certificate authority cannot
//! vouch for it; the members instead confirm the fingerprint the server prints (as with
//! SSH host keys), and the desktop pins it.

use std::path::Path;
use std::sync::Arc;

use ring::digest::{SHA256, digest};
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    CryptoProvider, verify_tls12_signature, verify_tls13_signature,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme,
};

use super::config::TlsConfig;
use crate::problem::{Problem, ProblemCode, Result};

fn tls_problem(message: impl Into<String>, e: impl std::fmt::Display) -> Problem {
    Problem::new(ProblemCode::TlsFailed, message).with_detail(e.to_string())
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server's TLS set-up and the fingerprint members confirm.
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the leaf certificate, as colon-separated upper-case hex pairs.
    pub fingerprint: String,
}

/// "AB:CD:…" of the SHA-256 of a DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    digest(&SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The 32 bytes of a fingerprint written with or without colons or spaces, in either case.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let digits: Vec<u8> = text.bytes().filter(|b| !matches!(b, b':' | b' ')).collect();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(digits.chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *slot = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// The server's TLS configuration, or `None` for plain WebSocket (`mode = "none"`).
pub fn server_tls(config: &TlsConfig, store_dir: &Path) -> Result<Option<ServerTls>> {
    let (certs, key) = match config {
        TlsConfig::None => return Ok(None),
        TlsConfig::Files { cert, key } => read_pair(cert, key)?,
        TlsConfig::SelfSigned => {
            let dir = store_dir.join("tls");
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !cert.exists() || !key.exists() {
                write_self_signed(&dir, &cert, &key)?;
            }
            read_pair(&cert, &key)?
        }
    };
    let leaf = certs
        .first()
        .ok_or_else(|| Problem::new(ProblemCode::TlsFailed, "the certificate file is empty"))?;
    let fingerprint = fingerprint(leaf.as_ref());
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_problem("TLS is not available", e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| tls_problem("the certificate and key do not fit together", e))?;
    Ok(Some(ServerTls {
        config: Arc::new(config),
        fingerprint,
    }))
}

fn read_pair(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|iter| iter.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| tls_problem(format!("could not read {}", cert.display()), e))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| tls_problem(format!("could not read {}", key.display()), e))?;
    Ok((certs, key))
}

fn write_self_signed(dir: &Path, cert: &Path, key: &Path) -> Result<()> {
    let made =
        rcgen::generate_simple_self_signed(vec!["baton-sync".to_owned(), "localhost".to_owned()])
            .map_err(|e| tls_problem("could not make a certificate", e))?;
    let file_problem = |e: std::io::Error| {
        Problem::new(
            ProblemCode::FileFailed,
            format!("could not write the certificate to {}", dir.display()),
        )
        .with_detail(e.to_string())
    };
    std::fs::create_dir_all(dir).map_err(file_problem)?;
    write_private(key, made.signing_key.serialize_pem().as_bytes()).map_err(file_problem)?;
    std::fs::write(cert, made.cert.pem()).map_err(file_problem)?;
    Ok(())
}

/// Writes a file only its owner can read (the private key).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Accepts exactly the certificate with the pinned SHA-256; the handshake signatures are
/// still checked, so whoever answers must hold that certificate's key.
#[derive(Debug)]
struct Pinned {
    sha256: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if digest(&SHA256, end_entity.as_ref()).as_ref() == self.sha256 {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client configuration trusting only the certificate with this fingerprint.
pub fn pinned_client_config(fingerprint: &str) -> Result<Arc<ClientConfig>> {
    let sha256 = parse_fingerprint(fingerprint).ok_or_else(|| {
        Problem::new(
            ProblemCode::InvalidSettings,
            "a certificate fingerprint is 32 bytes in hex (64 digits, colons allowed)",
        )
    })?;
    let provider = provider();
    let verifier = Pinned {
        sha256,
        provider: provider.clone(),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_problem("TLS is not available", e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_round_trip() {
        let text = fingerprint(b"certificate");
        assert_eq!(text.len(), 32 * 3 - 1);
        let bytes = parse_fingerprint(&text).expect("parses");
        assert_eq!(
            parse_fingerprint(&text.replace(':', "").to_lowercase()),
            Some(bytes)
        );
        assert_eq!(parse_fingerprint("AB:CD"), None);
        assert_eq!(parse_fingerprint(&"zz".repeat(32)), None);
    }

    #[test]
    fn the_self_signed_certificate_is_made_once() {
        let dir = tempfile::tempdir().expect("dir");
        let first = server_tls(&TlsConfig::SelfSigned, dir.path())
            .expect("tls")
            .expect("some");
        let again = server_tls(&TlsConfig::SelfSigned, dir.path())
            .expect("tls")
            .expect("some");
        assert_eq!(first.fingerprint, again.fingerprint);
        assert!(
            server_tls(&TlsConfig::None, dir.path())
                .expect("none")
                .is_none()
        );
    }
}
