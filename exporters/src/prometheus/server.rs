//! The HTTP side of the pull endpoint: hyper HTTP/1.1 with bounded headers, read timeouts, a
//! connection limit, optional authentication, content negotiation and gzip.

use std::convert::Infallible;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use subtle::ConstantTimeEq;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use super::negotiate::{negotiate, Format};
use super::Scraper;

/// Connections served at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 64;
/// Time a client gets to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head accepted (hyper's minimum buffer is 8 KiB).
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// Who may scrape.
#[derive(Clone)]
pub(super) enum Access {
    Open,
    /// The exact `Authorization` header value expected (`Bearer ...` or `Basic ...`).
    Header {
        expected: Vec<u8>,
        challenge: &'static str,
    },
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

/// Serves the endpoint on `listener` until the scraper's pipeline shuts down.
pub(super) fn spawn(runtime: &Handle, listener: std::net::TcpListener, endpoint: Endpoint) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = {
        let _context = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    let endpoint = Arc::new(endpoint);
    let mut stopped = endpoint.scraper.stopped();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    runtime.spawn(async move {
        loop {
            let Ok(permit) = permits.clone().acquire_owned().await else { return };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = until_stopped(&mut stopped) => return,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::debug!(target: "otel_pipeline::prometheus", error = %e, "accept failed");
                    continue;
                }
            };
            let endpoint = endpoint.clone();
            tokio::spawn(async move {
                let _permit = permit;
                #[cfg(feature = "prometheus-tls")]
                if let Some(acceptor) = endpoint.tls.clone() {
                    // The handshake gets the same deadline as the request head.
                    match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => serve(TokioIo::new(tls), endpoint).await,
                        Ok(Err(e)) => tracing::debug!(target: "otel_pipeline::prometheus", error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(target: "otel_pipeline::prometheus", "TLS handshake timed out"),
                    }
                    return;
                }
                serve(TokioIo::new(stream), endpoint).await;
            });
        }
    });
    Ok(())
}

/// Serves one connection until the client leaves or the pipeline shuts down.
async fn serve<IO>(io: IO, endpoint: Arc<Endpoint>)
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut stopped = endpoint.scraper.stopped();
    let service = hyper::service::service_fn(move |request| respond(endpoint.clone(), request));
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
    if let Access::Header { expected, challenge } = &endpoint.access {
        let given = request.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes).unwrap_or_default();
        if !bool::from(given.ct_eq(expected)) {
            let mut response = reply(StatusCode::UNAUTHORIZED, "unauthorized\n");
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            return Ok(response);
        }
    }
    let header_text = |name| request.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let negotiated = negotiate(header_text(header::ACCEPT), &endpoint.formats);
    let gzip =
        header_text(header::ACCEPT_ENCODING).is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip") && !e.contains("q=0")));

    let mut response = Response::new(Full::new(Bytes::new()));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(negotiated.format.content_type()));
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    if request.method() == Method::HEAD {
        return Ok(response);
    }
    let scraper = endpoint.scraper.clone();
    // Collection is CPU work under a lock; keep it off the I/O worker.
    let body = match tokio::task::spawn_blocking(move || scraper.scrape_negotiated(negotiated)).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Ok(reply(StatusCode::SERVICE_UNAVAILABLE, "the metrics pipeline is shut down\n")),
        Err(_) => return Ok(reply(StatusCode::INTERNAL_SERVER_ERROR, "collecting metrics failed\n")),
    };
    let body = if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
        match encoder.write_all(&body).and_then(|()| encoder.finish()) {
            Ok(compressed) => {
                response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                compressed
            }
            Err(_) => body,
        }
    } else {
        body
    };
    *response.body_mut() = Full::new(Bytes::from(body));
    Ok(response)
}
