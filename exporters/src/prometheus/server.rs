//! The HTTP side of the pull endpoint.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::runtime::Handle;

use super::Scraper;

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves `path` on `listener` until the scraper's pipeline shuts down.
pub(super) fn spawn(runtime: &Handle, listener: std::net::TcpListener, path: String, scraper: Scraper) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = {
        let _context = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    let mut stopped = scraper.stopped();
    let app = Router::new().route(&path, get(move || scrape(scraper.clone())));
    runtime.spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::warn!(target: "otel_pipeline::prometheus", error = %e, "the Prometheus endpoint stopped");
        }
    });
    Ok(())
}

async fn scrape(scraper: Scraper) -> Response {
    // Collection is CPU work under a lock; keep it off the I/O worker.
    match tokio::task::spawn_blocking(move || scraper.scrape()).await {
        Ok(Ok(body)) => ([(header::CONTENT_TYPE, TEXT_FORMAT)], body).into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "scrape failed").into_response(),
    }
}
