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
use std::sync::{Arc, OnceLock};

use http::header::HeaderMap;
use http::{Method, StatusCode};
use opentelemetry::metrics::{BoundHistogram, BoundUpDownCounter, Histogram, Meter, UpDownCounter};
use opentelemetry::KeyValue;

use crate::metered::{AtHead, Bindings, Classifier, End, ErrorType, MeteredLayer};
use crate::semconv;

/// Finds a request's route template.
type RouteFn = Arc<dyn Fn(&http::request::Parts) -> Option<String> + Send + Sync>;

/// Records HTTP server requests (a tower layer for axum, hyper, tonic).
pub type HttpServerLayer = MeteredLayer<HttpServer>;

/// The HTTP server side of a [`MeteredLayer`]: semantic-convention attributes, route templates,
/// body sizes, active requests.
#[derive(Clone)]
pub struct HttpServer {
    instruments: Arc<Instruments>,
    route: RouteFn,
    excluded: Arc<[String]>,
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer").field("excluded", &self.excluded).finish_non_exhaustive()
    }
}

struct Instruments {
    duration: Histogram<f64>,
    active: UpDownCounter<i64>,
    request_size: Histogram<u64>,
    response_size: Histogram<u64>,
    /// In-flight counters bound per (method, scheme) on first use: then an atomic add.
    active_bound: [[OnceLock<BoundUpDownCounter<i64>>; 2]; METHODS.len()],
    /// Histograms bound per finished-request attribute set, so each request's attributes are
    /// resolved once, not once per histogram.
    bound: Bindings<SeriesKey, BoundSeries>,
}

/// The attributes of a finished request.
#[derive(Clone, PartialEq, Eq, Hash)]
struct SeriesKey {
    method: &'static str,
    scheme: &'static str,
    route: Option<String>,
    status: Option<u16>,
    error_type: Option<ErrorType>,
}

struct BoundSeries {
    duration: BoundHistogram<f64>,
    request_size: BoundHistogram<u64>,
    response_size: BoundHistogram<u64>,
}

impl Instruments {
    fn active(&self, method: &'static str, scheme: &'static str, delta: i64) {
        let m = METHODS.iter().position(|known| *known == method).unwrap_or(METHODS.len() - 1);
        let s = usize::from(scheme == "https");
        self.active_bound[m][s]
            .get_or_init(|| {
                self.active.bind(&[KeyValue::new(semconv::HTTP_REQUEST_METHOD, method), KeyValue::new(semconv::URL_SCHEME, scheme)])
            })
            .add(delta);
    }
}

impl SeriesKey {
    fn attributes(&self) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(5);
        attributes.push(KeyValue::new(semconv::HTTP_REQUEST_METHOD, self.method));
        attributes.push(KeyValue::new(semconv::URL_SCHEME, self.scheme));
        if let Some(route) = &self.route {
            attributes.push(KeyValue::new(semconv::HTTP_ROUTE, route.clone()));
        }
        if let Some(status) = self.status {
            attributes.push(KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, i64::from(status)));
        }
        if let Some(e) = self.error_type {
            attributes.push(KeyValue::new(semconv::ERROR_TYPE, e.value()));
        }
        attributes
    }
}

impl MeteredLayer<HttpServer> {
    /// Records through `meter`; excludes `/metrics`; takes routes from axum's `MatchedPath`
    /// (feature `axum`).
    pub fn new(meter: &Meter) -> Self {
        let size_buckets = otel_core::buckets::for_unit("By").unwrap_or_default();
        MeteredLayer::with_classifier(HttpServer {
            instruments: Arc::new(Instruments {
                duration: meter
                    .f64_histogram(semconv::HTTP_SERVER_REQUEST_DURATION)
                    .with_unit("s")
                    .with_description("Duration of HTTP server requests")
                    .with_boundaries(otel_core::buckets::SECONDS.to_vec())
                    .build(),
                active: meter
                    .i64_up_down_counter(semconv::HTTP_SERVER_ACTIVE_REQUESTS)
                    .with_unit("{request}")
                    .with_description("Number of active HTTP server requests")
                    .build(),
                request_size: meter
                    .u64_histogram(semconv::HTTP_SERVER_REQUEST_BODY_SIZE)
                    .with_unit("By")
                    .with_description("Size of HTTP server request bodies")
                    .with_boundaries(size_buckets.clone())
                    .build(),
                response_size: meter
                    .u64_histogram(semconv::HTTP_SERVER_RESPONSE_BODY_SIZE)
                    .with_unit("By")
                    .with_description("Size of HTTP server response bodies")
                    .with_boundaries(size_buckets)
                    .build(),
                active_bound: Default::default(),
                bound: Bindings::default(),
            }),
            route: default_route(),
            excluded: Arc::from(vec!["/metrics".to_owned()]),
        })
    }

