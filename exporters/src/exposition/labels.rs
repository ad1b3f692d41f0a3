//! From attributes, scope and resource to one point's labels, by the precedence Prometheus'
//! own OTLP ingestion follows.

use std::borrow::Cow;
use std::collections::HashMap;

use opentelemetry::{InstrumentationScope, KeyValue, Value};

use super::issues::Issues;
use super::options::EncodeOptions;

/// The resource attributes that identify a target: Prometheus' OTLP ingestion turns them into
/// `job` and `instance`.
pub(super) const IDENTIFYING: [&str; 3] = ["service.name", "service.namespace", "service.instance.id"];

/// The resource attributes `target_info` carries, or `None` when there is none, as Prometheus'
/// OTLP ingestion decides: only a resource with more than its identity gets one, and with
/// identifying labels the identity is in `job` and `instance` instead.
pub(super) fn target_info_attributes<'r>(resource: &'r [KeyValue], options: &EncodeOptions) -> Option<Vec<&'r KeyValue>> {
    let identifying = |kv: &KeyValue| IDENTIFYING.contains(&kv.key.as_str());
    if !options.target_info || resource.iter().all(identifying) {
        return None;
    }
    let drop_identity = options.identifying_labels && !options.keep_identifying_resource_attributes;
    Some(resource.iter().filter(|kv| !(drop_identity && identifying(kv))).collect())
}

/// `job` (`service.namespace/service.name`, or the name alone) and `instance`
/// (`service.instance.id`), each when the resource gives it, as Prometheus' OTLP ingestion
/// makes them.
pub(super) fn identifying_labels(resource: &[KeyValue]) -> Vec<(String, String)> {
    let get = |key: &str| resource.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.as_str().into_owned());
    let mut labels = Vec::new();
    if let Some(name) = get("service.name") {
        let job = match get("service.namespace") {
            Some(namespace) => format!("{namespace}/{name}"),
            None => name,
        };
        labels.push(("job".to_owned(), job));
    }
    if let Some(instance) = get("service.instance.id") {
        labels.push(("instance".to_owned(), instance));
    }
    labels
}

/// A point's label set; on the stack for the usual handful of labels.
pub(super) type LabelSet<'a> = smallvec::SmallVec<[(Cow<'a, str>, Cow<'a, str>); 8]>;

/// Builds each point's label set so that every label name appears once, whatever the
/// attributes: copied resource labels, then scope labels, then the point's attributes,
/// translated, in name order. Precedence, as in Prometheus' own OTLP ingestion: distinct keys that translate
/// to one label are merged (`;`-joined values in the order of the original keys); the same key
/// twice keeps the value given last (the OpenTelemetry rule); scope labels win over attributes;
/// attributes win over copied resource labels; the format's own labels (`le`) and names
/// reserved for Prometheus (leading `__`) are never taken by an attribute.
pub(super) struct LabelBuilder<'o, 'p> {
    pub(super) options: &'o EncodeOptions,
    /// The OTel name of the metric being written, for problem reports.
    pub(super) metric: &'o str,
    /// A label name the current family writes itself (`le` for histograms).
    pub(super) reserved: Option<&'static str>,
    pub(super) issues: &'p mut Issues,
    /// Translations of keys that are not already valid label names.
    pub(super) cache: HashMap<String, Option<String>>,
}

/// An attribute on its way to becoming a label: label name, original key, value.
pub(super) type Attribute<'a> = (Cow<'a, str>, &'a str, Cow<'a, str>);
pub(super) type Attributes<'a> = smallvec::SmallVec<[Attribute<'a>; 8]>;

