//! The document's production examples: a cache with hit/miss counters and a size gauge, a
//! vector search (RAG), a Bedrock model call with token usage, and database queries with an
//! active-connection gauge, behind one `/query` handler.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::http::StatusCode;
use example_support::{Dice, Ticker};
use otel_core::opentelemetry::KeyValue;
use otel_instrumentation::{track_duration, track_errors};
use tokio::sync::watch;

/// A failure of one of the simulated dependencies.
#[derive(Debug)]
pub(crate) struct ValueError;

#[derive(Debug)]
pub(crate) struct ThrottlingException;

/// A different throw on every call, repeatable run to run.
fn throw(n: u64) -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(1);
    Dice::new(CALLS.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15)).below(n)
}

/// The document's `CacheWithMetrics`: hits and misses per operation, size in bytes.
struct CacheWithMetrics {
    name: &'static str,
    entries: Mutex<HashMap<String, String>>,
}

impl CacheWithMetrics {
    fn get(&self, key: &str) -> Option<String> {
        let found = self.entries.lock().ok()?.get(key).cloned();
        let counter = if found.is_some() { "cache_hits" } else { "cache_misses" };
        otel_core::global::metrics().increment_counter(
            counter,
            1,
            &[KeyValue::new("cache_name", self.name), KeyValue::new("operation", "get")],
        );
        found
    }

    fn set(&self, key: &str, value: String) {
        let Ok(mut entries) = self.entries.lock() else { return };
        // Evicts everything now and then, so hits and misses both keep coming.
        if entries.len() >= 4 {
            entries.clear();
        }
        entries.insert(key.to_owned(), value);
        let size: usize = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
        otel_core::global::metrics().set_gauge("cache_size", size as f64, &[KeyValue::new("cache_name", self.name)]);
    }
}

fn cache() -> &'static CacheWithMetrics {
    static CACHE: OnceLock<CacheWithMetrics> = OnceLock::new();
    CACHE.get_or_init(|| CacheWithMetrics { name: "embeddings", entries: Mutex::default() })
}

/// `POST /query`: cache, then retrieval, a database lookup and a model call.
pub(crate) async fn query(question: String) -> Result<String, (StatusCode, String)> {
    let question = validate(&question).map_err(|_| (StatusCode::BAD_REQUEST, "Query cannot be empty".to_owned()))?;
    if let Some(answer) = cache().get(question) {
        return Ok(answer);
    }
    let metrics = otel_core::global::metrics();
    let queue = [KeyValue::new("queue_name", "llm_requests")];
    metrics.increment_gauge("queue_size", 1.0, &queue);
    let documents = vector_search(question, 5).await;
    let user = query_users("user-1").await;
    let answer = invoke_bedrock(question).await;
    metrics.decrement_gauge("queue_size", 1.0, &queue);
    match (documents, answer) {
        (Ok(documents), Ok(answer)) => {
            let answer = format!("{answer} ({documents} documents, for {user})");
            cache().set(question, answer.clone());
            Ok(answer)
        }
        _ => Err((StatusCode::INTERNAL_SERVER_ERROR, "a dependency failed".to_owned())),
    }
}

/// `@track_errors(labels={"endpoint": "/query"})` on the document's `process_query`.
#[track_errors(labels(endpoint = "/query"))]
fn validate(question: &str) -> Result<&str, ValueError> {
    if question.is_empty() {
        Err(ValueError)
    } else {
        Ok(question)
    }
}

/// Example 4: RAG retrieval timed by the decorator, queries counted by status.
#[track_duration("retrieval_time", labels(operation = "vector_search", source = "chroma"))]
async fn vector_search(_question: &str, top_k: u64) -> Result<u64, ValueError> {
    let metrics = otel_core::global::metrics();
    let count = |status: &'static str| {
        metrics.increment_counter("rag_queries", 1, &[KeyValue::new("operation", "vector_search"), KeyValue::new("status", status)])
    };
    count("started");
    tokio::time::sleep(Duration::from_millis(2 + throw(20))).await;
    if throw(25) == 0 {
        count("failed");
        return Err(ValueError);
    }
    count("success");
    Ok(top_k)
}

/// Example 5: a pooled connection counted while held, the query timed with `track_duration`.
async fn query_users(user_id: &str) -> String {
    let metrics = otel_core::global::metrics();
    let _connection = metrics.track_active("active_connections", &[KeyValue::new("connection_type", "database")]);
    let _query =
        metrics.track_duration("database_query_duration", &[KeyValue::new("operation", "select"), KeyValue::new("table", "users")]);
    tokio::time::sleep(Duration::from_millis(1 + throw(10))).await;
    format!("user {user_id}")
}

/// Example 2: a model call timed and error-counted by decorators, invocations by status,
/// token usage by type.
#[track_duration("bedrock_duration", labels(model_id = "claude-3"))]
#[track_errors(labels(endpoint = "/query"))]
async fn invoke_bedrock(prompt: &str) -> Result<String, ThrottlingException> {
    let metrics = otel_core::global::metrics();
    let invocation = |status: &'static str| {
        metrics.increment_counter("bedrock_invocations", 1, &[KeyValue::new("model_id", "claude-3"), KeyValue::new("status", status)])
    };
    invocation("started");
    tokio::time::sleep(Duration::from_millis(100 + throw(150))).await;
    if throw(10) == 0 {
        invocation("failed");
        return Err(ThrottlingException);
    }
    let (input, output) = (10 + prompt.len() as u64 * 40, 50 + throw(2000));
    for (token_type, tokens) in [("input", input), ("output", output), ("total", input + output)] {
        metrics.record_histogram(
            "token_usage",
            tokens as f64,
            &[KeyValue::new("model_id", "claude-3"), KeyValue::new("token_type", token_type)],
        );
    }
    invocation("success");
    Ok(format!("answer to {prompt:?}"))
}

/// The process' resident memory, every half second, as `memory_usage{process}`.
pub(crate) async fn report_process(stop: watch::Receiver<bool>) {
    let mut ticks = Ticker::new(Duration::from_millis(500), stop);
    while ticks.next().await {
        // The second field of /proc/self/statm: resident pages.
        let resident = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|statm| statm.split_whitespace().nth(1).and_then(|pages| pages.parse::<f64>().ok()));
        if let Some(pages) = resident {
            otel_core::global::metrics().set_gauge("memory_usage", pages * 4096.0, &[KeyValue::new("process", "api")]);
        }
    }
}
