//! OTLP push over gRPC or HTTP/protobuf.
//!
//! Every setting is resolved here, in one place, from the builder, then the metrics-specific
//! variable, then the generic one, then the default; the transport itself reads no environment.

mod direct;
mod exemplars;
mod transport;

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hyper::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use hyper::Uri;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use otel_core::export::{redact_urls, Exporter, Health, Plug, Problem};
use otel_core::{BuildError, Env};
use prost::Message as _;
use tokio::runtime::Handle;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::push::sender::{client_tls, system_roots, UrlParts};
use crate::source::Source;

use crate::push::sender::{Patience, RetryPolicy};
use transport::Transport;

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
/// Each setting comes from the builder, else from the metrics-specific variable, else from the
/// generic one (`OTEL_EXPORTER_OTLP_METRICS_HEADERS` before `OTEL_EXPORTER_OTLP_HEADERS`), else
/// the default: `_ENDPOINT`, `_PROTOCOL` (`grpc`, `http/protobuf`), `_HEADERS`, `_TIMEOUT` (ms),
/// `_COMPRESSION` (`gzip`, `none`), `_CERTIFICATE` (a PEM CA file for `https` endpoints; the
/// system roots otherwise), `_CLIENT_CERTIFICATE` and `_CLIENT_KEY` (mutual TLS), and
/// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (`cumulative`, `delta`, `lowmemory`).
/// Headers merge by name: a header given to the builder replaces the same header from the
/// environment. Variables are read through the pipeline's [`Env`], never behind its back.
///
/// A collector that is down never blocks or crashes the application: the failed export is
/// retried with backoff, then logged once for that interval and counted in
/// `otel_pipeline_export_failed_total{reason}`. Header values and URL credentials are never
/// logged or shown in errors and `Debug` output.
#[derive(Clone, Default)]
pub struct OtlpExporter {
    endpoint: Option<String>,
    protocol: Option<OtlpProtocol>,
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
    gzip: Option<bool>,
    retry: Option<RetryPolicy>,
    ca_certificate: Option<PathBuf>,
    client_identity: Option<(PathBuf, PathBuf)>,
    temporality: Option<Temporality>,
    interval: Option<Duration>,
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("OtlpExporter")
            .field("endpoint", &self.endpoint.as_deref().map(redact_urls))
            .field("protocol", &self.protocol)
            .field("header_names", &header_names)
            .field("timeout", &self.timeout)
            .field("gzip", &self.gzip)
            .field("ca_certificate", &self.ca_certificate)
            .field("temporality", &self.temporality)
            .finish_non_exhaustive()
    }
}

impl OtlpExporter {
    /// An exporter configured entirely from the environment (and defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// The collector URL (`http://` or `https://`). For gRPC, `http://host:4317`; for HTTP, the
    /// full URL including `/v1/metrics`. Credentials in the URL (`https://user:password@host`)
    /// are sent as basic authentication and never printed.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The transport.
    pub fn protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// A request header (gRPC metadata), e.g. an API key, sent exactly as given. Never logged.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The timeout of one export attempt (default 10 s).
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

    /// Trust this PEM CA certificate (file) for `https` endpoints instead of the system roots.
    pub fn ca_certificate(mut self, pem: impl Into<PathBuf>) -> Self {
        self.ca_certificate = Some(pem.into());
        self
    }

    /// Present this PEM certificate chain and private key to the collector (mutual TLS).
    pub fn client_certificate(mut self, certificate_pem: impl Into<PathBuf>, key_pem: impl Into<PathBuf>) -> Self {
        self.client_identity = Some((certificate_pem.into(), key_pem.into()));
        self
    }

