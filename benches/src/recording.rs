//! Per-call recording costs: the facade and handles against a raw atomic, the OTel SDK,
//! prometheus-client and metrics, on the same label values.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use otel_core::{Catalog, Env, MetricDef, Telemetry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use crate::report::Report;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Three {
    endpoint: &'static str,
    method: &'static str,
    status: &'static str,
}

const LABELS: Three = Three { endpoint: "/query", method: "POST", status: "200" };

fn attributes() -> [KeyValue; 3] {
    [KeyValue::new("endpoint", LABELS.endpoint), KeyValue::new("method", LABELS.method), KeyValue::new("status", LABELS.status)]
}

/// Median nanoseconds per call of `f` over `rounds` rounds of `calls` calls.
fn ns_per_call(calls: u64, rounds: usize, mut f: impl FnMut(u64)) -> f64 {
    for i in 0..calls / 10 {
        f(i);
    }
    let mut per_call: Vec<f64> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            for i in 0..calls {
                f(i);
            }
            started.elapsed().as_nanos() as f64 / calls as f64
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    per_call[per_call.len() / 2]
}

fn pipeline() -> Telemetry {
    let catalog = Catalog::new()
        .with([
            MetricDef::counter("bench.requests").labels(["endpoint", "method", "status"]),
            MetricDef::histogram("bench.latency").unit("s").labels(["endpoint", "method", "status"]),
        ])
        .expect("catalog");
    Telemetry::builder().env(Env::from_pairs::<&str, &str>([])).catalog(catalog).build().expect("pipeline")
}

pub(crate) fn run_all(report: &mut Report, quick: bool) {
    let (calls, rounds) = if quick { (2_000_000, 5) } else { (10_000_000, 9) };
    let telemetry = pipeline();
    let metrics = telemetry.metrics();
    let attrs = attributes();
    // A reader, as any real setup has: without one the SDK's instruments are no-ops.
    let sdk = SdkMeterProvider::builder().with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build()).build();
    let sdk_meter = sdk.meter("bench");
    let sdk_counter = sdk_meter.u64_counter("bench.requests").build();
    let sdk_histogram = sdk_meter.f64_histogram("bench.latency").build();
    let pc_counters = Family::<Three, Counter<u64, AtomicU64>>::default();
    let pc_histograms = Family::<Three, Histogram>::new_with_constructor(|| Histogram::new(otel_core::buckets::SECONDS));
    // `metrics` records through its global recorder, as applications use it.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let _ = metrics::set_global_recorder(recorder);
    let m_counter = metrics::counter!("bench_requests", "endpoint" => LABELS.endpoint, "method" => LABELS.method, "status" => LABELS.status);
    let m_histogram = metrics::histogram!("bench_latency", "endpoint" => LABELS.endpoint, "method" => LABELS.method, "status" => LABELS.status);

    // Static labels: resolved once, then only the add.
    let bound = metrics.counter("bench.requests").expect("declared").bind(&attrs).expect("labels");
    let sdk_bound = sdk_counter.bind(&attrs);
    let pc_counter = pc_counters.get_or_create(&LABELS).clone();
    let atomic = AtomicU64::new(0);
    report.add(
        "counter_add_static_labels",
        "ns/op",
        vec![
            ("otel-pipeline", ns_per_call(calls, rounds, |_| bound.add(black_box(1)))),
            ("raw-atomic", ns_per_call(calls, rounds, |_| {
                atomic.fetch_add(black_box(1), Ordering::Relaxed);
            })),
            ("otel-sdk-bound", ns_per_call(calls, rounds, |_| sdk_bound.add(black_box(1)))),
            ("prometheus-client", ns_per_call(calls, rounds, |_| {
                pc_counter.inc_by(black_box(1));
            })),
            ("metrics", ns_per_call(calls, rounds, |_| m_counter.increment(black_box(1)))),
        ],
    );

    // Dynamic labels: name and label set looked up on every call.
    let calls_dynamic = calls / 5;
    report.add(
        "counter_add_dynamic_labels",
        "ns/op",
        vec![
            ("otel-pipeline", ns_per_call(calls_dynamic, rounds, |_| metrics.increment_counter(black_box("bench.requests"), 1, black_box(&attrs)))),
            ("otel-sdk", ns_per_call(calls_dynamic, rounds, |_| sdk_counter.add(1, black_box(&attrs)))),
            ("prometheus-client", ns_per_call(calls_dynamic, rounds, |_| {
                pc_counters.get_or_create(black_box(&LABELS)).inc();
            })),
            ("metrics", ns_per_call(calls_dynamic, rounds, |_| {
                metrics::counter!("bench_requests", "endpoint" => LABELS.endpoint, "method" => LABELS.method, "status" => LABELS.status).increment(1);
            })),
        ],
    );

    let bound_histogram = metrics.histogram("bench.latency").expect("declared").bind(&attrs).expect("labels");
    let sdk_bound_histogram = sdk_histogram.bind(&attrs);
    let pc_histogram = pc_histograms.get_or_create(&LABELS).clone();
    let value = |i: u64| (i % 1000) as f64 / 1000.0;
    report.add(
        "histogram_record_static_labels",
        "ns/op",
        vec![
            ("otel-pipeline", ns_per_call(calls, rounds, |i| bound_histogram.record(black_box(value(i))))),
            ("otel-sdk-bound", ns_per_call(calls, rounds, |i| sdk_bound_histogram.record(black_box(value(i))))),
            ("prometheus-client", ns_per_call(calls, rounds, |i| pc_histogram.observe(black_box(value(i))))),
            ("metrics", ns_per_call(calls, rounds, |i| m_histogram.record(black_box(value(i))))),
        ],
    );

    metrics.set_enabled(false);
    report.add(
        "counter_add_disabled",
        "ns/op",
        vec![
            ("otel-pipeline", ns_per_call(calls, rounds, |_| metrics.increment_counter(black_box("bench.requests"), 1, black_box(&attrs)))),
            ("otel-pipeline-bound", ns_per_call(calls, rounds, |_| bound.add(black_box(1)))),
        ],
    );
    drop(telemetry);
}
