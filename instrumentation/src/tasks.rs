//! Task workers, scheduled jobs and service lifecycle, with the metric names and labels the
//! Conductor worker SDK documents (after Prometheus translation): `task_poll_total`, `task_poll_time_seconds`,
//! `task_execute_error_total`, `job_executions_total`, `service_restarts_total`, ...
//!
//! Each helper records through an [`otel_core::Metrics`] facade; declare its
//! `definitions()` in your catalog.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;
use otel_core::{error_type_name, MetricDef, Metrics};

fn status(success: bool) -> &'static str {
    if success {
        "SUCCESS"
    } else {
        "FAILURE"
    }
}

/// The Conductor worker SDK's task metrics around poll, execute and update.
#[derive(Debug, Clone)]
pub struct WorkerMetrics {
    metrics: Metrics,
}

impl WorkerMetrics {
    /// The metrics to declare in the catalog.
    pub fn definitions() -> Vec<MetricDef> {
        vec![
            MetricDef::counter("task.poll").description("Number of task poll attempts").labels(["taskType"]),
            MetricDef::gauge("task_poll_time").description("Most recent poll duration (legacy)").labels(["taskType"]),
            MetricDef::quantile_timer("task.poll.time").description("Task poll latency distribution").labels(["taskType", "status"]),
            MetricDef::gauge("task_execute_time").description("Most recent execution duration (legacy)").labels(["taskType"]),
            MetricDef::quantile_timer("task.execute.time")
                .description("Task execution latency distribution")
                .labels(["taskType", "status"]),
            MetricDef::counter("task.execute.error").description("Number of task execution errors").labels(["taskType", "exception"]),
            MetricDef::quantile_timer("task.update.time").description("Task update latency distribution").labels(["taskType", "status"]),
            MetricDef::counter("task.update.error").description("Number of task update errors").labels(["taskType", "exception"]),
            MetricDef::gauge("task.result.size").description("Size of task result payload (bytes)").labels(["taskType"]),
            MetricDef::counter("task.execution.queue.full").description("Number of times execution queue was full").labels(["taskType"]),
            MetricDef::counter("task.paused").description("Number of polls while worker paused").labels(["taskType"]),
            MetricDef::counter("worker.restart")
                .description("Number of times TaskHandler restarted a worker subprocess")
                .labels(["taskType"]),
            MetricDef::counter("external.payload.used")
                .description("External payload storage usage count")
                .labels(["taskType", "payloadType"]),
            MetricDef::gauge("workflow.input.size").description("Workflow input payload size (bytes)").labels(["workflowType", "version"]),
            MetricDef::counter("workflow.start.error").description("Workflow start error count").labels(["workflowType", "exception"]),
            MetricDef::quantile_timer("api.request.time")
                .description("API request latency to the server")
                .labels(["method", "uri", "status"]),
        ]
    }

    /// Records through `metrics` (whose catalog holds [`definitions`](Self::definitions)).
    pub fn new(metrics: &Metrics) -> Self {
        WorkerMetrics { metrics: metrics.clone() }
    }

    fn timed(&self, timer: &'static str, legacy: Option<&'static str>, task_type: &str, seconds: f64, success: bool) {
        let task = KeyValue::new("taskType", task_type.to_owned());
        self.metrics.record_histogram(timer, seconds, &[task.clone(), KeyValue::new("status", status(success))]);
        if let Some(gauge) = legacy {
            self.metrics.set_gauge(gauge, seconds, &[task]);
        }
    }

