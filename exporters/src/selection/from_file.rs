//! The configuration file's readers as this crate's exporters: each reader's settings become
//! the builder calls a program would make, and an exporter the program handed to
//! [`from_env`](crate::from_env) keeps what it set and takes the rest from the file.

use std::time::Duration;

use otel_core::config::model::{
    ConsoleModel, HeaderModel, InfluxModel, OtlpModel, PeriodicModel, PrometheusModel, PullExporterModel, PushExporterModel,
    PushgatewayModel, ReaderModel, TemporalityModel, TextfileModel,
};
use otel_core::config::ConfigFile;
use otel_core::export::Exporter;
use otel_core::BuildError;

use crate::selection::given::Given;

#[cfg(feature = "prometheus")]
use crate::{EncodeOptions, TranslationStrategy};
#[cfg(feature = "prometheus")]
use otel_core::config::model::TranslationStrategyModel;

/// The spec's default interval and export timeout of a periodic reader.
const DEFAULT_INTERVAL_MS: u64 = 60_000;
const DEFAULT_READER_TIMEOUT_MS: u64 = 30_000;
/// What a timeout of 0 ("no limit") becomes: the pipeline's shutdown deadline still bounds it.
const NO_LIMIT: Duration = Duration::from_secs(3600);

/// An exporter for a reader, and the reader's path.
pub(crate) type ReaderExporter = (String, Box<dyn Exporter>);

/// One exporter per reader of `file`, in the file's order.
pub(crate) fn exporters(file: &ConfigFile, given: &mut Given) -> Result<Vec<ReaderExporter>, BuildError> {
    let mut out: Vec<ReaderExporter> = Vec::new();
    for (path, reader) in file.readers() {
        let at = Place { file, path: &path };
        let exporter = match reader {
            ReaderModel::Pull(pull) => match &pull.exporter {
                PullExporterModel::Prometheus(model) => {
                    let key = at.join("pull.exporter.prometheus/development");
                    prometheus(file, &key, &model.clone().unwrap_or_default(), given)?
                }
                #[allow(unreachable_patterns)]
                _ => return Err(at.error("pull.exporter", "this exporter is not supported")),
            },
            ReaderModel::Periodic(periodic) => periodic_exporter(&at, periodic, given)?,
            #[allow(unreachable_patterns)]
            _ => return Err(at.error("", "this reader is not supported")),
        };
        out.push((path.clone(), exporter));
    }
    Ok(out)
}

/// A key's place in the file, for errors.
struct Place<'a> {
    file: &'a ConfigFile,
    path: &'a str,
}

impl Place<'_> {
    fn join(&self, key: &str) -> String {
        if key.is_empty() {
            self.path.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn error(&self, key: &str, message: impl Into<String>) -> BuildError {
        self.file.error(&self.join(key), message)
    }
}

/// A refusal for an exporter whose cargo feature is off.
#[cfg_attr(
    all(feature = "prometheus", feature = "otlp", feature = "textfile", feature = "pushgateway", feature = "influx"),
    allow(dead_code)
)]
fn feature_off(at: &str, file: &ConfigFile, feature: &str) -> BuildError {
    file.error(at, format!("needs otel-exporters' cargo feature `{feature}`, which is not enabled"))
}

fn millis(ms: u64) -> Duration {
    if ms == 0 {
        NO_LIMIT
    } else {
        Duration::from_millis(ms)
    }
}

#[allow(unused_variables)]
fn prometheus(file: &ConfigFile, at: &str, model: &PrometheusModel, given: &mut Given) -> Result<Box<dyn Exporter>, BuildError> {
    #[cfg(feature = "prometheus")]
    {
        let host = model.host.clone().unwrap_or_else(|| "127.0.0.1".to_owned());
        let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host };
        let listen = format!("{host}:{}", model.port.unwrap_or(9464));
        let from_file = crate::PrometheusExporter::new().listen(listen).encode_options(encode_options(model));
        let given = given.prometheus.take();
        if given.as_ref().is_some_and(|g| !g.serves()) {
            // The program serves `/metrics` itself: an address from the file has no effect.
            for (key, set) in [("port", model.port.is_some()), ("host", model.host.is_some())] {
                if set {
                    let unused = file.error(
                        &format!("{at}.{key}"),
                        "has no effect: the program serves the metrics on its own HTTP server (PrometheusExporter::without_server); remove it from the file",
                    );
                    tracing::warn!(target: "otel_pipeline", "{unused}");
                }
            }
        }
        Ok(Box::new(merge(given, from_file)))
    }
    #[cfg(not(feature = "prometheus"))]
    Err(feature_off(at, file, "prometheus"))
}

