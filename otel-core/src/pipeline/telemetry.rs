//! The pipeline's owner: builder, handle, flush and shutdown.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::{Instrument, SdkMeterProvider, Stream};
use opentelemetry_sdk::resource::{ResourceDetector, TelemetryResourceDetector};
use opentelemetry_sdk::Resource;

use std::sync::Arc;

use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;

use crate::facade::snapshot::{self, Baseline, Snapshot};
use crate::pipeline::deadline::Deadline;
use crate::pipeline::exemplars::Exemplars;
use crate::pipeline::exporter::Exporter;
use crate::pipeline::exporter::Plug;
use crate::pipeline::health::Health;
use crate::{BuildError, Catalog, Env, ExemplarFilter, Metrics, RuntimeError};

const DEFAULT_EXPORT_INTERVAL: Duration = Duration::from_secs(60);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// The instrumentation scope of the pipeline's own metrics.
const SELF_SCOPE: &str = "otel-pipeline";

type View = Box<dyn Fn(&Instrument) -> Option<Stream> + Send + Sync>;

/// Builds a [`Telemetry`] pipeline. Settings made here win over the environment.
#[must_use]
pub struct TelemetryBuilder {
    service_name: Option<String>,
    default_service_name: Option<String>,
    shutdown_timeout: Duration,
    service_version: Option<String>,
    instance_id: Option<String>,
    attributes: Vec<KeyValue>,
    export_interval: Option<Duration>,
    exporters: Vec<Box<dyn Exporter>>,
    views: Vec<View>,
    catalog: Catalog,
    scope: String,
    env: Env,
    config_file: Option<std::path::PathBuf>,
    exemplar_filter: Option<ExemplarFilter>,
}

