//! In-process snapshots: every series' current value as data, plus an operations view
//! (executions, success rate, durations, percentiles, rate, uptime), serialisable to JSON.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use serde::Serialize;

use crate::quantile::{nearest_rank, PERCENTILES, QUANTILES};

/// Observations kept per operation for its percentiles.
const OPERATION_WINDOW: usize = 1000;

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

/// Totals over all operations, and per operation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OperationsView {
    /// Executions.
    pub total_executions: u64,
    /// Executions that succeeded.
    pub successful_executions: u64,
    /// Executions that failed.
    pub failed_executions: u64,
    /// `successful / total`, 0 when nothing ran.
    pub success_rate: f64,
    /// Seconds spent in all executions.
    pub total_duration: f64,
    /// Seconds per execution.
    pub average_duration: f64,
    /// Executions per second of uptime.
    pub executions_per_second: f64,
    /// Per operation name.
    pub task_stats: BTreeMap<String, OperationStats>,
}

/// One operation's statistics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OperationStats {
    /// Executions.
    pub executions: u64,
    /// Successes.
    pub successes: u64,
    /// Failures.
    pub failures: u64,
    /// `successes / executions`.
    pub success_rate: f64,
    /// Seconds in all executions.
    pub total_duration: f64,
    /// Seconds per execution.
    pub average_duration: f64,
    /// Shortest execution.
    pub min_duration: f64,
    /// Longest execution.
    pub max_duration: f64,
    /// p50…p99 of the last 1000 executions.
    pub quantiles: BTreeMap<&'static str, f64>,
    #[serde(skip)]
    recent: VecDeque<f64>,
}

/// Per-operation statistics kept in process.
#[derive(Debug, Default)]
pub(crate) struct Operations {
    stats: Mutex<BTreeMap<String, OperationStats>>,
}

impl Operations {
    pub(crate) fn record(&self, name: &str, seconds: f64, success: bool) {
        let Ok(mut stats) = self.stats.lock() else { return };
        // Operation names are bounded like label sets: past the limit they share one entry.
        let name = if stats.contains_key(name) || stats.len() < crate::metrics::DEFAULT_CARDINALITY_LIMIT {
            name
        } else {
            crate::cells::OVERFLOW_KEY
        };
        let s = stats.entry(name.to_owned()).or_default();
        if s.executions == 0 {
            s.min_duration = seconds;
            s.max_duration = seconds;
        }
        s.executions += 1;
        if success {
            s.successes += 1;
        } else {
            s.failures += 1;
        }
        s.total_duration += seconds;
        s.min_duration = s.min_duration.min(seconds);
        s.max_duration = s.max_duration.max(seconds);
        if s.recent.len() == OPERATION_WINDOW {
            s.recent.pop_front();
        }
        s.recent.push_back(seconds);
    }

    pub(crate) fn reset(&self) {
        if let Ok(mut stats) = self.stats.lock() {
            stats.clear();
        }
    }

