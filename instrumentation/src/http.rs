//! A tower layer for HTTP servers recording the OTel HTTP semantic-convention metrics:
//! `http.server.request.duration` (s), `http.server.active_requests`,
//! `http.server.request.body.size` and `http.server.response.body.size` (By, for bodies that
//! are there), with
//! `http.request.method`, `http.route`, `http.response.status_code`, `url.scheme` and
//! `error.type`.
//!
//! The route is the matched template (axum's `MatchedPath` with feature `axum`, or your own
//! function), never the raw path: a request no route matched gets no `http.route`, so raw URLs
//! cannot explode the series count. Durations end when the response body has been sent in
//! full, so streaming responses are timed correctly; a request whose response future or body
//! is dropped early is recorded with `error.type="cancelled"`.

use std::fmt;
use std::sync::Arc;

use http::header::HeaderMap;
use http::{Method, StatusCode};
use opentelemetry::metrics::{BoundCounter, BoundHistogram, BoundUpDownCounter, Counter, Histogram, Meter, UpDownCounter};
use opentelemetry::{Key, KeyValue};

use crate::metered::{AtHead, Bindings, Classifier, End, ErrorType, MeteredLayer};
use crate::semconv;

/// Finds a request's route template.
type RouteFn = Arc<dyn Fn(&http::request::Parts) -> Option<String> + Send + Sync>;

/// Records HTTP server requests (a tower layer for axum, hyper, tonic).
pub type HttpServerLayer = MeteredLayer<HttpServer>;

/// The metric names and attribute keys an [`HttpServerLayer`] records under. The default is the
/// semantic conventions'; a system with its own names sets them here, for example
///
/// ```
/// use otel_instrumentation::http::HttpServerNames;
///
/// // taskflows_api_request_duration_seconds{method,endpoint,status_code},
/// // taskflows_api_request_total{...}, taskflows_api_active_requests{method,endpoint}
/// let names = HttpServerNames::default()
///     .namespace("taskflows")
///     .duration("api.request.duration")
///     .requests(Some("api.request"))
///     .active("api.active_requests")
///     .body_sizes(false)
///     .keys("method", "endpoint", "status_code")
///     .scheme_key(None)
///     .error_type_key(None)
///     .active_by_route(true);
/// # let _ = names;
/// ```
#[derive(Debug, Clone)]
pub struct HttpServerNames {
    namespace: Option<String>,
    duration: String,
    active: String,
    requests: Option<String>,
    body_sizes: bool,
    method: String,
    route: String,
    status: String,
    scheme: Option<String>,
    error_type: Option<String>,
    active_by_route: bool,
}

impl Default for HttpServerNames {
    fn default() -> Self {
        HttpServerNames {
            namespace: None,
            duration: semconv::HTTP_SERVER_REQUEST_DURATION.into(),
            active: semconv::HTTP_SERVER_ACTIVE_REQUESTS.into(),
            requests: None,
            body_sizes: true,
            method: semconv::HTTP_REQUEST_METHOD.into(),
            route: semconv::HTTP_ROUTE.into(),
            status: semconv::HTTP_RESPONSE_STATUS_CODE.into(),
            scheme: Some(semconv::URL_SCHEME.into()),
            error_type: Some(semconv::ERROR_TYPE.into()),
            active_by_route: false,
        }
    }
}

