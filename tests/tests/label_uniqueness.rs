//! Every format emits each label name at most once per sample, whatever the attributes, scope
//! attributes, copied resource labels and options: checked in process over many random cases,
//! and by real Prometheus 2.42 servers ingesting OpenMetrics, text 0.0.4 and protobuf (a
//! duplicate label name makes Prometheus drop the whole scrape).

use std::time::Duration;

use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::{Aggregation, Instrument, Stream};
use otel_core::{Catalog, MetricDef, Telemetry};
use otel_exporters::{EncodeOptions, Format, PrometheusExporter, TranslationStrategy};
use otel_tests::{empty_env, promtool_check_metrics, sample_label_names, scrape_target, Prometheus};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

/// Keys that collide with each other, with the labels the pipeline writes itself, or with
/// names Prometheus reserves.
const KEYS: [&str; 16] = [
    "otel_scope_name",
    "otel.scope.name",
    "otel_scope_version",
    "otel_scope_tier",
    "service_name",
    "service.name",
    "le",
    "quantile",
    "a",
    "a.b",
    "a_b",
    "a-b",
    "__x",
    "job",
    "otel.metric.overflow",
    "A",
];

#[derive(Debug, Clone)]
struct Case {
    attributes: Vec<(usize, String)>,
    scope_attributes: Vec<(usize, String)>,
    resource_labels: Vec<usize>,
    kind: u8,
    scope_labels: bool,
    utf8: bool,
}

fn case() -> impl Strategy<Value = Case> {
    let pair = (0..KEYS.len(), prop::sample::select(vec!["v", "w", "x\"y", "", "1.5"]).prop_map(str::to_owned));
    (
        prop::collection::vec(pair.clone(), 0..7),
        prop::collection::vec(pair, 0..3),
        prop::collection::vec(0..KEYS.len(), 0..4),
        0u8..6,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(attributes, scope_attributes, resource_labels, kind, scope_labels, utf8)| Case {
            attributes,
            scope_attributes,
            resource_labels,
            kind,
            scope_labels,
            utf8,
        })
}

fn key_values(pairs: &[(usize, String)]) -> Vec<KeyValue> {
    pairs.iter().map(|(k, v)| KeyValue::new(KEYS[*k], v.clone())).collect()
}

fn options(case: &Case) -> EncodeOptions {
    let strategy =
        if case.utf8 { TranslationStrategy::NoUTF8EscapingWithSuffixes } else { TranslationStrategy::UnderscoreEscapingWithSuffixes };
    let mut options = EncodeOptions::with_strategy(strategy);
    options.scope_labels = case.scope_labels;
    options.resource_labels = case.resource_labels.iter().map(|k| KEYS[*k].to_owned()).collect();
    options
}

/// A pipeline that records `case` through one recording kind; `formats` limits what the
/// endpoint offers.
fn record(case: &Case, exporter: PrometheusExporter) -> Telemetry {
    let catalog = Catalog::new()
        .with([MetricDef::quantile_timer("timer").allow_other_labels(), MetricDef::gauge("facade.gauge").allow_other_labels()])
        .expect("catalog");
    let exponential = |i: &Instrument| {
        (i.name() == "exp").then(|| {
            Stream::builder()
                .with_aggregation(Aggregation::Base2ExponentialHistogram { max_size: 20, max_scale: 20, record_min_max: false })
                .build()
                .expect("view")
        })
    };
    let mut builder = Telemetry::builder().env(empty_env()).catalog(catalog).view(exponential);
    for (k, v) in &case.attributes {
        builder = builder.resource_attribute(KeyValue::new(KEYS[*k], format!("res-{v}")));
    }
    let telemetry = builder.exporter(exporter.encode_options(options(case))).build().expect("build");
    let scope = InstrumentationScope::builder("scope").with_version("1.0").with_attributes(key_values(&case.scope_attributes)).build();
    let meter = telemetry.meter_with_scope(scope);
    let attrs = key_values(&case.attributes);
    match case.kind {
        0 => meter.u64_counter("c").build().add(1, &attrs),
        1 => meter.i64_up_down_counter("u").build().add(-1, &attrs),
        2 => meter.f64_histogram("h").with_boundaries(vec![1.0]).build().record(0.5, &attrs),
        3 => meter.f64_histogram("exp").build().record(0.5, &attrs),
        4 => telemetry.metrics().record_histogram("timer", 0.5, &attrs),
        _ => telemetry.metrics().set_gauge("facade.gauge", 1.0, &attrs),
    }
    // A series that is always there, so no output is trivially valid.
    meter.u64_counter("anchor").build().add(1, &[]);
    telemetry
}

fn assert_unique(exposition: &[u8], what: &str) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(exposition);
    prop_assert!(text.contains("anchor"), "{what}: no anchor series\n{text}");
    for (line, names) in sample_label_names(&text) {
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(sorted.len(), names.len(), "{}: a label name repeats in {}\n{}", what, line, text);
        prop_assert!(!names.iter().any(|n| n.starts_with("__")), "{}: reserved label in {}", what, line);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_text_sample_has_each_label_name_once(case in case()) {
        let exporter = PrometheusExporter::new().without_server();
        let scraper = exporter.scraper();
        let _telemetry = record(&case, exporter);
        assert_unique(&scraper.scrape(Format::Text).expect("text"), "text")?;
        assert_unique(&scraper.scrape(Format::OpenMetrics).expect("openmetrics"), "openmetrics")?;
        let text = scraper.scrape(Format::Text).expect("text");
        let (_, promtool) = promtool_check_metrics(&text);
        prop_assert!(!promtool.contains("error while linting"), "promtool: {}\n{}", promtool, String::from_utf8_lossy(&text));
    }
}

