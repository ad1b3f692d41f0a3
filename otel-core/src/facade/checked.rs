//! Instruments made with a raw meter, as the pipeline hands them out. A histogram that gives no
//! boundaries of its own gets its unit's defaults (`s`, `ms`, `us`, `By`; see
//! [`buckets::for_unit`](crate::catalog::buckets::for_unit)), as a catalog histogram does.
//!
//! Instruments the OpenTelemetry SDK would refuse (a name that is empty, too long, not ASCII or
//! with other characters than letters, digits, `_ . - /`; a unit that is too long or not ASCII;
//! histogram boundaries that are not finite and increasing) are not dropped in silence: the
//! catalog refuses them when they are declared, and an instrument made with a raw meter is
//! reported once through the bounded problem log, and every recording into it is counted in
//! `otel_pipeline_recording_dropped_total{reason="instrument_refused"}`.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::metrics::{
    AsyncInstrumentBuilder, BoundCounter, BoundHistogram, BoundSyncInstrument, Counter, Gauge, Histogram, HistogramBuilder,
    InstrumentBuilder, InstrumentProvider, Meter, MeterProvider, ObservableCounter, ObservableGauge, ObservableUpDownCounter,
    SyncInstrument, UpDownCounter,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::SdkMeterProvider;

use crate::catalog::sdk_rules::refusal;
use crate::catalog::DEFAULT_CARDINALITY_LIMIT;
use crate::facade::cells::series_key;
use crate::facade::histogram::not_finite;
use crate::pipeline::direct::DirectSeries;
use crate::pipeline::exemplars::Exemplars;
use crate::pipeline::exemplars::{Reservoirs, Shape};
use crate::pipeline::health::Health;
use crate::pipeline::health::Problem;
use crate::Catalog;

/// The reason recordings into a refused instrument are counted under.
pub(crate) const REFUSED: &str = "instrument_refused";

/// A meter provider that reports refused instruments, over the SDK's, and offers every counter
/// and histogram measurement to the pipeline's exemplars.
#[derive(Clone, Debug)]
pub(crate) struct CheckedProvider {
    pub(crate) provider: SdkMeterProvider,
    pub(crate) health: Health,
    pub(crate) exemplars: Exemplars,
    /// For the cardinality limit of declared instruments (which bounds their exemplars too).
    pub(crate) catalog: Catalog,
    /// Where histograms are kept when every reader writes them directly; `None` keeps them in
    /// the SDK.
    pub(crate) histograms: Option<DirectSeries>,
}

impl MeterProvider for CheckedProvider {
    fn meter_with_scope(&self, scope: InstrumentationScope) -> Meter {
        let scope_name = scope.name().to_owned();
        Meter::new(Arc::new(Checked {
            inner: self.provider.meter_with_scope(scope.clone()),
            health: self.health.clone(),
            scope: scope_name,
            full_scope: scope,
            exemplars: self.exemplars.clone(),
            catalog: self.catalog.clone(),
            histograms: self.histograms.clone(),
        }))
    }
}

struct Checked {
    inner: Meter,
    health: Health,
    scope: String,
    full_scope: InstrumentationScope,
    exemplars: Exemplars,
    catalog: Catalog,
    histograms: Option<DirectSeries>,
}

impl Checked {
    /// The cardinality limit of an instrument: its declaration's, else the default.
    fn limit(&self, name: &str) -> usize {
        self.catalog.get(name).and_then(|d| d.cardinality_limit).unwrap_or(DEFAULT_CARDINALITY_LIMIT)
    }

    /// The exemplar reservoirs of an instrument, when the filter keeps any.
    fn reservoirs(&self, name: &str, shape: Shape) -> Option<Arc<Reservoirs>> {
        self.exemplars.instrument(&self.scope, name, shape, self.limit(name))
    }

    /// `true` when the SDK would refuse the instrument; then it is reported (boundedly).
    fn refused(&self, name: &str, unit: Option<&Cow<'static, str>>, boundaries: Option<&[f64]>) -> bool {
        let Some(why) = refusal(name, unit.map(|u| u.as_ref()), boundaries) else { return false };
        let subject = format!("{}/{name}", self.scope);
        self.health.report(Problem::Recording, REFUSED, &subject, 0, || {
            format!("instrument {name:?} (meter {:?}) cannot be created: {why}; its recordings are dropped", self.scope)
        });
        true
    }

