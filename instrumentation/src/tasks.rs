//! Task workers, scheduled jobs and service lifecycle. [`WorkerMetrics`] has the metric names and
//! labels the Conductor worker SDK documents (after Prometheus translation: `task_poll_total`,
//! `task_poll_time_seconds`, `task_execute_error_total`, ...); [`Jobs`] and [`Lifecycle`] record
//! `job_executions_total`, `service_restarts_total`, ... by default, and any other system's names
//! and label keys through [`JobNames`] and [`LifecycleNames`]:
//!
//! ```
//! use otel_instrumentation::tasks::{JobNames, Jobs};
//!
//! // taskflows_task_total{task_name,status}, taskflows_task_duration_seconds, ...
//! let names = JobNames::default()
//!     .namespace("taskflows")
//!     .executions("task")
//!     .duration("task.duration")
//!     .errors("task.errors")
//!     .retries("task.retries")
//!     .timeouts(None)
//!     .job_key("task_name");
//! let catalog = otel_core::Catalog::new().with(names.definitions())?;
//! let telemetry = otel_core::Telemetry::builder().env(otel_core::Env::empty()).catalog(catalog).build()?;
//! let jobs = Jobs::with_names(&telemetry.metrics(), names);
//! jobs.run("backup", || Ok::<_, std::io::Error>(()))?;
//! assert_eq!(telemetry.snapshot().value("taskflows.task", &[("task_name", "backup"), ("status", "success")]), Some(1.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each helper records through an [`otel_core::Metrics`] facade; declare its definitions in your
//! catalog.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;
use otel_core::{error_type_name, MetricDef, Metrics};

use crate::qualified;

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

/// The metric names and label keys [`Jobs`] records under. The defaults are
/// `job.executions`, `job.duration` (s, buckets 0.1 s–600 s), `job.errors`, `job.retries` and
/// `job.timeouts` with the label keys `job`, `status` and `error_type`; every one can be changed,
/// and [`namespace`](Self::namespace) prefixes all metric names.
#[derive(Debug, Clone)]
pub struct JobNames {
    namespace: Option<String>,
    executions: String,
    duration: String,
    errors: String,
    retries: String,
    timeouts: Option<String>,
    job_key: String,
    status_key: String,
    error_type_key: String,
    buckets: Vec<f64>,
}

impl Default for JobNames {
    fn default() -> Self {
        JobNames {
            namespace: None,
            executions: "job.executions".into(),
            duration: "job.duration".into(),
            errors: "job.errors".into(),
            retries: "job.retries".into(),
            timeouts: Some("job.timeouts".into()),
            job_key: "job".into(),
            status_key: "status".into(),
            error_type_key: "error_type".into(),
            buckets: vec![0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0],
        }
    }
}

impl JobNames {
    /// Prefixes every metric name: `taskflows` and `task.duration` make `taskflows.task.duration`
    /// (`taskflows_task_duration_seconds` in Prometheus).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_owned());
        self
    }

    /// The counter of executions by job and status (default `job.executions`).
    pub fn executions(mut self, name: &str) -> Self {
        self.executions = name.to_owned();
        self
    }

    /// The duration histogram, in seconds (default `job.duration`).
    pub fn duration(mut self, name: &str) -> Self {
        self.duration = name.to_owned();
        self
    }

    /// The counter of errors by job and error type (default `job.errors`).
    pub fn errors(mut self, name: &str) -> Self {
        self.errors = name.to_owned();
        self
    }

    /// The counter of retries by job (default `job.retries`).
    pub fn retries(mut self, name: &str) -> Self {
        self.retries = name.to_owned();
        self
    }

    /// The counter of timed-out runs by job (default `job.timeouts`); `None` records a timeout only
    /// as an execution with status `timeout` and an error of type `timeout`.
    pub fn timeouts(mut self, name: Option<&str>) -> Self {
        self.timeouts = name.map(str::to_owned);
        self
    }

    /// The label key naming the job (default `job`).
    pub fn job_key(mut self, key: &str) -> Self {
        self.job_key = key.to_owned();
        self
    }

    /// The label key of the outcome, `success`, `failure` or `timeout` (default `status`).
    pub fn status_key(mut self, key: &str) -> Self {
        self.status_key = key.to_owned();
        self
    }

    /// The label key of the error type (default `error_type`).
    pub fn error_type_key(mut self, key: &str) -> Self {
        self.error_type_key = key.to_owned();
        self
    }

    /// The duration histogram's bucket boundaries, in seconds.
    pub fn buckets(mut self, bounds: &[f64]) -> Self {
        self.buckets = bounds.to_vec();
        self
    }

    /// The names with the namespace applied.
    fn resolved(self) -> Self {
        let ns = self.namespace;
        JobNames {
            namespace: None,
            executions: qualified(ns.as_deref(), &self.executions),
            duration: qualified(ns.as_deref(), &self.duration),
            errors: qualified(ns.as_deref(), &self.errors),
            retries: qualified(ns.as_deref(), &self.retries),
            timeouts: self.timeouts.map(|t| qualified(ns.as_deref(), &t)),
            ..self
        }
    }

    /// The metrics to declare in the catalog.
    pub fn definitions(&self) -> Vec<MetricDef> {
        let n = self.clone().resolved();
        let (job, status, error_type) = (n.job_key.as_str(), n.status_key.as_str(), n.error_type_key.as_str());
        let mut defs = vec![
            MetricDef::counter(&n.executions).description("Job executions").labels([job, status]),
            MetricDef::histogram(&n.duration).unit("s").description("Job duration").labels([job, status]).buckets(&n.buckets),
            MetricDef::counter(&n.errors).description("Job errors by type").labels([job, error_type]),
            MetricDef::counter(&n.retries).description("Job retry attempts").labels([job]),
        ];
        if let Some(timeouts) = &n.timeouts {
            defs.push(MetricDef::counter(timeouts).description("Job runs that timed out").labels([job]));
        }
        defs
    }
}

