//! The metrics facade: record by name with label sets checked against the catalog, typed
//! handles for hot paths, and the gauge that can be set, incremented and decremented.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry::KeyValue;

use crate::catalog::{Catalog, Kind, MetricDef, DEFAULT_CARDINALITY_LIMIT};
use crate::facade::cells::{last_wins, Cells, CounterCell, GaugeCell, GaugeChange};
use crate::facade::handles::{report_saturated, CounterHandle, HandleError, HistogramHandle};
use crate::facade::quantile::Timer;
use crate::pipeline::exemplars::{Exemplars, Reservoirs, Shape};
use crate::pipeline::health::{Health, Problem};

type NameMap<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;

/// Records metrics by name, as declared in a [`Catalog`]. Cheap to clone; get it from
/// [`Telemetry::metrics`](crate::Telemetry::metrics).
///
/// The recording methods never panic and never return errors: an undeclared name, a label key
/// the catalog does not allow, or a value of the wrong kind is dropped, warned about once, and
/// counted in `otel_pipeline.recording.dropped{reason}`. Every metric keeps at most its
/// cardinality limit of label sets in memory; later label sets share the overflow series
/// `otel.metric.overflow="true"`.
///
/// ```
/// use opentelemetry::KeyValue;
/// use otel_core::{Catalog, MetricDef, Telemetry};
///
/// let catalog = Catalog::new().with([
///     MetricDef::counter("request_count").labels(["endpoint", "method", "status"]),
///     MetricDef::gauge("active_requests").labels(["endpoint"]),
/// ])?;
/// let telemetry = Telemetry::builder().catalog(catalog).build()?;
/// let metrics = telemetry.metrics();
/// let labels = [KeyValue::new("endpoint", "/query"), KeyValue::new("method", "POST"), KeyValue::new("status", "200")];
/// metrics.increment_counter("request_count", 1, &labels);
/// metrics.set_gauge("active_requests", 10.0, &[KeyValue::new("endpoint", "/query")]);
/// metrics.decrement_gauge("active_requests", 1.0, &[KeyValue::new("endpoint", "/query")]);
/// assert_eq!(telemetry.snapshot().value("active_requests", &[("endpoint", "/query")]), Some(9.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<FacadeState>,
}

struct FacadeState {
    instruments: NameMap<Declared>,
    enabled: Arc<AtomicBool>,
    health: Health,
    started: Instant,
    operations: crate::facade::operations::Operations,
}

/// A declared metric and where its recordings go.
struct Declared {
    def: Arc<MetricDef>,
    recorder: Recorder,
    /// A counter's exemplars (histograms offer theirs through their instrument).
    exemplars: Option<Arc<Reservoirs>>,
}

/// Counters, up-down counters, gauges and quantile timers keep their series in [`Cells`]
/// (bounded by the cardinality limit, reported by observable instruments at each collection);
/// histograms are the pipeline meter's (cells of their own when every reader writes them
/// directly, the SDK's otherwise), bounded by the same limit.
enum Recorder {
    Counter(Arc<Cells<CounterCell>>),
    UpDown(Arc<Cells<GaugeCell>>),
    Gauge(Arc<Cells<GaugeCell>>),
    Histogram(Histogram<f64>),
    Timer(Arc<Timer>),
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("instruments", &self.inner.instruments.len())
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

/// Why a recording was dropped (the `reason` label of the self-metric).
#[derive(Debug, Clone, Copy)]
enum Dropped {
    Undeclared,
    Label,
    WrongKind,
    NotFinite,
}

impl Dropped {
    fn reason(self) -> &'static str {
        match self {
            Dropped::Undeclared => "undeclared_metric",
            Dropped::Label => "label_not_allowed",
            Dropped::WrongKind => "wrong_kind",
            Dropped::NotFinite => "not_finite",
        }
    }
}

