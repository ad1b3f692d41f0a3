//! The attribute macros on sync and async functions, alone and combined. One global pipeline
//! serves every test in this binary.

use std::sync::OnceLock;
use std::time::Duration;

use otel_core::{Catalog, MetricDef, Snapshot, Telemetry};
use otel_instrumentation::{track_duration, track_errors};

fn telemetry() -> &'static Telemetry {
    static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();
    TELEMETRY.get_or_init(|| {
        let catalog = Catalog::new()
            .with([
                MetricDef::histogram("sync.duration").unit("s").labels(["kind"]),
                MetricDef::histogram("async.duration").unit("s").labels(["kind"]),
                MetricDef::histogram("outcome.duration").unit("s").labels(["status", "error.type"]),
                MetricDef::counter("error_count").labels(["error_type", "endpoint", "function"]),
                MetricDef::counter("task.errors").labels(["error_type", "function"]),
            ])
            .expect("catalog");
        Telemetry::builder().catalog(catalog).install().expect("install")
    })
}

fn snapshot() -> Snapshot {
    telemetry().snapshot()
}

#[derive(Debug)]
struct TimeoutError;

#[track_duration("sync.duration", labels(kind = "early"))]
fn early_exit(stop: bool) -> u8 {
    if stop {
        return 1;
    }
    2
}

#[track_duration("async.duration", labels(kind = "slow"))]
async fn slow_call() {
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[track_duration("async.duration", labels(kind = "quick"))]
#[track_errors("task.errors")]
async fn quick_call(fail: bool) -> Result<u8, TimeoutError> {
    tokio::task::yield_now().await;
    if fail {
        Err(TimeoutError)
    } else {
        Ok(7)
    }
}

#[track_duration("outcome.duration", outcome)]
fn checked(input: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = input.parse()?;
    Ok(n * 2)
}

#[track_errors(labels(endpoint = "/query"))]
fn panics() -> Result<(), TimeoutError> {
    panic!("boom")
}

#[test]
fn macros_record_on_every_exit_for_sync_and_async_functions() {
    telemetry();
    assert_eq!(early_exit(true), 1);
    assert_eq!(early_exit(false), 2);
    assert_eq!(snapshot().histogram("sync.duration", &[("kind", "early")]).map(|h| h.count), Some(2));

    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    runtime.block_on(async {
        assert!(tokio::time::timeout(Duration::from_millis(5), slow_call()).await.is_err());
        assert!(quick_call(true).await.is_err());
        assert_eq!(quick_call(false).await.ok(), Some(7));
    });
    let s = snapshot();
    assert_eq!(s.histogram("async.duration", &[("kind", "slow")]).map(|h| h.count), Some(1), "a dropped future records");
    assert_eq!(s.histogram("async.duration", &[("kind", "quick")]).map(|h| h.count), Some(2));
    assert_eq!(s.value("task.errors", &[("error_type", "TimeoutError"), ("function", "quick_call")]), Some(1.0));

    assert_eq!(checked("21"), Ok(42));
    assert!(checked("x").is_err());
    let s = snapshot();
    assert_eq!(s.histogram("outcome.duration", &[("status", "success")]).map(|h| h.count), Some(1));
    assert_eq!(s.histogram("outcome.duration", &[("status", "failure"), ("error.type", "ParseIntError")]).map(|h| h.count), Some(1));

    assert!(std::panic::catch_unwind(panics).is_err());
    let panicked = [("error_type", "panic"), ("endpoint", "/query"), ("function", "panics")];
    assert_eq!(snapshot().value("error_count", &panicked), Some(1.0));
}

#[test]
fn misuse_is_a_compile_error_that_says_what_to_write() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
