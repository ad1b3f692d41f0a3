//! OTLP push over gRPC or HTTP/protobuf, built on `opentelemetry-otlp`.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry_otlp::{Compression, MetricExporter, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use otel_core::{BuildError, Env, Exporter, Plug};
use tokio::runtime::Handle;

pub use opentelemetry_otlp::RetryPolicy;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// gRPC (default port 4317).
    Grpc,
    /// HTTP with protobuf bodies (default port 4318; the OTel default protocol).
    HttpProtobuf,
}

/// Pushes the pipeline's metrics to an OTLP collector at the pipeline's export interval.
///
/// Unset options come from the OTel variables, the metrics-specific one first:
/// `OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT`, `_PROTOCOL` (`grpc`, `http/protobuf`), `_HEADERS`,
/// `_TIMEOUT` (ms), `_COMPRESSION` (`gzip`, `none`). A collector that is down never blocks or
/// crashes the application: the failed export is retried with backoff, then logged once for that
/// interval (header values are never logged).
#[derive(Clone, Default)]
pub struct OtlpExporter {
    endpoint: Option<String>,
    protocol: Option<OtlpProtocol>,
    headers: Option<Vec<(String, String)>>,
    timeout: Option<Duration>,
    gzip: Option<bool>,
    retry: Option<RetryPolicy>,
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Option<Vec<&str>> = self.headers.as_ref().map(|h| h.iter().map(|(k, _)| k.as_str()).collect());
        f.debug_struct("OtlpExporter")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("header_names", &header_names)
            .field("timeout", &self.timeout)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

impl OtlpExporter {
    /// An exporter configured entirely from the environment (and defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// The collector URL. For gRPC, `http://host:4317`; for HTTP, the full URL including
    /// `/v1/metrics`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The transport.
    pub fn protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// A request header (gRPC metadata); e.g. an API key. Never logged.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.get_or_insert_with(Vec::new).push((name.into(), value.into()));
        self
    }

    /// The timeout of one export request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Compress requests with gzip.
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = Some(on);
        self
    }

    /// How failed exports are retried (default: 3 retries, exponential backoff from 100 ms).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    fn resolve(&self, env: &Env) -> Result<Settings, BuildError> {
        const PROTOCOL: [&str; 2] = ["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"];
        const COMPRESSION: [&str; 2] = ["OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"];
        const TIMEOUT: [&str; 2] = ["OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"];
        const HEADERS: [&str; 2] = ["OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"];

        let protocol = match self.protocol {
            Some(p) => p,
            None => match env.choice(&PROTOCOL, &["grpc", "http/protobuf"])?.as_deref() {
                Some("grpc") => OtlpProtocol::Grpc,
                _ => OtlpProtocol::HttpProtobuf,
            },
        };
        let endpoint = match &self.endpoint {
            Some(url) => check_url("endpoint", url, None)?,
            None => match (env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"), env.get("OTEL_EXPORTER_OTLP_ENDPOINT")) {
                (Some(url), _) => check_url("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &url, Some(&url))?,
                (None, Some(base)) => {
                    let base = check_url("OTEL_EXPORTER_OTLP_ENDPOINT", &base, Some(&base))?;
                    match protocol {
                        OtlpProtocol::Grpc => base,
                        OtlpProtocol::HttpProtobuf => format!("{}/v1/metrics", base.trim_end_matches('/')),
                    }
                }
                (None, None) => match protocol {
                    OtlpProtocol::Grpc => "http://localhost:4317".to_owned(),
                    OtlpProtocol::HttpProtobuf => "http://localhost:4318/v1/metrics".to_owned(),
                },
            },
        };
        let gzip = match self.gzip {
            Some(on) => on,
            None => env.choice(&COMPRESSION, &["gzip", "none"])?.as_deref() == Some("gzip"),
        };
        let timeout = match self.timeout {
            Some(t) => t,
            None => env.millis(&TIMEOUT)?.unwrap_or(DEFAULT_TIMEOUT),
        };
        let headers = match &self.headers {
            Some(h) => h.clone(),
            None => env.key_values(&HEADERS, true)?,
        };
        let header_source = if self.headers.is_some() { "header" } else { "OTEL_EXPORTER_OTLP_HEADERS" };
        for (name, _) in &headers {
            let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !valid {
                return Err(BuildError::InvalidSetting {
                    setting: "OTLP header",
                    reason: format!("{header_source}: header name {name:?} must be ASCII letters, digits, `-`, `_` or `.`"),
                });
            }
        }
        Ok(Settings { endpoint, protocol, headers, timeout, gzip, retry: self.retry.clone().unwrap_or_default() })
    }
}

