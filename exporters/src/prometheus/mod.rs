//! The Prometheus pull exporter: an HTTP endpoint (or a route on your axum router) serving the
//! exposition, with TLS when asked.
//!
//! `exporter` is what a pipeline attaches; `server` is the HTTP side; `route` the axum route;
//! `tls` the rustls acceptor. What is served comes from [`crate::exposition`].

mod exporter;
#[cfg(feature = "axum")]
mod route;
mod server;
#[cfg(feature = "prometheus-tls")]
mod tls;

pub use exporter::PrometheusExporter;
#[cfg(feature = "axum")]
pub use route::metrics_route;
