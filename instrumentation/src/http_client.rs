//! A tower layer for HTTP clients (hyper-util's client, or any tower HTTP client) recording
//! `http.client.request.duration` (s) with `http.request.method`, `server.address`,
//! `server.port`, `url.template`, `http.response.status_code` and `error.type`.
//!
//! The URL template comes from a [`UrlTemplate`] request extension set by the caller (for
//! example `/tasks/poll/batch/{taskType}`); a request without one gets no `url.template`, so raw
//! paths never become label values. The duration ends when the response head arrives.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry::KeyValue;
use tower_layer::Layer;
use tower_service::Service;

use crate::http::method_attribute;
use crate::semconv;

/// The low-cardinality template of a request's URL, set as a request extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate(pub &'static str);

/// The layer. Clone it freely.
#[derive(Clone)]
pub struct HttpClientLayer {
    duration: Histogram<f64>,
}

impl fmt::Debug for HttpClientLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientLayer").finish_non_exhaustive()
    }
}

impl HttpClientLayer {
    /// Records through `meter`.
    pub fn new(meter: &Meter) -> Self {
        HttpClientLayer {
            duration: meter
                .f64_histogram("http.client.request.duration")
                .with_unit("s")
                .with_description("Duration of HTTP client requests")
                .with_boundaries(semconv::DURATION_BUCKETS_SECONDS.to_vec())
                .build(),
        }
    }
}

impl<S> Layer<S> for HttpClientLayer {
    type Service = HttpClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpClientService { inner, duration: self.duration.clone() }
    }
}

/// The service the layer wraps around a client.
#[derive(Clone)]
pub struct HttpClientService<S> {
    inner: S,
    duration: Histogram<f64>,
}

impl<S> fmt::Debug for HttpClientService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientService").finish_non_exhaustive()
    }
}

impl<S, B, R> Service<Request<B>> for HttpClientService<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let uri = request.uri();
        let mut attributes = vec![KeyValue::new("http.request.method", method_attribute(request.method()))];
        if let Some(host) = uri.host() {
            attributes.push(KeyValue::new("server.address", host.to_owned()));
        }
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        if let Some(port) = port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
        if let Some(UrlTemplate(template)) = request.extensions().get::<UrlTemplate>() {
            attributes.push(KeyValue::new("url.template", *template));
        }
        let recording = ClientRecording { duration: self.duration.clone(), attributes, started: Instant::now(), done: false };
        ClientFuture { inner: self.inner.call(request), recording: Some(recording) }
    }
}

pin_project_lite::pin_project! {
    /// Records when the response head (or an error) arrives, or `cancelled` when dropped.
    pub struct ClientFuture<F> {
        #[pin]
        inner: F,
        recording: Option<ClientRecording>,
    }
}

impl<F> fmt::Debug for ClientFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientFuture").finish_non_exhaustive()
    }
}

impl<F, R, E> Future for ClientFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Some(mut r) = this.recording.take() {
            match &result {
                Ok(response) => {
                    let status = response.status();
                    r.attributes.push(KeyValue::new("http.response.status_code", i64::from(status.as_u16())));
                    if status.is_client_error() || status.is_server_error() {
                        r.attributes.push(KeyValue::new("error.type", status.as_str().to_owned()));
                    }
                }
                Err(_) => r.attributes.push(KeyValue::new("error.type", otel_core::error_type_name::<E>())),
            }
            r.done = true;
        }
        Poll::Ready(result)
    }
}

/// One request's measurement, recorded on drop.
pub struct ClientRecording {
    duration: Histogram<f64>,
    attributes: Vec<KeyValue>,
    started: Instant,
    done: bool,
}

impl fmt::Debug for ClientRecording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRecording").finish_non_exhaustive()
    }
}

impl Drop for ClientRecording {
    fn drop(&mut self) {
        if !self.done {
            self.attributes.push(KeyValue::new("error.type", "cancelled"));
        }
        self.duration.record(self.started.elapsed().as_secs_f64(), &self.attributes);
    }
}