/// An endpoint must be a plain `http://host[:port][/path]` URL.
fn check_url(source: &str, url: &str, env_value: Option<&str>) -> Result<String, BuildError> {
    let expected = "an http:// URL such as http://localhost:4317 (TLS endpoints are not supported by this build)";
    let host = url.strip_prefix("http://").map(|rest| rest.split(['/', '?']).next().unwrap_or(""));
    if host.is_some_and(|h| !h.is_empty() && !h.contains(char::is_whitespace)) {
        return Ok(url.to_owned());
    }
    Err(match env_value {
        Some(value) => BuildError::invalid_env(source, value, expected),
        None => BuildError::InvalidSetting { setting: "endpoint", reason: format!("{url:?} is not {expected}") },
    })
}

#[derive(Debug)]
struct Settings {
    endpoint: String,
    protocol: OtlpProtocol,
    headers: Vec<(String, String)>,
    timeout: Duration,
    gzip: bool,
    retry: RetryPolicy,
}

impl Exporter for OtlpExporter {
    fn name(&self) -> &'static str {
        "otlp"
    }

    fn attach(self: Box<Self>, plug: &mut Plug) -> Result<(), BuildError> {
        let settings = self.resolve(plug.env())?;
        let runtime = crate::runtime::handle("otlp")?;
        let fail = |e: opentelemetry_otlp::ExporterBuildError| BuildError::Exporter { exporter: "otlp", reason: e.to_string() };
        // Clients are created inside the I/O runtime so their connections live there.
        let inner = {
            let _context = runtime.enter();
            let builder = MetricExporter::builder().with_temporality(Temporality::Cumulative);
            match settings.protocol {
                OtlpProtocol::Grpc => {
                    let mut metadata = tonic::metadata::MetadataMap::new();
                    for (name, value) in &settings.headers {
                        let key = tonic::metadata::MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes());
                        let value = tonic::metadata::MetadataValue::try_from(value.as_str());
                        match (key, value) {
                            (Ok(k), Ok(v)) => {
                                metadata.insert(k, v);
                            }
                            _ => {
                                return Err(BuildError::InvalidSetting {
                                    setting: "OTLP header",
                                    reason: format!("the value of header {name:?} is not valid gRPC metadata (visible ASCII only)"),
                                })
                            }
                        }
                    }
                    let mut b = builder
                        .with_tonic()
                        .with_endpoint(settings.endpoint.clone())
                        .with_timeout(settings.timeout)
                        .with_metadata(metadata)
                        .with_retry_policy(settings.retry.clone());
                    if settings.gzip {
                        b = b.with_compression(Compression::Gzip);
                    }
                    b.build().map_err(fail)?
                }
                OtlpProtocol::HttpProtobuf => {
                    let headers: HashMap<String, String> = settings.headers.iter().cloned().collect();
                    let mut b = builder
                        .with_http()
                        .with_endpoint(settings.endpoint.clone())
                        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                        .with_timeout(settings.timeout)
                        .with_headers(headers)
                        .with_retry_policy(settings.retry.clone());
                    if settings.gzip {
                        b = b.with_compression(Compression::Gzip);
                    }
                    b.build().map_err(fail)?
                }
            }
        };
        plug.announce(format!("otlp {} {}", protocol_name(settings.protocol), settings.endpoint));
        plug.add_push_exporter(RuntimeBound { inner, runtime, endpoint: settings.endpoint, failing: AtomicBool::new(false) });
        Ok(())
    }
}

