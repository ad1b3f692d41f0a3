//! An OTLP exporter pointed at the collector's port of the other protocol (the commonest
//! set-up mistake: HTTP/protobuf is the default protocol, 4317 the best-known port) fails with
//! an error that names the likely cause and the variable that fixes it; a failure of the final
//! export at shutdown does not promise a next export.

use opentelemetry::KeyValue;
use otel_core::Telemetry;
use otel_exporters::{OtlpExporter, OtlpProtocol, RetryPolicy};
use otel_tests::{empty_env, CapturedLog, Otelcol};

fn collector() -> Otelcol {
    Otelcol::start(
        "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: '{grpc}'\n      http:\n        endpoint: '{http}'\n\
         exporters:\n  debug: {}\nextensions:\n  health_check:\n    endpoint: '{health}'\n\
         service:\n  extensions: [health_check]\n  telemetry:\n    metrics:\n      level: none\n  \
         pipelines:\n    metrics:\n      receivers: [otlp]\n      exporters: [debug]\n",
    )
}

/// What the pipeline logged, from every thread (exports run on the reader's own thread).
fn global_log() -> &'static CapturedLog {
    static LOG: std::sync::OnceLock<CapturedLog> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let log = CapturedLog::default();
        tracing::subscriber::set_global_default(log.subscriber()).expect("the only subscriber");
        log
    })
}

/// Pushes once through `exporter` to `endpoint` and shuts down: the shutdown error and the lines
/// logged about that endpoint.
fn push(exporter: OtlpExporter, endpoint: String) -> (String, String) {
    let log = global_log();
    let exporter = exporter.endpoint(endpoint.clone());
    let telemetry = Telemetry::builder().env(empty_env()).exporter(exporter.retry_policy(RetryPolicy::disabled())).build().expect("build");
    telemetry.meter("m").u64_counter("c").build().add(1, &[KeyValue::new("k", "v")]);
    let error = telemetry.shutdown().expect_err("the export fails").to_string();
    let lines: Vec<String> = log.text().lines().filter(|l| l.contains(&endpoint)).map(str::to_owned).collect();
    (error, lines.join("\n"))
}

#[test]
fn the_wrong_port_for_the_protocol_names_the_protocol_and_the_fix() {
    let collector = collector();
    let (error, log) = push(OtlpExporter::new().protocol(OtlpProtocol::HttpProtobuf), format!("http://{}/v1/metrics", collector.grpc));
    println!("http/protobuf to the gRPC port: {error}\n{log}");
    assert!(error.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && error.contains("gRPC"), "{error}");
    let (error, log) = push(OtlpExporter::new().protocol(OtlpProtocol::Grpc), format!("http://{}", collector.http));
    println!("grpc to the HTTP port: {error}\n{log}");
    assert!(error.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && error.contains("HTTP"), "{error}");
}

#[test]
fn a_failed_final_export_does_not_promise_a_next_one() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let (error, log) = push(OtlpExporter::new().protocol(OtlpProtocol::Grpc), format!("http://127.0.0.1:{dead}"));
    assert!(!log.contains("next export") && !error.contains("next export"), "{error}\n{log}");
    assert!(log.contains("the final export at shutdown failed: this data is lost"), "{error}\n{log}");
}
