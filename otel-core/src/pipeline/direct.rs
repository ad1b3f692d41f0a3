//! Series the pipeline's own readers write straight from the pipeline's cells.
//!
//! The facade's counters, up-down counters and gauges: otherwise they are reported through
//! observable instruments, which the SDK aggregates a second time at every collection (hashing
//! and copying every label set): at 100,000 series that second aggregation is most of a scrape.
//! A reader that writes them itself collects inside [`DirectSeries::collect`], during which the
//! facade's observable instruments observe nothing on that thread, then writes each of
//! [`DirectSeries::metrics`] and leaves out any SDK data for those names (another reader's
//! collection may have left some). Other readers (your own) still get them from the SDK.
//!
//! Histograms: when every reader of the pipeline writes direct series (the pipeline's own
//! exporters do; OTLP with cumulative temporality included), every histogram made with the
//! pipeline's meters (the facade's, the instrumentation's, your own) is kept in sharded cells of
//! the pipeline's ([`HistogramInstrument`]) instead of the SDK's per-series mutex, and exists only
//! in [`DirectSeries::metrics`]. A reader added without claiming direct series (see
//! [`Plug::direct_series`](crate::export::Plug::direct_series)) keeps them in the SDK.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::{Arc, OnceLock, RwLock};

use opentelemetry::{InstrumentationScope, KeyValue};

use crate::facade::cells::{Cells, CounterCell, GaugeCell};
use crate::facade::histogram::{HistogramInstrument, Totals};
use crate::pipeline::health::Health;
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
    /// Every histogram kept in the pipeline's cells, in the order made.
    histograms: Arc<RwLock<Vec<Arc<HistogramInstrument>>>>,
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
        let mut metrics: Vec<DirectMetric<'_>> =
            self.facade().map(|f| f.metrics.direct_metrics(&f.scope).filter(DirectMetric::has_series).collect()).unwrap_or_default();
        let histograms = self.histograms.read().unwrap_or_else(|p| p.into_inner());
        metrics.extend(histograms.iter().map(|h| DirectMetric::histogram(h.clone())).filter(DirectMetric::has_series));
        metrics
    }

    /// The histogram `name` of `scope` kept in the pipeline's cells: the one made before under
    /// that name (as the SDK, which treats names case-insensitively, would give the same stream),
    /// or a new one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn histogram(
        &self,
        scope: &InstrumentationScope,
        name: Cow<'static, str>,
        unit: Cow<'static, str>,
        description: Cow<'static, str>,
        bounds: Vec<f64>,
        limit: usize,
        health: &Health,
    ) -> Arc<HistogramInstrument> {
        let mut histograms = self.histograms.write().unwrap_or_else(|p| p.into_inner());
        if let Some(made) = histograms.iter().find(|h| h.scope == *scope && h.name.eq_ignore_ascii_case(&name)) {
            return made.clone();
        }
        let made = Arc::new(HistogramInstrument::new(scope.clone(), name, unit, description, bounds, limit, health.clone()));
        histograms.push(made.clone());
        made
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
    /// A cumulative histogram with explicit buckets.
    Histogram,
}

/// One series' value.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum DirectValue<'a> {
    /// A counter's total.
    U64(u64),
    /// An up-down counter's total or a gauge's value.
    F64(f64),
    /// A histogram's buckets and totals.
    Histogram(DirectHistogram<'a>),
}

/// A histogram series' value.
#[derive(Debug, Clone, Copy)]
pub struct DirectHistogram<'a> {
    /// Upper bounds of the buckets (inclusive), without `+Inf`.
    pub bounds: &'a [f64],
    /// Per-bucket counts, not cumulative: one more than `bounds`, the last for `+Inf`.
    pub counts: &'a [u64],
    /// The number of recordings (the counts' sum).
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest and largest value recorded (`None` before the first).
    pub min: Option<f64>,
    /// See `min`.
    pub max: Option<f64>,
}

