//! The part of the configuration file format `1.0` this pipeline reads, as typed settings.
//! Field names are the file's keys; a key the format has but this pipeline cannot honour is
//! kept as [`Unsupported`] so that using it is refused with its path.

use serde::Deserialize;
use serde_json::Value;

use crate::ExemplarFilter;

/// A key of the format this pipeline does not implement: refused when present.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Unsupported(#[allow(dead_code)] pub(crate) Value);

/// A key of another signal's part (traces, logs, propagation): accepted and not used by a
/// metrics pipeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct OtherSignal(#[allow(dead_code)] pub(crate) Value);

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileModel {
    /// `file_format`: `1.0` (or a `1.0-rc.N`).
    pub file_format: String,
    /// `disabled`: no exporter attaches; recordings go nowhere.
    pub disabled: Option<bool>,
    /// `resource`.
    pub resource: Option<ResourceModel>,
    /// `meter_provider`.
    pub meter_provider: Option<MeterProviderModel>,
    #[doc(hidden)]
    pub tracer_provider: Option<OtherSignal>,
    #[doc(hidden)]
    pub logger_provider: Option<OtherSignal>,
    #[doc(hidden)]
    pub propagator: Option<OtherSignal>,
    #[doc(hidden)]
    pub attribute_limits: Option<OtherSignal>,
    #[doc(hidden)]
    pub log_level: Option<OtherSignal>,
    #[doc(hidden)]
    #[serde(rename = "instrumentation/development")]
    pub instrumentation: Option<OtherSignal>,
    #[doc(hidden)]
    pub distribution: Option<OtherSignal>,
}

/// `resource`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ResourceModel {
    /// `attributes`: name, value and type; win over `attributes_list`.
    pub attributes: Option<Vec<AttributeModel>>,
    /// `attributes_list`: `key=value,...` as in `OTEL_RESOURCE_ATTRIBUTES`.
    pub attributes_list: Option<String>,
    /// `schema_url`.
    pub schema_url: Option<String>,
    /// `detection/development`: attributes found on this host and process.
    #[serde(rename = "detection/development")]
    pub detection: Option<DetectionModel>,
}

/// `resource.detection/development`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DetectionModel {
    /// `attributes`: which detected attributes to keep.
    pub attributes: Option<IncludeExclude>,
    /// `detectors`.
    pub detectors: Option<Vec<DetectorModel>>,
}

/// One of `detection/development.detectors`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum DetectorModel {
    /// `container`: `container.id` from the process' cgroup, when there is one.
    Container(Option<Empty>),
    /// `host`: `host.name`, `host.arch`, `os.type`.
    Host(Option<Empty>),
    /// `process`: `process.pid`, `process.executable.name`, `process.executable.path`,
    /// `process.command_args`.
    Process(Option<Empty>),
    /// `service`: `service.instance.id` (a random UUID) and `service.name` from
    /// `OTEL_SERVICE_NAME`.
    Service(Option<Empty>),
}

/// One of `resource.attributes`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AttributeModel {
    /// `name`.
    pub name: String,
    /// `value`, checked against `type`.
    pub value: Value,
    /// `type` (default `string`).
    #[serde(rename = "type")]
    pub kind: Option<AttributeType>,
}

/// `resource.attributes[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum AttributeType {
    String,
    Bool,
    Int,
    Double,
    StringArray,
    BoolArray,
    IntArray,
    DoubleArray,
}

/// `meter_provider`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MeterProviderModel {
    /// `readers` (at least one).
    pub readers: Vec<ReaderModel>,
    /// `views`.
    pub views: Option<Vec<ViewModel>>,
    /// `exemplar_filter`.
    pub exemplar_filter: Option<ExemplarFilter>,
    #[doc(hidden)]
    #[serde(rename = "meter_configurator/development")]
    pub meter_configurator: Option<Unsupported>,
}

/// One of `meter_provider.readers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ReaderModel {
    /// `periodic`: a push exporter at an interval.
    Periodic(PeriodicModel),
    /// `pull`: an endpoint scraped on demand.
    Pull(PullModel),
}

/// `readers[].periodic`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PeriodicModel {
    /// `interval` in milliseconds (default 60000).
    pub interval: Option<u64>,
    /// `timeout` in milliseconds per export (default 30000; 0: only the shutdown deadline).
    pub timeout: Option<u64>,
    /// `exporter`.
    pub exporter: PushExporterModel,
    /// `cardinality_limits`.
    pub cardinality_limits: Option<CardinalityLimitsModel>,
    #[doc(hidden)]
    pub producers: Option<Unsupported>,
}

