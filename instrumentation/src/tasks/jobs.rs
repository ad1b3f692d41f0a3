//! Scheduled and background jobs: every run recorded once, whatever way it ends.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use otel_core::facade::error_type_name;
use otel_core::{MetricDef, Metrics};

use crate::qualified;

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
