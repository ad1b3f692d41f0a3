//! What the example services share: their command-line flags, logging, a run of a given
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

/// The flags every example takes (`--listen ADDR`, `--duration SECS`) and its own `--name VALUE`
/// options.
#[derive(Debug, Clone)]
pub struct Args {
    /// Where the metrics endpoint listens.
    pub listen: String,
    /// Stop after this many seconds (without it, Ctrl-C stops).
    pub duration: Option<u64>,
    options: Vec<(String, String)>,
}

impl Args {
    /// Reads the process arguments; on `--help` prints `usage` and exits 0, on a bad argument
    /// says why and exits 2. `options` are the example's own flags (with their `--`).
    pub fn parse(program: &str, usage: &str, default_listen: &str, options: &[&str]) -> Args {
        match Self::parse_from(std::env::args().skip(1), default_listen, options) {
            Ok(Some(args)) => args,
            Ok(None) => {
                println!("{usage}");
                std::process::exit(0)
            }
            Err(message) => {
                eprintln!("{program}: {message}\n\n{usage}");
                std::process::exit(2)
            }
        }
    }

    /// [`parse`](Self::parse) over any words; `Ok(None)` for `--help`.
    pub fn parse_from(mut words: impl Iterator<Item = String>, default_listen: &str, options: &[&str]) -> Result<Option<Args>, String> {
        let mut args = Args { listen: default_listen.to_owned(), duration: None, options: Vec::new() };
        while let Some(flag) = words.next() {
            let mut value = || words.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--listen" => args.listen = value()?,
                "--duration" => {
                    let v = value()?;
                    args.duration = Some(v.parse().map_err(|_| format!("--duration {v:?}: expected a whole number of seconds"))?);
                }
                "-h" | "--help" => return Ok(None),
                known if options.contains(&known) => {
                    let v = value()?;
                    args.options.push((flag, v));
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(Some(args))
    }

    /// The value of one of the example's own flags, when given.
    pub fn option(&self, flag: &str) -> Option<&str> {
        self.options.iter().rev().find(|(f, _)| f == flag).map(|(_, v)| v.as_str())
    }
}

/// Starts an example: logging on, flags read (see [`Args::parse`]).
pub fn start(program: &str, usage: &str, default_listen: &str, options: &[&str]) -> Args {
    init_logging();
    Args::parse(program, usage, default_listen, options)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<Option<Args>, String> {
        Args::parse_from(words.iter().map(|w| w.to_string()), "127.0.0.1:9000", &["--dir"])
    }

    #[test]
    fn flags_and_options_are_read_and_bad_input_is_explained() {
        let args = parse(&["--listen", "127.0.0.1:0", "--duration", "5", "--dir", "/tmp/x"]).unwrap().unwrap();
        assert_eq!((args.listen.as_str(), args.duration, args.option("--dir")), ("127.0.0.1:0", Some(5), Some("/tmp/x")));
        assert_eq!(parse(&[]).unwrap().unwrap().listen, "127.0.0.1:9000");
        assert!(parse(&["--duration", "soon"]).unwrap_err().contains("whole number of seconds"));
        assert!(parse(&["--listen"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--bogus"]).unwrap_err().contains("unknown argument"));
        assert!(parse(&["--help"]).unwrap().is_none());
    }
}
