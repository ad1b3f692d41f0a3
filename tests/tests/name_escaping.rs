//! Names outside `[a-zA-Z0-9_:]`, under every translation strategy and every escaping a scraper
//! can negotiate: a scraper that asks for `allow-utf-8` gets UTF-8 names (quoted), `dots` and
//! `values` get names escaped by those schemes, and one that asks for nothing (Prometheus 2.42)
//! gets the strategy's underscore-escaped counterpart, which it ingests.

use std::time::Duration;

use opentelemetry::KeyValue;
use otel_core::Telemetry;
use otel_exporters::{EncodeOptions, PrometheusExporter, TranslationStrategy};
use otel_tests::{empty_env, wait_for, Prometheus};

fn pipeline(strategy: TranslationStrategy) -> (Telemetry, String) {
    let options = EncodeOptions::with_strategy(strategy).without_scope_info().without_target_info();
    let telemetry = Telemetry::builder()
        .env(empty_env())
        .service_name("escaping")
        .exporter(PrometheusExporter::new().listen("127.0.0.1:0").encode_options(options))
        .build()
        .expect("build");
    telemetry.meter("shop").u64_counter("orders.placed").build().add(3, &[KeyValue::new("http.method", "GET")]);
    let url = telemetry.endpoints()[0].clone();
    (telemetry, url)
}

fn get(url: &str, accept: &str) -> (String, String) {
    let response = reqwest::blocking::Client::new().get(url).header("accept", accept).send().expect("scrape");
    let kind = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (kind, response.text().expect("body"))
}

#[test]
fn every_strategy_under_every_escaping_a_scraper_negotiates() {
    use TranslationStrategy::*;
    // strategy, then the sample line for: allow-utf-8, dots, values, nothing asked.
    let cases = [
        (UnderscoreEscapingWithSuffixes, ["orders_placed_total{http_method=\"GET\"} 3"; 4]),
        (UnderscoreEscapingWithoutSuffixes, ["orders_placed{http_method=\"GET\"} 3"; 4]),
        (
            NoUTF8EscapingWithSuffixes,
            [
                "{\"orders.placed_total\",\"http.method\"=\"GET\"} 3",
                "orders_dot_placed__total{http_dot_method=\"GET\"} 3",
                "U__orders_2e_placed__total{U__http_2e_method=\"GET\"} 3",
                "orders_placed_total{http_method=\"GET\"} 3",
            ],
        ),
        (
            NoTranslation,
            [
                "{\"orders.placed\",\"http.method\"=\"GET\"} 3",
                "orders_dot_placed{http_dot_method=\"GET\"} 3",
                "U__orders_2e_placed{U__http_2e_method=\"GET\"} 3",
                "orders_placed{http_method=\"GET\"} 3",
            ],
        ),
    ];
    for (strategy, expected) in cases {
        let (_telemetry, url) = pipeline(strategy);
        let accepts = [
            "text/plain;version=1.0.0;escaping=allow-utf-8",
            "text/plain;version=1.0.0;escaping=dots",
            "text/plain;version=1.0.0;escaping=values",
            "text/plain;version=0.0.4",
        ];
        for (accept, line) in accepts.iter().zip(expected) {
            let (kind, body) = get(&url, accept);
            assert!(body.lines().any(|l| l == line), "{strategy:?} with {accept}: no `{line}` in\n{body}");
            let asked = accept.split("escaping=").nth(1);
            match asked {
                Some(escaping) => assert!(kind.ends_with(&format!("escaping={escaping}")), "{kind}"),
                None => assert_eq!(kind, "text/plain; version=0.0.4; charset=utf-8"),
            }
        }
    }
}

#[test]
fn prometheus_2_42_ingests_every_strategy() {
    let pipelines: Vec<(TranslationStrategy, (Telemetry, String))> = [
        TranslationStrategy::UnderscoreEscapingWithSuffixes,
        TranslationStrategy::UnderscoreEscapingWithoutSuffixes,
        TranslationStrategy::NoUTF8EscapingWithSuffixes,
        TranslationStrategy::NoTranslation,
    ]
    .into_iter()
    .map(|s| (s, pipeline(s)))
    .collect();
    let jobs: String = pipelines
        .iter()
        .enumerate()
        .map(|(i, (_, (_, url)))| {
            let target = url.trim_start_matches("http://").trim_end_matches("/metrics");
            format!("  - job_name: s{i}\n    static_configs:\n      - targets: ['{target}']\n")
        })
        .collect();
    let prometheus = Prometheus::start_config(&format!("global:\n  scrape_interval: 1s\nscrape_configs:\n{jobs}"), &[]);
    let expected = ["orders_placed_total", "orders_placed", "orders_placed_total", "orders_placed"];
    for (i, name) in expected.iter().enumerate() {
        let query = format!("{name}{{job=\"s{i}\",http_method=\"GET\"}}");
        let found = wait_for(Duration::from_secs(30), || (!prometheus.query(&query).is_empty()).then_some(()));
        assert!(found.is_some(), "{:?}: Prometheus has no {query}; targets: {}", pipelines[i].0, prometheus.targets());
        assert_eq!(prometheus.value(&format!("up{{job=\"s{i}\"}}")), 1.0);
    }
}
