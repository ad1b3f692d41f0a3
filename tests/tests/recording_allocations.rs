//! Recording allocates nothing once a series exists: bound handles, the facade by name, guards,
//! the global facade and the attribute macros (outside a span). Counted with a
//! counting global allocator, so this file holds one test (tests in parallel threads would count
//! each other's allocations).

use otel_core::opentelemetry::KeyValue;
use otel_core::{Catalog, MetricDef, Telemetry};
use otel_instrumentation::{track_duration, track_errors};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

#[track_duration("job.duration", labels(job = "sync"))]
fn timed() -> u64 {
    std::hint::black_box(7)
}

#[derive(Debug)]
struct Refused;

#[track_errors(labels(endpoint = "/query"))]
fn checked(fail: bool) -> Result<u64, Refused> {
    if fail {
        Err(Refused)
    } else {
        Ok(1)
    }
}

/// Allocations made while `f` runs 1,000 times after a first run that creates its series. The
/// count is process-wide: the test harness' own thread may add one or two, so a recording path
/// that allocates shows as 1,000 or more.
fn allocations(what: &str, mut f: impl FnMut()) -> (String, usize) {
    f();
    let region = Region::new(ALLOCATOR);
    for _ in 0..1000 {
        f();
    }
    (what.to_owned(), region.change().allocations)
}

#[test]
fn recording_into_an_existing_series_allocates_nothing() {
    let catalog = Catalog::new().with([
        MetricDef::counter("orders").labels(["payment"]),
        MetricDef::histogram("checkout.duration").unit("s").labels(["step"]),
        MetricDef::histogram("job.duration").unit("s").labels(["job"]),
        MetricDef::gauge("inflight").labels(["step"]),
        MetricDef::counter("error_count").labels(["error_type", "endpoint", "function"]),
    ]);
    let telemetry = Telemetry::builder().catalog(catalog.expect("catalog")).install().expect("install");
    let metrics = telemetry.metrics();
    let card = [KeyValue::new("payment", "card")];
    let pay = [KeyValue::new("step", "pay")];
    let bound_counter = metrics.counter("orders").expect("counter").bind(&card).expect("bind");
    let bound_histogram = metrics.histogram("checkout.duration").expect("histogram").bind(&pay).expect("bind");

    let results = [
        allocations("bound counter add", || bound_counter.add(1)),
        allocations("bound histogram record", || bound_histogram.record(0.2)),
        allocations("facade increment_counter by name", || metrics.increment_counter("orders", 1, &card)),
        allocations("facade record_histogram by name", || metrics.record_histogram("checkout.duration", 0.2, &pay)),
        allocations("track_duration guard", || drop(metrics.track_duration("checkout.duration", &pay))),
        allocations("track_active guard", || drop(metrics.track_active("inflight", &pay))),
        allocations("global facade", || otel_core::global::metrics().increment_counter("orders", 1, &card)),
        allocations("#[track_duration]", || {
            timed();
        }),
        allocations("#[track_errors], no error", || {
            let _ = checked(false);
        }),
    ];
    let allocating: Vec<&(String, usize)> = results.iter().filter(|(_, n)| *n >= 100).collect();
    assert!(allocating.is_empty(), "allocations per 1,000 recordings: {allocating:?}");
    let _ = checked(true);
    telemetry.shutdown().expect("shutdown");
}
