//! `measured` 0.0.25 as a peer: the same two families (`a`/`b`-labelled counters and
//! histograms), label values interned with `paracord`, as its own benchmarks do.

use measured::label::StaticLabelSet;
use measured::metric::histogram::Thresholds;
use measured::metric::name::MetricName;
use measured::metric::MetricFamilyEncoding as _;
use measured::text::BufferedTextEncoder;
use measured::{CounterVec, FixedCardinalityLabel, HistogramVec, LabelGroup};
use paracord::ParaCord;

/// The label pair every scrape case records.
#[derive(Clone, Copy, LabelGroup)]
#[label(set = PairSet)]
pub(crate) struct Pair<'a> {
    #[label(dynamic_with = ParaCord)]
    pub(crate) a: &'a str,
    #[label(dynamic_with = ParaCord)]
    pub(crate) b: &'a str,
}

fn pair_set() -> PairSet {
    PairSet { a: ParaCord::default(), b: ParaCord::default() }
}

/// Counters and histograms labelled `a`/`b`, with 15 bounds (`BOUNDS`).
pub(crate) struct Families {
    pub(crate) counters: CounterVec<PairSet>,
    pub(crate) histograms: HistogramVec<PairSet, 15>,
    encoder: BufferedTextEncoder,
}

impl Families {
    pub(crate) fn new(bounds: [f64; 15]) -> Self {
        Families {
            counters: CounterVec::with_label_set(pair_set()),
            histograms: HistogramVec::with_label_set_and_metadata(pair_set(), Thresholds::with_buckets(bounds)),
            encoder: BufferedTextEncoder::new(),
        }
    }

    /// Text exposition of both families.
    pub(crate) fn encode(&mut self) -> Vec<u8> {
        let _ = self.counters.collect_family_into(MetricName::from_str("bench_requests_total"), &mut self.encoder);
        let _ = self.histograms.collect_family_into(MetricName::from_str("bench_latency_seconds"), &mut self.encoder);
        Vec::from(self.encoder.finish())
    }
}

/// The recording cases' three fixed labels (`endpoint`, `method`, `status`), as a label set of
/// known values: measured's fastest (dense) form.
#[derive(Clone, Copy, FixedCardinalityLabel)]
pub(crate) enum Endpoint {
    #[label(rename = "/query")]
    Query,
}

#[derive(Clone, Copy, FixedCardinalityLabel)]
pub(crate) enum Method {
    #[label(rename = "POST")]
    Post,
}

#[derive(Clone, Copy, FixedCardinalityLabel)]
pub(crate) enum Status {
    #[label(rename = "200")]
    Ok,
}

#[derive(Clone, Copy, LabelGroup)]
#[label(set = RequestSet)]
pub(crate) struct Request {
    pub(crate) endpoint: Endpoint,
    pub(crate) method: Method,
    pub(crate) status: Status,
}

pub(crate) const REQUEST: Request = Request { endpoint: Endpoint::Query, method: Method::Post, status: Status::Ok };

pub(crate) fn request_counters() -> CounterVec<RequestSet> {
    CounterVec::with_label_set(RequestSet { endpoint: StaticLabelSet::new(), method: StaticLabelSet::new(), status: StaticLabelSet::new() })
}

pub(crate) fn request_histograms<const N: usize>(bounds: [f64; N]) -> HistogramVec<RequestSet, N> {
    HistogramVec::with_label_set_and_metadata(
        RequestSet { endpoint: StaticLabelSet::new(), method: StaticLabelSet::new(), status: StaticLabelSet::new() },
        Thresholds::with_buckets(bounds),
    )
}

/// The same three labels as strings looked up on every call (interned with `paracord`).
#[derive(Clone, Copy, LabelGroup)]
#[label(set = DynamicRequestSet)]
pub(crate) struct DynamicRequest<'a> {
    #[label(dynamic_with = ParaCord)]
    pub(crate) endpoint: &'a str,
    #[label(dynamic_with = ParaCord)]
    pub(crate) method: &'a str,
    #[label(dynamic_with = ParaCord)]
    pub(crate) status: &'a str,
}

pub(crate) fn dynamic_request_counters() -> CounterVec<DynamicRequestSet> {
    CounterVec::with_label_set(DynamicRequestSet {
        endpoint: ParaCord::default(),
        method: ParaCord::default(),
        status: ParaCord::default(),
    })
}

/// One `series` label, for the contention cases.
#[derive(Clone, Copy, LabelGroup)]
#[label(set = SeriesSet)]
pub(crate) struct Series<'a> {
    #[label(dynamic_with = ParaCord)]
    pub(crate) series: &'a str,
}

pub(crate) fn series_counters() -> CounterVec<SeriesSet> {
    CounterVec::with_label_set(SeriesSet { series: ParaCord::default() })
}

pub(crate) fn series_histograms<const N: usize>(bounds: [f64; N]) -> HistogramVec<SeriesSet, N> {
    HistogramVec::with_label_set_and_metadata(SeriesSet { series: ParaCord::default() }, Thresholds::with_buckets(bounds))
}

pub(crate) fn series_gauges() -> measured::GaugeVec<SeriesSet> {
    measured::GaugeVec::with_label_set(SeriesSet { series: ParaCord::default() })
}
