//! Bytes per series: 100,000 series of one recording kind, recorded once each and scraped once
//! (what a running service holds: the series and the collection's buffers), counted by the
//! allocator, for each implementation.

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use otel_core::{Catalog, Env, MetricDef, Telemetry};
use otel_exporters::{Format, PrometheusExporter};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use crate::report::Report;

/// Heap bytes currently allocated (the bench's allocator counts them).
fn live() -> isize {
    let stats = stats_alloc::INSTRUMENTED_SYSTEM.stats();
    stats.bytes_allocated as isize - stats.bytes_deallocated as isize
}

const SERIES: usize = 100_000;

/// Room in the SDK for every series of the case.
const SHAPE: crate::scrape::Shape = crate::scrape::Shape { counters: SERIES, histograms: 0 };

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

fn label(i: usize) -> String {
    format!("s{i}")
}

/// What must stay alive for the series to be kept.
type Kept = Box<dyn std::any::Any>;

/// Live bytes `build(n)` leaves behind.
fn live_after(n: usize, build: &impl Fn(usize) -> Kept) -> isize {
    let before = live();
    let kept = build(n);
    let after = live();
    drop(kept);
    after - before
}

/// Bytes per series: the live bytes with `SERIES` series less those with none (the fixed cost
/// of the implementation), divided by `SERIES`.
fn per_series(build: impl Fn(usize) -> Kept) -> f64 {
    let empty = live_after(0, &build);
    (live_after(SERIES, &build) - empty) as f64 / SERIES as f64
}

pub(crate) fn run_all(report: &mut Report) {
    for (kind, name) in [(Kind::Counter, "counter"), (Kind::Gauge, "gauge"), (Kind::Histogram, "histogram")] {
        let results = vec![
            ("otel-pipeline", per_series(|n| facade(kind, n))),
            ("otel-pipeline-raw-meter", per_series(|n| raw_meter(kind, n))),
            ("otel-sdk", per_series(|n| sdk(kind, n))),
            ("prometheus-client", per_series(|n| prometheus_client(kind, n))),
            ("measured", per_series(|n| measured(kind, n))),
            ("metrics-exporter-prometheus", per_series(|n| metrics_exporter(kind, n))),
        ];
        report.add(format!("memory_per_series_100k_{name}"), "bytes", results);
    }
}

/// The facade: a catalog-declared metric, recorded by name, scraped once.
fn facade(kind: Kind, n: usize) -> Kept {
    let def = match kind {
        Kind::Counter => MetricDef::counter("bench.series"),
        Kind::Gauge => MetricDef::gauge("bench.series"),
        Kind::Histogram => MetricDef::histogram("bench.series").unit("s"),
    };
    let catalog = Catalog::new().with([def.labels(["series"]).cardinality_limit(SHAPE.limit())]).expect("catalog");
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let telemetry = Telemetry::builder().env(Env::empty()).catalog(catalog).exporter(exporter).build().expect("pipeline");
    let metrics = telemetry.metrics();
    for i in 0..n {
        let labels = [KeyValue::new("series", label(i))];
        match kind {
            Kind::Counter => metrics.increment_counter("bench.series", 1, &labels),
            Kind::Gauge => metrics.set_gauge("bench.series", i as f64, &labels),
            Kind::Histogram => metrics.record_histogram("bench.series", 0.1, &labels),
        }
    }
    scraper.scrape(Format::Text).expect("scrape");
    Box::new(telemetry)
}

/// The pipeline's raw OpenTelemetry meter, scraped once.
fn raw_meter(kind: Kind, n: usize) -> Kept {
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let telemetry = Telemetry::builder().env(Env::empty()).view(crate::scrape::room(SHAPE)).exporter(exporter).build().expect("pipeline");
    record_otel(&telemetry.meter("bench"), kind, n);
    scraper.scrape(Format::Text).expect("scrape");
    Box::new(telemetry)
}

/// The SDK alone with a manual reader, collected once (the collection buffer kept).
fn sdk(kind: Kind, n: usize) -> Kept {
    use opentelemetry_sdk::metrics::reader::MetricReader as _;
    let reader = std::sync::Arc::new(ManualReader::builder().build());
    let provider = SdkMeterProvider::builder()
        .with_reader(otel_core::export::SharedReader(reader.clone()))
        .with_view(crate::scrape::room(SHAPE))
        .build();
    record_otel(&provider.meter("bench"), kind, n);
    let mut collected = opentelemetry_sdk::metrics::data::ResourceMetrics::default();
    reader.collect(&mut collected).expect("collect");
    Box::new((provider, collected))
}

fn record_otel(meter: &opentelemetry::metrics::Meter, kind: Kind, n: usize) {
    let counter = meter.u64_counter("bench.series").build();
    let gauge = meter.f64_gauge("bench.series").build();
    let histogram = meter.f64_histogram("bench.series").with_boundaries(otel_core::buckets::SECONDS.to_vec()).build();
    for i in 0..n {
        let labels = [KeyValue::new("series", label(i))];
        match kind {
            Kind::Counter => counter.add(1, &labels),
            Kind::Gauge => gauge.record(i as f64, &labels),
            Kind::Histogram => histogram.record(0.1, &labels),
        }
    }
}

fn prometheus_client(kind: Kind, n: usize) -> Kept {
    let mut registry = prometheus_client::registry::Registry::default();
    let counters = Family::<Vec<(String, String)>, Counter>::default();
    let gauges = Family::<Vec<(String, String)>, Gauge>::default();
    let histograms = Family::<Vec<(String, String)>, Histogram>::new_with_constructor(|| Histogram::new(otel_core::buckets::SECONDS));
    registry.register("bench_series", "", counters.clone());
    registry.register("bench_gauge", "", gauges.clone());
    registry.register("bench_histogram", "", histograms.clone());
    for i in 0..n {
        let labels = vec![("series".to_owned(), label(i))];
        match kind {
            Kind::Counter => {
                counters.get_or_create(&labels).inc();
            }
            Kind::Gauge => {
                gauges.get_or_create(&labels).set(i as i64);
            }
            Kind::Histogram => histograms.get_or_create(&labels).observe(0.1),
        }
    }
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).expect("encode");
    Box::new(registry)
}

fn measured(kind: Kind, n: usize) -> Kept {
    use crate::measured_peer::Series;
    let counters = crate::measured_peer::series_counters();
    let gauges = crate::measured_peer::series_gauges();
    let histograms = crate::measured_peer::series_histograms(otel_core::buckets::SECONDS);
    for i in 0..n {
        let name = label(i);
        let series = Series { series: &name };
        match kind {
            Kind::Counter => counters.inc(series),
            Kind::Gauge => gauges.set(series, i as i64),
            Kind::Histogram => histograms.observe(series, 0.1),
        }
    }
    Box::new((counters, gauges, histograms))
}

fn metrics_exporter(kind: Kind, n: usize) -> Kept {
    let recorder =
        metrics_exporter_prometheus::PrometheusBuilder::new().set_buckets(&otel_core::buckets::SECONDS).expect("buckets").build_recorder();
    metrics::with_local_recorder(&recorder, || {
        for i in 0..n {
            let labels = [("series", label(i))];
            match kind {
                Kind::Counter => metrics::counter!("bench_series", &labels).increment(1),
                Kind::Gauge => metrics::gauge!("bench_series", &labels).set(i as f64),
                Kind::Histogram => metrics::histogram!("bench_series", &labels).record(0.1),
            }
        }
    });
    let _ = recorder.handle().render();
    Box::new(recorder)
}
