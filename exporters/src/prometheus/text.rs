//! Prometheus text exposition 0.0.4 from one collection of the SDK's metrics.

use std::collections::HashMap;
use std::io::Write as _;

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, MetricData, ResourceMetrics,
};
use opentelemetry_sdk::metrics::Temporality;

use super::naming::{LabelNamer, MetricNamer, MetricType, TranslationStrategy};

/// How metrics are named and labelled in the exposition.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// Metric name translation (strategy and namespace).
    pub metric_namer: MetricNamer,
    /// Attribute key translation.
    pub label_namer: LabelNamer,
    /// Add `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` and
    /// `otel_scope_<attribute>` labels to every series.
    pub scope_labels: bool,
    /// Emit a `target_info` gauge carrying the resource attributes.
    pub target_info: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            metric_namer: MetricNamer::default(),
            label_namer: LabelNamer::default(),
            scope_labels: true,
            target_info: true,
        }
    }
}

impl EncodeOptions {
    /// Options for a strategy, with label names escaped the same way.
    pub fn with_strategy(strategy: TranslationStrategy) -> Self {
        let mut options = EncodeOptions::default();
        options.metric_namer.strategy = strategy;
        options.label_namer.utf8_allowed = !strategy.escapes();
        options
    }
}

/// One metric family under construction: header facts plus its rendered samples.
struct Family {
    name: String,
    help: String,
    kind: &'static str,
    unit: String,
    samples: Vec<u8>,
}

/// Encodes `metrics` as text 0.0.4 into `out`. Data that cannot be expressed (a name with no
/// valid form, a second metric claiming a family name with another type or unit, delta data)
/// is left out and described in `problems`, so the output always parses.
pub fn encode(metrics: &ResourceMetrics, options: &EncodeOptions, out: &mut Vec<u8>, problems: &mut Vec<String>) {
    let mut families: Vec<Family> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut labels = Labels { namer: options.label_namer, pairs: Vec::new(), problems };

    for scope in metrics.scope_metrics() {
        let mut scope_pairs = Vec::new();
        if options.scope_labels {
            let s = scope.scope();
            scope_pairs.push(("otel_scope_name".to_owned(), s.name().to_owned()));
            if let Some(v) = s.version().filter(|v| !v.is_empty()) {
                scope_pairs.push(("otel_scope_version".to_owned(), v.to_owned()));
            }
            if let Some(u) = s.schema_url().filter(|u| !u.is_empty()) {
                scope_pairs.push(("otel_scope_schema_url".to_owned(), u.to_owned()));
            }
            for kv in s.attributes() {
                scope_pairs.push((format!("otel_scope_{}", kv.key.as_str()), value_text(&kv.value)));
            }
        }
        for metric in scope.metrics() {
            let Some((kind, metric_type)) = family_kind(metric) else {
                labels.problems.push(format!(
                    "metric {:?} uses delta temporality, which a pull endpoint cannot expose; it is left out",
                    metric.name()
                ));
                continue;
            };
            let name = match options.metric_namer.build(metric.name(), metric.unit(), metric_type) {
                Ok(name) => name,
                Err(e) => {
                    labels.problems.push(format!("{e}; the metric is left out"));
                    continue;
                }
            };
            let slot = match index.get(&name) {
                Some(&i) if families[i].kind != kind || families[i].unit != metric.unit() => {
                    labels.problems.push(format!(
                        "metric {:?} ({kind}, unit {:?}) maps to {name:?}, already a {} with unit {:?}; it is left out",
                        metric.name(),
                        metric.unit(),
                        families[i].kind,
                        families[i].unit
                    ));
                    continue;
                }
                Some(&i) => i,
                None => {
                    let help = if metric.description().is_empty() { metric.name() } else { metric.description() };
                    families.push(Family {
                        name: name.clone(),
                        help: help.to_owned(),
                        kind,
                        unit: metric.unit().to_owned(),
                        samples: Vec::new(),
                    });
                    index.insert(name, families.len() - 1);
                    families.len() - 1
                }
            };
            let family = &mut families[slot];
            write_metric(&family.name, metric, &scope_pairs, &mut labels, &mut family.samples);
        }
    }

    if options.target_info {
        let attributes: Vec<KeyValue> =
            metrics.resource().iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect();
        labels.set(&[], attributes.iter());
        out.extend_from_slice(b"# HELP target_info Target metadata\n# TYPE target_info gauge\n");
        write_sample(out, "target_info", "", &labels.pairs, None, "1");
    }
    for family in families {
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(family.name.as_bytes());
        out.push(b' ');
        escape_help(&family.help, out);
        let _ = writeln!(out, "\n# TYPE {} {}", family.name, family.kind);
        out.extend_from_slice(&family.samples);
    }
}

