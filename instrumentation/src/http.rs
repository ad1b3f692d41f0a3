//! A tower layer for HTTP servers recording the OTel HTTP semantic-convention metrics:
//! `http.server.request.duration` (s), `http.server.active_requests`,
//! `http.server.request.body.size` and `http.server.response.body.size` (By), with
//! `http.request.method`, `http.route`, `http.response.status_code`, `url.scheme` and
//! `error.type`.
//!
//! The route is the matched template (axum's `MatchedPath` with feature `axum`, or your own
//! function), never the raw path: a request no route matched gets no `http.route`, so raw URLs
//! cannot explode the series count. Durations end when the response body has been sent in
//! full, so streaming responses are timed correctly; a request whose response future or body
//! is dropped early is recorded with `error.type="cancelled"`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Buf as _;
use http::{Method, Request, Response};
use http_body::{Body, Frame, SizeHint};
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use opentelemetry::metrics::{BoundHistogram, BoundUpDownCounter, Histogram, Meter, UpDownCounter};
use opentelemetry::KeyValue;
use tower_layer::Layer;
use tower_service::Service;

use crate::semconv;

/// Finds a request's route template.
pub type RouteFn = Arc<dyn Fn(&http::request::Parts) -> Option<String> + Send + Sync>;

struct Instruments {
    duration: Histogram<f64>,
    active: UpDownCounter<i64>,
    request_size: Histogram<u64>,
    response_size: Histogram<u64>,
    /// In-flight counters bound per (method, scheme) on first use: then an atomic add.
    active_bound: [[OnceLock<BoundUpDownCounter<i64>>; 2]; METHODS.len()],
    /// Histograms bound per finished-request attribute set, so each request's attributes
    /// are resolved once, not once per histogram. Bounded: past the limit, requests record
    /// unbound.
    bound: RwLock<HashMap<SeriesKey, Arc<BoundSeries>>>,
}

/// The attributes of a finished request.
#[derive(Clone, PartialEq, Eq, Hash)]
struct SeriesKey {
    method: &'static str,
    scheme: &'static str,
    route: Option<String>,
    status: Option<u16>,
    error_type: Option<String>,
}

struct BoundSeries {
    duration: BoundHistogram<f64>,
    request_size: BoundHistogram<u64>,
    response_size: BoundHistogram<u64>,
}

/// Attribute sets kept bound per layer.
const MAX_BOUND_SERIES: usize = 1024;

impl Instruments {
    fn active(&self, method: &'static str, scheme: &'static str, delta: i64) {
        let m = METHODS.iter().position(|known| *known == method).unwrap_or(METHODS.len() - 1);
        let s = usize::from(scheme == "https");
        self.active_bound[m][s]
            .get_or_init(|| self.active.bind(&[KeyValue::new("http.request.method", method), KeyValue::new("url.scheme", scheme)]))
            .add(delta);
    }

    fn series(&self, key: &SeriesKey) -> Option<Arc<BoundSeries>> {
        if let Some(series) = self.bound.read().ok()?.get(key) {
            return Some(series.clone());
        }
        let mut bound = self.bound.write().ok()?;
        if bound.len() >= MAX_BOUND_SERIES {
            return None;
        }
        let attributes = key.attributes();
        let series = Arc::new(BoundSeries {
            duration: self.duration.bind(&attributes),
            request_size: self.request_size.bind(&attributes),
            response_size: self.response_size.bind(&attributes),
        });
        bound.insert(key.clone(), series.clone());
        Some(series)
    }
}

impl SeriesKey {
    fn attributes(&self) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(5);
        attributes.push(KeyValue::new("http.request.method", self.method));
        attributes.push(KeyValue::new("url.scheme", self.scheme));
        if let Some(route) = &self.route {
            attributes.push(KeyValue::new("http.route", route.clone()));
        }
        if let Some(status) = self.status {
            attributes.push(KeyValue::new("http.response.status_code", i64::from(status)));
        }
        if let Some(e) = &self.error_type {
            attributes.push(KeyValue::new("error.type", e.clone()));
        }
        attributes
    }
}

