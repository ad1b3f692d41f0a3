//! The facade's counters, up-down counters and gauges are written by the pull endpoint straight
//! from their cells, and so are histograms when every reader writes them (no reader of the
//! SDK's alone). Whatever the path, a scrape says the same: compared here, exactly, with the same
//! recordings reported through the SDK (a pipeline with a view, which keeps that path), for
//! every kind, the overflow series, removed series, exemplars, and a second reader collecting
//! in between.

use std::sync::Arc;

use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::ManualReader;
use otel_core::export::{Exporter, Plug, SharedReader};
use otel_core::{BuildError, Catalog, MetricDef, Telemetry};
use otel_exporters::{Format, PrometheusExporter, Scraper};
use otel_tests::{empty_env, sampled_span};

fn catalog() -> Catalog {
    Catalog::new()
        .with([
            MetricDef::counter("jobs.done").description("Jobs done").labels(["queue", "status"]).cardinality_limit(3),
            MetricDef::up_down_counter("jobs.running").labels(["queue"]),
            MetricDef::gauge("queue.depth").unit("{job}").labels(["queue"]),
            MetricDef::counter("never.recorded"),
            MetricDef::histogram("job.duration").unit("s").labels(["queue"]).cardinality_limit(2),
        ])
        .expect("catalog")
}

/// A reader outside the pipeline's own exporters, as a user's SDK exporter would be.
#[derive(Clone, Debug)]
struct Foreign(SharedReader);

impl Exporter for Foreign {
    fn name(&self) -> &'static str {
        "foreign"
    }
    fn attach(self: Box<Self>, plug: &mut Plug) -> Result<(), BuildError> {
        plug.add_reader(self.0);
        Ok(())
    }
}

struct Pipeline {
    telemetry: Telemetry,
    scraper: Scraper,
    foreign: Foreign,
}

/// Where the recordings go.
#[derive(Clone, Copy, PartialEq)]
enum Path {
    /// Every reader writes direct series: every kind is written from the pipeline's cells.
    Cells,
    /// A foreign reader (an SDK reader of the user's) too: histograms stay in the SDK, where it
    /// sees them.
    CellsAndForeign,
    /// A view that changes nothing keeps everything in the SDK (observable instruments).
    Sdk,
}

/// A pipeline with a pull endpoint (no server).
fn pipeline(path: Path) -> Pipeline {
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let foreign = Foreign(SharedReader(Arc::new(ManualReader::builder().build())));
    let mut builder = Telemetry::builder().env(empty_env()).service_name("direct").instance_id("i-1").catalog(catalog()).exporter(exporter);
    if path != Path::Cells {
        builder = builder.exporter(foreign.clone());
    }
    if path == Path::Sdk {
        builder = builder.view(|_: &opentelemetry_sdk::metrics::Instrument| None);
    }
    Pipeline { telemetry: builder.build().expect("pipeline"), scraper, foreign }
}

fn kv(key: &'static str, value: &'static str) -> KeyValue {
    KeyValue::new(key, value)
}

/// The same recordings in every pipeline: every kind, label orders, a flood past the counter's
/// limit (overflow), removed series, a series recorded inside a sampled span.
fn record(telemetry: &Telemetry) {
    let m = telemetry.metrics();
    m.increment_counter("jobs.done", 3, &[kv("queue", "a"), kv("status", "ok")]);
    m.increment_counter("jobs.done", 2, &[kv("status", "ok"), kv("queue", "a")]);
    {
        let _span = sampled_span(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c, 0xb7ad_6b71_6920_3331).attach();
        m.increment_counter("jobs.done", 1, &[kv("queue", "b"), kv("status", "failed")]);
    }
    for i in 0..20 {
        m.increment_counter("jobs.done", 1, &[KeyValue::new("queue", format!("flood-{i}")), kv("status", "ok")]);
    }
    m.increment_counter("jobs.running", 4, &[kv("queue", "a")]);
    m.decrement_gauge("jobs.running", 1.0, &[kv("queue", "a")]);
    m.increment_counter("jobs.running", 1, &[kv("queue", "gone")]);
    assert!(m.remove_series("jobs.running", &[kv("queue", "gone")]));
    m.set_gauge("queue.depth", 12.5, &[kv("queue", "a")]);
    m.set_gauge("queue.depth", -3.0, &[kv("queue", "b")]);
    m.increment_gauge("queue.depth", 0.25, &[kv("queue", "b")]);
    m.record_histogram("job.duration", 0.2, &[kv("queue", "a")]);
    m.record_histogram("job.duration", 7.0, &[kv("queue", "a")]);
    m.record_histogram("job.duration", -1.5, &[kv("queue", "b")]);
    for i in 0..5 {
        m.record_histogram("job.duration", 0.01 * f64::from(i), &[KeyValue::new("queue", format!("flood-{i}"))]);
    }
    let bound = m.histogram("job.duration").expect("declared").bind(&[kv("queue", "a")]).expect("labels");
    bound.record(0.5);
    {
        let _span = sampled_span(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319d, 0xb7ad_6b71_6920_3332).attach();
        m.record_histogram("job.duration", 2.0, &[kv("queue", "b")]);
    }
    // A raw meter's histogram (as the instrumentation makes them), in a scope of its own.
    let raw = telemetry.meter("raw").f64_histogram("raw.latency").with_unit("ms").build();
    raw.record(12.0, &[kv("route", "/a"), kv("method", "GET")]);
    raw.record(3.0, &[kv("method", "GET"), kv("route", "/a")]);
    raw.record(f64::NAN, &[kv("route", "/a")]);
}

