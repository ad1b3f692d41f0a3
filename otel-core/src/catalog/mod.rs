//! Declaring metrics once: name, kind, unit, description, label keys, buckets, cardinality cap.
//! The same declarations create instruments and configure views; `Telemetry::catalog()` hands
//! them back to whatever documents the service's metrics.

pub mod buckets;
#[cfg(feature = "catalog-file")]
mod file;
#[cfg(feature = "catalog-file")]
pub use file::CatalogFileError;
pub mod presets;
pub(crate) mod sdk_rules;
pub mod units;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use opentelemetry_sdk::metrics::{Aggregation, Instrument, Stream};

/// Label sets kept per metric when a definition sets no cardinality limit: the SDK's default.
pub(crate) const DEFAULT_CARDINALITY_LIMIT: usize = 2000;

/// The label a quantile timer adds to its quantile series; a timer cannot declare it itself.
pub(crate) const QUANTILE_LABEL: &str = "quantile";

/// What a metric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Kind {
    /// Only goes up (requests, errors).
    Counter,
    /// Goes up and down by increments (queue depth, in-flight requests).
    UpDownCounter,
    /// A current value that is set, and may also be incremented and decremented.
    Gauge,
    /// A distribution (durations, sizes).
    Histogram,
    /// p50/p75/p90/p95/p99 over the last `window` observations per series, exposed as a gauge
    /// family with a `quantile` label plus `_count` and `_sum` gauges.
    QuantileTimer {
        /// Observations kept per series.
        window: usize,
    },
}

/// How a histogram aggregates.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Buckets {
    /// The unit's default (see [`crate::catalog::buckets::for_unit`]).
    UnitDefault,
    /// These upper bounds.
    Explicit(Vec<f64>),
    /// A base-2 exponential histogram (a native histogram in Prometheus) with at most this many
    /// buckets.
    Exponential {
        /// Maximum number of buckets per sign.
        max_size: u32,
    },
}

/// One declared metric. Build with [`MetricDef::counter`], [`MetricDef::histogram`], ...
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct MetricDef {
    /// OTel name, dotted (`http.server.request.duration`).
    pub name: String,
    /// Instrument kind.
    pub kind: Kind,
    /// UCUM unit (`s`, `By`, `{request}`), empty for none.
    pub unit: String,
    /// What it measures.
    pub description: String,
    /// The label keys allowed on it.
    pub labels: Vec<String>,
    /// Record labels not in `labels` anyway (default: they are dropped, with a warning).
    pub allow_other_labels: bool,
    /// Histogram aggregation.
    pub buckets: Buckets,
    /// Most distinct label sets kept; more fold into one overflow series.
    pub cardinality_limit: Option<usize>,
}

impl MetricDef {
    /// The OTel name of a quantile timer's `_count` / `_sum` companion (`suffix` `count` or
    /// `sum`): after translation it is the timer's own Prometheus name plus the suffix
    /// (`task.poll.time` in `s` → `task.poll.time.seconds.count` → `task_poll_time_seconds_count`),
    /// whatever the translation strategy. `None` for other kinds, whose `_count` and `_sum` are
    /// the histogram's own samples.
    pub fn companion_name(&self, suffix: &str) -> Option<String> {
        let Kind::QuantileTimer { .. } = self.kind else { return None };
        let (main, per) = crate::catalog::units::suffix_words(&self.unit);
        let mut name = self.name.clone();
        for word in [main.as_str(), per.as_str(), suffix].into_iter().filter(|w| !w.is_empty()) {
            name.push('.');
            name.push_str(word);
        }
        Some(name)
    }

    fn new(name: &str, kind: Kind) -> Self {
        MetricDef {
            name: name.to_owned(),
            kind,
            unit: String::new(),
            description: String::new(),
            labels: Vec::new(),
            allow_other_labels: false,
            buckets: Buckets::UnitDefault,
            cardinality_limit: None,
        }
    }

    /// A counter.
    pub fn counter(name: &str) -> Self {
        Self::new(name, Kind::Counter)
    }

