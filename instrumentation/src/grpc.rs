//! A tower layer for gRPC (tonic servers and channels): `rpc.server.duration` or
//! `rpc.client.duration` (s) with `rpc.system="grpc"`, `rpc.service`, `rpc.method` and
//! `rpc.grpc.status_code`, read from the response headers (trailers-only responses) or the
//! trailers at the end of the body. A call dropped before its status arrived records
//! `error.type="cancelled"`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry::KeyValue;
use tower_layer::Layer;
use tower_service::Service;

use crate::semconv;

/// Records gRPC calls on the server or the client side.
#[derive(Clone)]
pub struct GrpcLayer {
    duration: Histogram<f64>,
}

impl fmt::Debug for GrpcLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcLayer").finish_non_exhaustive()
    }
}

impl GrpcLayer {
    /// For a tonic server: `rpc.server.duration`.
    pub fn server(meter: &Meter) -> Self {
        Self::new(meter, "rpc.server.duration", "Duration of inbound gRPC calls")
    }

    /// For a tonic channel (client): `rpc.client.duration`.
    pub fn client(meter: &Meter) -> Self {
        Self::new(meter, "rpc.client.duration", "Duration of outbound gRPC calls")
    }

    fn new(meter: &Meter, name: &'static str, description: &'static str) -> Self {
        let duration = meter
            .f64_histogram(name)
            .with_unit("s")
            .with_description(description)
            .with_boundaries(semconv::DURATION_BUCKETS_SECONDS.to_vec())
            .build();
        GrpcLayer { duration }
    }
}

impl<S> Layer<S> for GrpcLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcService { inner, duration: self.duration.clone() }
    }
}

/// The service the layer wraps.
#[derive(Clone)]
pub struct GrpcService<S> {
    inner: S,
    duration: Histogram<f64>,
}

impl<S> fmt::Debug for GrpcService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcService").finish_non_exhaustive()
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

impl<S, B, R> Service<Request<B>> for GrpcService<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    R: Body,
{
    type Response = Response<GrpcBody<R>>;
    type Error = S::Error;
    type Future = GrpcFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (service, method) = service_and_method(request.uri().path());
        let call = Call { duration: self.duration.clone(), service, method, started: Instant::now(), status: None, error_type: None };
        GrpcFuture { inner: self.inner.call(request), call: Some(call) }
    }
}

pin_project_lite::pin_project! {
    /// Waits for the response head; a trailers-only response carries the status there.
    pub struct GrpcFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }
}

impl<F> fmt::Debug for GrpcFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcFuture").finish_non_exhaustive()
    }
}

impl<F, R, E> Future for GrpcFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
    R: Body,
{
    type Output = Result<Response<GrpcBody<R>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        let mut call = this.call.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(c) = call.as_mut() {
                    c.status = grpc_status(response.headers());
                }
                // Done already if the head carried the status (trailers-only) or nothing follows.
                if call.as_ref().is_some_and(|c| c.status.is_some()) || response.body().is_end_stream() {
                    call = None;
                }
                Ok(response.map(|inner| GrpcBody { inner, call }))
            }
            Err(e) => {
                if let Some(c) = call.as_mut() {
                    c.error_type = Some(otel_core::error_type_name::<E>().to_owned());
                }
                Err(e)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// The response body; the call is recorded when the trailers (or the end) arrive.
    pub struct GrpcBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }
}

impl<B> fmt::Debug for GrpcBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcBody").finish_non_exhaustive()
    }
}

impl<B: Body> Body for GrpcBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = std::task::ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(Ok(f)) = &frame {
            if let (Some(trailers), Some(c)) = (f.trailers_ref(), this.call.as_mut()) {
                c.status = grpc_status(trailers);
            }
        }
        let ended = match &frame {
            None | Some(Err(_)) => true,
            Some(Ok(f)) => f.is_trailers() || this.inner.is_end_stream(),
        };
        if ended {
            this.call.take();
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

/// One call's measurement, recorded when dropped.
pub struct Call {
    duration: Histogram<f64>,
    service: String,
    method: String,
    started: Instant,
    status: Option<i64>,
    error_type: Option<String>,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call").field("service", &self.service).field("method", &self.method).finish_non_exhaustive()
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let mut attributes = vec![
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", std::mem::take(&mut self.service)),
            KeyValue::new("rpc.method", std::mem::take(&mut self.method)),
        ];
        match (self.status, self.error_type.take()) {
            (Some(status), _) => attributes.push(KeyValue::new("rpc.grpc.status_code", status)),
            (None, Some(error)) => attributes.push(KeyValue::new("error.type", error)),
            (None, None) => attributes.push(KeyValue::new("error.type", "cancelled")),
        }
        self.duration.record(self.started.elapsed().as_secs_f64(), &attributes);
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
