//! The facade's counters, up-down counters and gauges written by the pipeline's own pull
//! readers straight from their cells. Otherwise they are reported through observable
//! instruments, which the SDK aggregates a second time at every collection (hashing and copying
//! every label set): at 100,000 series that second aggregation is most of a scrape.
//!
//! A reader that writes them itself collects inside [`DirectSeries::collect`], during which the
//! facade's observable instruments observe nothing on that thread, then writes each of
//! [`DirectSeries::metrics`] and leaves out any SDK data for those names (another reader's collection
//! may have left some). Other readers (OTLP, your own) still get them from the SDK.

use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use opentelemetry::{InstrumentationScope, KeyValue};

use crate::facade::cells::{Cells, CounterCell, GaugeCell};
use crate::{MetricDef, Metrics};

thread_local! {
    /// Set while a reader that writes the facade's series itself collects on this thread.
    static WRITING_DIRECTLY: Cell<bool> = const { Cell::new(false) };
}

/// Whether the facade's observable instruments report to the SDK in the current collection.
pub(crate) fn observing() -> bool {
    !WRITING_DIRECTLY.with(Cell::get)
}

/// Restores the flag when the collection ends, also by unwinding.
struct Writing(bool);

impl Drop for Writing {
    fn drop(&mut self) {
        WRITING_DIRECTLY.with(|w| w.set(self.0));
    }
}

/// The facade's series for readers that write them themselves (see the module docs). Handed out
/// by [`Plug::direct_series`](crate::export::Plug::direct_series); empty (every method a no-op) when the
/// pipeline has views, which the SDK applies and a direct writer would bypass.
#[derive(Clone, Default)]
pub struct DirectSeries {
    facade: Arc<OnceLock<Option<Facade>>>,
}

struct Facade {
    scope: InstrumentationScope,
    metrics: Metrics,
    /// Whether its series are written directly (not when views shape the streams).
    direct: bool,
}

impl std::fmt::Debug for DirectSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectSeries").field("active", &self.facade().is_some()).finish()
    }
}

impl DirectSeries {
    /// Set once the pipeline is built; `direct` is false when its streams are shaped by views.
    pub(crate) fn fill(&self, scope: InstrumentationScope, metrics: Metrics, direct: bool) {
        let _ = self.facade.set(Some(Facade { scope, metrics, direct }));
    }

    /// The facade, when its series are written directly.
    fn facade(&self) -> Option<&Facade> {
        self.facade.get().and_then(Option::as_ref).filter(|f| f.direct)
    }

    /// For the SDK's metric `name` of `scope` that is a quantile timer's quantiles: the names of
    /// its `count` and `sum` metrics, so that a writer can show the three as one summary.
    pub fn summary_parts(&self, scope: &InstrumentationScope, name: &str) -> Option<(String, String)> {
        let facade = self.facade.get().and_then(Option::as_ref)?;
        (facade.scope == *scope).then(|| facade.metrics.timer_companions(name))?
    }

    /// Runs an SDK collection during which the facade's observable instruments observe
    /// nothing (on this thread): its series are then written from [`metrics`](Self::metrics).
    pub fn collect<R>(&self, collect: impl FnOnce() -> R) -> R {
        if self.facade().is_none() {
            return collect();
        }
        let _restore = Writing(WRITING_DIRECTLY.with(|w| w.replace(true)));
        collect()
    }

    /// Whether the SDK's metric `name` of `scope` is one written directly (and so to be left out).
    pub fn is_direct(&self, scope: &InstrumentationScope, name: &str) -> bool {
        self.facade().is_some_and(|f| f.scope == *scope && f.metrics.direct_def(name).is_some())
    }

    /// The scope the facade's metrics belong to, when they are written directly.
    pub fn scope(&self) -> Option<&InstrumentationScope> {
        self.facade().map(|f| &f.scope)
    }

    /// Every metric written directly that has at least one series.
    pub fn metrics(&self) -> Vec<DirectMetric<'_>> {
        self.facade().map(|f| f.metrics.direct_metrics().filter(DirectMetric::has_series).collect()).unwrap_or_default()
    }
}

/// What a directly written metric is, as OpenTelemetry names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectKind {
    /// A monotonic cumulative sum of `u64`.
    Counter,
    /// A non-monotonic cumulative sum of `i64`.
    UpDownCounter,
    /// A gauge of `f64`.
    Gauge,
}

/// One series' value.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum DirectValue {
    /// A counter's total.
    U64(u64),
    /// An up-down counter's total or a gauge's value.
    F64(f64),
}

/// The cells of one metric.
pub(crate) enum DirectCells<'a> {
    Counter(&'a Cells<CounterCell>),
    UpDown(&'a Cells<GaugeCell>),
    Gauge(&'a Cells<GaugeCell>),
}

/// A facade metric with its series, read from its cells.
pub struct DirectMetric<'a> {
    pub(crate) def: &'a MetricDef,
    pub(crate) cells: DirectCells<'a>,
    pub(crate) start: std::time::SystemTime,
}

impl std::fmt::Debug for DirectMetric<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectMetric").field("name", &self.def.name).field("kind", &self.kind()).finish()
    }
}

impl DirectMetric<'_> {
    /// The metric's OpenTelemetry name.
    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// Its unit (UCUM), empty for none.
    pub fn unit(&self) -> &str {
        &self.def.unit
    }

    /// Its description, empty for none.
    pub fn description(&self) -> &str {
        &self.def.description
    }

    /// When its cumulative series started: the pipeline's start (a counter's created timestamp).
    pub fn start_time(&self) -> std::time::SystemTime {
        self.start
    }

    /// Counter, up-down counter or gauge.
    pub fn kind(&self) -> DirectKind {
        match self.cells {
            DirectCells::Counter(_) => DirectKind::Counter,
            DirectCells::UpDown(_) => DirectKind::UpDownCounter,
            DirectCells::Gauge(_) => DirectKind::Gauge,
        }
    }

    fn has_series(&self) -> bool {
        match self.cells {
            DirectCells::Counter(cells) => cells.has_series(),
            DirectCells::UpDown(cells) | DirectCells::Gauge(cells) => cells.has_series(),
        }
    }

    /// Every series: its attributes (keys sorted, each once) and value, the overflow series
    /// (`otel.metric.overflow=true`) last when it recorded anything, as the observable
    /// instruments report them. New series wait while this runs.
    pub fn for_each_series(&self, mut visit: impl FnMut(&[KeyValue], DirectValue)) {
        match self.cells {
            DirectCells::Counter(cells) => cells.for_each(|labels, c| visit(labels, DirectValue::U64(c.get()))),
            DirectCells::UpDown(cells) | DirectCells::Gauge(cells) => cells.for_each(|labels, c| visit(labels, DirectValue::F64(c.get()))),
        }
    }
}
