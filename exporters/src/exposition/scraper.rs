//! Collecting and encoding on demand: the reader a pull endpoint (or an in-process caller)
//! scrapes through.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};
use otel_core::export::{Health, Problem};
use tokio::sync::watch;

use super::naming::Escaping;
use super::negotiate::{Format, Negotiated};
use super::options::EncodeOptions;
use super::{issues, proto, text, walk, writer};

/// Why a scrape produced no output.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ScrapeError {
    /// The scraper's exporter was never attached to a pipeline, or the pipeline is shut down.
    #[error("no metrics to scrape: {0}")]
    NotCollecting(String),
}

/// A scrape as an HTTP answer: see [`Scraper::respond`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Exposition {
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The `Content-Encoding` header, when compressed.
    pub content_encoding: Option<&'static str>,
    /// The body.
    pub body: Vec<u8>,
}

/// Encoding options, and the same for each escaping scheme a scraper can ask for, where they
/// differ (`underscores`, `dots`, `values`).
struct Naming {
    options: EncodeOptions,
    escaped: [Option<EncodeOptions>; 3],
}

impl Naming {
    pub(crate) fn new(options: EncodeOptions) -> Self {
        let escaped = [Escaping::Underscores, Escaping::Dots, Escaping::Values].map(|e| options.for_escaping(e));
        Naming { escaped, options }
    }

    /// The options for a scraper that asked for `escaping`.
    fn for_escaping(&self, escaping: Escaping) -> &EncodeOptions {
        let slot = match escaping {
            Escaping::Underscores => &self.escaped[0],
            Escaping::Dots => &self.escaped[1],
            Escaping::Values => &self.escaped[2],
            _ => &None,
        };
        slot.as_ref().unwrap_or(&self.options)
    }
}

/// Collects and encodes the pipeline's metrics on demand. Cheap to clone; it is also the
/// pipeline's reader (cumulative temporality, as a pull endpoint requires).
#[derive(Clone)]
pub struct Scraper {
    shared: Arc<ScraperState>,
}

struct ScraperState {
    reader: ManualReader,
    /// Set before the pipeline is built; read at each scrape.
    naming: RwLock<Arc<Naming>>,
    /// One collection at a time: concurrent scrapes wait instead of collecting in parallel.
    collect: Mutex<()>,
    /// The pipeline's problem counters, known once the exporter is attached.
    health: OnceLock<Health>,
    /// `otel.component.type` in the self-metrics.
    component: OnceLock<&'static str>,
    last_size: AtomicUsize,
    /// Data points in the last collection.
    last_points: std::sync::atomic::AtomicU64,
    /// The pipeline's exemplars, known once the exporter is attached.
    exemplars: OnceLock<otel_core::export::Exemplars>,
    /// The facade's series this scraper writes from their cells, known once attached.
    direct: OnceLock<otel_core::export::DirectSeries>,
    le_texts: Mutex<walk::LeTexts>,
    stopped: watch::Sender<bool>,
}

impl fmt::Debug for Scraper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scraper").field("options", &self.naming().options).finish_non_exhaustive()
    }
}

impl Scraper {
    pub(crate) fn new(options: EncodeOptions) -> Self {
        let reader = ManualReader::builder().with_temporality(Temporality::Cumulative).build();
        let (stopped, _) = watch::channel(false);
        Scraper {
            shared: Arc::new(ScraperState {
                reader,
                naming: RwLock::new(Arc::new(Naming::new(options))),
                collect: Mutex::new(()),
                health: OnceLock::new(),
                component: OnceLock::new(),
                last_size: AtomicUsize::new(0),
                last_points: std::sync::atomic::AtomicU64::new(0),
                exemplars: OnceLock::new(),
                direct: OnceLock::new(),
                le_texts: Mutex::default(),
                stopped,
            }),
        }
    }

    fn naming(&self) -> Arc<Naming> {
        self.shared.naming.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The exporter this scraper works for, as the self-metrics name it (`otel.component.type`).
    pub(crate) fn set_component(&self, component: &'static str) {
        let _ = self.shared.component.set(component);
    }

    /// Data points in the last collection.
    pub(crate) fn last_points(&self) -> u64 {
        self.shared.last_points.load(Ordering::Relaxed)
    }

    /// Takes from the pipeline where to count what scrapes leave out, the exemplars the formats
    /// that carry them (OpenMetrics, protobuf) write, and the facade's series to write from
    /// their cells.
    pub(crate) fn attach_to(&self, plug: &mut otel_core::export::Plug) {
        let _ = self.shared.health.set(plug.health().clone());
        let _ = self.shared.exemplars.set(plug.exemplars().clone());
        let _ = self.shared.direct.set(plug.direct_series().clone());
    }

    pub(crate) fn set_options(&self, options: EncodeOptions) {
        *self.shared.naming.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Naming::new(options));
    }

    /// The current metrics in `format`, with names escaped to the classic character set.
    pub fn scrape(&self, format: Format) -> Result<Vec<u8>, ScrapeError> {
        self.scrape_negotiated(Negotiated { format, escaping: Escaping::Underscores })
    }

    /// The current metrics as negotiated with a scraper (see [`negotiate`](crate::exposition::negotiate)).
    pub fn scrape_negotiated(&self, negotiated: Negotiated) -> Result<Vec<u8>, ScrapeError> {
        let naming = self.naming();
        let options = naming.for_escaping(negotiated.escaping);
        let utf8_names = negotiated.utf8_names();
        self.render(options, negotiated.format.name(), |out| match negotiated.format {
            Format::Text => Box::new(text::TextWriter::new(out, false, utf8_names)),
            Format::OpenMetrics => Box::new(text::TextWriter::new(out, true, utf8_names)),
            Format::Protobuf => Box::new(proto::ProtoWriter::new(out)),
        })
    }

