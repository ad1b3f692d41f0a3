//! The scheduler runs briefly; its Prometheus text is compared with the document's sample
//! output, `get_metrics()` (as JSON) with the document's field lists and with the scraped
//! series, the line protocol with `get_metrics()`, and `reset_metrics()` zeroes all of them.
//!
//! Deliberate differences from the document: three counters end in `_total`
//! (`symphra_scheduler_executions_success_total`, `symphra_scheduler_executions_failed_total`,
//! `symphra_scheduler_task_executions_total`), because OpenTelemetry's naming rules and
//! Prometheus' own OTLP ingestion give every counter that suffix; the document's own
//! `symphra_scheduler_executions_total` already has it. Every series also carries
//! `otel_scope_name`.

use std::time::Duration;

use otel_tests::{exposition_value, http_get, missing_documented, promtool_problems, wait_for, ExampleRun, Prometheus};
use serde_json::Value;

const TABLE: &[(&str, &str, &[&str])] = &[
    ("symphra_scheduler_uptime_seconds", "gauge", &[]),
    ("symphra_scheduler_executions_total", "counter", &[]),
    ("symphra_scheduler_executions_success_total", "counter", &[]),
    ("symphra_scheduler_executions_failed_total", "counter", &[]),
    ("symphra_scheduler_task_executions_total", "counter", &["task"]),
    ("symphra_scheduler_task_duration_seconds", "gauge", &["task", "stat"]),
];

const GLOBAL_FIELDS: &[&str] = &[
    "uptime_seconds",
    "total_executions",
    "successful_executions",
    "failed_executions",
    "success_rate",
    "total_duration",
    "average_duration",
    "executions_per_second",
];

const TASK_FIELDS: &[&str] = &["executions", "successes", "failures", "success_rate", "average_duration", "min_duration", "max_duration"];