#[test]
fn a_quantile_timer_cannot_declare_its_own_quantile_label() {
    let err = Catalog::new().with([MetricDef::quantile_timer("t").labels(["quantile", "status"])]).unwrap_err().to_string();
    assert!(err.contains("\"quantile\"") && err.contains("rename"), "{err}");
    let err = Catalog::new().with([MetricDef::histogram("h").labels(["le"])]).unwrap_err().to_string();
    assert!(err.contains("\"le\""), "{err}");
}

#[test]
fn the_issue_reproductions_keep_one_label_each() {
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let mut options = EncodeOptions::default();
    options.resource_labels = vec!["service.name".to_owned()];
    let telemetry = Telemetry::builder()
        .env(empty_env())
        .service_name("svc")
        .catalog(Catalog::new().with([MetricDef::gauge("fg").allow_other_labels()]).expect("catalog"))
        .exporter(exporter.encode_options(options))
        .build()
        .expect("build");
    let meter = telemetry.meter("m");
    meter.u64_counter("c").build().add(1, &[KeyValue::new("otel_scope_name", "x")]);
    meter.u64_counter("d").build().add(1, &[KeyValue::new("k", "first"), KeyValue::new("k", "last")]);
    telemetry.metrics().set_gauge("fg", 1.0, &[KeyValue::new("k", "first"), KeyValue::new("k", "last")]);
    meter.u64_counter("e").build().add(1, &[KeyValue::new("service.name", "attr")]);
    // The second scrape also shows what the first one counted.
    scraper.scrape_text().expect("scrape");
    let text = scraper.scrape_text().expect("scrape");
    assert!(text.contains("c_total{service_name=\"svc\",otel_scope_name=\"m\"} 1\n"), "{text}");
    // The SDK keeps one of the two values (it sorts attributes without a stable order); the
    // facade keeps the last, as OpenTelemetry specifies.
    let d = text.lines().find(|l| l.starts_with("d_total{")).unwrap_or_default();
    assert!(d.ends_with(",k=\"first\"} 1") || d.ends_with(",k=\"last\"} 1"), "{text}");
    assert!(text.contains("fg{service_name=\"svc\",otel_scope_name=\"app\",k=\"last\"} 1\n"), "{text}");
    assert!(text.contains("e_total{otel_scope_name=\"m\",service_name=\"attr\"} 1\n"), "{text}");
    // Each dropped value is counted.
    let dropped = text
        .lines()
        .find(|l| l.starts_with("otel_pipeline_exposition_dropped_total{") && l.contains("reason=\"duplicate_label\""))
        .unwrap_or_else(|| panic!("no duplicate_label count:\n{text}"));
    assert!(!dropped.ends_with(" 0"), "{dropped}");
}

/// A pipeline whose metrics claim each other's Prometheus names.
fn clashes(exporter: PrometheusExporter) -> Telemetry {
    let telemetry = Telemetry::builder().env(empty_env()).exporter(exporter).build().expect("build");
    let (a, b) = (telemetry.meter("a"), telemetry.meter("b"));
    a.u64_counter("x.y").build().add(1, &[KeyValue::new("k", "1")]);
    b.i64_up_down_counter("x_y").build().add(1, &[KeyValue::new("k", "2")]);
    a.f64_histogram("h").with_boundaries(vec![1.0]).build().record(0.5, &[]);
    b.f64_gauge("h_count").build().record(1.0, &[]);
    b.u64_counter("h.bucket").build().add(1, &[]);
    a.u64_counter("anchor").build().add(1, &[]);
    telemetry
}

/// Pipelines for a few random cases and for name clashes, each serving every format and a
/// text-only endpoint.
#[test]
fn prometheus_ingests_every_format_for_random_cases() {
    let mut runner = TestRunner::deterministic();
    let cases: Vec<Case> = (0..12).map(|_| case().new_tree(&mut runner).expect("case").current()).collect();
    let mut pipelines = Vec::new();
    for c in &cases {
        pipelines.push(record(c, PrometheusExporter::new().listen("127.0.0.1:0")));
        pipelines.push(record(c, PrometheusExporter::new().listen("127.0.0.1:0").formats(&[Format::Text])));
    }
    pipelines.push(clashes(PrometheusExporter::new().listen("127.0.0.1:0")));
    pipelines.push(clashes(PrometheusExporter::new().listen("127.0.0.1:0").formats(&[Format::Text])));
    let targets: Vec<String> = pipelines.iter().map(scrape_target).collect();
    let all: Vec<&str> = targets.iter().map(String::as_str).collect();
    let every_format: Vec<&str> = all.iter().step_by(2).copied().collect();
    let openmetrics_and_text = Prometheus::start(&all, "/metrics", &[]);
    let protobuf = Prometheus::start(&every_format, "/metrics", &["--enable-feature=native-histograms"]);
    for (prometheus, n) in [(&openmetrics_and_text, all.len()), (&protobuf, every_format.len())] {
        let all_seen = otel_tests::wait_for(Duration::from_secs(30), || (prometheus.value("count(up)") == n as f64).then_some(()));
        assert!(all_seen.is_some(), "not every target was scraped: {}", prometheus.targets());
        // Two more scrape rounds, so every target was scraped at least twice.
        std::thread::sleep(Duration::from_millis(2500));
        let down = prometheus.query("up == 0");
        assert!(down.is_empty(), "targets down: {down:?}\ncases: {cases:#?}\n{}", prometheus.targets());
        assert_eq!(prometheus.value("count(min_over_time(up[10s]) == 1)"), n as f64, "{}", prometheus.targets());
        assert!(prometheus.value("min(scrape_samples_scraped)") >= 2.0);
    }
}
