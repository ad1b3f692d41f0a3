//! The line-protocol exporter: the pipeline's metrics as InfluxDB line protocol, POSTed to a
//! write endpoint (VictoriaMetrics `/write`, InfluxDB, Telegraf) or written to a file.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use otel_core::export::{redact_urls, Exporter, Plug};
use otel_core::BuildError;

use crate::exposition::Scraper;
use crate::push::atomic_file::{AtomicFile, ReplaceError};
use crate::push::periodic::{self, Sink};
use crate::push::sender::{Patience, RetryPolicy, TextPush};
use crate::source::Source;
use crate::EncodeOptions;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes the pipeline's metrics as InfluxDB line protocol every interval and at shutdown, to an
/// `http(s)://` write URL (POST) or to a file (rewritten atomically).
///
/// Each Prometheus sample becomes one line whose measurement and field are the sample name
/// split at its last `_` (`orders_placed_total` → `orders_placed` field `total`; histogram
/// buckets carry an `le` tag), so a store that names series `<measurement>_<field>`, such as
/// VictoriaMetrics, holds exactly the names a scrape would. Labels become tags.
///
/// Settings: the builder, else `OTEL_EXPORTER_INFLUX_ENDPOINT` (a URL or a file path) and
/// `OTEL_EXPORTER_INFLUX_INTERVAL` (ms, default: the pipeline's export interval). The
/// snapshot's JSON ([`Telemetry::snapshot`](otel_core::Telemetry::snapshot)) is the JSON form.
#[derive(Clone)]
pub struct InfluxExporter {
    endpoint: Option<String>,
    interval: Option<Duration>,
    timeout: Option<Duration>,
    retry: RetryPolicy,
    options: EncodeOptions,
}

impl fmt::Debug for InfluxExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InfluxExporter")
            .field("endpoint", &self.endpoint.as_deref().map(redact_urls))
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Default for InfluxExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl InfluxExporter {
    /// An exporter configured from the environment (and defaults).
    pub fn new() -> Self {
        InfluxExporter {
            endpoint: None,
            interval: None,
            timeout: None,
            retry: RetryPolicy::default(),
            options: EncodeOptions { target_info: false, ..EncodeOptions::default() },
        }
    }

    /// Where to write: an `http://` / `https://` write URL (e.g. VictoriaMetrics'
    /// `http://vm:8428/write`), or a file path.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// How often to write (default: the pipeline's export interval).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// The timeout of one HTTP write (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How failed HTTP writes are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Naming and labelling options, as for the pull endpoint.
    pub fn encode_options(mut self, options: EncodeOptions) -> Self {
        self.options = options;
        self
    }
}

/// Where the lines go.
enum Destination {
    Http(Box<TextPush>),
    File(AtomicFile),
}

struct LineWriter {
    destination: Destination,
}

impl Sink for LineWriter {
    const NAME: &'static str = "influx";
    const COMPONENT: &'static str = "influx_metric_exporter";

    fn deliver(&self, scraper: &Scraper) -> Result<(), (&'static str, String)> {
        match &self.destination {
            Destination::File(file) => match file.replace(|| scraper.scrape_line_protocol()) {
                Ok(()) | Err(ReplaceError::Content(_)) => Ok(()),
                Err(ReplaceError::Io(e)) => {
                    Err(("influx_write", format!("cannot write {}: {e}; the previous file is left as it was", file.path().display())))
                }
            },
            Destination::Http(write) => {
                let Ok(lines) = scraper.scrape_line_protocol() else { return Ok(()) };
                write.send(Method::POST, Bytes::from(lines))
            }
        }
    }
}

/// A program's exporter keeps what it set; a configuration file's fills the rest.
#[cfg(feature = "config-file")]
impl crate::selection::from_file::OrFile for InfluxExporter {
    fn or_file(self, file: InfluxExporter) -> Self {
        InfluxExporter {
            endpoint: self.endpoint.or(file.endpoint),
            interval: self.interval.or(file.interval),
            timeout: self.timeout.or(file.timeout),
            ..self
        }
    }
}

impl Exporter for InfluxExporter {
    fn name(&self) -> &'static str {
        "influx"
    }

    fn attach(self: Box<Self>, plug: &mut Plug) -> Result<(), BuildError> {
        let env = plug.env();
        let (endpoint, source) =
            Source::pick(self.endpoint.clone(), "endpoint", env, &["OTEL_EXPORTER_INFLUX_ENDPOINT"]).ok_or_else(|| {
                BuildError::InvalidSetting {
                setting: "endpoint",
                reason:
                    "the influx exporter needs a write URL or a file: set OTEL_EXPORTER_INFLUX_ENDPOINT or call InfluxExporter::endpoint"
                        .into(),
            }
            })?;
        let interval = match self.interval {
            Some(i) if i.is_zero() => {
                return Err(BuildError::InvalidSetting { setting: "interval", reason: "must be longer than zero".into() })
            }
            Some(i) => i,
            None => env.millis(&["OTEL_EXPORTER_INFLUX_INTERVAL"])?.unwrap_or(plug.export_interval()),
        };
        let destination = match endpoint.split_once("://") {
            Some(("http" | "https", _)) => {
                let write = TextPush::new(
                    "influx",
                    &endpoint,
                    &source,
                    "text/plain; charset=utf-8",
                    None,
                    Patience {
                        timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
                        retry: self.retry.clone(),
                        deadline: plug.shutdown_deadline(),
                    },
                )?;
                plug.announce(format!("influx {}", write.shown));
                Destination::Http(Box::new(write))
            }
            Some((scheme, _)) => {
                return Err(source.error(&format!("an http:// or https:// write URL, or a file path ({scheme}:// is not supported)")))
            }
            None => {
                let path = PathBuf::from(&endpoint);
                let (Some(dir), Some(_)) = (path.parent(), path.file_name()) else {
                    return Err(source.error("an http:// or https:// write URL, or a file path"));
                };
                let dir = if dir.as_os_str().is_empty() { std::path::Path::new(".") } else { dir };
                if !dir.is_dir() {
                    return Err(source.error(&format!("a file in a directory that exists: create {}", dir.display())));
                }
                plug.announce(path.display().to_string());
                Destination::File(AtomicFile::new(path))
            }
        };
        periodic::attach(plug, Scraper::new(self.options.clone()), Arc::new(LineWriter { destination }), Some(interval))
    }
}
