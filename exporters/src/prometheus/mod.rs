//! The Prometheus pull exporter: an HTTP endpoint serving text 0.0.4, OpenMetrics 1.0.0 and
//! protobuf, with names translated exactly as Prometheus translates OTLP.
//!
//! Modules by role: `naming` (OTel → Prometheus names) and `format` (text primitives) are
//! leaves; `model` walks a collection into families and label sets for a format `Writer`
//! (`text`, `proto`); `scraper` collects and encodes on demand; `server` is the HTTP side;
//! `exporter` is what a pipeline attaches.

#[doc(hidden)]
pub mod conformance;
mod exporter;
mod format;
#[cfg(feature = "influx")]
mod influx;
mod model;
mod naming;
mod negotiate;
mod options;
mod proto;
#[cfg(feature = "axum")]
mod route;
mod scraper;
mod server;
mod text;
#[cfg(feature = "prometheus-tls")]
mod tls;

pub use exporter::PrometheusExporter;
pub use naming::{unit_name, Escaping, LabelNamer, MetricNamer, MetricType, NamingError, TranslationStrategy};
pub use negotiate::{negotiate, Format, Negotiated};
pub use options::EncodeOptions;
#[cfg(feature = "axum")]
pub use route::metrics_route;
pub use scraper::{Exposition, ScrapeError, Scraper};
