//! Quantile timers: p50–p99 over a sliding window of recent observations per series, reported
//! as a gauge family with a `quantile` label plus `_count` and `_sum` gauges.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;

use crate::catalog::MetricDef;

/// The quantiles reported, with their label values.
pub const QUANTILES: [(f64, &str); 5] = [(0.5, "0.5"), (0.75, "0.75"), (0.9, "0.9"), (0.95, "0.95"), (0.99, "0.99")];

/// The same quantiles as percentile names, as snapshots show them.
pub(crate) const PERCENTILES: [&str; 5] = ["p50", "p75", "p90", "p95", "p99"];

/// One series' window.
#[derive(Debug, Clone)]
struct Window {
    recent: VecDeque<f64>,
    capacity: usize,
    count: u64,
    sum: f64,
}

impl Window {
    fn push(&mut self, value: f64) {
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(value);
        self.count += 1;
        self.sum += value;
    }
}

type Series = HashMap<Vec<KeyValue>, Window>;
/// A timer's window size and its series.
type Registered = (usize, Arc<Mutex<Series>>);

/// Every quantile timer of a facade.
#[derive(Default)]
pub(crate) struct Timers {
    by_name: Mutex<HashMap<String, Registered>>,
}

/// The `_count` / `_sum` instrument name for a timer: after translation it is the timer's own
/// Prometheus name plus the suffix (`task.poll.time` in `s` → `task_poll_time_seconds_count`).
fn companion(def: &MetricDef, suffix: &str) -> String {
    let unit_word = match def.unit.as_str() {
        "s" => ".seconds",
        "ms" => ".milliseconds",
        "By" => ".bytes",
        _ => "",
    };
    format!("{}{unit_word}.{suffix}", def.name)
}

impl Timers {
    pub(crate) fn register(&self, meter: &Meter, def: &MetricDef, window: usize) {
        let series: Arc<Mutex<Series>> = Arc::default();
        if let Ok(mut by_name) = self.by_name.lock() {
            by_name.insert(def.name.clone(), (window, series.clone()));
        }
        let windows = series.clone();
        let _quantiles = meter
            .f64_observable_gauge(def.name.clone())
            .with_unit(def.unit.clone())
            .with_description(def.description.clone())
            .with_callback(move |observer| {
                let Ok(series) = windows.lock() else { return };
                for (labels, window) in series.iter() {
                    for ((_, label), value) in QUANTILES.iter().zip(quantiles(&window.recent)) {
                        let mut with_quantile = labels.clone();
                        with_quantile.push(KeyValue::new("quantile", *label));
                        observer.observe(value, &with_quantile);
                    }
                }
            })
            .build();
        let windows = series.clone();
        let _count = meter
            .u64_observable_gauge(companion(def, "count"))
            .with_description(format!("Observations of {}", def.name))
            .with_callback(move |observer| {
                let Ok(series) = windows.lock() else { return };
                for (labels, window) in series.iter() {
                    observer.observe(window.count, labels);
                }
            })
            .build();
        let windows = series;
        let _sum = meter
            .f64_observable_gauge(companion(def, "sum"))
            .with_description(format!("Sum of the observations of {}", def.name))
            .with_callback(move |observer| {
                let Ok(series) = windows.lock() else { return };
                for (labels, window) in series.iter() {
                    observer.observe(window.sum, labels);
                }
            })
            .build();
    }

    pub(crate) fn observe(&self, name: &str, value: f64, labels: &[KeyValue]) {
        let Some((capacity, series)) = self.by_name.lock().ok().and_then(|m| m.get(name).cloned()) else { return };
        let Ok(mut windows) = series.lock() else { return };
        windows
            .entry(crate::metrics::series_key(labels))
            .or_insert_with(|| Window { recent: VecDeque::with_capacity(capacity.min(4096)), capacity, count: 0, sum: 0.0 })
            .push(value);
    }
}

/// p50, p75, p90, p95, p99 of `values` (nearest rank); zeros when empty.
pub(crate) fn quantiles(values: &VecDeque<f64>) -> [f64; 5] {
    let mut sorted: Vec<f64> = values.iter().copied().collect();
    sorted.sort_by(f64::total_cmp);
    QUANTILES.map(|(q, _)| nearest_rank(&sorted, q))
}

/// The nearest-rank quantile of sorted values.
pub(crate) fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles_of_one_to_a_hundred() {
        let values: VecDeque<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantiles(&values), [50.0, 75.0, 90.0, 95.0, 99.0]);
    }

    #[test]
    fn the_window_keeps_only_the_last_observations_but_counts_all() {
        let mut w = Window { recent: VecDeque::new(), capacity: 3, count: 0, sum: 0.0 };
        for v in [100.0, 1.0, 2.0, 3.0] {
            w.push(v);
        }
        assert_eq!(w.recent, [1.0, 2.0, 3.0]);
        assert_eq!((w.count, w.sum), (4, 106.0));
    }

    #[test]
    fn companions_translate_next_to_the_timer() {
        let def = MetricDef::quantile_timer("task.poll.time");
        assert_eq!(companion(&def, "count"), "task.poll.time.seconds.count");
    }
}
