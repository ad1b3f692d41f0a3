//! A tower layer for HTTP clients (hyper-util's client, or any tower HTTP client) recording
//! `http.client.request.duration` (s) with `http.request.method`, `server.address`,
//! `server.port`, `url.template`, `http.response.status_code` and `error.type`.
//!
//! The URL template comes from a [`UrlTemplate`] request extension set by the caller (for
//! example `/tasks/poll/batch/{taskType}`); a request without one gets no `url.template`, so raw
//! paths never become label values. The duration ends when the response head arrives.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use opentelemetry::metrics::{BoundHistogram, Histogram, Meter};
use opentelemetry::KeyValue;

use crate::http::method_attribute;
use crate::metered::{AtHead, Bindings, Classifier, End, ErrorType, MeteredLayer};
use crate::semconv;

/// The low-cardinality template of a request's URL, set as a request extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate(pub &'static str);

/// Records HTTP client requests (a tower layer for hyper-util's client or any tower HTTP
/// client).
pub type HttpClientLayer = MeteredLayer<HttpClient>;

/// The HTTP client side of a [`MeteredLayer`]: measured up to the response head.
#[derive(Clone)]
pub struct HttpClient {
    duration: Histogram<f64>,
    /// Per server address: a histogram bound per remaining attribute set, so a request to a
    /// known host allocates nothing.
    hosts: Arc<Bindings<Box<str>, HostSeries>>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct HostSeries {
    by_request: Bindings<RequestKey, BoundHistogram<f64>>,
}

/// The attributes of a finished request besides its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RequestKey {
    method: &'static str,
    port: Option<u16>,
    template: Option<&'static str>,
    status: Option<u16>,
    error_type: Option<ErrorType>,
}

impl RequestKey {
    fn attributes(&self, host: Option<&str>) -> Vec<KeyValue> {
        let mut attributes = vec![KeyValue::new(semconv::HTTP_REQUEST_METHOD, self.method)];
        if let Some(host) = host {
            attributes.push(KeyValue::new(semconv::SERVER_ADDRESS, host.to_owned()));
        }
        if let Some(port) = self.port {
            attributes.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
        }
        if let Some(template) = self.template {
            attributes.push(KeyValue::new(semconv::URL_TEMPLATE, template));
        }
        if let Some(status) = self.status {
            attributes.push(KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, i64::from(status)));
        }
        if let Some(error) = self.error_type {
            attributes.push(KeyValue::new(semconv::ERROR_TYPE, error.value()));
        }
        attributes
    }
}

impl MeteredLayer<HttpClient> {
    /// The metric the layer records, as a catalog would declare it (for references, rules and
    /// dashboards).
    pub fn definitions() -> Vec<otel_core::MetricDef> {
        vec![otel_core::MetricDef::histogram(semconv::HTTP_CLIENT_REQUEST_DURATION)
            .unit("s")
            .description("Duration of HTTP client requests")
            .labels([
                semconv::HTTP_REQUEST_METHOD,
                semconv::SERVER_ADDRESS,
                semconv::SERVER_PORT,
                semconv::URL_TEMPLATE,
                semconv::HTTP_RESPONSE_STATUS_CODE,
                semconv::ERROR_TYPE,
            ])
            .buckets(&otel_core::buckets::SECONDS)]
    }

    /// Records through `meter`.
    pub fn new(meter: &Meter) -> Self {
        let duration = meter
            .f64_histogram(semconv::HTTP_CLIENT_REQUEST_DURATION)
            .with_unit("s")
            .with_description("Duration of HTTP client requests")
            .with_boundaries(otel_core::buckets::SECONDS.to_vec())
            .build();
        MeteredLayer::with_classifier(HttpClient { duration, hosts: Arc::default() })
    }
}

/// One request in flight (opaque).
#[derive(Debug)]
pub struct ClientCall {
    host: Option<String>,
    key: RequestKey,
}

impl Classifier for HttpClient {
    type Call = ClientCall;

    fn start(&self, parts: &http::request::Parts, _body_size: Option<u64>) -> Option<ClientCall> {
        let uri = &parts.uri;
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        let template = parts.extensions.get::<UrlTemplate>().map(|UrlTemplate(t)| *t);
        let key = RequestKey { method: method_attribute(&parts.method), port, template, status: None, error_type: None };
        Some(ClientCall { host: uri.host().map(str::to_owned), key })
    }

    fn head(&self, call: &mut ClientCall, status: StatusCode, _headers: &HeaderMap) -> AtHead {
        call.key.status = Some(status.as_u16());
        if status.is_client_error() || status.is_server_error() {
            call.key.error_type = Some(ErrorType::Status(status.as_u16()));
        }
        AtHead::Done
    }

    fn failed(&self, call: &mut ClientCall, error_type: &'static str) {
        call.key.error_type = Some(ErrorType::Named(error_type));
    }

    fn record(&self, mut call: ClientCall, seconds: f64, end: End) {
        if end == End::Cancelled {
            call.key.error_type = Some(ErrorType::Named("cancelled"));
        }
        let host = call.host.as_deref();
        let key = call.key;
        let series = self.hosts.get(host.unwrap_or(""), || (Box::from(host.unwrap_or("")), HostSeries::default()));
        let bound = series.and_then(|s| s.by_request.get(&key, || (key, self.duration.bind(&key.attributes(host)))));
        match bound {
            Some(bound) => bound.record(seconds),
            None => self.duration.record(seconds, &key.attributes(host)),
        }
    }
}