/// Scheduled jobs: executions by status, duration, retries, timeouts, errors by type, and the
/// per-job statistics of the snapshot's operations view (min/avg/max, p50–p99, rate, uptime),
/// under the names of a [`JobNames`].
#[derive(Debug, Clone)]
pub struct Jobs {
    metrics: Metrics,
    names: Arc<JobNames>,
}

impl Jobs {
    /// The metrics to declare in the catalog for [`new`](Self::new).
    pub fn definitions() -> Vec<MetricDef> {
        JobNames::default().definitions()
    }

    /// Records through `metrics` under the default names.
    pub fn new(metrics: &Metrics) -> Self {
        Self::with_names(metrics, JobNames::default())
    }

    /// Records through `metrics` (whose catalog holds `names.definitions()`) under `names`.
    pub fn with_names(metrics: &Metrics, names: JobNames) -> Self {
        Jobs { metrics: metrics.clone(), names: Arc::new(names.resolved()) }
    }

    /// Runs a job and records it (also when it panics: as a failure of type `panic`).
    pub fn run<T, E>(&self, job: &str, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let mut run = Run::start(self, job);
        let result = f();
        run.outcome = Some(Outcome::of(&result));
        result
    }

    /// Runs an async job and records it (also when the future is dropped unfinished: as a failure
    /// of type `unfinished`).
    pub async fn run_async<T, E>(&self, job: &str, future: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        let mut run = Run::start(self, job);
        let result = future.await;
        run.outcome = Some(Outcome::of(&result));
        result
    }

    /// Runs an async job for at most `limit`; a run that takes longer is dropped and recorded as
    /// a timeout (see [`timed_out`](Self::timed_out)). Needs a tokio runtime with the timer on.
    pub async fn run_async_within<T, E>(
        &self,
        job: &str,
        limit: Duration,
        future: impl Future<Output = Result<T, E>>,
    ) -> Result<Result<T, E>, tokio::time::error::Elapsed> {
        let mut run = Run::start(self, job);
        let result = tokio::time::timeout(limit, future).await;
        run.outcome = Some(match &result {
            Ok(result) => Outcome::of(result),
            Err(_) => Outcome::Timeout,
        });
        result
    }

    /// A run of `job`, started at `started`, given up by the caller's own timeout: an execution
    /// with status `timeout`, an error of type `timeout`, and one more in the timeouts counter
    /// when there is one. (Runs through [`run_async_within`](Self::run_async_within) are
    /// recorded so already.)
    pub fn timed_out(&self, job: &str, started: Instant) {
        self.record(job, started, Outcome::Timeout);
    }

    /// A retry of `job`.
    pub fn retry(&self, job: &str) {
        self.metrics.increment_counter(&self.names.retries, 1, &[KeyValue::new(self.names.job_key.clone(), job.to_owned())]);
    }