    fn count(&self, name: &'static str, labels: &[(&'static str, &str)]) {
        let labels: Vec<KeyValue> = labels.iter().map(|(k, v)| KeyValue::new(*k, (*v).to_owned())).collect();
        self.metrics.increment_counter(name, 1, &labels);
    }

    /// One poll attempt that took `seconds`.
    pub fn poll(&self, task_type: &str, seconds: f64, success: bool) {
        self.count("task.poll", &[("taskType", task_type)]);
        self.timed("task.poll.time", Some("task_poll_time"), task_type, seconds, success);
    }

    /// One execution that took `seconds`.
    pub fn execute(&self, task_type: &str, seconds: f64, success: bool) {
        self.timed("task.execute.time", Some("task_execute_time"), task_type, seconds, success);
    }

    /// An execution error of type `exception`.
    pub fn execute_error(&self, task_type: &str, exception: &str) {
        self.count("task.execute.error", &[("taskType", task_type), ("exception", exception)]);
    }

    /// One result update that took `seconds`.
    pub fn update(&self, task_type: &str, seconds: f64, success: bool) {
        self.timed("task.update.time", None, task_type, seconds, success);
    }

    /// A result-update error of type `exception`.
    pub fn update_error(&self, task_type: &str, exception: &str) {
        self.count("task.update.error", &[("taskType", task_type), ("exception", exception)]);
    }

    /// The size of a task's result payload.
    pub fn result_size(&self, task_type: &str, bytes: u64) {
        self.metrics.set_gauge("task.result.size", bytes as f64, &[KeyValue::new("taskType", task_type.to_owned())]);
    }

    /// The execution queue was full.
    pub fn queue_full(&self, task_type: &str) {
        self.count("task.execution.queue.full", &[("taskType", task_type)]);
    }

    /// A poll while the worker was paused.
    pub fn paused(&self, task_type: &str) {
        self.count("task.paused", &[("taskType", task_type)]);
    }

    /// The worker was restarted.
    pub fn worker_restart(&self, task_type: &str) {
        self.count("worker.restart", &[("taskType", task_type)]);
    }

    /// External payload storage was used (`payload_type`: `input` or `output`).
    pub fn external_payload_used(&self, task_type: &str, payload_type: &str) {
        self.count("external.payload.used", &[("taskType", task_type), ("payloadType", payload_type)]);
    }

    /// The size of a workflow's input.
    pub fn workflow_input_size(&self, workflow_type: &str, version: &str, bytes: u64) {
        let labels = [KeyValue::new("workflowType", workflow_type.to_owned()), KeyValue::new("version", version.to_owned())];
        self.metrics.set_gauge("workflow.input.size", bytes as f64, &labels);
    }

    /// A workflow failed to start.
    pub fn workflow_start_error(&self, workflow_type: &str, exception: &str) {
        self.count("workflow.start.error", &[("workflowType", workflow_type), ("exception", exception)]);
    }

    /// One API request to the server (`status`: the HTTP code, or `error`).
    pub fn api_request(&self, method: &str, uri: &str, status: &str, seconds: f64) {
        let labels =
            [KeyValue::new("method", method.to_owned()), KeyValue::new("uri", uri.to_owned()), KeyValue::new("status", status.to_owned())];
        self.metrics.record_histogram("api.request.time", seconds, &labels);
    }
}

/// Scheduled jobs: executions by status, duration, retries, timeouts, errors by type, and the
/// per-job statistics of the snapshot's operations view (min/avg/max, p50–p99, rate, uptime).
#[derive(Debug, Clone)]
pub struct Jobs {
    metrics: Metrics,
}

impl Jobs {
    /// The metrics to declare in the catalog.
    pub fn definitions() -> Vec<MetricDef> {
        vec![
            MetricDef::counter("job.executions").description("Job executions").labels(["job", "status"]),
            MetricDef::histogram("job.duration")
                .unit("s")
                .description("Job duration")
                .labels(["job", "status"])
                .buckets(&[0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0]),
            MetricDef::counter("job.errors").description("Job errors by type").labels(["job", "error_type"]),
            MetricDef::counter("job.retries").description("Job retry attempts").labels(["job"]),
            MetricDef::counter("job.timeouts").description("Job runs that timed out").labels(["job"]),
        ]
    }

    /// Records through `metrics`.
    pub fn new(metrics: &Metrics) -> Self {
        Jobs { metrics: metrics.clone() }
    }

    /// Runs a job and records it.
    pub fn run<T, E>(&self, job: &str, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let started = Instant::now();
        let operation = self.metrics.operation(job);
        let result = f();
        self.finish(job, started, &result);
        operation.result(&result);
        result
    }

