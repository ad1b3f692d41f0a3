//! In-process snapshots: every series' current value as data, plus an operations view
//! (executions, success rate, durations, percentiles, rate, uptime), serialisable to JSON.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use serde::Serialize;

use crate::facade::operations::OperationsView;
use crate::pipeline::direct::{DirectHistogram, DirectKind, DirectSeries, DirectValue};
use crate::pipeline::stats::{explicit_quantile, exponential_quantile, percentiles};

/// Everything the pipeline holds, at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// When it was taken, in milliseconds since the Unix epoch.
    pub taken_at_unix_ms: u128,
    /// Seconds since the pipeline was built.
    pub uptime_seconds: f64,
    /// Every series (since the last [`reset`](crate::Telemetry::reset_snapshot) for counters
    /// and histograms).
    pub series: Vec<SeriesValue>,
    /// Executions recorded through operation guards.
    pub operations: OperationsView,
}

/// One series.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesValue {
    /// OTel metric name.
    pub name: String,
    /// UCUM unit.
    pub unit: String,
    /// `counter`, `up_down_counter`, `gauge` or `histogram`.
    pub kind: &'static str,
    /// Attribute keys and values.
    pub labels: BTreeMap<String, String>,
    /// The value of a counter or gauge.
    pub value: Option<f64>,
    /// The distribution of a histogram.
    pub histogram: Option<HistogramValue>,
}

/// A histogram series.
#[derive(Debug, Clone, Serialize)]
pub struct HistogramValue {
    /// Observations.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// Smallest observation (not kept across a reset).
    pub min: Option<f64>,
    /// Largest observation (not kept across a reset).
    pub max: Option<f64>,
    /// p50, p75, p90, p95, p99 estimated from the buckets (linear inside explicit buckets, the
    /// geometric middle of exponential buckets).
    pub quantiles: BTreeMap<&'static str, f64>,
}

/// Cumulative values at the last reset, subtracted from later snapshots.
#[derive(Debug, Default)]
pub(crate) struct Baseline {
    values: Mutex<Cumulatives>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Cumulative {
    value: f64,
    count: u64,
    sum: f64,
    buckets: Vec<u64>,
}

impl Snapshot {
    /// The snapshot as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
    }