    /// The current metrics as InfluxDB line protocol, one line per Prometheus sample.
    #[cfg(feature = "influx")]
    pub(crate) fn scrape_line_protocol(&self) -> Result<Vec<u8>, ScrapeError> {
        let naming = self.naming();
        let options = naming.for_escaping(Escaping::Underscores);
        self.render(options, "influx", |out| Box::new(super::line_protocol::InfluxWriter::new(out)))
    }

    /// Collects and encodes with the writer `make` returns.
    fn render(
        &self,
        options: &EncodeOptions,
        format: &'static str,
        make: impl for<'o> FnOnce(&'o mut Vec<u8>) -> Box<dyn writer::Writer + 'o>,
    ) -> Result<Vec<u8>, ScrapeError> {
        let started = std::time::Instant::now();
        // Start at the last scrape's size so the buffer rarely grows (and copies) mid-encode.
        let mut out = Vec::with_capacity(self.shared.last_size.load(Ordering::Relaxed).max(4096) + 4096);
        let mut issues = issues::Issues::default();
        {
            let _one_at_a_time = self.shared.collect.lock().unwrap_or_else(|p| p.into_inner());
            // A fresh buffer each time: the SDK rebuilds every point at each collection, so a
            // buffer kept between scrapes would only hold a copy of every series (more than the
            // series themselves for histograms).
            let mut metrics = ResourceMetrics::default();
            let unattached = otel_core::export::DirectSeries::default();
            let direct = self.shared.direct.get().unwrap_or(&unattached);
            direct.collect(|| self.shared.reader.collect(&mut metrics)).map_err(|e| ScrapeError::NotCollecting(e.to_string()))?;
            let mut writer = make(&mut out);
            let sources =
                walk::Sources { metrics: &metrics, direct, exemplars: self.shared.exemplars.get(), le_texts: &self.shared.le_texts };
            let direct_points = walk::walk(&sources, options, writer.as_mut(), &mut issues);
            self.shared.last_points.store(otel_core::export::data_points(&metrics) + direct_points, Ordering::Relaxed);
        }
        self.shared.last_size.store(out.len(), Ordering::Relaxed);
        self.report(issues);
        if let Some(health) = self.shared.health.get() {
            let component = self.shared.component.get().copied().unwrap_or("prometheus_http_text_metric_exporter");
            health.scrape_finished(component, started.elapsed().as_secs_f64(), format, out.len() as u64);
        }
        Ok(out)
    }

    /// An HTTP answer to a scraper, from its `Accept` and `Accept-Encoding` headers: the format
    /// it negotiates among `formats`, gzip-compressed when it accepts gzip. This is what the
    /// pull endpoint serves; use it to serve `/metrics` from your own HTTP server.
    pub fn respond(&self, accept: Option<&str>, accept_encoding: Option<&str>, formats: &[Format]) -> Result<Exposition, ScrapeError> {
        use std::io::Write as _;
        let (negotiated, gzip) = self.negotiate(accept, accept_encoding, formats);
        let body = self.scrape_negotiated(negotiated)?;
        if gzip {
            let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
            if let Ok(compressed) = encoder.write_all(&body).and_then(|()| encoder.finish()) {
                return Ok(Exposition { content_type: negotiated.content_type(), content_encoding: Some("gzip"), body: compressed });
            }
        }
        Ok(Exposition { content_type: negotiated.content_type(), content_encoding: None, body })
    }

    /// What [`respond`](Self::respond) would answer, without collecting: its `Content-Type` and
    /// `Content-Encoding` and an empty body (a `HEAD` request).
    pub fn respond_head(&self, accept: Option<&str>, accept_encoding: Option<&str>, formats: &[Format]) -> Exposition {
        let (negotiated, gzip) = self.negotiate(accept, accept_encoding, formats);
        Exposition { content_type: negotiated.content_type(), content_encoding: gzip.then_some("gzip"), body: Vec::new() }
    }

    /// The format, escaping and encoding a scraper gets.
    fn negotiate(&self, accept: Option<&str>, accept_encoding: Option<&str>, formats: &[Format]) -> (Negotiated, bool) {
        // OpenMetrics requires `_total` on counter samples: under a strategy without suffixes the
        // answer is text (or protobuf) instead, so what the scraper stores is the strategy's name.
        let suffixes = self.naming().options.metric_namer.strategy.adds_suffixes();
        let offered: Vec<Format> = formats.iter().copied().filter(|f| suffixes || *f != Format::OpenMetrics).collect();
        (super::negotiate::negotiate(accept, &offered), accept_encoding.is_some_and(super::negotiate::accepts_gzip))
    }

    /// The current metrics in the text format 0.0.4, as a `String`.
    pub fn scrape_text(&self) -> Result<String, ScrapeError> {
        // The text writer writes only `&str` pieces, so the bytes are UTF-8.
        Ok(String::from_utf8_lossy(&self.scrape(Format::Text)?).into_owned())
    }

    /// Counts what the scrape left out in the pipeline's self-metrics
    /// (`otel_pipeline_exposition_dropped_total{reason}`), logging a bounded number of them.
    fn report(&self, issues: issues::Issues) {
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

otel_core::debug_as_report!(ScrapeError);
