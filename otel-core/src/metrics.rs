//! The metrics facade: record by name with label sets checked against the catalog, typed
//! handles for hot paths, and the gauge that can be set, incremented and decremented.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Instant;

use opentelemetry::metrics::{BoundCounter, BoundHistogram, Counter, Histogram, Meter, UpDownCounter};
use opentelemetry::KeyValue;

use crate::catalog::{Catalog, Kind, MetricDef};
use crate::quantile::Timers;

type NameMap<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;

/// Records metrics by name, as declared in a [`Catalog`]. Cheap to clone; get it from
/// [`Telemetry::metrics`](crate::Telemetry::metrics).
///
/// The recording methods never panic and never return errors: an undeclared name, a label key
/// the catalog does not allow, or a value of the wrong kind is dropped, warned about once, and
/// counted in `otel_pipeline.recording.dropped{reason}`.
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
    inner: Arc<Inner>,
}

struct Inner {
    instruments: NameMap<Entry>,
    /// Bound counters' pending increments, folded into the SDK before each collection.
    pending: PendingRegistry,
    enabled: Arc<AtomicBool>,
    dropped: Counter<u64>,
    warned: Mutex<HashSet<String>>,
    timers: Timers,
    started: Instant,
    operations: crate::snapshot::Operations,
}

/// An instrument and, for counters, its bound label sets.
struct Entry {
    instrument: Instrument,
    /// Counters: label sets seen before, each bound once (checked against the catalog on first
    /// use), so a repeated call is a lookup and an atomic add.
    bound: RwLock<HashMap<Vec<KeyValue>, Arc<PendingCounter>, foldhash::fast::RandomState>>,
}

/// Label sets kept bound per counter when the catalog sets no cardinality limit (the SDK's
/// default limit); past it, adds go to the SDK unbound and its overflow series applies.
const DEFAULT_BOUND_SETS: usize = 2000;

enum Instrument {
    Counter(Arc<MetricDef>, Counter<u64>),
    UpDown(Arc<MetricDef>, UpDownCounter<i64>),
    Gauge(Arc<MetricDef>, Arc<GaugeCells>),
    Histogram(Arc<MetricDef>, Histogram<f64>),
    Timer(Arc<MetricDef>),
}

