//! The metrics facade: [`Metrics`](crate::Metrics) records by name against the catalog, with
//! typed handles for hot paths, guards that time a scope, and snapshots of every series.
//!
//! A service reaches all of it from [`Telemetry::metrics`](crate::Telemetry::metrics); the types
//! here are the ones it names when it keeps a handle or a guard in a field.

pub(crate) mod cells;
pub(crate) mod checked;
pub mod global;
mod guards;
mod handles;
pub(crate) mod histogram;
pub(crate) mod metrics;
pub(crate) mod operations;
pub(crate) mod quantile;
pub(crate) mod snapshot;

pub use guards::{error_type_name, ActiveGuard, DurationGuard, OutcomeGuard};
pub use handles::{BoundCounterHandle, BoundHistogramHandle, CounterHandle, HandleError, HistogramHandle, LabelError};
pub use operations::{OperationStats, OperationsView};
pub use snapshot::{HistogramValue, SeriesValue};
