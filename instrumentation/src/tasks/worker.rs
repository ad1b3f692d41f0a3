//! The Conductor worker SDK's task metrics around poll, execute and update.

use opentelemetry::KeyValue;
use otel_core::{MetricDef, Metrics};

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
