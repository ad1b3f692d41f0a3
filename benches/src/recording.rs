//! Per-call recording costs: the facade and handles against a raw atomic, the OTel SDK,
//! prometheus-client and metrics, on the same label values.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use otel_core::{Catalog, Env, MetricDef, Telemetry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use crate::report::{interleaved, Contender, Report};

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

/// Nanoseconds per call for each contender: each round runs `calls` calls, rounds interleave.
/// One round of `calls` calls of `f`, as a contender; the loop is compiled per closure, so no
/// dynamic dispatch is counted in the per-call time.
fn looped<'f>(name: &'static str, calls: u64, mut f: impl FnMut(u64) + 'f) -> Contender<'f> {
    (
        name,
        Box::new(move || {
            for i in 0..calls {
                f(i);
            }
        }),
    )
}

/// Nanoseconds per call for each contender (rounds interleaved).
fn per_call(calls: u64, rounds: usize, mut contenders: Vec<Contender<'_>>) -> Vec<(&'static str, f64)> {
    interleaved(1, rounds, &mut contenders).into_iter().map(|(name, d)| (name, d.as_nanos() as f64 / calls as f64)).collect()
}

fn pipeline() -> Telemetry {
    let catalog = Catalog::new()
        .with([
            MetricDef::counter("bench.requests").labels(["endpoint", "method", "status"]),
            MetricDef::histogram("bench.latency").unit("s").labels(["endpoint", "method", "status"]),
        ])
        .expect("catalog");
    Telemetry::builder().env(Env::empty()).catalog(catalog).build().expect("pipeline")
}

