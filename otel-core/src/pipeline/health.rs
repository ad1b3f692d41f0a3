//! The pipeline's own health: data it had to leave out, counted by reason, and warned about a
//! bounded number of times however hostile the input.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use opentelemetry::metrics::{Counter, Histogram, Meter};
use opentelemetry::KeyValue;

/// A self-metric that counts problems by `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Problem {
    /// The metrics facade dropped a recording
    /// (`otel_pipeline_recording_dropped_total{reason}`).
    Recording,
    /// An exporter left a label, a series or a metric out of its output so the output stays
    /// valid (`otel_pipeline_exposition_dropped_total{reason}`).
    Exposition,
    /// A value was clamped instead of wrapping around (`otel_pipeline_recording_saturated_total{reason}`).
    Saturated,
    /// A push exporter's export failed after its retries (`otel_pipeline_export_failed_total{reason}`).
    Export,
}

impl Problem {
    const ALL: [Problem; 4] = [Problem::Recording, Problem::Exposition, Problem::Saturated, Problem::Export];

    /// The OTel name of the counter.
    pub fn metric_name(self) -> &'static str {
        match self {
            Problem::Recording => "otel_pipeline.recording.dropped",
            Problem::Exposition => "otel_pipeline.exposition.dropped",
            Problem::Saturated => "otel_pipeline.recording.saturated",
            Problem::Export => "otel_pipeline.export.failed",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Problem::Recording => "Recordings the metrics facade dropped, by reason (the log shows the first of each)",
            Problem::Exposition => "Labels, series or metrics an exporter left out so its output stays valid, by reason",
            Problem::Saturated => "Recordings clamped at the largest representable value instead of wrapping, by reason",
            Problem::Export => "Exports that failed after their retries, by reason (their data is dropped)",
        }
    }
}

/// How many distinct subjects (metric names, attribute keys) are warned about per reason before
/// further ones are only counted.
const WARNED_SUBJECTS_PER_REASON: usize = 32;

/// Problem counters and the memory of what was already logged. Cheap to clone; exporters get it
/// from [`Plug::health`](crate::export::Plug::health).
#[derive(Clone, Default)]
pub struct Health {
    inner: Arc<Mutex<State>>,
    /// The pipeline's own instruments, made once the meter provider exists.
    instruments: Arc<std::sync::OnceLock<SelfInstruments>>,
}

/// Instruments named as the OpenTelemetry conventions for SDK self-observability name them.
struct SelfInstruments {
    exported: Counter<u64>,
    export_duration: Histogram<f64>,
    collection_duration: Histogram<f64>,
    scrape_size: Histogram<u64>,
}

/// Attributes of one exporter or reader (`otel.component.type`, and `error.type` on failure).
fn component(component_type: &'static str, error: Option<&'static str>) -> Vec<KeyValue> {
    let mut attributes = vec![KeyValue::new("otel.component.type", component_type)];
    if let Some(error) = error {
        attributes.push(KeyValue::new("error.type", error));
    }
    attributes
}

/// The data points in a collection.
pub fn data_points(metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics) -> u64 {
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    fn count<T>(data: &MetricData<T>) -> usize {
        match data {
            MetricData::Gauge(g) => g.data_points().count(),
            MetricData::Sum(s) => s.data_points().count(),
            MetricData::Histogram(h) => h.data_points().count(),
            MetricData::ExponentialHistogram(h) => h.data_points().count(),
        }
    }
    let mut total = 0;
    for scope in metrics.scope_metrics() {
        for metric in scope.metrics() {
            total += match metric.data() {
                AggregatedMetrics::F64(d) => count(d),
                AggregatedMetrics::U64(d) => count(d),
                AggregatedMetrics::I64(d) => count(d),
            };
        }
    }
    total as u64
}

