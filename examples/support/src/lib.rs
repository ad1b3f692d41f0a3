//! What the example services share: their `--duration` flag, logging, a run of a given
//! length, a `/metrics` route to mount in an axum app, an HTTP client for the traffic they make
//! themselves, and varied but repeatable randomness.

use std::time::Duration;

use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use otel_exporters::{negotiate, Format, Scraper};
use tokio::sync::watch;

/// The flag every example takes besides `--listen`: how long to run.
#[derive(Debug, Clone, clap::Args)]
pub struct Lifetime {
    /// Stop after SECS seconds, flushing metrics; without it, Ctrl-C stops.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
}

/// Starts an example: logging on, its flags read with clap (`--flag value` and `--flag=value`,
/// `-h`/`--help`, `--version`; a mistake names the flag and exits 2).
pub fn start<C: clap::Parser>() -> C {
    init_logging();
    C::parse()
}

/// Ends an example: on an error, says it and exits 1.
pub fn exit_on_error(program: &str, result: Result<(), String>) {
    if let Err(message) = result {
        eprintln!("{program}: {message}");
        std::process::exit(1);
    }
}

/// A loop's beat: [`next`](Self::next) waits for the next tick and says `false` once the stop
/// signal is given.
#[derive(Debug)]
pub struct Ticker {
    interval: tokio::time::Interval,
    stop: watch::Receiver<bool>,
}

impl Ticker {
    /// Ticks every `period` (the first at once) until `stop` turns true.
    pub fn new(period: Duration, stop: watch::Receiver<bool>) -> Self {
        Ticker { interval: tokio::time::interval(period), stop }
    }

    /// Waits for the next tick; `false` when it is time to stop instead.
    pub async fn next(&mut self) -> bool {
        let ticked = tokio::select! {
            _ = self.interval.tick() => true,
            _ = self.stop.wait_for(|s| *s) => false,
        };
        ticked && !*self.stop.borrow()
    }
}

/// Logs to stderr at `info`, or as `RUST_LOG` says.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal as _;
    // Colour only for a terminal: logs in a file or a pipe stay plain text.
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal()).init();
}

/// Waits `duration` seconds, or for Ctrl-C without one.
pub async fn run_for(duration: Option<u64>) {
    match duration {
        Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
        None => {
            if let Err(e) = tokio::signal::ctrl_c().await {
                eprintln!("cannot wait for Ctrl-C ({e}); stopping");
            }
        }
    }
}

/// An axum handler body for `GET /metrics`: the format the scraper asks for in `Accept`.
pub fn metrics_response(scraper: &Scraper, headers: &HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let negotiated = negotiate(accept, &[Format::OpenMetrics, Format::Text]);
    match scraper.scrape_negotiated(negotiated) {
        Ok(body) => ([(header::CONTENT_TYPE, negotiated.format.content_type())], body).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

/// A plain HTTP/1 client for one base URL.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    inner: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
}

impl Client {
    /// Requests go to `base` (`http://host:port`, plus any path prefix).
    pub fn new(base: impl Into<String>) -> Self {
        Client { base: base.into(), inner: hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http() }
    }

    /// Sends `body` to `path`; the status and body, or `None` when the request failed.
    pub async fn send(&self, method: Method, path: &str, body: impl Into<Bytes>) -> Option<(StatusCode, Bytes)> {
        let request = Request::builder().method(method).uri(format!("{}{path}", self.base)).body(Full::new(body.into())).ok()?;
        let response = self.inner.request(request).await.ok()?;
        let status = response.status();
        Some((status, response.into_body().collect().await.ok()?.to_bytes()))
    }
}

/// A tiny xorshift generator: varied, repeatable traffic without another dependency.
#[derive(Debug, Clone)]
pub struct Dice(u64);

impl Dice {
    /// Seeded from `seed` (never zero).
    pub fn new(seed: u64) -> Self {
        Dice(seed | 1)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    /// True once in `n` throws.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// Seconds between `low` and `high` (milliseconds resolution).
    pub fn seconds(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.below(1001) as f64 / 1000.0
    }
}
