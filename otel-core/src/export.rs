//! For exporter authors: what an [`Exporter`] attaches through and reads.
//!
//! A service needs none of this; it hands exporters to
//! [`TelemetryBuilder::exporter`](crate::TelemetryBuilder::exporter). An exporter receives a
//! [`Plug`]: it attaches an SDK reader (or a push exporter) there, takes the series the facade
//! writes directly ([`DirectSeries`]), the exemplars recorded beside the SDK's points
//! ([`Exemplars`]) and the pipeline's [`Health`], where it reports its own problems.

pub use crate::pipeline::deadline::Deadline;
pub use crate::pipeline::direct::{DirectHistogram, DirectKind, DirectMetric, DirectSeries, DirectValue};
pub use crate::pipeline::error::write_report;
pub use crate::pipeline::exemplars::{Exemplar, Exemplars, InstrumentExemplars, SUM_RESERVOIR};
pub use crate::pipeline::exporter::{Exporter, Plug, SharedReader};
pub use crate::pipeline::health::{data_points, warn, Health, Problem};
pub use crate::pipeline::pattern::wildcard_match;
pub use crate::pipeline::redact::redact_urls;
