//! The pipeline: the meter provider and resource a [`Telemetry`](crate::Telemetry) owns, the
//! exporters plugged into it, exemplars, the pipeline's own health and self-metrics.

pub(crate) mod deadline;
pub(crate) mod direct;
pub(crate) mod error;
pub(crate) mod exemplars;
pub(crate) mod exporter;
pub(crate) mod health;
pub(crate) mod pattern;
pub(crate) mod redact;
pub(crate) mod stats;
pub(crate) mod telemetry;
