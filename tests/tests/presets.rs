//! The metrics-framework preset exposes every documented metric with its type, labels and
//! bucket range, and promtool finds nothing wrong with it.

use opentelemetry::KeyValue;
use otel_core::{presets, Env, Telemetry};
use otel_exporters::PrometheusExporter;
use otel_tests::promtool_problems;

#[test]
fn the_metrics_framework_preset_exposes_every_documented_metric() {
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let catalog = presets::metrics_framework().expect("the preset is consistent");
    let telemetry = Telemetry::builder().env(Env::empty()).catalog(catalog).exporter(exporter).build().expect("build");
    let m = telemetry.metrics();
    let kv = |pairs: &[(&'static str, &'static str)]| pairs.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect::<Vec<_>>();
    m.increment_counter("request_count", 1, &kv(&[("endpoint", "/query"), ("method", "POST"), ("status", "200")]));
    m.increment_counter("error_count", 1, &kv(&[("error_type", "ValueError"), ("endpoint", "/query"), ("function", "handle")]));
    m.increment_counter("cache_hits", 5, &kv(&[("cache_name", "embeddings"), ("operation", "get")]));
    m.increment_counter("cache_misses", 1, &kv(&[("cache_name", "embeddings"), ("operation", "get")]));
    m.increment_counter("bedrock_invocations", 1, &kv(&[("model_id", "claude-3"), ("status", "success")]));
    m.increment_counter("rag_queries", 1, &kv(&[("operation", "search"), ("status", "success")]));
    m.record_histogram("request_duration", 0.5, &kv(&[("endpoint", "/query"), ("method", "POST")]));
    m.record_histogram("token_usage", 1200.0, &kv(&[("model_id", "claude-3"), ("token_type", "input")]));
    m.record_histogram("retrieval_time", 0.02, &kv(&[("operation", "search"), ("source", "vectors")]));
    m.record_histogram("bedrock_duration", 2.0, &kv(&[("model_id", "claude-3")]));
    m.record_histogram("database_query_duration", 0.003, &kv(&[("operation", "select"), ("table", "docs")]));
    m.increment_gauge("active_requests", 1.0, &kv(&[("endpoint", "/query")]));
    m.set_gauge("cache_size", 104_857_600.0, &kv(&[("cache_name", "embeddings")]));
    m.set_gauge("active_connections", 3.0, &kv(&[("connection_type", "db")]));
    m.set_gauge("memory_usage", 5e8, &kv(&[("process", "api")]));
    m.set_gauge("queue_size", 7.0, &kv(&[("queue_name", "jobs")]));
    let text = scraper.scrape_text().expect("scrape");
    for (family, kind) in [
        ("request_count_total", "counter"),
        ("error_count_total", "counter"),
        ("cache_hits_total", "counter"),
        ("cache_misses_total", "counter"),
        ("bedrock_invocations_total", "counter"),
        ("rag_queries_total", "counter"),
        ("request_duration_seconds", "histogram"),
        ("token_usage", "histogram"),
        ("retrieval_time_seconds", "histogram"),
        ("bedrock_duration_seconds", "histogram"),
        ("database_query_duration_seconds", "histogram"),
        ("active_requests", "gauge"),
        ("cache_size", "gauge"),
        ("active_connections", "gauge"),
        ("memory_usage", "gauge"),
        ("queue_size", "gauge"),
    ] {
        assert!(text.contains(&format!("# TYPE {family} {kind}\n")), "{family}:\n{text}");
    }
    // The documented bucket ranges: first and last bound of each histogram.
    for (bucket, first, last) in [
        ("request_duration_seconds_bucket", "0.005", "10"),
        ("token_usage_bucket", "10", "50000"),
        ("retrieval_time_seconds_bucket", "0.001", "5"),
        ("bedrock_duration_seconds_bucket", "0.1", "30"),
        ("database_query_duration_seconds_bucket", "0.001", "1"),
    ] {
        let les: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&format!("{bucket}{{")))
            .filter_map(|l| l.split(",le=\"").nth(1)?.split('"').next())
            .filter(|le| *le != "+Inf")
            .collect();
        assert_eq!((les.first().copied(), les.last().copied()), (Some(first), Some(last)), "{bucket}");
    }
    assert!(text.contains("cache_hits_total{otel_scope_name=\"app\",cache_name=\"embeddings\",operation=\"get\"} 5\n"), "{text}");
    let problems = promtool_problems(text.as_bytes());
    assert!(problems.is_empty(), "{problems:?}");
}
