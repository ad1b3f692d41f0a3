//! The pipeline's own health in its own output: collection duration and body size per scrape
//! format, and per exporter the export duration, the data points sent, and failures by
//! `error.type` (named as the OpenTelemetry conventions for SDK self-observability name them).

use std::time::Duration;

use opentelemetry::KeyValue;
use otel_core::{Env, Telemetry};
use otel_exporters::{Format, OtlpExporter, OtlpProtocol, PrometheusExporter, RetryPolicy, TextfileExporter};
use otel_tests::{free_port, scratch_dir, Rotel};

/// The value of the first sample of `name` whose line contains every needle.
fn sample(text: &str, name: &str, needles: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| needles.iter().all(|n| l.contains(n)))
        .and_then(|l| l.rsplit_once(' ')?.1.parse().ok())
}

#[test]
fn scrapes_count_their_duration_and_size_per_format() {
    let prometheus = PrometheusExporter::new().without_server();
    let scraper = prometheus.scraper();
    let telemetry = Telemetry::builder().env(Env::empty()).service_name("self").exporter(prometheus).build().expect("build");
    telemetry.meter("self").u64_counter("work").build().add(1, &[KeyValue::new("k", "v")]);
    let text = scraper.scrape(Format::Text).expect("scrape");
    scraper.scrape(Format::OpenMetrics).expect("scrape");
    let third = scraper.scrape_text().expect("scrape");
    let component = "otel_component_type=\"prometheus_http_text_metric_exporter\"";
    assert_eq!(sample(&third, "otel_sdk_metric_reader_collection_duration_seconds_count", &[component]), Some(2.0), "{third}");
    assert_eq!(sample(&third, "otel_pipeline_scrape_size_bytes_count", &["format=\"text\""]), Some(1.0), "{third}");
    assert_eq!(sample(&third, "otel_pipeline_scrape_size_bytes_count", &["format=\"openmetrics\""]), Some(1.0), "{third}");
    assert_eq!(sample(&third, "otel_pipeline_scrape_size_bytes_sum", &["format=\"text\""]), Some(text.len() as f64), "{third}");
}

#[test]
fn exporters_count_their_exports_points_and_failures() {
    let rotel = Rotel::start();
    let prometheus = PrometheusExporter::new().without_server();
    let scraper = prometheus.scraper();
    let dir = scratch_dir("self-textfile");
    let telemetry = Telemetry::builder()
        .env(Env::empty())
        .service_name("self")
        .export_interval(Duration::from_secs(3600))
        .exporter(prometheus)
        .exporter(OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint(format!("http://{}", rotel.grpc)))
        .exporter(
            OtlpExporter::new()
                .protocol(OtlpProtocol::HttpProtobuf)
                .endpoint(format!("http://127.0.0.1:{}/v1/metrics", free_port()))
                .retry_policy(RetryPolicy::disabled()),
        )
        .exporter(TextfileExporter::new().directory(&dir).file_name("self").interval(Duration::from_secs(3600)))
        .build()
        .expect("build");
    telemetry.meter("self").u64_counter("work").build().add(1, &[]);
    // One export by every push exporter: the gRPC one succeeds, the HTTP one has no collector.
    let _ = telemetry.force_flush();
    let text = scraper.scrape_text().expect("scrape");
    let grpc = "otel_component_type=\"otlp_grpc_metric_exporter\"";
    let http = "otel_component_type=\"otlp_http_metric_exporter\"";
    let textfile = "otel_component_type=\"textfile_metric_exporter\"";
    assert_eq!(sample(&text, "otel_sdk_exporter_operation_duration_seconds_count", &[grpc]), Some(1.0), "{text}");
    assert!(sample(&text, "otel_sdk_exporter_metric_data_point_exported_total", &[grpc]).is_some_and(|n| n >= 1.0), "{text}");
    assert!(!text.lines().any(|l| l.contains(grpc) && l.contains("error_type=")), "{text}");
    assert_eq!(
        sample(&text, "otel_sdk_exporter_operation_duration_seconds_count", &[http, "error_type=\"connection\""]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "otel_sdk_exporter_operation_duration_seconds_count", &[textfile]), Some(1.0), "{text}");
    assert_eq!(sample(&text, "otel_pipeline_export_failed_total", &["reason=\"connection\""]), Some(1.0), "{text}");
    rotel.wait_for_metric("work", &["Value: 1"]);
}
