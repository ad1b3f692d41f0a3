//! Exporters that deliver the exposition somewhere on their own schedule (a file, a
//! Pushgateway): a reader that collects on demand, a thread that delivers every interval, a
//! final delivery at shutdown while the pipeline can still be collected. Failures are logged
//! boundedly and counted; `force_flush` and `shutdown` also return them, naming the exporter.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, Pipeline, Temporality};
use otel_core::export::{Health, Plug, Problem};
use otel_core::BuildError;

use crate::exposition::Scraper;

/// What a periodic exporter does with the metrics.
pub(crate) trait Sink: Send + Sync + 'static {
    /// The exporter's name, for logs and the thread.
    const NAME: &'static str;
    /// Its `otel.component.type` in the self-metrics.
    const COMPONENT: &'static str;

    /// Delivers the current metrics. `Err((reason, message))` is counted in
    /// `otel_pipeline_export_failed_total{reason}` and logged a bounded number of times.
    fn deliver(&self, scraper: &Scraper) -> Result<(), (&'static str, String)>;

    /// Runs once after the final delivery at shutdown.
    fn finish(&self) -> Result<(), (&'static str, String)> {
        Ok(())
    }
}

/// Attaches `sink`: delivers every `interval` (never, between start and shutdown, when `None`)
/// and once more at shutdown.
pub(crate) fn attach<S: Sink>(plug: &mut Plug, scraper: Scraper, sink: Arc<S>, interval: Option<Duration>) -> Result<(), BuildError> {
    scraper.attach_to(plug);
    scraper.set_component(S::COMPONENT);
    let shared = Arc::new(Shared { scraper, sink, health: plug.health().clone(), failing: AtomicBool::new(false) });
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let thread = match interval {
        Some(interval) => {
            let (shared, stop) = (shared.clone(), stop.clone());
            let thread = std::thread::Builder::new()
                .name(format!("otel-pipeline-{}", S::NAME))
                .spawn(move || shared.run(interval, &stop))
                .map_err(|e| BuildError::Exporter { exporter: S::NAME, reason: format!("cannot start its thread: {e}") })?;
            Some(thread)
        }
        None => None,
    };
    plug.add_reader(PeriodicReader { shared, stop, thread: Mutex::new(thread) });
    Ok(())
}

struct Shared<S> {
    scraper: Scraper,
    sink: Arc<S>,
    health: Health,
    failing: AtomicBool,
}

impl<S: Sink> Shared<S> {
    /// Logs (boundedly) and counts a failure; returns the message `force_flush` and `shutdown`
    /// fail with, naming the exporter.
    fn report(&self, result: Result<(), (&'static str, String)>) -> Result<(), String> {
        match result {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(target: "otel_pipeline", exporter = S::NAME, "delivering metrics works again");
                }
                Ok(())
            }
            Err((reason, message)) => {
                self.failing.store(true, Ordering::Relaxed);
                let message = format!("{}: {message}", S::NAME);
                self.health.report(Problem::Export, reason, S::NAME, 1, || message.clone());
                self.health.export_failed(message.clone());
                Err(message)
            }
        }
    }

    fn deliver(&self) -> Result<(), String> {
        let started = std::time::Instant::now();
        let result = self.sink.deliver(&self.scraper);
        let error = result.as_ref().err().map(|(reason, _)| *reason);
        self.health.export_finished(S::COMPONENT, self.scraper.last_points(), started.elapsed().as_secs_f64(), error);
        self.report(result)
    }

    fn run(&self, interval: Duration, stop: &(Mutex<bool>, Condvar)) {
        let mut due = Instant::now() + interval;
        while !wait_until(stop, due) {
            let _ = self.deliver();
            // The next delivery an interval after this one was due; after a delivery that took
            // longer than the interval, an interval from now (no burst to catch up).
            due = (due + interval).max(Instant::now());
        }
    }
}

/// Waits until `due` or until stopped; whether it was stopped. A wakeup of the condition
/// variable that is neither (a spurious one) waits on: only the deadline makes a delivery.
fn wait_until((lock, wake): &(Mutex<bool>, Condvar), due: Instant) -> bool {
    let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if *stopped {
            return true;
        }
        let now = Instant::now();
        if now >= due {
            return false;
        }
        stopped = wake.wait_timeout(stopped, due - now).unwrap_or_else(|p| p.into_inner()).0;
    }
}

/// The reader behind a periodic exporter.
struct PeriodicReader<S> {
    shared: Arc<Shared<S>>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<S: Sink> fmt::Debug for PeriodicReader<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeriodicReader").field("exporter", &S::NAME).finish_non_exhaustive()
    }
}

impl<S: Sink> MetricReader for PeriodicReader<S> {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.shared.scraper.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.shared.scraper.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.shared.deliver().map_err(OTelSdkError::InternalFailure)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        {
            let (lock, wake) = &*self.stop;
            *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
            wake.notify_all();
        }
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
        // The final delivery, while the pipeline can still be collected. (An in-flight delivery
        // the thread was making, and this one, end at the pipeline's shutdown deadline.)
        let delivered = self.shared.deliver();
        let finished = self.shared.report(self.shared.sink.finish());
        self.shared.scraper.shutdown_with_timeout(timeout)?;
        delivered.and(finished).map_err(OTelSdkError::InternalFailure)
    }

    fn temporality(&self, _kind: InstrumentKind) -> Temporality {
        Temporality::Cumulative
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakeups_that_are_not_a_stop_do_not_end_the_interval() {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let waker = stop.clone();
        let noise = std::thread::spawn(move || {
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(5));
                waker.1.notify_all();
            }
        });
        let started = Instant::now();
        assert!(!wait_until(&stop, started + Duration::from_millis(200)), "not stopped");
        assert!(started.elapsed() >= Duration::from_millis(200), "returned early after {:?}", started.elapsed());
        noise.join().unwrap();
        *stop.0.lock().unwrap() = true;
        stop.1.notify_all();
        assert!(wait_until(&stop, Instant::now() + Duration::from_secs(60)), "a stop ends the wait at once");
    }
}