impl LabelBuilder<'_, '_> {
    pub(super) fn translate<'k>(&mut self, key: &'k str) -> Option<Cow<'k, str>> {
        if is_plain_label(key) {
            return Some(Cow::Borrowed(key));
        }
        if let Some(cached) = self.cache.get(key) {
            return cached.clone().map(Cow::Owned);
        }
        let translated = match self.options.label_namer.build(key) {
            // Names starting with `__` are reserved for Prometheus itself; parsers reject them.
            Ok(label) if label.starts_with("__") => {
                self.issues.note("reserved_label", key, || {
                    format!(
                        "attribute key {key:?} becomes {label:?}, a label name reserved for Prometheus (leading `__`); \
                         the label is left out (rename the attribute)"
                    )
                });
                None
            }
            Ok(label) => Some(label),
            Err(e) => {
                self.issues.note("invalid_label", key, || format!("{e}; the label is left out"));
                None
            }
        };
        // Hostile input can bring any number of distinct keys: the cache stays bounded.
        if self.cache.len() < 4096 {
            self.cache.insert(key.to_owned(), translated.clone());
        }
        translated.map(Cow::Owned)
    }

    pub(super) fn build<'a>(&mut self, fixed: &'a FixedLabels, attributes: impl Iterator<Item = &'a KeyValue>) -> LabelSet<'a> {
        let mut pairs = LabelSet::new();
        self.build_into(&mut pairs, fixed, attributes);
        pairs
    }

    /// [`build`](Self::build) into `pairs` (cleared first): a walk reuses one buffer per metric.
    pub(super) fn build_into<'a>(
        &mut self,
        pairs: &mut LabelSet<'a>,
        fixed: &'a FixedLabels,
        attributes: impl Iterator<Item = &'a KeyValue>,
    ) {
        pairs.clear();
        let fixed_reserved = match self.reserved {
            Some("le") => fixed.has_le,
            Some("quantile") => fixed.has_quantile,
            _ => false,
        };
        let fixed_labels =
            fixed.under.iter().chain(&fixed.over).filter(|(name, _)| !(fixed_reserved && self.reserved == Some(name.as_str())));
        pairs.extend(fixed_labels.map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str()))));
        let first = pairs.len();
        // The original key of each attribute label, for the rare label sets that need resolving.
        let mut keys: smallvec::SmallVec<[&'a str; 8]> = smallvec::SmallVec::new();
        for kv in attributes {
            let key = kv.key.as_str();
            if key == OVERFLOW_KEY {
                let metric = self.metric;
                self.issues.note("cardinality_overflow", metric, || {
                    format!(
                        "metric {metric:?} reached its cardinality limit: further label sets are folded into the series \
                         otel_metric_overflow=\"true\" (raise the limit in the catalog, or drop a high-cardinality label)"
                    )
                });
            }
            let Some(label) = self.translate(key) else { continue };
            if let Some(own) = self.reserved.filter(|own| *own == label.as_ref()) {
                let metric = self.metric;
                self.issues.note(reserved_reason(own), metric, || {
                    format!("metric {metric:?} has an attribute {key:?}, which would become the family's own `{own}` label; it is left out")
                });
                continue;
            }
            pairs.push((label, value_text(&kv.value)));
            keys.push(key);
        }
        if let Some(own) = self.reserved.filter(|_| fixed_reserved) {
            let metric = self.metric;
            self.issues.note(reserved_reason(own), metric, || {
                format!("metric {metric:?} would get a copied resource or scope label `{own}`, the family's own label; it is left out")
            });
        }
        // Any label name twice (among the attributes, or an attribute and a fixed label)?
        let unique = pairs.iter().enumerate().skip(first).all(|(i, (label, _))| pairs[..i].iter().all(|(other, _)| other != label));
        if unique {
            // Attribute labels in name order, whichever order the SDK kept: stable output.
            if !pairs[first..].is_sorted_by(|a, b| a.0 <= b.0) {
                pairs[first..].sort_unstable_by(|a, b| a.0.cmp(&b.0));
            }
            return;
        }
        let mut attrs: Attributes<'a> = pairs.drain(first..).zip(keys).map(|((label, value), key)| (label, key, value)).collect();
        self.resolve_repeats(&mut attrs);
        self.resolve_shadowed(&mut attrs, fixed);
        pairs.retain(|(name, _)| !fixed.under.iter().any(|(under, _)| under == name) || !attrs.iter().any(|(label, _, _)| label == name));
        pairs.extend(attrs.into_iter().map(|(label, _, value)| (label, value)));
    }

    /// Makes every attribute label unique: the same key twice keeps the later value; distinct
    /// keys that became one label are merged in the order of their keys.
    pub(super) fn resolve_repeats<'a>(&mut self, attrs: &mut Attributes<'a>) {
        let repeated = attrs.iter().enumerate().any(|(i, (label, _, _))| attrs[i + 1..].iter().any(|(other, _, _)| other == label));
        if !repeated {
            return;
        }
        let metric = self.metric;
        let mut i = 0;
        while i < attrs.len() {
            let key = attrs[i].1;
            if attrs[i + 1..].iter().any(|(_, later, _)| *later == key) {
                self.issues.note("duplicate_label", metric, || {
                    format!("metric {metric:?} was given attribute {key:?} more than once; the value given last is kept")
                });
                attrs.remove(i);
            } else {
                i += 1;
            }
        }
        attrs.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        let mut merged = Attributes::new();
        for (label, key, value) in attrs.drain(..) {
            match merged.last_mut() {
                Some((last, _, existing)) if *last == label => *existing = Cow::Owned(format!("{existing};{value}")),
                _ => merged.push((label, key, value)),
            }
        }
        *attrs = merged;
    }

    /// Drops attributes that a scope label shadows, and notes resource labels an attribute
    /// shadows (the caller leaves those out).
    pub(super) fn resolve_shadowed(&mut self, attrs: &mut Attributes<'_>, fixed: &FixedLabels) {
        let metric = self.metric;
        let issues = &mut *self.issues;
        attrs.retain(|(label, key, _)| {
            let scope_wins = fixed.over.iter().any(|(name, _)| name == label);
            if scope_wins {
                issues.note("duplicate_label", metric, || {
                    format!(
                        "metric {metric:?} has an attribute {key:?}, which becomes {label:?}, a label the exposition \
                         sets itself (a scope label, or `job`/`instance` from the resource); that value is kept (rename the attribute)"
                    )
                });
            }
            !scope_wins
        });
        for (name, _) in &fixed.under {
            if attrs.iter().any(|(label, _, _)| label == name) {
                issues.note("duplicate_label", metric, || {
                    format!(
                        "metric {metric:?} has an attribute that is also the copied resource label {name:?}; the attribute's value is kept"
                    )
                });
            }
        }
    }
}

