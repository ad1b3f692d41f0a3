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
