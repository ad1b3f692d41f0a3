//! OTLP push to a real collector (rotel): both transports, gzip and headers, the runtime
//! matrix, the final flush at shutdown, and a dead collector.

use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use otel_core::{Env, Telemetry};
use otel_exporters::{OtlpExporter, OtlpProtocol, RetryPolicy};
use otel_tests::{empty_env, free_port, Rotel};

fn grpc(rotel: &Rotel) -> OtlpExporter {
    OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint(format!("http://{}", rotel.grpc))
}

fn http(rotel: &Rotel) -> OtlpExporter {
    OtlpExporter::new().protocol(OtlpProtocol::HttpProtobuf).endpoint(format!("http://{}/v1/metrics", rotel.http))
}

/// Records a known set of data, shuts down, and checks what the collector received.
fn push_and_check(rotel: &Rotel, exporter: OtlpExporter, service: &str) {
    let telemetry = Telemetry::builder().env(empty_env()).service_name(service).exporter(exporter).build().expect("build pipeline");
    let meter = telemetry.meter("otel-tests");
    let labels = [KeyValue::new("route", "/orders"), KeyValue::new("status", "200")];
    meter.u64_counter("orders.placed").build().add(41, &labels);
    meter.u64_counter("orders.placed").build().add(1, &labels);
    meter.i64_up_down_counter("queue.depth").build().add(-3, &[KeyValue::new("queue", "q1")]);
    meter.f64_gauge("cache.size").with_unit("By").build().record(1024.0, &[]);
    meter.f64_histogram("task.execute.time").with_unit("s").build().record(0.25, &[KeyValue::new("taskType", "t")]);
    telemetry.shutdown().expect("shutdown flushes");

    let counter =
        rotel.wait_for_metric("orders.placed", &["IsMonotonic: true", "Value: 42", "-> route: Str(/orders)", "-> status: Str(200)"]);
    assert!(counter.resource.contains(&format!("service.name: Str({service})")), "{}", counter.resource);
    assert!(counter.resource.contains("service.instance.id"), "{}", counter.resource);
    rotel.wait_for_metric("queue.depth", &["IsMonotonic: false", "Value: -3", "-> queue: Str(q1)"]);
    rotel.wait_for_metric("cache.size", &["DataType: Gauge", "Unit: By", "Value: 1024"]);
    rotel.wait_for_metric("task.execute.time", &["DataType: Histogram", "Unit: s", "Count: 1", "Sum: 0.25", "-> taskType: Str(t)"]);
}

#[test]
fn grpc_push_arrives_with_names_values_attributes_and_service_name() {
    let rotel = Rotel::start();
    push_and_check(&rotel, grpc(&rotel), "svc-grpc");
}

#[test]
fn http_protobuf_push_arrives_with_names_values_attributes_and_service_name() {
    let rotel = Rotel::start();
    push_and_check(&rotel, http(&rotel), "svc-http");
}

#[test]
fn gzip_and_headers_work_on_both_transports() {
    let rotel = Rotel::start();
    push_and_check(&rotel, grpc(&rotel).gzip(true).header("x-api-key", "k1"), "svc-grpc-gzip");
    push_and_check(&rotel, http(&rotel).gzip(true).header("x-api-key", "k1"), "svc-http-gzip");
}

