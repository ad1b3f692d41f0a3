//! The delimited protobuf format (`io.prometheus.client.MetricFamily`), the only one that
//! carries native histograms to Prometheus 2.x.

use prost::Message;

use otel_core::export::Exemplar;

use super::writer::{Exponential, FamilyHead, HistogramPoint, Kind, Labels, Number, SummaryPoint, Writer};

/// `io.prometheus.client` messages, with the field numbers of `metrics.proto`.
mod dto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct LabelPair {
        #[prost(string, optional, tag = "1")]
        pub(crate) name: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub(crate) value: Option<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Gauge {
        #[prost(double, optional, tag = "1")]
        pub(crate) value: Option<f64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Counter {
        #[prost(double, optional, tag = "1")]
        pub(crate) value: Option<f64>,
        #[prost(message, optional, tag = "2")]
        pub(crate) exemplar: Option<Exemplar>,
        #[prost(message, optional, tag = "3")]
        pub(crate) created_timestamp: Option<Timestamp>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Bucket {
        #[prost(uint64, optional, tag = "1")]
        pub(crate) cumulative_count: Option<u64>,
        #[prost(double, optional, tag = "2")]
        pub(crate) upper_bound: Option<f64>,
        #[prost(message, optional, tag = "3")]
        pub(crate) exemplar: Option<Exemplar>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Exemplar {
        #[prost(message, repeated, tag = "1")]
        pub(crate) label: Vec<LabelPair>,
        #[prost(double, optional, tag = "2")]
        pub(crate) value: Option<f64>,
        #[prost(message, optional, tag = "3")]
        pub(crate) timestamp: Option<Timestamp>,
    }

    /// `google.protobuf.Timestamp`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Timestamp {
        #[prost(int64, tag = "1")]
        pub(crate) seconds: i64,
        #[prost(int32, tag = "2")]
        pub(crate) nanos: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct BucketSpan {
        #[prost(sint32, optional, tag = "1")]
        pub(crate) offset: Option<i32>,
        #[prost(uint32, optional, tag = "2")]
        pub(crate) length: Option<u32>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Histogram {
        #[prost(uint64, optional, tag = "1")]
        pub(crate) sample_count: Option<u64>,
        #[prost(double, optional, tag = "2")]
        pub(crate) sample_sum: Option<f64>,
        #[prost(message, repeated, tag = "3")]
        pub(crate) bucket: Vec<Bucket>,
        #[prost(sint32, optional, tag = "5")]
        pub(crate) schema: Option<i32>,
        #[prost(double, optional, tag = "6")]
        pub(crate) zero_threshold: Option<f64>,
        #[prost(uint64, optional, tag = "7")]
        pub(crate) zero_count: Option<u64>,
        #[prost(message, repeated, tag = "9")]
        pub(crate) negative_span: Vec<BucketSpan>,
        #[prost(sint64, repeated, packed = "false", tag = "10")]
        pub(crate) negative_delta: Vec<i64>,
        #[prost(message, repeated, tag = "12")]
        pub(crate) positive_span: Vec<BucketSpan>,
        #[prost(sint64, repeated, packed = "false", tag = "13")]
        pub(crate) positive_delta: Vec<i64>,
        #[prost(message, optional, tag = "15")]
        pub(crate) created_timestamp: Option<Timestamp>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Metric {
        #[prost(message, repeated, tag = "1")]
        pub(crate) label: Vec<LabelPair>,
        #[prost(message, optional, tag = "2")]
        pub(crate) gauge: Option<Gauge>,
        #[prost(message, optional, tag = "3")]
        pub(crate) counter: Option<Counter>,
        #[prost(message, optional, tag = "4")]
        pub(crate) summary: Option<Summary>,
        #[prost(message, optional, tag = "7")]
        pub(crate) histogram: Option<Histogram>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Quantile {
        #[prost(double, optional, tag = "1")]
        pub(crate) quantile: Option<f64>,
        #[prost(double, optional, tag = "2")]
        pub(crate) value: Option<f64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Summary {
        #[prost(uint64, optional, tag = "1")]
        pub(crate) sample_count: Option<u64>,
        #[prost(double, optional, tag = "2")]
        pub(crate) sample_sum: Option<f64>,
        #[prost(message, repeated, tag = "3")]
        pub(crate) quantile: Vec<Quantile>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct MetricFamily {
        #[prost(string, optional, tag = "1")]
        pub(crate) name: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub(crate) help: Option<String>,
        #[prost(int32, optional, tag = "3")]
        pub(crate) r#type: Option<i32>,
        #[prost(message, repeated, tag = "4")]
        pub(crate) metric: Vec<Metric>,
        #[prost(string, optional, tag = "5")]
        pub(crate) unit: Option<String>,
    }

    pub(crate) const COUNTER: i32 = 0;
    pub(crate) const GAUGE: i32 = 1;
    pub(crate) const SUMMARY: i32 = 2;
    pub(crate) const HISTOGRAM: i32 = 4;
}

/// The smallest zero-bucket width sent with native histograms: it marks them as native for
/// Prometheus versions that look at the zero bucket to tell, without widening it noticeably.
const MIN_ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39; // 2^-128
/// The finest resolution Prometheus accepts; finer OTel scales are merged down to it.
const MAX_SCHEMA: i8 = 8;

/// Collects families and writes each as a length-delimited message.
pub(crate) struct ProtoWriter<'o> {
    out: &'o mut Vec<u8>,
    current: Option<dto::MetricFamily>,
    /// The created timestamp of the series being written (counters and histograms).
    created: Option<dto::Timestamp>,
}

impl<'o> ProtoWriter<'o> {
    pub(crate) fn new(out: &'o mut Vec<u8>) -> Self {
        ProtoWriter { out, current: None, created: None }
    }

    fn flush(&mut self) {
        if let Some(family) = self.current.take() {
            // Encoding into a Vec cannot fail for lack of space.
            let _ = family.encode_length_delimited(&mut *self.out);
        }
    }

    fn push(&mut self, labels: &Labels<'_>, metric: dto::Metric) {
        let label = labels.iter().map(|(n, v)| dto::LabelPair { name: Some(n.to_string()), value: Some(v.to_string()) }).collect();
        if let Some(family) = &mut self.current {
            family.metric.push(dto::Metric { label, ..metric });
        }
    }
}

impl Writer for ProtoWriter<'_> {
    fn family(&mut self, head: &FamilyHead<'_>) {
        self.flush();
        let kind = match head.kind {
            Kind::Counter => dto::COUNTER,
            Kind::Gauge | Kind::Info => dto::GAUGE,
            Kind::Histogram => dto::HISTOGRAM,
            Kind::Summary => dto::SUMMARY,
        };
        let unit = head.declared_unit(head.name).map(str::to_owned);
        self.current = Some(dto::MetricFamily {
            name: Some(head.name.to_owned()),
            help: Some(head.help.to_owned()),
            r#type: Some(kind),
            metric: Vec::new(),
            unit,
        });
    }

    fn number(&mut self, head: &FamilyHead<'_>, labels: &Labels<'_>, value: Number, exemplar: Option<&Exemplar>) {
        let value = Some(value.as_f64());
        let metric = match head.kind {
            Kind::Counter => dto::Metric {
                counter: Some(dto::Counter { value, exemplar: exemplar.map(message), created_timestamp: self.created.clone() }),
                ..Default::default()
            },
            _ => dto::Metric { gauge: Some(dto::Gauge { value }), ..Default::default() },
        };
        self.push(labels, metric);
    }

    fn histogram(&mut self, _head: &FamilyHead<'_>, labels: &Labels<'_>, point: &HistogramPoint<'_>) {
        let mut histogram = dto::Histogram {
            sample_count: Some(point.count),
            sample_sum: Some(point.sum),
            created_timestamp: self.created.clone(),
            ..Default::default()
        };
        match &point.exponential {
            Some(e) => native(e, &mut histogram),
            None => {
                let mut cumulative = 0;
                for (i, (bound, count)) in point.bounds.iter().zip(point.counts).enumerate() {
                    cumulative += count;
                    let exemplar = point.exemplars.get(i).and_then(Option::as_ref).map(message);
                    histogram.bucket.push(dto::Bucket { cumulative_count: Some(cumulative), upper_bound: Some(*bound), exemplar });
                }
                // The `+Inf` bucket is implied in protobuf; it is written when it has an exemplar.
                if let Some(exemplar) = point.exemplars.get(point.bounds.len()).and_then(Option::as_ref) {
                    histogram.bucket.push(dto::Bucket {
                        cumulative_count: Some(point.count),
                        upper_bound: Some(f64::INFINITY),
                        exemplar: Some(message(exemplar)),
                    });
                }
            }
        }
        self.push(labels, dto::Metric { histogram: Some(histogram), ..Default::default() });
    }

    fn summary(&mut self, _head: &FamilyHead<'_>, labels: &Labels<'_>, point: &SummaryPoint<'_>) {
        let quantile = point
            .quantiles
            .iter()
            .filter_map(|(q, value)| Some(dto::Quantile { quantile: Some(q.parse().ok()?), value: Some(*value) }))
            .collect();
        let summary = dto::Summary { sample_count: Some(point.count), sample_sum: Some(point.sum), quantile };
        self.push(labels, dto::Metric { summary: Some(summary), ..Default::default() });
    }

    fn start_time(&mut self, start: Option<std::time::SystemTime>) {
        self.created = start
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| dto::Timestamp { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() as i32 });
    }

    fn finish(&mut self) {
        self.flush();
    }
}

/// An exemplar as `io.prometheus.client.Exemplar`.
fn message(exemplar: &Exemplar) -> dto::Exemplar {
    let pair = |name: &str, value: String| dto::LabelPair { name: Some(name.to_owned()), value: Some(value) };
    let label = if exemplar.has_trace() {
        vec![pair("trace_id", exemplar.trace_id_hex()), pair("span_id", exemplar.span_id_hex())]
    } else {
        Vec::new()
    };
    let (seconds, nanos) = (exemplar.time_unix_nano / 1_000_000_000, exemplar.time_unix_nano % 1_000_000_000);
    dto::Exemplar { label, value: Some(exemplar.value), timestamp: Some(dto::Timestamp { seconds: seconds as i64, nanos: nanos as i32 }) }
}

/// Fills the native-histogram fields from an OTel exponential histogram. OTel bucket `i` holds
/// (base^i, base^(i+1)]; Prometheus bucket `i` holds (base^(i-1), base^i], hence the `+ 1`.
fn native(e: &Exponential<'_>, h: &mut dto::Histogram) {
    let shift = (e.scale - MAX_SCHEMA).max(0) as u32;
    h.schema = Some(i32::from(e.scale.min(MAX_SCHEMA)));
    h.zero_threshold = Some(e.zero_threshold.max(MIN_ZERO_THRESHOLD));
    h.zero_count = Some(e.zero_count);
    (h.positive_span, h.positive_delta) = spans(e.positive.offset(), e.positive.counts(), shift);
    (h.negative_span, h.negative_delta) = spans(e.negative.offset(), e.negative.counts(), shift);
    if h.positive_span.is_empty() && h.negative_span.is_empty() {
        // An empty span marks a histogram without observations as native too.
        h.positive_span.push(dto::BucketSpan { offset: Some(0), length: Some(0) });
    }
}

/// One span over the (downscaled) buckets, counts delta-encoded.
fn spans(offset: i32, counts: impl Iterator<Item = u64>, shift: u32) -> (Vec<dto::BucketSpan>, Vec<i64>) {
    let mut merged: Vec<(i64, u64)> = Vec::new();
    for (i, count) in counts.enumerate() {
        let index = ((i64::from(offset) + i as i64) >> shift) + 1;
        match merged.last_mut() {
            Some((last, total)) if *last == index => *total += count,
            _ => merged.push((index, count)),
        }
    }
    let Some(&(first, _)) = merged.first() else { return (Vec::new(), Vec::new()) };
    let mut previous = 0i64;
    let deltas = merged
        .iter()
        .map(|(_, count)| {
            let delta = *count as i64 - previous;
            previous = *count as i64;
            delta
        })
        .collect::<Vec<_>>();
    let span = dto::BucketSpan { offset: i32::try_from(first).ok(), length: u32::try_from(deltas.len()).ok() };
    (vec![span], deltas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_delta_encoded_and_shifted_by_one() {
        let (spans, deltas) = spans(-2, [3u64, 0, 5].into_iter(), 0);
        assert_eq!(spans, vec![dto::BucketSpan { offset: Some(-1), length: Some(3) }]);
        assert_eq!(deltas, vec![3, -3, 5]);
    }

    #[test]
    fn finer_scales_are_merged_down() {
        // Shift 1: OTel indices 0,1 → 0 (+1 = 1); 2,3 → 1 (+1 = 2).
        let (spans, deltas) = spans(0, [1u64, 2, 3, 4].into_iter(), 1);
        assert_eq!(spans, vec![dto::BucketSpan { offset: Some(1), length: Some(2) }]);
        assert_eq!(deltas, vec![3, 4]);
    }

    /// Every field of a message on the wire: (field number, wire type, first varint value if
    /// the field is a varint).
    fn wire_fields(mut bytes: &[u8]) -> Vec<(u64, u64, Option<u64>)> {
        fn varint(bytes: &mut &[u8]) -> u64 {
            let mut value = 0u64;
            for shift in (0..64).step_by(7) {
                let byte = bytes[0];
                *bytes = &bytes[1..];
                value |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            value
        }
        let mut fields = Vec::new();
        while !bytes.is_empty() {
            let key = varint(&mut bytes);
            let (field, wire) = (key >> 3, key & 7);
            let value = match wire {
                0 => Some(varint(&mut bytes)),
                1 => {
                    bytes = &bytes[8..];
                    None
                }
                2 => {
                    let len = varint(&mut bytes) as usize;
                    bytes = &bytes[len..];
                    None
                }
                5 => {
                    bytes = &bytes[4..];
                    None
                }
                other => panic!("unexpected wire type {other}"),
            };
            fields.push((field, wire, value));
        }
        fields
    }

    const VARINT: u64 = 0;
    const FIXED64: u64 = 1;
    const LEN: u64 = 2;

    /// The field numbers and types of `io.prometheus.client` in `metrics.proto` (client_model
    /// with native histograms, the version Prometheus 2.42 reads): proto2, so repeated scalars
    /// are not packed, and `sint` fields are zigzag-encoded (-1 is sent as 1).
    #[test]
    fn every_field_number_and_type_matches_the_prometheus_data_model() {
        let label = dto::LabelPair { name: Some("n".into()), value: Some("v".into()) };
        assert_eq!(wire_fields(&label.encode_to_vec()), [(1, LEN, None), (2, LEN, None)]);
        assert_eq!(wire_fields(&dto::Gauge { value: Some(1.0) }.encode_to_vec()), [(1, FIXED64, None)]);
        let created = dto::Timestamp { seconds: 1, nanos: 2 };
        let counter = dto::Counter { value: Some(1.0), exemplar: None, created_timestamp: Some(created.clone()) };
        assert_eq!(wire_fields(&counter.encode_to_vec()), [(1, FIXED64, None), (3, LEN, None)]);
        let bucket = dto::Bucket { cumulative_count: Some(7), upper_bound: Some(0.5), exemplar: None };
        assert_eq!(wire_fields(&bucket.encode_to_vec()), [(1, VARINT, Some(7)), (2, FIXED64, None)]);
        let span = dto::BucketSpan { offset: Some(-1), length: Some(3) };
        assert_eq!(wire_fields(&span.encode_to_vec()), [(1, VARINT, Some(1)), (2, VARINT, Some(3))]);
        let histogram = dto::Histogram {
            sample_count: Some(4),
            sample_sum: Some(1.5),
            bucket: vec![bucket],
            schema: Some(-1),
            zero_threshold: Some(1e-9),
            zero_count: Some(2),
            negative_span: vec![span.clone()],
            negative_delta: vec![-1, 2],
            positive_span: vec![span],
            positive_delta: vec![-1],
            created_timestamp: Some(created),
        };
        let expected = [
            (1, VARINT, Some(4)),
            (2, FIXED64, None),
            (3, LEN, None),
            (5, VARINT, Some(1)),
            (6, FIXED64, None),
            (7, VARINT, Some(2)),
            (9, LEN, None),
            (10, VARINT, Some(1)),
            (10, VARINT, Some(4)),
            (12, LEN, None),
            (13, VARINT, Some(1)),
            (15, LEN, None),
        ];
        assert_eq!(wire_fields(&histogram.encode_to_vec()), expected);
        let metric = dto::Metric {
            label: vec![label],
            gauge: Some(dto::Gauge { value: Some(1.0) }),
            counter: Some(dto::Counter { value: Some(1.0), exemplar: None, created_timestamp: None }),
            summary: Some(dto::Summary {
                sample_count: Some(3),
                sample_sum: Some(1.5),
                quantile: vec![dto::Quantile { quantile: Some(0.5), value: Some(0.25) }],
            }),
            histogram: Some(dto::Histogram::default()),
        };
        assert_eq!(wire_fields(&metric.encode_to_vec()), [(1, LEN, None), (2, LEN, None), (3, LEN, None), (4, LEN, None), (7, LEN, None)]);
        let summary = metric.summary.clone().expect("summary");
        assert_eq!(wire_fields(&summary.encode_to_vec()), [(1, VARINT, Some(3)), (2, FIXED64, None), (3, LEN, None)]);
        assert_eq!(wire_fields(&summary.quantile[0].encode_to_vec()), [(1, FIXED64, None), (2, FIXED64, None)]);
        let family = dto::MetricFamily {
            name: Some("f".into()),
            help: Some("h".into()),
            r#type: Some(dto::HISTOGRAM),
            metric: vec![metric],
            unit: None,
        };
        assert_eq!(wire_fields(&family.encode_to_vec()), [(1, LEN, None), (2, LEN, None), (3, VARINT, Some(4)), (4, LEN, None)]);
        assert_eq!((dto::COUNTER, dto::GAUGE, dto::SUMMARY, dto::HISTOGRAM), (0, 1, 2, 4));
    }
}
