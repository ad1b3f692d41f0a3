//! One metered-service core for every tower layer in this crate: a layer, a service, a response
//! future and a response body, generic over a [`Classifier`] that supplies only what differs
//! between protocols (what to note when a call starts, at the response head, per body frame and
//! at the trailers, and how to record the finished call). Each call is recorded exactly once:
//! when it ends, when it fails, or, dropped before either, as cancelled.
//!
//! The HTTP server, HTTP client and gRPC layers are classifiers; implement [`Classifier`] to
//! meter another protocol the same way.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Buf as _;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use tower_layer::Layer;
use tower_service::Service;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The response (head, or head and body) arrived in full.
    Complete,
    /// The service returned an error.
    Failed,
    /// Dropped before it ended (the client went away, a timeout fired).
    Cancelled,
}

/// What the response head means for the rest of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtHead {
    /// The call is complete now (a client measuring up to the head, a trailers-only gRPC answer).
    Done,
    /// The call ends with the body.
    WatchBody,
}

/// An `error.type` value: a name, or an HTTP status code (kept as a number until it is
/// recorded, so a call allocates nothing for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ErrorType {
    Named(&'static str),
    Status(u16),
}

impl ErrorType {
    pub(crate) fn value(self) -> opentelemetry::Value {
        match self {
            ErrorType::Named(name) => name.into(),
            ErrorType::Status(code) => code.to_string().into(),
        }
    }
}

/// The protocol-specific side of a metered service.
pub trait Classifier: Clone + Send + Sync + 'static {
    /// What a call carries from its start to its record.
    type Call: Send + 'static;

    /// Starts measuring a request; `None` leaves it unmeasured.
    fn start(&self, request: &http::request::Parts, body_size: Option<u64>) -> Option<Self::Call>;

    /// The response head arrived.
    fn head(&self, call: &mut Self::Call, status: StatusCode, headers: &HeaderMap) -> AtHead;

    /// The service, or the response body, failed with an error of this type.
    fn failed(&self, call: &mut Self::Call, error_type: &'static str);

    /// `bytes` of response body were sent or received.
    fn data(&self, _call: &mut Self::Call, _bytes: u64) {}

    /// The response trailers arrived.
    fn trailers(&self, _call: &mut Self::Call, _trailers: &HeaderMap) {}

    /// Records the call.
    fn record(&self, call: Self::Call, seconds: f64, end: End);
}

/// A call being measured; recorded when dropped.
struct Pending<C: Classifier> {
    classifier: Arc<C>,
    call: Option<C::Call>,
    started: Instant,
    end: End,
    /// The span the call ran in, made current again when the call is recorded (often on another
    /// task, when the body ends), so the recording's exemplars point at it.
    span: Option<opentelemetry::Context>,
}

impl<C: Classifier> Pending<C> {
    fn end(mut self, end: End) {
        self.end = end;
    }
}

impl<C: Classifier> Drop for Pending<C> {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            let _span = self.span.take().map(opentelemetry::Context::attach);
            self.classifier.record(call, self.started.elapsed().as_secs_f64(), self.end);
        }
    }
}

/// The current context, when it holds a span (otherwise there is nothing to carry).
fn current_span() -> Option<opentelemetry::Context> {
    use opentelemetry::trace::TraceContextExt as _;
    opentelemetry::Context::map_current(|cx| cx.has_active_span().then(|| cx.clone()))
}

/// A layer that meters every call of the service it wraps with classifier `C`.
pub struct MeteredLayer<C> {
    classifier: Arc<C>,
}

impl<C> MeteredLayer<C> {
    /// A layer metering calls with `classifier`.
    pub fn with_classifier(classifier: C) -> Self {
        MeteredLayer { classifier: Arc::new(classifier) }
    }
}

impl<C: Clone> MeteredLayer<C> {
    pub(crate) fn classifier_mut(&mut self) -> &mut C {
        Arc::make_mut(&mut self.classifier)
    }
}

impl<C> Clone for MeteredLayer<C> {
    fn clone(&self) -> Self {
        MeteredLayer { classifier: self.classifier.clone() }
    }
}

impl<S: Clone, C> Clone for MeteredService<S, C> {
    fn clone(&self) -> Self {
        MeteredService { inner: self.inner.clone(), classifier: self.classifier.clone() }
    }
}

impl<C> fmt::Debug for MeteredLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredLayer").field("classifier", &std::any::type_name::<C>()).finish_non_exhaustive()
    }
}

impl<S, C> Layer<S> for MeteredLayer<C> {
    type Service = MeteredService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        MeteredService { inner, classifier: self.classifier.clone() }
    }
}

/// The service a metered layer wraps around yours.
pub struct MeteredService<S, C> {
    inner: S,
    /// Shared, so starting a call costs one reference count, whatever the classifier holds.
    classifier: Arc<C>,
}

