//! The file's views and reader cardinality limits as SDK views, layered over the catalog's.

use std::sync::Arc;

use opentelemetry::Key;
use opentelemetry_sdk::metrics::{Aggregation, Instrument, InstrumentKind, Stream};

use super::model::*;
use crate::Catalog;

/// A problem with a key, relative to the view or limits it is in.
type Problem = (&'static str, String);

pub(super) fn check_limits(limits: &CardinalityLimitsModel) -> Result<(), Problem> {
    let all = [
        ("default", limits.default),
        ("counter", limits.counter),
        ("gauge", limits.gauge),
        ("histogram", limits.histogram),
        ("observable_counter", limits.observable_counter),
        ("observable_gauge", limits.observable_gauge),
        ("observable_up_down_counter", limits.observable_up_down_counter),
        ("up_down_counter", limits.up_down_counter),
    ];
    match all.into_iter().find(|(_, v)| *v == Some(0)) {
        Some((key, _)) => Err((key, "must be more than 0".into())),
        None => Ok(()),
    }
}

pub(super) fn check(view: &ViewModel) -> Result<(), Problem> {
    let stream = &view.stream;
    if stream.name.is_some() && view.selector.instrument_name.as_deref().is_none_or(|n| n.contains(['*', '?'])) {
        return Err((
            "stream.name",
            "a view that renames must select one instrument: give `selector.instrument_name` without wildcards".into(),
        ));
    }
    if stream.aggregation_cardinality_limit == Some(0) {
        return Err(("stream.aggregation_cardinality_limit", "must be more than 0".into()));
    }
    if let Some(keys) = &stream.attribute_keys {
        if keys.excluded.is_some() {
            return Err((
                "stream.attribute_keys.excluded",
                "is not supported (the Rust SDK keeps a fixed set of keys): list the keys to keep in `included`".into(),
            ));
        }
        if keys.included.iter().flatten().any(|k| k.contains(['*', '?'])) {
            return Err(("stream.attribute_keys.included", "wildcards are not supported here: list the keys by name".into()));
        }
    }
    match &stream.aggregation {
        Some(AggregationModel::ExplicitBucketHistogram(Some(buckets))) => {
            let bounds = buckets.boundaries.as_deref().unwrap_or_default();
            if bounds.windows(2).any(|w| w[0] >= w[1]) {
                return Err(("stream.aggregation.explicit_bucket_histogram.boundaries", format!("{bounds:?} must be strictly increasing")));
            }
        }
        Some(AggregationModel::Base2ExponentialBucketHistogram(Some(e))) => {
            if e.max_scale.is_some_and(|s| !(-10..=20).contains(&s)) {
                return Err(("stream.aggregation.base2_exponential_bucket_histogram.max_scale", "must be from -10 to 20".into()));
            }
            if e.max_size.is_some_and(|s| s < 2) {
                return Err(("stream.aggregation.base2_exponential_bucket_histogram.max_size", "must be at least 2".into()));
            }
        }
        _ => {}
    }
    Ok(())
}

/// The views a file adds, applied with the catalog's: a file view that selects an instrument
/// decides what it sets and the catalog fills the rest; an instrument no file view selects gets
/// the catalog's view; cardinality limits come from the view, else the catalog, else the
/// readers' `cardinality_limits` for the instrument's kind.
#[derive(Clone)]
pub(crate) struct FileViews {
    views: Arc<Vec<ViewModel>>,
    limits: Option<CardinalityLimitsModel>,
    exponential_histograms: bool,
    catalog: Catalog,
}

impl FileViews {
    pub(crate) fn new(file: &super::ConfigFile, catalog: Catalog) -> Self {
        let exponential =
            file.histogram_aggregation_of_all().ok().flatten() == Some(HistogramAggregationModel::Base2ExponentialBucketHistogram);
        FileViews { views: Arc::new(file.views()), limits: file.cardinality_limits(), exponential_histograms: exponential, catalog }
    }

    /// One SDK view per file view (an instrument that several select becomes several streams,
    /// as the specification says).
    pub(crate) fn each(&self) -> impl Iterator<Item = impl Fn(&Instrument) -> Option<Stream> + Send + Sync + 'static> + '_ {
        (0..self.views.len()).map(|index| {
            let this = self.clone();
            move |instrument: &Instrument| {
                let view = &this.views[index];
                selects(&view.selector, instrument).then(|| this.stream(Some(&view.stream), instrument)).flatten()
            }
        })
    }

    /// The view for instruments no file view selects.
    pub(crate) fn fallback(&self) -> impl Fn(&Instrument) -> Option<Stream> + Send + Sync + 'static {
        let this = self.clone();
        move |instrument: &Instrument| {
            if this.views.iter().any(|v| selects(&v.selector, instrument)) {
                return None;
            }
            this.stream(None, instrument)
        }
    }

    fn stream(&self, file: Option<&StreamModel>, instrument: &Instrument) -> Option<Stream> {
        let (catalog_aggregation, catalog_limit) = self.catalog.view_parts(instrument);
        let mut stream = Stream::builder();
        let mut changed = file.is_some();
        let file_aggregation = file.and_then(|s| s.aggregation.as_ref()).map(aggregation);
        let default_aggregation = (self.exponential_histograms && instrument.kind() == InstrumentKind::Histogram)
            .then_some(Aggregation::Base2ExponentialHistogram { max_size: 160, max_scale: 20, record_min_max: true });
        if let Some(aggregation) = file_aggregation.or(catalog_aggregation).or(default_aggregation) {
            stream = stream.with_aggregation(aggregation);
            changed = true;
        }
        let limit = file.and_then(|s| s.aggregation_cardinality_limit).or(catalog_limit).or_else(|| self.reader_limit(instrument.kind()));
        if let Some(limit) = limit {
            stream = stream.with_cardinality_limit(limit);
            changed = true;
        }
        if let Some(file) = file {
            if let Some(name) = &file.name {
                stream = stream.with_name(name.clone());
            }
            if let Some(description) = &file.description {
                stream = stream.with_description(description.clone());
            }
            if let Some(keys) = file.attribute_keys.as_ref().and_then(|k| k.included.as_ref()) {
                stream = stream.with_allowed_attribute_keys(keys.iter().map(|k| Key::new(k.clone())));
            }
        }
        changed.then(|| stream.build().ok()).flatten()
    }

    fn reader_limit(&self, kind: InstrumentKind) -> Option<usize> {
        let limits = self.limits.as_ref()?;
        let by_kind = match kind {
            InstrumentKind::Counter => limits.counter,
            InstrumentKind::UpDownCounter => limits.up_down_counter,
            InstrumentKind::Histogram => limits.histogram,
            InstrumentKind::Gauge => limits.gauge,
            InstrumentKind::ObservableCounter => limits.observable_counter,
            InstrumentKind::ObservableUpDownCounter => limits.observable_up_down_counter,
            InstrumentKind::ObservableGauge => limits.observable_gauge,
        };
        by_kind.or(limits.default)
    }
}

