//! One walk over a collection: metrics translated, grouped into families (across scopes),
//! checked, and handed point by point to a format [`Writer`].

use std::collections::HashMap;

use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics, ScopeMetrics};
use opentelemetry_sdk::metrics::Temporality;

use otel_core::export::{DirectKind, DirectMetric, DirectSeries, DirectValue, Exemplar, Exemplars, InstrumentExemplars};

use super::issues::Issues;
use super::labels::*;
use super::naming::{unit_name, MetricType};
use super::options::EncodeOptions;
use super::writer::*;

/// reader collected inside [`DirectSeries::collect`]), and the exemplars.
pub(crate) struct Sources<'s> {
    pub(crate) metrics: &'s ResourceMetrics,
    pub(crate) direct: &'s DirectSeries,
    pub(crate) exemplars: Option<&'s Exemplars>,
    /// The `le` texts of bucket bounds seen in earlier scrapes.
    pub(crate) le_texts: &'s std::sync::Mutex<LeTexts>,
}

/// The `le` label texts of each set of bucket bounds, kept between scrapes: the bounds of a
/// histogram rarely change, and formatting floats is most of an otherwise small scrape.
#[derive(Default)]
pub(crate) struct LeTexts(Vec<(Box<[f64]>, LeText)>);

/// Each bound's `le` text.
type LeText = std::sync::Arc<[String]>;

impl LeTexts {
    /// More sets than this are forgotten (and formatted again when seen).
    const KEPT: usize = 64;

    fn of(&mut self, bounds: &[f64]) -> LeText {
        if let Some((_, texts)) = self.0.iter().find(|(b, _)| **b == *bounds) {
            return texts.clone();
        }
        if self.0.len() >= Self::KEPT {
            self.0.clear();
        }
        let texts: LeText = bounds.iter().map(|b| super::format::float_text(*b)).collect();
        self.0.push((bounds.into(), texts.clone()));
        texts
    }
}

/// A metric as the walk writes it: the SDK's, or a facade metric read from its cells.
#[derive(Clone, Copy)]
enum Member<'m> {
    Sdk(&'m Metric),
    Direct(&'m DirectMetric<'m>),
    /// A quantile timer's three SDK gauges (quantiles, count, sum), written as one summary.
    Summary(&'m Metric, &'m Metric, &'m Metric),
}

impl<'m> Member<'m> {
    fn name(self) -> &'m str {
        match self {
            Member::Sdk(m) | Member::Summary(m, ..) => m.name(),
            Member::Direct(m) => m.name(),
        }
    }

    fn unit(self) -> &'m str {
        match self {
            Member::Sdk(m) | Member::Summary(m, ..) => m.unit(),
            Member::Direct(m) => m.unit(),
        }
    }

    fn description(self) -> &'m str {
        match self {
            Member::Sdk(m) | Member::Summary(m, ..) => m.description(),
            Member::Direct(m) => m.description(),
        }
    }
}