/// `readers[].pull`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PullModel {
    /// `exporter`.
    pub exporter: PullExporterModel,
    /// `cardinality_limits`.
    pub cardinality_limits: Option<CardinalityLimitsModel>,
    #[doc(hidden)]
    pub producers: Option<Unsupported>,
}

/// `cardinality_limits`: series kept per metric before the overflow series, by instrument kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
#[allow(missing_docs)]
pub struct CardinalityLimitsModel {
    pub default: Option<usize>,
    pub counter: Option<usize>,
    pub gauge: Option<usize>,
    pub histogram: Option<usize>,
    pub observable_counter: Option<usize>,
    pub observable_gauge: Option<usize>,
    pub observable_up_down_counter: Option<usize>,
    pub up_down_counter: Option<usize>,
}

/// `readers[].pull.exporter`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub enum PullExporterModel {
    /// `prometheus/development`.
    #[serde(rename = "prometheus/development")]
    Prometheus(Option<PrometheusModel>),
}

/// `prometheus/development`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PrometheusModel {
    /// `host` (default `localhost`, which this pipeline binds as `127.0.0.1`).
    pub host: Option<String>,
    /// `port` (default 9464; 0 picks a free port).
    pub port: Option<u16>,
    /// `without_scope_info`: no `otel_scope_*` labels.
    pub without_scope_info: Option<bool>,
    /// `without_target_info/development`: no `target_info` series.
    #[serde(rename = "without_target_info/development")]
    pub without_target_info: Option<bool>,
    /// `with_resource_constant_labels`: resource attributes copied onto every series.
    pub with_resource_constant_labels: Option<IncludeExclude>,
    /// `translation_strategy`.
    pub translation_strategy: Option<TranslationStrategyModel>,
}

/// `translation_strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[allow(missing_docs)]
pub enum TranslationStrategyModel {
    #[serde(rename = "underscore_escaping_with_suffixes")]
    UnderscoreEscapingWithSuffixes,
    #[serde(rename = "underscore_escaping_without_suffixes/development")]
    UnderscoreEscapingWithoutSuffixes,
    #[serde(rename = "no_utf8_escaping_with_suffixes/development")]
    NoUtf8EscapingWithSuffixes,
    #[serde(rename = "no_translation/development")]
    NoTranslation,
}

/// `included` / `excluded` patterns (`*` any run, `?` one character).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IncludeExclude {
    /// `included` (default: everything).
    pub included: Option<Vec<String>>,
    /// `excluded` (wins over `included`).
    pub excluded: Option<Vec<String>>,
}

impl IncludeExclude {
    /// Whether `value` is kept.
    pub fn matches(&self, value: &str) -> bool {
        let any = |patterns: &Option<Vec<String>>| patterns.iter().flatten().any(|p| crate::pipeline::pattern::wildcard_match(p, value));
        self.included.as_ref().is_none_or(|_| any(&self.included)) && !any(&self.excluded)
    }
}

/// `readers[].periodic.exporter`: the format's exporters and this pipeline's own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub enum PushExporterModel {
    /// `otlp_http`.
    #[serde(rename = "otlp_http")]
    OtlpHttp(Option<OtlpModel>),
    /// `otlp_grpc`.
    #[serde(rename = "otlp_grpc")]
    OtlpGrpc(Option<OtlpModel>),
    /// `console`: the text exposition on standard output at every export.
    #[serde(rename = "console")]
    Console(Option<ConsoleModel>),
    /// `textfile` (this pipeline's): a `.prom` file for node_exporter.
    #[serde(rename = "textfile")]
    Textfile(Option<TextfileModel>),
    /// `pushgateway` (this pipeline's): pushes to a Prometheus Pushgateway.
    #[serde(rename = "pushgateway")]
    Pushgateway(Option<PushgatewayModel>),
    /// `influx` (this pipeline's): InfluxDB line protocol to a URL or a file.
    #[serde(rename = "influx")]
    Influx(Option<InfluxModel>),
    #[doc(hidden)]
    #[serde(rename = "otlp_file/development")]
    OtlpFile(Unsupported),
}

/// `otlp_http` / `otlp_grpc`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OtlpModel {
    /// `endpoint`.
    pub endpoint: Option<String>,
    /// `tls`.
    pub tls: Option<TlsModel>,
    /// `headers`: win over `headers_list`; an entry whose value is null is ignored.
    pub headers: Option<Vec<HeaderModel>>,
    /// `headers_list`: `key=value,...` as in `OTEL_EXPORTER_OTLP_HEADERS`.
    pub headers_list: Option<String>,
    /// `compression`: `gzip` or `none`.
    pub compression: Option<String>,
    /// `timeout` in milliseconds (default 10000; 0: only the shutdown deadline).
    pub timeout: Option<u64>,
    /// `encoding` (`otlp_http` only): `protobuf`; `json` is refused.
    pub encoding: Option<String>,
    /// `temporality_preference`.
    pub temporality_preference: Option<TemporalityModel>,
    /// `default_histogram_aggregation`.
    pub default_histogram_aggregation: Option<HistogramAggregationModel>,
}