    /// Runs an async job and records it (also when the future is dropped: as unfinished).
    pub async fn run_async<T, E>(&self, job: &str, future: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        let started = Instant::now();
        let operation = self.metrics.operation(job);
        let result = future.await;
        self.finish(job, started, &result);
        operation.result(&result);
        result
    }

    fn finish<T, E>(&self, job: &str, started: Instant, result: &Result<T, E>) {
        let labels = [KeyValue::new("job", job.to_owned()), KeyValue::new("status", if result.is_ok() { "success" } else { "failure" })];
        self.metrics.increment_counter("job.executions", 1, &labels);
        self.metrics.record_histogram("job.duration", started.elapsed().as_secs_f64(), &labels);
        if result.is_err() {
            let errors = [KeyValue::new("job", job.to_owned()), KeyValue::new("error_type", error_type_name::<E>())];
            self.metrics.increment_counter("job.errors", 1, &errors);
        }
    }

    /// A retry of `job`.
    pub fn retry(&self, job: &str) {
        self.metrics.increment_counter("job.retries", 1, &[KeyValue::new("job", job.to_owned())]);
    }

    /// A run of `job` that timed out.
    pub fn timeout(&self, job: &str) {
        self.metrics.increment_counter("job.timeouts", 1, &[KeyValue::new("job", job.to_owned())]);
    }
}

/// A service's state: exposed as 1 (active), 0 (inactive) or -1 (failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceState {
    /// Running.
    Active,
    /// Stopped on purpose.
    Inactive,
    /// Stopped by a failure.
    Failed,
}

/// Each service and when it last became active (`None` while not active).
type ActiveSince = Arc<Mutex<Vec<(String, Option<Instant>)>>>;

/// Service lifecycle: state gauge, restarts by reason, uptime since the last start.
#[derive(Clone)]
pub struct Lifecycle {
    metrics: Metrics,
    started: ActiveSince,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle").finish_non_exhaustive()
    }
}

impl Lifecycle {
    /// The metrics to declare in the catalog (uptime is an observable gauge of its own).
    pub fn definitions() -> Vec<MetricDef> {
        vec![
            MetricDef::gauge("service.state").description("Service state (1=active, 0=inactive, -1=failed)").labels(["service_name"]),
            MetricDef::counter("service.restarts").description("Service restart count").labels(["service_name", "reason"]),
        ]
    }

    /// Records state and restarts through `metrics`; reports `service.uptime` (s) through
    /// `meter` whenever metrics are collected.
    pub fn new(metrics: &Metrics, meter: &Meter) -> Self {
        let started = ActiveSince::default();
        let observed = started.clone();
        let _uptime = meter
            .f64_observable_gauge("service.uptime")
            .with_unit("s")
            .with_description("Seconds since the service last became active")
            .with_callback(move |observer| {
                if let Ok(services) = observed.lock() {
                    for (service, since) in services.iter() {
                        let seconds = since.map_or(0.0, |s| s.elapsed().as_secs_f64());
                        observer.observe(seconds, &[KeyValue::new("service_name", service.clone())]);
                    }
                }
            })
            .build();
        Lifecycle { metrics: metrics.clone(), started }
    }

    /// The service changed state.
    pub fn set_state(&self, service: &str, state: ServiceState) {
        let value = match state {
            ServiceState::Active => 1.0,
            ServiceState::Inactive => 0.0,
            ServiceState::Failed => -1.0,
        };
        self.metrics.set_gauge("service.state", value, &[KeyValue::new("service_name", service.to_owned())]);
        if let Ok(mut services) = self.started.lock() {
            let since = (state == ServiceState::Active).then(Instant::now);
            match services.iter_mut().find(|(s, _)| s == service) {
                Some(entry) => entry.1 = since,
                None => services.push((service.to_owned(), since)),
            }
        }
    }

    /// The service restarted (`reason`: `manual`, `failure`, `dependency`, ...).
    pub fn restarted(&self, service: &str, reason: &str) {
        let labels = [KeyValue::new("service_name", service.to_owned()), KeyValue::new("reason", reason.to_owned())];
        self.metrics.increment_counter("service.restarts", 1, &labels);
        self.set_state(service, ServiceState::Active);
    }
}