    /// Cumulative (the default), delta, or low-memory (delta for synchronous counters and
    /// histograms) temporality.
    pub fn temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = Some(temporality);
        self
    }

    /// How often this exporter exports (default: the pipeline's
    /// [`export_interval`](otel_core::TelemetryBuilder::export_interval)).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    fn resolve(&self, env: &Env) -> Result<Settings, BuildError> {
        let protocol = match self.protocol {
            Some(p) => p,
            None => match env.choice(&vars::PROTOCOL, &["grpc", "http/protobuf"])?.as_deref() {
                Some("grpc") => OtlpProtocol::Grpc,
                _ => OtlpProtocol::HttpProtobuf,
            },
        };
        let (endpoint, source) = match &self.endpoint {
            Some(url) => (url.clone(), Source::Builder("endpoint")),
            None => match env.first(&["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]) {
                Some((var, url)) => (url.clone(), Source::Env(var, Some(redact_urls(&url)))),
                None => match env.first(&["OTEL_EXPORTER_OTLP_ENDPOINT"]) {
                    Some((var, base)) => {
                        let shown = redact_urls(&base);
                        let url = match protocol {
                            OtlpProtocol::Grpc => base,
                            OtlpProtocol::HttpProtobuf => format!("{}/v1/metrics", base.trim_end_matches('/')),
                        };
                        (url, Source::Env(var, Some(shown)))
                    }
                    None => match protocol {
                        OtlpProtocol::Grpc => ("http://localhost:4317".to_owned(), Source::Builder("endpoint")),
                        OtlpProtocol::HttpProtobuf => ("http://localhost:4318/v1/metrics".to_owned(), Source::Builder("endpoint")),
                    },
                },
            },
        };
        let target = Target::parse(&endpoint, protocol, &source)?;
        let gzip = match self.gzip {
            Some(on) => on,
            None => env.choice(&vars::COMPRESSION, &["gzip", "none"])?.as_deref() == Some("gzip"),
        };
        let timeout = match self.timeout {
            Some(t) if t.is_zero() => {
                return Err(BuildError::InvalidSetting { setting: "timeout", reason: "must be longer than zero".into() })
            }
            Some(t) => t,
            None => env.millis(&vars::TIMEOUT)?.unwrap_or(DEFAULT_TIMEOUT),
        };
        let temporality = match self.temporality {
            Some(t) => t,
            None => match env.choice(&vars::TEMPORALITY, &["cumulative", "delta", "lowmemory"])?.as_deref() {
                Some("delta") => Temporality::Delta,
                Some("lowmemory") => Temporality::LowMemory,
                _ => Temporality::Cumulative,
            },
        };
        let headers = self.headers(env, target.basic_auth.as_deref())?;
        let ca = match &self.ca_certificate {
            Some(path) => Some((path.clone(), Source::Builder("ca_certificate"))),
            None => env.first(&vars::CERTIFICATE).map(|(var, path)| (PathBuf::from(&path), Source::Env(var, Some(path)))),
        };
        let identity = match &self.client_identity {
            Some((cert, key)) => Some((cert.clone(), key.clone(), Source::Builder("client_certificate"))),
            None => match (env.first(&vars::CLIENT_CERTIFICATE), env.first(&vars::CLIENT_KEY)) {
                (Some((var, cert)), Some((_, key))) => Some((PathBuf::from(&cert), PathBuf::from(key), Source::Env(var, Some(cert)))),
                (Some((var, value)), None) => {
                    return Err(BuildError::invalid_env(
                        var,
                        &value,
                        "a client certificate together with OTEL_EXPORTER_OTLP_CLIENT_KEY (or its METRICS_ form): the key is not set",
                    ))
                }
                (None, Some((var, value))) => return Err(BuildError::invalid_env(
                    var,
                    &value,
                    "a client key together with OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE (or its METRICS_ form): the certificate is not set",
                )),
                (None, None) => None,
            },
        };
        let tls = tls_config(ca.as_ref(), identity.as_ref(), target.https)?;
        Ok(Settings { target, protocol, headers, timeout, gzip, retry: self.retry.clone().unwrap_or_default(), tls, temporality })
    }

    /// Environment headers, then builder headers replacing those of the same name; each name
    /// and value checked, errors naming where it came from and the header, never the value.
    fn headers(&self, env: &Env, basic_auth: Option<&str>) -> Result<HeaderMap, BuildError> {
        let mut map = HeaderMap::new();
        let mut add = |name: &str, value: &str, source: &Source| -> Result<(), BuildError> {
            let header = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                source.error(&format!("header name {name:?} is not a valid HTTP header name (letters, digits, `-`, `_`, `.`)"))
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                source.error(&format!("the value of header {name:?} contains a control character (newline, NUL, ...); remove it"))
            })?;
            map.insert(header, value);
            Ok(())
        };
        if let Some((var, _)) = env.first(&vars::HEADERS) {
            for (name, value) in env.key_values(&[var], true)? {
                add(&name, &value, &Source::Env(var, None))?;
            }
        }
        for (name, value) in &self.headers {
            add(name, value, &Source::Builder("header"))?;
        }
        if let Some(credentials) = basic_auth {
            if !map.contains_key(AUTHORIZATION) {
                let mut value = HeaderValue::from_str(&crate::push::sender::basic_authorization(credentials)).map_err(|_| {
                    BuildError::InvalidSetting { setting: "endpoint", reason: "the URL's credentials cannot be sent".into() }
                })?;
                value.set_sensitive(true);
                map.insert(AUTHORIZATION, value);
            }
        }
        for value in map.values_mut() {
            value.set_sensitive(true);
        }
        Ok(map)
    }
}