fn json(example: &ExampleRun) -> Value {
    let (status, body) = http_get(&format!("{}/json", example.metrics_url)).expect("GET /metrics/json");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON")
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// `get_metrics()` and a scrape taken while no job finished (the totals before and after agree).
fn quiet_pair(example: &ExampleRun) -> (Value, String, Value) {
    let pair = wait_for(Duration::from_secs(20), || {
        let before = json(example);
        let (_, text) = http_get(&example.metrics_url).ok()?;
        let after = json(example);
        (before["total_executions"] == after["total_executions"]).then_some((before, text, after))
    });
    pair.expect("a moment with no job finishing")
}

#[test]
fn get_metrics_the_scrape_and_the_exports_agree_and_reset_zeroes_them() {
    let example = ExampleRun::start(env!("CARGO_BIN_EXE_example-scheduler"), &["--listen", "127.0.0.1:0", "--duration", "16"]);
    let needles: Vec<String> = TABLE.iter().map(|(name, _, _)| format!("\n{name}")).collect();
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    let body = example.scrape_with(
        &[needles.as_slice(), &[r#"task="data_sync""#, r#"task="build_report""#, r#"stat="max""#, r#"status="timeout""#]].concat(),
    );
    let missing = missing_documented(&body, TABLE);
    assert!(missing.is_empty(), "{missing:#?}");
    let problems = promtool_problems(body.as_bytes());
    assert!(problems.is_empty(), "promtool: {problems:#?}");
    // Some runs succeed, some fail, some time out, so every statistic has something to show.
    wait_for(Duration::from_secs(20), || {
        let m = json(&example);
        (number(&m["failed_executions"]) > 0.0 && number(&m["successful_executions"]) > 0.0).then_some(())
    })
    .expect("failures and successes");

    let (before, text, after) = quiet_pair(&example);
    for field in GLOBAL_FIELDS {
        assert!(before[field].is_number(), "get_metrics() lacks {field}: {before}");
    }
    let tasks = before["task_stats"].as_object().expect("task_stats");
    assert_eq!(tasks.keys().collect::<Vec<_>>(), ["build_report", "data_sync", "health_check"]);
    let value = |name: &str, labels: &[(&str, &str)]| exposition_value(&text, name, labels).unwrap_or(f64::NAN);
    assert_eq!(value("symphra_scheduler_executions_total", &[]), number(&before["total_executions"]));
    assert_eq!(value("symphra_scheduler_executions_success_total", &[]), number(&before["successful_executions"]));
    assert_eq!(value("symphra_scheduler_executions_failed_total", &[]), number(&before["failed_executions"]));
    let uptime = value("symphra_scheduler_uptime_seconds", &[]);
    assert!(number(&before["uptime_seconds"]) <= uptime && uptime <= number(&after["uptime_seconds"]), "uptime {uptime}");
    let rate = number(&before["successful_executions"]) / number(&before["total_executions"]);
    assert!((number(&before["success_rate"]) - rate).abs() < 1e-12);
    for (task, stats) in tasks {
        for field in TASK_FIELDS {
            assert!(stats[field].is_number(), "{task} lacks {field}: {stats}");
        }
        assert_eq!(value("symphra_scheduler_task_executions_total", &[("task", task)]), number(&stats["executions"]), "{task}");
        for (stat, field) in [("avg", "average_duration"), ("min", "min_duration"), ("max", "max_duration")] {
            let scraped = value("symphra_scheduler_task_duration_seconds", &[("task", task), ("stat", stat)]);
            assert!((scraped - number(&stats[field])).abs() < 1e-9, "{task} {stat}: {scraped} vs {}", stats[field]);
        }
        assert!(number(&stats["min_duration"]) <= number(&stats["average_duration"]));
        assert!(number(&stats["average_duration"]) <= number(&stats["max_duration"]));
    }
    let timeouts = exposition_value(&text, "job_executions_total", &[("job", "build_report"), ("status", "timeout")]);
    assert!(timeouts.is_some_and(|t| t > 0.0), "build_report never timed out:\n{text}");

    // The custom exporter's line protocol: the three documented lines.
    let (_, influx) = http_get(&format!("{}/influx", example.metrics_url)).expect("GET /metrics/influx");
    let lines: Vec<&str> = influx.lines().collect();
    assert_eq!(lines.len(), 3, "{influx}");
    for (line, field) in lines.iter().zip(["executions=", "success_rate=", "avg_duration="]) {
        assert!(line.starts_with(&format!("symphra_scheduler,host=localhost {field}")), "{line}");
        assert!(line.rsplit('=').next().and_then(|v| v.parse::<f64>().ok()).is_some(), "{line}");
    }

    // The document's scrape config finds the series.
    let prometheus = Prometheus::start(&[&example.target()], &example.metrics_path(), &[]);
    assert!(prometheus.value("symphra_scheduler_executions_total") > 0.0);
    assert!(!prometheus.query_nonempty(r#"symphra_scheduler_task_duration_seconds{stat="avg"}"#).is_empty());

    // reset_metrics(): everything from zero, uptime from now.
    let total = number(&json(&example)["total_executions"]);
    let client = reqwest::blocking::Client::new();
    let status = client.post(format!("{}/reset", example.metrics_url)).send().expect("POST /metrics/reset").status();
    assert_eq!(status, 200);
    let (reset, text, _) = quiet_pair(&example);
    assert!(number(&reset["uptime_seconds"]) < 2.0, "{reset}");
    assert!(number(&reset["total_executions"]) < total.min(6.0), "{reset} after {total}");
    assert_eq!(exposition_value(&text, "symphra_scheduler_executions_total", &[]), Some(number(&reset["total_executions"])));

    let output = example.finish(Duration::from_secs(30));
    assert!(output.contains("stopped, metrics flushed"), "{output}");
}

#[test]
fn the_command_line_takes_flag_equals_value_version_and_suggests_the_meant_flag() {
    otel_tests::assert_cli(
        env!("CARGO_BIN_EXE_example-scheduler"),
        "example-scheduler",
        &["--listn", "x"],
        "--listen",
        &["--listen=127.0.0.1:0", "--duration=0"],
    );
}
