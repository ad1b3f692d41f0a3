//! An API service instrumented the way the application metrics framework document describes:
//! its declared catalog (`otel_core::presets::metrics_framework`), `MetricsCollector`-style
//! calls (`increment_counter`, `record_histogram`, `set_gauge`, `increment_gauge`,
//! `decrement_gauge`, `track_duration`, `track_active`), the `#[track_duration]` and
//! `#[track_errors]` decorators, the request middleware, and the cache, LLM (Bedrock), RAG and
//! database examples, with `/metrics` mounted in the axum app itself.
//!
//! ```text
//! cargo run -p example-app-metrics -- [--listen ADDR] [--duration SECS]
//! ```
//!
//! The service sends itself a steady mix of queries so every metric moves.

mod services;

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use example_support::{Client, Dice, Ticker};
use otel_core::opentelemetry::KeyValue;
use otel_core::{presets, Telemetry};
use otel_exporters::{PrometheusExporter, Scraper};
use tokio::sync::watch;

const PROGRAM: &str = "example-app-metrics";

/// Flags (`--help` lists them).
#[derive(Debug, clap::Parser)]
#[command(name = "example-app-metrics", version, about)]
struct Args {
    /// Where the API (and its /metrics) listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    listen: String,
    #[command(flatten)]
    lifetime: example_support::Lifetime,
}

#[tokio::main]
async fn main() {
    let args: Args = example_support::start();
    example_support::exit_on_error(PROGRAM, run(args).await);
}

async fn run(args: Args) -> Result<(), String> {
    // The exporter serves no endpoint of its own: the app mounts /metrics.
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let telemetry = Telemetry::builder()
        .catalog(presets::metrics_framework().map_err(|e| e.to_string())?)
        .default_service_name("langgraph-app")
        .exporter(exporter)
        // Installed globally: the decorators and `otel_core::global::metrics()` (the document's
        // `get_metrics_collector()`) record through it.
        .install()
        .map_err(|e| e.to_string())?;

    let app = Router::new()
        .route("/health", get(health))
        .route("/query", post(services::query))
        .layer(middleware::from_fn(track_requests))
        .route("/metrics", get(metrics))
        .with_state(scraper);
    let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop_tx, stop) = watch::channel(false);
    let mut server_stop = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(async move { drop(server_stop.wait_for(|s| *s).await) }).await
    });
    println!("{PROGRAM}: metrics at http://{addr}/metrics");
    println!("{PROGRAM}: API at http://{addr}/query");

    let traffic = tokio::spawn(async move {
        let client = Client::new(format!("http://{addr}"));
        let mut dice = Dice::new(u64::from(std::process::id()) << 7);
        let mut ticks = Ticker::new(Duration::from_millis(25), stop);
        while ticks.next().await {
            let question = match dice.below(12) {
                0 => String::new(),
                n => format!("question {}", n % 6),
            };
            let (method, path) = if dice.one_in(5) { (Method::GET, "/health") } else { (Method::POST, "/query") };
            // Requests overlap now and then, so active_requests has something to count.
            let client = client.clone();
            tokio::spawn(async move { client.send(method, path, question).await });
        }
    });
    let memory = tokio::spawn(services::report_process(stop_tx.subscribe()));
    example_support::run_for(args.lifetime.duration).await;
    let _ = stop_tx.send(true);
    let _ = traffic.await;
    let _ = memory.await;
    let _ = server.await;
    telemetry.shutdown().map_err(|e| format!("flushing metrics on the way out failed: {e}"))?;
    println!("{PROGRAM}: stopped, metrics flushed");
    Ok(())
}

async fn health() -> &'static str {
    "{\"status\": \"healthy\"}"
}

async fn metrics(State(scraper): State<Scraper>, headers: HeaderMap) -> Response {
    example_support::metrics_response(&scraper, &headers)
}

/// The document's request middleware: in-flight requests, request count and duration, and
/// errors, per endpoint (the route template, so raw paths cannot grow the series count).
async fn track_requests(request: Request, next: Next) -> Response {
    let metrics = otel_core::global::metrics();
    let endpoint = request.extensions().get::<MatchedPath>().map_or("unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let _active = metrics.track_active("active_requests", &[KeyValue::new("endpoint", endpoint.clone())]);
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    metrics.increment_counter(
        "request_count",
        1,
        &[
            KeyValue::new("endpoint", endpoint.clone()),
            KeyValue::new("method", method.clone()),
            KeyValue::new("status", status.as_u16().to_string()),
        ],
    );
    metrics.record_histogram(
        "request_duration",
        started.elapsed().as_secs_f64(),
        &[KeyValue::new("endpoint", endpoint.clone()), KeyValue::new("method", method)],
    );
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        let labels = [
            KeyValue::new("error_type", "InternalServerError"),
            KeyValue::new("endpoint", endpoint),
            KeyValue::new("function", "middleware"),
        ];
        metrics.increment_counter("error_count", 1, &labels);
    }
    response.into_response()
}