fn family_kind(metric: &Metric) -> Option<(&'static str, MetricType)> {
    macro_rules! kind_of {
        ($data:expr) => {
            match $data {
                MetricData::Gauge(_) => ("gauge", MetricType::Gauge),
                MetricData::Sum(s) if s.temporality() == Temporality::Delta => return None,
                MetricData::Sum(s) if s.is_monotonic() => ("counter", MetricType::MonotonicCounter),
                MetricData::Sum(_) => ("gauge", MetricType::NonMonotonicCounter),
                MetricData::Histogram(h) if h.temporality() == Temporality::Delta => return None,
                MetricData::Histogram(_) => ("histogram", MetricType::Histogram),
                MetricData::ExponentialHistogram(h) if h.temporality() == Temporality::Delta => return None,
                MetricData::ExponentialHistogram(_) => ("histogram", MetricType::ExponentialHistogram),
            }
        };
    }
    Some(match metric.data() {
        AggregatedMetrics::F64(d) => kind_of!(d),
        AggregatedMetrics::U64(d) => kind_of!(d),
        AggregatedMetrics::I64(d) => kind_of!(d),
    })
}

fn write_metric(name: &str, metric: &Metric, scope: &[(String, String)], labels: &mut Labels<'_>, out: &mut Vec<u8>) {
    match metric.data() {
        AggregatedMetrics::F64(d) => write_data(name, d, scope, labels, out),
        AggregatedMetrics::U64(d) => write_data(name, d, scope, labels, out),
        AggregatedMetrics::I64(d) => write_data(name, d, scope, labels, out),
    }
}

fn write_data<T: Number>(name: &str, data: &MetricData<T>, scope: &[(String, String)], labels: &mut Labels<'_>, out: &mut Vec<u8>) {
    match data {
        MetricData::Gauge(g) => {
            for p in g.data_points() {
                labels.set(scope, p.attributes());
                write_sample(out, name, "", &labels.pairs, None, &p.value().text());
            }
        }
        MetricData::Sum(s) => {
            for p in s.data_points() {
                labels.set(scope, p.attributes());
                write_sample(out, name, "", &labels.pairs, None, &p.value().text());
            }
        }
        MetricData::Histogram(h) => {
            for p in h.data_points() {
                labels.set(scope, p.attributes());
                write_histogram(out, name, &labels.pairs, &explicit_buckets(p), p.sum().as_f64(), p.count());
            }
        }
        MetricData::ExponentialHistogram(h) => {
            for p in h.data_points() {
                labels.set(scope, p.attributes());
                write_histogram(out, name, &labels.pairs, &exponential_buckets(p), p.sum().as_f64(), p.count() as u64);
            }
        }
    }
}

/// (upper bound, cumulative count) pairs, without `+Inf`.
fn explicit_buckets<T>(p: &HistogramDataPoint<T>) -> Vec<(f64, u64)> {
    let mut cumulative = 0;
    p.bounds()
        .zip(p.bucket_counts())
        .map(|(bound, count)| {
            cumulative += count;
            (bound, cumulative)
        })
        .collect()
}

/// Classic buckets whose bounds are the exponential histogram's own bucket boundaries, so no
/// count moves across a boundary: negative buckets, the zero bucket, then positive buckets.
fn exponential_buckets<T>(p: &ExponentialHistogramDataPoint<T>) -> Vec<(f64, u64)> {
    let base_exponent = 2f64.powi(-i32::from(p.scale()));
    let boundary = |index: i64| 2f64.powf(index as f64 * base_exponent);
    let mut buckets = Vec::new();
    let mut cumulative = 0;
    let negative = p.negative_bucket();
    let negative_counts: Vec<u64> = negative.counts().collect();
    for (i, count) in negative_counts.iter().enumerate().rev() {
        cumulative += count;
        // Bucket `index` holds values in [-base^(index+1), -base^index).
        buckets.push((-boundary(i64::from(negative.offset()) + i as i64), cumulative));
    }
    cumulative += p.zero_count();
    buckets.push((p.zero_threshold(), cumulative));
    let positive = p.positive_bucket();
    for (i, count) in positive.counts().enumerate() {
        cumulative += count;
        // Bucket `index` holds values in (base^index, base^(index+1)].
        buckets.push((boundary(i64::from(positive.offset()) + i as i64 + 1), cumulative));
    }
    buckets
}

