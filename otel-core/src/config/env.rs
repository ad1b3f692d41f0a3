//! Reading `OTEL_*` configuration, with errors that name the variable.
//!
//! Every lookup goes through an [`Env`], so tests (and embedders) can supply variables without
//! touching the process environment.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::BuildError;

type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A source of configuration variables: the process environment, or a fixed map.
#[derive(Clone)]
pub struct Env {
    lookup: Lookup,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Env")
    }
}

impl Default for Env {
    fn default() -> Self {
        Env::process()
    }
}

impl Env {
    /// Variables of the running process.
    pub fn process() -> Self {
        Env { lookup: Arc::new(|name| std::env::var(name).ok()) }
    }

    /// No variables at all: every setting comes from the builder or its default.
    pub fn empty() -> Self {
        Env::from_pairs::<&str, &str>([])
    }

    /// Exactly the given variables, nothing from the process.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let map: HashMap<String, String> = pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        Env { lookup: Arc::new(move |name| map.get(name).cloned()) }
    }

    /// The variable's value; unset and empty (after trimming) are the same: `None`.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// The variable's value exactly as set (for substitution into a configuration file).
    #[cfg_attr(not(feature = "config-file"), allow(dead_code))]
    pub(crate) fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// The first of `names` that is set, with the name it came from.
    pub fn first(&self, names: &[&'static str]) -> Option<(&'static str, String)> {
        names.iter().find_map(|n| self.get(n).map(|v| (*n, v)))
    }

    /// A duration given in whole milliseconds, as the OTel SDK variables are.
    pub fn millis(&self, names: &[&'static str]) -> Result<Option<Duration>, BuildError> {
        let Some((var, value)) = self.first(names) else { return Ok(None) };
        match value.parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms))),
            _ => Err(BuildError::invalid_env(var, &value, "a positive whole number of milliseconds, e.g. 10000")),
        }
    }

    /// One of a fixed set of words (compared case-insensitively), returned lower-cased.
    pub fn choice(&self, names: &[&'static str], accepted: &[&str]) -> Result<Option<String>, BuildError> {
        let Some((var, value)) = self.first(names) else { return Ok(None) };
        let lower = value.to_ascii_lowercase();
        if accepted.contains(&lower.as_str()) {
            Ok(Some(lower))
        } else {
            Err(BuildError::invalid_env(var, &value, format!("one of {}", accepted.join(", "))))
        }
    }

    /// `OTEL_METRICS_EXPORTER`: a comma list of exporter names.
    pub fn metrics_exporters(&self) -> Result<Option<Vec<ExporterKind>>, BuildError> {
        const VAR: &str = "OTEL_METRICS_EXPORTER";
        let Some(value) = self.get(VAR) else { return Ok(None) };
        let mut kinds = Vec::new();
        for word in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            const KINDS: [ExporterKind; 5] =
                [ExporterKind::Prometheus, ExporterKind::Otlp, ExporterKind::Textfile, ExporterKind::Pushgateway, ExporterKind::Influx];
            let word = word.to_ascii_lowercase();
            if word == "none" {
                continue;
            }
            let kind = match KINDS.into_iter().find(|k| k.name() == word) {
                Some(kind) => kind,
                None => {
                    return Err(BuildError::invalid_env(
                        VAR,
                        &value,
                        "a comma list of prometheus, otlp, textfile, pushgateway, influx, none (e.g. `prometheus,otlp`)",
                    ))
                }
            };
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(Some(kinds))
    }

    /// `key=value` pairs separated by commas, values percent-decoded, as in `OTEL_RESOURCE_ATTRIBUTES`
    /// and `OTEL_EXPORTER_OTLP_HEADERS`. With `secret` set, an error never repeats the value.
    pub fn key_values(&self, names: &[&'static str], secret: bool) -> Result<Vec<(String, String)>, BuildError> {
        let Some((var, value)) = self.first(names) else { return Ok(Vec::new()) };
        let shown = if secret { "<redacted>" } else { value.as_str() };
        parse_key_values(&value).map_err(|what| BuildError::invalid_env(var, shown, format!("comma-separated key=value pairs ({what})")))
    }
}

/// `key=value` pairs separated by commas, values percent-decoded; `Err` says what is wrong.
pub(crate) fn parse_key_values(value: &str) -> Result<Vec<(String, String)>, &'static str> {
    let mut pairs = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = item.split_once('=').ok_or("an entry has no `=`")?;
        let k = k.trim();
        if k.is_empty() {
            return Err("an entry has an empty key");
        }
        let v = percent_decode(v.trim()).ok_or("a value has a malformed %-escape")?;
        pairs.push((k.to_owned(), v));
    }
    Ok(pairs)
}

