//! Exemplars: a recorded value with the trace and span it was recorded in, kept beside the
//! series it belongs to so a latency panel can link a slow bucket to the trace that caused it.
//!
//! One store per pipeline. Every recording path offers its measurement (the facade, bound
//! handles, guards, raw-meter instruments, and through them the HTTP and gRPC layers); the
//! filter decides whether it is kept (`trace_based`: only inside a sampled span). Reservoirs
//! follow the specification's defaults: an explicit-bucket histogram keeps the latest exemplar
//! of each bucket, a sum the latest [`SUM_RESERVOIR`]. Memory is bounded like the series: a
//! series' reservoir exists only once an exemplar was kept for it, holds only the buckets that got
//! one, and an instrument keeps reservoirs for at most its cardinality limit of series (none past
//! it). The exposition and the OTLP encoder only read the store; exemplars never change a
//! series' identity or count.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, KeyValue};

use crate::facade::cells::series_key;

/// Exemplars a sum keeps per series: the latest ones.
pub const SUM_RESERVOIR: usize = 4;

/// Which measurements may become exemplars (`OTEL_METRICS_EXEMPLAR_FILTER`, a configuration
/// file's `meter_provider.exemplar_filter`, or [`TelemetryBuilder::exemplar_filter`](crate::TelemetryBuilder::exemplar_filter)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExemplarFilter {
    /// Measurements recorded inside a sampled span (the default).
    #[default]
    TraceBased,
    /// Every measurement (outside a span the exemplar has no trace).
    AlwaysOn,
    /// None: no exemplar is kept and recording pays nothing for them.
    AlwaysOff,
}

impl ExemplarFilter {
    /// The filter named as in `OTEL_METRICS_EXEMPLAR_FILTER` (`trace_based`, `always_on`,
    /// `always_off`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "trace_based" => Some(ExemplarFilter::TraceBased),
            "always_on" => Some(ExemplarFilter::AlwaysOn),
            "always_off" => Some(ExemplarFilter::AlwaysOff),
            _ => None,
        }
    }
}

/// One kept measurement.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Exemplar {
    /// The measured value.
    pub value: f64,
    /// When it was recorded, nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// The trace it was recorded in; all zero outside a span.
    pub trace_id: [u8; 16],
    /// The span it was recorded in; all zero outside a span.
    pub span_id: [u8; 8],
    /// Recorded attributes the series does not carry (none on this pipeline's paths: a
    /// recording with a label the series would drop is refused).
    pub filtered_attributes: Vec<KeyValue>,
}

impl Exemplar {
    /// Whether it was recorded inside a span.
    pub fn has_trace(&self) -> bool {
        self.trace_id != [0; 16]
    }

    /// The trace id as 32 lower-case hex digits.
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// The span id as 16 lower-case hex digits.
    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What an instrument aggregates into, which decides its reservoir.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    /// An explicit-bucket histogram with these boundaries: one exemplar per bucket.
    Buckets(Vec<f64>),
    /// A sum (counter, up-down counter): the latest [`SUM_RESERVOIR`].
    Sum,
}

/// The pipeline's exemplars, by instrument and series.
#[derive(Clone, Default)]
pub struct Exemplars {
    inner: Arc<Store>,
}

#[derive(Default)]
struct Store {
    filter: ExemplarFilter,
    /// Reservoirs by scope name, then instrument name (looked up by `&str`, no allocation).
    instruments: RwLock<HashMap<String, HashMap<String, Arc<Reservoirs>>>>,
}

impl fmt::Debug for Exemplars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exemplars").field("filter", &self.filter()).field("series", &self.series()).finish()
    }
}

impl Exemplars {
    /// A store applying `filter`.
    pub(crate) fn new(filter: ExemplarFilter) -> Self {
        Exemplars { inner: Arc::new(Store { filter, instruments: RwLock::default() }) }
    }

    /// The filter in force.
    pub fn filter(&self) -> ExemplarFilter {
        self.inner.filter
    }