/// The naming and labelling options a `prometheus/development` exporter declares.
#[cfg(feature = "prometheus")]
fn encode_options(model: &PrometheusModel) -> EncodeOptions {
    let strategy = match model.translation_strategy.unwrap_or(TranslationStrategyModel::UnderscoreEscapingWithSuffixes) {
        TranslationStrategyModel::UnderscoreEscapingWithoutSuffixes => TranslationStrategy::UnderscoreEscapingWithoutSuffixes,
        TranslationStrategyModel::NoUtf8EscapingWithSuffixes => TranslationStrategy::NoUTF8EscapingWithSuffixes,
        TranslationStrategyModel::NoTranslation => TranslationStrategy::NoTranslation,
        _ => TranslationStrategy::UnderscoreEscapingWithSuffixes,
    };
    let mut options = EncodeOptions::with_strategy(strategy);
    if model.without_scope_info == Some(true) {
        options = options.without_scope_info();
    }
    if model.without_target_info == Some(true) {
        options = options.without_target_info();
    }
    if let Some(labels) = &model.with_resource_constant_labels {
        let included = labels.included.clone().unwrap_or_else(|| vec!["*".to_owned()]);
        options = options.with_resource_constant_labels(included, labels.excluded.clone().unwrap_or_default());
    }
    options
}

/// The naming and labelling options of the first Prometheus pull reader a configuration file
/// declares (what its endpoint will serve), for generators that must name the same series.
#[cfg(feature = "prometheus")]
pub fn prometheus_options(file: &ConfigFile) -> Option<EncodeOptions> {
    file.readers().into_iter().find_map(|(_, reader)| match reader {
        ReaderModel::Pull(pull) => match &pull.exporter {
            PullExporterModel::Prometheus(model) => Some(encode_options(&model.clone().unwrap_or_default())),
            #[allow(unreachable_patterns)]
            _ => None,
        },
        _ => None,
    })
}

fn periodic_exporter(at: &Place<'_>, periodic: &PeriodicModel, given: &mut Given) -> Result<Box<dyn Exporter>, BuildError> {
    let timing = Timing {
        interval: Duration::from_millis(periodic.interval.unwrap_or(DEFAULT_INTERVAL_MS)),
        timeout: millis(periodic.timeout.unwrap_or(DEFAULT_READER_TIMEOUT_MS)),
    };
    let key = |name: &str| at.join(&format!("periodic.exporter.{name}"));
    let file = at.file;
    match &periodic.exporter {
        PushExporterModel::OtlpHttp(model) => otlp(file, &key("otlp_http"), &model.clone().unwrap_or_default(), false, timing, given),
        PushExporterModel::OtlpGrpc(model) => otlp(file, &key("otlp_grpc"), &model.clone().unwrap_or_default(), true, timing, given),
        PushExporterModel::Console(model) => console(file, &key("console"), &model.clone().unwrap_or_default(), timing),
        PushExporterModel::Textfile(model) => textfile(file, &key("textfile"), model.clone().unwrap_or_default(), timing, given),
        PushExporterModel::Pushgateway(model) => pushgateway(file, &key("pushgateway"), model.clone().unwrap_or_default(), timing, given),
        PushExporterModel::Influx(model) => influx(file, &key("influx"), model.clone().unwrap_or_default(), timing, given),
        #[allow(unreachable_patterns)]
        _ => Err(at.error("periodic.exporter", "this exporter is not supported by otel-pipeline")),
    }
}

