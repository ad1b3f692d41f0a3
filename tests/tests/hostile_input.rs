//! No name, unit, description or label value can break the exposition: random hostile input is
//! recorded, scraped in every text format, and checked by the real parsers (promtool for text
//! 0.0.4, the Python prometheus_client parsers for text and OpenMetrics).

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use otel_core::Telemetry;
use otel_exporters::{Format, PrometheusExporter};
use otel_tests::{empty_env, promtool_check_metrics, python_parse};
use proptest::prelude::*;

/// Strings made of the characters that break naive encoders.
fn hostile() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a", "Z", "9", "_", ".", "-", " ", "\"", "\\", "\n", "\r", "\t", "\0", "{", "}", "=", ",", "#", "é", "字", "😀", "le", "total",
        "__",
    ]);
    prop::collection::vec(pieces, 0..12).prop_map(|p| p.concat())
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    unit: String,
    description: String,
    key: String,
    value: String,
    kind: u8,
}

fn case() -> impl Strategy<Value = Case> {
    (
        hostile(),
        prop::sample::select(vec!["", "s", "ms", "By", "1", "{req}", "By/s", "%", "\"", "a b"]),
        hostile(),
        hostile(),
        hostile(),
        0u8..4,
    )
        .prop_map(|(name, unit, description, key, value, kind)| Case {
            name: format!("m{name}"),
            unit: unit.to_owned(),
            description,
            key,
            value,
            kind,
        })
}

fn exposition_survives(cases: &[Case]) -> Result<(), TestCaseError> {
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let telemetry = Telemetry::builder().env(empty_env()).exporter(exporter).build().expect("build");
    // The SDK's own provider (name validation is off in these tests), so hostile names reach
    // the exporter instead of being refused on the way in.
    let meter = telemetry.meter_provider().meter("hostile\"scope\n");
    for c in cases {
        let attrs = [KeyValue::new(c.key.clone(), c.value.clone()), KeyValue::new("plain", c.value.clone())];
        let (name, unit, description) = (c.name.clone(), c.unit.clone(), c.description.clone());
        match c.kind {
            0 => meter.u64_counter(name).with_unit(unit).with_description(description).build().add(1, &attrs),
            1 => meter.f64_gauge(name).with_unit(unit).with_description(description).build().record(f64::NAN, &attrs),
            2 => meter.i64_up_down_counter(name).with_unit(unit).with_description(description).build().add(-5, &attrs),
            _ => meter.f64_histogram(name).with_unit(unit).with_description(description).build().record(0.3, &attrs),
        }
    }
    // A series the SDK always keeps (it drops some hostile input itself, e.g. NaN gauges), with
    // a hostile label value, so the output is never trivially valid.
    meter.u64_counter("sanity").build().add(1, &[KeyValue::new("plain", cases[0].value.clone())]);
    let text = scraper.scrape(Format::Text).expect("text scrape");
    let anchor = br#"otel_scope_name="hostile\"scope\n""#;
    prop_assert!(text.windows(anchor.len()).any(|w| w == anchor), "{}", String::from_utf8_lossy(&text));
    prop_assert!(text.windows(13).any(|w| w == b"sanity_total{"), "{}", String::from_utf8_lossy(&text));
    let (_, promtool) = promtool_check_metrics(&text);
    prop_assert!(!promtool.contains("error while linting"), "promtool: {promtool}\n{}", String::from_utf8_lossy(&text));
    let (ok, report) = python_parse("text", &text);
    prop_assert!(ok, "{report}\n{}", String::from_utf8_lossy(&text));
    let om = scraper.scrape(Format::OpenMetrics).expect("openmetrics scrape");
    let (ok, report) = python_parse("openmetrics", &om);
    prop_assert!(ok, "{report}\n{}", String::from_utf8_lossy(&om));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_names_units_descriptions_and_values_never_break_the_output(cases in prop::collection::vec(case(), 1..16)) {
        exposition_survives(&cases)?;
    }
}

