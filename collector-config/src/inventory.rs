//! Every metric a service exposes, with the names and labels Prometheus will show for it: the
//! one place the generator turns OTel names into Prometheus ones, through the exporter's own
//! naming, so rules and dashboards always name what is scraped.

use otel_core::config::ConfigFile;
use otel_core::{Buckets, Kind, MetricDef};
use otel_exporters::{EncodeOptions, MetricType, NamingError};

/// One metric as Prometheus shows it.
#[derive(Debug, Clone)]
pub struct Metric {
    /// The declaration it comes from.
    pub def: MetricDef,
    /// The Prometheus family name (`http_server_request_duration_seconds`).
    pub family: String,
    /// Its label names in Prometheus, after a scrape (`job` and `instance` attributes become
    /// `exported_job` and `exported_instance`).
    pub labels: Vec<String>,
    /// The Prometheus type: `counter`, `gauge`, `histogram`, `summary` (a quantile timer: its
    /// `quantile` samples, `_count` and `_sum`).
    pub kind: &'static str,
    /// Where the metric comes from (`http`, `worker`, `catalog`, ...).
    pub source: &'static str,
}

impl Metric {
    /// A histogram's bucket boundaries (its own, or its unit's default); empty for other kinds.
    pub fn bounds(&self) -> Vec<f64> {
        match (&self.def.kind, &self.def.buckets) {
            (Kind::Histogram, Buckets::Explicit(bounds)) => bounds.clone(),
            (Kind::Histogram, Buckets::UnitDefault) => otel_core::buckets::for_unit(&self.def.unit).unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// The metrics of a service, by source, named as the exporter names them.
#[derive(Debug, Clone)]
pub struct Inventory {
    options: EncodeOptions,
    config: Option<std::sync::Arc<ConfigFile>>,
    metrics: Vec<Metric>,
}

impl Inventory {
    /// An empty inventory named with `options` (the exporter's).
    pub fn new(options: EncodeOptions) -> Self {
        Inventory { options, config: None, metrics: Vec::new() }
    }

    /// An empty inventory named as the configuration file's Prometheus reader names series
    /// (its translation strategy and label options), whose views rename, re-bucket, filter or
    /// drop the metrics added.
    pub fn for_config(file: std::sync::Arc<ConfigFile>) -> Self {
        let options = otel_exporters::prometheus_options(&file).unwrap_or_default();
        Inventory { options, config: Some(file), metrics: Vec::new() }
    }

    /// The naming and labelling options the inventory names with.
    pub fn options(&self) -> &EncodeOptions {
        &self.options
    }

    /// Adds `defs` from `source`; a metric already there (by OTel name) is kept once.
    pub fn add(&mut self, source: &'static str, defs: impl IntoIterator<Item = MetricDef>) -> Result<(), NamingError> {
        let defs: Vec<MetricDef> = match &self.config {
            Some(file) => defs.into_iter().flat_map(|def| file.streams_of(&def)).collect(),
            None => defs.into_iter().collect(),
        };
        for def in defs {
            if self.metrics.iter().any(|m| m.def.name == def.name) {
                continue;
            }
            let (metric_type, kind) = match (&def.kind, &def.buckets) {
                (Kind::Counter, _) => (MetricType::MonotonicCounter, "counter"),
                (Kind::UpDownCounter, _) => (MetricType::NonMonotonicCounter, "gauge"),
                (Kind::Gauge, _) => (MetricType::Gauge, "gauge"),
                (Kind::QuantileTimer { .. }, _) => (MetricType::Gauge, "summary"),
                (Kind::Histogram, Buckets::Exponential { .. }) => (MetricType::ExponentialHistogram, "histogram"),
                (Kind::Histogram, _) => (MetricType::Histogram, "histogram"),
                _ => (MetricType::Unknown, "unknown"),
            };
            let family = self.options.metric_namer.build(&def.name, &def.unit, metric_type)?;
            let mut labels = Vec::with_capacity(def.labels.len());
            for key in &def.labels {
                let label = self.options.label_namer.build(key)?;
                labels.push(if label == "job" || label == "instance" { format!("exported_{label}") } else { label });
            }
            self.metrics.push(Metric { def, family, labels, kind, source });
        }
        Ok(())
    }

    /// Every metric, in the order added.
    pub fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    /// The metric with this OTel name.
    pub fn get(&self, otel_name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.def.name == otel_name)
    }

    /// Whether every one of these OTel names is there.
    pub fn has_all(&self, otel_names: &[&str]) -> bool {
        otel_names.iter().all(|n| self.get(n).is_some())
    }

    /// The Prometheus family name of an OTel name (empty when it is not there; callers check
    /// [`has_all`](Self::has_all) first).
    pub fn family(&self, otel_name: &str) -> String {
        self.get(otel_name).map(|m| m.family.clone()).unwrap_or_default()
    }

    /// The `_count` or `_sum` (`suffix`) samples of a histogram or quantile timer (a summary).
    pub fn companion(&self, otel_name: &str, suffix: &str) -> String {
        self.get(otel_name).map(|metric| format!("{}_{suffix}", metric.family)).unwrap_or_default()
    }

    /// The Prometheus label name of attribute `key` of metric `otel_name`.
    pub fn label(&self, otel_name: &str, key: &str) -> String {
        self.get(otel_name)
            .and_then(|m| m.def.labels.iter().position(|k| k == key).map(|i| m.labels[i].clone()))
            .unwrap_or_else(|| self.options.label_namer.build(key).unwrap_or_else(|_| key.to_owned()))
    }
}