/// The layer. Clone it freely: instruments are shared.
#[derive(Clone)]
pub struct HttpServerLayer {
    instruments: Arc<Instruments>,
    route: RouteFn,
    excluded: Arc<[String]>,
}

impl fmt::Debug for HttpServerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServerLayer").field("excluded", &self.excluded).finish_non_exhaustive()
    }
}

impl HttpServerLayer {
    /// Records through `meter`; excludes `/metrics`; takes routes from axum's `MatchedPath`
    /// (feature `axum`).
    pub fn new(meter: &Meter) -> Self {
        let size_buckets = otel_core::buckets::for_unit("By").unwrap_or_default();
        HttpServerLayer {
            instruments: Arc::new(Instruments {
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
                request_size: meter
                    .u64_histogram("http.server.request.body.size")
                    .with_unit("By")
                    .with_description("Size of HTTP server request bodies")
                    .with_boundaries(size_buckets.clone())
                    .build(),
                response_size: meter
                    .u64_histogram("http.server.response.body.size")
                    .with_unit("By")
                    .with_description("Size of HTTP server response bodies")
                    .with_boundaries(size_buckets)
                    .build(),
                active_bound: Default::default(),
                bound: RwLock::default(),
            }),
            route: default_route(),
            excluded: Arc::from(vec!["/metrics".to_owned()]),
        }
    }

    /// Paths not recorded at all (default: `/metrics`).
    pub fn exclude_paths<I: IntoIterator<Item = S>, S: Into<String>>(mut self, paths: I) -> Self {
        self.excluded = paths.into_iter().map(Into::into).collect::<Vec<_>>().into();
        self
    }

    /// How to find the route template (for servers other than axum).
    pub fn route_from(mut self, route: impl Fn(&http::request::Parts) -> Option<String> + Send + Sync + 'static) -> Self {
        self.route = Arc::new(route);
        self
    }
}

#[cfg(feature = "axum")]
fn default_route() -> RouteFn {
    Arc::new(|parts| parts.extensions.get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_owned()))
}

#[cfg(not(feature = "axum"))]
fn default_route() -> RouteFn {
    Arc::new(|_| None)
}

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpServerService { inner, layer: self.clone() }
    }
}

/// The service the layer wraps around yours.
#[derive(Clone)]
pub struct HttpServerService<S> {
    inner: S,
    layer: HttpServerLayer,
}

impl<S> fmt::Debug for HttpServerService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServerService").finish_non_exhaustive()
    }
}

/// The method values of the semantic conventions; anything else is `_OTHER` (last).
const METHODS: [&str; 10] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE", "_OTHER"];

/// The semantic-convention method value: known methods as-is, anything else `_OTHER`.
pub fn method_attribute(method: &Method) -> &'static str {
    METHODS[..METHODS.len() - 1].iter().find(|known| method.as_str() == **known).copied().unwrap_or("_OTHER")
}

impl<S, B, R> Service<Request<B>> for HttpServerService<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    B: Body,
    R: Body,
{
    type Response = Response<MeteredBody<R>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if self.layer.excluded.iter().any(|p| p == request.uri().path()) {
            return ResponseFuture { inner: self.inner.call(request), recording: None };
        }
        let (parts, body) = request.into_parts();
        let method = method_attribute(&parts.method);
        let scheme = if parts.uri.scheme_str() == Some("https") { "https" } else { "http" };
        let route = (self.layer.route)(&parts);
        // Requests without a body record no request size.
        let request_size = body
            .size_hint()
            .exact()
            .or_else(|| parts.headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()));
        let request_size = request_size.filter(|size| *size > 0);
        let recording = Recording::start(self.layer.instruments.clone(), method, scheme, route, request_size);
        ResponseFuture { inner: self.inner.call(Request::from_parts(parts, body)), recording: Some(recording) }
    }
}

