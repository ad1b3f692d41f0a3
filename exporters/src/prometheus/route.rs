//! `/metrics` on a service's own axum router, served exactly as the pull endpoint serves it.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::MethodRouter;

use crate::exposition::negotiate::Format;
use crate::exposition::scraper::Scraper;

/// A `GET` (and `HEAD`) route answering with the pipeline's metrics in the format the scraper
/// negotiates in `Accept` (protobuf with native histograms, OpenMetrics, text 0.0.4), gzipped
/// when asked; `503` once the pipeline is shut down. Collection runs on tokio's blocking pool.
///
/// ```
/// use otel_core::Telemetry;
/// use otel_exporters::PrometheusExporter;
///
/// let prometheus = PrometheusExporter::new().without_server(); // no endpoint of its own
/// let routes: axum::Router = axum::Router::new().route("/metrics", otel_exporters::metrics_route(prometheus.scraper()));
/// let telemetry = Telemetry::builder().service_name("doc").exporter(prometheus).build()?;
/// # drop(routes); telemetry.shutdown()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn metrics_route<S>(scraper: Scraper) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    axum::routing::get(move |headers: HeaderMap| {
        let scraper = scraper.clone();
        async move {
            let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_owned);
            let (accept, encoding) = (text(header::ACCEPT), text(header::ACCEPT_ENCODING));
            let answer = tokio::task::spawn_blocking(move || scraper.respond(accept.as_deref(), encoding.as_deref(), &Format::ALL)).await;
            match answer {
                Ok(Ok(exposition)) => {
                    let mut response = exposition.body.into_response();
                    let headers = response.headers_mut();
                    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(exposition.content_type));
                    headers.insert(header::VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
                    if let Some(encoding) = exposition.content_encoding {
                        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
                    }
                    response
                }
                Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
                Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "collecting metrics failed").into_response(),
            }
        }
    })
}
