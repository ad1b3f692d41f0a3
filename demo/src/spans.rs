//! Every API request runs in a sampled span of an OpenTelemetry tracer that exports nothing, so
//! the request metrics carry exemplars pointing at it (a service with real tracing gets them
//! from its own spans).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::trace::{FutureExt as _, SpanKind, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};

/// The demo's tracer: every span sampled, none exported.
pub(crate) fn tracer() -> Tracer {
    SdkTracerProvider::builder().build().tracer("otel-demo")
}

/// Runs the request in a new server span.
pub(crate) async fn in_span(State(tracer): State<Tracer>, request: Request, next: Next) -> Response {
    let span = tracer.span_builder(format!("{} {}", request.method(), request.uri().path())).with_kind(SpanKind::Server).start(&tracer);
    next.run(request).with_context(Context::current_with_span(span)).await
}