/// The variables behind each setting, the metrics-specific one first.
mod vars {
    pub(super) const PROTOCOL: [&str; 2] = ["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"];
    pub(super) const COMPRESSION: [&str; 2] = ["OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"];
    pub(super) const TIMEOUT: [&str; 2] = ["OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"];
    pub(super) const HEADERS: [&str; 2] = ["OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"];
    pub(super) const CERTIFICATE: [&str; 2] = ["OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"];
    pub(super) const CLIENT_CERTIFICATE: [&str; 2] =
        ["OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"];
    pub(super) const CLIENT_KEY: [&str; 2] = ["OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY"];
    pub(super) const TEMPORALITY: [&str; 1] = ["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"];
}

/// A parsed endpoint: the URI requests go to (without credentials), its printable form, and
/// the credentials it carried.
struct Target {
    uri: Uri,
    shown: String,
    https: bool,
    basic_auth: Option<String>,
}

impl Target {
    fn parse(url: &str, protocol: OtlpProtocol, source: &Source) -> Result<Target, BuildError> {
        let shown = redact_urls(url);
        let invalid = |why: &str| source.invalid(&shown, &format!("an http:// or https:// URL such as http://localhost:4317 ({why})"));
        let parts = UrlParts::split(url).map_err(invalid)?;
        let path = match protocol {
            OtlpProtocol::Grpc => GRPC_EXPORT_PATH,
            OtlpProtocol::HttpProtobuf if parts.path.is_empty() => "/",
            OtlpProtocol::HttpProtobuf => parts.path,
        };
        let uri = parts.uri(path).map_err(invalid)?;
        let (https, basic_auth) = (parts.https, parts.userinfo);
        Ok(Target { uri, shown, https, basic_auth })
    }
}

/// The gRPC method every export calls (any path in a gRPC endpoint URL is ignored).
const GRPC_EXPORT_PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// The TLS client configuration: the CA file or the system roots, and an optional client
/// certificate. Only built for `https` endpoints; a plain one gets an empty trust store.
fn tls_config(
    ca: Option<&(PathBuf, Source)>,
    identity: Option<&(PathBuf, PathBuf, Source)>,
    https: bool,
) -> Result<ClientConfig, BuildError> {
    let mut roots = RootCertStore::empty();
    if https {
        match ca {
            Some((path, source)) => {
                for cert in crate::pem::certificates(path).map_err(|e| source.error(&e))? {
                    roots.add(cert).map_err(|e| source.error(&format!("{} is not a usable CA certificate: {e}", path.display())))?;
                }
            }
            None => {
                roots = system_roots();
                if roots.is_empty() {
                    return Err(BuildError::Exporter {
                        exporter: "otlp",
                        reason: "no system root certificates were found for the https endpoint; install ca-certificates or set OTEL_EXPORTER_OTLP_CERTIFICATE to the collector's CA".into(),
                    });
                }
            }
        }
    }
    match identity {
        Some((cert, key, source)) if https => {
            let chain = crate::pem::certificates(cert).map_err(|e| source.error(&e))?;
            let key = crate::pem::private_key(key).map_err(|e| source.error(&e))?;
            client_tls("otlp", roots, Some((chain, key))).map_err(|e| source.error(&e))
        }
        _ => client_tls("otlp", roots, None).map_err(|reason| BuildError::Exporter { exporter: "otlp", reason }),
    }
}

