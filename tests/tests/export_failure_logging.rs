//! A failing collector is reported once per export interval, never per data point, and
//! neither the report, nor the errors, nor `Debug` output contain header values or URL
//! credentials. (Own test binary: it installs a global log subscriber.)

use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use otel_core::Telemetry;
use otel_exporters::{OtlpExporter, OtlpProtocol, RetryPolicy};
use otel_tests::free_port;

#[test]
fn failures_are_logged_once_per_interval_without_secrets() {
    let captured = otel_tests::CapturedLog::default();
    tracing::subscriber::set_global_default(captured.subscriber()).expect("the only subscriber");

    let interval = Duration::from_millis(200);
    for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpProtobuf] {
        let telemetry = Telemetry::builder()
            .service_name("svc-dead")
            .export_interval(interval)
            .exporter(
                OtlpExporter::new()
                    .protocol(protocol)
                    .endpoint(format!("http://user:urlsecret@127.0.0.1:{}/v1/metrics", free_port()))
                    .header("authorization", "Bearer topsecret-token")
                    .retry_policy(RetryPolicy::disabled()),
            )
            .build()
            .expect("build");
        let debug = format!("{telemetry:?} {:?}", telemetry.endpoints());
        assert!(debug.contains("<redacted>@127.0.0.1") && !debug.contains("urlsecret"), "{debug}");
        let counter = telemetry.meter("otel-tests").u64_counter("lost.points").build();
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(1500) {
            for i in 0..1000u64 {
                counter.add(1, &[KeyValue::new("id", (i % 200) as i64)]);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let shutdown = format!("{:?}", telemetry.shutdown());
        let elapsed = started.elapsed();
        assert!(shutdown.contains("<redacted>@127.0.0.1") && !shutdown.contains("secret"), "{shutdown}");

        let text = captured.take();
        let failures = text.lines().filter(|l| l.contains("OTLP export to") && l.contains("failed")).count();
        let intervals = (elapsed.as_millis() / interval.as_millis()) as usize + 2;
        assert!(failures >= 1, "{protocol:?}: the failure was not logged:\n{text}");
        assert!(failures <= intervals, "{protocol:?}: {failures} failure lines for {intervals} intervals:\n{text}");
        assert!(!text.contains("topsecret"), "{protocol:?}: a header value was logged:\n{text}");
        assert!(!text.contains("urlsecret") && text.contains("<redacted>@127.0.0.1"), "{protocol:?}: URL credentials were logged:\n{text}");
    }
}

#[test]
fn with_no_subscriber_installed_the_first_problems_still_reach_standard_error() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quiet_service"))
        .arg(free_port().to_string())
        .env("RUST_LOG", "off")
        .output()
        .expect("run quiet_service");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("otel-pipeline WARN OTLP export to http://127.0.0.1:"), "{stderr}");
    assert!(stderr.contains("otel-pipeline WARN instrument \"orders placed\""), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes in a pipe: {stderr:?}");
    // Bounded: one line per export interval at most, not per data point.
    assert!(stderr.lines().count() < 20, "{stderr}");
}
