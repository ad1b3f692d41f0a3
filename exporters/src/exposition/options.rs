//! How metrics are named and labelled in the exposition.

use super::naming::{Escaping, LabelNamer, MetricNamer, TranslationStrategy};

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
    /// With `scope_labels`, `otel_scope_schema_url` too (default on, as Prometheus' OTLP
    /// ingestion with `promote_scope_metadata`; the Collector's Prometheus exporters leave it out).
    pub scope_schema_url: bool,
    /// Emit a `target_info` series carrying the resource attributes (default on), exactly when
    /// Prometheus' OTLP ingestion emits one: when the resource has an attribute besides
    /// `service.name`, `service.namespace` and `service.instance.id`.
    pub target_info: bool,
    /// Resource attributes copied onto every series as labels, by OTel key or pattern (`*` any
    /// run, `?` one character), e.g. `["service.name", "deployment.*"]`: Prometheus'
    /// `promote_resource_attributes`.
    pub resource_labels: Vec<String>,
    /// Patterns of resource attributes never copied, even when `resource_labels` matches them.
    pub resource_labels_excluded: Vec<String>,
    /// `job` and `instance` labels on every series and on `target_info`, made from the resource
    /// as Prometheus' OTLP ingestion makes them (`job` = `service.namespace/service.name`,
    /// `instance` = `service.instance.id`); `target_info` then leaves those three attributes
    /// out, as the ingestion does. Scraped with `honor_labels: true`, series are then
    /// identical, label for label, to the ones Prometheus stores from OTLP (default off).
    pub identifying_labels: bool,
    /// With `identifying_labels`, `target_info` keeps `service.name`, `service.namespace` and
    /// `service.instance.id` as labels too: Prometheus' `keep_identifying_resource_attributes`
    /// (default off).
    pub keep_identifying_resource_attributes: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            metric_namer: MetricNamer::default(),
            label_namer: LabelNamer::default(),
            scope_labels: true,
            scope_schema_url: true,
            target_info: true,
            resource_labels: Vec::new(),
            resource_labels_excluded: Vec::new(),
            identifying_labels: false,
            keep_identifying_resource_attributes: false,
        }
    }
}

impl EncodeOptions {
    /// Options for a translation strategy, label names escaped (or not) the same way.
    pub fn with_strategy(strategy: TranslationStrategy) -> Self {
        EncodeOptions::default().translation_strategy(strategy)
    }

    /// The same options with another translation strategy (label names follow it).
    pub fn translation_strategy(mut self, strategy: TranslationStrategy) -> Self {
        self.metric_namer.strategy = strategy;
        self.label_namer.utf8_allowed = !strategy.escapes();
        self
    }

    /// No `otel_scope_*` labels (Prometheus' OTLP ingestion adds none unless its
    /// `promote_scope_metadata` is on).
    pub fn without_scope_info(mut self) -> Self {
        self.scope_labels = false;
        self
    }

    /// Scope labels without `otel_scope_schema_url`, as the OpenTelemetry Collector's
    /// `prometheus` and `prometheusremotewrite` exporters write them.
    pub fn without_scope_schema_url(mut self) -> Self {
        self.scope_schema_url = false;
        self
    }

    /// No `target_info` series.
    pub fn without_target_info(mut self) -> Self {
        self.target_info = false;
        self
    }

    /// Copy the resource attributes matching `included` and none of `excluded` onto every
    /// series (patterns: `*` any run, `?` one character).
    pub fn with_resource_constant_labels<I: Into<String>, E: Into<String>>(
        mut self,
        included: impl IntoIterator<Item = I>,
        excluded: impl IntoIterator<Item = E>,
    ) -> Self {
        self.resource_labels = included.into_iter().map(Into::into).collect();
        self.resource_labels_excluded = excluded.into_iter().map(Into::into).collect();
        self
    }

    /// `job` and `instance` from the resource on every series (see
    /// [`identifying_labels`](Self::identifying_labels)).
    pub fn with_identifying_labels(mut self) -> Self {
        self.identifying_labels = true;
        self
    }

    /// `target_info` keeps the identifying attributes beside `job` and `instance` (see
    /// [`keep_identifying_resource_attributes`](Self::keep_identifying_resource_attributes)).
    pub fn keeping_identifying_resource_attributes(mut self) -> Self {
        self.keep_identifying_resource_attributes = true;
        self
    }

    /// The options under which pulled series equal, label for label, what Prometheus stores
    /// when it ingests the same data over OTLP with its defaults (`UnderscoreEscapingWithSuffixes`,
    /// no scope or resource promotion): no scope labels, identifying labels, `target_info` as
    /// the ingestion makes it. Scrape with `honor_labels: true`.
    pub fn otlp_parity() -> Self {
        EncodeOptions::default().without_scope_info().with_identifying_labels()
    }

    /// Whether the resource attribute `key` is copied onto every series.
    pub(crate) fn copies_resource_attribute(&self, key: &str) -> bool {
        let matches = |patterns: &[String]| patterns.iter().any(|p| otel_core::export::wildcard_match(p, key));
        matches(&self.resource_labels) && !matches(&self.resource_labels_excluded)
    }

    /// The same options for a scraper that asked for `escaping` (`None`: these options as they
    /// are). `underscores`: UTF-8 strategies fall back to their underscore-escaping counterparts;
    /// `dots` and `values`: names outside the classic set are escaped by that scheme.
    pub(crate) fn for_escaping(&self, escaping: Escaping) -> Option<Self> {
        match escaping {
            Escaping::AllowUtf8 => None,
            Escaping::Underscores => self.escaped(),
            scheme => {
                let utf8 = !self.metric_namer.strategy.escapes() || self.label_namer.utf8_allowed;
                utf8.then(|| {
                    let mut escaped = self.clone();
                    escaped.metric_namer.escaping = scheme;
                    escaped.label_namer.escaping = scheme;
                    escaped
                })
            }
        }
    }

    /// The same options for a scraper that cannot take UTF-8 names: UTF-8 strategies fall back
    /// to their underscore-escaping counterparts.
    fn escaped(&self) -> Option<Self> {
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
