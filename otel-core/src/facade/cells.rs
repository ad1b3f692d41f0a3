//! The facade's per-series state: one cell per label set, never more than the metric's
//! cardinality limit. Past the limit every new label set shares one overflow cell, labelled
//! `otel.metric.overflow="true"` as the SDK labels its own overflow series, so memory is
//! proportional to the limit and not to the number of distinct inputs ever seen.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use opentelemetry::{KeyValue, Value};

type Map<C> = hashbrown::HashMap<Vec<KeyValue>, Arc<C>, foldhash::fast::RandomState>;

/// A label set being looked up. It hashes as the stored label set does, and compares strings by
/// address before their bytes: a caller that records with the same literals (or the same shared
/// strings) every time matches without comparing text.
struct Lookup<'a>(&'a [KeyValue]);

impl Hash for Lookup<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl hashbrown::Equivalent<Vec<KeyValue>> for Lookup<'_> {
    fn equivalent(&self, stored: &Vec<KeyValue>) -> bool {
        fn same(a: &str, b: &str) -> bool {
            (std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()) || a == b
        }
        self.0.len() == stored.len()
            && self.0.iter().zip(stored).all(|(a, b)| {
                same(a.key.as_str(), b.key.as_str())
                    && match (&a.value, &b.value) {
                        (Value::String(x), Value::String(y)) => same(x.as_str(), y.as_str()),
                        (x, y) => x == y,
                    }
            })
    }
}

/// The attribute the SDK (and this facade) puts on the series that collects label sets past the
/// cardinality limit.
pub(crate) const OVERFLOW_KEY: &str = "otel.metric.overflow";

/// What a series keeps its value in.
pub(crate) trait Cell {
    /// Whether the cell recorded anything: the overflow series is reported once it did.
    fn used(&self) -> bool;
    /// Whether a series' value may be reported yet (a gauge's only once it was first set, never
    /// the 0 its cell starts with).
    fn ready(&self) -> bool {
        true
    }
}

/// Label sets seen by one metric and their cells.
pub(crate) struct Cells<C> {
    /// Cells by normalized label set (keys sorted, each key once).
    series: RwLock<Map<C>>,
    /// The same cells under the label order a caller used, so a repeated call is one lookup.
    aliases: RwLock<Map<C>>,
    /// Label sets kept apart; the overflow cell is one more.
    limit: usize,
    overflow: Arc<C>,
    /// Makes the cell of a new series.
    fresh: Box<dyn Fn() -> C + Send + Sync>,
}

impl<C: Cell + Default + 'static> Cells<C> {
    /// Cells for a metric that keeps `limit` label sets apart (plus the overflow series, as
    /// the SDK counts its cardinality limit).
    pub(crate) fn new(limit: usize) -> Self {
        Self::made_by(limit, C::default)
    }
}

impl<C: Cell> Cells<C> {
    /// As [`new`](Cells::new), for cells made by `fresh` (a histogram's, which know their bounds).
    pub(crate) fn made_by(limit: usize, fresh: impl Fn() -> C + Send + Sync + 'static) -> Self {
        let overflow = Arc::new(fresh());
        Cells { series: RwLock::default(), aliases: RwLock::default(), limit: limit.max(1), overflow, fresh: Box::new(fresh) }
    }

    /// Applies `f` to the cell of a label set recorded before in this very order: the hot path
    /// of repeated calls (one lookup under a read lock, no reference counting). Such a label
    /// set passed the catalog's check when it was first recorded.
    #[inline]
    pub(crate) fn with_known<R>(&self, labels: &[KeyValue], f: impl FnOnce(&C) -> R) -> Option<R> {
        let aliases = self.aliases.read().ok()?;
        aliases.get(&Lookup(labels)).map(|cell| f(cell))
    }

    /// The cell that records `labels`: its own, or past the limit the overflow cell.
    pub(crate) fn slot(&self, labels: &[KeyValue]) -> Arc<C> {
        if let Some(cell) = self.aliases.read().ok().and_then(|a| a.get(&Lookup(labels)).cloned()) {
            return cell;
        }
        let key = series_key(labels);
        // A read lock first: past the limit, a flood of new label sets never takes the write lock.
        match self.series.read() {
            Ok(series) if series.len() >= self.limit && !series.contains_key(&key) => return self.overflow.clone(),
            Ok(series) => {
                if let Some(cell) = series.get(&key) {
                    return self.alias(labels, cell);
                }
            }
            Err(_) => return self.overflow.clone(),
        }
        let Ok(mut series) = self.series.write() else { return self.overflow.clone() };
        if series.len() >= self.limit && !series.contains_key(&key) {
            return self.overflow.clone();
        }
        let cell = series.entry(key).or_insert_with(|| Arc::new((self.fresh)()));
        self.alias(labels, cell)
    }

    /// Remembers `cell` under the order `labels` came in. Called with the series lock held and
    /// the cell still in the map: a `remove` in between would otherwise leave an alias to a cell
    /// no collection sees, and every later recording in this order would be lost.
    fn alias(&self, labels: &[KeyValue], cell: &Arc<C>) -> Arc<C> {
        if let Ok(mut aliases) = self.aliases.write() {
            // Orders beyond a few per series are looked up the slow way, so this map stays bounded too.
            if aliases.len() < self.limit.saturating_mul(2) {
                aliases.insert(labels.to_vec(), cell.clone());
            }
        }
        cell.clone()
    }

