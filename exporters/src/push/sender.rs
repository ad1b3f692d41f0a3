//! The HTTP client the push exporters share: one pooled hyper client with rustls, a timeout
//! per attempt, and retries with exponential backoff for the failures the OTLP specification
//! calls retryable (unavailable, throttled, timed out, connection errors).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{HeaderMap, RETRY_AFTER};
use hyper::{Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::watch;
use tokio_rustls::rustls::ClientConfig;

/// How failed exports are retried: exponential backoff from `initial_delay`, doubling up to
/// `max_delay`, at most `max_retries` times. Only failures the OTLP specification calls
/// retryable are retried (unavailable, throttled, timed out, connection errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, from 100 ms, at most 5 s apart.
    fn default() -> Self {
        RetryPolicy { max_retries: 3, initial_delay: Duration::from_millis(100), max_delay: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// No retries: a failed export is reported at once.
    pub fn disabled() -> Self {
        RetryPolicy { max_retries: 0, ..RetryPolicy::default() }
    }

    /// Retries up to `max_retries` times, waiting `initial_delay`, then twice as long each
    /// time, at most `max_delay`.
    pub fn exponential(max_retries: u32, initial_delay: Duration, max_delay: Duration) -> Self {
        RetryPolicy { max_retries, initial_delay, max_delay: max_delay.max(initial_delay) }
    }

    fn delay(&self, attempt: u32) -> Duration {
        let backoff = self.initial_delay.saturating_mul(1u32 << attempt.min(16));
        backoff.min(self.max_delay)
    }
}

/// How long a sender waits: each attempt, the retries, and the pipeline's shutdown deadline.
pub(crate) struct Patience<'d> {
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) deadline: &'d otel_core::export::Deadline,
}

/// Why an export failed; the message never contains header values or URL credentials.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    /// A short label for the self-metric (`unavailable`, `timeout`, `rejected`, ...).
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) retryable: bool,
    pub(crate) retry_after: Option<Duration>,
}

impl Failure {
    pub(crate) fn new(reason: &'static str, retryable: bool, message: impl Into<String>) -> Self {
        Failure { reason, message: message.into(), retryable, retry_after: None }
    }
}

/// An `http(s)://[user:password@]host[:port][/path]` URL taken apart: every push exporter
/// sends to `host` and `path`, prints the URL redacted, and turns the credentials into basic
/// authentication.
pub(crate) struct UrlParts<'u> {
    pub(crate) https: bool,
    /// The credentials, percent-decoded.
    pub(crate) userinfo: Option<String>,
    pub(crate) host: &'u str,
    /// From the first `/`, `?` or `#` on; empty when there is none.
    pub(crate) path: &'u str,
}

impl<'u> UrlParts<'u> {
    /// Splits `url`; the error says what is wrong (never repeating the URL).
    pub(crate) fn split(url: &'u str) -> Result<Self, &'static str> {
        let (scheme, rest) = url.split_once("://").ok_or("no scheme")?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return Err("the scheme must be http or https"),
        };
        let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        let (userinfo, host) = match authority.rfind('@') {
            Some(at) => {
                (Some(percent_encoding::percent_decode_str(&authority[..at]).decode_utf8_lossy().into_owned()), &authority[at + 1..])
            }
            None => (None, authority),
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err("no host");
        }
        Ok(UrlParts { https, userinfo, host, path })
    }

    /// The URL of `path` on this host, without credentials.
    pub(crate) fn uri(&self, path: &str) -> Result<hyper::Uri, &'static str> {
        format!("{}://{}{path}", if self.https { "https" } else { "http" }, self.host).parse().map_err(|_| "not a valid URL")
    }
}

/// A TLS client configuration (ring provider) trusting `roots`, presenting `identity` if given.
pub(crate) fn client_tls(
    exporter: &'static str,
    roots: tokio_rustls::rustls::RootCertStore,
    identity: Option<(Vec<rustls_pki_types::CertificateDer<'static>>, rustls_pki_types::PrivateKeyDer<'static>)>,
) -> Result<ClientConfig, String> {
    let builder = ClientConfig::builder_with_provider(crate::crypto::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("exporter `{exporter}`: {e}"))?
        .with_root_certificates(roots);
    match identity {
        Some((chain, key)) => {
            builder.with_client_auth_cert(chain, key).map_err(|e| format!("the client certificate and key do not work together: {e}"))
        }
        None => Ok(builder.with_no_client_auth()),
    }
}

/// The operating system's trusted root certificates.
pub(crate) fn system_roots() -> tokio_rustls::rustls::RootCertStore {
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots
}

