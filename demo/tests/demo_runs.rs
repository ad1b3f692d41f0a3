//! The README's main command: the demo serves valid metrics and stops cleanly after --duration.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use otel_tests::{http_get, promtool_check_metrics, wait_for};

#[test]
fn demo_serves_promtool_clean_metrics_and_stops_after_its_duration() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otel-demo"))
        .args(["--listen", "127.0.0.1:0", "--api", "127.0.0.1:0", "--duration", "4"])
        .env_remove("OTEL_METRICS_EXPORTER")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start otel-demo");
    let started = Instant::now();
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let metrics_url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("otel-demo: metrics at ").map(str::to_owned))
        .expect("the demo prints where its metrics are");

    let body = wait_for(Duration::from_secs(10), || {
        let (_, body) = http_get(&metrics_url).ok()?;
        let complete = ["task_poll_total{", "task_execute_time_seconds_bucket{", "http_server_request_duration_seconds_count{", "api_request_time_seconds_bucket{"]
            .iter()
            .all(|name| body.contains(name));
        complete.then_some(body)
    })
    .expect("the worker's and the API's metrics appear");
    let (ok, report) = promtool_check_metrics(body.as_bytes());
    assert!(ok && report.trim().is_empty(), "promtool: {report}\n{body}");
    assert!(body.contains("http_server_active_requests{"), "{body}");
    assert!(body.contains("target_info{") && body.contains("service_name=\"otel-demo\""), "{body}");

    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("wait for the demo");
    assert!(status.success(), "exit status {status}; output {rest:?}");
    assert!(rest.iter().any(|l| l.contains("metrics flushed")), "{rest:?}");
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
}
