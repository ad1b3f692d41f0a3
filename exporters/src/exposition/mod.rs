//! The exposition: one walk over a collection that every text- and protobuf-producing exporter
//! shares (the endpoint, textfile, Pushgateway, line protocol, console).
//!
//! Leaves first: `naming` (OTel → Prometheus names) and `format` (text primitives). `labels`
//! builds each point's label set; `walk` translates, groups and checks a collection and hands
//! it point by point to a `writer::Writer`, which `text` (0.0.4 and OpenMetrics), `proto` and
//! `line_protocol` implement. `negotiate` picks a format from a request; `scraper` collects
//! and encodes on demand.

#[doc(hidden)]
pub mod conformance;
mod format;
pub(crate) mod issues;
mod labels;
#[cfg(feature = "influx")]
mod line_protocol;
mod naming;
pub(crate) mod negotiate;
pub(crate) mod options;
mod proto;
pub(crate) mod scraper;
mod text;
mod walk;
mod writer;

pub use naming::{unit_name, Escaping, LabelNamer, MetricNamer, MetricType, NamingError, TranslationStrategy};
pub use negotiate::{negotiate, Format, Negotiated};
pub use options::EncodeOptions;
pub use scraper::{Exposition, ScrapeError, Scraper};
