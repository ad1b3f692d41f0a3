//! The demo's HTTP API, instrumented by the tower layer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use otel_core::Telemetry;
use otel_instrumentation::http::HttpServerLayer;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::args::Inject;

pub(crate) struct Api {
    pub(crate) addr: std::net::SocketAddr,
    pub(crate) server: JoinHandle<()>,
}

pub(crate) async fn start(addr: &str, telemetry: &Telemetry, inject: Inject, mut stop: watch::Receiver<bool>) -> Result<Api, String> {
    let orders = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/api/orders", get(list_orders).post(place_order))
        .route("/api/orders/{id}", get(get_order))
        .route("/api/health", get(|| async { "ok" }))
        .with_state(orders)
        // Inside the measuring layer, so injected faults are measured like real ones.
        .layer(middleware::from_fn_with_state((inject, Arc::new(AtomicU64::new(0))), fault))
        .layer(HttpServerLayer::new(&telemetry.meter("otel-demo.api")))
        // Outside the measuring layer, so each request's measurements are made in its span.
        .layer(middleware::from_fn_with_state(crate::spans::tracer(), crate::spans::in_span));
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

/// Injected faults: extra latency on every other request, a 500 on `errors` percent of them.
async fn fault(State((inject, requests)): State<(Inject, Arc<AtomicU64>)>, request: Request, next: Next) -> Response {
    let n = requests.fetch_add(1, Ordering::Relaxed);
    if inject.latency_ms > 0 && n % 2 == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(inject.latency_ms)).await;
    }
    if inject.fails(n) {
        return json(StatusCode::INTERNAL_SERVER_ERROR, "{\"error\":\"injected\"}".to_owned());
    }
    next.run(request).await
}

/// A JSON answer.
fn json(status: StatusCode, body: String) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn list_orders(State(orders): State<Arc<AtomicU64>>) -> Response {
    json(StatusCode::OK, format!("{{\"orders\":{}}}", orders.load(Ordering::Relaxed)))
}

async fn get_order(State(orders): State<Arc<AtomicU64>>, Path(id): Path<u64>) -> Response {
    if id <= orders.load(Ordering::Relaxed) {
        json(StatusCode::OK, format!("{{\"id\":{id}}}"))
    } else {
        json(StatusCode::NOT_FOUND, "{\"error\":\"no such order\"}".to_owned())
    }
}

async fn place_order(State(orders): State<Arc<AtomicU64>>) -> Response {
    let n = orders.fetch_add(1, Ordering::Relaxed) + 1;
    // Every 20th payment is declined: a client error (402), not a failure of the service.
    if n % 20 == 0 {
        json(StatusCode::PAYMENT_REQUIRED, "{\"error\":\"payment declined\"}".to_owned())
    } else {
        json(StatusCode::CREATED, format!("{{\"id\":{n}}}"))
    }
}