impl HttpServerNames {
    /// Prefixes every metric name (`taskflows` and `api.request.duration` make
    /// `taskflows.api.request.duration`).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_owned());
        self
    }

    /// The duration histogram, in seconds (default `http.server.request.duration`).
    pub fn duration(mut self, name: &str) -> Self {
        self.duration = name.to_owned();
        self
    }

    /// The in-flight up-down counter (default `http.server.active_requests`).
    pub fn active(mut self, name: &str) -> Self {
        self.active = name.to_owned();
        self
    }

    /// A request counter with the duration's attributes (default: none, the histogram's count
    /// is the same number).
    pub fn requests(mut self, name: Option<&str>) -> Self {
        self.requests = name.map(str::to_owned);
        self
    }

    /// Whether to record the request and response body-size histograms (default yes). Either
    /// is recorded only for a body that is there: a GET-only route exports no request-size
    /// series, an empty response no response-size one.
    pub fn body_sizes(mut self, on: bool) -> Self {
        self.body_sizes = on;
        self
    }

    /// The attribute keys of the method, the route template and the status code (default
    /// `http.request.method`, `http.route`, `http.response.status_code`).
    pub fn keys(mut self, method: &str, route: &str, status: &str) -> Self {
        (self.method, self.route, self.status) = (method.to_owned(), route.to_owned(), status.to_owned());
        self
    }

    /// The attribute key of the scheme (default `url.scheme`; `None` leaves it out).
    pub fn scheme_key(mut self, key: Option<&str>) -> Self {
        self.scheme = key.map(str::to_owned);
        self
    }

    /// The attribute key of the error type (default `error.type`; `None` leaves it out).
    pub fn error_type_key(mut self, key: Option<&str>) -> Self {
        self.error_type = key.map(str::to_owned);
        self
    }

    /// Whether in-flight requests are counted per route too (default no, as the conventions have it).
    pub fn active_by_route(mut self, on: bool) -> Self {
        self.active_by_route = on;
        self
    }

    /// The metrics the layer records under these names, as a catalog would declare them (for
    /// references, rules and dashboards; the layer creates its instruments itself).
    pub fn definitions(&self) -> Vec<otel_core::MetricDef> {
        use otel_core::MetricDef;
        let mut keys: Vec<&str> = vec![&self.method];
        keys.extend(self.scheme.as_deref());
        let active_keys = if self.active_by_route { [keys.clone(), vec![&self.route]].concat() } else { keys.clone() };
        keys.extend([self.route.as_str(), self.status.as_str()]);
        keys.extend(self.error_type.as_deref());
        let with_keys = |mut def: MetricDef, keys: &[&str]| {
            def.labels = keys.iter().map(|k| (*k).to_owned()).collect();
            def
        };
        let mut defs = vec![
            with_keys(
                MetricDef::histogram(&self.qualified(&self.duration))
                    .unit("s")
                    .description("Duration of HTTP server requests")
                    .buckets(&otel_core::buckets::SECONDS),
                &keys,
            ),
            with_keys(
                MetricDef::up_down_counter(&self.qualified(&self.active))
                    .unit("{request}")
                    .description("Number of active HTTP server requests"),
                &active_keys,
            ),
        ];
        if let Some(requests) = &self.requests {
            defs.push(with_keys(MetricDef::counter(&self.qualified(requests)).description("HTTP server requests"), &keys));
        }
        if self.body_sizes {
            for (name, description) in [
                (semconv::HTTP_SERVER_REQUEST_BODY_SIZE, "Size of HTTP server request bodies"),
                (semconv::HTTP_SERVER_RESPONSE_BODY_SIZE, "Size of HTTP server response bodies"),
            ] {
                let buckets = otel_core::buckets::for_unit("By").unwrap_or_default();
                defs.push(with_keys(
                    MetricDef::histogram(&self.qualified(name)).unit("By").description(description).buckets(&buckets),
                    &keys,
                ));
            }
        }
        defs
    }

    fn qualified(&self, name: &str) -> String {
        crate::qualified(self.namespace.as_deref(), name)
    }
}

/// The HTTP server side of a [`MeteredLayer`]: semantic-convention attributes (or those of an
/// [`HttpServerNames`]), route templates, body sizes, active requests.
#[derive(Clone)]
pub struct HttpServer {
    instruments: Arc<Instruments>,
    route: RouteFn,
    excluded: Arc<[String]>,
    /// The scheme of requests whose URI names none (HTTP/1 requests name none).
    scheme: &'static str,
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer").field("excluded", &self.excluded).finish_non_exhaustive()
    }
}

/// Attribute keys, made once.
struct Keys {
    method: Key,
    route: Key,
    status: Key,
    scheme: Option<Key>,
    error_type: Option<Key>,
}

fn key(name: &str) -> Key {
    Key::from(Arc::<str>::from(name))
}