impl<S, C> fmt::Debug for MeteredService<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredService").field("classifier", &std::any::type_name::<C>()).finish_non_exhaustive()
    }
}

impl<S, C, B, R> Service<Request<B>> for MeteredService<S, C>
where
    S: Service<Request<B>, Response = Response<R>>,
    C: Classifier,
    B: Body,
    R: Body,
{
    type Response = Response<MeteredBody<R, C>>;
    type Error = S::Error;
    type Future = MeteredFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (parts, body) = request.into_parts();
        // Requests without a body record no request size.
        let body_size = body
            .size_hint()
            .exact()
            .or_else(|| parts.headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()))
            .filter(|size| *size > 0);
        let pending = self.classifier.start(&parts, body_size).map(|call| Pending {
            classifier: self.classifier.clone(),
            call: Some(call),
            started: Instant::now(),
            end: End::Cancelled,
            span: current_span(),
        });
        MeteredFuture { inner: self.inner.call(Request::from_parts(parts, body)), pending }
    }
}

pin_project_lite::pin_project! {
    /// Waits for the response head, then hands the call to the body (or records it).
    pub struct MeteredFuture<F, C: Classifier> {
        #[pin]
        inner: F,
        pending: Option<Pending<C>>,
    }
}

impl<F, C: Classifier> fmt::Debug for MeteredFuture<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredFuture").finish_non_exhaustive()
    }
}

impl<F, C, R, E> Future for MeteredFuture<F, C>
where
    F: Future<Output = Result<Response<R>, E>>,
    C: Classifier,
    R: Body,
{
    type Output = Result<Response<MeteredBody<R, C>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        let mut pending = this.pending.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(p) = pending.as_mut() {
                    let at_head = p.call.as_mut().map(|call| p.classifier.head(call, response.status(), response.headers()));
                    // A body that is already complete may never be polled.
                    if at_head == Some(AtHead::Done) || response.body().is_end_stream() {
                        if let Some(p) = pending.take() {
                            p.end(End::Complete);
                        }
                    }
                }
                Ok(response.map(|inner| MeteredBody { inner, pending }))
            }
            Err(e) => {
                if let Some(mut p) = pending {
                    if let Some(call) = p.call.as_mut() {
                        p.classifier.failed(call, otel_core::facade::error_type_name::<E>());
                    }
                    p.end(End::Failed);
                }
                Err(e)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// The response body: frames and trailers go to the classifier, and the call is recorded
    /// when the body ends.
    pub struct MeteredBody<B, C: Classifier> {
        #[pin]
        inner: B,
        pending: Option<Pending<C>>,
    }
}

impl<B, C: Classifier> fmt::Debug for MeteredBody<B, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredBody").field("metering", &self.pending.is_some()).finish_non_exhaustive()
    }
}

impl<B: Body, C: Classifier> Body for MeteredBody<B, C> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = std::task::ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(p) = this.pending.as_mut() {
            let classifier = &p.classifier;
            if let Some(call) = p.call.as_mut() {
                match &frame {
                    Some(Ok(f)) => {
                        if let Some(data) = f.data_ref() {
                            classifier.data(call, data.remaining() as u64);
                        }
                        if let Some(trailers) = f.trailers_ref() {
                            classifier.trailers(call, trailers);
                        }
                    }
                    Some(Err(_)) => classifier.failed(call, "response_body"),
                    None => {}
                }
            }
        }
        // Servers stop polling once the body says it has ended, so the end is noticed here too.
        let ended = match &frame {
            None | Some(Err(_)) => true,
            Some(Ok(f)) => f.is_trailers() || this.inner.is_end_stream(),
        };
        if ended {
            if let Some(p) = this.pending.take() {
                p.end(End::Complete);
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

/// Attribute sets bound to instruments once, looked up by key afterwards; at most
/// [`MAX_BINDINGS`] per layer (past that, [`get`](Self::get) says `None` and the caller records
/// unbound, so a flood of distinct values cannot grow memory).
pub(crate) struct Bindings<K, V> {
    map: RwLock<HashMap<K, Arc<V>>>,
}

/// Attribute sets kept bound per layer (and per level of a two-level binding).
pub(crate) const MAX_BINDINGS: usize = 1024;

impl<K, V> Default for Bindings<K, V> {
    fn default() -> Self {
        Bindings { map: RwLock::default() }
    }
}

impl<K: Hash + Eq, V> Bindings<K, V> {
    /// The bound value for `key`, binding it with `bind` the first time.
    pub(crate) fn get<Q>(&self, key: &Q, bind: impl FnOnce() -> (K, V)) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(value) = self.map.read().ok()?.get(key) {
            return Some(value.clone());
        }
        let mut map = self.map.write().ok()?;
        if let Some(value) = map.get(key) {
            return Some(value.clone());
        }
        if map.len() >= MAX_BINDINGS {
            return None;
        }
        let (key, value) = bind();
        let value = Arc::new(value);
        map.insert(key, value.clone());
        Some(value)
    }
}