    fn counting(&self) -> Arc<Refused> {
        Arc::new(Refused(self.health.clone()))
    }
}

/// The instrument handed out in place of a refused one: counts every recording it drops.
struct Refused(Health);

impl<T> SyncInstrument<T> for Refused {
    fn measure(&self, _measurement: T, _attributes: &[KeyValue]) {
        self.0.add(Problem::Recording, REFUSED, 1);
    }

    fn bind(&self, _attributes: &[KeyValue]) -> Box<dyn opentelemetry::metrics::BoundSyncInstrument<T> + Send + Sync> {
        Box::new(Refused(self.0.clone()))
    }
}

impl<T> opentelemetry::metrics::BoundSyncInstrument<T> for Refused {
    fn measure(&self, _measurement: T) {
        self.0.add(Problem::Recording, REFUSED, 1);
    }
}

/// Builds a synchronous instrument through the SDK's meter, or a counting stand-in.
macro_rules! sync {
    ($method:ident, $inst:ident, $t:ty) => {
        fn $method(&self, b: InstrumentBuilder<'_, $inst<$t>>) -> $inst<$t> {
            if self.refused(&b.name, b.unit.as_ref(), None) {
                return $inst::new(self.counting());
            }
            let mut builder = self.inner.$method(b.name);
            if let Some(d) = b.description {
                builder = builder.with_description(d);
            }
            if let Some(u) = b.unit {
                builder = builder.with_unit(u);
            }
            builder.build()
        }
    };
}

/// A counter, which also offers its measurements to the exemplars.
macro_rules! counter {
    ($method:ident, $t:ty) => {
        counter!($method, $t, $method);
    };
    ($method:ident, $t:ty, $sdk:ident) => {
        fn $method(&self, b: InstrumentBuilder<'_, Counter<$t>>) -> Counter<$t> {
            if self.refused(&b.name, b.unit.as_ref(), None) {
                return Counter::new(self.counting());
            }
            let reservoirs = self.reservoirs(&b.name, Shape::Sum);
            let mut builder = self.inner.$sdk(b.name);
            if let Some(d) = b.description {
                builder = builder.with_description(d);
            }
            if let Some(u) = b.unit {
                builder = builder.with_unit(u);
            }
            let counter = builder.build();
            match reservoirs {
                Some(reservoirs) => Counter::new(Arc::new(Offering { inner: counter, reservoirs })),
                None => counter,
            }
        }
    };
}

/// Builds an observable instrument through the SDK's meter (a refused one never calls back).
macro_rules! observable {
    ($method:ident, $inst:ident, $t:ty) => {
        fn $method(&self, b: AsyncInstrumentBuilder<'_, $inst<$t>, $t>) -> $inst<$t> {
            let refused = self.refused(&b.name, b.unit.as_ref(), None);
            let mut builder = self.inner.$method(b.name);
            if let Some(d) = b.description {
                builder = builder.with_description(d);
            }
            if let Some(u) = b.unit {
                builder = builder.with_unit(u);
            }
            if !refused {
                for callback in b.callbacks {
                    builder = builder.with_callback(move |observer| callback(observer));
                }
            }
            builder.build()
        }
    };
}

