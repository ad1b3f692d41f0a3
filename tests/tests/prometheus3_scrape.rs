//! Prometheus 3 scraping the endpoint as users run it: its default scrape protocols with UTF-8
//! names, classic and native histograms, exemplars, created timestamps and the
//! `type-and-unit-labels` feature. What it stores is what docs/exposition.md says.

use std::collections::BTreeMap;
use std::time::Duration;

use opentelemetry::KeyValue;
use otel_core::Telemetry;
use otel_exporters::{EncodeOptions, PrometheusExporter, TranslationStrategy};
use otel_tests::{empty_env, exponential_histograms, sampled_span, scrape_target, wait_for, Prometheus, PrometheusVersion};

const TRACE: u128 = 0xabcd_ef01_2345_6789_abcd_ef01_2345_6789;

/// A counter, an explicit histogram (recorded inside a sampled span) and an exponential one,
/// with dotted names and attribute keys.
fn recorded(options: EncodeOptions) -> Telemetry {
    let telemetry = Telemetry::builder()
        .env(empty_env())
        .service_name("scraped")
        .view(exponential_histograms(&["rpc.latency"]))
        .exporter(PrometheusExporter::new().listen("127.0.0.1:0").encode_options(options))
        .build()
        .expect("build");
    let meter = telemetry.meter("scrape.test");
    meter.u64_counter("orders.placed").build().add(42, &[KeyValue::new("payment.method", "card")]);
    let explicit = meter.f64_histogram("checkout.duration").with_unit("s").with_boundaries(vec![0.25, 0.5, 1.0]).build();
    let exponential = meter.f64_histogram("rpc.latency").with_unit("s").build();
    let _span = sampled_span(TRACE, 7).attach();
    for i in 1..=100 {
        explicit.record(f64::from(i) / 100.0, &[]);
        exponential.record(f64::from(i) / 100.0, &[KeyValue::new("rpc.method", "get")]);
    }
    telemetry
}

fn prometheus(telemetry: &Telemetry, job_extra: &str, flags: &[&str]) -> Prometheus {
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: scraped\n{job_extra}    static_configs:\n      - targets: ['{}']\n",
        scrape_target(telemetry)
    );
    Prometheus::start_version(PrometheusVersion::V3, &config, flags)
}