/// Walks the sources, feeding `writer`; returns the number of directly written series. Data
/// left out so the output stays valid is noted in `issues`.
/// Walks `sources`, feeding `writer`. Data left out so the output stays valid is noted in
/// `issues`.
pub(crate) fn walk(sources: &Sources<'_>, options: &EncodeOptions, writer: &mut dyn Writer, issues: &mut Issues) -> u64 {
    let (metrics, exemplars) = (sources.metrics, sources.exemplars);
    let direct_metrics = sources.direct.metrics();
    let mut scopes: Vec<&InstrumentationScope> = metrics.scope_metrics().map(ScopeMetrics::scope).collect();
    // The scope each directly written metric belongs to (one the SDK's collection may not have).
    let direct_scopes: Vec<usize> = direct_metrics
        .iter()
        .map(|m| {
            scopes.iter().position(|s| *s == m.scope()).unwrap_or_else(|| {
                scopes.push(m.scope());
                scopes.len() - 1
            })
        })
        .collect();
    let mut members: Vec<(usize, Member<'_>)> = Vec::new();
    for (i, scope) in metrics.scope_metrics().enumerate() {
        // A quantile timer's count and sum join its quantiles in one summary.
        let summaries: Vec<(&Metric, String, String)> =
            scope.metrics().filter_map(|m| sources.direct.summary_parts(scopes[i], m.name()).map(|(count, sum)| (m, count, sum))).collect();
        let find = |name: &str| scope.metrics().find(|m| m.name() == name);
        let mut parts: Vec<&str> = Vec::new();
        for (main, count, sum) in &summaries {
            if let (Some(count_metric), Some(sum_metric)) = (find(count), find(sum)) {
                members.push((i, Member::Summary(main, count_metric, sum_metric)));
                parts.extend([main.name(), count_metric.name(), sum_metric.name()]);
            }
        }
        members.extend(
            scope
                .metrics()
                // Another reader's collection may have left the SDK some of what is written directly.
                .filter(|m| !sources.direct.is_direct(scopes[i], m.name()) && !parts.contains(&m.name()))
                .map(|m| (i, Member::Sdk(m))),
        );
    }
    members.extend(direct_scopes.into_iter().zip(&direct_metrics).map(|(scope, m)| (scope, Member::Direct(m))));
    let mut labels = LabelBuilder { options, metric: "", reserved: None, issues, cache: HashMap::new() };
    let no_fixed = FixedLabels::default();

    let mut resource_pairs: Vec<KeyValue> = metrics.resource().iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect();
    // The resource is a map: sorted, its labels come out the same in every scrape.
    resource_pairs.sort_by(|a, b| a.key.cmp(&b.key));
    let copied = labels.build(&no_fixed, resource_pairs.iter().filter(|kv| options.copies_resource_attribute(kv.key.as_str())));
    let copied: Vec<(String, String)> = copied.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let identifying = if options.identifying_labels { identifying_labels(&resource_pairs) } else { Vec::new() };
    let fixed_per_scope: Vec<FixedLabels> = scopes
        .iter()
        .map(|scope| {
            let mut over = if options.scope_labels { scope_labels(scope, options.scope_schema_url, &mut labels) } else { Vec::new() };
            // `job` and `instance` win over everything, as in the ingestion.
            over.retain(|(name, _)| !identifying.iter().any(|(i, _)| i == name));
            over.extend(identifying.iter().cloned());
            let mut under = copied.clone();
            under.retain(|(name, _)| {
                let clash = over.iter().any(|(o, _)| o == name);
                if clash {
                    labels.issues.note("duplicate_label", name, || {
                        format!(
                            "resource label {name:?} is also a scope label; the scope's value is kept (copy another resource attribute)"
                        )
                    });
                }
                !clash
            });
            let has = |label: &str| under.iter().chain(&over).any(|(name, _)| name == label);
            let (has_le, has_quantile) = (has("le"), has("quantile"));
            FixedLabels { has_le, has_quantile, under, over }
        })
        .collect();

    if let Some(attributes) = target_info_attributes(&resource_pairs, options) {
        let head = FamilyHead { name: "target_info", help: "Target metadata", unit: "", kind: Kind::Info };
        writer.family(&head);
        labels.metric = "target_info";
        let fixed = FixedLabels { under: Vec::new(), over: identifying.clone(), ..FixedLabels::default() };
        let pairs = labels.build(&fixed, attributes.into_iter());
        writer.number(&head, &pairs, Number::U64(1), None);
    }

    let mut direct_points = 0;
    let mut le_texts = sources.le_texts.lock().unwrap_or_else(|p| p.into_inner());
    for family in group(&scopes, members, options, labels.issues) {
        let head = FamilyHead { name: &family.name, help: &family.help, unit: &family.unit_word, kind: family.kind };
        writer.family(&head);
        // A histogram's `le` label is its bucket bound; an attribute cannot take it.
        labels.reserved = match family.kind {
            Kind::Histogram => Some("le"),
            Kind::Summary => Some("quantile"),
            _ => None,
        };
        for (scope, member) in family.members {
            labels.metric = member.name();
            // Looked up once per metric; per point only when it holds exemplars.
            let source = Source { exemplars: exemplars.and_then(|e| e.held(scopes[scope].name(), member.name())) };
            let fixed = &fixed_per_scope[scope];
            match member {
                Member::Sdk(metric) => write_metric(writer, &head, metric, fixed, &mut labels, &source, &mut le_texts),
                Member::Summary(quantiles, count, sum) => write_summary(writer, &head, [quantiles, count, sum], fixed, &mut labels),
                Member::Direct(metric) => direct_points += write_direct(writer, &head, metric, fixed, &mut labels, &source, &mut le_texts),
            }
        }
    }
    writer.finish();
    direct_points
}

/// A quantile timer's series from its three SDK gauges: points of the quantiles gauge grouped by
/// their attributes less `quantile`, each with the count and sum of the same attributes.
fn write_summary(
    writer: &mut dyn Writer,
    head: &FamilyHead<'_>,
    [quantiles, count, sum]: [&Metric; 3],
    fixed: &FixedLabels,
    labels: &mut LabelBuilder<'_, '_>,
) {
    type Key = Vec<KeyValue>;
    let key = |attributes: &mut dyn Iterator<Item = &KeyValue>| -> Key {
        let mut key: Key = attributes.filter(|kv| kv.key.as_str() != QUANTILE).cloned().collect();
        key.sort_by(|a, b| a.key.cmp(&b.key));
        key
    };
    /// A series' attributes, quantiles, count and sum.
    type Point = (Key, Vec<(String, f64)>, u64, f64);
    /// Each series once, in the order first seen, with an index to find it again.
    #[derive(Default)]
    struct Series {
        points: Vec<Point>,
        index: HashMap<Key, usize>,
    }
    fn slot(series: &mut Series, k: Key) -> usize {
        let Series { points, index } = series;
        *index.entry(k).or_insert_with_key(|k| {
            points.push((k.clone(), Vec::new(), 0, 0.0));
            points.len() - 1
        })
    }
    let mut series = Series::default();
    for_each_gauge_point(quantiles, |attributes, value| {
        let attributes: Vec<&KeyValue> = attributes.collect();
        // Only a number is a quantile (a summary's `quantile` label must parse as one).
        let q = attributes
            .iter()
            .find(|kv| kv.key.as_str() == QUANTILE)
            .map(|kv| kv.value.as_str().into_owned())
            .filter(|q| q.parse::<f64>().is_ok());
        if let Some(q) = q {
            let i = slot(&mut series, key(&mut attributes.into_iter()));
            series.points[i].1.push((q, value));
        }
    });
    for_each_gauge_point(count, |attributes, value| {
        let i = slot(&mut series, key(attributes));
        series.points[i].2 = value as u64;
    });
    for_each_gauge_point(sum, |attributes, value| {
        let i = slot(&mut series, key(attributes));
        series.points[i].3 = value;
    });
    writer.start_time(None);
    let mut pairs = LabelSet::new();
    for (attributes, quantiles, count, sum) in &series.points {
        labels.build_into(&mut pairs, fixed, attributes.iter());
        writer.summary(head, &pairs, &SummaryPoint { quantiles, count: *count, sum: *sum });
    }
}

/// The label a quantile timer's quantiles carry.
const QUANTILE: &str = "quantile";

/// Every point of a gauge, its value as `f64`.
fn for_each_gauge_point(metric: &Metric, mut f: impl FnMut(&mut dyn Iterator<Item = &KeyValue>, f64)) {
    match metric.data() {
        AggregatedMetrics::F64(MetricData::Gauge(g)) => g.data_points().for_each(|p| f(&mut p.attributes(), p.value())),
        AggregatedMetrics::U64(MetricData::Gauge(g)) => g.data_points().for_each(|p| f(&mut p.attributes(), p.value() as f64)),
        AggregatedMetrics::I64(MetricData::Gauge(g)) => g.data_points().for_each(|p| f(&mut p.attributes(), p.value() as f64)),
        _ => {}
    }
}

/// A facade metric's series, straight from its cells.
fn write_direct(
    writer: &mut dyn Writer,
    head: &FamilyHead<'_>,
    metric: &DirectMetric<'_>,
    fixed: &FixedLabels,
    labels: &mut LabelBuilder<'_, '_>,
    source: &Source,
    le_texts: &mut LeTexts,
) -> u64 {
    let mut points = 0;
    writer.start_time(matches!(head.kind, Kind::Counter | Kind::Histogram).then(|| metric.start_time()));
    let mut le: LeText = std::sync::Arc::new([]);
    metric.for_each_series(|attributes, value| {
        let value = match value {
            DirectValue::U64(v) => Number::U64(v),
            DirectValue::F64(v) => Number::F64(v),
            DirectValue::Histogram(h) => {
                if le.len() != h.bounds.len() {
                    le = le_texts.of(h.bounds);
                }
                let exemplars = source.by_bucket(attributes.iter(), h.bounds);
                let pairs = labels.build(fixed, attributes.iter());
                writer.histogram(head, &pairs, &explicit((h.count, h.sum, h.min), h.bounds, &le, h.counts, &exemplars));
                points += 1;
                return;
            }
            _ => return,
        };
        let exemplar = if head.kind == Kind::Counter { source.latest(attributes.iter()) } else { None };
        writer.number(head, &labels.build(fixed, attributes.iter()), value, exemplar.as_ref());
        points += 1;
    });
    points
}

/// An explicit-bucket histogram point from its count, sum and minimum: the sum is no counter
/// once a value or bucket below zero is possible.
fn explicit<'p>(
    (count, sum, min): (u64, f64, Option<f64>),
    bounds: &'p [f64],
    le: &'p [String],
    counts: &'p [u64],
    exemplars: &'p [Option<Exemplar>],
) -> HistogramPoint<'p> {
    let negative = sum < 0.0 || min.is_some_and(|m| m < 0.0) || bounds.first().is_some_and(|b| *b < 0.0);
    HistogramPoint { count, sum, negative, bounds, le, counts, exponential: None, exemplars }
}

