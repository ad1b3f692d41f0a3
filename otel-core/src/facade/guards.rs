//! Scoped recording: durations, in-flight counts and outcomes, recorded when the guard drops.
//!
//! A guard records on every way out of its scope: normal end, early `return`, `?`, a panic
//! unwinding through it, and a future dropped before completion (the guard is dropped with it).

use std::time::Instant;

use opentelemetry::KeyValue;
use smallvec::SmallVec;

use crate::Metrics;

/// A guard's labels: kept inline for up to four, so taking a guard allocates nothing.
type GuardLabels = SmallVec<[KeyValue; 4]>;

fn guard_labels(labels: &[KeyValue]) -> GuardLabels {
    labels.iter().cloned().collect()
}

impl Metrics {
    /// Times the scope and records the seconds into histogram (or quantile timer) `name`.
    pub fn track_duration(&self, name: &'static str, labels: &[KeyValue]) -> DurationGuard {
        DurationGuard { metrics: self.clone(), name, labels: guard_labels(labels), started: Instant::now() }
    }

    /// Adds 1 to gauge (or up-down counter) `name` now and subtracts it when the scope ends.
    pub fn track_active(&self, name: &'static str, labels: &[KeyValue]) -> ActiveGuard {
        self.increment_gauge(name, 1.0, labels);
        ActiveGuard { metrics: self.clone(), name, labels: guard_labels(labels) }
    }

    /// Times the scope into histogram `name` with a `status` label (`success` / `failure`) and,
    /// on failure, `error.type`. Mark the outcome with [`OutcomeGuard::success`],
    /// [`OutcomeGuard::failure`] or [`OutcomeGuard::result`]; a guard dropped without one
    /// records `failure` with `error.type` `panic` (while unwinding) or `unfinished`.
    pub fn track_outcome(&self, name: &'static str, labels: &[KeyValue]) -> OutcomeGuard {
        OutcomeGuard { metrics: self.clone(), name, labels: guard_labels(labels), started: Instant::now(), outcome: None, operation: None }
    }

    /// An [`OutcomeGuard`] on the `operation.duration` histogram with label `operation`, also
    /// counted in the snapshot's operations view (executions, success rate, min/avg/max, p50–p99).
    pub fn operation(&self, name: &str) -> OutcomeGuard {
        OutcomeGuard {
            metrics: self.clone(),
            name: crate::OPERATION_DURATION,
            labels: [KeyValue::new("operation", name.to_owned())].into_iter().collect(),
            started: Instant::now(),
            outcome: None,
            operation: Some(name.to_owned()),
        }
    }
}

/// Records the scope's duration on drop. See [`Metrics::track_duration`].
#[must_use = "the duration is recorded when the guard is dropped"]
#[derive(Debug)]
pub struct DurationGuard {
    metrics: Metrics,
    name: &'static str,
    labels: GuardLabels,
    started: Instant,
}

impl Drop for DurationGuard {
    fn drop(&mut self) {
        self.metrics.record_histogram(self.name, self.started.elapsed().as_secs_f64(), &self.labels);
    }
}

/// Decrements the in-flight count on drop. See [`Metrics::track_active`].
#[must_use = "the count goes down when the guard is dropped"]
#[derive(Debug)]
pub struct ActiveGuard {
    metrics: Metrics,
    name: &'static str,
    labels: GuardLabels,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.metrics.decrement_gauge(self.name, 1.0, &self.labels);
    }
}

/// Records duration and outcome on drop. See [`Metrics::track_outcome`].
#[must_use = "the outcome is recorded when the guard is dropped"]
#[derive(Debug)]
pub struct OutcomeGuard {
    metrics: Metrics,
    name: &'static str,
    labels: GuardLabels,
    started: Instant,
    outcome: Option<Result<(), String>>,
    operation: Option<String>,
}

impl OutcomeGuard {
    /// Measures from `started` instead of from the guard's creation: for work that began before
    /// the guard could be made (a run given up after a timeout, say).
    pub fn started_at(mut self, started: Instant) -> Self {
        self.started = started;
        self
    }

    /// The scope succeeded.
    pub fn success(mut self) {
        self.outcome = Some(Ok(()));
    }

    /// The scope failed with this error type (e.g. `TimeoutError`).
    pub fn failure(mut self, error_type: &str) {
        self.outcome = Some(Err(error_type.to_owned()));
    }

    /// Success for `Ok`; for `Err`, failure with the error's type name.
    pub fn result<T, E>(mut self, result: &Result<T, E>) {
        self.outcome = Some(match result {
            Ok(_) => Ok(()),
            Err(_) => Err(error_type_name::<E>().to_owned()),
        });
    }
}

/// The last path segment of a type's name, without generics: `std::io::Error` → `Error`,
/// `my_app::TimeoutError` → `TimeoutError`.
pub fn error_type_name<E>() -> &'static str {
    let full = std::any::type_name::<E>();
    let without_generics = full.split('<').next().unwrap_or(full);
    without_generics.rsplit("::").next().unwrap_or(without_generics)
}

impl Drop for OutcomeGuard {
    fn drop(&mut self) {
        let seconds = self.started.elapsed().as_secs_f64();
        let outcome = self.outcome.take().unwrap_or_else(|| Err(if std::thread::panicking() { "panic" } else { "unfinished" }.to_owned()));
        let mut labels = std::mem::take(&mut self.labels);
        match &outcome {
            Ok(()) => labels.push(KeyValue::new("status", "success")),
            Err(kind) => {
                labels.push(KeyValue::new("status", "failure"));
                labels.push(KeyValue::new("error.type", kind.clone()));
            }
        }
        self.metrics.record_histogram(self.name, seconds, &labels);
        if let Some(operation) = &self.operation {
            self.metrics.inner_operations().record(operation, seconds, outcome.is_ok());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_names_are_short() {
        assert_eq!(error_type_name::<std::io::Error>(), "Error");
        assert_eq!(error_type_name::<std::num::ParseIntError>(), "ParseIntError");
        assert_eq!(error_type_name::<Vec<u8>>(), "Vec");
    }
}