/// Sample lines in a fixed order (series order within a family is not part of the format),
/// without exemplar timestamps, and without the self-metrics (their values differ by run).
fn normalized(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8(body.to_vec()).expect("utf-8");
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.contains("otel_sdk_") && !l.contains("otel_pipeline_"))
        .map(|l| match l.find(" # {") {
            // Exemplar: keep its labels and value, not its time.
            Some(at) => l[..l.rfind(' ').filter(|end| *end > at).unwrap_or(l.len())].to_owned(),
            None => l.to_owned(),
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn every_kind_scrapes_the_same_written_directly_or_through_the_sdk() {
    let direct = pipeline(Path::Cells);
    let mixed = pipeline(Path::CellsAndForeign);
    let through_sdk = pipeline(Path::Sdk);
    for p in [&direct, &mixed, &through_sdk] {
        record(&p.telemetry);
    }
    for format in [Format::Text, Format::OpenMetrics] {
        let want = normalized(&through_sdk.scraper.scrape(format).expect("scrape"));
        for p in [&direct, &mixed] {
            let got = normalized(&p.scraper.scrape(format).expect("scrape"));
            assert_eq!(got, want, "{format:?}");
        }
    }
    // The histograms' self-check: same series in the in-process snapshot on each path.
    for p in [&direct, &mixed] {
        let (got, want) = (p.telemetry.snapshot(), through_sdk.telemetry.snapshot());
        for labels in [[("queue", "a")], [("queue", "b")], [("otel.metric.overflow", "true")]] {
            let (g, w) =
                (got.histogram("job.duration", &labels).expect("series"), want.histogram("job.duration", &labels).expect("series"));
            assert_eq!((g.count, g.sum, g.min, g.max, &g.quantiles), (w.count, w.sum, w.min, w.max, &w.quantiles), "{labels:?}");
        }
    }
    let text = String::from_utf8(direct.scraper.scrape(Format::OpenMetrics).expect("scrape")).unwrap();
    for needle in [
        "jobs_done_total{otel_scope_name=\"app\",queue=\"a\",status=\"ok\"} 5",
        "jobs_done_total{otel_scope_name=\"app\",otel_metric_overflow=\"true\"} 19",
        "jobs_running{otel_scope_name=\"app\",queue=\"a\"} 3",
        "queue_depth{otel_scope_name=\"app\",queue=\"b\"} -2.75",
        "trace_id=\"0af7651916cd43dd8448eb211c80319c\"",
        "trace_id=\"0af7651916cd43dd8448eb211c80319d\"",
        "job_duration_seconds_bucket{otel_scope_name=\"app\",queue=\"a\",le=\"0.5\"} 2",
        "job_duration_seconds_count{otel_scope_name=\"app\",otel_metric_overflow=\"true\"} 5",
        "raw_latency_milliseconds_count{otel_scope_name=\"raw\",method=\"GET\",route=\"/a\"} 2",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert!(!text.contains("gone"), "a removed series is not written:\n{text}");
    assert!(!text.contains("never_recorded"), "a metric without series is not written:\n{text}");
    assert_eq!(text.matches("# TYPE jobs_done counter").count(), 1, "one family:\n{text}");
}

/// Another reader's collection runs the facade's callbacks, which leaves the pull reader's SDK
/// aggregation holding those series too: they are written once, with current values, and the
/// other reader gets every facade metric.
#[test]
fn a_second_reader_collecting_in_between_neither_loses_nor_doubles_a_series() {
    let direct = pipeline(Path::CellsAndForeign);
    record(&direct.telemetry);
    let mut foreign = ResourceMetrics::default();
    direct.foreign.0.collect(&mut foreign).expect("collect");
    let names = facade_metrics(&foreign);
    assert_eq!(names, ["jobs.done", "jobs.running", "queue.depth"], "the foreign reader gets the facade's metrics");
    assert!(
        foreign.scope_metrics().flat_map(|s| s.metrics()).any(|m| m.name() == "job.duration"),
        "with a foreign reader, histograms stay in the SDK where it sees them"
    );

    direct.telemetry.metrics().increment_counter("jobs.done", 10, &[kv("queue", "a"), kv("status", "ok")]);
    let text = String::from_utf8(direct.scraper.scrape(Format::Text).expect("scrape")).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("jobs_done_total{") && l.contains("queue=\"a\"")).collect();
    assert_eq!(lines, ["jobs_done_total{otel_scope_name=\"app\",queue=\"a\",status=\"ok\"} 15"], "{text}");
    assert_eq!(text.matches("jobs_running{").count(), 1, "{text}");

    // And the other way round: a scrape leaves the foreign reader's view complete.
    direct.foreign.0.collect(&mut foreign).expect("collect");
    assert_eq!(facade_metrics(&foreign), ["jobs.done", "jobs.running", "queue.depth"]);
    // The in-process snapshot too.
    let snapshot = direct.telemetry.snapshot();
    assert_eq!(snapshot.value("jobs.done", &[("queue", "a"), ("status", "ok")]), Some(15.0));
    assert_eq!(snapshot.value("queue.depth", &[("queue", "a")]), Some(12.5));
}

/// The facade's counters, up-down counters and gauges in a collection (histograms are the SDK's
/// own instruments either way).
fn facade_metrics(metrics: &ResourceMetrics) -> Vec<String> {
    let mut names: Vec<String> = metrics
        .scope_metrics()
        .filter(|s| s.scope().name() == "app")
        .flat_map(|s| s.metrics())
        .filter(|m| {
            !matches!(m.data(), AggregatedMetrics::F64(MetricData::Histogram(_)) | AggregatedMetrics::U64(MetricData::Histogram(_)))
        })
        .map(|m| m.name().to_owned())
        .collect();
    names.sort();
    names
}

/// Histograms leave the SDK exactly when every reader writes them from the pipeline's cells: the
/// pull endpoint, OTLP with cumulative temporality; not with OTLP delta (the SDK computes the
/// deltas), a reader of the SDK's alone, or a view.
#[test]
fn histograms_leave_the_sdk_only_when_every_reader_writes_them() {
    use opentelemetry_sdk::metrics::Temporality;
    use otel_exporters::OtlpExporter;

    // Nothing listens there; the long interval keeps the exporter from trying during the test.
    fn otlp(temporality: Temporality) -> OtlpExporter {
        OtlpExporter::new().endpoint("http://127.0.0.1:9").temporality(temporality).interval(std::time::Duration::from_secs(3600))
    }
    type Add = fn(otel_core::TelemetryBuilder) -> otel_core::TelemetryBuilder;
    let cases: [(&str, Add, bool); 5] = [
        ("pull endpoint alone", |b| b, true),
        ("+ OTLP cumulative", |b| b.exporter(otlp(Temporality::Cumulative)), true),
        ("+ OTLP delta", |b| b.exporter(otlp(Temporality::Delta)), false),
        ("+ a reader of the SDK's", |b| b.exporter(Foreign(SharedReader(Arc::new(ManualReader::builder().build())))), false),
        ("+ a view", |b| b.view(|_: &opentelemetry_sdk::metrics::Instrument| None), false),
    ];
    for (case, add, direct) in cases {
        let exporter = PrometheusExporter::new().without_server();
        let scraper = exporter.scraper();
        let telemetry = add(Telemetry::builder().env(empty_env()).catalog(catalog()).exporter(exporter)).build().expect("pipeline");
        telemetry.metrics().record_histogram("job.duration", 0.2, &[kv("queue", "a")]);
        telemetry.meter("raw").f64_histogram("raw.latency").build().record(1.0, &[]);
        let mut sdk = ResourceMetrics::default();
        scraper.collect(&mut sdk).expect("collect");
        let in_sdk: Vec<&str> = sdk
            .scope_metrics()
            .flat_map(|s| s.metrics())
            .map(|m| m.name())
            .filter(|n| n.contains("duration") || n.contains("latency"))
            .collect();
        assert_eq!(in_sdk.is_empty(), direct, "{case}: histograms in the SDK's collection: {in_sdk:?}");
        let text = scraper.scrape_text().expect("scrape");
        for sample in ["job_duration_seconds_count{otel_scope_name=\"app\",queue=\"a\"} 1", "raw_latency_count{otel_scope_name=\"raw\"} 1"]
        {
            assert!(text.contains(sample), "{case}: {sample} missing from:\n{text}");
        }
        telemetry.shutdown().ok();
    }
}
