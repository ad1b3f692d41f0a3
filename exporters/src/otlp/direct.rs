//! The histograms the pipeline keeps in its own cells, added to an OTLP request beside what the
//! SDK collected (cumulative temporality only: the exporter claims them only then).

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope as ProtoScope, KeyValue as ProtoKeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, AggregationTemporality, Histogram, HistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics,
};
use otel_core::export::{DirectKind, DirectSeries, DirectValue};

/// Adds every directly kept histogram to `request`, under its scope; returns the points added.
pub(super) fn add(request: &mut ExportMetricsServiceRequest, direct: &DirectSeries) -> u64 {
    let metrics = direct.metrics();
    let histograms: Vec<_> = metrics.iter().filter(|m| m.kind() == DirectKind::Histogram).collect();
    if histograms.is_empty() {
        return 0;
    }
    if request.resource_metrics.is_empty() {
        request.resource_metrics.push(ResourceMetrics::default());
    }
    let resource = &mut request.resource_metrics[0];
    let now = nanos(SystemTime::now());
    let mut points = 0;
    for metric in histograms {
        let scope = ProtoScope::from((metric.scope(), None));
        let schema_url = metric.scope().schema_url().unwrap_or_default();
        let at = match resource.scope_metrics.iter().position(|s| s.scope.as_ref() == Some(&scope) && s.schema_url == schema_url) {
            Some(at) => at,
            None => {
                resource.scope_metrics.push(ScopeMetrics { scope: Some(scope), metrics: Vec::new(), schema_url: schema_url.to_owned() });
                resource.scope_metrics.len() - 1
            }
        };
        let start = nanos(metric.start_time());
        let mut data_points = Vec::new();
        metric.for_each_series(|attributes, value| {
            if let DirectValue::Histogram(h) = value {
                data_points.push(HistogramDataPoint {
                    attributes: attributes.iter().map(ProtoKeyValue::from).collect(),
                    start_time_unix_nano: start,
                    time_unix_nano: now,
                    count: h.count,
                    sum: Some(h.sum),
                    bucket_counts: h.counts.to_vec(),
                    explicit_bounds: h.bounds.to_vec(),
                    exemplars: Vec::new(),
                    flags: 0,
                    min: h.min,
                    max: h.max,
                });
            }
        });
        points += data_points.len() as u64;
        resource.scope_metrics[at].metrics.push(Metric {
            name: metric.name().to_owned(),
            description: metric.description().to_owned(),
            unit: metric.unit().to_owned(),
            metadata: Vec::new(),
            data: Some(Data::Histogram(Histogram { data_points, aggregation_temporality: AggregationTemporality::Cumulative as i32 })),
        });
    }
    points
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}
