//! The statistics every in-process summary shares: a sliding window of recent observations,
//! nearest-rank percentiles over it, and quantiles estimated from histogram buckets.

use std::collections::VecDeque;

use crate::catalog::buckets::exponential_boundary;

/// The quantiles reported, with their label values.
pub(crate) const QUANTILES: [(f64, &str); 5] = [(0.5, "0.5"), (0.75, "0.75"), (0.9, "0.9"), (0.95, "0.95"), (0.99, "0.99")];

/// The same quantiles as percentile names, as snapshots show them.
pub(crate) const PERCENTILES: [&str; 5] = ["p50", "p75", "p90", "p95", "p99"];

/// `(percentile name, quantile)` pairs.
pub(crate) fn percentiles() -> impl Iterator<Item = (&'static str, f64)> {
    PERCENTILES.into_iter().zip(QUANTILES.map(|(q, _)| q))
}

/// The last observations of a series, plus its all-time count and sum.
#[derive(Debug, Clone, Default)]
pub(crate) struct Window {
    recent: VecDeque<f64>,
    pub(crate) count: u64,
    pub(crate) sum: f64,
}

impl Window {
    /// Adds an observation, forgetting the oldest beyond `capacity`.
    pub(crate) fn push(&mut self, value: f64, capacity: usize) {
        if self.recent.len() >= capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(value);
        self.count += 1;
        self.sum += value;
    }

    /// p50, p75, p90, p95, p99 of the recent observations (nearest rank); zeros when empty.
    pub(crate) fn quantiles(&self) -> [f64; 5] {
        let mut sorted: Vec<f64> = self.recent.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        QUANTILES.map(|(q, _)| nearest_rank(&sorted, q))
    }
}

/// The nearest-rank quantile of sorted values.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Linear interpolation inside the bucket holding the quantile's rank, as Prometheus'
/// `histogram_quantile` does; the last finite bound when it falls in `+Inf`.
pub(crate) fn explicit_quantile(q: f64, bounds: &[f64], counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let rank = q * total as f64;
    let mut cumulative = 0u64;
    for (i, count) in counts.iter().enumerate() {
        let before = cumulative;
        cumulative += count;
        if cumulative as f64 >= rank && *count > 0 {
            let Some(upper) = bounds.get(i) else { return bounds.last().copied().unwrap_or(0.0) };
            let lower = if i == 0 { 0.0f64.min(*upper) } else { bounds[i - 1] };
            return lower + (upper - lower) * (rank - before as f64) / *count as f64;
        }
    }
    bounds.last().copied().unwrap_or(0.0)
}

/// The geometric middle of the positive exponential bucket holding the quantile's rank (0 for
/// the zero bucket).
pub(crate) fn exponential_quantile(q: f64, scale: i8, offset: i32, counts: &[u64], zero_count: u64) -> f64 {
    let total: u64 = counts.iter().sum::<u64>() + zero_count;
    if total == 0 {
        return 0.0;
    }
    let rank = q * total as f64;
    let mut cumulative = zero_count;
    if cumulative as f64 >= rank {
        return 0.0;
    }
    for (i, count) in counts.iter().enumerate() {
        cumulative += count;
        if cumulative as f64 >= rank {
            let index = i64::from(offset) + i as i64;
            return (exponential_boundary(scale, index) * exponential_boundary(scale, index + 1)).sqrt();
        }
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles_of_one_to_a_hundred() {
        let mut w = Window::default();
        for v in 1..=100 {
            w.push(f64::from(v), 1000);
        }
        assert_eq!(w.quantiles(), [50.0, 75.0, 90.0, 95.0, 99.0]);
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
    fn explicit_quantiles_interpolate_like_prometheus() {
        // 50 in (0.1, 0.2], 50 in (0.2, 0.5].
        let bounds = [0.1, 0.2, 0.5, 1.0];
        let counts = [0, 50, 50, 0, 0];
        assert!((explicit_quantile(0.5, &bounds, &counts) - 0.2).abs() < 1e-12);
        assert!((explicit_quantile(0.9, &bounds, &counts) - 0.44).abs() < 1e-12);
    }

    #[test]
    fn exponential_quantile_lands_in_the_right_bucket() {
        // Scale 0: bucket i holds (2^i, 2^(i+1)]. 10 values in (4, 8].
        let q = exponential_quantile(0.5, 0, 2, &[10], 0);
        assert!(q > 4.0 && q <= 8.0, "{q}");
    }
}
