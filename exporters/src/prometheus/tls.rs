//! Loading the endpoint's certificate and key.

use std::path::Path;
use std::sync::Arc;

use otel_core::BuildError;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, crypto::ring};
use tokio_rustls::TlsAcceptor;

fn invalid(reason: String) -> BuildError {
    BuildError::InvalidSetting { setting: "tls", reason }
}

/// A TLS acceptor for a PEM certificate chain and PEM private key.
pub(super) fn acceptor(certificate: &Path, key: &Path) -> Result<TlsAcceptor, BuildError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certificate)
        .and_then(|certs| certs.collect())
        .map_err(|e| invalid(format!("cannot read a PEM certificate chain from {}: {e}", certificate.display())))?;
    if chain.is_empty() {
        return Err(invalid(format!("{} holds no PEM certificate", certificate.display())));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| invalid(format!("cannot read a PEM private key from {}: {e}", key.display())))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| invalid(format!("the certificate and key do not work together: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
