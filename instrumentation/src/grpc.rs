//! A tower layer for gRPC (tonic servers and channels): `rpc.server.duration` or
//! `rpc.client.duration` (s) with `rpc.system="grpc"`, `rpc.service`, `rpc.method` and
//! `rpc.grpc.status_code`, read from the response headers (trailers-only responses) or the
//! trailers at the end of the body. A call dropped before its status arrived records
//! `error.type="cancelled"`.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use opentelemetry::metrics::{BoundHistogram, Histogram, Meter};
use opentelemetry::KeyValue;

use crate::metered::{AtHead, Bindings, Classifier, End, ErrorType, MeteredLayer};
use crate::semconv;

/// Records gRPC calls on the server or the client side (a tower layer for tonic servers and
/// channels).
pub type GrpcLayer = MeteredLayer<Grpc>;

/// The gRPC side of a [`MeteredLayer`]: service and method from the path, status from the
/// response head or trailers.
#[derive(Clone)]
pub struct Grpc {
    duration: Histogram<f64>,
    /// Per path: its service and method, and a histogram bound per outcome, so a call
    /// allocates nothing once its path was seen.
    paths: Arc<Bindings<Box<str>, PathSeries>>,
}

impl fmt::Debug for Grpc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grpc").finish_non_exhaustive()
    }
}

struct PathSeries {
    attributes: [KeyValue; 3],
    by_outcome: Bindings<Outcome, BoundHistogram<f64>>,
}

/// How a call ended, as its attributes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Outcome {
    Status(i64),
    Error(ErrorType),
}

impl MeteredLayer<Grpc> {
    /// The metrics of the server and client layers, as a catalog would declare them (for
    /// references, rules and dashboards).
    pub fn definitions() -> Vec<otel_core::MetricDef> {
        [
            (semconv::RPC_SERVER_DURATION, "Duration of inbound gRPC calls"),
            (semconv::RPC_CLIENT_DURATION, "Duration of outbound gRPC calls"),
        ]
        .map(|(name, description)| {
            otel_core::MetricDef::histogram(name)
                .unit("s")
                .description(description)
                .labels([
                    semconv::RPC_SYSTEM,
                    semconv::RPC_SERVICE,
                    semconv::RPC_METHOD,
                    semconv::RPC_GRPC_STATUS_CODE,
                    semconv::ERROR_TYPE,
                ])
                .buckets(&otel_core::buckets::SECONDS)
        })
        .to_vec()
    }

    /// For a tonic server: `rpc.server.duration`.
    pub fn server(meter: &Meter) -> Self {
        Self::for_side(meter, semconv::RPC_SERVER_DURATION, "Duration of inbound gRPC calls")
    }

    /// For a tonic channel (client): `rpc.client.duration`.
    pub fn client(meter: &Meter) -> Self {
        Self::for_side(meter, semconv::RPC_CLIENT_DURATION, "Duration of outbound gRPC calls")
    }

    fn for_side(meter: &Meter, name: &'static str, description: &'static str) -> Self {
        let duration = meter
            .f64_histogram(name)
            .with_unit("s")
            .with_description(description)
            .with_boundaries(otel_core::buckets::SECONDS.to_vec())
            .build();
        MeteredLayer::with_classifier(Grpc { duration, paths: Arc::default() })
    }
}

/// `rpc.service` and `rpc.method` from a `/package.Service/Method` path.
fn service_and_method(path: &str) -> (String, String) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().filter(|s| !s.is_empty()).unwrap_or("_OTHER");
    let method = parts.next().filter(|m| !m.is_empty() && !m.contains('/')).unwrap_or("_OTHER");
    (service.to_owned(), method.to_owned())
}

fn grpc_status(headers: &HeaderMap) -> Option<i64> {
    headers.get("grpc-status")?.to_str().ok()?.trim().parse().ok()
}

/// One call in flight (opaque).
pub struct GrpcCall {
    path: Option<Arc<PathSeries>>,
    raw_path: String,
    status: Option<i64>,
    error_type: Option<ErrorType>,
}

impl fmt::Debug for GrpcCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcCall").field("path", &self.raw_path).field("status", &self.status).finish_non_exhaustive()
    }
}

fn path_attributes(path: &str) -> [KeyValue; 3] {
    let (service, method) = service_and_method(path);
    [KeyValue::new(semconv::RPC_SYSTEM, "grpc"), KeyValue::new(semconv::RPC_SERVICE, service), KeyValue::new(semconv::RPC_METHOD, method)]
}

impl Classifier for Grpc {
    type Call = GrpcCall;

    fn start(&self, parts: &http::request::Parts, _body_size: Option<u64>) -> Option<GrpcCall> {
        let path = parts.uri.path();
        let series =
            self.paths.get(path, || (Box::from(path), PathSeries { attributes: path_attributes(path), by_outcome: Bindings::default() }));
        // Past the binding limit, the path is kept to record unbound.
        let raw_path = if series.is_some() { String::new() } else { path.to_owned() };
        Some(GrpcCall { path: series, raw_path, status: None, error_type: None })
    }

    fn head(&self, call: &mut GrpcCall, _status: StatusCode, headers: &HeaderMap) -> AtHead {
        call.status = grpc_status(headers);
        // A trailers-only response carries the status in its head.
        if call.status.is_some() {
            AtHead::Done
        } else {
            AtHead::WatchBody
        }
    }

    fn failed(&self, call: &mut GrpcCall, error_type: &'static str) {
        call.error_type = Some(ErrorType::Named(error_type));
    }

    fn trailers(&self, call: &mut GrpcCall, trailers: &HeaderMap) {
        call.status = grpc_status(trailers);
    }

    fn record(&self, call: GrpcCall, seconds: f64, _end: End) {
        // A call that ended without a status (dropped, or a body without trailers) is cancelled.
        let outcome = match (call.status, call.error_type) {
            (Some(status), _) => Outcome::Status(status),
            (None, Some(error)) => Outcome::Error(error),
            (None, None) => Outcome::Error(ErrorType::Named("cancelled")),
        };
        let outcome_attribute = match outcome {
            Outcome::Status(status) => KeyValue::new(semconv::RPC_GRPC_STATUS_CODE, status),
            Outcome::Error(error) => KeyValue::new(semconv::ERROR_TYPE, error.value()),
        };
        let attributes = |base: &[KeyValue; 3]| {
            let mut all = base.to_vec();
            all.push(outcome_attribute.clone());
            all
        };
        match &call.path {
            Some(series) => {
                let bound = series.by_outcome.get(&outcome, || (outcome, self.duration.bind(&attributes(&series.attributes))));
                match bound {
                    Some(bound) => bound.record(seconds),
                    None => self.duration.record(seconds, &attributes(&series.attributes)),
                }
            }
            None => self.duration.record(seconds, &attributes(&path_attributes(&call.raw_path))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_service_and_method() {
        assert_eq!(service_and_method("/helloworld.Greeter/SayHello"), ("helloworld.Greeter".to_owned(), "SayHello".to_owned()));
        assert_eq!(service_and_method("/"), ("_OTHER".to_owned(), "_OTHER".to_owned()));
        assert_eq!(service_and_method("/a/b/c"), ("a".to_owned(), "_OTHER".to_owned()));
    }
}
