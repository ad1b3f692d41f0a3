//! Sending one encoded export request over gRPC or HTTP/protobuf, with TLS, gzip, a timeout per
//! attempt and retries with exponential backoff for the failures the OTLP specification calls
//! retryable. One hyper client does both protocols: gRPC is a POST over HTTP/2 with a framed
//! body and its status in the trailers.

use std::io::Write as _;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, TE, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio_rustls::rustls::ClientConfig;

use super::OtlpProtocol;

const USER_AGENT_VALUE: &str = concat!("otel-pipeline/", env!("CARGO_PKG_VERSION"));

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

/// Why an export failed; the message never contains header values or URL credentials.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    /// A short label for the self-metric (`unavailable`, `timeout`, `rejected`, ...).
    pub(super) reason: &'static str,
    pub(super) message: String,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn new(reason: &'static str, retryable: bool, message: impl Into<String>) -> Self {
        Failure { reason, message: message.into(), retryable, retry_after: None }
    }
}

/// A connection pool to one collector, and how to talk to it.
pub(super) struct Transport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    pub(super) uri: Uri,
    pub(super) protocol: OtlpProtocol,
    pub(super) headers: HeaderMap,
    pub(super) timeout: Duration,
    pub(super) gzip: bool,
    pub(super) retry: RetryPolicy,
}

impl Transport {
    /// A transport with its own pool; TLS (for `https` URLs) uses `tls`. gRPC speaks HTTP/2
    /// (cleartext or negotiated by ALPN), HTTP/protobuf HTTP/1.1.
    pub(super) fn new(
        tls: ClientConfig,
        uri: Uri,
        protocol: OtlpProtocol,
        headers: HeaderMap,
        timeout: Duration,
        gzip: bool,
        retry: RetryPolicy,
    ) -> Self {
        let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http();
        let connector = match protocol {
            OtlpProtocol::Grpc => builder.enable_http2().build(),
            OtlpProtocol::HttpProtobuf => builder.enable_http1().build(),
        };
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .http2_only(protocol == OtlpProtocol::Grpc)
            .build(connector);
        Transport { client, uri, protocol, headers, timeout, gzip, retry }
    }

    /// Sends one encoded `ExportMetricsServiceRequest`, retrying as the policy allows.
    pub(super) async fn export(&self, message: Vec<u8>) -> Result<(), Failure> {
        let body = self.body(message)?;
        let mut attempt = 0;
        loop {
            let result = match tokio::time::timeout(self.timeout, self.send(body.clone())).await {
                Ok(result) => result,
                Err(_) => Err(Failure::new("timeout", true, format!("no answer within {:?}", self.timeout))),
            };
            match result {
                Ok(()) => return Ok(()),
                Err(failure) if failure.retryable && attempt < self.retry.max_retries => {
                    let wait = failure.retry_after.unwrap_or_else(|| self.retry.delay(attempt)).min(self.retry.max_delay);
                    tracing::debug!(target: "otel_pipeline::otlp", attempt, ?wait, error = %failure.message, "retrying the export");
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

    /// The request body: gzip-compressed if asked, framed for gRPC.
    fn body(&self, message: Vec<u8>) -> Result<Bytes, Failure> {
        let payload = if self.gzip {
            let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(message.len() / 4), flate2::Compression::fast());
            encoder
                .write_all(&message)
                .and_then(|()| encoder.finish())
                .map_err(|e| Failure::new("encoding", false, format!("gzip failed: {e}")))?
        } else {
            message
        };
        Ok(match self.protocol {
            OtlpProtocol::HttpProtobuf => Bytes::from(payload),
            OtlpProtocol::Grpc => {
                let length = u32::try_from(payload.len())
                    .map_err(|_| Failure::new("encoding", false, "the export request is larger than gRPC allows (4 GiB)"))?;
                let mut framed = Vec::with_capacity(payload.len() + 5);
                framed.push(u8::from(self.gzip));
                framed.extend_from_slice(&length.to_be_bytes());
                framed.extend_from_slice(&payload);
                Bytes::from(framed)
            }
        })
    }

    fn request(&self, body: Bytes) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(body));
        *request.uri_mut() = self.uri.clone();
        *request.method_mut() = hyper::Method::POST;
        let headers = request.headers_mut();
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        match self.protocol {
            OtlpProtocol::HttpProtobuf => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-protobuf"));
                if self.gzip {
                    headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
            }
            OtlpProtocol::Grpc => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
                headers.insert(TE, HeaderValue::from_static("trailers"));
                let millis = self.timeout.as_millis().clamp(1, 99_999_999);
                if let Ok(timeout) = HeaderValue::from_str(&format!("{millis}m")) {
                    headers.insert(HeaderName::from_static("grpc-timeout"), timeout);
                }
                if self.gzip {
                    headers.insert(HeaderName::from_static("grpc-encoding"), HeaderValue::from_static("gzip"));
                }
            }
        }
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        request
    }