struct Family<'m> {
    name: String,
    help: String,
    unit: &'m str,
    unit_word: String,
    kind: Kind,
    members: Vec<(usize, Member<'m>)>,
}

/// Translates names and groups metrics that share a name, keeping the first descriptor and
/// leaving out later metrics whose type or unit conflicts with it.
fn group<'m>(
    scopes: &[&InstrumentationScope],
    mut ordered: Vec<(usize, Member<'m>)>,
    options: &EncodeOptions,
    issues: &mut Issues,
) -> Vec<Family<'m>> {
    let mut families: Vec<Family<'m>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut claimed: HashMap<String, usize> = ["target", "target_info"].map(|n| (n.to_owned(), usize::MAX)).into();
    // A fixed order (OTel name, then scope name and version) makes the winner of a name clash
    // the same in every run: the metric whose OTel name sorts first.
    ordered.sort_by(|(a_scope, a), (b_scope, b)| {
        let scope_key = |i: usize| (scopes[i].name(), scopes[i].version());
        (a.name(), scope_key(*a_scope)).cmp(&(b.name(), scope_key(*b_scope)))
    });
    for (scope_index, metric) in ordered {
        let Some((kind, metric_type)) = kind_of(metric) else {
            issues.note("delta_temporality", metric.name(), || {
                format!("metric {:?} uses delta temporality, which a pull endpoint cannot expose; it is left out", metric.name())
            });
            continue;
        };
        let name = match options.metric_namer.build(metric.name(), metric.unit(), metric_type) {
            Ok(name) => name,
            Err(e) => {
                issues.note("invalid_name", metric.name(), || format!("{e}; the metric is left out"));
                continue;
            }
        };
        if let Some(&i) = index.get(&name) {
            if families[i].kind == kind && families[i].unit == metric.unit() {
                families[i].members.push((scope_index, metric));
                continue;
            }
        }
        // Every sample and family name this family would write, in any format.
        let claims = claimed_names(&name, kind);
        if let Some(i) = claims.iter().find_map(|c| claimed.get(c).copied()) {
            let other = families.get(i).map_or_else(
                || "target_info (the resource)".to_owned(),
                |f| format!("{:?} ({}, unit {:?})", f.name, f.kind.text(), f.unit),
            );
            issues.note("name_clash", metric.name(), || {
                format!(
                    "metric {:?} ({}, unit {:?}) maps to {name:?}, which clashes with {other}; it is left out (rename one of them)",
                    metric.name(),
                    kind.text(),
                    metric.unit(),
                )
            });
            continue;
        }
        let help = if metric.description().is_empty() { metric.name() } else { metric.description() };
        let unit_word = unit_name(metric.unit(), !options.metric_namer.strategy.escapes());
        for claim in claims {
            claimed.insert(claim, families.len());
        }
        index.insert(name.clone(), families.len());
        families.push(Family { name, help: help.to_owned(), unit: metric.unit(), unit_word, kind, members: vec![(scope_index, metric)] });
    }
    families
}

