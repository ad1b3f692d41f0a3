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

/// Runs the demo for a few seconds with `env`; returns its exit status and output.
fn run_demo(listen: &str, env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_otel-demo"))
        .args(["--listen", listen, "--api", "127.0.0.1:0", "--duration", "4"])
        .env_remove("OTEL_METRICS_EXPORTER")
        .envs(env.iter().copied())
        .output()
        .expect("run otel-demo");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status, text)
}

#[test]
fn the_demo_selects_exporters_as_the_readme_table_says() {
    let dir = otel_tests::scratch_dir("demo-exporters");
    let dir_text = dir.to_string_lossy().into_owned();
    let lines_file = dir.join("demo.influx");
    let (_pg, pushgateway) = otel_tests::pushgateway();
    let listen = |port: u16| format!("127.0.0.1:{port}");

    // `none`: nothing served, nothing pushed.
    let port = otel_tests::free_port();
    let (status, out) = run_demo(&listen(port), &[("OTEL_METRICS_EXPORTER", "none")]);
    assert!(status.success() && out.contains("no exporter") && !out.contains("metrics at"), "{out}");
    // `otlp` alone: pushed, no Prometheus endpoint; a collector that is not there makes the final
    // flush fail, said on the way out.
    let dead = otel_tests::free_port().to_string();
    let endpoint = format!("http://127.0.0.1:{dead}");
    let (status, out) =
        run_demo(&listen(otel_tests::free_port()), &[("OTEL_METRICS_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]);
    assert!(!status.success() && out.contains("exporting metrics: otlp") && !out.contains("metrics at"), "{out}");
    assert!(out.contains("flushing metrics on the way out failed") && out.contains("OTLP export to"), "{out}");
    // `textfile`, `influx` (a file) and `pushgateway`, with Prometheus too.
    let (status, out) = run_demo(
        &listen(otel_tests::free_port()),
        &[
            ("OTEL_METRICS_EXPORTER", "prometheus,textfile,influx,pushgateway"),
            ("OTEL_EXPORTER_TEXTFILE_DIRECTORY", &dir_text),
            ("OTEL_EXPORTER_TEXTFILE_NAME", "demo"),
            ("OTEL_EXPORTER_INFLUX_ENDPOINT", lines_file.to_str().unwrap_or_default()),
            ("OTEL_EXPORTER_PUSHGATEWAY_ENDPOINT", &pushgateway),
        ],
    );
    assert!(status.success(), "{out}");
    assert!(out.contains("metrics at http://") && out.contains("curl -s -X POST http://"), "{out}");
    let textfile = std::fs::read_to_string(dir.join("demo.prom")).unwrap_or_default();
    assert!(textfile.contains("http_server_request_duration_seconds_count{"), "{out}\n{textfile}");
    let lines = std::fs::read_to_string(&lines_file).unwrap_or_default();
    assert!(lines.lines().any(|l| l.starts_with("http_server_request_duration_seconds,")), "{out}\n{lines}");
    let (_, pushed) = http_get(&format!("{pushgateway}/metrics")).expect("Pushgateway");
    assert!(pushed.contains("http_server_request_duration_seconds_count{") && pushed.contains("job=\"otel-demo\""), "{pushed}");
}

#[test]
fn the_demos_api_answers_json_and_its_logs_carry_no_colour_codes_in_a_pipe() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otel-demo"))
        .args(["--listen", "127.0.0.1:0", "--api", "127.0.0.1:0", "--duration", "4"])
        .env_remove("OTEL_METRICS_EXPORTER")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start otel-demo");
    let stdout = child.stdout.take().expect("stdout");
    let api = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("otel-demo: API at ").map(str::to_owned))
        .expect("the demo prints where its API is");
    let (status, kind, body) = otel_tests::http_get_typed(&api).expect("GET the API");
    assert_eq!((status, kind.as_str()), (200, "application/json"), "{body}");
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok(), "{body}");
    let output = child.wait_with_output().expect("the demo stops");
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(!logs.is_empty() && !logs.contains('\u{1b}'), "colour codes in a pipe: {logs:?}");
}

#[test]
fn the_command_line_takes_flag_equals_value_version_and_suggests_the_meant_flag() {
    otel_tests::assert_cli(
        env!("CARGO_BIN_EXE_otel-demo"),
        "otel-demo",
        &["--listn", "x"],
        "--listen",
        &["--listen=127.0.0.1:0", "--api=127.0.0.1:0", "--duration=0"],
    );
}