fn selects(selector: &SelectorModel, instrument: &Instrument) -> bool {
    let kind = selector.instrument_type.is_none_or(|t| {
        t == match instrument.kind() {
            InstrumentKind::Counter => InstrumentTypeModel::Counter,
            InstrumentKind::UpDownCounter => InstrumentTypeModel::UpDownCounter,
            InstrumentKind::Histogram => InstrumentTypeModel::Histogram,
            InstrumentKind::Gauge => InstrumentTypeModel::Gauge,
            InstrumentKind::ObservableCounter => InstrumentTypeModel::ObservableCounter,
            InstrumentKind::ObservableUpDownCounter => InstrumentTypeModel::ObservableUpDownCounter,
            InstrumentKind::ObservableGauge => InstrumentTypeModel::ObservableGauge,
        }
    });
    let scope = instrument.scope();
    let exact = |wanted: &Option<String>, actual: Option<&str>| wanted.as_deref().is_none_or(|w| Some(w) == actual);
    kind && selector.instrument_name.as_deref().is_none_or(|pattern| {
        crate::pipeline::pattern::wildcard_match(&pattern.to_ascii_lowercase(), &instrument.name().to_ascii_lowercase())
    }) && exact(&selector.unit, Some(instrument.unit()))
        && exact(&selector.meter_name, Some(scope.name()))
        && exact(&selector.meter_version, scope.version())
        && exact(&selector.meter_schema_url, scope.schema_url())
}