/// The names a family writes: its own, its samples', and (for counters) the OpenMetrics family
/// name without `_total`.
fn claimed_names(name: &str, kind: Kind) -> Vec<String> {
    match kind {
        Kind::Counter => {
            let base = name.strip_suffix("_total").unwrap_or(name);
            vec![base.to_owned(), format!("{base}_total"), format!("{base}_created")]
        }
        Kind::Histogram => ["", "_bucket", "_count", "_sum", "_created"].iter().map(|s| format!("{name}{s}")).collect(),
        Kind::Summary => ["", "_count", "_sum", "_created"].iter().map(|s| format!("{name}{s}")).collect(),
        Kind::Gauge | Kind::Info => vec![name.to_owned()],
    }
}

fn kind_of(member: Member<'_>) -> Option<(Kind, MetricType)> {
    let metric = match member {
        Member::Sdk(metric) => metric,
        // Named as the gauge of quantiles it is made from (no `_total`, the unit's word).
        Member::Summary(..) => return Some((Kind::Summary, MetricType::Gauge)),
        Member::Direct(metric) => {
            return Some(match metric.kind() {
                DirectKind::Counter => (Kind::Counter, MetricType::MonotonicCounter),
                DirectKind::UpDownCounter => (Kind::Gauge, MetricType::NonMonotonicCounter),
                DirectKind::Histogram => (Kind::Histogram, MetricType::Histogram),
                _ => (Kind::Gauge, MetricType::Gauge),
            })
        }
    };
    macro_rules! kind {
        ($data:expr) => {
            match $data {
                MetricData::Gauge(_) => (Kind::Gauge, MetricType::Gauge),
                MetricData::Sum(s) if s.temporality() == Temporality::Delta => return None,
                MetricData::Sum(s) if s.is_monotonic() => (Kind::Counter, MetricType::MonotonicCounter),
                MetricData::Sum(_) => (Kind::Gauge, MetricType::NonMonotonicCounter),
                MetricData::Histogram(h) if h.temporality() == Temporality::Delta => return None,
                MetricData::Histogram(_) => (Kind::Histogram, MetricType::Histogram),
                MetricData::ExponentialHistogram(h) if h.temporality() == Temporality::Delta => return None,
                MetricData::ExponentialHistogram(_) => (Kind::Histogram, MetricType::ExponentialHistogram),
            }
        };
    }
    Some(match metric.data() {
        AggregatedMetrics::F64(d) => kind!(d),
        AggregatedMetrics::U64(d) => kind!(d),
        AggregatedMetrics::I64(d) => kind!(d),
    })
}

