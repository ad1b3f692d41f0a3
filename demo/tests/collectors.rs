//! What otel-ops renders for the OpenTelemetry Collector runs on the real thing: the agent and
//! gateway configurations pass `otelcol validate` and, run as rendered (addresses from their
//! environment variables), carry the demo's data into Prometheus 3 through remote write, pushed
//! (OTLP) and pulled (the agent's scrape) alike.

use std::time::Duration;

use otel_ops::{render, Options};
use otel_tests::{free_port, scratch_dir, wait_for, ExampleRun, Otelcol, Prometheus, PrometheusVersion};

fn address() -> String {
    format!("127.0.0.1:{}", free_port())
}

#[test]
fn the_rendered_agent_and_gateway_carry_the_demos_data_into_prometheus_3() {
    let out = scratch_dir("otel-ops-collectors");
    render(&out, &out.join("docs"), &otel_ops::demo_inventory().expect("inventory"), &Options::default()).expect("render");
    let store =
        Prometheus::start_version(PrometheusVersion::V3, "global:\n  scrape_interval: 15s\n", &["--web.enable-remote-write-receiver"]);
    let (gateway_grpc, gateway_health) = (address(), address());
    let gateway_env = [
        ("OTELCOL_GATEWAY_GRPC", gateway_grpc.clone()),
        ("METRICS_STORE_WRITE_URL", format!("{}/api/v1/write", store.base())),
        ("OTELCOL_HEALTH", gateway_health.clone()),
        ("OTELCOL_METRICS_PORT", free_port().to_string()),
    ];
    let _gateway = Otelcol::start_file(&out.join("collectors/otelcol-gateway.yaml"), &gateway_env, &gateway_health);

    let (agent_grpc, agent_health) = (address(), address());
    let demo = ExampleRun::start_with_env(
        env!("CARGO_BIN_EXE_otel-demo"),
        &["--listen", "127.0.0.1:0", "--api", "127.0.0.1:0", "--duration", "90"],
        &[
            ("OTEL_METRICS_EXPORTER", "prometheus,otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &format!("http://{agent_grpc}")),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ],
    );
    let agent_env = [
        ("OTELCOL_AGENT_GRPC", agent_grpc.clone()),
        ("OTELCOL_AGENT_HTTP", address()),
        ("OTELCOL_GATEWAY", gateway_grpc.clone()),
        ("SERVICE_METRICS_TARGET", demo.target()),
        ("OTELCOL_HEALTH", agent_health.clone()),
        ("OTELCOL_METRICS_PORT", free_port().to_string()),
    ];
    let _agent = Otelcol::start_file(&out.join("collectors/otelcol-agent.yaml"), &agent_env, &agent_health);

    // Pushed: the demo's own OTLP, job from its resource. Pulled: the agent's scrape, job from the
    // rendered scrape config.
    for (path, query) in [
        ("OTLP", r#"sum(http_server_request_duration_seconds_count{job="otel-demo", instance!~"127.0.0.1:.*"})"#),
        ("scrape", r#"sum(http_server_request_duration_seconds_count{job="otel-demo", instance=~"127.0.0.1:.*"})"#),
        ("OTLP", r#"count(target_info{job="otel-demo"})"#),
    ] {
        let answered = wait_for(Duration::from_secs(60), || {
            let value: f64 = store.query(query).first()?["value"][1].as_str()?.parse().ok()?;
            (value > 0.0).then_some(value)
        });
        assert!(answered.is_some(), "{path}: nothing for {query} in Prometheus 3; demo:\n{}\nstore:\n{}", demo.output(), store.output());
    }
}