/// An `Authorization` value for HTTP basic authentication from `user:password`.
pub(crate) fn basic_authorization(credentials: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
}

/// A text body pushed to one URL (a Pushgateway group, a line-protocol write endpoint): the
/// parsed URL without credentials, the credentials as a header, a client with system roots.
#[cfg(any(feature = "pushgateway", feature = "influx"))]
pub(crate) struct TextPush {
    sender: Sender,
    runtime: tokio::runtime::Handle,
    uri: hyper::Uri,
    /// The URL as it may be printed (credentials redacted).
    pub(crate) shown: String,
    authorization: Option<hyper::header::HeaderValue>,
    content_type: &'static str,
}

#[cfg(any(feature = "pushgateway", feature = "influx"))]
impl TextPush {
    /// Parses `url` (`http(s)://[user:password@]host[:port]/path`); `authorization` wins over
    /// credentials in the URL.
    pub(crate) fn new(
        exporter: &'static str,
        url: &str,
        source: &crate::source::Source,
        content_type: &'static str,
        authorization: Option<String>,
        patience: Patience<'_>,
    ) -> Result<Self, otel_core::BuildError> {
        use otel_core::BuildError;
        let shown = otel_core::export::redact_urls(url);
        let invalid = |why: &str| source.invalid(&shown, &format!("an http:// or https:// URL ({why})"));
        let parts = UrlParts::split(url).map_err(invalid)?;
        let uri = parts.uri(parts.path).map_err(invalid)?;
        let authorization = authorization
            .or_else(|| parts.userinfo.as_deref().map(basic_authorization))
            .map(|value| {
                let mut value = hyper::header::HeaderValue::from_str(&value)
                    .map_err(|_| source.error("a URL whose credentials hold no control character"))?;
                value.set_sensitive(true);
                Ok::<_, BuildError>(value)
            })
            .transpose()?;
        let roots = if parts.https { system_roots() } else { tokio_rustls::rustls::RootCertStore::empty() };
        let tls = client_tls(exporter, roots, None).map_err(|reason| BuildError::Exporter { exporter, reason })?;
        let runtime = crate::runtime::handle(exporter)?;
        let sender = {
            let _context = runtime.enter();
            Sender::new(tls, false, patience)
        };
        Ok(TextPush { sender, runtime, uri, shown, authorization, content_type })
    }

    /// Sends `body` with `method` (from a thread outside any runtime); any 2xx is success, and
    /// a refusal carries the server's own answer.
    pub(crate) fn send(&self, method: hyper::Method, body: Bytes) -> Result<(), (&'static str, String)> {
        use hyper::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
        let request = || {
            let mut request = Request::new(Full::new(body.clone()));
            *request.method_mut() = method.clone();
            *request.uri_mut() = self.uri.clone();
            let headers = request.headers_mut();
            headers.insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static(self.content_type));
            headers.insert(USER_AGENT, hyper::header::HeaderValue::from_static(concat!("otel-pipeline/", env!("CARGO_PKG_VERSION"))));
            if let Some(auth) = &self.authorization {
                headers.insert(AUTHORIZATION, auth.clone());
            }
            request
        };
        let judge = |answer: &Answer| if answer.status.is_success() { Ok(()) } else { Err(http_failure(answer.status, &answer.body)) };
        let sent = block_on_io(&self.runtime, self.sender.send(request, judge));
        sent.map_err(|f| (f.reason, format!("{method} {}: {}", self.shown, f.message)))
    }
}

/// Runs `work` on the I/O runtime and waits for it, from any thread: a thread that is itself
/// driving a tokio runtime (a shutdown called from async code, a `current_thread` runtime) may
/// not block in place, so it waits on a helper thread instead.
pub(crate) fn block_on_io<T: Send>(runtime: &tokio::runtime::Handle, work: impl std::future::Future<Output = T> + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return runtime.block_on(work);
    }
    std::thread::scope(|scope| match scope.spawn(|| runtime.block_on(work)).join() {
        Ok(done) => done,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// A server's complete answer to one attempt (headers and trailers matter to gRPC only).
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) trailers: Option<HeaderMap>,
    pub(crate) body: Bytes,
}

/// A pooled client with its timeout and retry policy, that gives up at the pipeline's
/// shutdown deadline.
pub(crate) struct Sender {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    pub(crate) timeout: Duration,
    retry: RetryPolicy,
    deadline: watch::Receiver<Option<std::time::Instant>>,
}