trait ToNumber: Copy {
    fn number(self) -> Number;
}
impl ToNumber for f64 {
    fn number(self) -> Number {
        Number::F64(self)
    }
}
impl ToNumber for u64 {
    fn number(self) -> Number {
        Number::U64(self)
    }
}
impl ToNumber for i64 {
    fn number(self) -> Number {
        Number::I64(self)
    }
}

/// Where a metric's exemplars are found.
struct Source {
    /// Set only when the metric holds exemplars.
    exemplars: Option<InstrumentExemplars>,
}

impl Source {
    /// The latest exemplar of a counter's series.
    fn latest<'k>(&self, attributes: impl Iterator<Item = &'k KeyValue>) -> Option<Exemplar> {
        self.exemplars.as_ref()?.for_sum(&attributes.cloned().collect::<Vec<_>>()).pop()
    }

    /// A histogram series' exemplars placed in the exported buckets by their values (so a
    /// view's boundaries are honoured), each bucket's latest; empty when there are none.
    fn by_bucket<'k>(&self, attributes: impl Iterator<Item = &'k KeyValue>, bounds: &[f64]) -> Vec<Option<Exemplar>> {
        let Some(exemplars) = &self.exemplars else { return Vec::new() };
        let kept = exemplars.for_buckets(&attributes.cloned().collect::<Vec<_>>());
        if kept.is_empty() {
            return Vec::new();
        }
        let mut placed: Vec<Option<Exemplar>> = vec![None; bounds.len() + 1];
        for (_, exemplar) in kept {
            let bucket = bounds.partition_point(|b| *b < exemplar.value);
            if placed[bucket].as_ref().is_none_or(|e| e.time_unix_nano <= exemplar.time_unix_nano) {
                placed[bucket] = Some(exemplar);
            }
        }
        placed
    }
}

fn write_metric(
    writer: &mut dyn Writer,
    head: &FamilyHead<'_>,
    metric: &Metric,
    fixed: &FixedLabels,
    labels: &mut LabelBuilder<'_, '_>,
    source: &Source,
    le_texts: &mut LeTexts,
) {
    match metric.data() {
        AggregatedMetrics::F64(d) => write_data(writer, head, d, fixed, labels, source, le_texts),
        AggregatedMetrics::U64(d) => write_data(writer, head, d, fixed, labels, source, le_texts),
        AggregatedMetrics::I64(d) => write_data(writer, head, d, fixed, labels, source, le_texts),
    }
}

