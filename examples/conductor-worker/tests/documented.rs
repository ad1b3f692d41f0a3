//! The worker runs briefly; its scrape and its textfile are compared with the Conductor SDK
//! document's metric table, and every PromQL query the document prints is evaluated by a real
//! Prometheus scraping it.
//!
//! Deliberate differences from the document: none in names or labels. The timers are one
//! Prometheus `summary` family each (quantiles, `_count`, `_sum`), where the document calls the
//! quantiles and their `_count`/`_sum` gauges: the count and sum only go up. Every series also
//! carries `otel_scope_name` (the instrumentation scope, as Prometheus' OTLP ingestion has it),
//! and the textfile's series carry `service_instance_id` so several workers can share a
//! directory.

use std::time::Duration;

use otel_tests::{missing_documented, promtool_problems, scratch_dir, ExampleRun, Prometheus};

/// The document's quick-reference table: sample name, type in the exposition, labels. The
/// timers' quantiles and their `_count`/`_sum` are one summary family.
const TABLE: &[(&str, &str, &[&str])] = &[
    ("api_request_time_seconds", "summary", &["method", "uri", "status", "quantile"]),
    ("api_request_time_seconds_count", "summary", &["method", "uri", "status"]),
    ("api_request_time_seconds_sum", "summary", &["method", "uri", "status"]),
    ("task_poll_total", "counter", &["taskType"]),
    ("task_poll_time", "gauge", &["taskType"]),
    ("task_poll_time_seconds", "summary", &["taskType", "status", "quantile"]),
    ("task_poll_time_seconds_count", "summary", &["taskType", "status"]),
    ("task_poll_time_seconds_sum", "summary", &["taskType", "status"]),
    ("task_execute_time", "gauge", &["taskType"]),
    ("task_execute_time_seconds", "summary", &["taskType", "status", "quantile"]),
    ("task_execute_time_seconds_count", "summary", &["taskType", "status"]),
    ("task_execute_time_seconds_sum", "summary", &["taskType", "status"]),
    ("task_execute_error_total", "counter", &["taskType", "exception"]),
    ("task_update_time_seconds", "summary", &["taskType", "status", "quantile"]),
    ("task_update_time_seconds_count", "summary", &["taskType", "status"]),
    ("task_update_time_seconds_sum", "summary", &["taskType", "status"]),
    ("task_update_error_total", "counter", &["taskType", "exception"]),
    ("task_result_size", "gauge", &["taskType"]),
    ("task_execution_queue_full_total", "counter", &["taskType"]),
    ("task_paused_total", "counter", &["taskType"]),
    ("worker_restart_total", "counter", &["taskType"]),
    ("external_payload_used_total", "counter", &["taskType", "payloadType"]),
    ("workflow_input_size", "gauge", &["workflowType", "version"]),
    ("workflow_start_error_total", "counter", &["workflowType", "exception"]),
];

/// Every query the document prints.
const QUERIES: &[&str] = &[
    "rate(api_request_time_seconds_sum[5m]) / rate(api_request_time_seconds_count[5m])",
    r#"sum(rate(api_request_time_seconds_count{status=~"4..|5.."}[5m])) / sum(rate(api_request_time_seconds_count[5m]))"#,
    r#"sum(rate(task_poll_time_seconds_count{status="SUCCESS"}[5m])) / sum(rate(task_poll_time_seconds_count[5m]))"#,
    r#"task_execute_time_seconds{quantile="0.95"}"#,
    r#"topk(10, api_request_time_seconds{quantile="0.99"})"#,
];

#[test]
fn the_worker_shows_every_documented_metric_and_answers_every_documented_query() {
    let dir = scratch_dir("conductor-metrics");
    let dir_arg = dir.display().to_string();
    let example = ExampleRun::start(
        env!("CARGO_BIN_EXE_example-conductor-worker"),
        &["--listen", "127.0.0.1:0", "--duration", "14", "--metrics-dir", &dir_arg, "--update-interval", "1"],
    );
    let names: Vec<String> = TABLE.iter().map(|(name, _, _)| format!("\n{name}{{")).collect();
    let mut needles: Vec<&str> = names.iter().map(String::as_str).collect();
    // The documented label values, failures included (they come now and then).
    needles.extend([r#"status="SUCCESS""#, r#"status="FAILURE""#, r#"quantile="0.5""#, r#"quantile="0.75""#, r#"quantile="0.9""#]);
    needles.extend([r#"quantile="0.95""#, r#"quantile="0.99""#, r#"payloadType="output""#, r#"uri="/tasks/update-v2""#, r#"status="200""#]);
    let body = example.scrape_with(&needles);
    let missing = missing_documented(&body, TABLE);
    assert!(missing.is_empty(), "{missing:#?}");

    // The textfile, as MetricsSettings configures it: the same table, valid for promtool.
    let file = dir.join("conductor_metrics.prom");
    let text = otel_tests::wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&file).ok().filter(|text| missing_documented(text, TABLE).is_empty())
    });
    let text = text.unwrap_or_else(|| {
        let last = std::fs::read_to_string(&file).unwrap_or_default();
        panic!("{} never had every documented metric: {:#?}", file.display(), missing_documented(&last, TABLE))
    });
    // Nothing beyond the lints the document's own names force (camelCase labels, gauges named `_count`).
    let problems = promtool_problems(text.as_bytes());
    assert!(problems.is_empty(), "promtool on the textfile: {problems:#?}");

    let prometheus = Prometheus::start(&[&example.target()], &example.metrics_path(), &[]);
    // Data means at least one finite value (a series that did not move in the window divides 0 by 0).
    for query in QUERIES {
        let result = prometheus.query_nonempty(query);
        assert!(
            result.iter().any(|r| r["value"][1].as_str().and_then(|v| v.parse::<f64>().ok()).is_some_and(f64::is_finite)),
            "{query}: {result:?}"
        );
    }
    let output = example.finish(Duration::from_secs(30));
    assert!(output.contains("stopped, metrics flushed"), "{output}");
}

#[test]
fn the_command_line_takes_flag_equals_value_version_and_suggests_the_meant_flag() {
    otel_tests::assert_cli(
        env!("CARGO_BIN_EXE_example-conductor-worker"),
        "example-conductor-worker",
        &["--listn", "x"],
        "--listen",
        &["--listen=127.0.0.1:0", "--duration=0"],
    );
}