/// The exporters `OTEL_METRICS_EXPORTER` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExporterKind {
    /// A Prometheus pull endpoint.
    Prometheus,
    /// OTLP push to a collector.
    Otlp,
    /// A `.prom` file for node_exporter's textfile collector.
    Textfile,
    /// Pushes to a Prometheus Pushgateway.
    Pushgateway,
    /// InfluxDB line protocol to a write URL or a file.
    Influx,
}

impl ExporterKind {
    /// Its word in `OTEL_METRICS_EXPORTER`, which is also the name of the otel-exporters feature
    /// that builds it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Prometheus => "prometheus",
            Self::Otlp => "otlp",
            Self::Textfile => "textfile",
            Self::Pushgateway => "pushgateway",
            Self::Influx => "influx",
        }
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The variable naming the OpenTelemetry configuration file.
pub(crate) const CONFIG_FILE_VAR: &str = "OTEL_CONFIG_FILE";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_list_accepts_comma_lists_and_none() {
        let env = Env::from_pairs([("OTEL_METRICS_EXPORTER", " Prometheus , otlp,none ")]);
        assert_eq!(env.metrics_exporters().unwrap(), Some(vec![ExporterKind::Prometheus, ExporterKind::Otlp]));
        let env = Env::from_pairs([("OTEL_METRICS_EXPORTER", "none")]);
        assert_eq!(env.metrics_exporters().unwrap(), Some(vec![]));
    }

    #[test]
    fn unknown_exporter_names_the_variable_and_the_choices() {
        let env = Env::from_pairs([("OTEL_METRICS_EXPORTER", "prometheus,zipkin")]);
        let msg = env.metrics_exporters().unwrap_err().to_string();
        assert!(msg.contains("OTEL_METRICS_EXPORTER") && msg.contains("zipkin") && msg.contains("otlp"), "{msg}");
    }

    #[test]
    fn millis_rejects_non_numbers_and_zero() {
        for bad in ["10s", "0", "-5"] {
            let env = Env::from_pairs([("OTEL_METRIC_EXPORT_INTERVAL", bad)]);
            let msg = env.millis(&["OTEL_METRIC_EXPORT_INTERVAL"]).unwrap_err().to_string();
            assert!(msg.contains("OTEL_METRIC_EXPORT_INTERVAL") && msg.contains(bad), "{msg}");
        }
        let env = Env::from_pairs([("OTEL_METRIC_EXPORT_INTERVAL", "1500")]);
        assert_eq!(env.millis(&["OTEL_METRIC_EXPORT_INTERVAL"]).unwrap(), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn key_values_decode_percent_escapes_and_hide_secrets_in_errors() {
        let env = Env::from_pairs([("H", "api-key=s%3Dcret, x=1")]);
        assert_eq!(
            env.key_values(&["H"], true).unwrap(),
            vec![("api-key".to_owned(), "s=cret".to_owned()), ("x".to_owned(), "1".to_owned())]
        );
        let env = Env::from_pairs([("H", "authorization=Bearer%ZZtopsecret")]);
        let msg = env.key_values(&["H"], true).unwrap_err().to_string();
        assert!(!msg.contains("topsecret") && msg.contains("H="), "{msg}");
    }

    #[test]
    fn signal_specific_variable_wins_over_generic() {
        let env = Env::from_pairs([("A_METRICS", "grpc"), ("A", "http/protobuf")]);
        assert_eq!(env.choice(&["A_METRICS", "A"], &["grpc", "http/protobuf"]).unwrap().as_deref(), Some("grpc"));
    }
}
