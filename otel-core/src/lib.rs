//! # otel-core
//!
//! The centre of otel-pipeline: one [`Telemetry`] builder owns the OpenTelemetry meter provider,
//! the [`Resource`](opentelemetry_sdk::Resource) (`service.name`, `service.instance.id`, ...) and
//! the attached [`Exporter`]s. Exporters live in `otel-exporters`; instrumentation in
//! `otel-instrumentation`. This crate depends on neither.
//!
//! ## In executables
//!
//! Build the pipeline once in `main`, attach exporters, and keep the handle alive; dropping it
//! flushes and stops everything:
//!
//! ```
//! use otel_core::Telemetry;
//!
//! let telemetry = Telemetry::builder().service_name("checkout").build()?;
//! let orders = telemetry.meter("checkout").u64_counter("orders.placed").build();
//! orders.add(1, &[opentelemetry::KeyValue::new("payment", "card")]);
//! telemetry.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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

pub mod buckets;
mod catalog;
#[cfg(feature = "catalog-file")]
#[cfg_attr(docsrs, doc(cfg(feature = "catalog-file")))]
mod catalog_file;
mod cells;
mod checked;
#[cfg(feature = "config-file")]
#[cfg_attr(docsrs, doc(cfg(feature = "config-file")))]
pub mod config;
mod deadline;
mod direct;
mod env;
mod error;
mod exemplars;
mod exporter;
mod file_config;
pub mod global;
mod guards;
mod handles;
mod health;
mod metrics;
mod operations;
mod pattern;
pub mod presets;
mod quantile;
mod redact;
mod sdk_rules;
mod snapshot;
mod stats;
mod telemetry;
pub mod units;

pub use catalog::{Buckets, Catalog, CatalogError, Kind, MetricDef};
pub use deadline::Deadline;
pub use direct::{DirectKind, DirectMetric, DirectSeries, DirectValue};
pub use env::{Env, ExporterKind};
pub use error::{write_report, BuildError, RuntimeError};
pub use exemplars::{Exemplar, ExemplarFilter, Exemplars, InstrumentExemplars, SUM_RESERVOIR};
pub use exporter::{Exporter, Plug, SharedReader};
pub use guards::{error_type_name, ActiveGuard, DurationGuard, OutcomeGuard};
pub use handles::{BoundCounterHandle, BoundHistogramHandle, CounterHandle, HandleError, HistogramHandle, LabelError};
pub use health::{data_points, warn, Health, Problem};
pub use metrics::Metrics;
pub use operations::{OperationStats, OperationsView};
pub use pattern::wildcard_match;
pub use redact::redact_urls;
pub use snapshot::{HistogramValue, SeriesValue, Snapshot};
pub use telemetry::{Telemetry, TelemetryBuilder};

/// The histogram operation guards record into (labels `operation`, `status`, `error.type`).
pub const OPERATION_DURATION: &str = "operation.duration";

/// The OpenTelemetry crates this pipeline is built on, re-exported so versions always match.
pub use opentelemetry;
pub use opentelemetry_sdk;
