//! The HTTP side of the pull endpoint: hyper HTTP/1.1 with bounded headers, read timeouts, a
//! connection limit, optional authentication, content negotiation and gzip.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use subtle::ConstantTimeEq;
use tokio::runtime::Handle;
use tokio::sync::Notify;

use crate::exposition::negotiate::Format;
use crate::exposition::scraper::Scraper;

/// Connections held open at once. When all are taken, a new connection takes the slot of the
/// one that has waited longest for its request head, once that is longer than
/// [`SLOW_HEAD`]; when every connection is being served (or just arrived), new ones wait in the
/// listen backlog until a slot frees. So clients that trickle their headers (or sit idle) can
/// never keep a scraper out, and a crowd of scrapers is served in turn, none refused.
const MAX_CONNECTIONS: usize = 64;
/// How long a connection may wait for its request head before a newcomer may take its slot:
/// far longer than a real client needs to send a head, far shorter than a scrape's timeout.
const SLOW_HEAD: Duration = Duration::from_millis(250);
/// Connections that may wait to be accepted (the listen backlog).
const BACKLOG: i32 = 4096;
/// Time a client gets to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head accepted (hyper's minimum buffer is 8 KiB).
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// Who may scrape.
#[derive(Clone)]
pub(super) enum Access {
    Open,
    /// The credentials expected in `Authorization`, after the scheme (`Bearer`, `Basic`), which
    /// is compared case-insensitively as HTTP requires.
    Header {
        scheme: &'static str,
        credentials: Vec<u8>,
        challenge: &'static str,
    },
}

impl Access {
    fn allows(&self, authorization: Option<&HeaderValue>) -> bool {
        let Access::Header { scheme, credentials, .. } = self else { return true };
        let given = authorization.map(HeaderValue::as_bytes).unwrap_or_default();
        let Some(space) = given.iter().position(|b| *b == b' ') else { return false };
        let (given_scheme, rest) = given.split_at(space);
        let given_credentials = rest.trim_ascii_start();
        given_scheme.eq_ignore_ascii_case(scheme.as_bytes()) & bool::from(given_credentials.ct_eq(credentials))
    }
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::Open => "Open",
            Access::Header { .. } => "Header(<redacted>)",
        })
    }
}

pub(super) struct Endpoint {
    pub(super) path: String,
    #[cfg(feature = "prometheus-tls")]
    pub(super) tls: Option<tokio_rustls::TlsAcceptor>,
    pub(super) access: Access,
    pub(super) formats: Vec<Format>,
    pub(super) scraper: Scraper,
}

/// The open connections. A connection is evictable while it waits for a request head (new or
/// keep-alive) for longer than [`SLOW_HEAD`]; it is busy from a complete head until its response
/// is written.
#[derive(Default)]
struct Slots {
    open: Mutex<HashMap<u64, Slot>>,
    next: AtomicU64,
    /// Signalled when a slot is given back or a connection starts waiting again.
    changed: Notify,
}

struct Slot {
    /// Since when the connection waits for a request head; `None` while a request is served.
    waiting_since: Option<Instant>,
    evict: Arc<Notify>,
}

impl Slots {
    /// The connection a newcomer may replace now, if all slots are taken; `Err` when none may.
    fn evictable(open: &HashMap<u64, Slot>) -> Result<Option<u64>, ()> {
        if open.len() < MAX_CONNECTIONS {
            return Ok(None);
        }
        let now = Instant::now();
        let slow =
            open.iter().filter_map(|(id, slot)| slot.waiting_since.filter(|t| now.duration_since(*t) >= SLOW_HEAD).map(|t| (t, *id)));
        slow.min().map(|(_, id)| Some(id)).ok_or(())
    }

    /// Whether a new connection could have a slot now.
    fn has_room(&self) -> bool {
        Self::evictable(&self.open.lock().unwrap_or_else(|p| p.into_inner())).is_ok()
    }

    /// A slot for a new connection, evicting the connection slowest to send its head when all
    /// are taken; `None` when every connection is busy or has only just arrived.
    fn open(self: &Arc<Self>) -> Option<SlotGuard> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slow) = Self::evictable(&open).ok()? {
            if let Some(evicted) = open.remove(&slow) {
                evicted.evict.notify_one();
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let evict = Arc::new(Notify::new());
        open.insert(id, Slot { waiting_since: Some(Instant::now()), evict: evict.clone() });
        Some(SlotGuard { slots: self.clone(), id, evict })
    }

    fn set_waiting(&self, id: u64, waiting: bool) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = open.get_mut(&id) {
            slot.waiting_since = waiting.then(Instant::now);
        }
        drop(open);
        if waiting {
            self.changed.notify_one();
        }
    }

    /// Resolves when a new connection can have a slot.
    async fn room(&self) {
        while !self.has_room() {
            // A slot given back wakes this at once; a connection turning slow is seen on the tick.
            let _ = tokio::time::timeout(SLOW_HEAD / 10, self.changed.notified()).await;
        }
    }
}

/// A connection's slot, given back when the connection ends.
struct SlotGuard {
    slots: Arc<Slots>,
    id: u64,
    evict: Arc<Notify>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.slots.open.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
        self.slots.changed.notify_one();
    }
}

/// Marks a connection busy while one request is served.
struct Busy<'a>(&'a SlotGuard);

impl<'a> Busy<'a> {
    fn start(slot: &'a SlotGuard) -> Self {
        slot.slots.set_waiting(slot.id, false);
        Busy(slot)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.slots.set_waiting(self.0.id, true);
    }
}

