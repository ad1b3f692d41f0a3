//! Exemplars into an OTLP request: the SDK leaves every data point's `exemplars` empty, so the
//! pipeline's own are added to the points of counters and histograms that hold some.

use opentelemetry::{KeyValue, Value};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue as ProtoKeyValue};
use opentelemetry_proto::tonic::metrics::v1::{exemplar, metric::Data, Exemplar as ProtoExemplar};
use otel_core::export::{Exemplar, Exemplars};

/// Adds each point's exemplars (a histogram's, one per bucket that has one; a sum's, the latest
/// few) to `request`.
pub(super) fn add(request: &mut ExportMetricsServiceRequest, exemplars: &Exemplars) {
    for scope_metrics in request.resource_metrics.iter_mut().flat_map(|r| r.scope_metrics.iter_mut()) {
        let scope = scope_metrics.scope.as_ref().map(|s| s.name.clone()).unwrap_or_default();
        for metric in &mut scope_metrics.metrics {
            let Some(held) = exemplars.held(&scope, &metric.name) else { continue };
            match &mut metric.data {
                Some(Data::Sum(sum)) => {
                    for point in &mut sum.data_points {
                        let kept = held.for_sum(&attributes(&point.attributes));
                        point.exemplars = kept.iter().map(message).collect();
                    }
                }
                Some(Data::Histogram(histogram)) => {
                    for point in &mut histogram.data_points {
                        let kept = held.for_buckets(&attributes(&point.attributes));
                        point.exemplars = kept.iter().map(|(_, e)| message(e)).collect();
                    }
                }
                Some(Data::ExponentialHistogram(histogram)) => {
                    for point in &mut histogram.data_points {
                        let kept = held.for_buckets(&attributes(&point.attributes));
                        point.exemplars = kept.iter().map(|(_, e)| message(e)).collect();
                    }
                }
                _ => {}
            }
        }
    }
}

fn message(exemplar: &Exemplar) -> ProtoExemplar {
    let ids = exemplar.has_trace();
    ProtoExemplar {
        filtered_attributes: Vec::new(),
        time_unix_nano: exemplar.time_unix_nano,
        span_id: if ids { exemplar.span_id.to_vec() } else { Vec::new() },
        trace_id: if ids { exemplar.trace_id.to_vec() } else { Vec::new() },
        value: Some(exemplar::Value::AsDouble(exemplar.value)),
    }
}

/// A point's attributes as the recording path keyed them.
fn attributes(proto: &[ProtoKeyValue]) -> Vec<KeyValue> {
    proto
        .iter()
        .filter_map(|kv| {
            let value = match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(s) => Value::from(s.clone()),
                any_value::Value::BoolValue(b) => Value::Bool(*b),
                any_value::Value::IntValue(i) => Value::I64(*i),
                any_value::Value::DoubleValue(d) => Value::F64(*d),
                _ => return None,
            };
            Some(KeyValue::new(kv.key.clone(), value))
        })
        .collect()
}