    /// Forgets the series of `labels` (in any order); the next collection no longer reports it.
    /// Returns whether it existed.
    pub(crate) fn remove(&self, labels: &[KeyValue]) -> bool {
        let key = series_key(labels);
        let Ok(mut series) = self.series.write() else { return false };
        let Some(cell) = series.remove(&key) else { return false };
        // Still under the series lock (the order `slot` takes them too): no alias to the removed
        // cell can be written after this.
        if let Ok(mut aliases) = self.aliases.write() {
            aliases.retain(|_, alias| !Arc::ptr_eq(alias, &cell));
        }
        true
    }

    /// Whether [`for_each`](Self::for_each) would visit any series.
    pub(crate) fn has_series(&self) -> bool {
        self.series.read().is_ok_and(|series| series.values().any(|cell| cell.ready())) || self.overflow.used()
    }

    /// Every series ready to report with its labels, the overflow series last (when it recorded
    /// anything).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[KeyValue], &C)) {
        if let Ok(series) = self.series.read() {
            for (labels, cell) in series.iter().filter(|(_, cell)| cell.ready()) {
                f(labels, cell);
            }
        }
        if self.overflow.used() {
            f(&[KeyValue::new(OVERFLOW_KEY, true)], &self.overflow);
        }
    }
}

/// A label set as a map key: keys sorted, each key once with the value given last (the
/// OpenTelemetry rule for attribute sets), so the same labels in any order make one series.
pub(crate) fn series_key(labels: &[KeyValue]) -> Vec<KeyValue> {
    let mut key: Vec<KeyValue> = Vec::with_capacity(labels.len());
    for kv in labels {
        match key.iter_mut().find(|k| k.key == kv.key) {
            Some(existing) => *existing = kv.clone(),
            None => key.push(kv.clone()),
        }
    }
    key.sort_by(|a, b| a.key.cmp(&b.key));
    key
}

/// `labels` with each key once, the value given last winning, for recording into the SDK
/// (which would keep an arbitrary one); borrowed when no key repeats.
pub(crate) fn last_wins(labels: &[KeyValue]) -> std::borrow::Cow<'_, [KeyValue]> {
    let repeats = labels.iter().enumerate().any(|(i, kv)| labels[i + 1..].iter().any(|later| later.key == kv.key));
    if repeats {
        std::borrow::Cow::Owned(series_key(labels))
    } else {
        std::borrow::Cow::Borrowed(labels)
    }
}

/// A counter's running total; it stops at `u64::MAX` instead of wrapping around.
#[derive(Default)]
pub(crate) struct CounterCell(AtomicU64);

impl CounterCell {
    /// Adds `value`; returns false when the total saturated.
    #[inline(always)]
    pub(crate) fn add(&self, value: u64) -> bool {
        let old = self.0.fetch_add(value, Ordering::Relaxed);
        old <= u64::MAX - value || self.saturate()
    }

