//! What stops a rendering, with the cause kept.

use std::path::PathBuf;

/// Why `otel-ops` rendered nothing. `Debug` prints the message and its causes (what `main`
/// shows).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum OpsError {
    /// A value given on the command line or in [`Options`](crate::Options) the rendered files
    /// cannot carry, or an objective that does not fit the metrics (the message says which and
    /// what is accepted).
    #[error("{0}")]
    Input(String),
    /// The service's catalog file was not loaded.
    #[error("the service's catalog")]
    CatalogFile(#[from] otel_core::CatalogFileError),
    /// The catalog was refused.
    #[error("the service's catalog")]
    Catalog(#[from] otel_core::CatalogError),
    /// The configuration file was refused, or a pipeline could not be built for the catalog.
    #[error("the pipeline the service would build")]
    Build(#[from] otel_core::BuildError),
    /// A metric has no Prometheus name under the exporter's options.
    #[error("the {module} metrics cannot be named as the exporter names them")]
    Naming {
        /// Where the metric comes from (`catalog`, `http`, ...).
        module: &'static str,
        /// Why.
        #[source]
        source: otel_exporters::NamingError,
    },
    /// A file or directory could not be written.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// `create` or `write`.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

otel_core::debug_as_report!(OpsError);