impl fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("service_name", &self.service_name)
            .field("exporters", &self.exporters.iter().map(|e| e.name()).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl TelemetryBuilder {
    /// `service.name`; without it, `OTEL_SERVICE_NAME`, then `OTEL_RESOURCE_ATTRIBUTES`, then
    /// `unknown_service`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// The `service.name` to use when neither [`service_name`](Self::service_name),
    /// `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` gives one: an executable's built-in
    /// name that an operator can still override.
    pub fn default_service_name(mut self, name: impl Into<String>) -> Self {
        self.default_service_name = Some(name.into());
        self
    }

    /// How long [`Telemetry::shutdown`] (and drop) may take, in-flight and final exports and
    /// their retries included (default 10 s). Every built-in exporter stops waiting on its peer
    /// when it is up, even a peer that accepts and never answers, and the error names what was
    /// not delivered; shutdown returns within it plus a few milliseconds of bookkeeping.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// `service.version`, e.g. `env!("CARGO_PKG_VERSION")`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// `service.instance.id`; a random UUID is generated when none is given here or in
    /// `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = Some(id.into());
        self
    }

    /// Another resource attribute; wins over the same key in `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn resource_attribute(mut self, kv: KeyValue) -> Self {
        self.attributes.push(kv);
        self
    }

    /// How often push exporters export; wins over `OTEL_METRIC_EXPORT_INTERVAL` (default 60 s).
    pub fn export_interval(mut self, interval: Duration) -> Self {
        self.export_interval = Some(interval);
        self
    }

    /// Attaches an exporter; several may be attached.
    pub fn exporter(mut self, exporter: impl Exporter) -> Self {
        self.exporters.push(Box::new(exporter));
        self
    }

    /// Adds an SDK view (rename, buckets, attribute filter, cardinality limit).
    pub fn view(mut self, view: impl Fn(&Instrument) -> Option<Stream> + Send + Sync + 'static) -> Self {
        self.views.push(Box::new(view));
        self
    }

    /// The metrics declared for this service: they drive the [`Metrics`] facade, buckets,
    /// exponential histograms and cardinality caps.
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
        self
    }

    /// The instrumentation scope the facade records under (`otel_scope_name`; default `app`).
    pub fn scope_name(mut self, name: impl Into<String>) -> Self {
        self.scope = name.into();
        self
    }

    /// Reads configuration variables from `env` instead of the process environment.
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Which measurements become exemplars; wins over a configuration file's
    /// `exemplar_filter` and `OTEL_METRICS_EXEMPLAR_FILTER` (default `trace_based`: those
    /// recorded inside a sampled span).
    pub fn exemplar_filter(mut self, filter: ExemplarFilter) -> Self {
        self.exemplar_filter = Some(filter);
        self
    }

    /// Reads this OpenTelemetry configuration file instead of the one `OTEL_CONFIG_FILE` names
    /// (feature `config-file`). While a file is in use, the `OTEL_*` variables count only where
    /// the file references them (`${NAME}`); settings made on this builder and on exporters
    /// handed to `otel_exporters::from_env()` still win over the file.
    pub fn config_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// Builds the pipeline and returns its handle; nothing global is touched. Use this in tests
    /// and when you pass the handle (or its meters) around yourself.
    pub fn build(mut self) -> Result<Telemetry, BuildError> {
        let file = crate::config::source::load(self.config_file.as_deref(), &self.env)?;
        let file_attributes = match &file {
            Some(file) => {
                // The file replaces the variables: only its `${...}` references read them.
                self.env = Env::empty();
                Some(crate::config::source::resource_attributes(file)?)
            }
            None => None,
        };
        let resource = self.resource(file_attributes, file.as_ref().and_then(crate::config::source::schema_url))?;
        let exemplar_filter = match self.exemplar_filter.or_else(|| crate::config::source::exemplar_filter(file.as_ref())) {
            Some(filter) => filter,
            None => {
                const VAR: &str = "OTEL_METRICS_EXEMPLAR_FILTER";
                let named = self.env.choice(&[VAR], &["trace_based", "always_on", "always_off"])?;
                named.as_deref().and_then(ExemplarFilter::parse).unwrap_or_default()
            }
        };
        let exemplars = Exemplars::new(exemplar_filter);
        let export_interval = match self.export_interval {
            Some(d) if d.is_zero() => {
                return Err(BuildError::InvalidSetting { setting: "export_interval", reason: "must be longer than zero".into() })
            }
            Some(d) => d,
            None => self.env.millis(&["OTEL_METRIC_EXPORT_INTERVAL"])?.unwrap_or(DEFAULT_EXPORT_INTERVAL),
        };
        let catalog = self.catalog;
        catalog
            .declare(
                crate::MetricDef::histogram(crate::OPERATION_DURATION)
                    .unit("s")
                    .description("Duration of operations run under an operation guard")
                    .labels(["operation", "status", "error.type"]),
            )
            .map_err(|e| BuildError::InvalidSetting { setting: "catalog", reason: e.to_string() })?;
        let mut provider = SdkMeterProvider::builder().with_resource(resource.clone());
        provider = crate::config::source::add_views(provider, file.as_ref(), &catalog);
        // Views (the builder's or the file's) shape streams in the SDK; only without them can a
        // reader write the facade's cells as they are.
        let shaped = !self.views.is_empty() || crate::config::source::shapes_streams(file.as_ref());
        for view in self.views {
            provider = provider.with_view(view);
        }
        let health = Health::default();
        let deadline = Deadline::default();
        let mut plug = Plug::new(provider, self.env, resource.clone(), export_interval, health.clone(), deadline.clone());
        plug.set_exemplars(exemplars.clone());
        let direct = plug.shared_direct_series().clone();
        let disabled = crate::config::source::disabled(file.as_ref());
        plug.set_config_file(file);
        if !disabled {
            for exporter in self.exporters {
                plug.attach(exporter)?;
            }
        }
        let (provider, endpoints, pull_reader, all_direct) = plug.finish();
        let provider = provider.build();
        let checked = crate::facade::checked::CheckedProvider {
            provider: provider.clone(),
            health: health.clone(),
            exemplars: exemplars.clone(),
            catalog: catalog.clone(),
            histograms: (all_direct && !shaped).then(|| direct.clone()),
        };
        // The pipeline's own metrics keep no exemplars (their recordings are no request's).
        let own = crate::facade::checked::CheckedProvider { exemplars: Exemplars::new(ExemplarFilter::AlwaysOff), ..checked.clone() };
        health.register(&own.meter_with_scope(InstrumentationScope::builder(SELF_SCOPE).build()));
        let facade_scope = InstrumentationScope::builder(self.scope.clone()).build();
        let facade_meter = checked.meter_with_scope(facade_scope.clone());
        let metrics = Metrics::new(&facade_meter, &self.scope, &catalog, health.clone(), &exemplars);
        direct.fill(facade_scope, metrics.clone(), !shaped);
        Ok(Telemetry {
            provider,
            checked,
            direct,
            resource,
            endpoints,
            metrics,
            catalog,
            pull_reader,
            baseline: Baseline::default(),
            shut_down: AtomicBool::new(false),
            shutdown_timeout: self.shutdown_timeout,
            deadline,
            health,
            exemplars,
        })
    }

    /// Builds the pipeline and also makes it the global meter provider, so libraries that record
    /// through `opentelemetry::global::meter` reach it. Use this once, in `main`.
    pub fn install(self) -> Result<Telemetry, BuildError> {
        let telemetry = self.build()?;
        opentelemetry::global::set_meter_provider(telemetry.checked());
        crate::facade::global::set_metrics(telemetry.metrics.clone());
        Ok(telemetry)
    }

    /// The resource; `file_attributes` (from a configuration file) replace
    /// `OTEL_RESOURCE_ATTRIBUTES`.
    fn resource(&self, file_attributes: Option<Vec<KeyValue>>, schema_url: Option<String>) -> Result<Resource, BuildError> {
        let given = match file_attributes {
            Some(attributes) => attributes,
            None => self.env.key_values(&["OTEL_RESOURCE_ATTRIBUTES"], false)?.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect(),
        };
        let env_value = |key: &str| given.iter().rev().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string());
        let service_name = self
            .service_name
            .clone()
            .or_else(|| self.env.get("OTEL_SERVICE_NAME"))
            .or_else(|| env_value("service.name"))
            .or_else(|| self.default_service_name.clone())
            .unwrap_or_else(|| "unknown_service".to_owned());
        let instance_id =
            self.instance_id.clone().or_else(|| env_value("service.instance.id")).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());

        let mut attributes: Vec<KeyValue> =
            TelemetryResourceDetector.detect().iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect();
        attributes.extend(given.iter().cloned());
        attributes.push(KeyValue::new("service.instance.id", instance_id));
        if let Some(version) = &self.service_version {
            attributes.push(KeyValue::new("service.version", version.clone()));
        }
        attributes.extend(self.attributes.iter().cloned());
        let builder = match schema_url {
            Some(url) => Resource::builder_empty().with_schema_url(attributes, url),
            None => Resource::builder_empty().with_attributes(attributes),
        };
        Ok(builder.with_service_name(service_name).build())
    }
}