/// A periodic reader's `interval` and `timeout`.
#[derive(Clone, Copy)]
struct Timing {
    interval: Duration,
    #[cfg_attr(not(any(feature = "otlp", feature = "pushgateway", feature = "influx")), allow(dead_code))]
    timeout: Duration,
}

/// The program's exporter, keeping what it set, else the file's.
fn merge<E: OrFile>(mine: Option<E>, from_file: E) -> E {
    match mine {
        Some(mine) => mine.or_file(from_file),
        None => from_file,
    }
}

/// An exporter that can take what it leaves unset from the one a file describes.
pub(crate) trait OrFile {
    /// `self`, with every setting it leaves unset taken from `file`.
    fn or_file(self, file: Self) -> Self;
}

#[allow(unused_variables)]
fn console(file: &ConfigFile, at: &str, model: &ConsoleModel, timing: Timing) -> Result<Box<dyn Exporter>, BuildError> {
    if model.temporality_preference.is_some_and(|t| t != TemporalityModel::Cumulative) {
        return Err(file.error(&format!("{at}.temporality_preference"), "the console prints the cumulative exposition; use `cumulative`"));
    }
    #[cfg(feature = "prometheus")]
    return Ok(Box::new(crate::ConsoleExporter::new().interval(timing.interval)));
    #[cfg(not(feature = "prometheus"))]
    Err(feature_off(at, file, "prometheus"))
}

#[cfg(feature = "textfile")]
fn textfile(file: &ConfigFile, at: &str, model: TextfileModel, timing: Timing, given: &mut Given) -> Result<Box<dyn Exporter>, BuildError> {
    let Some(directory) = model.directory else {
        return Err(file.error(at, "give `directory`: the directory node_exporter's textfile collector reads"));
    };
    let mut from_file = crate::TextfileExporter::new().directory(directory).interval(timing.interval);
    if let Some(name) = model.file_name {
        from_file = from_file.file_name(name);
    }
    Ok(Box::new(merge(given.textfile.take(), from_file)))
}

#[cfg(not(feature = "textfile"))]
fn textfile(file: &ConfigFile, at: &str, _: TextfileModel, _: Timing, _: &mut Given) -> Result<Box<dyn Exporter>, BuildError> {
    Err(feature_off(at, file, "textfile"))
}

#[cfg(feature = "pushgateway")]
fn pushgateway(
    file: &ConfigFile,
    at: &str,
    model: PushgatewayModel,
    timing: Timing,
    given: &mut Given,
) -> Result<Box<dyn Exporter>, BuildError> {
    let Some(endpoint) = model.endpoint else {
        return Err(file.error(at, "give `endpoint`: the Pushgateway's base URL, e.g. http://127.0.0.1:9091"));
    };
    let mut from_file = crate::PushgatewayExporter::new().endpoint(endpoint).interval(timing.interval).timeout(timing.timeout);
    if let Some(job) = model.job {
        from_file = from_file.job(job);
    }
    for HeaderModel { name, value, .. } in model.grouping.into_iter().flatten() {
        if let Some(value) = value {
            from_file = from_file.grouping_label(name, value);
        }
    }
    match model.method.as_deref() {
        None | Some("put") => {}
        Some("post") => from_file = from_file.method(crate::PushMethod::Merge),
        Some(other) => return Err(file.error(&format!("{at}.method"), format!("{other:?} is not `put` or `post`"))),
    }
    if let Some(delete) = model.delete_on_shutdown {
        from_file = from_file.delete_on_shutdown(delete);
    }
    Ok(Box::new(merge(given.pushgateway.take(), from_file)))
}

#[cfg(not(feature = "pushgateway"))]
fn pushgateway(file: &ConfigFile, at: &str, _: PushgatewayModel, _: Timing, _: &mut Given) -> Result<Box<dyn Exporter>, BuildError> {
    Err(feature_off(at, file, "pushgateway"))
}

