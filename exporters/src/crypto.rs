//! The one TLS crypto provider every TLS setting of the exporters uses: rustls with *ring*.

use std::sync::Arc;

use tokio_rustls::rustls::crypto::CryptoProvider;

/// rustls' *ring* provider. rustls 0.23.48 deprecates it for lacking post-quantum key exchange;
/// the alternative provider (aws-lc-rs) needs a C and CMake toolchain to build, which a
/// dependency of every service should not require, so *ring* stays until it gains one.
#[allow(deprecated)]
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(tokio_rustls::rustls::crypto::ring::default_provider())
}