    fn record(&self, job: &str, started: Instant, outcome: Outcome) {
        let n = &*self.names;
        let job_label = KeyValue::new(n.job_key.clone(), job.to_owned());
        let status = match outcome {
            Outcome::Success => "success",
            Outcome::Failure(_) => "failure",
            Outcome::Timeout => "timeout",
        };
        let labels = [job_label.clone(), KeyValue::new(n.status_key.clone(), status)];
        self.metrics.increment_counter(&n.executions, 1, &labels);
        self.metrics.record_histogram(&n.duration, started.elapsed().as_secs_f64(), &labels);
        let operation = self.metrics.operation(job).started_at(started);
        let error_type = match outcome {
            Outcome::Success => return operation.success(),
            Outcome::Failure(error_type) => error_type,
            Outcome::Timeout => {
                if let Some(timeouts) = &n.timeouts {
                    self.metrics.increment_counter(timeouts, 1, std::slice::from_ref(&job_label));
                }
                "timeout"
            }
        };
        operation.failure(error_type);
        self.metrics.increment_counter(&n.errors, 1, &[job_label, KeyValue::new(n.error_type_key.clone(), error_type)]);
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Success,
    /// Failed with this error type.
    Failure(&'static str),
    Timeout,
}

impl Outcome {
    fn of<T, E>(result: &Result<T, E>) -> Self {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure(error_type_name::<E>()),
        }
    }
}

/// One run in progress: recorded when dropped, with its outcome once known.
struct Run<'a> {
    jobs: &'a Jobs,
    job: &'a str,
    started: Instant,
    outcome: Option<Outcome>,
}

impl<'a> Run<'a> {
    fn start(jobs: &'a Jobs, job: &'a str) -> Self {
        Run { jobs, job, started: Instant::now(), outcome: None }
    }
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        let outcome = self.outcome.unwrap_or(Outcome::Failure(if std::thread::panicking() { "panic" } else { "unfinished" }));
        self.jobs.record(self.job, self.started, outcome);
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

impl ServiceState {
    /// The gauge value: 1, 0 or -1.
    pub fn value(self) -> f64 {
        match self {
            ServiceState::Active => 1.0,
            ServiceState::Inactive => 0.0,
            ServiceState::Failed => -1.0,
        }
    }

    /// The `state` label value: `active`, `inactive` or `failed`.
    pub fn label(self) -> &'static str {
        match self {
            ServiceState::Active => "active",
            ServiceState::Inactive => "inactive",
            ServiceState::Failed => "failed",
        }
    }
}

/// The metric names and label keys [`Lifecycle`] records under. The defaults are
/// `service.state`, `service.restarts` and `service.uptime` (s) with the label keys
/// `service_name` and `reason`, and no state label.
///
/// With a [`state_key`](Self::state_key) the state gauge carries the state as a label too, as
/// some systems document it (`service_state{service_name="api",state="failed"} -1`). A state
/// change then removes the previous state's series instead of leaving it at its last value or
/// setting it to 0: a 0 would read as "inactive" under the 1/0/-1 encoding, and a kept series
/// would say the service is still active. So at any time each service has exactly one state series,
/// and a sum or count over `state` never double-counts a service (Prometheus marks the removed
/// series stale at its next scrape).
#[derive(Debug, Clone)]
pub struct LifecycleNames {
    namespace: Option<String>,
    state: String,
    restarts: String,
    uptime: String,
    service_key: String,
    reason_key: String,
    state_key: Option<String>,
}

impl Default for LifecycleNames {
    fn default() -> Self {
        LifecycleNames {
            namespace: None,
            state: "service.state".into(),
            restarts: "service.restarts".into(),
            uptime: "service.uptime".into(),
            service_key: "service_name".into(),
            reason_key: "reason".into(),
            state_key: None,
        }
    }
}

impl LifecycleNames {
    /// Prefixes every metric name (`taskflows` makes `taskflows.service.state`).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_owned());
        self
    }

    /// The state gauge (default `service.state`).
    pub fn state(mut self, name: &str) -> Self {
        self.state = name.to_owned();
        self
    }

    /// The restart counter (default `service.restarts`).
    pub fn restarts(mut self, name: &str) -> Self {
        self.restarts = name.to_owned();
        self
    }

    /// The uptime gauge, in seconds (default `service.uptime`).
    pub fn uptime(mut self, name: &str) -> Self {
        self.uptime = name.to_owned();
        self
    }

    /// The label key naming the service (default `service_name`).
    pub fn service_key(mut self, key: &str) -> Self {
        self.service_key = key.to_owned();
        self
    }

    /// The label key of the restart reason (default `reason`).
    pub fn reason_key(mut self, key: &str) -> Self {
        self.reason_key = key.to_owned();
        self
    }

    /// Also label the state gauge with the state (`active`, `inactive`, `failed`) under `key`.
    pub fn state_key(mut self, key: &str) -> Self {
        self.state_key = Some(key.to_owned());
        self
    }

    fn resolved(self) -> Self {
        let ns = self.namespace;
        LifecycleNames {
            namespace: None,
            state: qualified(ns.as_deref(), &self.state),
            restarts: qualified(ns.as_deref(), &self.restarts),
            uptime: qualified(ns.as_deref(), &self.uptime),
            ..self
        }
    }

    /// The metric [`Lifecycle`] reports itself, not through the catalog (do not declare it):
    /// the uptime gauge, for references, rules and dashboards.
    pub fn reported_definitions(&self) -> Vec<MetricDef> {
        let n = self.clone().resolved();
        vec![MetricDef::gauge(&n.uptime)
            .unit("s")
            .description("Seconds since the service last became active")
            .labels([n.service_key.as_str()])]
    }

    /// The metrics to declare in the catalog (uptime is an observable gauge of its own).
    pub fn definitions(&self) -> Vec<MetricDef> {
        let n = self.clone().resolved();
        let state = MetricDef::gauge(&n.state).description("Service state (1=active, 0=inactive, -1=failed)");
        let state = match &n.state_key {
            Some(key) => state.labels([n.service_key.as_str(), key.as_str()]),
            None => state.labels([n.service_key.as_str()]),
        };
        vec![
            state,
            MetricDef::counter(&n.restarts).description("Service restart count").labels([n.service_key.as_str(), n.reason_key.as_str()]),
        ]
    }
}