    /// An up-down counter.
    pub fn up_down_counter(name: &str) -> Self {
        Self::new(name, Kind::UpDownCounter)
    }

    /// A gauge (set, increment, decrement).
    pub fn gauge(name: &str) -> Self {
        Self::new(name, Kind::Gauge)
    }

    /// A histogram.
    pub fn histogram(name: &str) -> Self {
        Self::new(name, Kind::Histogram)
    }

    /// A quantile timer over the last 1000 observations (see [`Kind::QuantileTimer`]).
    pub fn quantile_timer(name: &str) -> Self {
        Self::new(name, Kind::QuantileTimer { window: 1000 }).unit("s")
    }

    /// The sliding window of a quantile timer.
    #[must_use]
    pub fn window(mut self, observations: usize) -> Self {
        if let Kind::QuantileTimer { .. } = self.kind {
            self.kind = Kind::QuantileTimer { window: observations.max(1) };
        }
        self
    }

    /// The UCUM unit.
    #[must_use]
    pub fn unit(mut self, unit: &str) -> Self {
        self.unit = unit.to_owned();
        self
    }

    /// The description (Prometheus `# HELP`).
    #[must_use]
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_owned();
        self
    }

    /// The allowed label keys.
    #[must_use]
    pub fn labels<const N: usize>(mut self, keys: [&str; N]) -> Self {
        self.labels = keys.iter().map(|k| (*k).to_owned()).collect();
        self
    }

    /// Record labels outside [`labels`](Self::labels) instead of dropping them.
    #[must_use]
    pub fn allow_other_labels(mut self) -> Self {
        self.allow_other_labels = true;
        self
    }

    /// Explicit bucket upper bounds.
    #[must_use]
    pub fn buckets(mut self, bounds: &[f64]) -> Self {
        self.buckets = Buckets::Explicit(bounds.to_vec());
        self
    }

    /// A base-2 exponential histogram (default 160 buckets).
    #[must_use]
    pub fn exponential(mut self) -> Self {
        self.buckets = Buckets::Exponential { max_size: 160 };
        self
    }

    /// At most `limit` label sets.
    #[must_use]
    pub fn cardinality_limit(mut self, limit: usize) -> Self {
        self.cardinality_limit = Some(limit);
        self
    }

    /// The bucket bounds to create the instrument with, if explicit (own or unit default).
    pub(crate) fn bucket_bounds(&self) -> Option<Vec<f64>> {
        match &self.buckets {
            Buckets::Explicit(b) => Some(b.clone()),
            Buckets::UnitDefault => crate::catalog::buckets::for_unit(&self.unit),
            Buckets::Exponential { .. } => None,
        }
    }

    /// Whether `key` may be recorded on this metric.
    pub fn allows(&self, key: &str) -> bool {
        self.allow_other_labels || self.labels.iter().any(|k| k == key)
    }

    /// A label the metric's exported series set themselves: a quantile timer's `quantile`, a
    /// histogram's `le` (after translation, so `le` in any spelling Prometheus would map to it).
    fn own_label(&self, label: &str) -> bool {
        match self.kind {
            Kind::QuantileTimer { .. } => label == QUANTILE_LABEL,
            Kind::Histogram => label == "le",
            _ => false,
        }
    }

    fn same_shape(&self, other: &MetricDef) -> bool {
        self == other
    }
}

/// A declaration the catalog cannot take: the same name with another shape, or a label the
/// metric's own series already use.
#[derive(Clone, thiserror::Error)]
#[error("metric {name:?} {problem}")]
pub struct CatalogError {
    name: String,
    problem: String,
}