impl Instrument {
    fn def(&self) -> &MetricDef {
        match self {
            Instrument::Counter(d, _) | Instrument::UpDown(d, _) | Instrument::Gauge(d, _) | Instrument::Histogram(d, _) | Instrument::Timer(d) => d,
        }
    }
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

impl Metrics {
    pub(crate) fn new(meter: &Meter, catalog: &Catalog) -> Self {
        let mut instruments = NameMap::default();
        let timers = Timers::default();
        for def in catalog.definitions() {
            let name = def.name.clone();
            let instrument = match def.kind {
                Kind::Counter => Instrument::Counter(def.clone(), meter.u64_counter(name).with_unit(def.unit.clone()).with_description(def.description.clone()).build()),
                Kind::UpDownCounter => Instrument::UpDown(def.clone(), meter.i64_up_down_counter(name).with_unit(def.unit.clone()).with_description(def.description.clone()).build()),
                Kind::Gauge => Instrument::Gauge(def.clone(), GaugeCells::register(meter, &def)),
                Kind::Histogram => {
                    let mut builder = meter.f64_histogram(name).with_unit(def.unit.clone()).with_description(def.description.clone());
                    if let Some(bounds) = def.bucket_bounds() {
                        builder = builder.with_boundaries(bounds);
                    }
                    Instrument::Histogram(def.clone(), builder.build())
                }
                Kind::QuantileTimer { window } => {
                    timers.register(meter, &def, window);
                    Instrument::Timer(def.clone())
                }
            };
            instruments.insert(def.name.clone().into_boxed_str(), Entry { instrument, bound: RwLock::default() });
        }
        let pending = PendingRegistry::default();
        pending.register_flush(meter);
        let dropped = meter
            .u64_counter("otel_pipeline.recording.dropped")
            .with_description("Recordings the metrics facade dropped, by reason (see the log for the first of each)")
            .build();
        Metrics {
            inner: Arc::new(Inner {
                instruments,
                pending,
                enabled: Arc::new(AtomicBool::new(true)),
                dropped,
                warned: Mutex::new(HashSet::new()),
                timers,
                started: Instant::now(),
                operations: crate::snapshot::Operations::default(),
            }),
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

    /// Adds `value` to a counter.
    #[inline]
    pub fn increment_counter(&self, name: &str, value: u64, labels: &[KeyValue]) {
        if self.is_enabled() {
            self.add_to_counter(name, value, labels);
        }
    }

    fn add_to_counter(&self, name: &str, value: u64, labels: &[KeyValue]) {
        if let Some(entry) = self.inner.instruments.get(name) {
            if let Some(pending) = entry.bound.read().ok().and_then(|b| b.get(labels).cloned()) {
                pending.delta.fetch_add(value, Ordering::Relaxed);
                return;
            }
        }
        match self.checked(name, labels) {
            Some(Instrument::Counter(def, c)) => {
                if let Some(entry) = self.inner.instruments.get(name) {
                    if let Ok(mut bound) = entry.bound.write() {
                        if bound.len() < def.cardinality_limit.unwrap_or(DEFAULT_BOUND_SETS) {
                            let pending = Arc::new(PendingCounter { delta: AtomicU64::new(value), bound: c.bind(labels) });
                            self.inner.pending.add(&pending);
                            bound.insert(labels.to_vec(), pending);
                            return;
                        }
                    }
                }
                c.add(value, labels);
            }
            Some(Instrument::UpDown(_, c)) => c.add(i64::try_from(value).unwrap_or(i64::MAX), labels),
            Some(_) => self.drop_recording(Dropped::WrongKind, name, "increment_counter on a metric that is not a counter"),
            None => {}
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
            Some(Instrument::Histogram(_, h)) => h.record(value, labels),
            Some(Instrument::Timer(_)) => self.inner.timers.observe(name, value, labels),
            Some(_) => self.drop_recording(Dropped::WrongKind, name, "record_histogram on a metric that is not a histogram"),
            None => {}
        }
    }

    /// Sets a gauge.
    #[inline]
    pub fn set_gauge(&self, name: &str, value: f64, labels: &[KeyValue]) {
        if self.is_enabled() {
            self.gauge(name, labels, value, false);
        }
    }

    /// Adds `by` to a gauge (or an up-down counter).
    #[inline]
    pub fn increment_gauge(&self, name: &str, by: f64, labels: &[KeyValue]) {
        if self.is_enabled() {
            self.gauge(name, labels, by, true);
        }
    }

    /// Subtracts `by` from a gauge (or an up-down counter).
    #[inline]
    pub fn decrement_gauge(&self, name: &str, by: f64, labels: &[KeyValue]) {
        if self.is_enabled() {
            self.gauge(name, labels, -by, true);
        }
    }

    /// Sets (`relative == false`) or moves a gauge; an up-down counter can only be moved.
    fn gauge(&self, name: &str, labels: &[KeyValue], value: f64, relative: bool) {
        if !value.is_finite() {
            return self.drop_recording(Dropped::NotFinite, name, "a NaN or infinite value");
        }
        match self.checked(name, labels) {
            Some(Instrument::Gauge(_, cells)) => cells.update(labels, |old| if relative { old + value } else { value }),
            Some(Instrument::UpDown(_, c)) if relative => c.add(value as i64, labels),
            Some(Instrument::UpDown(..)) => {
                self.drop_recording(Dropped::WrongKind, name, "set_gauge on an up-down counter, which can only be incremented or decremented")
            }
            Some(_) => self.drop_recording(Dropped::WrongKind, name, "a gauge operation on a metric that is not a gauge"),
            None => {}
        }
    }

    /// The instrument for `name` if it is declared and every label key is allowed.
    fn checked(&self, name: &str, labels: &[KeyValue]) -> Option<&Instrument> {
        let Some(entry) = self.inner.instruments.get(name) else {
            self.drop_recording(Dropped::Undeclared, name, "the metric is not declared in the catalog");
            return None;
        };
        let def = entry.instrument.def();
        if let Some(bad) = labels.iter().find(|kv| !def.allows(kv.key.as_str())) {
            let why = format!("label key {:?} is not among the declared {:?}", bad.key.as_str(), def.labels);
            self.drop_recording(Dropped::Label, name, &why);
            return None;
        }
        Some(&entry.instrument)
    }

    #[cold]
    fn drop_recording(&self, why: Dropped, name: &str, detail: &str) {
        self.inner.dropped.add(1, &[KeyValue::new("reason", why.reason())]);
        let key = format!("{}:{name}", why.reason());
        let first = self.inner.warned.lock().map(|mut w| w.insert(key)).unwrap_or(false);
        if first {
            tracing::warn!(target: "otel_pipeline::metrics", metric = name, "dropped a recording: {detail} (declare it, or fix the call; reported once)");
        }
    }

    fn def_of(&self, name: &str, kind: Kind) -> Result<&Instrument, HandleError> {
        let instrument = self
            .inner
            .instruments
            .get(name)
            .map(|e| &e.instrument)
            .ok_or_else(|| HandleError { name: name.to_owned(), problem: "is not declared in the catalog" })?;
        if instrument.def().kind != kind {
            return Err(HandleError { name: name.to_owned(), problem: "is declared with another kind" });
        }
        Ok(instrument)
    }

    /// A counter handle, for hot paths.
    pub fn counter(&self, name: &str) -> Result<CounterHandle, HandleError> {
        match self.def_of(name, Kind::Counter)? {
            Instrument::Counter(def, c) => Ok(CounterHandle {
                def: def.clone(),
                counter: c.clone(),
                enabled: self.inner.enabled.clone(),
                pending: self.inner.pending.clone(),
            }),
            _ => unreachable!("kind checked"),
        }
    }

    /// A histogram handle, for hot paths.
    pub fn histogram(&self, name: &str) -> Result<HistogramHandle, HandleError> {
        match self.def_of(name, Kind::Histogram)? {
            Instrument::Histogram(def, h) => Ok(HistogramHandle { def: def.clone(), histogram: h.clone(), enabled: self.inner.enabled.clone() }),
            _ => unreachable!("kind checked"),
        }
    }

    pub(crate) fn inner_operations(&self) -> &crate::snapshot::Operations {
        &self.inner.operations
    }

    pub(crate) fn started(&self) -> Instant {
        self.inner.started
    }
}

/// A handle could not be made.
#[derive(Debug, Clone, thiserror::Error)]
#[error("metric {name:?} {problem}; declare it in the catalog with the matching kind")]
pub struct HandleError {
    name: String,
    problem: &'static str,
}

/// A label set outside the declaration.
#[derive(Debug, Clone, thiserror::Error)]
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
    def: Arc<MetricDef>,
    counter: Counter<u64>,
    enabled: Arc<AtomicBool>,
    pending: PendingRegistry,
}

impl fmt::Debug for CounterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CounterHandle").field("name", &self.def.name).finish_non_exhaustive()
    }
}