    /// The reservoirs of an instrument, for its recording path; `None` when the filter keeps no
    /// exemplar (the path then skips them entirely).
    pub(crate) fn instrument(&self, scope: &str, name: &str, shape: Shape, limit: usize) -> Option<Arc<Reservoirs>> {
        let filter = self.filter();
        if filter == ExemplarFilter::AlwaysOff {
            return None;
        }
        let mut instruments = self.inner.instruments.write().unwrap_or_else(|p| p.into_inner());
        let reservoirs = instruments
            .entry(scope.to_owned())
            .or_default()
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(Reservoirs { shape, limit: limit.max(1), filter, series: Mutex::new(HashMap::default()) }));
        Some(reservoirs.clone())
    }

    /// An instrument's exemplars, when it holds any: look it up once, then read each series
    /// through it.
    pub fn held(&self, scope: &str, name: &str) -> Option<InstrumentExemplars> {
        let instruments = self.inner.instruments.read().unwrap_or_else(|p| p.into_inner());
        let reservoirs = instruments.get(scope)?.get(name)?;
        let holds = reservoirs.series.lock().is_ok_and(|s| !s.is_empty());
        holds.then(|| InstrumentExemplars(reservoirs.clone()))
    }

    /// A histogram series' exemplars (see [`InstrumentExemplars::for_buckets`]).
    pub fn for_buckets(&self, scope: &str, name: &str, attributes: &[KeyValue]) -> Vec<(usize, Exemplar)> {
        self.held(scope, name).map(|i| i.for_buckets(attributes)).unwrap_or_default()
    }

    /// A sum series' exemplars, oldest first.
    pub fn for_sum(&self, scope: &str, name: &str, attributes: &[KeyValue]) -> Vec<Exemplar> {
        self.held(scope, name).map(|i| i.for_sum(attributes)).unwrap_or_default()
    }

    fn each(&self, mut f: impl FnMut(&Reservoirs)) {
        let instruments = self.inner.instruments.read().unwrap_or_else(|p| p.into_inner());
        instruments.values().flat_map(HashMap::values).for_each(|r| f(r));
    }

    /// Series that hold at least one exemplar, across instruments.
    pub fn series(&self) -> usize {
        let mut total = 0;
        self.each(|r| total += r.series.lock().map(|s| s.len()).unwrap_or(0));
        total
    }

    /// The memory the kept exemplars take (series keys, reservoirs and exemplars), in bytes.
    pub fn memory_bytes(&self) -> usize {
        let mut total = 0;
        self.each(|r| total += r.memory_bytes());
        total
    }
}

/// One instrument's exemplars, for a reader (the exposition, the OTLP encoder).
#[derive(Clone)]
pub struct InstrumentExemplars(Arc<Reservoirs>);

impl fmt::Debug for InstrumentExemplars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InstrumentExemplars")
    }
}

impl InstrumentExemplars {
    /// A histogram series' exemplars, by bucket index (bucket `i` holds values up to the `i`th
    /// boundary; the last, values above every boundary), each bucket's latest.
    pub fn for_buckets(&self, attributes: &[KeyValue]) -> Vec<(usize, Exemplar)> {
        self.0.read(attributes)
    }

    /// A sum series' exemplars, oldest first.
    pub fn for_sum(&self, attributes: &[KeyValue]) -> Vec<Exemplar> {
        let mut kept: Vec<Exemplar> = self.0.read(attributes).into_iter().map(|(_, e)| e).collect();
        kept.sort_by_key(|e| e.time_unix_nano);
        kept
    }
}

/// A series' kept exemplars, each with its slot (a histogram's bucket, a sum's sequence number).
type Slots = Vec<(usize, Exemplar)>;

/// One instrument's reservoirs, by series.
pub(crate) struct Reservoirs {
    shape: Shape,
    limit: usize,
    filter: ExemplarFilter,
    series: Mutex<HashMap<Vec<KeyValue>, Slots, foldhash::fast::RandomState>>,
}