struct Instruments {
    keys: Keys,
    active_by_route: bool,
    duration: Histogram<f64>,
    active: UpDownCounter<i64>,
    requests: Option<Counter<u64>>,
    sizes: Option<(Histogram<u64>, Histogram<u64>)>,
    /// In-flight counters bound per (method, scheme, route when counted by route) on first use:
    /// then an atomic add.
    active_bound: Bindings<ActiveKey, BoundUpDownCounter<i64>>,
    /// Instruments bound per finished-request attribute set, so each request's attributes are
    /// resolved once, not once per instrument.
    bound: Bindings<SeriesKey, BoundSeries>,
}

/// The attributes of a request in flight.
#[derive(Clone, PartialEq, Eq, Hash)]
struct ActiveKey {
    method: &'static str,
    scheme: &'static str,
    route: Option<String>,
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
    requests: Option<BoundCounter<u64>>,
    /// Bound on the first body of each direction: a series that never carries a body (a GET's
    /// request, a 204's response) exports no empty size histogram.
    request_size: std::sync::OnceLock<BoundHistogram<u64>>,
    response_size: std::sync::OnceLock<BoundHistogram<u64>>,
}

/// Where a request in flight is counted.
#[derive(Debug)]
enum InFlight {
    Bound(Arc<BoundUpDownCounter<i64>>),
    /// Past the bindings' bound: counted with its attributes.
    Unbound(Vec<KeyValue>),
}

impl Instruments {
    fn attributes(&self, method: &'static str, scheme: &'static str, route: Option<&String>) -> Vec<KeyValue> {
        let k = &self.keys;
        let mut attributes = Vec::with_capacity(5);
        attributes.push(KeyValue::new(k.method.clone(), method));
        if let Some(key) = &k.scheme {
            attributes.push(KeyValue::new(key.clone(), scheme));
        }
        if let Some(route) = route {
            attributes.push(KeyValue::new(k.route.clone(), route.clone()));
        }
        attributes
    }

    fn series_attributes(&self, s: &SeriesKey) -> Vec<KeyValue> {
        let mut attributes = self.attributes(s.method, s.scheme, s.route.as_ref());
        if let Some(status) = s.status {
            attributes.push(KeyValue::new(self.keys.status.clone(), i64::from(status)));
        }
        if let (Some(key), Some(e)) = (&self.keys.error_type, s.error_type) {
            attributes.push(KeyValue::new(key.clone(), e.value()));
        }
        attributes
    }

    fn start(&self, method: &'static str, scheme: &'static str, route: Option<&String>) -> InFlight {
        let key = ActiveKey { method, scheme, route: route.filter(|_| self.active_by_route).cloned() };
        let in_flight =
            match self.active_bound.get(&key, || (key.clone(), self.active.bind(&self.attributes(method, scheme, key.route.as_ref())))) {
                Some(bound) => InFlight::Bound(bound),
                None => InFlight::Unbound(self.attributes(method, scheme, key.route.as_ref())),
            };
        self.end(&in_flight, 1);
        in_flight
    }

    fn end(&self, in_flight: &InFlight, delta: i64) {
        match in_flight {
            InFlight::Bound(bound) => bound.add(delta),
            InFlight::Unbound(attributes) => self.active.add(delta, attributes),
        }
    }
}

impl MeteredLayer<HttpServer> {
    /// Records the semantic conventions' metrics through `meter`; excludes `/metrics`; takes
    /// routes from axum's `MatchedPath` (feature `axum`).
    pub fn new(meter: &Meter) -> Self {
        Self::with_names(meter, HttpServerNames::default())
    }

