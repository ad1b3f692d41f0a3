//! The demo's HTTP API, recording the OTel HTTP server metrics by hand.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::get;
use axum::Router;
use opentelemetry::metrics::{Histogram, UpDownCounter};
use opentelemetry::KeyValue;
use otel_core::Telemetry;
use otel_instrumentation::semconv;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) struct Api {
    pub(crate) addr: std::net::SocketAddr,
    pub(crate) server: JoinHandle<()>,
}

#[derive(Clone)]
struct Metrics {
    duration: Histogram<f64>,
    active: UpDownCounter<i64>,
    orders: Arc<AtomicU64>,
}

pub(crate) async fn start(addr: &str, telemetry: &Telemetry, mut stop: watch::Receiver<bool>) -> Result<Api, String> {
    let meter = telemetry.meter("otel-demo.api");
    let metrics = Metrics {
        duration: meter
            .f64_histogram(semconv::HTTP_SERVER_REQUEST_DURATION)
            .with_unit("s")
            .with_description("Duration of HTTP server requests")
            .with_boundaries(semconv::DURATION_BUCKETS_SECONDS.to_vec())
            .build(),
        active: meter
            .i64_up_down_counter(semconv::HTTP_SERVER_ACTIVE_REQUESTS)
            .with_unit("{request}")
            .with_description("Number of active HTTP server requests")
            .build(),
        orders: Arc::new(AtomicU64::new(0)),
    };
    let app = Router::new()
        .route("/api/orders", get(list_orders).post(place_order))
        .route("/api/health", get(|| async { "ok" }))
        .with_state(metrics);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} for the API: {e}; pass --api with a free address"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "API server failed");
        }
    });
    Ok(Api { addr, server })
}

async fn list_orders(State(m): State<Metrics>) -> (StatusCode, String) {
    observe(&m, Method::GET, "/api/orders", || {
        let count = m.orders.load(Ordering::Relaxed);
        (StatusCode::OK, format!("{{\"orders\":{count}}}"))
    })
}

async fn place_order(State(m): State<Metrics>) -> (StatusCode, String) {
    observe(&m, Method::POST, "/api/orders", || {
        let n = m.orders.fetch_add(1, Ordering::Relaxed) + 1;
        // Every 20th order fails, so the error series have data.
        if n % 20 == 0 {
            (StatusCode::INTERNAL_SERVER_ERROR, "{\"error\":\"payment declined\"}".to_owned())
        } else {
            (StatusCode::CREATED, format!("{{\"id\":{n}}}"))
        }
    })
}

fn observe(m: &Metrics, method: Method, route: &'static str, handle: impl FnOnce() -> (StatusCode, String)) -> (StatusCode, String) {
    let started = Instant::now();
    let in_flight = [KeyValue::new("http.request.method", method.to_string()), KeyValue::new("url.scheme", "http")];
    m.active.add(1, &in_flight);
    let (status, body) = handle();
    let mut attributes = vec![
        KeyValue::new("http.request.method", method.to_string()),
        KeyValue::new("http.route", route),
        KeyValue::new("http.response.status_code", i64::from(status.as_u16())),
        KeyValue::new("url.scheme", "http"),
    ];
    if status.is_server_error() {
        attributes.push(KeyValue::new("error.type", status.as_u16().to_string()));
    }
    m.duration.record(started.elapsed().as_secs_f64(), &attributes);
    m.active.add(-1, &in_flight);
    (status, body)
}