pin_project_lite::pin_project! {
    /// Waits for the response, then hands the recording to its body.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        recording: Option<Recording>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
    R: Body,
{
    type Output = Result<Response<MeteredBody<R>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        let mut recording = this.recording.take();
        Poll::Ready(match result {
            Ok(response) => {
                let status = response.status();
                if let Some(r) = recording.as_mut() {
                    r.status = Some(status.as_u16());
                    if status.is_server_error() {
                        r.error_type = Some(status.as_str().to_owned());
                    }
                }
                Ok(response.map(|body| {
                    // A body that is already complete (empty) may never be polled.
                    if body.is_end_stream() {
                        if let Some(r) = recording.as_mut() {
                            r.finish(0);
                        }
                        recording = None;
                    }
                    MeteredBody { inner: body, recording, sent: 0 }
                }))
            }
            Err(e) => {
                if let Some(r) = recording.as_mut() {
                    r.error_type = Some(otel_core::error_type_name::<E>().to_owned());
                }
                Err(e)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// The response body, counted as it is sent; the request is recorded when it ends.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        recording: Option<Recording>,
        sent: u64,
    }
}

impl<B> fmt::Debug for MeteredBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredBody").field("sent", &self.sent).finish_non_exhaustive()
    }
}

impl<B: Body> Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = std::task::ready!(this.inner.as_mut().poll_frame(cx));
        match &frame {
            Some(Ok(f)) => {
                if let Some(data) = f.data_ref() {
                    *this.sent += data.remaining() as u64;
                }
            }
            Some(Err(_)) => {
                if let Some(r) = this.recording.as_mut() {
                    r.error_type = Some("response_body".to_owned());
                }
            }
            None => {}
        }
        // Servers stop polling once the body says it has ended, so the end is noticed here too.
        let ended = frame.is_none() || matches!(frame, Some(Err(_))) || this.inner.is_end_stream();
        if ended {
            if let Some(mut r) = this.recording.take() {
                r.finish(*this.sent);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// One request's measurements; recorded when dropped (normal end, early drop, cancellation).
pub struct Recording {
    instruments: Arc<Instruments>,
    started: Instant,
    method: &'static str,
    scheme: &'static str,
    route: Option<String>,
    status: Option<u16>,
    error_type: Option<String>,
    request_size: Option<u64>,
    response_size: Option<u64>,
    finished: bool,
}

impl fmt::Debug for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recording").field("method", &self.method).field("route", &self.route).finish_non_exhaustive()
    }
}

impl Recording {
    fn start(
        instruments: Arc<Instruments>,
        method: &'static str,
        scheme: &'static str,
        route: Option<String>,
        request_size: Option<u64>,
    ) -> Self {
        instruments.active(method, scheme, 1);
        Recording {
            instruments,
            started: Instant::now(),
            method,
            scheme,
            route,
            status: None,
            error_type: None,
            request_size,
            response_size: None,
            finished: false,
        }
    }
}

impl Recording {
    /// The response was sent in full: `sent` body bytes.
    fn finish(&mut self, sent: u64) {
        self.response_size = Some(sent);
        self.finished = true;
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let i = &self.instruments;
        i.active(self.method, self.scheme, -1);
        let error_type = match self.error_type.take() {
            Some(e) => Some(e),
            None if !self.finished => Some("cancelled".to_owned()),
            None => None,
        };
        let key = SeriesKey { method: self.method, scheme: self.scheme, route: self.route.take(), status: self.status, error_type };
        let seconds = self.started.elapsed().as_secs_f64();
        match i.series(&key) {
            Some(series) => {
                series.duration.record(seconds);
                if let Some(size) = self.request_size {
                    series.request_size.record(size);
                }
                if let Some(size) = self.response_size {
                    series.response_size.record(size);
                }
            }
            None => {
                let attributes = key.attributes();
                i.duration.record(seconds, &attributes);
                if let Some(size) = self.request_size {
                    i.request_size.record(size, &attributes);
                }
                if let Some(size) = self.response_size {
                    i.response_size.record(size, &attributes);
                }
            }
        }
    }
}