/// Every series Prometheus stores under a metric name, as label maps without `__name__`.
fn series(prometheus: &Prometheus, selector: &str) -> Vec<BTreeMap<String, String>> {
    let result = prometheus.query_nonempty(selector);
    result
        .iter()
        .map(|s| {
            s["metric"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| *k != "__name__")
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .collect()
}

#[test]
fn with_its_defaults_prometheus_3_stores_utf8_names_and_classic_buckets_on_the_exponential_bounds() {
    let telemetry = recorded(EncodeOptions::with_strategy(TranslationStrategy::NoUTF8EscapingWithSuffixes));
    let prometheus = prometheus(&telemetry, "", &[]);
    // UTF-8 names and labels as recorded, suffixes added (OpenMetrics 1.0.0 with escaping=allow-utf-8).
    assert_eq!(prometheus.value(r#"{"orders.placed_total", "payment.method"="card"}"#), 42.0);
    assert_eq!(prometheus.value(r#"{"checkout.duration_seconds_count"}"#), 100.0);
    // `le` stored as Prometheus 3 normalises it: a float's text.
    let mut le: Vec<String> =
        series(&prometheus, r#"{"checkout.duration_seconds_bucket"}"#).into_iter().filter_map(|s| s.get("le").cloned()).collect();
    le.sort();
    assert_eq!(le, ["+Inf", "0.25", "0.5", "1.0"]);
    // Without native histograms, the exponential histogram is classic buckets on its own bounds.
    assert_eq!(prometheus.value(r#"{"rpc.latency_seconds_count", "rpc.method"="get"}"#), 100.0);
    let p50 = prometheus.value(r#"histogram_quantile(0.5, sum by (le) ({"rpc.latency_seconds_bucket"}))"#);
    assert!((p50 - 0.5).abs() < 0.02, "classic p50 on exponential bounds = {p50}");
    assert_eq!(prometheus.metadata("orders.placed"), Some(("counter".to_owned(), String::new())));
}

#[test]
fn native_histograms_exemplars_and_type_and_unit_labels_on_prometheus_3() {
    let telemetry = recorded(EncodeOptions::default());
    let prometheus = prometheus(
        &telemetry,
        "    scrape_native_histograms: true\n",
        &["--enable-feature=exemplar-storage", "--enable-feature=type-and-unit-labels"],
    );
    // The exponential histogram is a native histogram, queried by its bare name.
    assert_eq!(prometheus.value(r#"histogram_count(rpc_latency_seconds{rpc_method="get"})"#), 100.0);
    let sum = prometheus.value("histogram_sum(rpc_latency_seconds)");
    assert!((sum - 50.5).abs() < 1e-9, "sum = {sum}");
    // The explicit one stays classic; its buckets carry the span's exemplars.
    assert_eq!(prometheus.value("checkout_duration_seconds_count"), 100.0);
    let exemplars = wait_for(Duration::from_secs(30), || {
        let end = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() + 60;
        let found =
            prometheus.api(&format!("/api/v1/query_exemplars?query=checkout_duration_seconds_bucket&start={}&end={end}", end - 600));
        let all: Vec<serde_json::Value> =
            found.as_array()?.iter().flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default()).collect();
        (!all.is_empty()).then_some(all)
    })
    .unwrap_or_else(|| panic!("no exemplars stored; targets: {}", prometheus.targets()));
    for exemplar in &exemplars {
        assert_eq!(exemplar["labels"]["trace_id"], format!("{TRACE:032x}"), "{exemplar}");
    }
    // type-and-unit-labels: every series carries its family's type and unit as labels.
    let typed = |selector: &str| {
        series(&prometheus, selector).into_iter().map(|s| (s.get("__type__").cloned(), s.get("__unit__").cloned())).collect::<Vec<_>>()
    };
    assert!(typed("orders_placed_total").iter().all(|t| *t == (Some("counter".into()), None)), "{:?}", typed("orders_placed_total"));
    assert!(
        typed("checkout_duration_seconds_count").iter().all(|t| *t == (Some("histogram".into()), Some("seconds".into()))),
        "{:?}",
        typed("checkout_duration_seconds_count")
    );
    assert!(
        typed("rpc_latency_seconds").iter().all(|t| *t == (Some("histogram".into()), Some("seconds".into()))),
        "{:?}",
        typed("rpc_latency_seconds")
    );
}

#[test]
fn created_timestamps_give_prometheus_3_a_zero_sample_where_each_counter_and_histogram_started() {
    let telemetry = recorded(EncodeOptions::default());
    std::thread::sleep(Duration::from_millis(1500));
    telemetry.meter("later").u64_counter("late.starts").build().add(3, &[]);
    let prometheus = prometheus(&telemetry, "    scrape_native_histograms: true\n", &["--enable-feature=created-timestamp-zero-ingestion"]);
    for (selector, last) in [("orders_placed_total", "42"), ("late_starts_total", "3"), ("checkout_duration_seconds_count", "100")] {
        let samples = wait_for(Duration::from_secs(30), || {
            let result = prometheus.query(&format!("{selector}[10m]"));
            let values = result.first()?["values"].as_array()?.clone();
            (values.len() >= 2).then_some(values)
        })
        .unwrap_or_else(|| panic!("no samples of {selector}; targets: {}", prometheus.targets()));
        // The zero sample sits at the start, before the first scrape's value.
        assert_eq!(samples[0][1], "0", "{selector}: {samples:?}");
        assert_eq!(samples[samples.len() - 1][1], last, "{selector}: {samples:?}");
        let (zero_at, first_scrape) = (samples[0][0].as_f64().unwrap_or(0.0), samples[1][0].as_f64().unwrap_or(0.0));
        assert!(zero_at < first_scrape, "{selector}: {samples:?}");
    }
}