struct Settings {
    target: Target,
    protocol: OtlpProtocol,
    headers: HeaderMap,
    timeout: Duration,
    gzip: bool,
    retry: RetryPolicy,
    tls: rustls::ClientConfig,
    temporality: Temporality,
}

/// A program's exporter keeps what it set; a configuration file's fills the rest.
#[cfg(feature = "config-file")]
impl crate::selection::from_file::OrFile for OtlpExporter {
    fn or_file(self, file: OtlpExporter) -> Self {
        OtlpExporter {
            endpoint: self.endpoint.or(file.endpoint),
            protocol: self.protocol.or(file.protocol),
            headers: if self.headers.is_empty() { file.headers } else { self.headers },
            timeout: self.timeout.or(file.timeout),
            gzip: self.gzip.or(file.gzip),
            retry: self.retry.or(file.retry),
            ca_certificate: self.ca_certificate.or(file.ca_certificate),
            client_identity: self.client_identity.or(file.client_identity),
            temporality: self.temporality.or(file.temporality),
            interval: self.interval.or(file.interval),
        }
    }
}

impl Exporter for OtlpExporter {
    fn name(&self) -> &'static str {
        "otlp"
    }

    fn attach(self: Box<Self>, plug: &mut Plug) -> Result<(), BuildError> {
        let settings = self.resolve(plug.env())?;
        let runtime = crate::runtime::handle("otlp")?;
        let shown = settings.target.shown.clone();
        let transport = {
            // The pool's connections live on the I/O runtime.
            let _context = runtime.enter();
            Transport::new(
                settings.tls,
                settings.target.uri,
                settings.protocol,
                settings.headers,
                settings.gzip,
                Patience { timeout: settings.timeout, retry: settings.retry, deadline: plug.shutdown_deadline() },
            )
        };
        plug.announce(format!("otlp {} {shown}", protocol_name(settings.protocol)));
        let interval = self.interval.unwrap_or_else(|| plug.export_interval());
        // Cumulative series can be added from the pipeline's cells as they are; with delta
        // temporality the SDK keeps every histogram (and computes the deltas).
        let direct = (settings.temporality == Temporality::Cumulative).then(|| plug.direct_series().clone());
        let component = component_type(settings.protocol);
        // Its exported count starts at 0: a rate is right from the first export, and the SDK's
        // collection is never empty (the periodic reader exports nothing after an empty one).
        plug.health().export_expected(component);
        let push = OtlpPush {
            direct,
            transport,
            runtime,
            shown,
            temporality: settings.temporality,
            failing: AtomicBool::new(false),
            health: plug.health().clone(),
            exemplars: plug.exemplars().clone(),
        };
        plug.add_push_exporter_every(push, interval);
        Ok(())
    }
}

/// The likely cause of a failure that comes from talking to the collector's port of the other
/// protocol, and the fix: the connection was made, but what came back (or the way it ended) was
/// not the protocol spoken. Which of hyper's errors that is varies from run to run ("invalid HTTP
/// version parsed", "received unexpected message from connection", "connection was not ready",
/// "connection closed"), so any failure after the connection was established counts; a refused
/// or unresolvable connection (`Connect`) does not.
fn protocol_hint(protocol: OtlpProtocol, message: &str) -> Option<&'static str> {
    let answered_otherwise =
        message.contains("no grpc-status") || (message.contains("client error (") && !message.contains("client error (Connect)"));
    match protocol {
        _ if !answered_otherwise => None,
        OtlpProtocol::HttpProtobuf => Some(
            "the server there may not speak HTTP/1.1 (a gRPC port such as 4317?): use the collector's HTTP port \
             (4318, path /v1/metrics), or set OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
        ),
        OtlpProtocol::Grpc => Some(
            "the server there may not speak gRPC (an HTTP port such as 4318?): use the collector's gRPC port (4317), \
             or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf with a URL ending in /v1/metrics",
        ),
    }
}

