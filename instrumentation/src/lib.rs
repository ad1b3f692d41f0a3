//! # otel-instrumentation
//!
//! Ready-made instrumentation for otel-pipeline. Everything here records through the
//! `opentelemetry` API (a [`Meter`](opentelemetry::metrics::Meter) you pass in, or the global
//! one), so it works under any OpenTelemetry SDK setup, not only otel-pipeline's.
//!
//! | feature | what |
//! |---|---|
//! | `macros` (default) | `#[track_duration]` and `#[track_errors]` |
//! | `http` (default) | [`http::HttpServerLayer`] for axum, hyper and tonic servers; [`http_client::HttpClientLayer`] for tower HTTP clients |
//! | `axum` | route templates from axum's `MatchedPath` (add it in an axum service: without it `http.route` is left out) |
//! | `tasks` (default) | [`tasks::WorkerMetrics`] (the worker SDK's `task_*` metrics), [`tasks::Jobs`], [`tasks::Lifecycle`] |
//! | `runtime` (default) | [`runtime::register_process_metrics`], [`runtime::register_tokio_metrics`] |
//! | `grpc` (default) | [`grpc::GrpcLayer`] for tonic servers and channels (`rpc.*` metrics) |
//! | `recipes` (default) | [`recipes::Cache`], [`recipes::Database`], [`recipes::GenAi`] |
//!
//! ## Attribute macros
//!
//! They record through the facade installed with
//! [`TelemetryBuilder::install`](otel_core::TelemetryBuilder::install) (before it, nothing is
//! recorded). Declare the metrics they use in the catalog.
//!
//! ```
//! use otel_core::{Catalog, MetricDef, Telemetry};
//! use otel_instrumentation::{track_duration, track_errors};
//!
//! #[track_duration("bedrock_duration", labels(model_id = "claude-3"))]
//! #[track_errors(labels(endpoint = "/query"))]
//! fn invoke(prompt: &str) -> Result<usize, std::num::ParseIntError> {
//!     prompt.parse()
//! }
//!
//! let catalog = Catalog::new().with([
//!     MetricDef::histogram("bedrock_duration").unit("s").labels(["model_id"]),
//!     MetricDef::counter("error_count").labels(["error_type", "endpoint", "function"]),
//! ])?;
//! let telemetry = Telemetry::builder().catalog(catalog).install()?;
//! assert!(invoke("not a number").is_err());
//! assert_eq!(invoke("42"), Ok(42));
//! let snapshot = telemetry.snapshot();
//! assert_eq!(snapshot.histogram("bedrock_duration", &[("model_id", "claude-3")]).unwrap().count, 2);
//! let errors = [("error_type", "ParseIntError"), ("endpoint", "/query"), ("function", "invoke")];
//! assert_eq!(snapshot.value("error_count", &errors), Some(1.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "grpc")]
#[cfg_attr(docsrs, doc(cfg(feature = "grpc")))]
pub mod grpc;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http_client;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod metered;
#[cfg(feature = "recipes")]
#[cfg_attr(docsrs, doc(cfg(feature = "recipes")))]
pub mod recipes;
#[cfg(feature = "runtime")]
#[cfg_attr(docsrs, doc(cfg(feature = "runtime")))]
pub mod runtime;
pub mod semconv;
#[cfg(feature = "tasks")]
#[cfg_attr(docsrs, doc(cfg(feature = "tasks")))]
pub mod tasks;

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use otel_macros::{track_duration, track_errors};

/// What the attribute macros expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use opentelemetry::KeyValue;
    pub use otel_core::global::metrics;

    /// Counts a function's error (or panic) when it finishes; builds nothing unless there is
    /// one to count.
    #[derive(Debug)]
    pub struct ErrorCounter<'a> {
        metrics: &'static otel_core::Metrics,
        name: &'static str,
        function: &'static str,
        labels: &'a [KeyValue],
        finished: bool,
    }

    impl<'a> ErrorCounter<'a> {
        pub fn new(name: &'static str, function: &'static str, labels: &'a [KeyValue]) -> Self {
            ErrorCounter { metrics: metrics(), name, function, labels, finished: false }
        }

        pub fn finish<T, E>(mut self, result: &Result<T, E>) {
            self.finished = true;
            if result.is_err() {
                self.count(otel_core::facade::error_type_name::<E>());
            }
        }

        fn count(&self, error_type: &str) {
            let mut labels = self.labels.to_vec();
            labels.push(KeyValue::new("function", self.function));
            labels.push(KeyValue::new("error_type", error_type.to_owned()));
            self.metrics.increment_counter(self.name, 1, &labels);
        }
    }

    impl Drop for ErrorCounter<'_> {
        fn drop(&mut self) {
            if !self.finished && std::thread::panicking() {
                self.count("panic");
            }
        }
    }
}

/// A metric name under a namespace, joined with the OpenTelemetry separator (`taskflows` and
/// `task.duration` make `taskflows.task.duration`): how every configurable module applies its
/// namespace.
#[allow(dead_code)] // unused when neither `http` nor `tasks` is enabled
pub(crate) fn qualified(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}.{name}"),
        None => name.to_owned(),
    }
}
