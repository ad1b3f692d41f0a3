//! The manager runs briefly; its scrape is compared with the ADR's metric definitions, the
//! ADR's alert expressions are evaluated by a real Prometheus scraping it, the shipped scrape
//! config and rules pass promtool, and the state gauge never shows a service in two states.
//!
//! Deliberate differences from the ADR: none in names, types or labels. Every series also
//! carries `otel_scope_name`; `taskflows_service_uptime_seconds{service_name}` is there for the
//! ADR's "uptime tracking". The ADR's task-failure-rate expression never returns anything (it
//! divides series with different label sets); `alerts.yml` sums both sides by `task_name`, and
//! the test shows both.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use otel_tests::{missing_documented, program, promtool_problems, ExampleRun, Prometheus};

const TABLE: &[(&str, &str, &[&str])] = &[
    ("taskflows_task_duration_seconds_bucket", "histogram", &["task_name", "status", "le"]),
    ("taskflows_task_total", "counter", &["task_name", "status"]),
    ("taskflows_task_errors_total", "counter", &["task_name", "error_type"]),
    ("taskflows_task_retries_total", "counter", &["task_name"]),
    ("taskflows_service_state", "gauge", &["service_name", "state"]),
    ("taskflows_service_restarts_total", "counter", &["service_name", "reason"]),
    ("taskflows_api_request_duration_seconds_bucket", "histogram", &["method", "endpoint", "status_code", "le"]),
    ("taskflows_api_request_total", "counter", &["method", "endpoint", "status_code"]),
    ("taskflows_api_active_requests", "gauge", &["method", "endpoint"]),
];

/// The ADR's alert expressions, as printed.
const ADR_FAILURE_RATE: &str = "rate(taskflows_task_errors_total[5m]) / rate(taskflows_task_total[5m]) > 0.1";
const ADR_SLOW_API: &str = "histogram_quantile(0.95, rate(taskflows_api_request_duration_seconds_bucket[5m])) > 1.0";
const ADR_RESTARTS: &str = "increase(taskflows_service_restarts_total[1h]) > 5";
/// The failure rate as alerts.yml has it.
const FAILURE_RATE: &str =
    "sum by (task_name) (rate(taskflows_task_errors_total[5m])) / sum by (task_name) (rate(taskflows_task_total[5m])) > 0.1";

fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace("( ", "(").replace(" )", ")")
}

#[test]
fn the_manager_shows_every_adr_metric_and_its_alerts_fire() {
    let example = ExampleRun::start(env!("CARGO_BIN_EXE_example-taskflows"), &["--listen", "127.0.0.1:0", "--duration", "20"]);
    let needles: Vec<String> = TABLE.iter().map(|(name, _, _)| format!("\n{name}{{")).collect();
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    let body = example
        .scrape_with(&[needles.as_slice(), &["status=\"timeout\"", "error_type=\"ConnectionError\"", "reason=\"failure\""]].concat());
    let missing = missing_documented(&body, TABLE);
    assert!(missing.is_empty(), "{missing:#?}");
    let problems = promtool_problems(body.as_bytes());
    assert!(problems.is_empty(), "promtool: {problems:#?}");
    // The ADR's task buckets; /metrics is not measured.
    for le in ["0.1", "0.5", "1", "5", "10", "30", "60", "300", "600"] {
        assert!(body.contains(&format!("le=\"{le}\"")), "bucket {le} missing");
    }
    assert!(!body.contains("endpoint=\"/metrics\""), "/metrics was measured");

    // The shipped scrape config and rules are valid, and carry the expressions tested below.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let check = Command::new(program("promtool")).arg("check").arg("config").arg(dir.join("prometheus.yml")).output().expect("promtool");
    assert!(check.status.success(), "{}{}", String::from_utf8_lossy(&check.stdout), String::from_utf8_lossy(&check.stderr));
    let rules = squeeze(&std::fs::read_to_string(dir.join("alerts.yml")).expect("alerts.yml"));
    for expr in [FAILURE_RATE, ADR_SLOW_API, ADR_RESTARTS] {
        assert!(rules.contains(&squeeze(expr)), "alerts.yml lacks {expr}");
    }

    let prometheus = Prometheus::start(&[&example.target()], &example.metrics_path(), &[]);
    for expr in [FAILURE_RATE, ADR_SLOW_API, ADR_RESTARTS] {
        let firing = prometheus.query_nonempty(expr);
        assert!(!firing.is_empty(), "{expr}");
    }
    assert!(prometheus.query(ADR_FAILURE_RATE).is_empty(), "the ADR's form cannot match, as the test's docs say");
    assert!(prometheus.query(&ADR_FAILURE_RATE.replace(" > 0.1", "")).is_empty());

    // While services change state, Prometheus never sees a service in two states at once.
    for _ in 0..6 {
        let doubled = prometheus.query("count by (service_name) (taskflows_service_state) > 1");
        assert!(doubled.is_empty(), "a service in two states: {doubled:?}");
        let states = prometheus.query("count(taskflows_service_state)");
        assert_eq!(states.first().and_then(|r| r["value"][1].as_str()), Some("3"), "{states:?}");
        std::thread::sleep(Duration::from_millis(700));
    }

    let output = example.finish(Duration::from_secs(30));
    assert!(output.contains("stopped, metrics flushed"), "{output}");
}

#[test]
fn the_command_line_takes_flag_equals_value_version_and_suggests_the_meant_flag() {
    otel_tests::assert_cli(
        env!("CARGO_BIN_EXE_example-taskflows"),
        "example-taskflows",
        &["--listn", "x"],
        "--listen",
        &["--listen=127.0.0.1:0", "--duration=0"],
    );
}
