//! The Prometheus pull exporter: an HTTP endpoint serving the text exposition format, with
//! names translated exactly as Prometheus translates OTLP.

pub mod conformance;
mod model;
pub mod naming;
mod negotiate;
mod proto;
mod server;
mod text;
#[cfg(feature = "prometheus-tls")]
mod tls;

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};
use otel_core::{BuildError, Exporter, Health, Plug, Problem};
use tokio::sync::watch;

pub use naming::{LabelNamer, MetricNamer, MetricType, TranslationStrategy};
pub use negotiate::{negotiate, Format, Negotiated};

/// How metrics are named and labelled in the exposition.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EncodeOptions {
    /// Metric name translation (strategy and namespace).
    pub metric_namer: MetricNamer,
    /// Attribute key translation.
    pub label_namer: LabelNamer,
    /// Add `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` and
    /// `otel_scope_<attribute>` labels to every series (default on).
    pub scope_labels: bool,
    /// Emit a `target_info` series carrying the resource attributes (default on).
    pub target_info: bool,
    /// Resource attributes (OTel keys) copied onto every series as labels, e.g.
    /// `["service.name", "deployment.environment"]`.
    pub resource_labels: Vec<String>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            metric_namer: MetricNamer::default(),
            label_namer: LabelNamer::default(),
            scope_labels: true,
            target_info: true,
            resource_labels: Vec::new(),
        }
    }
}

impl EncodeOptions {
    /// Options for a translation strategy, label names escaped (or not) the same way.
    pub fn with_strategy(strategy: TranslationStrategy) -> Self {
        let mut options = EncodeOptions::default();
        options.metric_namer.strategy = strategy;
        options.label_namer.utf8_allowed = !strategy.escapes();
        options
    }

    /// The same options for a scraper that cannot take UTF-8 names: UTF-8 strategies fall back
    /// to their underscore-escaping counterparts.
    fn escaped(&self) -> Option<Self> {
        let strategy = match self.metric_namer.strategy {
            TranslationStrategy::NoUTF8EscapingWithSuffixes => TranslationStrategy::UnderscoreEscapingWithSuffixes,
            TranslationStrategy::NoTranslation => TranslationStrategy::UnderscoreEscapingWithoutSuffixes,
            _ if !self.label_namer.utf8_allowed => return None,
            other => other,
        };
        let mut escaped = self.clone();
        escaped.metric_namer.strategy = strategy;
        escaped.label_namer.utf8_allowed = false;
        Some(escaped)
    }
}

const DEFAULT_HOST: &str = "127.0.0.1";
const DEFAULT_PORT: u16 = 9464;

/// Serves the pipeline's metrics for Prometheus to scrape.
///
/// The listen address comes from [`listen`](Self::listen), else `OTEL_EXPORTER_PROMETHEUS_HOST`
/// / `OTEL_EXPORTER_PROMETHEUS_PORT`, else `127.0.0.1:9464`. The endpoint answers `GET` and
/// `HEAD` on its path (`/metrics` by default) and stops when the pipeline shuts down.
///
/// ```
/// use otel_core::Telemetry;
/// use otel_exporters::PrometheusExporter;
///
/// let prometheus = PrometheusExporter::new().listen("127.0.0.1:0");
/// let scraper = prometheus.scraper();
/// let telemetry = Telemetry::builder().service_name("doc").exporter(prometheus).build()?;
/// telemetry.meter("doc").u64_counter("jobs.done").build().add(3, &[]);
///
/// let text = scraper.scrape_text()?;
/// assert!(text.contains("jobs_done_total{otel_scope_name=\"doc\"} 3\n"));
/// assert!(telemetry.endpoints()[0].starts_with("http://127.0.0.1:"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PrometheusExporter {
    listen: Option<String>,
    serve: bool,
    path: String,
    formats: Vec<Format>,
    access: server::Access,
    #[cfg(feature = "prometheus-tls")]
    tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    scraper: Scraper,
}

impl Default for PrometheusExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusExporter {
    /// An exporter with the default options.
    pub fn new() -> Self {
        PrometheusExporter {
            listen: None,
            serve: true,
            path: "/metrics".to_owned(),
            formats: Format::ALL.to_vec(),
            access: server::Access::Open,
            #[cfg(feature = "prometheus-tls")]
            tls: None,
            scraper: Scraper::new(EncodeOptions::default()),
        }
    }

    /// The `host:port` to listen on; port 0 picks a free port (see
    /// [`Telemetry::endpoints`](otel_core::Telemetry::endpoints)).
    pub fn listen(mut self, addr: impl Into<String>) -> Self {
        self.listen = Some(addr.into());
        self
    }