/// Each service, its current state and when it last became active (`None` while not active).
type Services = Arc<Mutex<Vec<(String, ServiceState, Option<Instant>)>>>;

/// Service lifecycle: state gauge, restarts by reason, uptime since the last start, under the
/// names of a [`LifecycleNames`].
#[derive(Clone)]
pub struct Lifecycle {
    metrics: Metrics,
    names: Arc<LifecycleNames>,
    services: Services,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle").field("names", &self.names).finish_non_exhaustive()
    }
}

impl Lifecycle {
    /// The metrics to declare in the catalog for [`new`](Self::new).
    pub fn definitions() -> Vec<MetricDef> {
        LifecycleNames::default().definitions()
    }

    /// Records state and restarts through `metrics` under the default names; reports
    /// `service.uptime` (s) through `meter` whenever metrics are collected.
    pub fn new(metrics: &Metrics, meter: &Meter) -> Self {
        Self::with_names(metrics, meter, LifecycleNames::default())
    }

    /// Records through `metrics` (whose catalog holds `names.definitions()`) under `names`.
    pub fn with_names(metrics: &Metrics, meter: &Meter, names: LifecycleNames) -> Self {
        let names = names.resolved();
        let services = Services::default();
        let observed = services.clone();
        let service_key = opentelemetry::Key::new(names.service_key.clone());
        let _uptime = meter
            .f64_observable_gauge(names.uptime.clone())
            .with_unit("s")
            .with_description("Seconds since the service last became active")
            .with_callback(move |observer| {
                if let Ok(services) = observed.lock() {
                    for (service, _, since) in services.iter() {
                        let seconds = since.map_or(0.0, |s| s.elapsed().as_secs_f64());
                        observer.observe(seconds, &[KeyValue::new(service_key.clone(), service.clone())]);
                    }
                }
            })
            .build();
        Lifecycle { metrics: metrics.clone(), names: Arc::new(names), services }
    }

    fn state_labels(&self, service: &str, state: ServiceState) -> Vec<KeyValue> {
        let mut labels = vec![KeyValue::new(self.names.service_key.clone(), service.to_owned())];
        if let Some(key) = &self.names.state_key {
            labels.push(KeyValue::new(key.clone(), state.label()));
        }
        labels
    }

    /// The service changed state.
    pub fn set_state(&self, service: &str, state: ServiceState) {
        let Ok(mut services) = self.services.lock() else { return };
        let since = (state == ServiceState::Active).then(Instant::now);
        let previous = match services.iter_mut().find(|(s, _, _)| s == service) {
            Some(entry) => {
                let previous = entry.1;
                // A restart of an active service restarts its uptime too.
                *entry = (service.to_owned(), state, since);
                Some(previous)
            }
            None => {
                services.push((service.to_owned(), state, since));
                None
            }
        };
        // Under the lock, so concurrent changes of one service leave exactly one state series.
        if let Some(previous) = previous.filter(|p| *p != state && self.names.state_key.is_some()) {
            self.metrics.remove_series(&self.names.state, &self.state_labels(service, previous));
        }
        self.metrics.set_gauge(&self.names.state, state.value(), &self.state_labels(service, state));
    }

    /// The service restarted (`reason`: `manual`, `failure`, `dependency`, ...).
    pub fn restarted(&self, service: &str, reason: &str) {
        let labels = [
            KeyValue::new(self.names.service_key.clone(), service.to_owned()),
            KeyValue::new(self.names.reason_key.clone(), reason.to_owned()),
        ];
        self.metrics.increment_counter(&self.names.restarts, 1, &labels);
        self.set_state(service, ServiceState::Active);
    }
}