#[derive(Default)]
struct State {
    /// The failures exporters reported (a few, each once), for the error `force_flush` /
    /// `shutdown` return.
    failures: Vec<String>,
    counts: BTreeMap<(Problem, &'static str), u64>,
    warned: HashSet<(Problem, &'static str, String)>,
    subjects: BTreeMap<(Problem, &'static str), usize>,
    /// Push exporters whose exported count starts at 0 (see [`Health::export_expected`]).
    expected: Vec<&'static str>,
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = self.inner.lock().map(|s| s.counts.clone()).unwrap_or_default();
        f.debug_struct("Health").field("counts", &counts).finish()
    }
}

/// Logs a problem as a `tracing` warning (target `otel_pipeline`), or, when no subscriber is
/// installed at all, on standard error, so that the first problems are visible with no logging
/// set up. Callers bound how often they call it.
pub fn warn(message: &str) {
    let listening = tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>());
    if listening {
        tracing::warn!(target: "otel_pipeline", "{message}");
    } else {
        eprintln!("otel-pipeline WARN {message}");
    }
}

impl Health {
    /// Counts `n` occurrences of `problem` for `reason`; logs `message()` the first time this
    /// `(reason, subject)` is seen, for at most a few dozen subjects per reason (then once more
    /// to say that further ones are only counted). Memory stays bounded whatever the input.
    pub fn report(&self, problem: Problem, reason: &'static str, subject: &str, n: u64, message: impl FnOnce() -> String) {
        let Ok(mut state) = self.inner.lock() else { return };
        *state.counts.entry((problem, reason)).or_insert(0) += n;
        let seen = state.subjects.get(&(problem, reason)).copied().unwrap_or(0);
        if seen > WARNED_SUBJECTS_PER_REASON || state.warned.contains(&(problem, reason, subject.to_owned())) {
            return;
        }
        state.subjects.insert((problem, reason), seen + 1);
        let metric = problem.metric_name().replace('.', "_");
        if seen == WARNED_SUBJECTS_PER_REASON {
            drop(state);
            warn(&format!(
                "more than {WARNED_SUBJECTS_PER_REASON} distinct problems of this kind ({reason}); further ones are only counted in {metric}_total{{reason={reason:?}}}"
            ));
            return;
        }
        state.warned.insert((problem, reason, subject.to_owned()));
        drop(state);
        warn(&format!("{} (reported once; counted in {metric}_total{{reason={reason:?}}})", message()));
    }

    /// Counts `n` occurrences without logging (for problems the caller logs itself).
    pub fn add(&self, problem: Problem, reason: &'static str, n: u64) {
        if let Ok(mut state) = self.inner.lock() {
            *state.counts.entry((problem, reason)).or_insert(0) += n;
        }
    }

    /// Remembers why an export failed (a message without secrets, naming the exporter), so that
    /// a `force_flush` or `shutdown` that fails because of it says why.
    pub fn export_failed(&self, message: String) {
        if let Ok(mut state) = self.inner.lock() {
            if state.failures.len() < 8 && !state.failures.contains(&message) {
                state.failures.push(message);
            }
        }
    }

    /// The failures recorded since the last call, joined, if any.
    pub(crate) fn take_export_failure(&self) -> Option<String> {
        let failures = std::mem::take(&mut self.inner.lock().ok()?.failures);
        (!failures.is_empty()).then(|| failures.join("; "))
    }

    /// How many `problem`s were counted for `reason` so far.
    pub fn count(&self, problem: Problem, reason: &str) -> u64 {
        let Ok(state) = self.inner.lock() else { return 0 };
        state.counts.iter().filter(|((p, r), _)| *p == problem && *r == reason).map(|(_, n)| *n).sum()
    }

    /// An export by `component_type` (`otlp_grpc_metric_exporter`, `textfile_metric_exporter`,
    /// ...) finished: its duration, and the data points it carried or (on failure) lost.
    pub fn export_finished(&self, component_type: &'static str, points: u64, seconds: f64, error: Option<&'static str>) {
        if let Some(i) = self.instruments.get() {
            let attributes = component(component_type, error);
            i.export_duration.record(seconds, &attributes);
            i.exported.add(points, &attributes);
        }
    }

    /// A push exporter will export: its `otel.sdk.exporter.metric_data_point.exported` series
    /// starts at 0 when the pipeline is built, so a rate is right from its first export.
    pub fn export_expected(&self, component_type: &'static str) {
        match self.instruments.get() {
            Some(i) => i.exported.add(0, &component(component_type, None)),
            None => {
                if let Ok(mut state) = self.inner.lock() {
                    state.expected.push(component_type);
                }
            }
        }
    }