/// A sampled span's ids, or zeros (for `always_on` outside a span).
type SpanIds = ([u8; 16], [u8; 8]);

impl Reservoirs {
    /// Offers a measurement recorded with `attributes` (in any order).
    #[inline]
    pub(crate) fn offer(&self, value: f64, attributes: &[KeyValue]) {
        if let Some(ids) = self.eligible() {
            // Attributes already in series order (keys sorted, each once) are used as they are.
            let ordered = attributes.windows(2).all(|w| w[0].key < w[1].key);
            if ordered {
                self.keep(value, attributes, ids);
            } else {
                self.keep(value, &series_key(attributes), ids);
            }
        }
    }

    /// Offers a measurement of a series whose key is already normalized ([`series_key`]).
    #[inline]
    pub(crate) fn offer_keyed(&self, value: f64, key: &[KeyValue]) {
        if let Some(ids) = self.eligible() {
            self.keep(value, key, ids);
        }
    }

    /// The span ids to keep with a measurement now, if the filter keeps it.
    #[inline]
    fn eligible(&self) -> Option<SpanIds> {
        match (current_span(), self.filter) {
            (Some((ids, true)), _) => Some(ids),
            (Some((ids, false)), ExemplarFilter::AlwaysOn) => Some(ids),
            (None, ExemplarFilter::AlwaysOn) => Some(([0; 16], [0; 8])),
            _ => None,
        }
    }

    fn keep(&self, value: f64, key: &[KeyValue], (trace_id, span_id): SpanIds) {
        if !value.is_finite() {
            return;
        }
        let time_unix_nano = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let exemplar = Exemplar { value, time_unix_nano, trace_id, span_id, filtered_attributes: Vec::new() };
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let slots = match series.get_mut(key) {
            Some(slots) => slots,
            None => {
                // Past the cardinality limit the recording went to the overflow series: no memory here.
                if series.len() >= self.limit {
                    return;
                }
                // The key is copied only for a series' first exemplar.
                series.entry(key.to_vec()).or_default()
            }
        };
        match &self.shape {
            Shape::Buckets(bounds) => {
                let bucket = bounds.partition_point(|b| *b < value);
                match slots.iter_mut().find(|(b, _)| *b == bucket) {
                    Some(slot) => slot.1 = exemplar,
                    None => slots.push((bucket, exemplar)),
                }
            }
            Shape::Sum => {
                if slots.len() >= SUM_RESERVOIR {
                    slots.remove(0);
                }
                let next = slots.last().map_or(0, |(i, _)| i + 1);
                slots.push((next, exemplar));
            }
        }
    }

    fn read(&self, attributes: &[KeyValue]) -> Vec<(usize, Exemplar)> {
        let series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        if series.is_empty() {
            return Vec::new();
        }
        series.get(&series_key(attributes)).cloned().unwrap_or_default()
    }

    fn memory_bytes(&self) -> usize {
        let series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let entry = std::mem::size_of::<(Vec<KeyValue>, Slots)>();
        series
            .iter()
            .map(|(key, slots)| {
                entry
                    + key.capacity() * std::mem::size_of::<KeyValue>()
                    + key.iter().map(|kv| kv.key.as_str().len() + kv.value.as_str().len()).sum::<usize>()
                    + slots.capacity() * std::mem::size_of::<(usize, Exemplar)>()
            })
            .sum()
    }
}

