//! Reading and checking the file: from YAML to the typed model.

use std::collections::HashMap;
use std::path::Path;

use opentelemetry::{KeyValue, Value as OtelValue};
use serde_json::Value;

use super::model::*;
use super::{detect, views, yaml};

use crate::{BuildError, Env};

/// The variable naming the configuration file.
pub const CONFIG_FILE_VAR: &str = super::env::CONFIG_FILE_VAR;

/// The largest configuration file read.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// A loaded and checked configuration file.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    model: FileModel,
    source: String,
    lines: HashMap<String, usize>,
    detected: Vec<KeyValue>,
}

impl ConfigFile {
    /// Reads and checks the file at `path`; `env` answers its `${...}` references.
    pub fn from_path(path: impl AsRef<Path>, env: &Env) -> Result<Self, BuildError> {
        let path = path.as_ref();
        let source = path.display().to_string();
        let refuse = |message: String| BuildError::Config { location: source.clone(), message };
        // A FIFO, a device or a directory would block or never end: only regular files are read,
        // and only up to a size no configuration reaches.
        let metadata = std::fs::metadata(path)
            .map_err(|e| refuse(format!("cannot read the configuration file: {e} (set {CONFIG_FILE_VAR} to a readable .yaml file)")))?;
        if !metadata.is_file() {
            return Err(refuse(format!(
                "the configuration file is not a regular file (a pipe, device or directory) (set {CONFIG_FILE_VAR} to a .yaml file)"
            )));
        }
        let mut text = String::new();
        let read = std::fs::File::open(path)
            .and_then(|f| std::io::Read::read_to_string(&mut std::io::Read::take(f, MAX_FILE_BYTES + 1), &mut text));
        read.map_err(|e| refuse(format!("cannot read the configuration file: {e} (set {CONFIG_FILE_VAR} to a readable .yaml file)")))?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(refuse(format!("the configuration file is larger than {} MiB", MAX_FILE_BYTES >> 20)));
        }
        Self::from_yaml(&text, &source, env)
    }

    /// Reads and checks a file's text; `source` names it in errors.
    pub fn from_yaml(text: &str, source: &str, env: &Env) -> Result<Self, BuildError> {
        let document =
            yaml::read(text, env).map_err(|e| BuildError::Config { location: format!("{source}, line {}", e.line), message: e.message })?;
        let mut file = ConfigFile { model: FileModel::default(), source: source.to_owned(), lines: document.lines, detected: Vec::new() };
        file.model = serde_path_to_error::deserialize::<_, FileModel>(document.value).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            file.error(&path, e.into_inner().to_string())
        })?;
        file.check()?;
        if let Some(detection) = file.model.resource.as_ref().and_then(|r| r.detection.as_ref()) {
            file.detected = detect::detect(detection, env);
        }
        Ok(file)
    }

    /// The typed contents.
    pub fn model(&self) -> &FileModel {
        &self.model
    }

    /// `disabled: true`: no reader is attached.
    pub fn disabled(&self) -> bool {
        self.model.disabled == Some(true)
    }

    /// The readers to attach, with each one's path (`meter_provider.readers[0]`); none when the
    /// file is disabled or has no `meter_provider`.
    pub fn readers(&self) -> Vec<(String, &ReaderModel)> {
        if self.disabled() {
            return Vec::new();
        }
        self.readers_all().collect()
    }

    /// An error about the key at `path` (as [`readers`](Self::readers) spells paths), located
    /// at its line: for exporters refusing a value the file gave them.
    pub fn error(&self, path: &str, message: impl Into<String>) -> BuildError {
        let line = self.line_of(path);
        let location = match line {
            Some(line) => format!("{}, line {line}", self.source),
            None => self.source.clone(),
        };
        let message = message.into();
        let message = if path.is_empty() { message } else { format!("{path}: {message}") };
        BuildError::Config { location, message }
    }

    /// The line of `path`, or of its nearest ancestor the file spells out.
    fn line_of(&self, path: &str) -> Option<usize> {
        let mut path = path;
        loop {
            if let Some(line) = self.lines.get(path) {
                return Some(*line);
            }
            path = &path[..path.rfind(['.', '['])?];
        }
    }

    /// The resource attributes the file gives: detected first, then `attributes_list`, then
    /// `attributes` (later entries win).
    pub(crate) fn resource_attributes(&self) -> Result<Vec<KeyValue>, BuildError> {
        let Some(resource) = &self.model.resource else { return Ok(Vec::new()) };
        let mut out = self.detected.clone();
        if let Some(list) = &resource.attributes_list {
            let pairs = crate::config::env::parse_key_values(list)
                .map_err(|what| self.error("resource.attributes_list", format!("{what} in {list:?}")))?;
            out.extend(pairs.into_iter().map(|(k, v)| KeyValue::new(k, v)));
        }
        for (i, attribute) in resource.attributes.iter().flatten().enumerate() {
            let path = format!("resource.attributes[{i}].value");
            let value = attribute_value(&attribute.value, attribute.kind.unwrap_or(AttributeType::String))
                .map_err(|expected| self.error(&path, format!("expected {expected} for attribute {:?}", attribute.name)))?;
            if let Some(value) = value {
                out.push(KeyValue::new(attribute.name.clone(), value));
            }
        }
        Ok(out)
    }

    /// The schema checks the types alone do not make.
    fn check(&self) -> Result<(), BuildError> {
        let model = &self.model;
        let major = model.file_format.split(['.', '-']).next().unwrap_or("");
        if major != "1" {
            return Err(self.error(
                "file_format",
                format!(
                    "file format {:?} is not supported: this pipeline reads file format 1.x (write `file_format: \"1.0\"`)",
                    model.file_format
                ),
            ));
        }
        let refuse = |path: &str, what: &str| Err(self.error(path, format!("{what} is not supported by otel-pipeline; remove it")));
        self.resource_attributes()?;
        let Some(meter_provider) = &model.meter_provider else { return Ok(()) };
        if meter_provider.meter_configurator.is_some() {
            return refuse("meter_provider.meter_configurator/development", "the meter configurator");
        }
        if meter_provider.readers.is_empty() {
            return Err(self.error("meter_provider.readers", "give at least one reader (`pull` or `periodic`)"));
        }
        let mut limits: Option<(String, &CardinalityLimitsModel)> = None;
        for (path, reader) in self.readers_all() {
            let (producers, cardinality) = match reader {
                ReaderModel::Periodic(p) => {
                    if p.interval == Some(0) {
                        return Err(self.error(&format!("{path}.periodic.interval"), "must be more than 0 milliseconds"));
                    }
                    if let PushExporterModel::OtlpFile(_) = p.exporter {
                        return refuse(&format!("{path}.periodic.exporter.otlp_file/development"), "the OTLP file exporter");
                    }
                    (p.producers.is_some(), &p.cardinality_limits)
                }
                ReaderModel::Pull(p) => (p.producers.is_some(), &p.cardinality_limits),
            };
            let kind = match reader {
                ReaderModel::Periodic(_) => "periodic",
                ReaderModel::Pull(_) => "pull",
            };
            if producers {
                return refuse(&format!("{path}.{kind}.producers"), "metric producers");
            }
            if let Some(own) = cardinality {
                let at = format!("{path}.{kind}.cardinality_limits");
                views::check_limits(own).map_err(|(key, why)| self.error(&format!("{at}.{key}"), why))?;
                match &limits {
                    Some((first, other)) if *other != own => {
                        return Err(self.error(
                            &at,
                            format!("differs from {first}: the readers share one aggregation here, so give them the same limits"),
                        ))
                    }
                    _ => limits = Some((at, own)),
                }
            }
        }
        self.histogram_aggregation_of_all()?;
        for (i, view) in meter_provider.views.iter().flatten().enumerate() {
            views::check(view).map_err(|(key, why)| self.error(&format!("meter_provider.views[{i}].{key}"), why))?;
        }
        Ok(())
    }

    /// Every reader with its path, disabled or not (for checks).
    fn readers_all(&self) -> impl Iterator<Item = (String, &ReaderModel)> {
        let readers = self.model.meter_provider.iter().flat_map(|m| m.readers.iter());
        readers.enumerate().map(|(i, r)| (format!("meter_provider.readers[{i}]"), r))
    }

    /// The reader-level cardinality limits (one set for all readers; checked).
    pub(crate) fn cardinality_limits(&self) -> Option<CardinalityLimitsModel> {
        self.readers_all().find_map(|(_, r)| match r {
            ReaderModel::Periodic(p) => p.cardinality_limits.clone(),
            ReaderModel::Pull(p) => p.cardinality_limits.clone(),
        })
    }

    /// Whether histograms without a view or catalog aggregation are base-2 exponential: the
    /// readers' `default_histogram_aggregation`, which must agree (a pull reader's is explicit
    /// buckets), because the readers share one aggregation here.
    pub(crate) fn histogram_aggregation_of_all(&self) -> Result<Option<HistogramAggregationModel>, BuildError> {
        let mut chosen: Option<(String, HistogramAggregationModel)> = None;
        for (path, reader) in self.readers_all() {
            let (at, aggregation) = match reader {
                ReaderModel::Pull(_) => (path, HistogramAggregationModel::ExplicitBucketHistogram),
                ReaderModel::Periodic(p) => {
                    let (key, given) = match &p.exporter {
                        PushExporterModel::OtlpHttp(Some(m)) => ("otlp_http", m.default_histogram_aggregation),
                        PushExporterModel::OtlpGrpc(Some(m)) => ("otlp_grpc", m.default_histogram_aggregation),
                        PushExporterModel::Console(Some(m)) => ("console", m.default_histogram_aggregation),
                        _ => ("", None),
                    };
                    let at = format!("{path}.periodic.exporter.{key}.default_histogram_aggregation");
                    (at, given.unwrap_or(HistogramAggregationModel::ExplicitBucketHistogram))
                }
            };
            match &chosen {
                Some((first, other)) if *other != aggregation => {
                    return Err(self
                        .error(&at, format!("differs from {first}: the readers share one aggregation here, so choose the same for all")))
                }
                Some(_) => {}
                None => chosen = Some((at, aggregation)),
            }
        }
        Ok(chosen.map(|(_, a)| a))
    }

    /// The file's views.
    pub(crate) fn views(&self) -> Vec<ViewModel> {
        self.model.meter_provider.iter().flat_map(|m| m.views.iter().flatten().cloned()).collect()
    }

    /// `meter_provider.exemplar_filter`.
    pub fn exemplar_filter(&self) -> Option<crate::ExemplarFilter> {
        self.model.meter_provider.as_ref().and_then(|m| m.exemplar_filter)
    }
}

