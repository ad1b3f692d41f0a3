//! # otel-instrumentation
//!
//! Ready-made instrumentation for otel-pipeline. Everything here records through the
//! `opentelemetry` API (a [`Meter`](opentelemetry::metrics::Meter) you pass in, or the global
//! one), so it works under any OpenTelemetry SDK setup, not only otel-pipeline's.

pub mod semconv;
