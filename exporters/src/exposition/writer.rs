//! What a format sees of a walk: family heads, label sets, numbers, histogram and summary
//! points, and the [`Writer`] trait each format (text, OpenMetrics, protobuf, line protocol)
//! implements.

use std::borrow::Cow;

use otel_core::export::Exemplar;

use opentelemetry_sdk::metrics::data::ExponentialBucket;

/// The Prometheus type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
    /// A quantile timer: quantile samples, `_count` and `_sum`.
    Summary,
    /// `target_info`: an info metric in OpenMetrics, a gauge elsewhere.
    Info,
}

impl Kind {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge | Kind::Info => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

/// A family's metadata.
pub(crate) struct FamilyHead<'a> {
    pub(crate) name: &'a str,
    pub(crate) help: &'a str,
    /// The unit word (`seconds`), empty for none.
    pub(crate) unit: &'a str,
    pub(crate) kind: Kind,
}

impl FamilyHead<'_> {
    /// The unit a format declares for the family written as `name`: only when the name ends in
    /// it (the OpenMetrics rule, which protobuf follows too).
    pub(crate) fn declared_unit(&self, name: &str) -> Option<&str> {
        (!self.unit.is_empty() && name.strip_suffix(self.unit).is_some_and(|rest| rest.ends_with('_'))).then_some(self.unit)
    }
}

/// A number as recorded: integers stay exact.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Number {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Number::U64(v) => v as f64,
            Number::I64(v) => v as f64,
            Number::F64(v) => v,
        }
    }
}

/// An exponential histogram's buckets, independent of the recorded number type.
pub(crate) struct Exponential<'a> {
    pub(crate) scale: i8,
    pub(crate) zero_count: u64,
    pub(crate) zero_threshold: f64,
    pub(crate) positive: &'a ExponentialBucket,
    pub(crate) negative: &'a ExponentialBucket,
}

/// A histogram point.
pub(crate) struct HistogramPoint<'a> {
    pub(crate) count: u64,
    pub(crate) sum: f64,
    /// Whether a negative value was recorded: then `sum` is no counter, and OpenMetrics leaves
    /// it out.
    pub(crate) negative: bool,
    /// Explicit buckets: upper bounds (without `+Inf`), their `le` text, and per-bucket counts
    /// (one more than bounds).
    pub(crate) bounds: &'a [f64],
    pub(crate) le: &'a [String],
    pub(crate) counts: &'a [u64],
    /// Set for exponential histograms (then `bounds`/`le`/`counts` hold the derived classic
    /// buckets on the exponential boundaries).
    pub(crate) exponential: Option<Exponential<'a>>,
    /// The latest exemplar of each classic bucket (the last one is `+Inf`'s); empty when the
    /// series has none.
    pub(crate) exemplars: &'a [Option<Exemplar>],
}

pub(crate) type Labels<'a> = [(Cow<'a, str>, Cow<'a, str>)];

/// A summary point: a quantile timer's window quantiles and its all-time count and sum.
pub(crate) struct SummaryPoint<'a> {
    /// `(quantile label text, value)`, in the order recorded.
    pub(crate) quantiles: &'a [(String, f64)],
    pub(crate) count: u64,
    pub(crate) sum: f64,
}

/// A format's side of the walk.
pub(crate) trait Writer {
    fn family(&mut self, head: &FamilyHead<'_>);
    /// A gauge's or counter's sample; a counter may bring its latest exemplar.
    fn number(&mut self, head: &FamilyHead<'_>, labels: &Labels<'_>, value: Number, exemplar: Option<&Exemplar>);
    fn histogram(&mut self, head: &FamilyHead<'_>, labels: &Labels<'_>, point: &HistogramPoint<'_>);
    /// A summary's series: each quantile (its label text and value), then its count and sum.
    fn summary(&mut self, head: &FamilyHead<'_>, labels: &Labels<'_>, point: &SummaryPoint<'_>);
    /// When the cumulative series that follow (a counter's, a histogram's) started, for the
    /// formats that carry a created timestamp; `None` for those of gauges.
    fn start_time(&mut self, _start: Option<std::time::SystemTime>) {}
    fn finish(&mut self);
}