/// `key=value` pairs separated by commas, values percent-decoded, as in `headers_list` and
/// `attributes_list`; `Err` says what is wrong (never repeating a value).
pub fn key_value_list(text: &str) -> Result<Vec<(String, String)>, &'static str> {
    crate::config::env::parse_key_values(text)
}

/// An attribute's value as its declared type; `None` for null (the attribute is left out).
fn attribute_value(value: &Value, kind: AttributeType) -> Result<Option<OtelValue>, &'static str> {
    use opentelemetry::{Array, StringValue};
    let string = |v: &Value| v.as_str().map(|s| StringValue::from(s.to_owned()));
    let int = |v: &Value| v.as_i64();
    let double = |v: &Value| v.as_f64();
    let array = |v: &Value| v.as_array().filter(|a| !a.is_empty()).cloned();
    if value.is_null() {
        return Ok(None);
    }
    let converted = match kind {
        AttributeType::String => string(value).map(OtelValue::String).ok_or("a string"),
        AttributeType::Bool => value.as_bool().map(OtelValue::Bool).ok_or("true or false"),
        AttributeType::Int => int(value).map(OtelValue::I64).ok_or("an integer"),
        AttributeType::Double => double(value).map(OtelValue::F64).ok_or("a number"),
        AttributeType::StringArray => array(value)
            .and_then(|a| a.iter().map(string).collect::<Option<Vec<_>>>())
            .map(|v| OtelValue::Array(Array::String(v)))
            .ok_or("a non-empty list of strings"),
        AttributeType::BoolArray => array(value)
            .and_then(|a| a.iter().map(Value::as_bool).collect::<Option<Vec<_>>>())
            .map(|v| OtelValue::Array(Array::Bool(v)))
            .ok_or("a non-empty list of booleans"),
        AttributeType::IntArray => array(value)
            .and_then(|a| a.iter().map(int).collect::<Option<Vec<_>>>())
            .map(|v| OtelValue::Array(Array::I64(v)))
            .ok_or("a non-empty list of integers"),
        AttributeType::DoubleArray => array(value)
            .and_then(|a| a.iter().map(double).collect::<Option<Vec<_>>>())
            .map(|v| OtelValue::Array(Array::F64(v)))
            .ok_or("a non-empty list of numbers"),
    };
    converted.map(Some)
}