/// Listens on `address` (`host:port`, the first address it resolves to that can be bound) with
/// a backlog deep enough for a crowd of scrapers.
pub(super) fn bind(address: &str) -> std::io::Result<std::net::TcpListener> {
    use std::net::ToSocketAddrs as _;
    let mut last = std::io::Error::new(std::io::ErrorKind::InvalidInput, "the address resolves to nothing");
    for address in address.to_socket_addrs()? {
        let socket = socket2::Socket::new(socket2::Domain::for_address(address), socket2::Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        match socket.bind(&address.into()).and_then(|()| socket.listen(BACKLOG)) {
            Ok(()) => return Ok(socket.into()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Serves the endpoint on `listener` until the scraper's pipeline shuts down.
pub(super) fn spawn(runtime: &Handle, listener: std::net::TcpListener, endpoint: Endpoint) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = {
        let _context = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    let endpoint = Arc::new(endpoint);
    let mut stopped = endpoint.scraper.stopped();
    let slots = Arc::new(Slots::default());
    runtime.spawn(async move {
        loop {
            // Accept only when the connection can have a slot: until then it waits in the backlog.
            let accepted = tokio::select! {
                accepted = async { slots.room().await; listener.accept().await } => accepted,
                () = until_stopped(&mut stopped) => return,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::debug!(target: "otel_pipeline::prometheus", error = %e, "accept failed");
                    // Out of file descriptors and the like: don't spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let Some(slot) = slots.open() else {
                // The room found before accepting was taken meanwhile (a slow connection started
                // a request): say when to come back rather than reset the connection.
                tokio::spawn(busy_reply(stream));
                continue;
            };
            let endpoint = endpoint.clone();
            tokio::spawn(async move {
                let evicted = slot.evict.clone();
                tokio::select! {
                    () = connection(stream, endpoint, Arc::new(slot)) => {}
                    () = evicted.notified() => {}
                }
            });
        }
    });
    Ok(())
}

/// A complete `503 Service Unavailable` with `Retry-After`, for a connection there is no room for.
async fn busy_reply(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt as _;
    let answer = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 38\r\nConnection: close\r\n\r\nevery connection is busy; retry soon\n\n";
    let _ = tokio::time::timeout(HEADER_TIMEOUT, async {
        let _ = stream.write_all(answer).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Serves one accepted connection (after a TLS handshake, when configured).
async fn connection(stream: tokio::net::TcpStream, endpoint: Arc<Endpoint>, slot: Arc<SlotGuard>) {
    #[cfg(feature = "prometheus-tls")]
    if let Some(acceptor) = endpoint.tls.clone() {
        // The handshake gets the same deadline as the request head.
        match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => serve(TokioIo::new(tls), endpoint, slot).await,
            Ok(Err(e)) => tracing::debug!(target: "otel_pipeline::prometheus", error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!(target: "otel_pipeline::prometheus", "TLS handshake timed out"),
        }
        return;
    }
    serve(TokioIo::new(stream), endpoint, slot).await;
}

/// Serves one connection until the client leaves or the pipeline shuts down.
async fn serve<IO>(io: IO, endpoint: Arc<Endpoint>, slot: Arc<SlotGuard>)
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut stopped = endpoint.scraper.stopped();
    let service = hyper::service::service_fn(move |request| {
        let (endpoint, slot) = (endpoint.clone(), slot.clone());
        async move {
            let _busy = Busy::start(&slot);
            respond(endpoint, request).await
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_REQUEST_HEAD)
        .serve_connection(io, service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        () = until_stopped(&mut stopped) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Resolves once the pipeline shuts down (or the signal is gone).
async fn until_stopped(stopped: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: &'static str) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

async fn respond(endpoint: Arc<Endpoint>, request: Request<Incoming>) -> Result<Reply, Infallible> {
    if request.uri().path() != endpoint.path {
        return Ok(reply(StatusCode::NOT_FOUND, "not found: metrics are served on another path\n"));
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = reply(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD are allowed\n");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Ok(response);
    }
    if let Access::Header { challenge, .. } = &endpoint.access {
        if !endpoint.access.allows(request.headers().get(header::AUTHORIZATION)) {
            let mut response = reply(StatusCode::UNAUTHORIZED, "unauthorized\n");
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            return Ok(response);
        }
    }
    let header_text = |name| request.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_owned);
    let (accept, accept_encoding) = (header_text(header::ACCEPT), header_text(header::ACCEPT_ENCODING));
    let mut response = Response::new(Full::new(Bytes::new()));
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    let exposition = if request.method() == Method::HEAD {
        // The headers a GET would get, negotiated the same way, without collecting.
        endpoint.scraper.respond_head(accept.as_deref(), accept_encoding.as_deref(), &endpoint.formats)
    } else {
        // Collection is CPU work under a lock; keep it off the I/O worker.
        let answer =
            tokio::task::spawn_blocking(move || endpoint.scraper.respond(accept.as_deref(), accept_encoding.as_deref(), &endpoint.formats))
                .await;
        match answer {
            Ok(Ok(exposition)) => exposition,
            Ok(Err(_)) => return Ok(reply(StatusCode::SERVICE_UNAVAILABLE, "the metrics pipeline is shut down\n")),
            Err(_) => return Ok(reply(StatusCode::INTERNAL_SERVER_ERROR, "collecting metrics failed\n")),
        }
    };
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(exposition.content_type));
    if let Some(encoding) = exposition.content_encoding {
        response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    *response.body_mut() = Full::new(Bytes::from(exposition.body));
    Ok(response)
}
