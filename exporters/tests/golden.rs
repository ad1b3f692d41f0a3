//! Exact output of every format for a fixed set of metrics, against files in `tests/golden/`
//! (the real parsers check the same formats in the integration tests). To accept a deliberate
//! change, run with `OTEL_PIPELINE_BLESS=1` and review the diff.

use std::path::PathBuf;

use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::{Aggregation, Instrument, Stream};
use otel_core::{Env, Telemetry};
use otel_exporters::{Format, PrometheusExporter};

fn exposition(format: Format) -> Vec<u8> {
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let exponential = |i: &Instrument| {
        (i.name() == "rpc.latency").then(|| {
            Stream::builder()
                .with_aggregation(Aggregation::Base2ExponentialHistogram { max_size: 20, max_scale: 3, record_min_max: false })
                .build()
                .expect("view")
        })
    };
    let telemetry = Telemetry::builder()
        .env(Env::empty())
        .service_name("golden")
        .instance_id("instance-1")
        .view(exponential)
        .exporter(exporter)
        .build()
        .expect("build");
    let meter = telemetry.meter_with_scope(InstrumentationScope::builder("golden.scope").with_version("1.2.3").build());
    meter
        .u64_counter("orders.placed")
        .with_description("Orders placed")
        .build()
        .add(42, &[KeyValue::new("payment", "card"), KeyValue::new("note", "a \"quoted\"\\ value\nwith a newline")]);
    meter.i64_up_down_counter("queue.depth").with_unit("{task}").build().add(-3, &[KeyValue::new("queue", "q1")]);
    meter.f64_gauge("memory.used").with_unit("By").with_description("Resident memory").build().record(1.5e9, &[]);
    let latency = meter.f64_histogram("checkout.duration").with_unit("s").with_boundaries(vec![0.1, 0.5, 1.0]).build();
    for v in [0.05, 0.2, 0.7, 3.0] {
        latency.record(v, &[KeyValue::new("http.route", "/checkout")]);
    }
    let rpc = meter.f64_histogram("rpc.latency").with_unit("s").build();
    for v in [0.25, 0.5, 1.0, 2.0] {
        rpc.record(v, &[]);
    }
    let out = scraper.scrape(format).expect("scrape");
    drop(telemetry);
    out
}

fn check(format: Format, file: &str) {
    let got = exposition(format);
    let got = if format == Format::Protobuf { without_created_timestamps(&got) } else { got };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file);
    if std::env::var_os("OTEL_PIPELINE_BLESS").is_some() {
        std::fs::write(&path, &got).expect("write golden file");
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run with OTEL_PIPELINE_BLESS=1 to create it)", path.display()));
    assert!(
        got == expected,
        "{file} differs:\n--- expected\n{}\n--- got\n{}",
        String::from_utf8_lossy(&expected),
        String::from_utf8_lossy(&got)
    );
}

/// A varint at the start of `bytes`: its value and length.
fn varint(bytes: &[u8]) -> (u64, usize) {
    let (mut value, mut shift) = (0u64, 0);
    for (i, b) in bytes.iter().enumerate() {
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return (value, i + 1);
        }
        shift += 7;
    }
    panic!("truncated varint");
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The created timestamps are the series' start times, different in every run: each is
/// written empty (and every length around it recomputed), the rest byte for byte.
fn without_created_timestamps(delimited: &[u8]) -> Vec<u8> {
    // Field numbers: MetricFamily.metric = 4; Metric.counter = 3, Metric.histogram = 7;
    // Counter.created_timestamp = 3, Histogram.created_timestamp = 15.
    fn message(bytes: &[u8], kind: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let (key, n) = varint(&bytes[at..]);
            let start = at;
            at += n;
            let (field, wire) = (key >> 3, key & 7);
            let end = match wire {
                0 => at + varint(&bytes[at..]).1,
                1 => at + 8,
                5 => at + 4,
                2 => {
                    let (len, n) = varint(&bytes[at..]);
                    let body = &bytes[at + n..at + n + len as usize];
                    let inner = match (kind, field) {
                        ("family", 4) => Some(message(body, "metric")),
                        ("metric", 3) => Some(message(body, "counter")),
                        ("metric", 7) => Some(message(body, "histogram")),
                        ("counter", 3) | ("histogram", 15) => Some(Vec::new()),
                        _ => None,
                    };
                    if let Some(inner) = inner {
                        put_varint(key, &mut out);
                        put_varint(inner.len() as u64, &mut out);
                        out.extend_from_slice(&inner);
                        at += n + len as usize;
                        continue;
                    }
                    at + n + len as usize
                }
                other => panic!("wire type {other}"),
            };
            out.extend_from_slice(&bytes[start..end]);
            at = end;
        }
        out
    }
    let (mut out, mut at) = (Vec::new(), 0);
    while at < delimited.len() {
        let (len, n) = varint(&delimited[at..]);
        let family = message(&delimited[at + n..at + n + len as usize], "family");
        put_varint(family.len() as u64, &mut out);
        out.extend_from_slice(&family);
        at += n + len as usize;
    }
    out
}

#[test]
fn text_0_0_4_is_exactly_the_golden_file() {
    check(Format::Text, "text-0.0.4.txt");
}

#[test]
fn openmetrics_is_exactly_the_golden_file() {
    check(Format::OpenMetrics, "openmetrics-1.0.0.txt");
}

#[test]
fn protobuf_is_exactly_the_golden_file() {
    check(Format::Protobuf, "protobuf-delimited.bin");
}