#[test]
fn a_one_megabyte_label_value_is_escaped_not_truncated_or_broken() {
    // 1 MB with an escape-worthy character every 50 KB (the Python parsers are quadratic in
    // the number of escapes, so a value made only of them tests their speed, not our output).
    let big: String = (0..1_000_000).map(|i| if i % 50_000 == 0 { ['"', '\\', '\n'][i / 50_000 % 3] } else { 'x' }).collect();
    let case = Case { name: "big.value".into(), unit: String::new(), description: "x".into(), key: "k".into(), value: big, kind: 0 };
    exposition_survives(&[case]).expect("1 MB value survives");
}

/// Histograms in the pipeline's cells (every reader writes them) and in the SDK (a view keeps
/// them there) take the same values the same way.
#[test]
fn hostile_values_keep_every_body_strictly_parseable_and_counters_monotonic() {
    for through_sdk in [false, true] {
        hostile_values(through_sdk);
    }
}

fn hostile_values(through_sdk: bool) {
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let mut builder = Telemetry::builder().env(empty_env()).exporter(exporter);
    if through_sdk {
        builder = builder.view(|_: &opentelemetry_sdk::metrics::Instrument| None);
    }
    let telemetry = builder.build().expect("build");
    let meter = telemetry.meter("values");
    let counter = meter.f64_counter("paid.amount").build();
    let histogram = meter.f64_histogram("balance.change").with_unit("s").build();
    let exponential = meter.f64_histogram("temperature.delta").with_unit("Cel").with_boundaries(vec![-10.0, 0.0, 10.0]).build();
    let values = [3.5, -5.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1e300, -1e300, 0.25];
    for v in values {
        counter.add(v, &[KeyValue::new("k", "v")]);
        counter.bind(&[KeyValue::new("k", "bound")]).add(v);
        histogram.record(v, &[]);
        exponential.record(v, &[]);
    }
    let text = String::from_utf8(scraper.scrape(Format::Text).expect("text")).expect("utf-8");
    // Only the finite, non-negative increments were added: 3.5 + 0 + 1e300 + 0.25.
    let total = |labels: &str| {
        text.lines().find(|l| l.starts_with(&format!("paid_amount_total{{otel_scope_name=\"values\",{labels}}} "))).map(str::to_owned)
    };
    assert_eq!(total("k=\"v\""), Some("paid_amount_total{otel_scope_name=\"values\",k=\"v\"} 1e300".to_owned()), "{text}");
    assert_eq!(total("k=\"bound\""), Some("paid_amount_total{otel_scope_name=\"values\",k=\"bound\"} 1e300".to_owned()), "{text}");
    let dropped = |reason: &str| {
        text.lines()
            .find(|l| l.starts_with("otel_pipeline_recording_dropped_total{") && l.contains(&format!("reason=\"{reason}\"")))
            .and_then(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
    };
    assert_eq!(dropped("negative_increment"), Some(4.0), "{text}");
    // NaN and ±Inf, into the counter (by name and bound) and into both histograms.
    assert_eq!(dropped("not_finite"), Some(12.0), "through the SDK: {through_sdk}\n{text}");
    let (_, promtool) = promtool_check_metrics(text.as_bytes());
    assert!(!promtool.contains("error while linting"), "promtool: {promtool}\n{text}");
    let om = scraper.scrape(Format::OpenMetrics).expect("openmetrics");
    let (ok, report) = python_parse("openmetrics", &om);
    assert!(ok, "the strict OpenMetrics parser: {report}\n{}", String::from_utf8_lossy(&om));
    let body = String::from_utf8_lossy(&om);
    // After negative observations a histogram has no `_sum` in OpenMetrics (it is no counter), nor
    // `_count` (one goes with the other); its `+Inf` bucket holds the count.
    assert!(!body.contains("balance_change_seconds_sum") && !body.contains("balance_change_seconds_count"), "{body}");
    assert!(body.contains("balance_change_seconds_bucket{otel_scope_name=\"values\",le=\"+Inf\"} 6"), "{body}");
}