impl CounterHandle {
    /// Adds `value` with these labels (not checked against the catalog: bind to check once).
    #[inline]
    pub fn add(&self, value: u64, labels: &[KeyValue]) {
        if self.enabled.load(Ordering::Relaxed) {
            self.counter.add(value, labels);
        }
    }

    /// Resolves a label set once; adds then cost one atomic add (the sum reaches the SDK
    /// before every collection, and when the last clone of the handle drops).
    pub fn bind(&self, labels: &[KeyValue]) -> Result<BoundCounterHandle, LabelError> {
        check_labels(&self.def, labels)?;
        let pending = Arc::new(PendingCounter { delta: AtomicU64::new(0), bound: self.counter.bind(labels) });
        self.pending.add(&pending);
        Ok(BoundCounterHandle { pending, enabled: self.enabled.clone() })
    }
}

/// A counter with its labels resolved.
#[derive(Clone)]
pub struct BoundCounterHandle {
    pending: Arc<PendingCounter>,
    enabled: Arc<AtomicBool>,
}

impl fmt::Debug for BoundCounterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundCounterHandle").field("pending", &self.pending.delta.load(Ordering::Relaxed)).finish()
    }
}

impl BoundCounterHandle {
    /// Adds `value`.
    #[inline]
    pub fn add(&self, value: u64) {
        if self.enabled.load(Ordering::Relaxed) {
            self.pending.delta.fetch_add(value, Ordering::Relaxed);
        }
    }
}

