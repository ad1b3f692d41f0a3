//! Loading the endpoint's certificate and key.

use std::path::Path;
use std::sync::Arc;

use otel_core::BuildError;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

fn invalid(reason: String) -> BuildError {
    BuildError::InvalidSetting { setting: "tls", reason }
}

/// A TLS acceptor for a PEM certificate chain and PEM private key.
pub(super) fn acceptor(certificate: &Path, key: &Path) -> Result<TlsAcceptor, BuildError> {
    let chain = crate::pem::certificates(certificate).map_err(invalid)?;
    let key = crate::pem::private_key(key).map_err(invalid)?;
    let config = rustls::ServerConfig::builder_with_provider(crate::crypto::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| invalid(format!("the certificate and key do not work together: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