/// `$cell`s for a declared metric, reported by an observable instrument made with `$make`;
/// the overflow series is reported once it recorded something.
macro_rules! observed {
    ($meter:ident . $make:ident, $cell:ident, $def:expr, $limit:expr) => {{
        let cells = Arc::new(Cells::<$cell>::new($limit));
        let observed = cells.clone();
        let _instrument = $meter
            .$make($def.name.clone())
            .with_unit($def.unit.clone())
            .with_description($def.description.clone())
            .with_callback(move |o| {
                if crate::pipeline::direct::observing() {
                    observed.for_each(|labels, c| o.observe(c.get(), labels))
                }
            })
            .build();
        cells
    }};
}

impl Metrics {
    pub(crate) fn new(meter: &Meter, scope: &str, catalog: &Catalog, health: Health, exemplars: &Exemplars) -> Self {
        let mut instruments = NameMap::default();
        for def in catalog.definitions() {
            let name = def.name.clone();
            let limit = def.cardinality_limit.unwrap_or(DEFAULT_CARDINALITY_LIMIT);
            let counter_exemplars = match def.kind {
                Kind::Counter => exemplars.instrument(scope, &def.name, Shape::Sum, limit),
                _ => None,
            };
            let recorder = match def.kind {
                Kind::Counter => Recorder::Counter(observed!(meter.u64_observable_counter, CounterCell, def, limit)),
                Kind::UpDownCounter => Recorder::UpDown(observed!(meter.f64_observable_up_down_counter, GaugeCell, def, limit)),
                Kind::Gauge => Recorder::Gauge(observed!(meter.f64_observable_gauge, GaugeCell, def, limit)),
                Kind::Histogram => {
                    let mut builder = meter.f64_histogram(name).with_unit(def.unit.clone()).with_description(def.description.clone());
                    if let Some(bounds) = def.bucket_bounds() {
                        builder = builder.with_boundaries(bounds);
                    }
                    Recorder::Histogram(builder.build())
                }
                Kind::QuantileTimer { window } => Recorder::Timer(Timer::register(meter, &def, window, limit)),
            };
            instruments.insert(def.name.clone().into_boxed_str(), Declared { def, recorder, exemplars: counter_exemplars });
        }
        Metrics {
            inner: Arc::new(FacadeState {
                instruments,
                enabled: Arc::new(AtomicBool::new(true)),
                health,
                started: Instant::now(),
                operations: crate::facade::operations::Operations::default(),
            }),
        }
    }

    /// The definition of a counter, up-down counter or gauge (the metrics a pull reader may
    /// write straight from their cells).
    pub(crate) fn direct_def(&self, name: &str) -> Option<&MetricDef> {
        let declared = self.inner.instruments.get(name)?;
        matches!(declared.recorder, Recorder::Counter(_) | Recorder::UpDown(_) | Recorder::Gauge(_)).then_some(&*declared.def)
    }

    /// The names of a quantile timer's `count` and `sum` instruments, when `name` is a timer.
    pub(crate) fn timer_companions(&self, name: &str) -> Option<(String, String)> {
        let declared = self.inner.instruments.get(name)?;
        matches!(declared.recorder, Recorder::Timer(_))
            .then(|| (crate::facade::quantile::companion(&declared.def, "count"), crate::facade::quantile::companion(&declared.def, "sum")))
    }

