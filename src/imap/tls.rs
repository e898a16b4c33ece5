//! The TLS client configuration for mail servers: the system's trust store, plus an
//! extra certificate authority when the account names one (servers with a private CA).

use std::sync::Arc;

use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::problem::{Problem, ProblemCode, Result};

pub fn client_config(extra_ca_file: Option<&str>) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    // A system store that cannot be read fully still gives the certificates it could.
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = extra_ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|iter| iter.collect())
            .map_err(|e| {
                Problem::new(
                    ProblemCode::InvalidSettings,
                    format!("could not read the certificate file {path}"),
                )
                .with_detail(e.to_string())
            })?;
        if certs.is_empty() {
            return Err(Problem::new(
                ProblemCode::InvalidSettings,
                format!("the certificate file {path} holds no certificate"),
            ));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                Problem::new(
                    ProblemCode::InvalidSettings,
                    format!("the certificate in {path} is not usable"),
                )
                .with_detail(e.to_string())
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            Problem::new(ProblemCode::TlsFailed, "TLS is not available").with_detail(e.to_string())
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
