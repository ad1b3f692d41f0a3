//! The plug point through which every exporter, built-in or your own, joins the pipeline.

use std::fmt;
use std::time::Duration;

use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::reader::MetricReader;
use std::sync::{Arc, Weak};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, MeterProviderBuilder, PeriodicReader, Pipeline, Temporality};
use opentelemetry_sdk::Resource;

use crate::pipeline::health::Health;
use crate::{BuildError, Env};

/// Something that takes the pipeline's metrics somewhere: a push exporter behind a periodic
/// reader, or a pull reader serving scrapes.
///
/// [`TelemetryBuilder::exporter`](crate::TelemetryBuilder::exporter) accepts any number of them;
/// at build time each one's [`attach`](Exporter::attach) is called with the [`Plug`].
///
/// # Your own exporter
///
/// A push exporter implements the SDK's [`PushMetricExporter`] and hands itself to the plug;
/// it is then driven at the pipeline's export interval. Such an exporter sees what the SDK
/// aggregates, so the pipeline keeps every histogram in the SDK for it (an exporter that also
/// writes [`DirectSeries::metrics`](crate::export::DirectSeries::metrics) says so with
/// [`Plug::direct_series`], and histograms then stay in the pipeline's faster cells):
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use opentelemetry_sdk::error::OTelSdkResult;
/// use opentelemetry_sdk::metrics::{data::ResourceMetrics, exporter::PushMetricExporter, Temporality};
/// use otel_core::export::{Exporter, Plug};
/// use otel_core::{BuildError, Telemetry};
///
/// /// Keeps the names of the metrics it was given.
/// #[derive(Debug, Clone, Default)]
/// struct NameLog(Arc<Mutex<Vec<String>>>);
///
/// impl PushMetricExporter for NameLog {
///     async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
///         let mut names = self.0.lock().unwrap();
///         for scope in metrics.scope_metrics() {
///             names.extend(scope.metrics().map(|m| m.name().to_owned()));
///         }
///         Ok(())
///     }
///     fn force_flush(&self) -> OTelSdkResult { Ok(()) }
///     fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult { Ok(()) }
///     fn temporality(&self) -> Temporality { Temporality::Cumulative }
/// }
///
/// impl Exporter for NameLog {
///     fn name(&self) -> &'static str { "name-log" }
///     fn attach(self: Box<Self>, plug: &mut Plug) -> Result<(), BuildError> {
///         plug.add_push_exporter(*self);
///         Ok(())
///     }
/// }
///
/// let log = NameLog::default();
/// let telemetry = Telemetry::builder().service_name("doc").exporter(log.clone()).build()?;
/// telemetry.meter("doc").u64_counter("jobs.done").build().add(1, &[]);
/// telemetry.meter("doc").f64_histogram("job.duration").build().record(0.2, &[]);
/// telemetry.shutdown()?; // flushes: the last export runs before shutdown returns
/// assert_eq!(*log.0.lock().unwrap(), ["jobs.done", "job.duration"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Exporter: Send + 'static {
    /// A short name used in errors and logs, e.g. `"prometheus"`.
    fn name(&self) -> &'static str;

    /// Adds this exporter's reader(s) to the pipeline being built.
    fn attach(self: Box<Self>, plug: &mut Plug) -> Result<(), BuildError>;
}

/// What an [`Exporter`] sees while the pipeline is built: the configuration it may read and the
/// methods that add readers to the meter provider.
pub struct Plug {
    builder: Option<MeterProviderBuilder>,
    pull_reader: Option<Arc<dyn MetricReader>>,
    env: Env,
    resource: Resource,
    export_interval: Duration,
    endpoints: Vec<String>,
    health: Health,
    deadline: crate::pipeline::deadline::Deadline,
    config_file: Option<crate::config::source::File>,
    #[cfg_attr(not(feature = "config-file"), allow(dead_code))]
    config_readers_taken: bool,
    exemplars: crate::pipeline::exemplars::Exemplars,
    direct: crate::pipeline::direct::DirectSeries,
    /// Readers added, and how many of them write the direct series themselves.
    readers: usize,
    direct_readers: usize,
}

impl fmt::Debug for Plug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plug").field("export_interval", &self.export_interval).field("endpoints", &self.endpoints).finish_non_exhaustive()
    }
}

impl Plug {
    pub(crate) fn new(
        builder: MeterProviderBuilder,
        env: Env,
        resource: Resource,
        export_interval: Duration,
        health: Health,
        deadline: crate::pipeline::deadline::Deadline,
    ) -> Self {
        Plug {
            builder: Some(builder),
            pull_reader: None,
            env,
            resource,
            export_interval,
            endpoints: Vec::new(),
            health,
            deadline,
            config_file: None,
            config_readers_taken: false,
            exemplars: crate::pipeline::exemplars::Exemplars::default(),
            direct: crate::pipeline::direct::DirectSeries::default(),
            readers: 0,
            direct_readers: 0,
        }
    }

    pub(crate) fn set_exemplars(&mut self, exemplars: crate::pipeline::exemplars::Exemplars) {
        self.exemplars = exemplars;
    }

    /// The pipeline's exemplars, for exporters whose format carries them (OpenMetrics,
    /// protobuf, OTLP).
    pub fn exemplars(&self) -> &crate::pipeline::exemplars::Exemplars {
        &self.exemplars
    }

    /// The series a reader writes straight from the pipeline's cells (filled once the pipeline
    /// is built): the facade's counters, up-down counters and gauges, without the SDK's second
    /// aggregation, and the histograms. Call it once for each reader you add whose output also
    /// writes [`DirectSeries::metrics`](crate::export::DirectSeries::metrics): only when every
    /// reader does are histograms kept in the pipeline's sharded cells; a reader added without
    /// this (an SDK exporter of your own) keeps them all in the SDK, where it can see them.
    pub fn direct_series(&mut self) -> &crate::pipeline::direct::DirectSeries {
        self.direct_readers += 1;
        &self.direct
    }

