//! How metrics are named and labelled in the exposition.

use super::naming::{LabelNamer, MetricNamer, TranslationStrategy};

/// How metrics are named and labelled in the exposition.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EncodeOptions {
    /// Metric name translation (strategy and namespace).
    pub metric_namer: MetricNamer,
    /// Attribute key translation.
    pub label_namer: LabelNamer,
    /// Add `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` and
    /// `otel_scope_<attribute>` labels to every series (default on).
    pub scope_labels: bool,
    /// Emit a `target_info` series carrying the resource attributes (default on).
    pub target_info: bool,
    /// Resource attributes (OTel keys) copied onto every series as labels, e.g.
    /// `["service.name", "deployment.environment"]`.
    pub resource_labels: Vec<String>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            metric_namer: MetricNamer::default(),
            label_namer: LabelNamer::default(),
            scope_labels: true,
            target_info: true,
            resource_labels: Vec::new(),
        }
    }
}

impl EncodeOptions {
    /// Options for a translation strategy, label names escaped (or not) the same way.
    pub fn with_strategy(strategy: TranslationStrategy) -> Self {
        let mut options = EncodeOptions::default();
        options.metric_namer.strategy = strategy;
        options.label_namer.utf8_allowed = !strategy.escapes();
        options
    }

    /// The same options for a scraper that cannot take UTF-8 names: UTF-8 strategies fall back
    /// to their underscore-escaping counterparts.
    pub(super) fn escaped(&self) -> Option<Self> {
        let strategy = match self.metric_namer.strategy {
            TranslationStrategy::NoUTF8EscapingWithSuffixes => TranslationStrategy::UnderscoreEscapingWithSuffixes,
            TranslationStrategy::NoTranslation => TranslationStrategy::UnderscoreEscapingWithoutSuffixes,
            _ if !self.label_namer.utf8_allowed => return None,
            other => other,
        };
        let mut escaped = self.clone();
        escaped.metric_namer.strategy = strategy;
        escaped.label_namer.utf8_allowed = false;
        Some(escaped)
    }
}