    /// The HTTP path of the endpoint (default `/metrics`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Don't start an HTTP server; scrape in-process through [`scraper`](Self::scraper).
    pub fn without_server(mut self) -> Self {
        self.serve = false;
        self
    }

    /// The formats offered to scrapers (default: all). Text 0.0.4 is always the fallback.
    pub fn formats(mut self, formats: &[Format]) -> Self {
        self.formats = formats.to_vec();
        self
    }

    /// Require `Authorization: Bearer <token>` (compared in constant time).
    pub fn bearer_token(mut self, token: impl AsRef<str>) -> Self {
        let credentials = token.as_ref().as_bytes().to_vec();
        self.access = server::Access::Header { scheme: "Bearer", credentials, challenge: "Bearer realm=\"metrics\"" };
        self
    }

    /// Require HTTP basic authentication (compared in constant time).
    pub fn basic_auth(mut self, user: impl AsRef<str>, password: impl AsRef<str>) -> Self {
        use base64::Engine as _;
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", user.as_ref(), password.as_ref()));
        self.access =
            server::Access::Header { scheme: "Basic", credentials: credentials.into_bytes(), challenge: "Basic realm=\"metrics\"" };
        self
    }

    /// Serve HTTPS with this PEM certificate chain and PEM private key (feature
    /// `prometheus-tls`).
    #[cfg(feature = "prometheus-tls")]
    pub fn tls(mut self, certificate_pem: impl Into<std::path::PathBuf>, private_key_pem: impl Into<std::path::PathBuf>) -> Self {
        self.tls = Some((certificate_pem.into(), private_key_pem.into()));
        self
    }

    /// Naming and labelling options.
    pub fn encode_options(self, options: EncodeOptions) -> Self {
        self.scraper.set_options(options);
        self
    }

    /// A handle that renders the current metrics in-process, usable once the pipeline is built.
    pub fn scraper(&self) -> Scraper {
        self.scraper.clone()
    }

    fn address(&self, plug: &Plug) -> Result<String, BuildError> {
        if let Some(addr) = &self.listen {
            return Ok(addr.clone());
        }
        let env = plug.env();
        let host = env.get("OTEL_EXPORTER_PROMETHEUS_HOST").unwrap_or_else(|| DEFAULT_HOST.to_owned());
        let port = match env.get("OTEL_EXPORTER_PROMETHEUS_PORT") {
            None => DEFAULT_PORT,
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| BuildError::invalid_env("OTEL_EXPORTER_PROMETHEUS_PORT", &p, "a port number from 0 to 65535"))?,
        };
        Ok(if host.contains(':') && !host.starts_with('[') { format!("[{host}]:{port}") } else { format!("{host}:{port}") })
    }
}

impl Exporter for PrometheusExporter {
    fn name(&self) -> &'static str {
        "prometheus"
    }

    fn attach(self: Box<Self>, plug: &mut Plug) -> Result<(), BuildError> {
        if !self.path.starts_with('/') {
            return Err(BuildError::InvalidSetting { setting: "path", reason: format!("{:?} must start with `/`", self.path) });
        }
        let _ = self.scraper.shared.health.set(plug.health().clone());
        plug.add_pull_reader(self.scraper.clone());
        if !self.serve {
            return Ok(());
        }
        let requested = self.address(plug)?;
        let bind_error = |source| BuildError::Bind { addr: requested.clone(), purpose: "the Prometheus endpoint", source };
        let listener = TcpListener::bind(requested.as_str()).map_err(bind_error)?;
        let local: SocketAddr = listener.local_addr().map_err(bind_error)?;
        let runtime = crate::runtime::handle("prometheus")?;
        #[cfg(feature = "prometheus-tls")]
        let tls = match &self.tls {
            Some((cert, key)) => Some(tls::acceptor(cert, key)?),
            None => None,
        };
        #[cfg(feature = "prometheus-tls")]
        let scheme = if tls.is_some() { "https" } else { "http" };
        #[cfg(not(feature = "prometheus-tls"))]
        let scheme = "http";
        let endpoint = server::Endpoint {
            path: self.path.clone(),
            #[cfg(feature = "prometheus-tls")]
            tls,
            access: self.access.clone(),
            formats: self.formats.clone(),
            scraper: self.scraper.clone(),
        };
        server::spawn(&runtime, listener, endpoint).map_err(bind_error)?;
        plug.announce(format!("{scheme}://{local}{}", self.path));
        Ok(())
    }
}

/// Why a scrape produced no output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScrapeError {
    /// The scraper's exporter was never attached to a pipeline, or the pipeline is shut down.
    #[error("no metrics to scrape: {0}")]
    NotCollecting(String),
}