impl Sender {
    /// A client for `http` and `https` URLs (TLS from `tls`); HTTP/2 only (cleartext or by ALPN)
    /// when `http2`, else HTTP/1.1.
    pub(crate) fn new(tls: ClientConfig, http2: bool, patience: Patience<'_>) -> Self {
        let Patience { timeout, retry, deadline } = patience;
        let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http();
        let connector = if http2 { builder.enable_http2().build() } else { builder.enable_http1().build() };
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .http2_only(http2)
            .build(connector);
        let (tell, heard) = watch::channel(None);
        deadline.on_set(move |at| {
            tell.send_replace(Some(at));
        });
        Sender { client, timeout, retry, deadline: heard }
    }

    /// Whether shutdown has begun (its deadline is set).
    #[cfg(feature = "otlp")]
    pub(crate) fn shutting_down(&self) -> bool {
        self.deadline.borrow().is_some()
    }

    /// Sends `request()` (built anew for each attempt) and lets `judge` read the answer;
    /// retries retryable failures as the policy allows, until the shutdown deadline.
    pub(crate) async fn send(
        &self,
        request: impl Fn() -> Request<Full<Bytes>>,
        judge: impl Fn(&Answer) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        tokio::select! {
            biased;
            result = self.send_until_done(request, judge) => result,
            () = deadline_passed(self.deadline.clone()) => {
                Err(Failure::new("deadline", false, "not delivered within the shutdown timeout (TelemetryBuilder::shutdown_timeout)"))
            }
        }
    }

    async fn send_until_done(
        &self,
        request: impl Fn() -> Request<Full<Bytes>>,
        judge: impl Fn(&Answer) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let mut attempt = 0;
        loop {
            let result = match tokio::time::timeout(self.timeout, self.attempt(request(), &judge)).await {
                Ok(result) => result,
                Err(_) => Err(Failure::new("timeout", true, format!("no answer within {:?}", self.timeout))),
            };
            match result {
                Ok(()) => return Ok(()),
                Err(failure) if failure.retryable && attempt < self.retry.max_retries => {
                    let wait = failure.retry_after.unwrap_or_else(|| self.retry.delay(attempt)).min(self.retry.max_delay);
                    tracing::debug!(target: "otel_pipeline::push", attempt, ?wait, error = %failure.message, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(mut failure) => {
                    if attempt > 0 {
                        failure.message = format!("{} (after {attempt} retries)", failure.message);
                    }
                    return Err(failure);
                }
            }
        }
    }

    async fn attempt(&self, request: Request<Full<Bytes>>, judge: &impl Fn(&Answer) -> Result<(), Failure>) -> Result<(), Failure> {
        let response = self.client.request(request).await.map_err(|e| connection_failure(&e))?;
        let (parts, body) = response.into_parts();
        let retry_after = parts.headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        let collected = body.collect().await.map_err(|e| Failure::new("connection", true, format!("reading the answer: {e}")))?;
        let trailers = collected.trailers().cloned();
        let answer = Answer { status: parts.status, headers: parts.headers, trailers, body: collected.to_bytes() };
        judge(&answer).map_err(|mut failure| {
            failure.retry_after = failure.retry_after.or(retry_after.map(Duration::from_secs));
            failure
        })
    }
}

/// Resolves when the shutdown deadline has passed (never before shutdown starts).
async fn deadline_passed(mut deadline: watch::Receiver<Option<std::time::Instant>>) {
    let at = match deadline.wait_for(Option::is_some).await {
        Ok(at) => *at,
        Err(_) => None,
    };
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// HTTP statuses the OTLP specification retries: 429, 502, 503, 504.
pub(crate) fn http_failure(status: StatusCode, body: &[u8]) -> Failure {
    let (reason, retryable) = match status.as_u16() {
        429 => ("throttled", true),
        502..=504 => ("unavailable", true),
        401 | 403 => ("unauthorized", false),
        300..=399 => ("redirected", false),
        _ => ("rejected", false),
    };
    let text = String::from_utf8_lossy(body);
    Failure::new(reason, retryable, format!("HTTP {status}: {}", shorten(&text)))
}

fn connection_failure(e: &hyper_util::client::legacy::Error) -> Failure {
    // The source chain says what happened (refused, DNS, TLS certificate); it holds no secret.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    let tls = message.contains("certificate") || message.contains("tls") || message.contains("TLS");
    if tls {
        Failure::new("tls", false, message)
    } else {
        Failure::new("connection", true, message)
    }
}

/// At most 200 printable characters of a collector's answer.
pub(crate) fn shorten(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let policy = RetryPolicy::exponential(5, Duration::from_millis(100), Duration::from_millis(350));
        let delays: Vec<u128> = (0..4).map(|a| policy.delay(a).as_millis()).collect();
        assert_eq!(delays, [100, 200, 350, 350]);
    }
}
