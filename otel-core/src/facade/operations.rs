//! What operation guards record for the snapshot's operations view: executions, successes,
//! durations and percentiles per operation name, at most the default cardinality limit of names.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use crate::catalog::DEFAULT_CARDINALITY_LIMIT;
use crate::facade::cells::OVERFLOW_KEY;
use crate::pipeline::stats::{Window, PERCENTILES};

/// Observations kept per operation for its percentiles.
const OPERATION_WINDOW: usize = 1000;

/// Totals over all operations, and per operation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OperationsView {
    /// Seconds since the statistics started (at build time, or at the last reset).
    pub uptime_seconds: f64,
    /// Executions.
    pub total_executions: u64,
    /// Executions that succeeded.
    pub successful_executions: u64,
    /// Executions that failed.
    pub failed_executions: u64,
    /// `successful / total`, 0 when nothing ran.
    pub success_rate: f64,
    /// Seconds spent in all executions.
    pub total_duration: f64,
    /// Seconds per execution.
    pub average_duration: f64,
    /// Executions per second of `uptime_seconds`.
    pub executions_per_second: f64,
    /// Per operation name.
    pub task_stats: BTreeMap<String, OperationStats>,
}

/// One operation's statistics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OperationStats {
    /// Executions.
    pub executions: u64,
    /// Successes.
    pub successes: u64,
    /// Failures.
    pub failures: u64,
    /// `successes / executions`.
    pub success_rate: f64,
    /// Seconds in all executions.
    pub total_duration: f64,
    /// Seconds per execution.
    pub average_duration: f64,
    /// Shortest execution.
    pub min_duration: f64,
    /// Longest execution.
    pub max_duration: f64,
    /// p50…p99 of the last 1000 executions.
    pub quantiles: BTreeMap<&'static str, f64>,
    #[serde(skip)]
    window: Window,
}

/// Per-operation statistics kept in process, and since when.
#[derive(Debug)]
pub(crate) struct Operations {
    stats: Mutex<BTreeMap<String, OperationStats>>,
    since: Mutex<Instant>,
}

impl Default for Operations {
    fn default() -> Self {
        Operations { stats: Mutex::default(), since: Mutex::new(Instant::now()) }
    }
}

impl Operations {
    pub(crate) fn record(&self, name: &str, seconds: f64, success: bool) {
        let Ok(mut stats) = self.stats.lock() else { return };
        // Operation names are bounded like label sets: past the limit they share one entry.
        let name = if stats.contains_key(name) || stats.len() < DEFAULT_CARDINALITY_LIMIT { name } else { OVERFLOW_KEY };
        let s = stats.entry(name.to_owned()).or_default();
        if s.executions == 0 {
            s.min_duration = seconds;
            s.max_duration = seconds;
        }
        s.executions += 1;
        if success {
            s.successes += 1;
        } else {
            s.failures += 1;
        }
        s.total_duration += seconds;
        s.min_duration = s.min_duration.min(seconds);
        s.max_duration = s.max_duration.max(seconds);
        s.window.push(seconds, OPERATION_WINDOW);
    }

    /// Starts over: no operations, uptime from now.
    pub(crate) fn reset(&self) {
        if let Ok(mut stats) = self.stats.lock() {
            stats.clear();
        }
        if let Ok(mut since) = self.since.lock() {
            *since = Instant::now();
        }
    }

    /// The statistics, with uptime since they started.
    pub(crate) fn view(&self) -> OperationsView {
        let uptime = self.since.lock().map(|since| since.elapsed().as_secs_f64()).unwrap_or_default();
        self.view_over(uptime)
    }

    fn view_over(&self, uptime: f64) -> OperationsView {
        let mut view = OperationsView { uptime_seconds: uptime, ..OperationsView::default() };
        let Ok(stats) = self.stats.lock() else { return view };
        for (name, s) in stats.iter() {
            let mut s = s.clone();
            s.success_rate = ratio(s.successes as f64, s.executions as f64);
            s.average_duration = ratio(s.total_duration, s.executions as f64);
            s.quantiles = PERCENTILES.into_iter().zip(s.window.quantiles()).collect();
            view.total_executions += s.executions;
            view.successful_executions += s.successes;
            view.failed_executions += s.failures;
            view.total_duration += s.total_duration;
            view.task_stats.insert(name.clone(), s);
        }
        view.success_rate = ratio(view.successful_executions as f64, view.total_executions as f64);
        view.average_duration = ratio(view.total_duration, view.total_executions as f64);
        view.executions_per_second = ratio(view.total_executions as f64, uptime);
        view
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_view_counts_rates_and_extremes() {
        let ops = Operations::default();
        ops.record("sync", 0.5, true);
        ops.record("sync", 1.5, false);
        ops.record("sync", 1.0, true);
        let view = ops.view_over(3.0);
        assert_eq!((view.total_executions, view.successful_executions, view.failed_executions), (3, 2, 1));
        assert!((view.success_rate - 2.0 / 3.0).abs() < 1e-12);
        assert!((view.executions_per_second - 1.0).abs() < 1e-12);
        let s = &view.task_stats["sync"];
        assert_eq!((s.min_duration, s.max_duration, s.average_duration), (0.5, 1.5, 1.0));
        assert_eq!(s.quantiles["p50"], 1.0);
        ops.reset();
        assert_eq!(ops.view_over(1.0).total_executions, 0);
    }
}
