//! Typed handles for hot paths: a counter or histogram looked up once, and label sets bound
//! once (checked against the catalog then).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use opentelemetry::metrics::{BoundHistogram, Histogram};
use opentelemetry::KeyValue;

use crate::catalog::MetricDef;
use crate::facade::cells::{last_wins, series_key, Cells, CounterCell};
use crate::pipeline::exemplars::Reservoirs;
use crate::pipeline::health::{Health, Problem};

/// Counts (and reports once) a counter that reached its largest value.
pub(crate) fn report_saturated(health: &Health, name: &str) {
    health.report(Problem::Saturated, "counter_overflow", name, 1, || {
        format!("metric {name:?}: a counter reached the largest value it can hold and stays there instead of wrapping around")
    });
}

/// A handle could not be made.
#[derive(Clone, thiserror::Error)]
#[error("metric {name:?} {problem}; declare it in the catalog with the matching kind")]
pub struct HandleError {
    pub(crate) name: String,
    pub(crate) problem: &'static str,
}

/// A label set outside the declaration.
#[derive(Clone, thiserror::Error)]
#[error("metric {name:?} does not allow label key {key:?} (allowed: {allowed:?})")]
pub struct LabelError {
    name: String,
    key: String,
    allowed: Vec<String>,
}

fn check_labels(def: &MetricDef, labels: &[KeyValue]) -> Result<(), LabelError> {
    match labels.iter().find(|kv| !def.allows(kv.key.as_str())) {
        Some(bad) => Err(LabelError { name: def.name.clone(), key: bad.key.as_str().to_owned(), allowed: def.labels.clone() }),
        None => Ok(()),
    }
}

/// A declared counter. [`bind`](Self::bind) a static label set once for the fastest path.
#[derive(Clone)]
pub struct CounterHandle {
    pub(crate) def: Arc<MetricDef>,
    pub(crate) cells: Arc<Cells<CounterCell>>,
    pub(crate) enabled: Arc<AtomicBool>,
    pub(crate) health: Health,
    pub(crate) exemplars: Option<Arc<Reservoirs>>,
}

impl fmt::Debug for CounterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CounterHandle").field("name", &self.def.name).finish_non_exhaustive()
    }
}

impl CounterHandle {
    /// Adds `value` with these labels. A label set is checked against the catalog the first
    /// time (a disallowed key drops the recording and counts it); [`bind`](Self::bind) it to
    /// skip even the lookup.
    #[inline]
    pub fn add(&self, value: u64, labels: &[KeyValue]) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        let added = match self.cells.with_known(labels, |cell| cell.add(value)) {
            Some(added) => added,
            None => match check_labels(&self.def, labels) {
                Ok(()) => self.cells.slot(labels).add(value),
                Err(e) => {
                    let message = e.to_string();
                    return self.health.report(Problem::Recording, "label_not_allowed", &self.def.name, 1, || message);
                }
            },
        };
        if !added {
            report_saturated(&self.health, &self.def.name);
        }
        if let Some(exemplars) = &self.exemplars {
            exemplars.offer(value as f64, labels);
        }
    }

    /// Resolves a label set once; adds then cost one atomic add. Past the cardinality limit
    /// the handle adds to the overflow series.
    pub fn bind(&self, labels: &[KeyValue]) -> Result<BoundCounterHandle, LabelError> {
        check_labels(&self.def, labels)?;
        Ok(BoundCounterHandle {
            cell: self.cells.slot(labels).clone(),
            enabled: self.enabled.clone(),
            handle: self.clone(),
            key: series_key(labels),
        })
    }
}

/// A counter with its labels resolved.
#[derive(Clone)]
pub struct BoundCounterHandle {
    cell: Arc<CounterCell>,
    enabled: Arc<AtomicBool>,
    handle: CounterHandle,
    /// The series, as the exemplars key it.
    key: Vec<KeyValue>,
}

impl fmt::Debug for BoundCounterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundCounterHandle").field("name", &self.handle.def.name).field("total", &self.cell.get()).finish()
    }
}

impl BoundCounterHandle {
    /// Adds `value`.
    #[inline]
    pub fn add(&self, value: u64) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        if !self.cell.add(value) {
            report_saturated(&self.handle.health, &self.handle.def.name);
        }
        if let Some(exemplars) = &self.handle.exemplars {
            exemplars.offer_keyed(value as f64, &self.key);
        }
    }
}

/// A declared histogram.
#[derive(Clone)]
pub struct HistogramHandle {
    pub(crate) def: Arc<MetricDef>,
    pub(crate) histogram: Histogram<f64>,
    pub(crate) enabled: Arc<AtomicBool>,
}

impl fmt::Debug for HistogramHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistogramHandle").field("name", &self.def.name).finish_non_exhaustive()
    }
}

impl HistogramHandle {
    /// Records `value` with these labels.
    #[inline]
    pub fn record(&self, value: f64, labels: &[KeyValue]) {
        if self.enabled.load(Ordering::Relaxed) {
            self.histogram.record(value, &last_wins(labels));
        }
    }

    /// Resolves a label set once.
    pub fn bind(&self, labels: &[KeyValue]) -> Result<BoundHistogramHandle, LabelError> {
        check_labels(&self.def, labels)?;
        Ok(BoundHistogramHandle { bound: self.histogram.bind(&last_wins(labels)), enabled: self.enabled.clone() })
    }
}

/// A histogram with its labels resolved.
#[derive(Clone)]
pub struct BoundHistogramHandle {
    bound: BoundHistogram<f64>,
    enabled: Arc<AtomicBool>,
}

impl fmt::Debug for BoundHistogramHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoundHistogramHandle")
    }
}

impl BoundHistogramHandle {
    /// Records `value`.
    #[inline]
    pub fn record(&self, value: f64) {
        if self.enabled.load(Ordering::Relaxed) {
            self.bound.record(value);
        }
    }
}

crate::debug_as_report!(HandleError, LabelError);
