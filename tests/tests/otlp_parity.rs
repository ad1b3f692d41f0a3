//! Pulled series identical, label for label, to what Prometheus stores when it ingests the same
//! data over OTLP with its defaults (translation `UnderscoreEscapingWithSuffixes`, no scope
//! promotion, no resource promotion, identifying attributes kept out of `target_info`).
//!
//! Prometheus 2.42 (the one here) has no OTLP receiver, so the expected label sets below are
//! Prometheus' OTLP rules applied to this data set by hand, rule by rule:
//! - `job` = `service.namespace/service.name`, `instance` = `service.instance.id`, on every
//!   series; they win over an attribute of the same name;
//! - attribute keys are sanitized; keys that collide are merged, values `;`-joined in the order
//!   of the original keys;
//! - no `otel_scope_*` labels;
//! - `target_info` carries `job`, `instance` and every other resource attribute (not
//!   `service.name`, `service.namespace`, `service.instance.id`).
//!
//! The endpoint is scraped by a real Prometheus with `honor_labels: true` (so the series keep
//! the `job` and `instance` the exposition gives them) and the full label sets are read back
//! from its `/api/v1/series`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use opentelemetry::{InstrumentationScope, KeyValue};
use otel_core::Telemetry;
use otel_exporters::{EncodeOptions, PrometheusExporter};
use otel_tests::{empty_env, wait_for, Prometheus};

type LabelSet = BTreeMap<String, String>;

fn set(pairs: &[(&str, &str)]) -> LabelSet {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn with_the_parity_options_pulled_series_equal_the_ones_prometheus_makes_from_otlp() {
    let telemetry = Telemetry::builder()
        .env(empty_env())
        .service_name("checkout")
        .instance_id("i-1")
        .resource_attribute(KeyValue::new("service.namespace", "shop"))
        .resource_attribute(KeyValue::new("deployment.environment", "prod"))
        .exporter(PrometheusExporter::new().listen("127.0.0.1:0").encode_options(EncodeOptions::otlp_parity()))
        .build()
        .expect("build");
    let scope = InstrumentationScope::builder("shop.orders").with_version("1.2.0").with_attributes([KeyValue::new("team", "a")]).build();
    let meter = telemetry.meter_with_scope(scope);
    let orders = meter.u64_counter("orders.placed").build();
    orders.add(3, &[KeyValue::new("http.method", "GET"), KeyValue::new("http_method", "get"), KeyValue::new("job", "from-attribute")]);
    meter.i64_up_down_counter("queue.depth").build().add(-2, &[KeyValue::new("queue", "q1")]);
    meter
        .f64_histogram("checkout.duration")
        .with_unit("s")
        .with_boundaries(vec![0.5, 1.0])
        .build()
        .record(0.7, &[KeyValue::new("payment.method", "card")]);

    let target = telemetry.endpoints()[0].trim_start_matches("http://").trim_end_matches("/metrics").to_owned();
    let prometheus = Prometheus::start_config(
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: scrape-job\n    honor_labels: true\n    static_configs:\n      - targets: ['{target}']\n"
        ),
        &[],
    );
    let ours = [
        "orders_placed_total",
        "queue_depth",
        "checkout_duration_seconds_bucket",
        "checkout_duration_seconds_count",
        "checkout_duration_seconds_sum",
        "target_info",
    ];
    let matcher = format!("{{__name__=~\"{}\"}}", ours.join("|"));
    let series: BTreeSet<LabelSet> = wait_for(Duration::from_secs(30), || {
        let found = prometheus.api(&format!("/api/v1/series?match[]={}", urlencode(&matcher)));
        let sets: BTreeSet<LabelSet> = found
            .as_array()?
            .iter()
            .map(|s| s.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
            .collect();
        (sets.len() >= 8).then_some(sets)
    })
    .expect("Prometheus stored the series");

    let identity = [("job", "shop/checkout"), ("instance", "i-1")];
    let with = |name: &str, more: &[(&str, &str)]| {
        let mut labels = set(more);
        labels.extend(set(&identity));
        labels.insert("__name__".into(), name.into());
        labels
    };
    let mut expected: BTreeSet<LabelSet> = BTreeSet::new();
    // `http.method` and `http_method` both become `http_method`: merged in key order; the
    // attribute `job` loses to the resource's.
    expected.insert(with("orders_placed_total", &[("http_method", "GET;get")]));
    expected.insert(with("queue_depth", &[("queue", "q1")]));
    // Bounds as Prometheus' OTLP ingestion writes them (shortest decimal form).
    for le in ["0.5", "1", "+Inf"] {
        expected.insert(with("checkout_duration_seconds_bucket", &[("payment_method", "card"), ("le", le)]));
    }
    expected.insert(with("checkout_duration_seconds_count", &[("payment_method", "card")]));
    expected.insert(with("checkout_duration_seconds_sum", &[("payment_method", "card")]));
    let mut target_info = with(
        "target_info",
        &[("deployment_environment", "prod"), ("telemetry_sdk_language", "rust"), ("telemetry_sdk_name", "opentelemetry")],
    );
    target_info.insert("telemetry_sdk_version".into(), telemetry_sdk_version(&telemetry));
    expected.insert(target_info);
    assert_eq!(series, expected, "pulled label sets (left) vs Prometheus' OTLP rules (right)");
}

fn telemetry_sdk_version(telemetry: &Telemetry) -> String {
    telemetry.resource().get(&opentelemetry::Key::from_static_str("telemetry.sdk.version")).map(|v| v.to_string()).unwrap_or_default()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