fn write_data<T: ToNumber>(
    writer: &mut dyn Writer,
    head: &FamilyHead<'_>,
    data: &MetricData<T>,
    fixed: &FixedLabels,
    labels: &mut LabelBuilder<'_, '_>,
    source: &Source,
    le_texts: &mut LeTexts,
) {
    let mut pairs = LabelSet::new();
    match data {
        MetricData::Gauge(g) => {
            writer.start_time(None);
            for p in g.data_points() {
                labels.build_into(&mut pairs, fixed, p.attributes());
                writer.number(head, &pairs, p.value().number(), None);
            }
        }
        MetricData::Sum(s) => {
            writer.start_time((head.kind == Kind::Counter).then(|| s.start_time()));
            for p in s.data_points() {
                let exemplar = if head.kind == Kind::Counter { source.latest(p.attributes()) } else { None };
                labels.build_into(&mut pairs, fixed, p.attributes());
                writer.number(head, &pairs, p.value().number(), exemplar.as_ref());
            }
        }
        MetricData::Histogram(h) => {
            writer.start_time(Some(h.start_time()));
            let (mut bounds, mut counts): (Vec<f64>, _) = (Vec::new(), Vec::new());
            let mut le: LeText = std::sync::Arc::new([]);
            for p in h.data_points() {
                if !p.bounds().eq(bounds.iter().copied()) {
                    bounds = p.bounds().collect();
                    le = le_texts.of(&bounds);
                }
                counts.clear();
                counts.extend(p.bucket_counts());
                let exemplars = source.by_bucket(p.attributes(), &bounds);
                labels.build_into(&mut pairs, fixed, p.attributes());
                let totals = (p.count(), p.sum().number().as_f64(), p.min().map(|m| m.number().as_f64()));
                writer.histogram(head, &pairs, &explicit(totals, &bounds, &le, &counts, &exemplars));
            }
        }
        MetricData::ExponentialHistogram(h) => {
            writer.start_time(Some(h.start_time()));
            for p in h.data_points() {
                let exponential = Exponential {
                    scale: p.scale(),
                    zero_count: p.zero_count(),
                    zero_threshold: p.zero_threshold(),
                    positive: p.positive_bucket(),
                    negative: p.negative_bucket(),
                };
                let (bounds, counts) = classic_from_exponential(&exponential);
                let le: Vec<String> = bounds.iter().map(|b| super::format::float_text(*b)).collect();
                let exemplars = source.by_bucket(p.attributes(), &bounds);
                labels.build_into(&mut pairs, fixed, p.attributes());
                let sum = p.sum().number().as_f64();
                let point = HistogramPoint {
                    count: p.count() as u64,
                    sum,
                    negative: sum < 0.0
                        || p.min().is_some_and(|m| m.number().as_f64() < 0.0)
                        || p.negative_bucket().counts().any(|c| c > 0),
                    bounds: &bounds,
                    le: &le,
                    counts: &counts,
                    exponential: Some(exponential),
                    exemplars: &exemplars,
                };
                writer.histogram(head, &pairs, &point);
            }
        }
    }
}

