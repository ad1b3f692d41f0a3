//! One encoded export request over gRPC or HTTP/protobuf: the body (gzip, gRPC framing), the
//! headers, and what the collector's answer means. gRPC is a POST over HTTP/2 with a framed
//! body and its status in the trailers; the shared [`Sender`] does the I/O and the retries.

use std::io::Write as _;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, TE, USER_AGENT};
use hyper::{Request, Uri};
use tokio_rustls::rustls::ClientConfig;

use super::OtlpProtocol;
use crate::push::sender::{http_failure, shorten, Answer, Failure, Patience, Sender};

const USER_AGENT_VALUE: &str = concat!("otel-pipeline/", env!("CARGO_PKG_VERSION"));

/// How to reach one collector.
pub(super) struct Transport {
    sender: Sender,
    pub(super) uri: Uri,
    pub(super) protocol: OtlpProtocol,
    pub(super) headers: HeaderMap,
    pub(super) gzip: bool,
}

impl Transport {
    /// A transport with its own pool; TLS (for `https` URLs) uses `tls`. gRPC speaks HTTP/2
    /// (cleartext or negotiated by ALPN), HTTP/protobuf HTTP/1.1.
    pub(super) fn new(tls: ClientConfig, uri: Uri, protocol: OtlpProtocol, headers: HeaderMap, gzip: bool, patience: Patience<'_>) -> Self {
        let sender = Sender::new(tls, protocol == OtlpProtocol::Grpc, patience);
        Transport { sender, uri, protocol, headers, gzip }
    }

    /// Whether the pipeline is shutting down (this export is the final one).
    pub(super) fn shutting_down(&self) -> bool {
        self.sender.shutting_down()
    }

    /// Sends one encoded `ExportMetricsServiceRequest`, retrying as the policy allows.
    pub(super) async fn export(&self, message: Vec<u8>) -> Result<(), Failure> {
        let body = self.body(message)?;
        self.sender.send(|| self.request(body.clone()), |answer| self.judge(answer)).await
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
                let millis = self.sender.timeout.as_millis().clamp(1, 99_999_999);
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

    /// Whether the collector accepted the export.
    fn judge(&self, answer: &Answer) -> Result<(), Failure> {
        if !answer.status.is_success() {
            return Err(http_failure(answer.status, &answer.body));
        }
        if self.protocol == OtlpProtocol::HttpProtobuf {
            return Ok(());
        }
        match grpc_status(&answer.headers).or_else(|| answer.trailers.as_ref().and_then(grpc_status)) {
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

/// gRPC percent-encodes `grpc-message`.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_specified_failures_are_retried() {
        for (status, retryable) in [(429, true), (502, true), (503, true), (504, true), (400, false), (401, false), (500, false)] {
            let failure = http_failure(hyper::StatusCode::from_u16(status).unwrap_or_default(), b"");
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
