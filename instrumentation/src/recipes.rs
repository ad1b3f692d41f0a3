//! Recipes for common dependencies: caches, databases and LLM calls, each a definitions list
//! for the catalog plus a small recorder over the [`otel_core::Metrics`] facade.
//!
//! | recipe | series (Prometheus) |
//! |---|---|
//! | [`Cache`] | `cache_hits_total`, `cache_misses_total` (`cache_name`, `operation`), `cache_size_bytes` (`cache_name`) |
//! | [`Database`] | `db_client_operation_duration_seconds` (`db.operation.name`, `db.collection.name`; 1 ms–1 s), `db_client_connections_active` (`db.client.connection.pool.name`) |
//! | [`GenAi`] | `gen_ai_client_token_usage` (`gen_ai.request.model`, `gen_ai.operation.name`, `gen_ai.token.type`), `gen_ai_client_operation_duration_seconds` (`gen_ai.request.model`, `gen_ai.operation.name`, `error.type`; 100 ms–30 s) |

use opentelemetry::KeyValue;
use otel_core::facade::{ActiveGuard, DurationGuard};
use otel_core::{buckets, MetricDef, Metrics};

/// Cache hits, misses and size.
#[derive(Debug, Clone)]
pub struct Cache {
    metrics: Metrics,
    name: String,
}

impl Cache {
    /// The metrics to declare.
    pub fn definitions() -> Vec<MetricDef> {
        vec![
            MetricDef::counter("cache.hits").description("Cache hits").labels(["cache_name", "operation"]),
            MetricDef::counter("cache.misses").description("Cache misses").labels(["cache_name", "operation"]),
            MetricDef::gauge("cache.size").unit("By").description("Cache size in bytes").labels(["cache_name"]),
        ]
    }

    /// A recorder for the cache called `name`.
    pub fn new(metrics: &Metrics, name: &str) -> Self {
        Cache { metrics: metrics.clone(), name: name.to_owned() }
    }

    /// A lookup for `operation` (e.g. `get`) hit or missed.
    pub fn lookup(&self, operation: &str, hit: bool) {
        let labels = [KeyValue::new("cache_name", self.name.clone()), KeyValue::new("operation", operation.to_owned())];
        self.metrics.increment_counter(if hit { "cache.hits" } else { "cache.misses" }, 1, &labels);
    }

    /// The cache now holds `bytes`.
    pub fn size(&self, bytes: u64) {
        self.metrics.set_gauge("cache.size", bytes as f64, &[KeyValue::new("cache_name", self.name.clone())]);
    }
}

/// Database query durations and connections in use.
#[derive(Debug, Clone)]
pub struct Database {
    metrics: Metrics,
    pool: String,
}

impl Database {
    /// The metrics to declare.
    pub fn definitions() -> Vec<MetricDef> {
        vec![
            MetricDef::histogram("db.client.operation.duration")
                .unit("s")
                .description("Duration of database client operations")
                .labels(["db.operation.name", "db.collection.name"])
                .buckets(&buckets::DB_QUERY_DURATION),
            MetricDef::gauge("db.client.connections.active").description("Connections in use").labels(["db.client.connection.pool.name"]),
        ]
    }

    /// A recorder for the connection pool called `pool`.
    pub fn new(metrics: &Metrics, pool: &str) -> Self {
        Database { metrics: metrics.clone(), pool: pool.to_owned() }
    }

    /// Times a query (`operation`: `select`, ...; `collection`: the table) until dropped.
    pub fn query(&self, operation: &str, collection: &str) -> DurationGuard {
        let labels = [KeyValue::new("db.operation.name", operation.to_owned()), KeyValue::new("db.collection.name", collection.to_owned())];
        self.metrics.track_duration("db.client.operation.duration", &labels)
    }

    /// Counts a connection as in use until dropped.
    pub fn connection(&self) -> ActiveGuard {
        self.metrics.track_active("db.client.connections.active", &[KeyValue::new("db.client.connection.pool.name", self.pool.clone())])
    }
}

/// LLM calls with the GenAI semantic conventions.
#[derive(Debug, Clone)]
pub struct GenAi {
    metrics: Metrics,
}

impl GenAi {
    /// The metrics to declare.
    pub fn definitions() -> Vec<MetricDef> {
        vec![
            MetricDef::histogram("gen_ai.client.token.usage")
                .unit("{token}")
                .description("Tokens used per call, by token type")
                .labels(["gen_ai.request.model", "gen_ai.token.type", "gen_ai.operation.name"])
                .buckets(&buckets::TOKEN_USAGE),
            MetricDef::histogram("gen_ai.client.operation.duration")
                .unit("s")
                .description("Duration of GenAI operations")
                .labels(["gen_ai.request.model", "gen_ai.operation.name", "error.type"])
                .buckets(&buckets::MODEL_CALL_DURATION),
        ]
    }

    /// Records through `metrics`.
    pub fn new(metrics: &Metrics) -> Self {
        GenAi { metrics: metrics.clone() }
    }

    /// One call to `model`: its duration, outcome and token counts.
    pub fn call(&self, model: &str, operation: &str, seconds: f64, error_type: Option<&str>, input_tokens: u64, output_tokens: u64) {
        let mut labels =
            vec![KeyValue::new("gen_ai.request.model", model.to_owned()), KeyValue::new("gen_ai.operation.name", operation.to_owned())];
        for (kind, tokens) in [("input", input_tokens), ("output", output_tokens)] {
            let mut with_type = labels.clone();
            with_type.push(KeyValue::new("gen_ai.token.type", kind));
            self.metrics.record_histogram("gen_ai.client.token.usage", tokens as f64, &with_type);
        }
        if let Some(error) = error_type {
            labels.push(KeyValue::new("error.type", error.to_owned()));
        }
        self.metrics.record_histogram("gen_ai.client.operation.duration", seconds, &labels);
    }
}