#[test]
fn environment_configures_the_exporter() {
    let rotel = Rotel::start();
    let env = Env::from_pairs([
        ("OTEL_METRICS_EXPORTER", "otlp".to_owned()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{}", rotel.grpc)),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned()),
        ("OTEL_SERVICE_NAME", "svc-from-env".to_owned()),
    ]);
    let telemetry = Telemetry::builder().env(env).exporter(otel_exporters::from_env()).build().expect("build");
    telemetry.meter("otel-tests").u64_counter("env.configured").build().add(7, &[]);
    telemetry.shutdown().expect("shutdown");
    let m = rotel.wait_for_metric("env.configured", &["Value: 7"]);
    assert!(m.resource.contains("service.name: Str(svc-from-env)"), "{}", m.resource);
}

/// Builds, records and shuts down on the calling thread, whatever runtime (if any) it is in.
fn record_and_shutdown(rotel: &Rotel, metric: &'static str) {
    for exporter in [grpc(rotel), http(rotel)] {
        let telemetry = Telemetry::builder().service_name("svc-runtime").exporter(exporter).build().expect("build");
        telemetry.meter("otel-tests").u64_counter(metric).build().add(5, &[]);
        let started = Instant::now();
        telemetry.shutdown().expect("shutdown");
        assert!(started.elapsed() < Duration::from_secs(10), "shutdown took {:?}", started.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_shutdown_work_inside_a_multi_thread_runtime() {
    let rotel = Rotel::start();
    record_and_shutdown(&rotel, "runtime.multi");
    rotel.wait_for_metric("runtime.multi", &["Value: 5"]);
}

#[tokio::test(flavor = "current_thread")]
async fn push_and_shutdown_work_inside_a_current_thread_runtime() {
    let rotel = Rotel::start();
    record_and_shutdown(&rotel, "runtime.current");
    rotel.wait_for_metric("runtime.current", &["Value: 5"]);
}

#[test]
fn push_and_shutdown_work_without_any_runtime() {
    let rotel = Rotel::start();
    record_and_shutdown(&rotel, "runtime.none");
    rotel.wait_for_metric("runtime.none", &["Value: 5"]);
}

#[test]
fn data_recorded_just_before_shutdown_arrives() {
    let rotel = Rotel::start();
    // A long interval: only the flush at shutdown can deliver the data.
    let telemetry = Telemetry::builder()
        .service_name("svc-last")
        .export_interval(Duration::from_secs(3600))
        .exporter(grpc(&rotel))
        .build()
        .expect("build");
    let counter = telemetry.meter("otel-tests").u64_counter("last.words").build();
    for _ in 0..1000 {
        counter.add(1, &[]);
    }
    telemetry.shutdown().expect("shutdown");
    rotel.wait_for_metric("last.words", &["Value: 1000"]);
}

#[test]
fn a_dead_collector_neither_blocks_recording_nor_shutdown() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let telemetry = Telemetry::builder()
        .service_name("svc-dead")
        .export_interval(Duration::from_millis(100))
        .exporter(OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint(dead).retry_policy(RetryPolicy::disabled()))
        .build()
        .expect("build");
    let counter = telemetry.meter("otel-tests").u64_counter("into.the.void").build();
    let started = Instant::now();
    for i in 0..100_000u64 {
        counter.add(1, &[KeyValue::new("shard", (i % 10) as i64)]);
    }
    let recording = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let result = telemetry.shutdown();
    let shutdown = started.elapsed();
    assert!(recording < Duration::from_secs(5), "recording took {recording:?}");
    assert!(shutdown < Duration::from_secs(12), "shutdown took {shutdown:?}");
    assert!(result.is_err(), "the final export to a dead collector reports failure");
}

#[test]
fn the_temporality_preference_reaches_the_collector() {
    let rotel = Rotel::start();
    for (preference, counter, histogram, up_down) in [
        ("delta", "DELTA", "DELTA", "CUMULATIVE"),
        ("lowmemory", "DELTA", "DELTA", "CUMULATIVE"),
        ("cumulative", "CUMULATIVE", "CUMULATIVE", "CUMULATIVE"),
    ] {
        let env = Env::from_pairs([("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", preference)]);
        let telemetry = Telemetry::builder().env(env).service_name("svc-temporality").exporter(grpc(&rotel)).build().expect("build");
        let meter = telemetry.meter("otel-tests");
        let names = [format!("{preference}.counter"), format!("{preference}.histogram"), format!("{preference}.updown")];
        meter.u64_counter(names[0].clone()).build().add(3, &[]);
        meter.f64_histogram(names[1].clone()).build().record(1.0, &[]);
        meter.i64_up_down_counter(names[2].clone()).build().add(-2, &[]);
        telemetry.shutdown().expect("shutdown");
        for (name, expected) in names.iter().zip([counter, histogram, up_down]) {
            rotel.wait_for_metric(name, &[&format!("AggregationTemporality: AGGREGATION_TEMPORALITY_{expected}")]);
        }
    }
}
