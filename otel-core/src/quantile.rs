//! Quantile timers: p50–p99 over a sliding window of recent observations per series, reported
//! as a gauge family with a `quantile` label plus `_count` and `_sum` gauges.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;

use crate::catalog::MetricDef;
use crate::cells::Cells;

/// The label a quantile timer adds to its quantile series; a timer cannot declare it itself.
pub(crate) const QUANTILE_LABEL: &str = "quantile";

/// The quantiles reported, with their label values.
pub const QUANTILES: [(f64, &str); 5] = [(0.5, "0.5"), (0.75, "0.75"), (0.9, "0.9"), (0.95, "0.95"), (0.99, "0.99")];

/// The same quantiles as percentile names, as snapshots show them.
pub(crate) const PERCENTILES: [&str; 5] = ["p50", "p75", "p90", "p95", "p99"];

/// One series' window of recent observations, plus its all-time count and sum.
#[derive(Debug, Clone, Default)]
pub(crate) struct Window {
    recent: VecDeque<f64>,
    count: u64,
    sum: f64,
}

impl Window {
    fn push(&mut self, value: f64, capacity: usize) {
        if self.recent.len() >= capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(value);
        self.count += 1;
        self.sum += value;
    }
}

/// A quantile timer: one window per label set, at most the metric's cardinality limit of them.
pub(crate) struct Timer {
    capacity: usize,
    windows: Cells<Mutex<Window>>,
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

fn used(window: &Mutex<Window>) -> bool {
    window.lock().is_ok_and(|w| w.count > 0)
}

impl Timer {
    /// Registers the timer's three observable families and returns the timer.
    pub(crate) fn register(meter: &Meter, def: &MetricDef, capacity: usize, limit: usize) -> Arc<Self> {
        let timer = Arc::new(Timer { capacity, windows: Cells::new(limit) });
        let t = timer.clone();
        let _quantiles = meter
            .f64_observable_gauge(def.name.clone())
            .with_unit(def.unit.clone())
            .with_description(def.description.clone())
            .with_callback(move |observer| {
                t.windows.for_each(
                    |labels, window| {
                        let Ok(window) = window.lock() else { return };
                        for ((_, label), value) in QUANTILES.iter().zip(quantiles(&window.recent)) {
                            let mut with_quantile = labels.to_vec();
                            with_quantile.push(KeyValue::new(QUANTILE_LABEL, *label));
                            observer.observe(value, &with_quantile);
                        }
                    },
                    used,
                );
            })
            .build();
        let t = timer.clone();
        let _count = meter
            .u64_observable_gauge(companion(def, "count"))
            .with_description(format!("Observations of {}", def.name))
            .with_callback(move |observer| {
                t.windows.for_each(|labels, w| observer.observe(w.lock().map(|w| w.count).unwrap_or(0), labels), used);
            })
            .build();
        let t = timer.clone();
        let _sum = meter
            .f64_observable_gauge(companion(def, "sum"))
            .with_description(format!("Sum of the observations of {}", def.name))
            .with_callback(move |observer| {
                t.windows.for_each(|labels, w| observer.observe(w.lock().map(|w| w.sum).unwrap_or(0.0), labels), used);
            })
            .build();
        timer
    }

    pub(crate) fn observe(&self, value: f64, labels: &[KeyValue]) {
        if let Ok(mut window) = self.windows.slot(labels).cell().lock() {
            window.push(value, self.capacity);
        }
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
        let mut w = Window::default();
        for v in [100.0, 1.0, 2.0, 3.0] {
            w.push(v, 3);
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
