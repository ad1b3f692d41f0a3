//! The exporter a pipeline attaches: settings, the listen address, and starting the endpoint.

use std::net::SocketAddr;

use otel_core::export::{Exporter, Plug};
use otel_core::BuildError;

use super::server;
#[cfg(feature = "prometheus-tls")]
use super::tls;
use crate::exposition::negotiate::Format;
use crate::exposition::options::EncodeOptions;
use crate::exposition::scraper::Scraper;

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
    /// The options given to [`encode_options`](Self::encode_options), if any.
    options: Option<EncodeOptions>,
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
            options: None,
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

    /// Whether it starts an HTTP server of its own.
    #[cfg(feature = "config-file")]
    pub(crate) fn serves(&self) -> bool {
        self.serve
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
    #[cfg_attr(docsrs, doc(cfg(feature = "prometheus-tls")))]
    pub fn tls(mut self, certificate_pem: impl Into<std::path::PathBuf>, private_key_pem: impl Into<std::path::PathBuf>) -> Self {
        self.tls = Some((certificate_pem.into(), private_key_pem.into()));
        self
    }

    /// Naming and labelling options.
    pub fn encode_options(mut self, options: EncodeOptions) -> Self {
        self.scraper.set_options(options.clone());
        self.options = Some(options);
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

/// A program's exporter keeps what it set; a configuration file's fills the rest.
#[cfg(feature = "config-file")]
impl crate::selection::from_file::OrFile for PrometheusExporter {
    fn or_file(mut self, file: PrometheusExporter) -> Self {
        self.listen = self.listen.or(file.listen);
        if let (None, Some(options)) = (&self.options, file.options) {
            self = self.encode_options(options);
        }
        self
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
        self.scraper.attach_to(plug);
        plug.add_pull_reader(self.scraper.clone());
        if !self.serve {
            return Ok(());
        }
        let requested = self.address(plug)?;
        let bind_error = |source| BuildError::Bind { addr: requested.clone(), purpose: "the Prometheus endpoint", source };
        let listener = server::bind(&requested).map_err(bind_error)?;
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