fn protocol_name(p: OtlpProtocol) -> &'static str {
    match p {
        OtlpProtocol::Grpc => "grpc",
        OtlpProtocol::HttpProtobuf => "http/protobuf",
    }
}

/// Runs the OTLP exporter's requests on the pipeline's I/O runtime, whatever thread (and
/// whatever runtime, if any) the periodic reader calls it from, and reports failures once per
/// export rather than per data point.
struct RuntimeBound {
    inner: MetricExporter,
    runtime: Handle,
    endpoint: String,
    failing: AtomicBool,
}

impl PushMetricExporter for RuntimeBound {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        // The periodic reader calls this on its own thread, never inside a runtime.
        let result = self.runtime.block_on(self.inner.export(metrics));
        match &result {
            Err(e) => {
                self.failing.store(true, Ordering::Relaxed);
                tracing::warn!(target: "otel_pipeline::otlp", endpoint = %self.endpoint, error = %e,
                    "OTLP export failed after retries; this interval's data is dropped, the next export will try again");
            }
            Ok(()) if self.failing.swap(false, Ordering::Relaxed) => {
                tracing::info!(target: "otel_pipeline::otlp", endpoint = %self.endpoint, "OTLP export works again");
            }
            Ok(()) => {}
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(pairs: &[(&str, &str)]) -> Result<Settings, BuildError> {
        OtlpExporter::new().resolve(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_follow_the_otel_specification() {
        let s = resolve(&[]).unwrap();
        assert_eq!(s.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(s.endpoint, "http://localhost:4318/v1/metrics");
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        assert!(!s.gzip);
    }

    #[test]
    fn generic_endpoint_gets_the_signal_path_for_http_only() {
        let s = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")]).unwrap();
        assert_eq!(s.endpoint, "http://c:4318/v1/metrics");
        let s = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap();
        assert_eq!(s.endpoint, "http://c:4317");
        let s = resolve(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://c:9/custom"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:1")])
            .unwrap();
        assert_eq!(s.endpoint, "http://c:9/custom");
    }

    #[test]
    fn metrics_specific_variables_win_and_builder_wins_over_both() {
        let s = resolve(&[
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "250"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "9000"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=abc"),
        ])
        .unwrap();
        assert_eq!(s.timeout, Duration::from_millis(250));
        assert!(s.gzip);
        assert_eq!(s.headers, vec![("api-key".to_owned(), "abc".to_owned())]);
        let env = Env::from_pairs([("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
        let s = OtlpExporter::new().protocol(OtlpProtocol::Grpc).resolve(&env).unwrap();
        assert_eq!(s.protocol, OtlpProtocol::Grpc);
    }

    #[test]
    fn invalid_values_name_the_variable_and_the_accepted_values() {
        let cases = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "grpc, http/protobuf"),
            ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "brotli", "gzip, none"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "ten", "milliseconds"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317", "http://"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://c:4318", "TLS"),
        ];
        for (var, value, accepted) in cases {
            let msg = resolve(&[(var, value)]).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains(var) && msg.contains(value) && msg.contains(accepted), "{var}: {msg}");
        }
    }

    #[test]
    fn header_errors_and_debug_output_never_show_secret_values() {
        let msg = resolve(&[("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%zztopsecret")]).unwrap_err().to_string();
        assert!(msg.contains("OTEL_EXPORTER_OTLP_HEADERS") && !msg.contains("topsecret"), "{msg}");
        let msg = resolve(&[("OTEL_EXPORTER_OTLP_HEADERS", "bad name=topsecret")]).unwrap_err().to_string();
        assert!(msg.contains("bad name") && !msg.contains("topsecret"), "{msg}");
        let debug = format!("{:?}", OtlpExporter::new().header("x-api-key", "topsecret"));
        assert!(debug.contains("x-api-key") && !debug.contains("topsecret"), "{debug}");
    }
}