    /// The value of the counter or gauge series `name` with exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.find(name, labels).and_then(|s| s.value)
    }

    /// The histogram series `name` with exactly these labels.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Option<&HistogramValue> {
        self.find(name, labels).and_then(|s| s.histogram.as_ref())
    }

    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<&SeriesValue> {
        self.series.iter().find(|s| {
            s.name == name && s.labels.len() == labels.len() && labels.iter().all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
    }
}

type SeriesKey = (String, Vec<(String, String)>);

/// Builds the series of a snapshot, less the baseline; also returns the raw cumulative values
/// (to become the next baseline on reset).
pub(crate) fn series(metrics: &ResourceMetrics, direct: &DirectSeries, baseline: &Baseline) -> (Vec<SeriesValue>, Cumulatives) {
    let base = baseline.values.lock().map(|b| b.clone()).unwrap_or_default();
    let mut out = Vec::new();
    let mut raw = HashMap::new();
    // The histograms kept in the pipeline's cells (the SDK's collection has the facade's other
    // metrics through their observable instruments).
    for metric in direct.metrics().iter().filter(|m| m.kind() == DirectKind::Histogram) {
        metric.for_each_series(|attributes, value| {
            if let DirectValue::Histogram(point) = value {
                explicit(metric.name(), metric.unit(), label_map(attributes.iter()), point, &base, &mut raw, &mut out);
            }
        });
    }
    for scope in metrics.scope_metrics() {
        for metric in scope.metrics() {
            macro_rules! points {
                ($data:expr, $as_f64:expr) => {
                    match $data {
                        MetricData::Gauge(g) => {
                            for p in g.data_points() {
                                let labels = label_map(p.attributes());
                                out.push(number(metric.name(), metric.unit(), "gauge", labels, $as_f64(p.value())));
                            }
                        }
                        MetricData::Sum(s) => {
                            let kind = if s.is_monotonic() { "counter" } else { "up_down_counter" };
                            for p in s.data_points() {
                                let labels = label_map(p.attributes());
                                let key = key_of(metric.name(), &labels);
                                let value: f64 = $as_f64(p.value());
                                let since = value - base.get(&key).map_or(0.0, |b| b.value);
                                raw.insert(key, Cumulative { value, ..Cumulative::default() });
                                out.push(number(metric.name(), metric.unit(), kind, labels, since));
                            }
                        }
                        MetricData::Histogram(h) => {
                            for p in h.data_points() {
                                let counts: Vec<u64> = p.bucket_counts().collect();
                                let bounds: Vec<f64> = p.bounds().collect();
                                let point = DirectHistogram {
                                    bounds: &bounds,
                                    counts: &counts,
                                    count: p.count(),
                                    sum: $as_f64(p.sum()),
                                    min: p.min().map($as_f64),
                                    max: p.max().map($as_f64),
                                };
                                explicit(metric.name(), metric.unit(), label_map(p.attributes()), point, &base, &mut raw, &mut out);
                            }
                        }
                        MetricData::ExponentialHistogram(h) => {
                            for p in h.data_points() {
                                let labels = label_map(p.attributes());
                                let scale = p.scale();
                                let offset = p.positive_bucket().offset();
                                let counts: Vec<u64> = p.positive_bucket().counts().collect();
                                let value = HistogramValue {
                                    count: p.count() as u64,
                                    sum: $as_f64(p.sum()),
                                    min: p.min().map($as_f64),
                                    max: p.max().map($as_f64),
                                    quantiles: percentiles()
                                        .map(|(name, q)| (name, exponential_quantile(q, scale, offset, &counts, p.zero_count())))
                                        .collect(),
                                };
                                out.push(histogram(metric.name(), metric.unit(), labels, value));
                            }
                        }
                    }
                };
            }
            match metric.data() {
                AggregatedMetrics::F64(d) => points!(d, |v: f64| v),
                AggregatedMetrics::U64(d) => points!(d, |v: u64| v as f64),
                AggregatedMetrics::I64(d) => points!(d, |v: i64| v as f64),
            }
        }
    }
    (out, raw)
}

pub(crate) type Cumulatives = HashMap<SeriesKey, Cumulative>;

/// An explicit-bucket histogram series since the baseline, with its quantiles; its raw
/// cumulative values go to `raw` (the next baseline, should it be reset).
fn explicit(
    name: &str,
    unit: &str,
    labels: BTreeMap<String, String>,
    point: DirectHistogram<'_>,
    base: &Cumulatives,
    raw: &mut Cumulatives,
    out: &mut Vec<SeriesValue>,
) {
    let key = key_of(name, &labels);
    let b = base.get(&key).cloned().unwrap_or_default();
    let since: Vec<u64> = point.counts.iter().enumerate().map(|(i, c)| c - b.buckets.get(i).copied().unwrap_or(0)).collect();
    let fresh = !base.contains_key(&key);
    let value = HistogramValue {
        count: point.count - b.count,
        sum: point.sum - b.sum,
        min: point.min.filter(|_| fresh),
        max: point.max.filter(|_| fresh),
        quantiles: percentiles().map(|(name, q)| (name, explicit_quantile(q, point.bounds, &since))).collect(),
    };
    raw.insert(key, Cumulative { value: 0.0, count: point.count, sum: point.sum, buckets: point.counts.to_vec() });
    out.push(histogram(name, unit, labels, value));
}

impl Baseline {
    pub(crate) fn replace(&self, raw: Cumulatives) {
        if let Ok(mut values) = self.values.lock() {
            *values = raw;
        }
    }
}

fn key_of(name: &str, labels: &BTreeMap<String, String>) -> SeriesKey {
    (name.to_owned(), labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn label_map<'a>(attributes: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> BTreeMap<String, String> {
    attributes.map(|kv| (kv.key.as_str().to_owned(), kv.value.as_str().into_owned())).collect()
}

fn number(name: &str, unit: &str, kind: &'static str, labels: BTreeMap<String, String>, value: f64) -> SeriesValue {
    SeriesValue { name: name.to_owned(), unit: unit.to_owned(), kind, labels, value: Some(value), histogram: None }
}

fn histogram(name: &str, unit: &str, labels: BTreeMap<String, String>, value: HistogramValue) -> SeriesValue {
    SeriesValue { name: name.to_owned(), unit: unit.to_owned(), kind: "histogram", labels, value: None, histogram: Some(value) }
}

/// The time now, for snapshots.
pub(crate) fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}

/// Seconds since `started`.
pub(crate) fn uptime(started: Instant) -> f64 {
    started.elapsed().as_secs_f64()
}
