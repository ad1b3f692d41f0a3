//! The demo's HTTP API, instrumented by the tower layer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use otel_core::Telemetry;
use otel_instrumentation::http::HttpServerLayer;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) struct Api {
    pub(crate) addr: std::net::SocketAddr,
    pub(crate) server: JoinHandle<()>,
}

pub(crate) async fn start(addr: &str, telemetry: &Telemetry, mut stop: watch::Receiver<bool>) -> Result<Api, String> {
    let orders = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/api/orders", get(list_orders).post(place_order))
        .route("/api/orders/{id}", get(get_order))
        .route("/api/health", get(|| async { "ok" }))
        .with_state(orders)
        .layer(HttpServerLayer::new(&telemetry.meter("otel-demo.api")));
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

async fn list_orders(State(orders): State<Arc<AtomicU64>>) -> String {
    format!("{{\"orders\":{}}}", orders.load(Ordering::Relaxed))
}

async fn get_order(State(orders): State<Arc<AtomicU64>>, Path(id): Path<u64>) -> (StatusCode, String) {
    if id <= orders.load(Ordering::Relaxed) {
        (StatusCode::OK, format!("{{\"id\":{id}}}"))
    } else {
        (StatusCode::NOT_FOUND, "{\"error\":\"no such order\"}".to_owned())
    }
}

async fn place_order(State(orders): State<Arc<AtomicU64>>) -> (StatusCode, String) {
    let n = orders.fetch_add(1, Ordering::Relaxed) + 1;
    // Every 20th order fails, so the error series have data.
    if n % 20 == 0 {
        (StatusCode::INTERNAL_SERVER_ERROR, "{\"error\":\"payment declined\"}".to_owned())
    } else {
        (StatusCode::CREATED, format!("{{\"id\":{n}}}"))
    }
}