/// Increments of one bound counter not yet handed to the SDK.
struct PendingCounter {
    delta: AtomicU64,
    bound: BoundCounter<u64>,
}

impl PendingCounter {
    fn flush(&self) {
        let delta = self.delta.swap(0, Ordering::AcqRel);
        if delta > 0 {
            self.bound.add(delta);
        }
    }
}

impl Drop for PendingCounter {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Every live bound counter of a facade.
#[derive(Clone, Default)]
struct PendingRegistry {
    counters: Arc<Mutex<Vec<Weak<PendingCounter>>>>,
}

impl PendingRegistry {
    fn add(&self, counter: &Arc<PendingCounter>) {
        if let Ok(mut counters) = self.counters.lock() {
            counters.retain(|c| c.strong_count() > 0);
            counters.push(Arc::downgrade(counter));
        }
    }

    /// Collections run observable callbacks first, so a callback that records nothing itself
    /// hands every pending increment to the SDK just before the data is read.
    fn register_flush(&self, meter: &Meter) {
        let counters = self.counters.clone();
        let _flush = meter
            .u64_observable_gauge("otel_pipeline.internal.flush")
            .with_callback(move |_| {
                if let Ok(counters) = counters.lock() {
                    counters.iter().filter_map(Weak::upgrade).for_each(|c| c.flush());
                }
            })
            .build();
    }
}

/// A declared histogram.
#[derive(Clone)]
pub struct HistogramHandle {
    def: Arc<MetricDef>,
    histogram: Histogram<f64>,
    enabled: Arc<AtomicBool>,
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
            self.histogram.record(value, labels);
        }
    }

    /// Resolves a label set once.
    pub fn bind(&self, labels: &[KeyValue]) -> Result<BoundHistogramHandle, LabelError> {
        check_labels(&self.def, labels)?;
        Ok(BoundHistogramHandle { bound: self.histogram.bind(labels), enabled: self.enabled.clone() })
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

/// Current values of a set/increment/decrement gauge, reported at each collection.
#[derive(Default)]
pub(crate) struct GaugeCells {
    values: Mutex<HashMap<Vec<KeyValue>, f64>>,
}

impl GaugeCells {
    fn register(meter: &Meter, def: &MetricDef) -> Arc<Self> {
        let cells = Arc::new(GaugeCells::default());
        let reported = cells.clone();
        // The gauge is observed: its callback reports every series' current value.
        let _gauge = meter
            .f64_observable_gauge(def.name.clone())
            .with_unit(def.unit.clone())
            .with_description(def.description.clone())
            .with_callback(move |observer| {
                if let Ok(values) = reported.values.lock() {
                    for (labels, value) in values.iter() {
                        observer.observe(*value, labels);
                    }
                }
            })
            .build();
        cells
    }

    fn update(&self, labels: &[KeyValue], apply: impl FnOnce(f64) -> f64) {
        if let Ok(mut values) = self.values.lock() {
            let cell = values.entry(series_key(labels)).or_insert(0.0);
            *cell = apply(*cell);
        }
    }
}

/// A label set as a map key: the same labels in any order make the same series.
pub(crate) fn series_key(labels: &[KeyValue]) -> Vec<KeyValue> {
    let mut key = labels.to_vec();
    key.sort_by(|a, b| a.key.cmp(&b.key));
    key
}