pub(crate) fn run_all(report: &mut Report, quick: bool) {
    let (calls, rounds) = if quick { (1_000_000, 7) } else { (2_000_000, 31) };
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
    let m_counter =
        metrics::counter!("bench_requests", "endpoint" => LABELS.endpoint, "method" => LABELS.method, "status" => LABELS.status);
    let m_histogram =
        metrics::histogram!("bench_latency", "endpoint" => LABELS.endpoint, "method" => LABELS.method, "status" => LABELS.status);

    let measured_counters = crate::measured_peer::request_counters();
    let measured_histograms = crate::measured_peer::request_histograms(otel_core::buckets::SECONDS);
    let measured_dynamic = crate::measured_peer::dynamic_request_counters();
    let measured_id = measured_counters.with_labels(crate::measured_peer::REQUEST);
    let measured_histogram_id = measured_histograms.with_labels(crate::measured_peer::REQUEST);

    // Static labels: resolved once, then only the add.
    let bound = metrics.counter("bench.requests").expect("declared").bind(&attrs).expect("labels");
    let sdk_bound = sdk_counter.bind(&attrs);
    let pc_counter = pc_counters.get_or_create(&LABELS).clone();
    let atomic = AtomicU64::new(0);
    let results = per_call(
        calls,
        rounds,
        vec![
            looped("otel-pipeline", calls, |_| bound.add(black_box(1))),
            looped("raw-atomic", calls, |_| {
                atomic.fetch_add(black_box(1), Ordering::Relaxed);
            }),
            looped("otel-sdk-bound", calls, |_| sdk_bound.add(black_box(1))),
            looped("prometheus-client", calls, |_| {
                pc_counter.inc_by(black_box(1));
            }),
            looped("metrics", calls, |_| m_counter.increment(black_box(1))),
            looped("measured", calls, |_| measured_counters.get_metric(measured_id).inc_by(black_box(1))),
        ],
    );
    report.add("counter_add_static_labels", "ns/op", results);

    // Dynamic labels: name and label set looked up on every call.
    let dynamic = calls / 5;
    let results = per_call(
        dynamic,
        rounds,
        vec![
            looped("otel-pipeline", dynamic, |_| metrics.increment_counter(black_box("bench.requests"), 1, black_box(&attrs))),
            looped("otel-sdk", dynamic, |_| sdk_counter.add(1, black_box(&attrs))),
            looped("prometheus-client", dynamic, |_| {
                pc_counters.get_or_create(black_box(&LABELS)).inc();
            }),
            looped("metrics", dynamic, |_| {
                metrics::counter!("bench_requests", "endpoint" => LABELS.endpoint, "method" => LABELS.method, "status" => LABELS.status)
                    .increment(1);
            }),
            looped("measured", dynamic, |_| {
                let labels = black_box(LABELS);
                measured_dynamic.inc(crate::measured_peer::DynamicRequest {
                    endpoint: labels.endpoint,
                    method: labels.method,
                    status: labels.status,
                });
            }),
        ],
    );
    report.add("counter_add_dynamic_labels", "ns/op", results);

    let bound_histogram = metrics.histogram("bench.latency").expect("declared").bind(&attrs).expect("labels");
    let sdk_bound_histogram = sdk_histogram.bind(&attrs);
    let pc_histogram = pc_histograms.get_or_create(&LABELS).clone();
    let value = |i: u64| (i % 1000) as f64 / 1000.0;
    let results = per_call(
        calls,
        rounds,
        vec![
            looped("otel-pipeline", calls, |i| bound_histogram.record(black_box(value(i)))),
            looped("otel-sdk-bound", calls, |i| sdk_bound_histogram.record(black_box(value(i)))),
            looped("prometheus-client", calls, |i| pc_histogram.observe(black_box(value(i)))),
            looped("metrics", calls, |i| m_histogram.record(black_box(value(i)))),
            looped("measured", calls, |i| measured_histograms.get_metric(measured_histogram_id).observe(black_box(value(i)))),
        ],
    );
    report.add("histogram_record_static_labels", "ns/op", results);

    // Inside a sampled span, where exemplars are kept: the same bound histogram with the
    // pipeline's default filter (trace_based: exemplar kept), with `always_off`, and outside
    // any span; prometheus-client's exemplar histogram given the span's ids.
    let off = Telemetry::builder()
        .env(Env::empty())
        .catalog(
            Catalog::new()
                .with([MetricDef::histogram("bench.latency").unit("s").labels(["endpoint", "method", "status"])])
                .expect("catalog"),
        )
        .exemplar_filter(otel_core::ExemplarFilter::AlwaysOff)
        .build()
        .expect("pipeline");
    let off_histogram = off.metrics().histogram("bench.latency").expect("declared").bind(&attrs).expect("labels");
    let pc_exemplars =
        prometheus_client::metrics::exemplar::HistogramWithExemplars::<Vec<(String, String)>>::new(otel_core::buckets::SECONDS.into_iter());
    let ids =
        vec![("trace_id".to_owned(), "0af7651916cd43dd8448eb211c80319c".to_owned()), ("span_id".to_owned(), "b7ad6b7169203331".to_owned())];
    let results = {
        let span = sampled_span();
        let _in_span = span.attach();
        per_call(
            calls,
            rounds,
            vec![
                looped("otel-pipeline", calls, |i| bound_histogram.record(black_box(value(i)))),
                looped("otel-pipeline-always-off", calls, |i| off_histogram.record(black_box(value(i)))),
                looped("prometheus-client-exemplars", calls, |i| pc_exemplars.observe(black_box(value(i)), Some(ids.clone()), None)),
            ],
        )
    };
    let outside = per_call(calls, rounds, vec![looped("otel-pipeline-no-span", calls, |i| bound_histogram.record(black_box(value(i))))]);
    report.add("histogram_record_in_sampled_span", "ns/op", results.into_iter().chain(outside).collect());
    let exemplars = telemetry.exemplars();
    report.add(
        "exemplar_memory_per_series",
        "bytes",
        vec![("otel-pipeline", (exemplars.memory_bytes() / exemplars.series().max(1)) as f64)],
    );

    let disabled = metrics.clone();
    disabled.set_enabled(false);
    let results = per_call(
        calls,
        rounds,
        vec![
            looped("otel-pipeline", calls, |_| disabled.increment_counter(black_box("bench.requests"), 1, black_box(&attrs))),
            looped("otel-pipeline-bound", calls, |_| bound.add(black_box(1))),
        ],
    );
    report.add("counter_add_disabled", "ns/op", results);
    drop(telemetry);
}

/// A context holding a sampled span, as a traced request has.
fn sampled_span() -> opentelemetry::Context {
    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
    let sc = SpanContext::new(
        TraceId::from(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c_u128),
        SpanId::from(0xb7ad_6b71_6920_3331_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    opentelemetry::Context::current().with_remote_span_context(sc)
}

/// Loops the facade's dynamic-label counter add, for a profiler.
pub(crate) fn profile_dynamic(calls: u64) {
    let telemetry = pipeline();
    let metrics = telemetry.metrics();
    let attrs = attributes();
    for _ in 0..calls {
        metrics.increment_counter(black_box("bench.requests"), 1, black_box(&attrs));
    }
}