macro_rules! histogram {
    ($method:ident, $t:ty) => {
        histogram!($method, $t, $method);
    };
    ($method:ident, $t:ty, $sdk:ident) => {
        fn $method(&self, b: HistogramBuilder<'_, Histogram<$t>>) -> Histogram<$t> {
            if self.refused(&b.name, b.unit.as_ref(), b.boundaries.as_deref()) {
                return Histogram::new(self.counting());
            }
            let name = b.name.clone();
            // No boundaries of its own: the unit's defaults, as a catalog histogram gets them
            // (a view still wins over both).
            let bounds = b.boundaries.or_else(|| b.unit.as_deref().and_then(crate::catalog::buckets::for_unit));
            let exported = bounds.clone().unwrap_or_else(|| crate::catalog::buckets::SDK_DEFAULT.to_vec());
            let shape = Shape::Buckets(exported.clone());
            let histogram = match &self.histograms {
                Some(direct) => Histogram::new(direct.histogram(
                    &self.full_scope,
                    b.name,
                    b.unit.unwrap_or_default(),
                    b.description.unwrap_or_default(),
                    exported,
                    self.limit(&name),
                    &self.health,
                )),
                None => {
                    let mut builder = self.inner.$sdk(b.name);
                    if let Some(d) = b.description {
                        builder = builder.with_description(d);
                    }
                    if let Some(u) = b.unit {
                        builder = builder.with_unit(u);
                    }
                    if let Some(bounds) = bounds {
                        builder = builder.with_boundaries(bounds);
                    }
                    builder.build()
                }
            };
            match self.reservoirs(&name, shape) {
                Some(reservoirs) => Histogram::new(Arc::new(Offering { inner: histogram, reservoirs })),
                None => histogram,
            }
        }
    };
}

/// An SDK instrument that also offers each measurement to the exemplars.
struct Offering<I> {
    inner: I,
    reservoirs: Arc<Reservoirs>,
}

/// A bound instrument that does the same for its fixed series.
struct BoundOffering<B> {
    inner: B,
    reservoirs: Arc<Reservoirs>,
    key: Vec<KeyValue>,
}

/// The recording method of each instrument type, and how its values become exemplar values.
macro_rules! offering {
    ($inst:ident, $bound:ident, $t:ty, $record:ident) => {
        impl SyncInstrument<$t> for Offering<$inst<$t>> {
            fn measure(&self, value: $t, attributes: &[KeyValue]) {
                self.inner.$record(value, attributes);
                self.reservoirs.offer(value.exemplar_value(), attributes);
            }

            fn bind(&self, attributes: &[KeyValue]) -> Box<dyn BoundSyncInstrument<$t> + Send + Sync> {
                Box::new(BoundOffering {
                    inner: self.inner.bind(attributes),
                    reservoirs: self.reservoirs.clone(),
                    key: series_key(attributes),
                })
            }
        }

        impl BoundSyncInstrument<$t> for BoundOffering<$bound<$t>> {
            fn measure(&self, value: $t) {
                self.inner.$record(value);
                self.reservoirs.offer_keyed(value.exemplar_value(), &self.key);
            }
        }
    };
}

offering!(Counter, BoundCounter, u64, add);
offering!(Counter, BoundCounter, f64, add);
offering!(Histogram, BoundHistogram, u64, record);
offering!(Histogram, BoundHistogram, f64, record);

/// A measured value as an exemplar's.
trait ExemplarValue {
    fn exemplar_value(self) -> f64;
}

impl ExemplarValue for u64 {
    fn exemplar_value(self) -> f64 {
        self as f64
    }
}

impl ExemplarValue for f64 {
    fn exemplar_value(self) -> f64 {
        self
    }
}

/// An `f64` counter's increments must be finite and not negative (a counter only goes up):
/// anything else is dropped and counted as the facade counts it
/// (`otel_pipeline_recording_dropped_total{reason="negative_increment"|"not_finite"}`).
struct NonNegative<I> {
    inner: I,
    health: Health,
    subject: Arc<str>,
}

impl<I> NonNegative<I> {
    /// Whether `value` may be added; a refusal is counted and reported once per instrument.
    fn admits(&self, value: f64) -> bool {
        if value.is_finite() && value >= 0.0 {
            return true;
        }
        let reason = if value.is_finite() { "negative_increment" } else { "not_finite" };
        self.health.report(Problem::Recording, reason, &self.subject, 1, || {
            format!("counter {}: dropped an increment of {value}: a counter's increments are finite and not negative (use an up-down counter for values that go down)", self.subject)
        });
        false
    }
}

impl SyncInstrument<f64> for NonNegative<Counter<f64>> {
    fn measure(&self, value: f64, attributes: &[KeyValue]) {
        if self.admits(value) {
            self.inner.add(value, attributes);
        }
    }