fn aggregation(model: &AggregationModel) -> Aggregation {
    match model {
        AggregationModel::Default(_) => Aggregation::Default,
        AggregationModel::Drop(_) => Aggregation::Drop,
        AggregationModel::Sum(_) => Aggregation::Sum,
        AggregationModel::LastValue(_) => Aggregation::LastValue,
        AggregationModel::ExplicitBucketHistogram(b) => {
            let b = b.clone().unwrap_or_default();
            Aggregation::ExplicitBucketHistogram {
                boundaries: b.boundaries.unwrap_or_else(|| crate::catalog::buckets::SDK_DEFAULT.to_vec()),
                record_min_max: b.record_min_max.unwrap_or(true),
            }
        }
        AggregationModel::Base2ExponentialBucketHistogram(e) => {
            let e = e.clone().unwrap_or_default();
            Aggregation::Base2ExponentialHistogram {
                max_size: e.max_size.unwrap_or(160),
                max_scale: e.max_scale.unwrap_or(20),
                record_min_max: e.record_min_max.unwrap_or(true),
            }
        }
    }
}

impl super::ConfigFile {
    /// What the file's views make of a declared metric, for generators that name what the
    /// endpoint serves (otel-ops): the metric itself when no view selects it, else one stream
    /// per selecting view (renamed, re-bucketed, with fewer labels), none for `drop`. Views
    /// are matched by instrument name, type and unit; views with meter criteria are skipped
    /// (see [`views_needing_meters`](Self::views_needing_meters)).
    pub fn streams_of(&self, def: &crate::MetricDef) -> Vec<crate::MetricDef> {
        let selecting: Vec<&ViewModel> =
            self.views_all().filter(|v| !needs_meter(&v.selector) && selects_declared(&v.selector, def)).collect();
        if selecting.is_empty() {
            return vec![def.clone()];
        }
        selecting.into_iter().filter_map(|view| declared_stream(&view.stream, def)).collect()
    }

    /// The paths of views whose selector names a meter, which [`streams_of`](Self::streams_of)
    /// cannot judge from a declaration.
    pub fn views_needing_meters(&self) -> Vec<String> {
        let views = self.views_all().enumerate();
        views.filter(|(_, v)| needs_meter(&v.selector)).map(|(i, _)| format!("meter_provider.views[{i}]")).collect()
    }

    fn views_all(&self) -> impl Iterator<Item = &ViewModel> {
        self.model().meter_provider.iter().flat_map(|m| m.views.iter().flatten())
    }
}

fn needs_meter(selector: &SelectorModel) -> bool {
    selector.meter_name.is_some() || selector.meter_version.is_some() || selector.meter_schema_url.is_some()
}

/// A declared metric is recorded through a synchronous or an observable instrument of its kind.
fn selects_declared(selector: &SelectorModel, def: &crate::MetricDef) -> bool {
    use crate::Kind;
    use InstrumentTypeModel as T;
    let kind = selector.instrument_type.is_none_or(|t| match def.kind {
        Kind::Counter => matches!(t, T::Counter | T::ObservableCounter),
        Kind::UpDownCounter => matches!(t, T::UpDownCounter | T::ObservableUpDownCounter),
        Kind::Gauge | Kind::QuantileTimer { .. } => matches!(t, T::Gauge | T::ObservableGauge),
        Kind::Histogram => t == T::Histogram,
    });
    let name = selector
        .instrument_name
        .as_deref()
        .is_none_or(|pattern| crate::pipeline::pattern::wildcard_match(&pattern.to_ascii_lowercase(), &def.name.to_ascii_lowercase()));
    kind && name && selector.unit.as_deref().is_none_or(|u| u == def.unit)
}

fn declared_stream(stream: &StreamModel, def: &crate::MetricDef) -> Option<crate::MetricDef> {
    let mut out = def.clone();
    if let Some(name) = &stream.name {
        out.name = name.clone();
    }
    if let Some(description) = &stream.description {
        out.description = description.clone();
    }
    if let Some(keys) = stream.attribute_keys.as_ref().and_then(|k| k.included.as_ref()) {
        out.labels.retain(|label| keys.contains(label));
    }
    match stream.aggregation.as_ref().map(aggregation) {
        Some(Aggregation::Drop) => return None,
        Some(Aggregation::ExplicitBucketHistogram { boundaries, .. }) => out.buckets = crate::Buckets::Explicit(boundaries),
        Some(Aggregation::Base2ExponentialHistogram { max_size, .. }) => out.buckets = crate::Buckets::Exponential { max_size },
        _ => {}
    }
    if let Some(limit) = stream.aggregation_cardinality_limit {
        out.cardinality_limit = Some(limit);
    }
    Some(out)
}