#[cfg(test)]
#[test]
fn the_protocol_hint_follows_every_failure_after_connecting_and_none_before() {
    for after in [
        "client error (SendRequest): invalid HTTP version parsed",
        "client error (SendRequest): received unexpected message from connection",
        "client error (Canceled): operation was canceled: connection was not ready",
        "client error (Canceled): operation was canceled: connection closed",
        "the answer has no grpc-status: is this a gRPC endpoint?",
    ] {
        assert!(
            protocol_hint(OtlpProtocol::HttpProtobuf, after).is_some_and(|h| h.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc")),
            "{after}"
        );
        assert!(
            protocol_hint(OtlpProtocol::Grpc, after).is_some_and(|h| h.contains("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf")),
            "{after}"
        );
    }
    let refused = "client error (Connect): tcp connect error: Connection refused (os error 111)";
    assert_eq!(protocol_hint(OtlpProtocol::Grpc, refused), None);
    assert_eq!(protocol_hint(OtlpProtocol::HttpProtobuf, "HTTP 503 Service Unavailable: busy"), None);
}

/// The exporter's `otel.component.type` in the self-metrics.
fn component_type(protocol: OtlpProtocol) -> &'static str {
    match protocol {
        OtlpProtocol::Grpc => "otlp_grpc_metric_exporter",
        OtlpProtocol::HttpProtobuf => "otlp_http_metric_exporter",
    }
}

fn protocol_name(p: OtlpProtocol) -> &'static str {
    match p {
        OtlpProtocol::Grpc => "grpc",
        OtlpProtocol::HttpProtobuf => "http/protobuf",
    }
}

/// The push side: encodes each collection and sends it on the pipeline's I/O runtime, whatever
/// thread (and whatever runtime, if any) the periodic reader calls it from; failures are logged
/// once per export and counted, never per data point.
struct OtlpPush {
    transport: Transport,
    runtime: Handle,
    /// The endpoint without credentials.
    shown: String,
    temporality: Temporality,
    failing: AtomicBool,
    health: Health,
    exemplars: otel_core::export::Exemplars,
    /// The histograms kept in the pipeline's cells, when this exporter writes them.
    direct: Option<otel_core::export::DirectSeries>,
}

impl PushMetricExporter for OtlpPush {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let started = std::time::Instant::now();
        let mut request = ExportMetricsServiceRequest::from(metrics);
        let direct_points = self.direct.as_ref().map_or(0, |direct| direct::add(&mut request, direct));
        exemplars::add(&mut request, &self.exemplars);
        let message = request.encode_to_vec();
        // The periodic reader calls this on its own thread; should any caller drive a runtime of
        // its own, the export waits on a helper thread instead of panicking.
        let result = crate::push::sender::block_on_io(&self.runtime, self.transport.export(message));
        let error = result.as_ref().err().map(|f| f.reason);
        let points = otel_core::export::data_points(metrics) + direct_points;
        self.health.export_finished(component_type(self.transport.protocol), points, started.elapsed().as_secs_f64(), error);
        match result {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(target: "otel_pipeline::otlp", endpoint = %self.shown, "OTLP export works again");
                }
                Ok(())
            }
            Err(failure) => {
                self.failing.store(true, Ordering::Relaxed);
                self.health.add(Problem::Export, failure.reason, 1);
                let detail = match protocol_hint(self.transport.protocol, &failure.message) {
                    Some(hint) => format!("{}; {hint}", failure.message),
                    None => failure.message,
                };
                let consequence = if self.transport.shutting_down() {
                    "the final export at shutdown failed: this data is lost"
                } else {
                    "this interval's data is dropped, the next export will try again"
                };
                otel_core::export::warn(&format!("OTLP export to {} failed ({}): {detail}; {consequence}", self.shown, failure.reason));
                let message = format!("OTLP export to {} failed: {detail}", self.shown);
                self.health.export_failed(message.clone());
                Err(OTelSdkError::InternalFailure(message))
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

#[cfg(test)]
mod tests;