#[cfg(feature = "influx")]
fn influx(file: &ConfigFile, at: &str, model: InfluxModel, timing: Timing, given: &mut Given) -> Result<Box<dyn Exporter>, BuildError> {
    let Some(endpoint) = model.endpoint else {
        return Err(file.error(at, "give `endpoint`: a write URL (http://127.0.0.1:8428/write) or a file path"));
    };
    let from_file = crate::InfluxExporter::new().endpoint(endpoint).interval(timing.interval).timeout(timing.timeout);
    Ok(Box::new(merge(given.influx.take(), from_file)))
}

#[cfg(not(feature = "influx"))]
fn influx(file: &ConfigFile, at: &str, _: InfluxModel, _: Timing, _: &mut Given) -> Result<Box<dyn Exporter>, BuildError> {
    Err(feature_off(at, file, "influx"))
}

#[allow(unused_variables)]
fn otlp(
    file: &ConfigFile,
    at: &str,
    model: &OtlpModel,
    grpc: bool,
    timing: Timing,
    given: &mut Given,
) -> Result<Box<dyn Exporter>, BuildError> {
    let key = |k: &str| format!("{at}.{k}");
    let gzip = match model.compression.as_deref() {
        None => None,
        Some("gzip") => Some(true),
        Some("none") => Some(false),
        Some(other) => return Err(file.error(&key("compression"), format!("{other:?} is not supported: use `gzip` or `none`"))),
    };
    if model.encoding.as_deref().is_some_and(|e| e != "protobuf") {
        return Err(file.error(&key("encoding"), "only `protobuf` is supported (JSON encoding is not)"));
    }
    let mut headers = match &model.headers_list {
        Some(list) => {
            otel_core::config::key_value_list(list).map_err(|what| file.error(&key("headers_list"), format!("{what} (value not shown)")))?
        }
        None => Vec::new(),
    };
    for HeaderModel { name, value, .. } in model.headers.iter().flatten() {
        if let Some(value) = value {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.clone()));
        }
    }
    let tls = model.tls.clone().unwrap_or_default();
    let identity = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key_file)) => Some((cert.clone(), key_file.clone())),
        (None, None) => None,
        (Some(_), None) => return Err(file.error(&key("tls.cert_file"), "give `key_file` with `cert_file` (mutual TLS needs both)")),
        (None, Some(_)) => return Err(file.error(&key("tls.key_file"), "give `cert_file` with `key_file` (mutual TLS needs both)")),
    };
    if tls.insecure == Some(true) && model.endpoint.as_deref().is_some_and(|e| e.starts_with("https://")) {
        return Err(file.error(
            &key("tls.insecure"),
            "`insecure: true` asks for plain text, but the endpoint is https://; use http:// for plain text",
        ));
    }
    #[cfg(feature = "otlp")]
    {
        use opentelemetry_sdk::metrics::Temporality;
        let protocol = if grpc { crate::OtlpProtocol::Grpc } else { crate::OtlpProtocol::HttpProtobuf };
        let timeout = model.timeout.map(millis).unwrap_or(timing.timeout.min(Duration::from_secs(10)));
        let mut from_file = crate::OtlpExporter::new().protocol(protocol).interval(timing.interval).timeout(timeout);
        if let Some(endpoint) = &model.endpoint {
            from_file = from_file.endpoint(endpoint.clone());
        }
        if let Some(gzip) = gzip {
            from_file = from_file.gzip(gzip);
        }
        for (name, value) in headers {
            from_file = from_file.header(name, value);
        }
        if let Some(ca) = &tls.ca_file {
            from_file = from_file.ca_certificate(ca);
        }
        if let Some((cert, key_file)) = identity {
            from_file = from_file.client_certificate(cert, key_file);
        }
        if let Some(t) = model.temporality_preference {
            from_file = from_file.temporality(match t {
                TemporalityModel::Cumulative => Temporality::Cumulative,
                TemporalityModel::Delta => Temporality::Delta,
                TemporalityModel::LowMemory => Temporality::LowMemory,
            });
        }
        Ok(Box::new(merge(given.otlp.take(), from_file)))
    }
    #[cfg(not(feature = "otlp"))]
    Err(feature_off(at, file, "otlp"))
}