    /// A pull reader answered a scrape: how long collecting and encoding took, and the size of
    /// the body in `format`.
    pub fn scrape_finished(&self, component_type: &'static str, seconds: f64, format: &'static str, bytes: u64) {
        if let Some(i) = self.instruments.get() {
            i.collection_duration.record(seconds, &component(component_type, None));
            i.scrape_size.record(bytes, &[KeyValue::new("otel.component.type", component_type), KeyValue::new("format", format)]);
        }
    }

    /// The pipeline's own metrics, as a catalog would declare them (for references, rules and
    /// dashboards; they are registered by the pipeline itself, not through a catalog).
    pub fn definitions() -> Vec<crate::MetricDef> {
        use crate::MetricDef;
        let component = "otel.component.type";
        let mut defs = vec![
            MetricDef::counter("otel.sdk.exporter.metric_data_point.exported")
                .unit("{data_point}")
                .description("Data points exporters sent (with error.type: lost in a failed export)")
                .labels([component, "error.type"]),
            MetricDef::histogram("otel.sdk.exporter.operation.duration")
                .unit("s")
                .description("Duration of each export, by exporter")
                .labels([component, "error.type"])
                .buckets(&crate::catalog::buckets::SECONDS),
            MetricDef::histogram("otel.sdk.metric_reader.collection.duration")
                .unit("s")
                .description("Duration of each scrape's collection and encoding")
                .labels([component, "error.type"])
                .buckets(&crate::catalog::buckets::SECONDS),
            MetricDef::histogram("otel_pipeline.scrape.size")
                .unit("By")
                .description("Size of each scrape's body, by format")
                .labels([component, "format"])
                .buckets(&crate::catalog::buckets::for_unit("By").unwrap_or_default()),
        ];
        defs.extend(Problem::ALL.map(|p| MetricDef::counter(p.metric_name()).description(p.description()).labels(["reason"])));
        defs
    }

    /// Observable counters for every problem kind, reported at each collection, and the
    /// instruments of [`export_finished`](Self::export_finished) and
    /// [`scrape_finished`](Self::scrape_finished).
    pub(crate) fn register(&self, meter: &Meter) {
        let seconds = crate::catalog::buckets::SECONDS.to_vec();
        let _ = self.instruments.set(SelfInstruments {
            exported: meter
                .u64_counter("otel.sdk.exporter.metric_data_point.exported")
                .with_unit("{data_point}")
                .with_description("Data points exporters sent (with error.type: lost in a failed export)")
                .build(),
            export_duration: meter
                .f64_histogram("otel.sdk.exporter.operation.duration")
                .with_unit("s")
                .with_description("Duration of each export, by exporter")
                .with_boundaries(seconds.clone())
                .build(),
            collection_duration: meter
                .f64_histogram("otel.sdk.metric_reader.collection.duration")
                .with_unit("s")
                .with_description("Duration of each scrape's collection and encoding")
                .with_boundaries(seconds)
                .build(),
            scrape_size: meter
                .u64_histogram("otel_pipeline.scrape.size")
                .with_unit("By")
                .with_description("Size of each scrape's body, by format")
                .with_boundaries(crate::catalog::buckets::for_unit("By").unwrap_or_default())
                .build(),
        });
        let expected = self.inner.lock().map(|s| s.expected.clone()).unwrap_or_default();
        for component_type in expected {
            self.export_expected(component_type);
        }
        for problem in Problem::ALL {
            let state = self.inner.clone();
            let _counter = meter
                .u64_observable_counter(problem.metric_name())
                .with_description(problem.description())
                .with_callback(move |observer| {
                    let Ok(state) = state.lock() else { return };
                    for ((p, reason), n) in state.counts.iter() {
                        if *p == problem {
                            observer.observe(*n, &[KeyValue::new("reason", *reason)]);
                        }
                    }
                })
                .build();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_report_but_remembers_a_bounded_number_of_subjects() {
        let health = Health::default();
        for i in 0..10_000 {
            health.report(Problem::Recording, "undeclared_metric", &format!("m{i}"), 1, || format!("metric m{i}"));
        }
        assert_eq!(health.count(Problem::Recording, "undeclared_metric"), 10_000);
        let state = health.inner.lock().unwrap();
        assert_eq!(state.warned.len(), WARNED_SUBJECTS_PER_REASON);
    }
}