    /// Paths not recorded at all (default: `/metrics`).
    pub fn exclude_paths<I: IntoIterator<Item = S>, S: Into<String>>(mut self, paths: I) -> Self {
        self.classifier_mut().excluded = paths.into_iter().map(Into::into).collect::<Vec<_>>().into();
        self
    }

    /// How to find the route template (for servers other than axum).
    pub fn route_from(mut self, route: impl Fn(&http::request::Parts) -> Option<String> + Send + Sync + 'static) -> Self {
        self.classifier_mut().route = Arc::new(route);
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

/// The method values of the semantic conventions; anything else is `_OTHER` (last).
const METHODS: [&str; 10] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE", "_OTHER"];

/// The semantic-convention method value: known methods as-is, anything else `_OTHER`.
pub fn method_attribute(method: &Method) -> &'static str {
    METHODS[..METHODS.len() - 1].iter().find(|known| method.as_str() == **known).copied().unwrap_or("_OTHER")
}

/// One request in flight (opaque).
#[derive(Debug)]
pub struct ServerCall {
    method: &'static str,
    scheme: &'static str,
    route: Option<String>,
    status: Option<u16>,
    error_type: Option<ErrorType>,
    request_size: Option<u64>,
    sent: u64,
}

impl Classifier for HttpServer {
    type Call = ServerCall;

    fn start(&self, parts: &http::request::Parts, body_size: Option<u64>) -> Option<ServerCall> {
        if self.excluded.iter().any(|p| p == parts.uri.path()) {
            return None;
        }
        let method = method_attribute(&parts.method);
        let scheme = if parts.uri.scheme_str() == Some("https") { "https" } else { "http" };
        self.instruments.active(method, scheme, 1);
        Some(ServerCall { method, scheme, route: (self.route)(parts), status: None, error_type: None, request_size: body_size, sent: 0 })
    }

    fn head(&self, call: &mut ServerCall, status: StatusCode, _headers: &HeaderMap) -> AtHead {
        call.status = Some(status.as_u16());
        if status.is_server_error() {
            call.error_type = Some(ErrorType::Status(status.as_u16()));
        }
        AtHead::WatchBody
    }

    fn failed(&self, call: &mut ServerCall, error_type: &'static str) {
        call.error_type = Some(ErrorType::Named(error_type));
    }

    fn data(&self, call: &mut ServerCall, bytes: u64) {
        call.sent += bytes;
    }

    fn record(&self, call: ServerCall, seconds: f64, end: End) {
        let i = &self.instruments;
        i.active(call.method, call.scheme, -1);
        let error_type = match (call.error_type, end) {
            (Some(e), _) => Some(e),
            (None, End::Cancelled) => Some(ErrorType::Named("cancelled")),
            (None, _) => None,
        };
        // The response size is known when the response ended.
        let response_size = (end == End::Complete).then_some(call.sent);
        let key = SeriesKey { method: call.method, scheme: call.scheme, route: call.route, status: call.status, error_type };
        match i.bound.get(&key, || {
            let attributes = key.attributes();
            let series = BoundSeries {
                duration: i.duration.bind(&attributes),
                request_size: i.request_size.bind(&attributes),
                response_size: i.response_size.bind(&attributes),
            };
            (key.clone(), series)
        }) {
            Some(series) => {
                series.duration.record(seconds);
                if let Some(size) = call.request_size {
                    series.request_size.record(size);
                }
                if let Some(size) = response_size {
                    series.response_size.record(size);
                }
            }
            None => {
                let attributes = key.attributes();
                i.duration.record(seconds, &attributes);
                if let Some(size) = call.request_size {
                    i.request_size.record(size, &attributes);
                }
                if let Some(size) = response_size {
                    i.response_size.record(size, &attributes);
                }
            }
        }
    }
}
