//! The service runs briefly; its scrape is compared with the metrics framework document's
//! lists of counters, histograms (with their bucket ranges) and gauges, and every PromQL query
//! the document prints is evaluated by a real Prometheus scraping it.
//!
//! Deliberate differences from the document:
//! - Counters end in `_total` (`request_count_total`): OpenTelemetry's naming rules and
//!   Prometheus' own OTLP ingestion add it, and so does prometheus_client, the library the
//!   document builds on, so its queries on bare counter names find nothing there either. The
//!   queries below are the document's with that suffix added ([`with_total`]).
//! - The document's error rate, `rate(error_count[5m]) / rate(request_count[5m])`, divides
//!   series with different label sets (`error_type,endpoint,function` against
//!   `endpoint,method,status`), which PromQL never matches: it returns nothing against any
//!   exporter. The test shows that and evaluates the form that answers, with `sum()` on both sides.

use std::time::Duration;

use otel_tests::{missing_documented, promtool_problems, ExampleRun, Prometheus};

const TABLE: &[(&str, &str, &[&str])] = &[
    ("request_count_total", "counter", &["endpoint", "method", "status"]),
    ("error_count_total", "counter", &["error_type", "endpoint", "function"]),
    ("cache_hits_total", "counter", &["cache_name", "operation"]),
    ("cache_misses_total", "counter", &["cache_name", "operation"]),
    ("bedrock_invocations_total", "counter", &["model_id", "status"]),
    ("rag_queries_total", "counter", &["operation", "status"]),
    ("request_duration_seconds_bucket", "histogram", &["endpoint", "method", "le"]),
    ("token_usage_bucket", "histogram", &["model_id", "token_type", "le"]),
    ("retrieval_time_seconds_bucket", "histogram", &["operation", "source", "le"]),
    ("bedrock_duration_seconds_bucket", "histogram", &["model_id", "le"]),
    ("database_query_duration_seconds_bucket", "histogram", &["operation", "table", "le"]),
    ("active_requests", "gauge", &["endpoint"]),
    ("cache_size", "gauge", &["cache_name"]),
    ("active_connections", "gauge", &["connection_type"]),
    ("memory_usage", "gauge", &["process"]),
    ("queue_size", "gauge", &["queue_name"]),
];

/// The document's bucket ranges: smallest and largest finite bound per histogram.
const BUCKET_RANGES: &[(&str, f64, f64)] = &[
    ("request_duration_seconds_bucket", 0.005, 10.0),
    ("token_usage_bucket", 10.0, 50_000.0),
    ("retrieval_time_seconds_bucket", 0.001, 5.0),
    ("bedrock_duration_seconds_bucket", 0.1, 30.0),
    ("database_query_duration_seconds_bucket", 0.001, 1.0),
];

/// The document's queries ("Common Queries" and the dashboard panel), as printed.
const QUERIES: &[&str] = &[
    "rate(request_count[5m])",
    "histogram_quantile(0.95, rate(request_duration_seconds_bucket[5m]))",
    "rate(token_usage_sum[5m]) / rate(token_usage_count[5m])",
    "rate(cache_hits[5m]) / (rate(cache_hits[5m]) + rate(cache_misses[5m]))",
    "active_requests",
];

const ERROR_RATE: &str = "rate(error_count[5m]) / rate(request_count[5m])";

/// A query with `_total` after each counter name.
fn with_total(query: &str) -> String {
    ["request_count", "error_count", "cache_hits", "cache_misses"]
        .iter()
        .fold(query.to_owned(), |q, counter| q.replace(&format!("{counter}["), &format!("{counter}_total[")))
}

/// The finite `le` bounds of one histogram's first series.
fn bounds(exposition: &str, bucket: &str) -> Vec<f64> {
    let first_labels =
        exposition.lines().find(|l| l.starts_with(&format!("{bucket}{{"))).and_then(|l| l.split(",le=").next()).unwrap_or_default();
    exposition
        .lines()
        .filter(|l| l.starts_with(first_labels))
        .filter_map(|l| l.split(",le=\"").nth(1)?.split('"').next()?.parse::<f64>().ok())
        .filter(|b| b.is_finite())
        .collect()
}

#[test]
fn the_service_shows_every_documented_metric_and_answers_every_documented_query() {
    let example = ExampleRun::start(env!("CARGO_BIN_EXE_example-app-metrics"), &["--listen", "127.0.0.1:0", "--duration", "14"]);
    let names: Vec<String> = TABLE.iter().map(|(name, _, _)| format!("\n{name}{{")).collect();
    let mut needles: Vec<&str> = names.iter().map(String::as_str).collect();
    // The documented label values, failures included (they come now and then).
    needles.extend([
        r#"token_type="input""#,
        r#"token_type="output""#,
        r#"token_type="total""#,
        r#"status="failed""#,
        r#"status="success""#,
    ]);
    let body = example.scrape_with(&needles);
    let missing = missing_documented(&body, TABLE);
    assert!(missing.is_empty(), "{missing:#?}");
    for (bucket, low, high) in BUCKET_RANGES {
        let bounds = bounds(&body, bucket);
        assert_eq!((bounds.first(), bounds.last()), (Some(low), Some(high)), "{bucket}: {bounds:?}");
    }
    let problems = promtool_problems(body.as_bytes());
    assert!(problems.is_empty(), "promtool: {problems:#?}");

    let prometheus = Prometheus::start(&[&example.target()], &example.metrics_path(), &[]);
    for query in QUERIES {
        let result = prometheus.query_nonempty(&with_total(query));
        assert!(
            result.iter().any(|r| r["value"][1].as_str().and_then(|v| v.parse::<f64>().ok()).is_some_and(f64::is_finite)),
            "{query}: {result:?}"
        );
    }
    let summed = "sum(rate(error_count_total[5m])) / sum(rate(request_count_total[5m]))";
    let rate = prometheus.query_nonempty(summed)[0]["value"][1].as_str().and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    assert!(rate > 0.0 && rate < 1.0, "{summed} = {rate}");
    assert!(prometheus.query(&with_total(ERROR_RATE)).is_empty(), "label sets never match, as printed");

    let output = example.finish(Duration::from_secs(30));
    assert!(output.contains("stopped, metrics flushed"), "{output}");
}

#[test]
fn the_command_line_takes_flag_equals_value_version_and_suggests_the_meant_flag() {
    otel_tests::assert_cli(
        env!("CARGO_BIN_EXE_example-app-metrics"),
        "example-app-metrics",
        &["--listn", "x"],
        "--listen",
        &["--listen=127.0.0.1:0", "--duration=0"],
    );
}