    pub(crate) fn view(&self, uptime: f64) -> OperationsView {
        let mut view = OperationsView::default();
        let Ok(stats) = self.stats.lock() else { return view };
        for (name, s) in stats.iter() {
            let mut s = s.clone();
            s.success_rate = ratio(s.successes as f64, s.executions as f64);
            s.average_duration = ratio(s.total_duration, s.executions as f64);
            let mut sorted: Vec<f64> = s.recent.iter().copied().collect();
            sorted.sort_by(f64::total_cmp);
            s.quantiles = percentiles().map(|(name, q)| (name, nearest_rank(&sorted, q))).collect();
            view.total_executions += s.executions;
            view.successful_executions += s.successes;
            view.failed_executions += s.failures;
            view.total_duration += s.total_duration;
            view.task_stats.insert(name.clone(), s);
        }
        view.success_rate = ratio(view.successful_executions as f64, view.total_executions as f64);
        view.average_duration = ratio(view.total_duration, view.total_executions as f64);
        view.executions_per_second = ratio(view.total_executions as f64, uptime);
        view
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// `(percentile name, quantile)` pairs.
fn percentiles() -> impl Iterator<Item = (&'static str, f64)> {
    PERCENTILES.into_iter().zip(QUANTILES.map(|(q, _)| q))
}

/// Cumulative values at the last reset, subtracted from later snapshots.
#[derive(Debug, Default)]
pub(crate) struct Baseline {
    values: Mutex<Raw>,
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
pub(crate) fn series(metrics: &ResourceMetrics, baseline: &Baseline) -> (Vec<SeriesValue>, Raw) {
    let base = baseline.values.lock().map(|b| b.clone()).unwrap_or_default();
    let mut out = Vec::new();
    let mut raw = HashMap::new();
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
                                let labels = label_map(p.attributes());
                                let key = key_of(metric.name(), &labels);
                                let counts: Vec<u64> = p.bucket_counts().collect();
                                let bounds: Vec<f64> = p.bounds().collect();
                                let (count, sum): (u64, f64) = (p.count(), $as_f64(p.sum()));
                                let b = base.get(&key).cloned().unwrap_or_default();
                                let since: Vec<u64> =
                                    counts.iter().enumerate().map(|(i, c)| c - b.buckets.get(i).copied().unwrap_or(0)).collect();
                                let fresh = base.get(&key).is_none();
                                let value = HistogramValue {
                                    count: count - b.count,
                                    sum: sum - b.sum,
                                    min: if fresh { p.min().map($as_f64) } else { None },
                                    max: if fresh { p.max().map($as_f64) } else { None },
                                    quantiles: percentiles().map(|(name, q)| (name, explicit_quantile(q, &bounds, &since))).collect(),
                                };
                                raw.insert(key, Cumulative { value: 0.0, count, sum, buckets: counts });
                                out.push(histogram(metric.name(), metric.unit(), labels, value));
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

pub(crate) type Raw = HashMap<SeriesKey, Cumulative>;

impl Baseline {
    pub(crate) fn replace(&self, raw: Raw) {
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

/// Linear interpolation inside the bucket holding the quantile's rank, as Prometheus'
/// `histogram_quantile` does; the last finite bound when it falls in `+Inf`.
fn explicit_quantile(q: f64, bounds: &[f64], counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let rank = q * total as f64;
    let mut cumulative = 0u64;
    for (i, count) in counts.iter().enumerate() {
        let before = cumulative;
        cumulative += count;
        if cumulative as f64 >= rank && *count > 0 {
            let Some(upper) = bounds.get(i) else { return bounds.last().copied().unwrap_or(0.0) };
            let lower = if i == 0 { 0.0f64.min(*upper) } else { bounds[i - 1] };
            return lower + (upper - lower) * (rank - before as f64) / *count as f64;
        }
    }
    bounds.last().copied().unwrap_or(0.0)
}

/// The geometric middle of the positive exponential bucket holding the quantile's rank (0 for
/// the zero bucket).
fn exponential_quantile(q: f64, scale: i8, offset: i32, counts: &[u64], zero_count: u64) -> f64 {
    let total: u64 = counts.iter().sum::<u64>() + zero_count;
    if total == 0 {
        return 0.0;
    }
    let rank = q * total as f64;
    let mut cumulative = zero_count;
    if cumulative as f64 >= rank {
        return 0.0;
    }
    let base = 2f64.powf(2f64.powi(-i32::from(scale)));
    for (i, count) in counts.iter().enumerate() {
        cumulative += count;
        if cumulative as f64 >= rank {
            let index = f64::from(offset) + i as f64;
            return (base.powf(index) * base.powf(index + 1.0)).sqrt();
        }
    }
    0.0
}

/// The time now, for snapshots.
pub(crate) fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}

/// Seconds since `started`.
pub(crate) fn uptime(started: Instant) -> f64 {
    started.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_quantiles_interpolate_like_prometheus() {
        // 50 in (0.1, 0.2], 50 in (0.2, 0.5].
        let bounds = [0.1, 0.2, 0.5, 1.0];
        let counts = [0, 50, 50, 0, 0];
        assert!((explicit_quantile(0.5, &bounds, &counts) - 0.2).abs() < 1e-12);
        assert!((explicit_quantile(0.9, &bounds, &counts) - 0.44).abs() < 1e-12);
    }

    #[test]
    fn exponential_quantile_lands_in_the_right_bucket() {
        // Scale 0: bucket i holds (2^i, 2^(i+1)]. 10 values in (4, 8].
        let q = exponential_quantile(0.5, 0, 2, &[10], 0);
        assert!(q > 4.0 && q <= 8.0, "{q}");
    }

    #[test]
    fn operations_view_counts_rates_and_extremes() {
        let ops = Operations::default();
        ops.record("sync", 0.5, true);
        ops.record("sync", 1.5, false);
        ops.record("sync", 1.0, true);
        let view = ops.view(3.0);
        assert_eq!((view.total_executions, view.successful_executions, view.failed_executions), (3, 2, 1));
        assert!((view.success_rate - 2.0 / 3.0).abs() < 1e-12);
        assert!((view.executions_per_second - 1.0).abs() < 1e-12);
        let s = &view.task_stats["sync"];
        assert_eq!((s.min_duration, s.max_duration, s.average_duration), (0.5, 1.5, 1.0));
        assert_eq!(s.quantiles["p50"], 1.0);
        ops.reset();
        assert_eq!(ops.view(1.0).total_executions, 0);
    }
}
