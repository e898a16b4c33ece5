//! A private certificate authority and a `localhost` leaf certificate for test servers.
//! rustls refuses a self-signed CA certificate used directly as the server certificate,
//! so the servers get a leaf signed by a small CA that clients are told to trust.

use std::io;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// Files written by [`write_test_pki`].
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The CA certificate clients trust (PEM).
    pub ca_file: PathBuf,
    /// The server's certificate chain (leaf, then CA) in PEM.
    pub cert_file: PathBuf,
    /// The server's private key in PEM.
    pub key_file: PathBuf,
}

/// Writes a fresh CA and a leaf for `localhost` and 127.0.0.1 into `dir`.
pub fn write_test_pki(dir: &Path) -> io::Result<TestPki> {
    std::fs::create_dir_all(dir)?;
    let err = |e: rcgen::Error| io::Error::other(format!("certificate generation failed: {e}"));

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Baton test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(err)?).map_err(err)?;

    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(err)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf_key = KeyPair::generate().map_err(err)?;
    let leaf = leaf_params.signed_by(&leaf_key, &ca).map_err(err)?;

    let pki = TestPki {
        ca_file: dir.join("ca.pem"),
        cert_file: dir.join("server.pem"),
        key_file: dir.join("server.key"),
    };
    std::fs::write(&pki.ca_file, ca.pem())?;
    std::fs::write(&pki.cert_file, format!("{}{}", leaf.pem(), ca.pem()))?;
    std::fs::write(&pki.key_file, leaf_key.serialize_pem())?;
    Ok(pki)
}
