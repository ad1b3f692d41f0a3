//! # otel-exporters
//!
//! Where otel-pipeline's metrics go. Each exporter implements
//! [`otel_core::export::Exporter`] and is attached with
//! [`TelemetryBuilder::exporter`](otel_core::TelemetryBuilder::exporter); several can be
//! attached at once.
//!
//! | feature | exporter | what it does |
//! |---|---|---|
//! | `prometheus` (default) | [`PrometheusExporter`] | pull endpoint: text 0.0.4, OpenMetrics 1.0.0 and protobuf (native histograms), names identical to Prometheus' own OTLP translation |
//! | `prometheus-tls` | [`PrometheusExporter`] `tls(cert, key)` | HTTPS for the endpoint (rustls, ring provider) |
//! | `textfile` (default) | [`TextfileExporter`] | a `.prom` file for node_exporter's textfile collector, rewritten atomically |
//! | `influx` | [`InfluxExporter`] | InfluxDB line protocol POSTed to a write URL (VictoriaMetrics `/write`) or written to a file |
//! | `pushgateway` | [`PushgatewayExporter`] | pushes to a Prometheus Pushgateway at shutdown (and every interval), PUT or POST, grouping key, auth |
//! | `axum` | `metrics_route` | `/metrics` on your own axum router, served as the endpoint serves it |
//! | `otlp` | [`OtlpExporter`] | push over gRPC or HTTP/protobuf, `https` with system roots or your CA, mutual TLS, gzip, headers, retries |
//! | `prometheus` (default) | [`ConsoleExporter`] | the text exposition on standard output at every export |
//! | `config-file` | [`from_env`] | attaches the readers of the OpenTelemetry configuration file (`OTEL_CONFIG_FILE`) |
//!
//! The defaults are what a Prometheus-first service needs and add no HTTP client, TLS stack or
//! YAML parser; `otlp`, `pushgateway` and `influx` bring hyper's client with rustls, `config-file`
//! a YAML parser. Selecting an exporter whose feature is off (in `OTEL_METRICS_EXPORTER` or the
//! configuration file) is a [`BuildError`](otel_core::BuildError) naming the feature to add.
//!
//! [`from_env`] picks exporters from `OTEL_METRICS_EXPORTER`, or from the configuration file's
//! readers when `OTEL_CONFIG_FILE` names one. Every setting resolves as builder,
//! then metrics-specific variable, then generic variable, then default, read through the
//! pipeline's [`otel_core::Env`] only. Secrets (header values, URL credentials) are never printed.
//!
//! The push exporters do their network I/O on one small runtime thread of their own
//! (`otel-pipeline-io`), so they work the same whether the application runs a multi-thread
//! tokio runtime, a `current_thread` runtime, or none.
//!
//! ```no_run
//! # #[cfg(all(feature = "prometheus", feature = "otlp"))] {
//! use otel_core::Telemetry;
//! use otel_exporters::{OtlpExporter, OtlpProtocol, PrometheusExporter};
//!
//! let telemetry = Telemetry::builder()
//!     .service_name("checkout")
//!     .exporter(PrometheusExporter::new().listen("127.0.0.1:9464"))
//!     .exporter(OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint("http://127.0.0.1:4317"))
//!     .install()?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "prometheus-tls", feature = "_push"))]
mod crypto;
#[cfg(feature = "prometheus")]
pub mod exposition;
#[cfg(feature = "otlp")]
mod otlp;
#[cfg(any(feature = "prometheus-tls", feature = "otlp"))]
mod pem;
#[cfg(feature = "prometheus")]
mod prometheus;
#[cfg(any(feature = "prometheus", feature = "_push"))]
mod push;
#[cfg(any(feature = "prometheus", feature = "_push"))]
mod runtime;
mod selection;
#[cfg(any(feature = "textfile", feature = "_push"))]
mod source;

/// Checks naming-vector files (the `naming_conformance` example and the tests use it).
#[cfg(feature = "prometheus")]
#[doc(hidden)]
pub use exposition::conformance;
#[cfg(feature = "prometheus")]
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
pub use exposition::{
    negotiate, unit_name, EncodeOptions, Escaping, Exposition, Format, LabelNamer, MetricNamer, MetricType, NamingError, Negotiated,
    ScrapeError, Scraper, TranslationStrategy,
};
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
pub use otlp::{OtlpExporter, OtlpProtocol};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use prometheus::metrics_route;
#[cfg(feature = "prometheus")]
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
pub use prometheus::PrometheusExporter;
#[cfg(feature = "prometheus")]
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
pub use push::console::ConsoleExporter;
#[cfg(feature = "influx")]
#[cfg_attr(docsrs, doc(cfg(feature = "influx")))]
pub use push::influx::InfluxExporter;
#[cfg(feature = "pushgateway")]
#[cfg_attr(docsrs, doc(cfg(feature = "pushgateway")))]
pub use push::pushgateway::{PushMethod, PushgatewayExporter};
#[cfg(feature = "_push")]
pub use push::sender::RetryPolicy;
#[cfg(feature = "textfile")]
#[cfg_attr(docsrs, doc(cfg(feature = "textfile")))]
pub use push::textfile::{TextfileError, TextfileExporter, TextfileWriter};
#[cfg(all(feature = "config-file", feature = "prometheus"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "config-file", feature = "prometheus"))))]
pub use selection::from_file::prometheus_options;
pub use selection::select::{from_env, FromEnv};
