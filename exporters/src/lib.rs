//! # otel-exporters
//!
//! Where otel-pipeline's metrics go. Each exporter implements
//! [`otel_core::Exporter`] and is attached with
//! [`TelemetryBuilder::exporter`](otel_core::TelemetryBuilder::exporter); several can be
//! attached at once.
//!
//! | feature | exporter | what it does |
//! |---|---|---|
//! | `prometheus` | [`PrometheusExporter`] | pull endpoint: text 0.0.4, OpenMetrics 1.0.0 and protobuf (native histograms), names identical to Prometheus' own OTLP translation |
//! | `prometheus-tls` | [`PrometheusExporter`] `tls(cert, key)` | HTTPS for the endpoint (rustls, ring provider) |
//! | `otlp` | [`OtlpExporter`] | push over gRPC or HTTP/protobuf, `https` with system roots or your CA, mutual TLS, gzip, headers, retries |
//!
//! [`from_env`] picks exporters from `OTEL_METRICS_EXPORTER`. Every setting resolves as builder,
//! then metrics-specific variable, then generic variable, then default, read through the
//! pipeline's [`otel_core::Env`] only. Secrets (header values, URL credentials) are never printed.
//!
//! Both exporters do their network I/O on one small runtime thread of their own
//! (`otel-pipeline-io`), so they work the same whether the application runs a multi-thread
//! tokio runtime, a `current_thread` runtime, or none.
//!
//! ```no_run
//! use otel_core::Telemetry;
//! use otel_exporters::{OtlpExporter, OtlpProtocol, PrometheusExporter};
//!
//! let telemetry = Telemetry::builder()
//!     .service_name("checkout")
//!     .exporter(PrometheusExporter::new().listen("127.0.0.1:9464"))
//!     .exporter(OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint("http://127.0.0.1:4317"))
//!     .install()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "otlp")]
mod otlp;
#[cfg(any(feature = "prometheus-tls", feature = "otlp"))]
mod pem;
#[cfg(feature = "prometheus")]
pub mod prometheus;
mod runtime;
mod select;

#[cfg(feature = "otlp")]
pub use otlp::{OtlpExporter, OtlpProtocol, RetryPolicy};
#[cfg(feature = "prometheus")]
pub use prometheus::{EncodeOptions, Format, PrometheusExporter, ScrapeError, Scraper, TranslationStrategy};
pub use select::{from_env, FromEnv};

/// The README's examples compile against this crate.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