    fn bind(&self, attributes: &[KeyValue]) -> Box<dyn BoundSyncInstrument<f64> + Send + Sync> {
        Box::new(NonNegative { inner: self.inner.bind(attributes), health: self.health.clone(), subject: self.subject.clone() })
    }
}

impl BoundSyncInstrument<f64> for NonNegative<BoundCounter<f64>> {
    fn measure(&self, value: f64) {
        if self.admits(value) {
            self.inner.add(value);
        }
    }
}

impl Checked {
    counter!(checked_f64_counter, f64, f64_counter);
    histogram!(checked_f64_histogram, f64, f64_histogram);
}

/// An SDK `f64` histogram that drops values that are not finite and counts them
/// (`otel_pipeline_recording_dropped_total{reason="not_finite"}`), as the pipeline's own cells
/// do (the SDK would drop them unseen).
struct FiniteOnly<I> {
    inner: I,
    health: Health,
    name: Arc<str>,
}

impl SyncInstrument<f64> for FiniteOnly<Histogram<f64>> {
    fn measure(&self, value: f64, attributes: &[KeyValue]) {
        if value.is_finite() || not_finite(&self.health, &self.name, value) {
            self.inner.record(value, attributes);
        }
    }

    fn bind(&self, attributes: &[KeyValue]) -> Box<dyn BoundSyncInstrument<f64> + Send + Sync> {
        Box::new(FiniteOnly { inner: self.inner.bind(attributes), health: self.health.clone(), name: self.name.clone() })
    }
}

impl BoundSyncInstrument<f64> for FiniteOnly<BoundHistogram<f64>> {
    fn measure(&self, value: f64) {
        if value.is_finite() || not_finite(&self.health, &self.name, value) {
            self.inner.record(value);
        }
    }
}

impl InstrumentProvider for Checked {
    counter!(u64_counter, u64);

    fn f64_counter(&self, b: InstrumentBuilder<'_, Counter<f64>>) -> Counter<f64> {
        let subject: Arc<str> = format!("{}/{}", self.scope, b.name).into();
        let counter = self.checked_f64_counter(b);
        Counter::new(Arc::new(NonNegative { inner: counter, health: self.health.clone(), subject }))
    }

    sync!(i64_up_down_counter, UpDownCounter, i64);
    sync!(f64_up_down_counter, UpDownCounter, f64);
    sync!(u64_gauge, Gauge, u64);
    sync!(f64_gauge, Gauge, f64);
    sync!(i64_gauge, Gauge, i64);
    observable!(u64_observable_counter, ObservableCounter, u64);
    observable!(f64_observable_counter, ObservableCounter, f64);
    observable!(i64_observable_up_down_counter, ObservableUpDownCounter, i64);
    observable!(f64_observable_up_down_counter, ObservableUpDownCounter, f64);
    observable!(u64_observable_gauge, ObservableGauge, u64);
    observable!(i64_observable_gauge, ObservableGauge, i64);
    observable!(f64_observable_gauge, ObservableGauge, f64);
    fn f64_histogram(&self, b: HistogramBuilder<'_, Histogram<f64>>) -> Histogram<f64> {
        let name: Arc<str> = b.name.as_ref().into();
        let histogram = self.checked_f64_histogram(b);
        match self.histograms {
            // The pipeline's cells drop and count them themselves.
            Some(_) => histogram,
            None => Histogram::new(Arc::new(FiniteOnly { inner: histogram, health: self.health.clone(), name })),
        }
    }

    histogram!(u64_histogram, u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_rules_are_the_refusals() {
        for ok in ["a", "http.server.request.duration", "a-b/c_d.9", &"a".repeat(255)] {
            assert_eq!(refusal(ok, Some("ms"), Some(&[0.1, 1.0])), None, "{ok}");
        }
        for bad in ["", "9lives", "_x", "café", "a b", "a:b", "a{b}", &"a".repeat(256)] {
            assert!(refusal(bad, None, None).is_some(), "{bad:?}");
        }
        assert!(refusal("x", Some("µs"), None).is_some());
        assert!(refusal("x", None, Some(&[1.0, 1.0])).is_some());
        assert!(refusal("x", None, Some(&[f64::NAN])).is_some());
    }
}