    async fn send(&self, body: Bytes) -> Result<(), Failure> {
        let response = self.client.request(self.request(body)).await.map_err(|e| connection_failure(&e))?;
        let status = response.status();
        let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        let head_status = grpc_status(response.headers());
        let collected =
            response.into_body().collect().await.map_err(|e| Failure::new("connection", true, format!("reading the answer: {e}")))?;
        let trailers = collected.trailers().cloned();
        let body = collected.to_bytes();
        if !status.is_success() {
            let mut failure = http_failure(status, &body);
            failure.retry_after = retry_after.map(Duration::from_secs);
            return Err(failure);
        }
        if self.protocol == OtlpProtocol::HttpProtobuf {
            return Ok(());
        }
        match head_status.or_else(|| trailers.as_ref().and_then(grpc_status)) {
            Some((0, _)) => Ok(()),
            Some((code, message)) => Err(grpc_failure(code, &message)),
            None => Err(Failure::new("protocol", false, "the answer has no grpc-status: is this a gRPC endpoint?")),
        }
    }
}

fn grpc_status(headers: &HeaderMap) -> Option<(u32, String)> {
    let code = headers.get("grpc-status")?.to_str().ok()?.trim().parse().ok()?;
    let message = headers.get("grpc-message").and_then(|v| v.to_str().ok()).map(percent_decode).unwrap_or_default();
    Some((code, message))
}

/// gRPC status codes the OTLP specification retries.
fn grpc_failure(code: u32, message: &str) -> Failure {
    let (reason, retryable) = match code {
        1 => ("cancelled", true),
        4 => ("timeout", true),
        8 => ("throttled", true),
        10 | 11 | 15 => ("aborted", true),
        14 => ("unavailable", true),
        16 | 7 => ("unauthorized", false),
        _ => ("rejected", false),
    };
    Failure::new(reason, retryable, format!("gRPC status {code} ({}): {}", grpc_code_name(code), shorten(message)))
}

fn grpc_code_name(code: u32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(code as usize).copied().unwrap_or("unknown code")
}

/// HTTP statuses the OTLP specification retries: 429, 502, 503, 504.
fn http_failure(status: StatusCode, body: &[u8]) -> Failure {
    let (reason, retryable) = match status.as_u16() {
        429 => ("throttled", true),
        502..=504 => ("unavailable", true),
        401 | 403 => ("unauthorized", false),
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
fn shorten(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// gRPC percent-encodes `grpc-message`.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
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

    #[test]
    fn only_the_specified_failures_are_retried() {
        for (status, retryable) in [(429, true), (502, true), (503, true), (504, true), (400, false), (401, false), (500, false)] {
            let failure = http_failure(StatusCode::from_u16(status).unwrap_or_default(), b"");
            assert_eq!(failure.retryable, retryable, "HTTP {status}");
        }
        for (code, retryable) in [(14, true), (4, true), (8, true), (3, false), (16, false), (12, false)] {
            assert_eq!(grpc_failure(code, "").retryable, retryable, "gRPC {code}");
        }
    }

    #[test]
    fn grpc_messages_are_percent_decoded_and_collector_answers_shortened() {
        assert_eq!(grpc_failure(3, "bad%20point").message, "gRPC status 3 (INVALID_ARGUMENT): bad%20point");
        assert_eq!(percent_decode("bad%20point"), "bad point");
        assert_eq!(shorten(&"x\n".repeat(500)).len(), 200);
    }
}