    /// The direct series, without claiming them for a reader.
    pub(crate) fn shared_direct_series(&self) -> &crate::pipeline::direct::DirectSeries {
        &self.direct
    }

    pub(crate) fn set_config_file(&mut self, file: Option<crate::config::source::File>) {
        self.config_file = file;
    }

    /// The configuration file in use, for an exporter that attaches the readers it declares
    /// (`otel_exporters::from_env()` does). Taking it marks the readers as attached; a file
    /// whose readers nobody takes is reported when the pipeline is built.
    #[cfg(feature = "config-file")]
    #[cfg_attr(docsrs, doc(cfg(feature = "config-file")))]
    pub fn take_config_readers(&mut self) -> Option<std::sync::Arc<crate::config::ConfigFile>> {
        self.config_readers_taken = true;
        self.config_file.clone()
    }

    /// The instant by which shutdown must be over, set when it starts
    /// ([`TelemetryBuilder::shutdown_timeout`](crate::TelemetryBuilder::shutdown_timeout) from
    /// then). An exporter stops waiting on its peer at this instant, in-flight export included.
    pub fn shutdown_deadline(&self) -> &crate::pipeline::deadline::Deadline {
        &self.deadline
    }

    /// The pipeline's problem counters: report data the exporter had to leave out here, so it is
    /// logged a bounded number of times and counted in the pipeline's self-metrics.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The builder with every reader added, the announced endpoints, a pull reader that
    /// snapshots can collect through (one is added if no exporter brought one), and whether
    /// every reader writes the direct series (then histograms can be kept in the pipeline's cells).
    pub(crate) fn finish(mut self) -> (MeterProviderBuilder, Vec<String>, Arc<dyn MetricReader>, bool) {
        #[cfg(feature = "config-file")]
        if let Some(file) = self.config_file.as_ref().filter(|f| !self.config_readers_taken && !f.readers().is_empty()) {
            crate::pipeline::health::warn(&format!(
                "the configuration file declares {} reader(s) but no exporter attached them: attach `otel_exporters::from_env()` \
                 to the builder",
                file.readers().len()
            ));
        }
        let pull = match self.pull_reader.take() {
            Some(reader) => reader,
            None => {
                let own: Arc<dyn MetricReader> = Arc::new(ManualReader::builder().with_temporality(Temporality::Cumulative).build());
                // Snapshots add the direct series themselves.
                let reader = SharedReader(own.clone());
                self.map(|b| b.with_reader(reader));
                own
            }
        };
        let all_direct = self.direct_readers >= self.readers;
        (self.builder.take().unwrap_or_default(), self.endpoints, pull, all_direct)
    }

    /// Where configuration variables come from (the process environment unless the builder was
    /// given another [`Env`]). Settings made on an exporter's own builder win over these.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The resource every series of this pipeline belongs to.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// How often push exporters export (builder, else `OTEL_METRIC_EXPORT_INTERVAL`, else 60 s).
    pub fn export_interval(&self) -> Duration {
        self.export_interval
    }

    /// Adds a reader, e.g. a pull reader that collects on every scrape.
    pub fn add_reader<R: MetricReader>(&mut self, reader: R) {
        self.readers += 1;
        self.map(|b| b.with_reader(reader));
    }

    /// Adds a pull reader (cumulative, collected on demand). In-process snapshots collect
    /// through the first one, so they add no second aggregation to the recording path.
    pub fn add_pull_reader<R: MetricReader + Clone>(&mut self, reader: R) {
        if self.pull_reader.is_none() {
            self.pull_reader = Some(Arc::new(reader.clone()));
        }
        self.add_reader(reader);
    }

    /// Adds a push exporter, driven by a periodic reader at [`export_interval`](Self::export_interval).
    /// The reader runs exports on its own thread, so `export` may block.
    pub fn add_push_exporter<E: PushMetricExporter>(&mut self, exporter: E) {
        let interval = self.export_interval;
        self.add_push_exporter_every(exporter, interval);
    }

    /// Adds a push exporter driven at its own interval (a configuration file's periodic reader).
    pub fn add_push_exporter_every<E: PushMetricExporter>(&mut self, exporter: E, interval: Duration) {
        let reader = PeriodicReader::builder(exporter).with_interval(interval).build();
        self.add_reader(reader);
    }

    /// Attaches another exporter: lets one exporter stand for several (e.g. a selection made
    /// from `OTEL_METRICS_EXPORTER`).
    pub fn attach(&mut self, exporter: Box<dyn Exporter>) -> Result<(), BuildError> {
        exporter.attach(self)
    }

    /// Records an address where this pipeline's metrics can be found, for
    /// [`Telemetry::endpoints`](crate::Telemetry::endpoints).
    /// Credentials in a URL are redacted.
    pub fn announce(&mut self, endpoint: impl AsRef<str>) {
        self.endpoints.push(crate::pipeline::redact::redact_urls(endpoint.as_ref()));
    }

    fn map(&mut self, f: impl FnOnce(MeterProviderBuilder) -> MeterProviderBuilder) {
        let builder = self.builder.take().unwrap_or_default();
        self.builder = Some(f(builder));
    }
}

/// A reader the provider and its owner share: hand it to a pipeline (e.g. with
/// [`Plug::add_reader`]) and keep collecting from it yourself. The pipeline keeps one for its
/// snapshots when no exporter brings a pull reader.
#[derive(Debug, Clone)]
pub struct SharedReader(pub Arc<dyn MetricReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}