/// `tls` of an OTLP exporter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TlsModel {
    /// `ca_file`: PEM roots to trust.
    pub ca_file: Option<String>,
    /// `key_file`: PEM client key (with `cert_file`).
    pub key_file: Option<String>,
    /// `cert_file`: PEM client certificate chain.
    pub cert_file: Option<String>,
    /// `insecure` (`otlp_grpc` only): plain text to an `https` endpoint is refused; `true` is
    /// only accepted with an `http://` endpoint.
    pub insecure: Option<bool>,
}

/// One of `headers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HeaderModel {
    /// `name`.
    pub name: String,
    /// `value` (null: ignored).
    pub value: Option<String>,
}

/// `temporality_preference`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum TemporalityModel {
    Cumulative,
    Delta,
    LowMemory,
}

/// `default_histogram_aggregation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum HistogramAggregationModel {
    ExplicitBucketHistogram,
    Base2ExponentialBucketHistogram,
}

/// `console`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ConsoleModel {
    /// `temporality_preference`: only `cumulative` (the text exposition is cumulative).
    pub temporality_preference: Option<TemporalityModel>,
    /// `default_histogram_aggregation`.
    pub default_histogram_aggregation: Option<HistogramAggregationModel>,
}

/// `textfile` (this pipeline's exporter).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TextfileModel {
    /// `directory`: node_exporter's `--collector.textfile.directory`.
    pub directory: Option<String>,
    /// `file_name` (default: the service name, `.prom`).
    pub file_name: Option<String>,
}

/// `pushgateway` (this pipeline's exporter).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PushgatewayModel {
    /// `endpoint`: the Pushgateway's base URL.
    pub endpoint: Option<String>,
    /// `job` (default: the service name).
    pub job: Option<String>,
    /// `grouping`: further grouping labels, name and value.
    pub grouping: Option<Vec<HeaderModel>>,
    /// `method`: `put` (default, replaces the group) or `post`.
    pub method: Option<String>,
    /// `delete_on_shutdown`.
    pub delete_on_shutdown: Option<bool>,
}

/// `influx` (this pipeline's exporter).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct InfluxModel {
    /// `endpoint`: a write URL (`http://host:8428/write`) or a file path.
    pub endpoint: Option<String>,
}

/// One of `meter_provider.views`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ViewModel {
    /// `selector`: every given criterion must match.
    pub selector: SelectorModel,
    /// `stream`: what the selected instruments become.
    pub stream: StreamModel,
}

/// `views[].selector`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SelectorModel {
    /// `instrument_name` (`*` and `?` wildcards).
    pub instrument_name: Option<String>,
    /// `instrument_type`.
    pub instrument_type: Option<InstrumentTypeModel>,
    /// `unit`.
    pub unit: Option<String>,
    /// `meter_name`.
    pub meter_name: Option<String>,
    /// `meter_version`.
    pub meter_version: Option<String>,
    /// `meter_schema_url`.
    pub meter_schema_url: Option<String>,
}

/// `selector.instrument_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum InstrumentTypeModel {
    Counter,
    Gauge,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
}

/// `views[].stream`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StreamModel {
    /// `name`.
    pub name: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `aggregation`.
    pub aggregation: Option<AggregationModel>,
    /// `aggregation_cardinality_limit`.
    pub aggregation_cardinality_limit: Option<usize>,
    /// `attribute_keys`: `included` names only (the SDK keeps a fixed set of keys).
    pub attribute_keys: Option<IncludeExclude>,
}

/// `stream.aggregation`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum AggregationModel {
    Default(Option<Empty>),
    Drop(Option<Empty>),
    ExplicitBucketHistogram(Option<ExplicitBucketsModel>),
    Base2ExponentialBucketHistogram(Option<ExponentialModel>),
    LastValue(Option<Empty>),
    Sum(Option<Empty>),
}

/// An object with no keys.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// `explicit_bucket_histogram`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ExplicitBucketsModel {
    /// `boundaries` (default: the SDK's).
    pub boundaries: Option<Vec<f64>>,
    /// `record_min_max` (default true).
    pub record_min_max: Option<bool>,
}

/// `base2_exponential_bucket_histogram`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ExponentialModel {
    /// `max_scale` (-10 to 20, default 20).
    pub max_scale: Option<i8>,
    /// `max_size` (at least 2, default 160).
    pub max_size: Option<u32>,
    /// `record_min_max` (default true).
    pub record_min_max: Option<bool>,
}
