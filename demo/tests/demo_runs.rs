//! The README's main command: one scrape of the demo shows every instrumentation module, promtool
//! finds nothing beyond the lints the worker SDK's names force, and --duration stops it cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use otel_tests::{http_get, promtool_problems, wait_for};

#[test]
fn demo_shows_every_module_in_one_valid_scrape_and_stops_after_its_duration() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otel-demo"))
        .args(["--listen", "127.0.0.1:0", "--api", "127.0.0.1:0", "--duration", "6"])
        .env_remove("OTEL_METRICS_EXPORTER")
        // The demo's name is only a default: an operator's OTEL_SERVICE_NAME wins.
        .env("OTEL_SERVICE_NAME", "checkout-ops")
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

    let body = wait_for(Duration::from_secs(15), || {
        let (_, body) = http_get(&metrics_url).ok()?;
        // One scrape shows every module: HTTP layer, task worker (worker SDK names), jobs, lifecycle,
        // process and runtime metrics, facade gauges and counters.
        let complete = [
            "http_server_request_duration_seconds_bucket{",
            "http_route=\"/api/orders/{id}\"",
            "http_server_active_requests{",
            "http_server_response_body_size_bytes_count{",
            "task_poll_total{",
            "task_poll_time_seconds{",
            "task_poll_time_seconds_count{",
            "task_execute_time_seconds_sum{",
            "task_update_time_seconds{",
            "task_result_size{",
            "task_poll_time{",
            "api_request_time_seconds{",
            "job_executions_total{",
            "job_duration_seconds_bucket{",
            "operation_duration_seconds_count{",
            "service_state{",
            "service_uptime_seconds{",
            "process_cpu_time_seconds_total{",
            "process_memory_usage_bytes",
            "process_open_file_descriptor_count",
            "process_start_time_seconds",
            "tokio_runtime_workers",
            "tokio_runtime_worker_busy_time_seconds_total{",
            "queue_size{",
            "cache_hits_total{",
            "cache_size_bytes{",
            "db_client_operation_duration_seconds_bucket{",
            "db_client_connections_active{",
            "gen_ai_client_token_usage_bucket{",
            "http_client_request_duration_seconds_count{",
            "rpc_server_duration_seconds_count{",
            "rpc_client_duration_seconds_count{",
            "rpc_service=\"grpc.health.v1.Health\"",
            "url_template=\"/api/orders/{id}\"",
        ]
        .iter()
        .all(|name| body.contains(name));
        complete.then_some(body)
    })
    .expect("the worker's and the API's metrics appear");
    // promtool finds nothing beyond the lints the worker SDK's names force (docs/exposition.md).
    let problems = promtool_problems(body.as_bytes());
    assert!(problems.is_empty(), "promtool: {problems:#?}\n{body}");
    assert!(body.contains("http_server_active_requests{"), "{body}");
    assert!(body.contains("target_info{") && body.contains("service_name=\"checkout-ops\""), "{body}");

    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("wait for the demo");
    assert!(status.success(), "exit status {status}; output {rest:?}");
    assert!(rest.iter().any(|l| l.contains("metrics flushed")), "{rest:?}");
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
}
