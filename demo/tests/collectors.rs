//! What otel-ops renders for the OpenTelemetry Collector runs on the real thing: the agent and
//! gateway configurations pass `otelcol validate` and, run as rendered (addresses from their
//! environment variables), carry the demo's data into Prometheus 3 through remote write, pushed
//! (OTLP) and pulled (the agent's scrape) alike.

use std::time::Duration;

use otel_ops::{render, Options};
use otel_tests::{loopback, scratch_dir, wait_for, ExampleRun, Otelcol, Prometheus, PrometheusVersion};

#[test]
fn the_rendered_agent_and_gateway_carry_the_demos_data_into_prometheus_3() {
    let out = scratch_dir("otel-ops-collectors");
    render(&out, &out.join("docs"), &otel_ops::demo_inventory().expect("inventory"), &Options::default()).expect("render");
    let store =
        Prometheus::start_version(PrometheusVersion::V3, "global:\n  scrape_interval: 15s\n", &["--web.enable-remote-write-receiver"]);
    let collectors = out.join("collectors");
    let gateway = Otelcol::rendered_gateway(&collectors.join("otelcol-gateway.yaml"), &format!("{}/api/v1/write", store.base()));
    let agent_grpc = loopback();
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
    let _agent = Otelcol::rendered_agent(&collectors.join("otelcol-agent.yaml"), &agent_grpc, &gateway.grpc, &demo.target());

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
