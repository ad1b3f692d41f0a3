//! Histograms the pipeline keeps itself: per-bucket atomics, split into shards so that threads
//! on different cores recording into the same series do not write the same cache lines. They
//! stand in for the SDK's histograms (one mutex per series) whenever every reader of the
//! pipeline writes them directly (see [`DirectSeries`](crate::export::DirectSeries)).

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use opentelemetry::metrics::{BoundSyncInstrument, SyncInstrument};
use opentelemetry::{InstrumentationScope, KeyValue};

use crate::facade::cells::{Cell, Cells};
use crate::pipeline::health::{Health, Problem};

/// Shards per series: the machine's cores, rounded up to a power of two, at most 16 (a series
/// keeps a pointer per shard; past 16 cores, a few threads share each shard). A shard is
/// allocated on the first recording of a thread that maps to it, so a series recorded by one
/// thread holds one.
fn shard_count() -> usize {
    static SHARDS: OnceLock<usize> = OnceLock::new();
    *SHARDS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).next_power_of_two().min(16))
}

/// This thread's shard (modulo the shard count): threads are numbered as they first record.
#[inline]
fn thread_number() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static NUMBER: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    NUMBER.with(|n| *n)
}

/// One shard of a series: bucket counts, sum, minimum and maximum (`f64` bits), on a cache line
/// of its own (the buckets on lines of their own allocation).
#[repr(align(64))]
struct Shard {
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    buckets: Box<[AtomicU64]>,
}

impl Shard {
    fn new(buckets: usize) -> Self {
        Shard {
            sum: AtomicU64::new(0f64.to_bits()),
            min: AtomicU64::new(f64::INFINITY.to_bits()),
            max: AtomicU64::new(f64::NEG_INFINITY.to_bits()),
            buckets: (0..buckets).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// A histogram series with explicit bucket bounds (upper bounds inclusive, as OpenTelemetry and
/// Prometheus count them).
pub(crate) struct HistogramCell {
    bounds: Arc<[f64]>,
    shards: Box<[OnceLock<Box<Shard>>]>,
}

/// What a histogram series holds, summed over its shards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Totals {
    pub(crate) count: u64,
    pub(crate) sum: f64,
    /// `None` before the first recording.
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
}

impl HistogramCell {
    pub(crate) fn new(bounds: Arc<[f64]>) -> Self {
        HistogramCell { bounds, shards: (0..shard_count()).map(|_| OnceLock::new()).collect() }
    }

    /// Records a finite `value`.
    #[inline]
    pub(crate) fn record(&self, value: f64) {
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        let slot = &self.shards[thread_number() & (self.shards.len() - 1)];
        let shard = slot.get_or_init(|| Box::new(Shard::new(self.bounds.len() + 1)));
        shard.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        add(&shard.sum, value);
        if value < f64::from_bits(shard.min.load(Ordering::Relaxed)) {
            let _ = shard.min.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| (value < f64::from_bits(b)).then(|| value.to_bits()));
        }
        if value > f64::from_bits(shard.max.load(Ordering::Relaxed)) {
            let _ = shard.max.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| (value > f64::from_bits(b)).then(|| value.to_bits()));
        }
    }

    /// The bucket bounds.
    pub(crate) fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Fills `counts` with the bucket counts (one more than the bounds) and returns the totals.
    /// The count is the buckets' sum, so the two always agree.
    pub(crate) fn read(&self, counts: &mut Vec<u64>) -> Totals {
        counts.clear();
        counts.resize(self.bounds.len() + 1, 0);
        let (mut sum, mut min, mut max) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
        for shard in self.shards.iter().filter_map(OnceLock::get) {
            for (total, bucket) in counts.iter_mut().zip(shard.buckets.iter()) {
                *total += bucket.load(Ordering::Relaxed);
            }
            sum += f64::from_bits(shard.sum.load(Ordering::Relaxed));
            min = min.min(f64::from_bits(shard.min.load(Ordering::Relaxed)));
            max = max.max(f64::from_bits(shard.max.load(Ordering::Relaxed)));
        }
        let count = counts.iter().sum();
        let seen = count > 0;
        Totals { count, sum, min: (seen && min.is_finite()).then_some(min), max: (seen && max.is_finite()).then_some(max) }
    }
}

/// Adds to an `f64` kept as bits.
#[inline]
fn add(bits: &AtomicU64, value: f64) {
    let _ = bits.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| Some((f64::from_bits(b) + value).to_bits()));
}

impl Cell for HistogramCell {
    fn used(&self) -> bool {
        self.shards.iter().filter_map(OnceLock::get).any(|s| s.buckets.iter().any(|b| b.load(Ordering::Relaxed) > 0))
    }
}