    /// Every counter, up-down counter and gauge with its cells.
    pub(crate) fn direct_metrics<'a>(
        &'a self,
        scope: &'a opentelemetry::InstrumentationScope,
    ) -> impl Iterator<Item = crate::pipeline::direct::DirectMetric<'a>> {
        use crate::pipeline::direct::{DirectCells, DirectMetric};
        let start = std::time::SystemTime::now().checked_sub(self.inner.started.elapsed()).unwrap_or(std::time::UNIX_EPOCH);
        self.inner.instruments.values().filter_map(move |declared| {
            let cells = match &declared.recorder {
                Recorder::Counter(cells) => DirectCells::Counter(cells),
                Recorder::UpDown(cells) => DirectCells::UpDown(cells),
                Recorder::Gauge(cells) => DirectCells::Gauge(cells),
                Recorder::Histogram(_) | Recorder::Timer(_) => return None,
            };
            Some(DirectMetric::facade(&declared.def, scope, cells, start))
        })
    }

    /// Removes one series of a counter, up-down counter or gauge: from the next collection on it
    /// is no longer exposed or exported (Prometheus marks it stale at its next scrape), and a
    /// later recording starts it again from zero. For series whose label set stops being true,
    /// such as a gauge with a `state` label after the state changed. Returns whether the series
    /// existed; histograms and quantile timers keep their series.
    pub fn remove_series(&self, name: &str, labels: &[KeyValue]) -> bool {
        match self.inner.instruments.get(name).map(|d| &d.recorder) {
            Some(Recorder::Counter(cells)) => cells.remove(labels),
            Some(Recorder::UpDown(cells)) => cells.remove(labels),
            Some(Recorder::Gauge(cells)) => cells.remove(labels),
            _ => false,
        }
    }

    /// Turns every recording (facade, handles, guards) on or off. Off, a call costs one
    /// relaxed atomic load.
    pub fn set_enabled(&self, on: bool) {
        self.inner.enabled.store(on, Ordering::Relaxed);
    }

    /// Whether recording is on.
    #[inline]
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled.load(Ordering::Relaxed)
    }

    /// Adds `value` to a counter (or an up-down counter). A counter's total that would pass
    /// `u64::MAX` stays there (counted in `otel_pipeline.recording.saturated`).
    #[inline]
    pub fn increment_counter(&self, name: &str, value: u64, labels: &[KeyValue]) {
        if self.is_enabled() {
            self.add_to_counter(name, value, labels);
        }
    }

    fn add_to_counter(&self, name: &str, value: u64, labels: &[KeyValue]) {
        let declared = self.inner.instruments.get(name);
        let offer = || {
            if let Some(exemplars) = declared.and_then(|d| d.exemplars.as_ref()) {
                exemplars.offer(value as f64, labels);
            }
        };
        // A label set seen before was checked then: straight to its cell.
        if let Some(Declared { recorder: Recorder::Counter(cells), .. }) = declared {
            if let Some(added) = cells.with_known(labels, |cell| cell.add(value)) {
                if !added {
                    report_saturated(&self.inner.health, name);
                }
                return offer();
            }
        }
        let added = match self.checked(name, labels) {
            Some(Recorder::Counter(cells)) => {
                offer();
                cells.slot(labels).add(value)
            }
            Some(Recorder::UpDown(cells)) => {
                cells.slot(labels).apply(GaugeChange::By(value as f64));
                true
            }
            Some(_) => return self.drop_recording(Dropped::WrongKind, name, "increment_counter on a metric that is not a counter"),
            None => return,
        };
        if !added {
            report_saturated(&self.inner.health, name);
        }
    }

    /// Records one value in a histogram (or a quantile timer).
    #[inline]
    pub fn record_histogram(&self, name: &str, value: f64, labels: &[KeyValue]) {
        if self.is_enabled() {
            self.record_in_histogram(name, value, labels);
        }
    }

    fn record_in_histogram(&self, name: &str, value: f64, labels: &[KeyValue]) {
        if !value.is_finite() {
            return self.drop_recording(Dropped::NotFinite, name, "a NaN or infinite value");
        }
        match self.checked(name, labels) {
            Some(Recorder::Histogram(h)) => h.record(value, &last_wins(labels)),
            Some(Recorder::Timer(t)) => t.observe(value, labels),
            Some(_) => self.drop_recording(Dropped::WrongKind, name, "record_histogram on a metric that is not a histogram"),
            None => {}
        }
    }

    /// Sets a gauge.
    #[inline]
    pub fn set_gauge(&self, name: &str, value: f64, labels: &[KeyValue]) {
        if self.is_enabled() {
            self.change_gauge(name, labels, GaugeChange::To(value));
        }
    }

    /// Adds `by` to a gauge (or an up-down counter).
    #[inline]
    pub fn increment_gauge(&self, name: &str, by: f64, labels: &[KeyValue]) {
        if self.is_enabled() {
            self.change_gauge(name, labels, GaugeChange::By(by));
        }
    }

    /// Subtracts `by` from a gauge (or an up-down counter).
    #[inline]
    pub fn decrement_gauge(&self, name: &str, by: f64, labels: &[KeyValue]) {
        if self.is_enabled() {
            self.change_gauge(name, labels, GaugeChange::By(-by));
        }
    }

    /// Sets or moves a gauge; an up-down counter can only be moved.
    fn change_gauge(&self, name: &str, labels: &[KeyValue], change: GaugeChange) {
        let (GaugeChange::To(value) | GaugeChange::By(value)) = change;
        if !value.is_finite() {
            return self.drop_recording(Dropped::NotFinite, name, "a NaN or infinite value");
        }
        match (self.checked(name, labels), change) {
            (Some(Recorder::Gauge(cells)), _) | (Some(Recorder::UpDown(cells)), GaugeChange::By(_)) => cells.slot(labels).apply(change),
            (Some(Recorder::UpDown(_)), GaugeChange::To(_)) => self.drop_recording(
                Dropped::WrongKind,
                name,
                "set_gauge on an up-down counter, which can only be incremented or decremented",
            ),
            (Some(_), _) => self.drop_recording(Dropped::WrongKind, name, "a gauge operation on a metric that is not a gauge"),
            (None, _) => {}
        }
    }

    /// The recorder for `name` if it is declared and every label key is allowed.
    fn checked(&self, name: &str, labels: &[KeyValue]) -> Option<&Recorder> {
        let Some(entry) = self.inner.instruments.get(name) else {
            self.drop_recording(Dropped::Undeclared, name, "the metric is not declared in the catalog");
            return None;
        };
        if let Some(bad) = labels.iter().find(|kv| !entry.def.allows(kv.key.as_str())) {
            let why = format!("label key {:?} is not among the declared {:?}", bad.key.as_str(), entry.def.labels);
            self.drop_recording(Dropped::Label, name, &why);
            return None;
        }
        Some(&entry.recorder)
    }

    #[cold]
    fn drop_recording(&self, why: Dropped, name: &str, detail: &str) {
        self.inner.health.report(Problem::Recording, why.reason(), name, 1, || {
            format!("metric {name:?}: dropped a recording: {detail} (declare it, or fix the call)")
        });
    }

    fn entry(&self, name: &str, kind: Kind) -> Result<&Declared, HandleError> {
        let entry = self
            .inner
            .instruments
            .get(name)
            .ok_or_else(|| HandleError { name: name.to_owned(), problem: "is not declared in the catalog" })?;
        if entry.def.kind != kind {
            return Err(HandleError { name: name.to_owned(), problem: "is declared with another kind" });
        }
        Ok(entry)
    }

    /// A counter handle, for hot paths.
    pub fn counter(&self, name: &str) -> Result<CounterHandle, HandleError> {
        let entry = self.entry(name, Kind::Counter)?;
        match &entry.recorder {
            Recorder::Counter(cells) => Ok(CounterHandle {
                def: entry.def.clone(),
                cells: cells.clone(),
                enabled: self.inner.enabled.clone(),
                health: self.inner.health.clone(),
                exemplars: entry.exemplars.clone(),
            }),
            _ => Err(HandleError { name: name.to_owned(), problem: "is declared with another kind" }),
        }
    }

    /// A histogram handle, for hot paths.
    pub fn histogram(&self, name: &str) -> Result<HistogramHandle, HandleError> {
        let entry = self.entry(name, Kind::Histogram)?;
        match &entry.recorder {
            Recorder::Histogram(h) => {
                Ok(HistogramHandle { def: entry.def.clone(), histogram: h.clone(), enabled: self.inner.enabled.clone() })
            }
            _ => Err(HandleError { name: name.to_owned(), problem: "is declared with another kind" }),
        }
    }

    /// The operations view alone (what [`Telemetry::snapshot`](crate::Telemetry::snapshot) puts
    /// in `operations`), without collecting any metric: cheap enough for an observable
    /// instrument's callback, which must not take a snapshot.
    pub fn operations(&self) -> crate::facade::OperationsView {
        self.inner.operations.view()
    }

    pub(crate) fn inner_operations(&self) -> &crate::facade::operations::Operations {
        &self.inner.operations
    }

    pub(crate) fn started(&self) -> Instant {
        self.inner.started
    }
}
