//! # otel-core
//!
//! The centre of otel-pipeline: one [`Telemetry`] builder owns the OpenTelemetry meter provider,
//! the [`Resource`](opentelemetry_sdk::Resource) (`service.name`, `service.instance.id`, ...) and
//! the attached [`Exporter`](export::Exporter)s. Exporters live in `otel-exporters`; instrumentation in
//! `otel-instrumentation`. This crate depends on neither.
//!
//! ## In executables
//!
//! Build the pipeline once in `main`, attach exporters, and keep the handle alive; dropping it
//! flushes and stops everything. `otel_exporters::from_env()` attaches what
//! `OTEL_METRICS_EXPORTER` names (a Prometheus endpoint on `127.0.0.1:9464` when it is unset):
//!
//! ```no_run
//! use otel_core::opentelemetry::KeyValue; // the re-export: always the version otel-core uses
//! use otel_core::Telemetry;
//!
//! let telemetry = Telemetry::builder()
//!     .service_name("checkout")
//!     .exporter(otel_exporters::from_env())
//!     .install()?;
//! let orders = telemetry.meter("checkout").u64_counter("orders.placed").build();
//! orders.add(1, &[KeyValue::new("payment", "card")]); // scraped as orders_placed_total{payment="card"}
//! telemetry.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Without an exporter ([`TelemetryBuilder::build`] alone) the data stays in process, readable
//! through [`Telemetry::snapshot`]; that is what tests do.
//!
//! [`TelemetryBuilder::install`] additionally makes the provider global, for code that records
//! through `opentelemetry::global::meter`.
//!
//! ## Features
//!
//! `catalog-file` (off by default): [`Catalog::from_file`] and [`Catalog::from_yaml`], a catalog
//! declared in a YAML file.
//!
//! `config-file` (off by default here, on in `otel-exporters`' defaults): the OpenTelemetry
//! configuration file named by `OTEL_CONFIG_FILE` or [`TelemetryBuilder::config_file`]; see
//! the [`config`] module.
//!
//! ## What is where
//!
//! The crate root holds what a service uses: [`Telemetry`] and its builder, the [`Metrics`]
//! facade with its [`Catalog`] of [`MetricDef`]s, [`Snapshot`], [`Env`] and the errors. The
//! [`facade`] module has the handle and guard types a service keeps in its own fields;
//! [`buckets`], [`units`] and [`presets`] are the catalog's building blocks; [`config`] is the
//! OpenTelemetry configuration file. Writing an exporter takes the second tier, [`export`]: the
//! [`Plug`](export::Plug) an exporter attaches through, directly written series, exemplars,
//! the pipeline's health.
//!
//! ## In libraries
//!
//! Don't build a pipeline: record through the `opentelemetry` API (`global::meter("my_lib")`, or
//! a `Meter` your caller hands you). The application decides where the data goes.
//!
//! ## Configuration
//!
//! Builder settings win; otherwise the OTel SDK variables apply: `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_METRIC_EXPORT_INTERVAL` (ms). An invalid value is a
//! [`BuildError`] naming the variable, the value and what is accepted. [`Env`] lets tests supply
//! variables without touching the process environment.
//!
//! With a configuration file (`OTEL_CONFIG_FILE`, feature `config-file`) the file replaces the
//! `OTEL_*` variables, which it can still reference as `${NAME}`; builder settings still win.

mod catalog;
pub mod config;
pub mod export;
pub mod facade;
mod pipeline;

#[cfg(feature = "catalog-file")]
#[cfg_attr(docsrs, doc(cfg(feature = "catalog-file")))]
pub use catalog::CatalogFileError;
pub use catalog::{buckets, presets, units, Buckets, Catalog, CatalogError, Kind, MetricDef};
pub use config::env::{Env, ExporterKind};
pub use facade::global;
pub use facade::metrics::Metrics;
pub use facade::snapshot::Snapshot;
pub use pipeline::error::{BuildError, RuntimeError};
pub use pipeline::exemplars::ExemplarFilter;
pub use pipeline::telemetry::{Telemetry, TelemetryBuilder};

/// The histogram operation guards record into (labels `operation`, `status`, `error.type`).
pub const OPERATION_DURATION: &str = "operation.duration";

/// The OpenTelemetry crates this pipeline is built on, re-exported so versions always match.
pub use opentelemetry;
pub use opentelemetry_sdk;
/// The `tracing-opentelemetry` version exemplars read `tracing` spans through (feature
/// `tracing-opentelemetry`).
#[cfg(feature = "tracing-opentelemetry")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing-opentelemetry")))]
pub use tracing_opentelemetry;
