//! Catalog files (feature `catalog-file`): the format is documented on [`Catalog::from_yaml`].

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::{Catalog, CatalogError, MetricDef};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    metrics: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: Spanned<String>,
    kind: Kind,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    allow_other_labels: bool,
    buckets: Option<Buckets>,
    window: Option<usize>,
    cardinality_limit: Option<usize>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Counter,
    UpDownCounter,
    Gauge,
    Histogram,
    QuantileTimer,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Buckets {
    Bounds(Vec<f64>),
    Named(String),
}

impl Catalog {
    /// A catalog from the YAML text of a catalog file; `source` names the text in errors (a
    /// path). A service's metrics can so be stated once, for its code and for `otel-ops render
    /// --catalog FILE` alike:
    ///
    /// ```yaml
    /// metrics:
    ///   - name: orders.placed          # OTel name; Prometheus: orders_placed_total
    ///     kind: counter                # counter, up_down_counter, gauge, histogram, quantile_timer
    ///     unit: "{order}"              # UCUM, optional
    ///     description: Orders placed   # optional
    ///     labels: [payment, region]    # the label keys it may carry
    ///   - name: checkout.duration
    ///     kind: histogram
    ///     unit: s
    ///     buckets: [0.1, 0.25, 0.5, 1] # or `exponential`; default: the unit's
    ///     cardinality_limit: 500       # optional (default 2000)
    ///   - name: task.execute.time
    ///     kind: quantile_timer
    ///     unit: s
    ///     window: 1024                 # observations kept per series (quantile timers)
    /// ```
    ///
    /// Other keys, wrong types and metrics the catalog refuses are errors naming the line and
    /// the field.
    pub fn from_yaml(text: &str, source: &str) -> Result<Catalog, CatalogFileError> {
        let file: File =
            serde_saphyr::from_str(text).map_err(|e| CatalogFileError::Invalid { location: source.to_owned(), message: e.to_string() })?;
        let catalog = Catalog::new();
        for entry in file.metrics {
            let line = entry.name.referenced.line();
            let location = format!("{source}, line {line}: metric {:?}", entry.name.value);
            let at = |message: String| CatalogFileError::Invalid { location: location.clone(), message };
            let name = entry.name.value.as_str();
            let mut def = match entry.kind {
                Kind::Counter => MetricDef::counter(name),
                Kind::UpDownCounter => MetricDef::up_down_counter(name),
                Kind::Gauge => MetricDef::gauge(name),
                Kind::Histogram => MetricDef::histogram(name),
                Kind::QuantileTimer => MetricDef::quantile_timer(name),
            };
            def = def.unit(&entry.unit).description(&entry.description);
            def.labels = entry.labels;
            if entry.allow_other_labels {
                def = def.allow_other_labels();
            }
            match (entry.buckets, entry.kind) {
                (None, _) => {}
                (Some(Buckets::Bounds(bounds)), Kind::Histogram) => def = def.buckets(&bounds),
                (Some(Buckets::Named(named)), Kind::Histogram) if named == "exponential" => def = def.exponential(),
                (Some(Buckets::Named(named)), Kind::Histogram) => {
                    return Err(at(format!("buckets: {named:?} is neither a list of bounds nor `exponential`")))
                }
                (Some(_), _) => return Err(at("buckets: only a histogram has buckets".into())),
            }
            match (entry.window, entry.kind) {
                (None, _) => {}
                (Some(window), Kind::QuantileTimer) if window > 0 => def = def.window(window),
                (Some(_), Kind::QuantileTimer) => return Err(at("window: must be at least 1".into())),
                (Some(_), _) => return Err(at("window: only a quantile_timer has a window".into())),
            }
            if let Some(limit) = entry.cardinality_limit {
                if limit == 0 {
                    return Err(at("cardinality_limit: must be at least 1".into()));
                }
                def = def.cardinality_limit(limit);
            }
            catalog.declare(def).map_err(|source| CatalogFileError::Refused { location: location.clone(), source })?;
        }
        Ok(catalog)
    }

    /// A catalog from a catalog file (see [`from_yaml`](Self::from_yaml)).
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Catalog, CatalogFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogFileError::Read { path: path.display().to_string(), source })?;
        Self::from_yaml(&text, &path.display().to_string())
    }
}

/// Why a catalog file was not loaded: the file, the line and the field, with the cause kept.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum CatalogFileError {
    /// The file could not be read.
    #[error("cannot read the catalog file {path}")]
    Read {
        /// The file.
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Not a catalog: YAML, a key, a type or a value is wrong.
    #[error("{location}: {message}")]
    Invalid {
        /// The file, and the line and metric when known.
        location: String,
        /// What is wrong and what is accepted.
        message: String,
    },
    /// A well-formed declaration the catalog refuses (a name the SDK would refuse, one
    /// declared twice).
    #[error("{location}: the declaration is refused")]
    Refused {
        /// The file, line and metric.
        location: String,
        /// Why.
        #[source]
        source: CatalogError,
    },
}

crate::debug_as_report!(CatalogFileError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_declares_every_kind_and_errors_name_line_and_field() {
        let text = "metrics:\n  - name: orders.placed\n    kind: counter\n    labels: [payment]\n  - name: checkout.duration\n    kind: histogram\n    unit: s\n    buckets: [0.1, 1]\n  - name: queue\n    kind: gauge\n  - name: t\n    kind: quantile_timer\n    window: 16\n  - name: inflight\n    kind: up_down_counter\n";
        let catalog = Catalog::from_yaml(text, "c.yaml").expect("valid");
        assert_eq!(catalog.definitions().len(), 5);
        assert_eq!(catalog.get("checkout.duration").and_then(|d| d.bucket_bounds()), Some(vec![0.1, 1.0]));
        for (bad, needles) in [
            ("metrics:\n  - name: x\n    kind: counter\n    colour: red\n", vec!["colour", "line 4"]),
            ("metrics:\n  - name: x\n    kind: timer\n", vec!["timer", "line 3"]),
            ("metrics:\n  - name: x\n    kind: counter\n    labels: 7\n", vec!["labels", "line 4"]),
            ("metrics:\n  - name: x\n    kind: counter\n  - name: y\n    kind: gauge\n    buckets: [1]\n", vec!["line 4", "buckets"]),
            ("metrics:\n  - name: 9x\n    kind: counter\n", vec!["line 2", "9x"]),
            ("metrics:\n  - name: x\n    kind: counter\n  - name: x\n    kind: gauge\n", vec!["line 4", "already declared"]),
        ] {
            let err = format!("{:?}", Catalog::from_yaml(bad, "c.yaml").expect_err(bad)); // message and causes
            assert!(err.starts_with("c.yaml") && needles.iter().all(|n| err.contains(n)), "{bad}\n=> {err}");
        }
    }
}