/// The declared metrics. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    defs: Arc<RwLock<BTreeMap<String, Arc<MetricDef>>>>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a metric. Declaring the same definition again is fine; the same name with a
    /// different shape is an error.
    pub fn declare(&self, def: MetricDef) -> Result<Arc<MetricDef>, CatalogError> {
        let mut defs = self.defs.write().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = defs.get(&def.name) {
            if existing.same_shape(&def) {
                return Ok(existing.clone());
            }
            return Err(CatalogError {
                name: def.name.clone(),
                problem: format!(
                    "is already declared differently ({:?}, unit {:?}, labels {:?}); declare it once, or give the new one another name",
                    existing.kind, existing.unit, existing.labels
                ),
            });
        }
        let unit = Some(def.unit.as_str()).filter(|u| !u.is_empty());
        if let Some(why) = crate::catalog::sdk_rules::refusal(&def.name, unit, def.bucket_bounds().as_deref()) {
            return Err(CatalogError { name: def.name.clone(), problem: format!("cannot be an OpenTelemetry instrument: {why}") });
        }
        if let Some(label) = def.labels.iter().find(|l| def.own_label(l)) {
            return Err(CatalogError {
                name: def.name.clone(),
                problem: format!("cannot declare label {label:?}: its own series already carry it; rename the label"),
            });
        }
        let def = Arc::new(def);
        defs.insert(def.name.clone(), def.clone());
        Ok(def)
    }

    /// Declares several metrics, stopping at the first conflict.
    pub fn with(self, defs: impl IntoIterator<Item = MetricDef>) -> Result<Self, CatalogError> {
        for def in defs {
            self.declare(def)?;
        }
        Ok(self)
    }

    /// The declaration of `name`.
    pub fn get(&self, name: &str) -> Option<Arc<MetricDef>> {
        self.defs.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }

    /// Every declaration, by name.
    pub fn definitions(&self) -> Vec<Arc<MetricDef>> {
        self.defs.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// The SDK view for an instrument: exponential aggregation and cardinality caps from the
    /// catalog (explicit buckets are set on the instrument itself).
    pub(crate) fn view(&self, instrument: &Instrument) -> Option<Stream> {
        let (aggregation, limit) = self.view_parts(instrument);
        if aggregation.is_none() && limit.is_none() {
            return None;
        }
        let mut stream = Stream::builder();
        if let Some(aggregation) = aggregation {
            stream = stream.with_aggregation(aggregation);
        }
        if let Some(limit) = limit {
            stream = stream.with_cardinality_limit(limit);
        }
        stream.build().ok()
    }

    /// What the catalog's view sets for an instrument: its aggregation and its cardinality limit.
    pub(crate) fn view_parts(&self, instrument: &Instrument) -> (Option<Aggregation>, Option<usize>) {
        let Some(def) = self.get(instrument.name()) else { return (None, None) };
        let aggregation = match def.buckets {
            Buckets::Exponential { max_size } => {
                Some(Aggregation::Base2ExponentialHistogram { max_size, max_scale: 20, record_min_max: true })
            }
            _ => None,
        };
        let limit = if let Kind::QuantileTimer { .. } = def.kind {
            // Each label set, the facade's overflow set included, is one series per quantile.
            let limit = def.cardinality_limit.unwrap_or(DEFAULT_CARDINALITY_LIMIT);
            Some(limit.saturating_add(1).saturating_mul(crate::pipeline::stats::QUANTILES.len()))
        } else {
            def.cardinality_limit
        };
        (aggregation, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redeclaring_the_same_shape_is_fine_and_a_different_shape_is_an_error() {
        let catalog = Catalog::new();
        let def = MetricDef::counter("request_count").labels(["endpoint", "method", "status"]);
        catalog.declare(def.clone()).unwrap();
        catalog.declare(def).unwrap();
        let err = catalog.declare(MetricDef::histogram("request_count").unit("s")).unwrap_err().to_string();
        assert!(err.contains("request_count") && err.contains("Counter"), "{err}");
        assert_eq!(catalog.definitions().len(), 1);
    }

    #[test]
    fn histograms_default_to_buckets_for_their_unit() {
        assert_eq!(MetricDef::histogram("d").unit("s").bucket_bounds().unwrap()[0], 0.005);
        assert_eq!(MetricDef::histogram("t").buckets(&crate::catalog::buckets::TOKEN_USAGE).bucket_bounds().unwrap()[11], 50_000.0);
        assert!(MetricDef::histogram("e").unit("s").exponential().bucket_bounds().is_none());
    }
}

crate::debug_as_report!(CatalogError);
