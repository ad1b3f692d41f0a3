//! Ready-made catalogs for common service shapes.

use crate::{buckets, Catalog, CatalogError, MetricDef};

/// The metrics of an application metrics framework for API services with caches, retrieval
/// (RAG), LLM calls and a database: the names, labels and bucket ranges such frameworks
/// document, so a service migrating to this pipeline keeps its dashboards' names.
///
/// | kind | metrics (labels) |
/// |---|---|
/// | counters | `request_count` (endpoint, method, status), `error_count` (error_type, endpoint, function), `cache_hits`, `cache_misses` (cache_name, operation), `bedrock_invocations` (model_id, status), `rag_queries` (operation, status) |
/// | histograms | `request_duration` s (endpoint, method; 5 ms–10 s), `token_usage` (model_id, token_type; 10–50,000), `retrieval_time` s (operation, source; 1 ms–5 s), `bedrock_duration` s (model_id; 100 ms–30 s), `database_query_duration` s (operation, table; 1 ms–1 s) |
/// | gauges | `active_requests` (endpoint), `cache_size` (cache_name), `active_connections` (connection_type), `memory_usage` (process), `queue_size` (queue_name) |
///
/// In Prometheus the counters carry `_total` (`request_count_total`) and the duration
/// histograms `_seconds` (`request_duration_seconds_bucket`), as OpenTelemetry's naming rules
/// and Prometheus' own OTLP ingestion require.
///
/// ```
/// use otel_core::{presets, Telemetry};
///
/// let telemetry = Telemetry::builder().env(otel_core::Env::empty()).catalog(presets::metrics_framework()?).build()?;
/// let metrics = telemetry.metrics();
/// metrics.increment_counter("cache_hits", 5, &[
///     opentelemetry::KeyValue::new("cache_name", "embeddings"),
///     opentelemetry::KeyValue::new("operation", "get"),
/// ]);
/// assert_eq!(telemetry.snapshot().value("cache_hits", &[("cache_name", "embeddings"), ("operation", "get")]), Some(5.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn metrics_framework() -> Result<Catalog, CatalogError> {
    Catalog::new().with([
        MetricDef::counter("request_count").description("Total requests").labels(["endpoint", "method", "status"]),
        MetricDef::counter("error_count").description("Total errors").labels(["error_type", "endpoint", "function"]),
        MetricDef::counter("cache_hits").description("Cache hits").labels(["cache_name", "operation"]),
        MetricDef::counter("cache_misses").description("Cache misses").labels(["cache_name", "operation"]),
        MetricDef::counter("bedrock_invocations").description("Bedrock calls").labels(["model_id", "status"]),
        MetricDef::counter("rag_queries").description("RAG queries").labels(["operation", "status"]),
        MetricDef::histogram("request_duration")
            .unit("s")
            .description("Request duration in seconds")
            .labels(["endpoint", "method"])
            .buckets(&buckets::REQUEST_DURATION),
        MetricDef::histogram("token_usage")
            .description("Tokens per request")
            .labels(["model_id", "token_type"])
            .buckets(&buckets::TOKEN_USAGE),
        MetricDef::histogram("retrieval_time")
            .unit("s")
            .description("Retrieval time in seconds")
            .labels(["operation", "source"])
            .buckets(&buckets::RETRIEVAL_TIME),
        MetricDef::histogram("bedrock_duration")
            .unit("s")
            .description("Bedrock call duration in seconds")
            .labels(["model_id"])
            .buckets(&buckets::MODEL_CALL_DURATION),
        MetricDef::histogram("database_query_duration")
            .unit("s")
            .description("Database query duration in seconds")
            .labels(["operation", "table"])
            .buckets(&buckets::DB_QUERY_DURATION),
        MetricDef::gauge("active_requests").description("Current active requests").labels(["endpoint"]),
        MetricDef::gauge("cache_size").description("Cache size in bytes").labels(["cache_name"]),
        MetricDef::gauge("active_connections").description("Active connections").labels(["connection_type"]),
        MetricDef::gauge("memory_usage").description("Memory usage in bytes").labels(["process"]),
        MetricDef::gauge("queue_size").description("Queue size").labels(["queue_name"]),
    ])
}
