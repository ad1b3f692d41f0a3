//! Quantile timers: p50–p99 over a sliding window of recent observations per series, reported
//! as a gauge family with a `quantile` label plus `_count` and `_sum` gauges.

use std::sync::{Arc, Mutex};

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;

use crate::catalog::{MetricDef, QUANTILE_LABEL};
use crate::facade::cells::{Cell, Cells};
use crate::pipeline::stats::{Window, QUANTILES};

/// A quantile timer: one window per label set, at most the metric's cardinality limit of them.
pub(crate) struct Timer {
    capacity: usize,
    windows: Cells<Mutex<Window>>,
}

pub(crate) fn companion(def: &MetricDef, suffix: &str) -> String {
    def.companion_name(suffix).unwrap_or_else(|| format!("{}.{suffix}", def.name))
}

impl Cell for Mutex<Window> {
    fn used(&self) -> bool {
        self.lock().is_ok_and(|w| w.count > 0)
    }
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
                t.windows.for_each(|labels, window| {
                    let Ok(window) = window.lock() else { return };
                    // The timer's own `quantile` label, never an attribute of that name (a
                    // definition that allows other labels could bring one).
                    let own: Vec<KeyValue> = labels.iter().filter(|kv| kv.key.as_str() != QUANTILE_LABEL).cloned().collect();
                    for ((_, label), value) in QUANTILES.iter().zip(window.quantiles()) {
                        let mut with_quantile = own.clone();
                        with_quantile.push(KeyValue::new(QUANTILE_LABEL, *label));
                        observer.observe(value, &with_quantile);
                    }
                });
            })
            .build();
        let t = timer.clone();
        let _count = meter
            .u64_observable_gauge(companion(def, "count"))
            .with_description(format!("Observations of {}", def.name))
            .with_callback(move |observer| {
                t.windows.for_each(|labels, w| observer.observe(w.lock().map(|w| w.count).unwrap_or(0), labels));
            })
            .build();
        let t = timer.clone();
        let _sum = meter
            .f64_observable_gauge(companion(def, "sum"))
            .with_description(format!("Sum of the observations of {}", def.name))
            .with_callback(move |observer| {
                t.windows.for_each(|labels, w| observer.observe(w.lock().map(|w| w.sum).unwrap_or(0.0), labels));
            })
            .build();
        timer
    }

    pub(crate) fn observe(&self, value: f64, labels: &[KeyValue]) {
        if let Ok(mut window) = self.windows.slot(labels).lock() {
            window.push(value, self.capacity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companions_translate_next_to_the_timer() {
        assert_eq!(companion(&MetricDef::quantile_timer("task.poll.time"), "count"), "task.poll.time.seconds.count");
        assert_eq!(companion(&MetricDef::quantile_timer("t").unit("us"), "sum"), "t.microseconds.sum");
        assert_eq!(companion(&MetricDef::quantile_timer("t").unit("By/s"), "sum"), "t.bytes.per_second.sum");
        assert_eq!(companion(&MetricDef::quantile_timer("t").unit("{job}"), "count"), "t.count");
    }
}