/// Encoding options, and the same for scrapers that cannot take UTF-8 names when they differ.
struct Naming {
    options: EncodeOptions,
    escaped: Option<EncodeOptions>,
}

impl Naming {
    fn new(options: EncodeOptions) -> Self {
        Naming { escaped: options.escaped(), options }
    }
}

/// Collects and encodes the pipeline's metrics on demand. Cheap to clone; it is also the
/// pipeline's reader (cumulative temporality, as a pull endpoint requires).
#[derive(Clone)]
pub struct Scraper {
    shared: Arc<Shared>,
}

struct Shared {
    reader: ManualReader,
    /// Set before the pipeline is built; read at each scrape.
    naming: RwLock<Arc<Naming>>,
    /// One collection at a time: concurrent scrapes wait instead of collecting in parallel.
    collect: Mutex<ResourceMetrics>,
    /// The pipeline's problem counters, known once the exporter is attached.
    health: OnceLock<Health>,
    last_size: AtomicUsize,
    stopped: watch::Sender<bool>,
}

impl fmt::Debug for Scraper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scraper").field("options", &self.naming().options).finish_non_exhaustive()
    }
}

impl Scraper {
    fn new(options: EncodeOptions) -> Self {
        let reader = ManualReader::builder().with_temporality(Temporality::Cumulative).build();
        let (stopped, _) = watch::channel(false);
        Scraper {
            shared: Arc::new(Shared {
                reader,
                naming: RwLock::new(Arc::new(Naming::new(options))),
                collect: Mutex::new(ResourceMetrics::default()),
                health: OnceLock::new(),
                last_size: AtomicUsize::new(0),
                stopped,
            }),
        }
    }

    fn naming(&self) -> Arc<Naming> {
        self.shared.naming.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_options(&self, options: EncodeOptions) {
        *self.shared.naming.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Naming::new(options));
    }

    /// The current metrics in `format`, with names escaped to the classic character set.
    pub fn scrape(&self, format: Format) -> Result<Vec<u8>, ScrapeError> {
        self.scrape_negotiated(Negotiated { format, utf8_names: false })
    }

    /// The current metrics as negotiated with a scraper (see [`negotiate`]).
    pub fn scrape_negotiated(&self, negotiated: Negotiated) -> Result<Vec<u8>, ScrapeError> {
        let naming = self.naming();
        let options = match (&naming.escaped, negotiated.utf8_names) {
            (Some(escaped), false) => escaped,
            _ => &naming.options,
        };
        // Start at the last scrape's size so the buffer rarely grows (and copies) mid-encode.
        let mut out = Vec::with_capacity(self.shared.last_size.load(Ordering::Relaxed).max(4096) + 4096);
        let mut issues = model::Issues::default();
        {
            let mut metrics = self.shared.collect.lock().unwrap_or_else(|p| p.into_inner());
            self.shared.reader.collect(&mut metrics).map_err(|e| ScrapeError::NotCollecting(e.to_string()))?;
            let mut writer: Box<dyn model::Writer + '_> = match negotiated.format {
                Format::Text => Box::new(text::TextWriter::new(&mut out, false, negotiated.utf8_names)),
                Format::OpenMetrics => Box::new(text::TextWriter::new(&mut out, true, negotiated.utf8_names)),
                Format::Protobuf => Box::new(proto::ProtoWriter::new(&mut out)),
            };
            model::walk(&metrics, options, writer.as_mut(), &mut issues);
        }
        self.shared.last_size.store(out.len(), Ordering::Relaxed);
        self.report(issues);
        Ok(out)
    }

    /// The current metrics in the text format 0.0.4, as a `String`.
    pub fn scrape_text(&self) -> Result<String, ScrapeError> {
        // The text writer writes only `&str` pieces, so the bytes are UTF-8.
        Ok(String::from_utf8_lossy(&self.scrape(Format::Text)?).into_owned())
    }

    /// Counts what the scrape left out in the pipeline's self-metrics
    /// (`otel_pipeline_exposition_dropped_total{reason}`), logging a bounded number of them.
    fn report(&self, issues: model::Issues) {
        let health = self.shared.health.get().cloned().unwrap_or_default();
        for (reason, subject, n, message) in issues.drain() {
            health.report(Problem::Exposition, reason, &subject, n, || message);
        }
    }

    pub(crate) fn stopped(&self) -> watch::Receiver<bool> {
        self.shared.stopped.subscribe()
    }
}

impl MetricReader for Scraper {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.shared.reader.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.shared.reader.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shared.stopped.send_replace(true);
        match self.shared.reader.shutdown_with_timeout(timeout) {
            Err(OTelSdkError::AlreadyShutdown) | Ok(()) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn temporality(&self, _kind: InstrumentKind) -> Temporality {
        Temporality::Cumulative
    }
}