/// The attribute the SDK puts on the series that collects label sets past the cardinality limit.
pub(super) const OVERFLOW_KEY: &str = "otel.metric.overflow";

/// A key that translates to itself under the default rules: `[a-zA-Z_][a-zA-Z0-9_]*` with no
/// run of `_` and not only underscores.
pub(super) fn is_plain_label(key: &str) -> bool {
    let bytes = key.as_bytes();
    !bytes.is_empty()
        && !bytes[0].is_ascii_digit()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        && !key.contains("__")
        && bytes.iter().any(|b| *b != b'_')
}

/// A scope's labels: `otel_scope_<attribute>`, then `otel_scope_name`, `_version` and (with
/// `schema_url`) `_schema_url`, which win over an attribute of the same name.
pub(super) fn scope_labels(s: &InstrumentationScope, schema_url: bool, labels: &mut LabelBuilder<'_, '_>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut set = |name: String, value: String| match out.iter_mut().find(|(n, _)| *n == name) {
        Some(existing) => existing.1 = value,
        None => out.push((name, value)),
    };
    for kv in s.attributes() {
        if let Some(label) = labels.translate(&format!("otel_scope_{}", kv.key.as_str())) {
            set(label.into_owned(), value_text(&kv.value).into_owned());
        }
    }
    set("otel_scope_name".to_owned(), s.name().to_owned());
    if let Some(v) = s.version().filter(|v| !v.is_empty()) {
        set("otel_scope_version".to_owned(), v.to_owned());
    }
    if let Some(u) = s.schema_url().filter(|u| schema_url && !u.is_empty()) {
        set("otel_scope_schema_url".to_owned(), u.to_owned());
    }
    out
}

pub(super) fn value_text(value: &Value) -> Cow<'_, str> {
    value.as_str()
}

/// Labels every point of a scope carries besides its attributes.
#[derive(Default)]
pub(super) struct FixedLabels {
    /// Whether one of them is `le`, which histograms leave out.
    pub(super) has_le: bool,
    /// Whether one of them is `quantile`, which summaries leave out.
    pub(super) has_quantile: bool,
    /// Copied resource attributes: a point's attribute with the same label wins over them.
    pub(super) under: Vec<(String, String)>,
    /// Scope labels: they win over a point's attribute with the same label, as in Prometheus'
    /// own OTLP ingestion.
    pub(super) over: Vec<(String, String)>,
}

/// The reason a label a family sets itself (`le`, `quantile`) is counted under when left out.
pub(super) fn reserved_reason(own: &str) -> &'static str {
    if own == "le" {
        "histogram_le"
    } else {
        "summary_quantile"
    }
}