/// The span recorded in now, and whether it is sampled: the OpenTelemetry context's, else (with
/// feature `tracing-opentelemetry`) the current `tracing` span's.
#[inline]
fn current_span() -> Option<(SpanIds, bool)> {
    let from_context = |cx: &Context| {
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| ((sc.trace_id().to_bytes(), sc.span_id().to_bytes()), sc.is_sampled()))
    };
    let found = Context::map_current(from_context);
    #[cfg(feature = "tracing-opentelemetry")]
    if found.is_none() {
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        // Outside any `tracing` span there is nothing to look up (and no context to build).
        let span = tracing::Span::current();
        return if span.is_none() { None } else { from_context(&span.context()) };
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    fn in_span<R>(sampled: bool, f: impl FnOnce() -> R) -> R {
        let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
        let sc = SpanContext::new(TraceId::from(7u128), SpanId::from(9u64), flags, false, TraceState::default());
        let _guard = Context::current().with_remote_span_context(sc).attach();
        f()
    }

    #[test]
    fn trace_based_keeps_only_measurements_in_sampled_spans() {
        let store = Exemplars::new(ExemplarFilter::TraceBased);
        let r = store.instrument("s", "h", Shape::Buckets(vec![1.0, 5.0]), 10).expect("reservoirs");
        r.offer(0.5, &[]);
        in_span(false, || r.offer(0.7, &[]));
        assert!(store.for_buckets("s", "h", &[]).is_empty());
        in_span(true, || r.offer(3.0, &[]));
        let kept = store.for_buckets("s", "h", &[]);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].0, 1);
        assert_eq!(kept[0].1.trace_id_hex(), format!("{:032x}", 7));
        assert_eq!(kept[0].1.span_id_hex(), format!("{:016x}", 9));
    }

    #[test]
    fn each_bucket_keeps_its_latest_and_a_boundary_value_belongs_to_its_bucket() {
        let store = Exemplars::new(ExemplarFilter::AlwaysOn);
        let r = store.instrument("s", "h", Shape::Buckets(vec![1.0, 5.0]), 10).expect("reservoirs");
        for v in [0.5, 1.0, 2.0, 4.0, 9.0] {
            r.offer(v, &[KeyValue::new("a", "1")]);
        }
        let mut kept: Vec<(usize, f64)> =
            store.for_buckets("s", "h", &[KeyValue::new("a", "1")]).into_iter().map(|(b, e)| (b, e.value)).collect();
        kept.sort_by_key(|(b, _)| *b);
        assert_eq!(kept, [(0, 1.0), (1, 4.0), (2, 9.0)]);
        assert!(!store.for_buckets("s", "h", &[]).first().is_some_and(|(_, e)| e.has_trace()));
    }

    #[test]
    fn sums_keep_the_latest_few_and_attribute_order_does_not_matter() {
        let store = Exemplars::new(ExemplarFilter::AlwaysOn);
        let r = store.instrument("s", "c", Shape::Sum, 10).expect("reservoirs");
        for v in 1..=6 {
            r.offer(f64::from(v), &[KeyValue::new("b", "2"), KeyValue::new("a", "1")]);
        }
        let kept: Vec<f64> = store.for_sum("s", "c", &[KeyValue::new("a", "1"), KeyValue::new("b", "2")]).iter().map(|e| e.value).collect();
        assert_eq!(kept, [3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn no_memory_past_the_cardinality_limit_and_none_at_all_when_off() {
        let store = Exemplars::new(ExemplarFilter::AlwaysOn);
        let r = store.instrument("s", "c", Shape::Sum, 3).expect("reservoirs");
        for i in 0..100 {
            r.offer(1.0, &[KeyValue::new("i", i)]);
        }
        assert_eq!(store.series(), 3);
        assert!(Exemplars::new(ExemplarFilter::AlwaysOff).instrument("s", "c", Shape::Sum, 3).is_none());
    }

    #[test]
    fn the_filter_names_are_the_specifications() {
        assert_eq!(ExemplarFilter::parse("trace_based"), Some(ExemplarFilter::TraceBased));
        assert_eq!(ExemplarFilter::parse("ALWAYS_ON"), Some(ExemplarFilter::AlwaysOn));
        assert_eq!(ExemplarFilter::parse("always_off"), Some(ExemplarFilter::AlwaysOff));
        assert_eq!(ExemplarFilter::parse("sometimes"), None);
    }
}