fn write_histogram(out: &mut Vec<u8>, name: &str, labels: &[(String, String)], buckets: &[(f64, u64)], sum: f64, count: u64) {
    for (bound, cumulative) in buckets {
        write_sample(out, name, "_bucket", labels, Some(&float_text(*bound)), &cumulative.to_string());
    }
    write_sample(out, name, "_bucket", labels, Some("+Inf"), &count.to_string());
    write_sample(out, name, "_sum", labels, None, &float_text(sum));
    write_sample(out, name, "_count", labels, None, &count.to_string());
}

fn write_sample(out: &mut Vec<u8>, name: &str, suffix: &str, labels: &[(String, String)], le: Option<&str>, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    let le = le.map(|v| ("le", v));
    let all = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain(le);
    for (i, (key, value)) in all.enumerate() {
        out.push(if i == 0 { b'{' } else { b',' });
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_label_value(value, out);
        out.push(b'"');
    }
    if !labels.is_empty() || le.is_some() {
        out.push(b'}');
    }
    out.push(b' ');
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

/// The label set of the current data point, translated, merged and sorted.
struct Labels<'p> {
    namer: LabelNamer,
    pairs: Vec<(String, String)>,
    problems: &'p mut Vec<String>,
}

impl Labels<'_> {
    fn set<'a>(&mut self, fixed: &[(String, String)], attributes: impl Iterator<Item = &'a KeyValue>) {
        // (label, original key, value): keys that translate to the same label are merged, their
        // values joined with `;` in the order of the original keys.
        let mut translated: Vec<(String, &str, String)> = Vec::new();
        for kv in attributes {
            match self.namer.build(kv.key.as_str()) {
                Ok(label) => translated.push((label, kv.key.as_str(), value_text(&kv.value))),
                Err(e) => self.problems.push(format!("{e}; the label is left out")),
            }
        }
        translated.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        self.pairs.clear();
        self.pairs.extend(fixed.iter().cloned());
        for (label, _, value) in translated {
            match self.pairs.iter_mut().find(|(l, _)| *l == label) {
                Some((_, existing)) => {
                    existing.push(';');
                    existing.push_str(&value);
                }
                None => self.pairs.push((label, value)),
            }
        }
        self.pairs.sort_by(|a, b| a.0.cmp(&b.0));
    }
}

fn value_text(value: &Value) -> String {
    value.as_str().into_owned()
}

fn escape_label_value(value: &str, out: &mut Vec<u8>) {
    for b in value.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

fn escape_help(help: &str, out: &mut Vec<u8>) {
    for b in help.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

/// Go-compatible float text: `+Inf`, `-Inf`, `NaN`, integers without a fraction.
pub(crate) fn float_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if v != 0.0 && (v.abs() >= 1e21 || v.abs() < 1e-6) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

trait Number: Copy {
    fn as_f64(self) -> f64;
    fn text(self) -> String;
}

impl Number for f64 {
    fn as_f64(self) -> f64 {
        self
    }
    fn text(self) -> String {
        float_text(self)
    }
}

macro_rules! integer_number {
    ($($t:ty),*) => {$(
        impl Number for $t {
            fn as_f64(self) -> f64 {
                self as f64
            }
            fn text(self) -> String {
                self.to_string()
            }
        }
    )*};
}
integer_number!(u64, i64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_text_matches_prometheus_conventions() {
        assert_eq!(float_text(1.0), "1");
        assert_eq!(float_text(0.005), "0.005");
        assert_eq!(float_text(f64::INFINITY), "+Inf");
        assert_eq!(float_text(f64::NEG_INFINITY), "-Inf");
        assert_eq!(float_text(f64::NAN), "NaN");
        assert_eq!(float_text(1e300), "1e300");
        assert_eq!(float_text(-2.5e-9), "-2.5e-9");
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut out = Vec::new();
        escape_label_value("a\"b\\c\nd", &mut out);
        assert_eq!(out, b"a\\\"b\\\\c\\nd");
        out.clear();
        escape_help("line1\nline2 \"q\" \\", &mut out);
        assert_eq!(out, b"line1\\nline2 \"q\" \\\\");
    }
}