/// A running metrics pipeline: the meter provider, its resource and its exporters.
///
/// Dropping it shuts the pipeline down (flushing push exporters and stopping pull endpoints);
/// call [`shutdown`](Self::shutdown) yourself to see errors.
pub struct Telemetry {
    provider: SdkMeterProvider,
    resource: Resource,
    endpoints: Vec<String>,
    metrics: Metrics,
    catalog: Catalog,
    pull_reader: Arc<dyn MetricReader>,
    /// The meters handed out: the SDK's, checked, with exemplars and the pipeline's histograms.
    checked: crate::facade::checked::CheckedProvider,
    /// What snapshots read beside the SDK's collection.
    direct: crate::pipeline::direct::DirectSeries,
    baseline: Baseline,
    shut_down: AtomicBool,
    shutdown_timeout: Duration,
    deadline: Deadline,
    health: Health,
    exemplars: Exemplars,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry").field("endpoints", &self.endpoints).finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Starts configuring a pipeline.
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder {
            service_name: None,
            default_service_name: None,
            shutdown_timeout: SHUTDOWN_TIMEOUT,
            service_version: None,
            instance_id: None,
            attributes: Vec::new(),
            export_interval: None,
            exporters: Vec::new(),
            views: Vec::new(),
            catalog: Catalog::new(),
            scope: "app".to_owned(),
            env: Env::process(),
            config_file: None,
            exemplar_filter: None,
        }
    }

    /// A meter for the named instrumentation scope (usually your crate's name). An instrument
    /// the SDK would refuse (see [`Metrics`] for the naming rules) is reported once and its
    /// recordings counted in `otel_pipeline_recording_dropped_total{reason="instrument_refused"}`.
    pub fn meter(&self, name: &'static str) -> Meter {
        self.checked().meter(name)
    }

    /// A meter for a scope with version, schema URL or attributes.
    pub fn meter_with_scope(&self, scope: InstrumentationScope) -> Meter {
        self.checked().meter_with_scope(scope)
    }

    fn checked(&self) -> crate::facade::checked::CheckedProvider {
        self.checked.clone()
    }

    /// The exemplars kept so far (see [`Exemplars`]): what the exposition and OTLP export carry.
    pub fn exemplars(&self) -> &Exemplars {
        &self.exemplars
    }

    /// The underlying SDK provider, for code that wants one.
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.provider
    }

    /// The resource (service name, instance id, ...) attached to every series.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// Where this pipeline's metrics can be found, as announced by the exporters
    /// (e.g. `http://127.0.0.1:9464/metrics`).
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The metrics facade over this pipeline's catalog.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// The declared metrics.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Every series' current value (counters and histograms since the last
    /// [`reset_snapshot`](Self::reset_snapshot)) and the operations view. Works with no
    /// exporter attached.
    pub fn snapshot(&self) -> Snapshot {
        let uptime = snapshot::uptime(self.metrics.started());
        let (series, _) = self.collect_series();
        Snapshot { taken_at_unix_ms: snapshot::now_ms(), uptime_seconds: uptime, series, operations: self.metrics.operations() }
    }

    /// Zeroes the snapshot: counters and histograms count from now, operation statistics start
    /// over. (What exporters send is not affected.)
    pub fn reset_snapshot(&self) {
        let (_, raw) = self.collect_series();
        self.baseline.replace(raw);
        self.metrics.inner_operations().reset();
    }

    fn collect_series(&self) -> (Vec<snapshot::SeriesValue>, snapshot::Cumulatives) {
        let mut metrics = ResourceMetrics::default();
        if let Err(e) = self.pull_reader.collect(&mut metrics) {
            tracing::debug!(error = %e, "snapshot collection failed");
        }
        snapshot::series(&metrics, &self.direct, &self.baseline)
    }

    /// Exports everything recorded so far through every push exporter, now.
    pub fn force_flush(&self) -> Result<(), RuntimeError> {
        self.health.take_export_failure();
        self.provider.force_flush().map_err(|e| self.explain(e))
    }

    /// The SDK reports a failed export as a bare "failed": say what the exporter saw.
    fn explain(&self, e: opentelemetry_sdk::error::OTelSdkError) -> RuntimeError {
        match self.health.take_export_failure() {
            Some(why) => RuntimeError::Failed(why),
            None => e.into(),
        }
    }

    /// Flushes and stops every exporter. Data recorded before this call is exported; an error
    /// names each exporter whose final delivery failed or did not finish within the
    /// [shutdown timeout](TelemetryBuilder::shutdown_timeout).
    pub fn shutdown(&self) -> Result<(), RuntimeError> {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return Err(RuntimeError::AlreadyShutdown);
        }
        self.health.take_export_failure();
        self.deadline.set(std::time::Instant::now() + self.shutdown_timeout);
        self.provider.shutdown_with_timeout(self.shutdown_timeout).map_err(|e| self.explain(e))
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if !self.shut_down.load(Ordering::SeqCst) {
            if let Err(e) = self.shutdown() {
                crate::pipeline::health::warn(&format!("metrics pipeline shutdown on drop failed: {e}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::Key;

    fn resource_of(builder: TelemetryBuilder) -> Resource {
        builder.build().unwrap().resource().clone()
    }

    fn attr(r: &Resource, key: &'static str) -> Option<String> {
        r.get(&Key::from_static_str(key)).map(|v| v.to_string())
    }

    #[test]
    fn builder_service_name_wins_over_environment() {
        let env = Env::from_pairs([("OTEL_SERVICE_NAME", "from-env")]);
        let r = resource_of(Telemetry::builder().env(env.clone()).service_name("from-builder"));
        assert_eq!(attr(&r, "service.name").as_deref(), Some("from-builder"));
        let r = resource_of(Telemetry::builder().env(env));
        assert_eq!(attr(&r, "service.name").as_deref(), Some("from-env"));
    }

    #[test]
    fn resource_attributes_come_from_environment_and_instance_id_is_generated() {
        let env = Env::from_pairs([("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,team=a%20b")]);
        let r = resource_of(Telemetry::builder().env(env).service_version("1.2.3"));
        assert_eq!(attr(&r, "deployment.environment").as_deref(), Some("prod"));
        assert_eq!(attr(&r, "team").as_deref(), Some("a b"));
        assert_eq!(attr(&r, "service.version").as_deref(), Some("1.2.3"));
        assert_eq!(attr(&r, "service.name").as_deref(), Some("unknown_service"));
        let id = attr(&r, "service.instance.id").unwrap();
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
    }

    #[test]
    fn invalid_export_interval_is_a_build_error_naming_the_variable() {
        let env = Env::from_pairs([("OTEL_METRIC_EXPORT_INTERVAL", "soon")]);
        let err = Telemetry::builder().env(env).build().unwrap_err().to_string();
        assert!(err.contains("OTEL_METRIC_EXPORT_INTERVAL=\"soon\""), "{err}");
    }

    #[test]
    fn malformed_resource_attributes_are_a_build_error() {
        let env = Env::from_pairs([("OTEL_RESOURCE_ATTRIBUTES", "novalue")]);
        let err = Telemetry::builder().env(env).build().unwrap_err().to_string();
        assert!(err.contains("OTEL_RESOURCE_ATTRIBUTES"), "{err}");
    }

    #[test]
    fn a_default_service_name_yields_to_the_environment() {
        let r =
            resource_of(Telemetry::builder().env(Env::from_pairs([("OTEL_SERVICE_NAME", "ops-name")])).default_service_name("built-in"));
        assert_eq!(attr(&r, "service.name").as_deref(), Some("ops-name"));
        let r = resource_of(Telemetry::builder().env(Env::empty()).default_service_name("built-in"));
        assert_eq!(attr(&r, "service.name").as_deref(), Some("built-in"));
    }

    #[test]
    fn second_shutdown_reports_already_shut_down() {
        let t = Telemetry::builder().env(Env::empty()).build().unwrap();
        t.shutdown().unwrap();
        assert!(matches!(t.shutdown(), Err(RuntimeError::AlreadyShutdown)));
    }
}