/// A histogram instrument kept in [`HistogramCell`]s: what the pipeline's meters hand out for
/// `f64_histogram` and `u64_histogram` when every reader writes its histograms directly.
pub(crate) struct HistogramInstrument {
    pub(crate) scope: InstrumentationScope,
    pub(crate) name: Cow<'static, str>,
    pub(crate) unit: Cow<'static, str>,
    pub(crate) description: Cow<'static, str>,
    pub(crate) cells: Cells<HistogramCell>,
    /// When its cumulative series started (the instrument's creation).
    pub(crate) start: SystemTime,
    health: Health,
}

impl HistogramInstrument {
    pub(crate) fn new(
        scope: InstrumentationScope,
        name: Cow<'static, str>,
        unit: Cow<'static, str>,
        description: Cow<'static, str>,
        bounds: Vec<f64>,
        limit: usize,
        health: Health,
    ) -> Self {
        let bounds: Arc<[f64]> = bounds.into();
        let cells = Cells::made_by(limit, move || HistogramCell::new(bounds.clone()));
        HistogramInstrument { scope, name, unit, description, cells, start: SystemTime::now(), health }
    }

    /// Records `value` into the series of `attributes`; a value that is not finite is dropped
    /// and counted (`otel_pipeline_recording_dropped_total{reason="not_finite"}`).
    #[inline]
    fn record(&self, value: f64, attributes: &[KeyValue]) {
        if self.admits(value) && self.cells.with_known(attributes, |cell| cell.record(value)).is_none() {
            self.cells.slot(attributes).record(value);
        }
    }

    #[inline]
    fn admits(&self, value: f64) -> bool {
        value.is_finite() || not_finite(&self.health, &self.name, value)
    }
}

/// Counts (and reports once) a value a histogram cannot record; false.
#[cold]
pub(crate) fn not_finite(health: &Health, name: &str, value: f64) -> bool {
    health.report(Problem::Recording, "not_finite", name, 1, || {
        format!("histogram {name:?}: dropped a recording of {value}: only finite values are recorded")
    });
    false
}

impl SyncInstrument<f64> for HistogramInstrument {
    fn measure(&self, value: f64, attributes: &[KeyValue]) {
        self.record(value, attributes);
    }

    fn bind(&self, attributes: &[KeyValue]) -> Box<dyn BoundSyncInstrument<f64> + Send + Sync> {
        Box::new(BoundHistogramCell { cell: self.cells.slot(attributes), health: self.health.clone(), name: self.name.clone() })
    }
}

impl SyncInstrument<u64> for HistogramInstrument {
    fn measure(&self, value: u64, attributes: &[KeyValue]) {
        self.record(value as f64, attributes);
    }

    fn bind(&self, attributes: &[KeyValue]) -> Box<dyn BoundSyncInstrument<u64> + Send + Sync> {
        Box::new(BoundHistogramCell { cell: self.cells.slot(attributes), health: self.health.clone(), name: self.name.clone() })
    }
}

/// One series of a [`HistogramInstrument`], resolved once.
struct BoundHistogramCell {
    cell: Arc<HistogramCell>,
    health: Health,
    name: Cow<'static, str>,
}

impl BoundSyncInstrument<f64> for BoundHistogramCell {
    #[inline]
    fn measure(&self, value: f64) {
        if value.is_finite() || not_finite(&self.health, &self.name, value) {
            self.cell.record(value);
        }
    }
}

impl BoundSyncInstrument<u64> for BoundHistogramCell {
    #[inline]
    fn measure(&self, value: u64) {
        self.cell.record(value as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(cell: &HistogramCell) -> (Vec<u64>, Totals) {
        let mut counts = Vec::new();
        let totals = cell.read(&mut counts);
        (counts, totals)
    }

    #[test]
    fn values_land_in_the_bucket_whose_upper_bound_includes_them() {
        let cell = HistogramCell::new(vec![1.0, 2.0, 5.0].into());
        for v in [0.5, 1.0, 1.5, 2.0, 7.0, -3.0] {
            cell.record(v);
        }
        let (counts, t) = totals(&cell);
        assert_eq!(counts, [3, 2, 0, 1]);
        assert_eq!(t, Totals { count: 6, sum: 9.0, min: Some(-3.0), max: Some(7.0) });
    }

    #[test]
    fn an_empty_series_has_no_minimum_or_maximum() {
        let cell = HistogramCell::new(vec![1.0].into());
        assert!(!cell.used());
        assert_eq!(totals(&cell), (vec![0, 0], Totals { count: 0, sum: 0.0, min: None, max: None }));
    }

    #[test]
    fn threads_recording_at_once_lose_nothing() {
        let cell = Arc::new(HistogramCell::new(vec![0.5].into()));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let cell = cell.clone();
                std::thread::spawn(move || (0..10_000).for_each(|i| cell.record(if (i + t) % 2 == 0 { 0.25 } else { 1.0 })))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let (counts, t) = totals(&cell);
        assert_eq!(counts, [40_000, 40_000]);
        assert_eq!((t.count, t.sum, t.min, t.max), (80_000, 50_000.0, Some(0.25), Some(1.0)));
    }
}
