//! The scheduler: interval jobs recorded by [`Jobs`], and the document's metrics API on top of
//! the pipeline's operations view.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use example_support::Ticker;
use otel_core::facade::OperationsView;
use otel_core::opentelemetry::KeyValue;
use otel_core::Telemetry;
use otel_exporters::{PrometheusExporter, Scraper};
use otel_instrumentation::tasks::Jobs;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A scheduler with metrics enabled (the document's `Scheduler(enable_metrics=True)`).
#[derive(Clone)]
pub(crate) struct Scheduler {
    telemetry: Arc<Telemetry>,
    scraper: Scraper,
    jobs: Jobs,
}

impl Scheduler {
    pub(crate) fn new() -> Result<Self, String> {
        let exporter = PrometheusExporter::new().without_server();
        let scraper = exporter.scraper();
        let catalog = otel_core::Catalog::new().with(Jobs::definitions()).map_err(|e| e.to_string())?;
        let telemetry = Telemetry::builder()
            .catalog(catalog)
            .default_service_name("symphra-scheduler")
            .scope_name("symphra_scheduler")
            .exporter(exporter)
            .build()
            .map_err(|e| e.to_string())?;
        register_scheduler_metrics(&telemetry);
        let jobs = Jobs::new(&telemetry.metrics());
        Ok(Scheduler { telemetry: Arc::new(telemetry), scraper, jobs })
    }

    /// Runs `job` every `interval` until `stop`, giving a run up after `timeout` when there is one.
    pub(crate) fn every<F, Fut, T, E>(
        &self,
        name: &'static str,
        interval: Duration,
        timeout: Option<Duration>,
        stop: watch::Receiver<bool>,
        mut job: F,
    ) -> JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send,
        T: Send,
        E: Send,
    {
        let jobs = self.jobs.clone();
        tokio::spawn(async move {
            let mut ticks = Ticker::new(interval, stop);
            while ticks.next().await {
                match timeout {
                    None => drop(jobs.run_async(name, job()).await),
                    Some(limit) => drop(jobs.run_async_within(name, limit, job()).await),
                }
            }
        })
    }

    /// The document's `get_metrics()`: uptime, totals, success rate, durations and executions per
    /// second, and per task executions, successes, failures, success rate, average, min and max.
    pub(crate) fn get_metrics(&self) -> OperationsView {
        self.telemetry.metrics().operations()
    }

    /// `reset_metrics()`: every counter and statistic back to zero, uptime from now.
    pub(crate) fn reset_metrics(&self) {
        self.telemetry.reset_snapshot();
    }

    /// `export_prometheus_metrics()`: the text format 0.0.4.
    pub(crate) fn export_prometheus_metrics(&self) -> Result<String, String> {
        self.scraper.scrape_text().map_err(|e| e.to_string())
    }

    /// The custom exporter's `export_json()`.
    pub(crate) fn export_json(&self) -> String {
        serde_json::to_string_pretty(&self.get_metrics()).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The custom exporter's `export_influxdb_line_protocol()`.
    pub(crate) fn export_influxdb_line_protocol(&self) -> String {
        let m = self.get_metrics();
        [
            format!("symphra_scheduler,host=localhost executions={}", m.total_executions),
            format!("symphra_scheduler,host=localhost success_rate={}", m.success_rate),
            format!("symphra_scheduler,host=localhost avg_duration={}", m.average_duration),
        ]
        .join("\n")
    }

    pub(crate) fn shutdown(&self) -> Result<(), String> {
        self.telemetry.shutdown().map_err(|e| format!("flushing metrics on the way out failed: {e}"))
    }
}

/// Reads values, with their labels, from the operations view.
type Read = fn(&OperationsView, &mut dyn FnMut(f64, &[KeyValue]));

/// The document's `symphra_scheduler_*` series, read from the operations view whenever metrics
/// are collected, so they always agree with `get_metrics()` and a reset zeroes them too.
fn register_scheduler_metrics(telemetry: &Telemetry) {
    let meter = telemetry.meter("symphra_scheduler");
    let from_view = |read: Read| {
        let metrics = telemetry.metrics();
        move |found: &mut dyn FnMut(f64, &[KeyValue])| read(&metrics.operations(), found)
    };
    let gauge = |name: &'static str, unit: &'static str, description: &'static str, read: Read| {
        let read = from_view(read);
        let _ = meter
            .f64_observable_gauge(name)
            .with_unit(unit)
            .with_description(description)
            .with_callback(move |o| read(&mut |v, labels| o.observe(v, labels)))
            .build();
    };
    let counter = |name: &'static str, description: &'static str, read: Read| {
        let read = from_view(read);
        let _ = meter
            .u64_observable_counter(name)
            .with_description(description)
            .with_callback(move |o| read(&mut |v, labels| o.observe(v as u64, labels)))
            .build();
    };
    gauge("symphra_scheduler.uptime", "s", "Uptime in seconds", |m, o| o(m.uptime_seconds, &[]));
    counter("symphra_scheduler.executions", "Total task executions", |m, o| o(m.total_executions as f64, &[]));
    counter("symphra_scheduler.executions.success", "Successful executions", |m, o| o(m.successful_executions as f64, &[]));
    counter("symphra_scheduler.executions.failed", "Failed executions", |m, o| o(m.failed_executions as f64, &[]));
    counter("symphra_scheduler.task.executions", "Task executions by name", |m, o| {
        for (task, stats) in &m.task_stats {
            o(stats.executions as f64, &[KeyValue::new("task", task.clone())]);
        }
    });
    gauge("symphra_scheduler.task.duration", "s", "Task duration by name", |m, o| {
        for (task, stats) in &m.task_stats {
            for (stat, value) in [("avg", stats.average_duration), ("min", stats.min_duration), ("max", stats.max_duration)] {
                o(value, &[KeyValue::new("task", task.clone()), KeyValue::new("stat", stat)]);
            }
        }
    });
}