/// Classic buckets whose bounds are the exponential histogram's own boundaries, so no count
/// moves across a boundary: negative buckets, the zero bucket, then positive buckets. Returns
/// upper bounds and per-bucket counts; the last count is the (empty) `+Inf` bucket.
pub(crate) fn classic_from_exponential(e: &Exponential<'_>) -> (Vec<f64>, Vec<u64>) {
    let boundary = |index: i64| otel_core::buckets::exponential_boundary(e.scale, index);
    let (mut bounds, mut counts) = (Vec::new(), Vec::new());
    let negative: Vec<u64> = e.negative.counts().collect();
    for (i, count) in negative.iter().enumerate().rev() {
        // Negative bucket `index` holds [-base^(index+1), -base^index).
        bounds.push(-boundary(i64::from(e.negative.offset()) + i as i64));
        counts.push(*count);
    }
    bounds.push(e.zero_threshold);
    counts.push(e.zero_count);
    for (i, count) in e.positive.counts().enumerate() {
        // Positive bucket `index` holds (base^index, base^(index+1)].
        bounds.push(boundary(i64::from(e.positive.offset()) + i as i64 + 1));
        counts.push(count);
    }
    counts.push(0);
    (bounds, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label_set(keys: &[(&'static str, &'static str)]) -> Vec<(String, String)> {
        let options = EncodeOptions::default();
        let mut issues = Issues::default();
        let mut builder = LabelBuilder { options: &options, metric: "m", reserved: None, issues: &mut issues, cache: HashMap::new() };
        let attributes: Vec<KeyValue> = keys.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect();
        let fixed =
            FixedLabels { under: pairs(&[("service_name", "svc")]), over: pairs(&[("otel_scope_name", "s")]), ..FixedLabels::default() };
        builder.build(&fixed, attributes.iter()).into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn resource(p: &[(&'static str, &'static str)]) -> Vec<KeyValue> {
        p.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect()
    }

    /// `target_info` exactly when Prometheus' OTLP ingestion makes one, with its labels.
    #[test]
    fn target_info_follows_the_ingestion() {
        let keys = |r: Option<Vec<&KeyValue>>| r.map(|kvs| kvs.iter().map(|kv| kv.key.to_string()).collect::<Vec<_>>());
        let identity = resource(&[("service.name", "a"), ("service.namespace", "n"), ("service.instance.id", "i")]);
        assert_eq!(keys(target_info_attributes(&identity, &EncodeOptions::default())), None);
        assert_eq!(keys(target_info_attributes(&[], &EncodeOptions::default())), None);
        let more = resource(&[("service.name", "a"), ("service.instance.id", "i"), ("host.name", "h")]);
        assert_eq!(
            keys(target_info_attributes(&more, &EncodeOptions::default())),
            Some(vec!["service.name".into(), "service.instance.id".into(), "host.name".into()])
        );
        assert_eq!(keys(target_info_attributes(&more, &EncodeOptions::otlp_parity())), Some(vec!["host.name".into()]));
        assert_eq!(keys(target_info_attributes(&more, &EncodeOptions::default().without_target_info())), None);
    }

    #[test]
    fn identifying_labels_are_made_as_the_ingestion_makes_them() {
        let full = resource(&[("service.name", "a"), ("service.namespace", "n"), ("service.instance.id", "i")]);
        assert_eq!(identifying_labels(&full), pairs(&[("job", "n/a"), ("instance", "i")]));
        assert_eq!(identifying_labels(&resource(&[("service.name", "a")])), pairs(&[("job", "a")]));
        assert_eq!(identifying_labels(&resource(&[("service.instance.id", "i")])), pairs(&[("instance", "i")]));
    }

    /// The fixed labels every case starts from, as they come out.
    const FIXED: [(&str, &str); 2] = [("service_name", "svc"), ("otel_scope_name", "s")];

    fn with_fixed(rest: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs(&FIXED.iter().chain(rest).copied().collect::<Vec<_>>())
    }

    #[test]
    fn reserved_label_names_are_left_out() {
        assert_eq!(label_set(&[("__le__", "x"), ("a", "1")]), with_fixed(&[("a", "1")]));
    }

    #[test]
    fn attribute_labels_come_out_in_name_order() {
        assert_eq!(label_set(&[("b", "1"), ("a", "2")]), with_fixed(&[("a", "2"), ("b", "1")]));
    }

    #[test]
    fn colliding_keys_merge_in_the_order_of_the_original_keys() {
        let got = label_set(&[("z", "0"), ("foo_bar", "plain"), ("foo.bar", "dotted"), ("foo-bar", "dashed")]);
        // Original keys sort as foo-bar < foo.bar < foo_bar.
        assert_eq!(got, with_fixed(&[("foo_bar", "dashed;dotted;plain"), ("z", "0")]));
    }

    #[test]
    fn the_same_key_twice_keeps_the_value_given_last() {
        assert_eq!(label_set(&[("a", "first"), ("b", "1"), ("a", "last")]), with_fixed(&[("a", "last"), ("b", "1")]));
    }

    #[test]
    fn scope_labels_win_over_attributes_and_attributes_over_resource_labels() {
        let got = label_set(&[("otel_scope_name", "x"), ("otel.scope.name", "y"), ("service_name", "attr"), ("a", "1")]);
        assert_eq!(got, pairs(&[("otel_scope_name", "s"), ("a", "1"), ("service_name", "attr")]));
    }
}