    #[cold]
    #[inline(never)]
    fn saturate(&self) -> bool {
        self.0.store(u64::MAX, Ordering::Relaxed);
        false
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Cell for CounterCell {
    fn used(&self) -> bool {
        self.get() > 0
    }
}

/// A gauge's current value (an `f64` in an atomic), and whether it was ever set. Up-down
/// counters keep theirs here too: their moves are `f64` (a move of 0.5 counts), and a series that
/// went back to 0 is still reported as 0.
pub(crate) struct GaugeCell {
    bits: AtomicU64,
    set: std::sync::atomic::AtomicBool,
}

impl Default for GaugeCell {
    fn default() -> Self {
        GaugeCell { bits: AtomicU64::new(0f64.to_bits()), set: std::sync::atomic::AtomicBool::new(false) }
    }
}

impl GaugeCell {
    /// Sets (`Move::To`) or moves (`Move::By`) the value.
    pub(crate) fn apply(&self, change: GaugeChange) {
        match change {
            GaugeChange::To(v) => self.bits.store(v.to_bits(), Ordering::Relaxed),
            GaugeChange::By(d) => {
                let _ = self.bits.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| Some((f64::from_bits(b) + d).to_bits()));
            }
        }
        // After the value (release): a collection that sees the flag sees the value with it,
        // never the 0 the cell started with.
        if !self.set.load(Ordering::Relaxed) {
            self.set.store(true, Ordering::Release);
        }
    }

    pub(crate) fn get(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}

impl Cell for GaugeCell {
    fn used(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    fn ready(&self) -> bool {
        self.used()
    }
}

/// What a gauge operation does.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GaugeChange {
    /// `set_gauge`.
    To(f64),
    /// `increment_gauge` / `decrement_gauge`.
    By(f64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sets_past_the_limit_share_the_overflow_cell() {
        let cells: Cells<CounterCell> = Cells::new(10);
        for i in 0..1000 {
            cells.slot(&[KeyValue::new("user", i)]).add(1);
        }
        let mut seen = Vec::new();
        cells.for_each(|labels, c| seen.push((labels.to_vec(), c.get())));
        assert_eq!(seen.len(), 11);
        assert_eq!(seen.iter().map(|(_, n)| n).sum::<u64>(), 1000);
        assert_eq!(seen.last().unwrap().0, vec![KeyValue::new(OVERFLOW_KEY, true)]);
        assert_eq!(seen.last().unwrap().1, 990);
    }

    #[test]
    fn the_same_labels_in_any_order_or_repeated_make_one_series() {
        let cells: Cells<CounterCell> = Cells::new(10);
        cells.slot(&[KeyValue::new("a", 1), KeyValue::new("b", 2)]).add(1);
        cells.slot(&[KeyValue::new("b", 2), KeyValue::new("a", 1)]).add(1);
        cells.slot(&[KeyValue::new("b", 9), KeyValue::new("a", 1), KeyValue::new("b", 2)]).add(1);
        let mut seen = Vec::new();
        cells.for_each(|labels, c| seen.push((labels.to_vec(), c.get())));
        assert_eq!(seen, vec![(vec![KeyValue::new("a", 1), KeyValue::new("b", 2)], 3)]);
    }

    #[test]
    fn a_removed_series_is_gone_under_every_order_and_frees_its_place() {
        let cells: Cells<GaugeCell> = Cells::new(1);
        let (a, b) = (KeyValue::new("service", "api"), KeyValue::new("state", "active"));
        cells.slot(&[a.clone(), b.clone()]).apply(GaugeChange::To(1.0));
        cells.slot(&[b.clone(), a.clone()]).apply(GaugeChange::To(1.0));
        assert!(cells.remove(&[b.clone(), a.clone()]));
        assert!(!cells.remove(&[a.clone(), b.clone()]));
        let mut seen = Vec::new();
        cells.for_each(|labels, c| seen.push((labels.to_vec(), c.get())));
        assert!(seen.is_empty(), "{seen:?}");
        // The place is free again: a new label set gets its own cell, not the overflow cell.
        cells.slot(&[a.clone(), KeyValue::new("state", "failed")]).apply(GaugeChange::To(-1.0));
        cells.for_each(|labels, c| seen.push((labels.to_vec(), c.get())));
        assert_eq!(seen, vec![(vec![a, KeyValue::new("state", "failed")], -1.0)]);
    }

    #[test]
    fn recordings_after_concurrent_removals_are_all_reported() {
        let orders: Vec<Vec<KeyValue>> = vec![
            vec![KeyValue::new("a", 1), KeyValue::new("b", 2), KeyValue::new("c", 3)],
            vec![KeyValue::new("c", 3), KeyValue::new("b", 2), KeyValue::new("a", 1)],
            vec![KeyValue::new("b", 2), KeyValue::new("a", 1), KeyValue::new("c", 3)],
        ];
        for round in 0..20 {
            let cells: Arc<Cells<CounterCell>> = Arc::new(Cells::new(10));
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let mut threads = Vec::new();
            for t in 0..4 {
                let (cells, stop, orders) = (cells.clone(), stop.clone(), orders.clone());
                threads.push(std::thread::spawn(move || {
                    let mut i = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let labels = &orders[(i + t) % orders.len()];
                        if t % 2 == 0 {
                            cells.slot(labels).add(1);
                        } else {
                            cells.remove(labels);
                        }
                        i += 1;
                    }
                }));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            stop.store(true, Ordering::Relaxed);
            threads.into_iter().for_each(|t| t.join().unwrap());
            cells.remove(&orders[0]);
            // After the last removal, every recording in every order lands in the one reported series.
            for labels in &orders {
                for _ in 0..10 {
                    match cells.with_known(labels, |c| c.add(1)) {
                        Some(_) => {}
                        None => {
                            cells.slot(labels).add(1);
                        }
                    }
                }
            }
            let mut total = 0;
            cells.for_each(|_, c| total += c.get());
            assert_eq!(total, 30, "round {round}: recordings after the last removal went to a removed cell");
        }
    }

    #[test]
    fn a_gauge_is_not_reported_before_its_first_value() {
        let cells: Cells<GaugeCell> = Cells::new(10);
        let cell = cells.slot(&[KeyValue::new("a", 1)]);
        let mut seen = Vec::new();
        cells.for_each(|labels, c| seen.push((labels.to_vec(), c.get())));
        assert!(seen.is_empty(), "a gauge between its slot and its first set is reported as {seen:?}");
        assert!(!cells.has_series());
        cell.apply(GaugeChange::By(0.5));
        cell.apply(GaugeChange::By(0.25));
        cells.for_each(|labels, c| seen.push((labels.to_vec(), c.get())));
        assert_eq!(seen, vec![(vec![KeyValue::new("a", 1)], 0.75)]);
    }

    #[test]
    fn totals_saturate_instead_of_wrapping() {
        let c = CounterCell::default();
        assert!(c.add(u64::MAX));
        assert!(!c.add(u64::MAX));
        assert_eq!(c.get(), u64::MAX);
    }
}