/// The cells of one metric.
pub(crate) enum DirectCells<'a> {
    Counter(&'a Cells<CounterCell>),
    UpDown(&'a Cells<GaugeCell>),
    Gauge(&'a Cells<GaugeCell>),
}

/// Where a directly written metric comes from.
enum Origin<'a> {
    /// A facade counter, up-down counter or gauge.
    Facade {
        def: &'a MetricDef,
        scope: &'a InstrumentationScope,
        cells: DirectCells<'a>,
    },
    Histogram(Arc<HistogramInstrument>),
}

/// A metric with its series, read from the pipeline's cells.
pub struct DirectMetric<'a> {
    origin: Origin<'a>,
    start: std::time::SystemTime,
}

impl std::fmt::Debug for DirectMetric<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectMetric").field("name", &self.name()).field("kind", &self.kind()).finish()
    }
}

impl<'a> DirectMetric<'a> {
    pub(crate) fn facade(
        def: &'a MetricDef,
        scope: &'a InstrumentationScope,
        cells: DirectCells<'a>,
        start: std::time::SystemTime,
    ) -> Self {
        DirectMetric { origin: Origin::Facade { def, scope, cells }, start }
    }

    fn histogram(histogram: Arc<HistogramInstrument>) -> Self {
        let start = histogram.start;
        DirectMetric { origin: Origin::Histogram(histogram), start }
    }

    /// The scope it belongs to.
    pub fn scope(&self) -> &InstrumentationScope {
        match &self.origin {
            Origin::Facade { scope, .. } => scope,
            Origin::Histogram(h) => &h.scope,
        }
    }

    /// The metric's OpenTelemetry name.
    pub fn name(&self) -> &str {
        match &self.origin {
            Origin::Facade { def, .. } => &def.name,
            Origin::Histogram(h) => &h.name,
        }
    }

    /// Its unit (UCUM), empty for none.
    pub fn unit(&self) -> &str {
        match &self.origin {
            Origin::Facade { def, .. } => &def.unit,
            Origin::Histogram(h) => &h.unit,
        }
    }

    /// Its description, empty for none.
    pub fn description(&self) -> &str {
        match &self.origin {
            Origin::Facade { def, .. } => &def.description,
            Origin::Histogram(h) => &h.description,
        }
    }

    /// When its cumulative series started: the pipeline's start for the facade's metrics, the
    /// instrument's creation for a histogram (a counter's or histogram's created timestamp).
    pub fn start_time(&self) -> std::time::SystemTime {
        self.start
    }

    /// Counter, up-down counter, gauge or histogram.
    pub fn kind(&self) -> DirectKind {
        match &self.origin {
            Origin::Facade { cells: DirectCells::Counter(_), .. } => DirectKind::Counter,
            Origin::Facade { cells: DirectCells::UpDown(_), .. } => DirectKind::UpDownCounter,
            Origin::Facade { cells: DirectCells::Gauge(_), .. } => DirectKind::Gauge,
            Origin::Histogram(_) => DirectKind::Histogram,
        }
    }

    fn has_series(&self) -> bool {
        match &self.origin {
            Origin::Facade { cells: DirectCells::Counter(cells), .. } => cells.has_series(),
            Origin::Facade { cells: DirectCells::UpDown(cells) | DirectCells::Gauge(cells), .. } => cells.has_series(),
            Origin::Histogram(h) => h.cells.has_series(),
        }
    }

    /// Every series: its attributes (keys sorted, each once) and value, the overflow series
    /// (`otel.metric.overflow=true`) last when it recorded anything, as the SDK reports them.
    /// New series wait while this runs.
    pub fn for_each_series(&self, mut visit: impl FnMut(&[KeyValue], DirectValue<'_>)) {
        match &self.origin {
            Origin::Facade { cells: DirectCells::Counter(cells), .. } => {
                cells.for_each(|labels, c| visit(labels, DirectValue::U64(c.get())))
            }
            Origin::Facade { cells: DirectCells::UpDown(cells) | DirectCells::Gauge(cells), .. } => {
                cells.for_each(|labels, c| visit(labels, DirectValue::F64(c.get())))
            }
            Origin::Histogram(h) => {
                let mut counts = Vec::new();
                h.cells.for_each(|labels, cell| {
                    let Totals { count, sum, min, max } = cell.read(&mut counts);
                    visit(labels, DirectValue::Histogram(DirectHistogram { bounds: cell.bounds(), counts: &counts, count, sum, min, max }))
                });
            }
        }
    }
}