    /// Records through `meter` under `names`; otherwise like [`new`](Self::new).
    pub fn with_names(meter: &Meter, names: HttpServerNames) -> Self {
        let sizes = names.body_sizes.then(|| {
            let buckets = otel_core::buckets::for_unit("By").unwrap_or_default();
            let size = |name: &str, description: &'static str| {
                meter
                    .u64_histogram(names.qualified(name))
                    .with_unit("By")
                    .with_description(description)
                    .with_boundaries(buckets.clone())
                    .build()
            };
            (
                size(semconv::HTTP_SERVER_REQUEST_BODY_SIZE, "Size of HTTP server request bodies"),
                size(semconv::HTTP_SERVER_RESPONSE_BODY_SIZE, "Size of HTTP server response bodies"),
            )
        });
        MeteredLayer::with_classifier(HttpServer {
            instruments: Arc::new(Instruments {
                keys: Keys {
                    method: key(&names.method),
                    route: key(&names.route),
                    status: key(&names.status),
                    scheme: names.scheme.as_deref().map(key),
                    error_type: names.error_type.as_deref().map(key),
                },
                active_by_route: names.active_by_route,
                duration: meter
                    .f64_histogram(names.qualified(&names.duration))
                    .with_unit("s")
                    .with_description("Duration of HTTP server requests")
                    .with_boundaries(otel_core::buckets::SECONDS.to_vec())
                    .build(),
                active: meter
                    .i64_up_down_counter(names.qualified(&names.active))
                    .with_unit("{request}")
                    .with_description("Number of active HTTP server requests")
                    .build(),
                requests: names
                    .requests
                    .as_deref()
                    .map(|name| meter.u64_counter(names.qualified(name)).with_description("HTTP server requests").build()),
                sizes,
                active_bound: Bindings::default(),
                bound: Bindings::default(),
            }),
            route: default_route(),
            excluded: Arc::from(vec!["/metrics".to_owned()]),
            scheme: "http",
        })
    }

    /// The server listens with TLS: `url.scheme` is `https`. HTTP/1 requests carry no scheme
    /// (HTTP/2 ones do, and theirs wins), so the layer cannot tell by itself.
    pub fn served_over_tls(mut self, on: bool) -> Self {
        self.classifier_mut().scheme = if on { "https" } else { "http" };
        self
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
    in_flight: InFlight,
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
        let scheme = match parts.uri.scheme_str() {
            Some("https") => "https",
            Some("http") => "http",
            _ => self.scheme,
        };
        let route = (self.route)(parts);
        let in_flight = self.instruments.start(method, scheme, route.as_ref());
        Some(ServerCall { in_flight, method, scheme, route, status: None, error_type: None, request_size: body_size, sent: 0 })
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
        i.end(&call.in_flight, -1);
        let error_type = match (call.error_type, end) {
            (Some(e), _) => Some(e),
            (None, End::Cancelled) => Some(ErrorType::Named("cancelled")),
            (None, _) => None,
        };
        // Sizes are recorded for bodies that are there; the response's is known when it ended.
        let request_size = call.request_size.filter(|n| *n > 0);
        let response_size = (end == End::Complete).then_some(call.sent).filter(|n| *n > 0);
        let key = SeriesKey { method: call.method, scheme: call.scheme, route: call.route, status: call.status, error_type };
        let bound = i.bound.get(&key, || {
            let attributes = i.series_attributes(&key);
            let series = BoundSeries {
                duration: i.duration.bind(&attributes),
                requests: i.requests.as_ref().map(|c| c.bind(&attributes)),
                request_size: std::sync::OnceLock::new(),
                response_size: std::sync::OnceLock::new(),
            };
            (key.clone(), series)
        });
        match bound {
            Some(series) => {
                series.duration.record(seconds);
                if let Some(requests) = &series.requests {
                    requests.add(1);
                }
                if let Some((request, response)) = &i.sizes {
                    if let Some(size) = request_size {
                        series.request_size.get_or_init(|| request.bind(&i.series_attributes(&key))).record(size);
                    }
                    if let Some(size) = response_size {
                        series.response_size.get_or_init(|| response.bind(&i.series_attributes(&key))).record(size);
                    }
                }
            }
            None => {
                let attributes = i.series_attributes(&key);
                i.duration.record(seconds, &attributes);
                if let Some(requests) = &i.requests {
                    requests.add(1, &attributes);
                }
                if let Some((request, response)) = &i.sizes {
                    if let Some(size) = request_size {
                        request.record(size, &attributes);
                    }
                    if let Some(size) = response_size {
                        response.record(size, &attributes);
                    }
                }
            }
        }
    }
}
