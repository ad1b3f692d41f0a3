//! Jobs, service lifecycle, and process / tokio runtime metrics, read back from a snapshot.

use otel_core::{Catalog, Env, Telemetry};
use otel_instrumentation::runtime::{register_process_metrics, register_tokio_metrics};
use otel_instrumentation::tasks::{JobNames, Jobs, Lifecycle, LifecycleNames, ServiceState};

fn telemetry() -> Telemetry {
    let catalog = Catalog::new().with(Jobs::definitions().into_iter().chain(Lifecycle::definitions())).expect("catalog");
    Telemetry::builder().env(Env::empty()).catalog(catalog).build().expect("build")
}

#[derive(Debug)]
struct DiskFull;

#[test]
fn jobs_record_executions_errors_retries_and_operation_stats() {
    let telemetry = telemetry();
    let jobs = Jobs::new(&telemetry.metrics());
    assert_eq!(jobs.run("sync", || Ok::<_, DiskFull>(1)).ok(), Some(1));
    assert!(jobs.run("sync", || Err::<u8, _>(DiskFull)).is_err());
    jobs.retry("sync");
    jobs.timed_out("sync", std::time::Instant::now() - std::time::Duration::from_millis(30));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    assert!(runtime.block_on(jobs.run_async("sync", async { Ok::<_, DiskFull>(()) })).is_ok());
    // A run over its limit is a timeout (once, not also an unfinished run); one dropped is unfinished.
    let slow = jobs.run_async_within("slow", std::time::Duration::from_millis(20), async {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        Ok::<_, DiskFull>(())
    });
    assert!(runtime.block_on(slow).is_err());
    drop(jobs.run_async("slow", std::future::pending::<Result<(), DiskFull>>()));
    runtime.block_on(async {
        tokio::select! {
            _ = jobs.run_async("slow", std::future::pending::<Result<(), DiskFull>>()) => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
        }
    });

    let s = telemetry.snapshot();
    assert_eq!(s.value("job.executions", &[("job", "sync"), ("status", "success")]), Some(2.0));
    assert_eq!(s.value("job.executions", &[("job", "sync"), ("status", "failure")]), Some(1.0));
    assert_eq!(s.value("job.errors", &[("job", "sync"), ("error_type", "DiskFull")]), Some(1.0));
    assert_eq!(s.value("job.retries", &[("job", "sync")]), Some(1.0));
    assert_eq!(s.value("job.timeouts", &[("job", "sync")]), Some(1.0));
    assert_eq!(s.value("job.executions", &[("job", "sync"), ("status", "timeout")]), Some(1.0));
    assert_eq!(s.value("job.errors", &[("job", "sync"), ("error_type", "timeout")]), Some(1.0));
    assert!(s.histogram("job.duration", &[("job", "sync"), ("status", "timeout")]).is_some_and(|h| h.sum >= 0.03));
    assert_eq!(s.histogram("job.duration", &[("job", "sync"), ("status", "success")]).map(|h| h.count), Some(2));
    assert_eq!(s.value("job.executions", &[("job", "slow"), ("status", "timeout")]), Some(1.0));
    assert_eq!(s.value("job.timeouts", &[("job", "slow")]), Some(1.0));
    assert_eq!(s.value("job.errors", &[("job", "slow"), ("error_type", "timeout")]), Some(1.0));
    // A future dropped before its first poll never started: nothing to record; one dropped while
    // running is a failure of type `unfinished`, everywhere.
    assert_eq!(s.value("job.executions", &[("job", "slow"), ("status", "failure")]), Some(1.0));
    assert_eq!(s.value("job.errors", &[("job", "slow"), ("error_type", "unfinished")]), Some(1.0));
    let slow = &s.operations.task_stats["slow"];
    assert_eq!((slow.executions, slow.failures), (2, 2));
    let stats = &s.operations.task_stats["sync"];
    assert_eq!((stats.executions, stats.successes, stats.failures), (4, 2, 2));
    assert!(stats.max_duration >= 0.03 && stats.max_duration >= stats.min_duration);
}

#[test]
fn lifecycle_reports_state_restarts_and_uptime() {
    let telemetry = telemetry();
    let lifecycle = Lifecycle::new(&telemetry.metrics(), &telemetry.meter("lifecycle"));
    lifecycle.set_state("api", ServiceState::Failed);
    assert_eq!(telemetry.snapshot().value("service.state", &[("service_name", "api")]), Some(-1.0));
    assert_eq!(telemetry.snapshot().value("service.uptime", &[("service_name", "api")]), Some(0.0));
    lifecycle.restarted("api", "failure");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let s = telemetry.snapshot();
    assert_eq!(s.value("service.state", &[("service_name", "api")]), Some(1.0));
    assert_eq!(s.value("service.restarts", &[("service_name", "api"), ("reason", "failure")]), Some(1.0));
    assert!(s.value("service.uptime", &[("service_name", "api")]).unwrap_or(0.0) >= 0.02);
    lifecycle.set_state("api", ServiceState::Inactive);
    assert_eq!(telemetry.snapshot().value("service.state", &[("service_name", "api")]), Some(0.0));
}

#[test]
fn process_and_runtime_metrics_report_plausible_values() {
    let telemetry = telemetry();
    let meter = telemetry.meter("runtime");
    register_process_metrics(&meter);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(3).build().expect("runtime");
    register_tokio_metrics(&meter, runtime.handle());
    let s = telemetry.snapshot();
    let rss = s.value("process.memory.usage", &[]).expect("rss");
    let virt = s.value("process.memory.virtual", &[]).expect("virtual");
    assert!(rss > 1e6 && virt >= rss, "rss {rss}, virtual {virt}");
    assert!(s.value("process.open_file_descriptor.count", &[]).expect("fds") >= 3.0);
    assert!(s.value("process.thread.count", &[]).expect("threads") >= 4.0, "3 workers and the test thread");
    let start = s.value("process.start.time", &[]).expect("start time");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
    assert!(start <= now + 1.0 && now - start < 3600.0, "start {start}, now {now}");
    assert!(s.value("process.cpu.time", &[("cpu.mode", "user")]).is_some());
    assert_eq!(s.value("tokio.runtime.workers", &[]), Some(3.0));
    assert!(s.value("tokio.runtime.worker.busy.time", &[("worker", "0")]).is_some());
}

#[test]
fn jobs_and_lifecycle_record_under_another_systems_names() {
    let jobs_names = JobNames::default()
        .namespace("batch")
        .executions("run")
        .duration("run.time")
        .errors("run.failures")
        .retries("run.retries")
        .timeouts(None)
        .job_key("task_name")
        .status_key("outcome")
        .error_type_key("kind")
        .buckets(&[1.0, 2.0]);
    let lifecycle_names = LifecycleNames::default()
        .namespace("fleet")
        .state("unit.state")
        .restarts("unit.restarts")
        .uptime("unit.uptime")
        .service_key("unit")
        .reason_key("why")
        .state_key("state");
    let catalog = Catalog::new().with(jobs_names.definitions().into_iter().chain(lifecycle_names.definitions())).expect("catalog");
    assert!(catalog.get("job.executions").is_none() && catalog.get("batch.run.timeouts").is_none());
    assert_eq!(catalog.get("batch.run.time").map(|d| d.buckets.clone()), Some(otel_core::Buckets::Explicit(vec![1.0, 2.0])));
    let telemetry = Telemetry::builder().env(Env::empty()).catalog(catalog).build().expect("build");
    let jobs = Jobs::with_names(&telemetry.metrics(), jobs_names);
    assert!(jobs.run("backup", || Err::<(), _>(DiskFull)).is_err());
    jobs.retry("backup");
    jobs.timed_out("backup", std::time::Instant::now());
    let s = telemetry.snapshot();
    assert_eq!(s.value("batch.run", &[("task_name", "backup"), ("outcome", "failure")]), Some(1.0));
    assert_eq!(s.value("batch.run", &[("task_name", "backup"), ("outcome", "timeout")]), Some(1.0));
    assert_eq!(s.value("batch.run.failures", &[("task_name", "backup"), ("kind", "DiskFull")]), Some(1.0));
    assert_eq!(s.value("batch.run.failures", &[("task_name", "backup"), ("kind", "timeout")]), Some(1.0));
    assert_eq!(s.value("batch.run.retries", &[("task_name", "backup")]), Some(1.0));
    assert!(s.histogram("batch.run.time", &[("task_name", "backup"), ("outcome", "failure")]).is_some());
    assert!(s.series.iter().all(|series| !series.name.starts_with("job.")), "no default-named series");

    // With a state label, each service has exactly one state series at any time.
    let lifecycle = Lifecycle::with_names(&telemetry.metrics(), &telemetry.meter("lifecycle"), lifecycle_names);
    let states = |t: &Telemetry| {
        let s = t.snapshot();
        s.series
            .iter()
            .filter(|series| series.name == "fleet.unit.state")
            .map(|series| (series.labels.get("state").cloned().unwrap_or_default(), series.value.unwrap_or(f64::NAN)))
            .collect::<Vec<_>>()
    };
    lifecycle.set_state("api", ServiceState::Active);
    assert_eq!(states(&telemetry), vec![("active".to_owned(), 1.0)]);
    lifecycle.set_state("api", ServiceState::Failed);
    assert_eq!(states(&telemetry), vec![("failed".to_owned(), -1.0)]);
    lifecycle.restarted("api", "failure");
    assert_eq!(states(&telemetry), vec![("active".to_owned(), 1.0)]);
    lifecycle.set_state("api", ServiceState::Inactive);
    lifecycle.set_state("api", ServiceState::Inactive);
    assert_eq!(states(&telemetry), vec![("inactive".to_owned(), 0.0)]);
    let s = telemetry.snapshot();
    assert_eq!(s.value("fleet.unit.restarts", &[("unit", "api"), ("why", "failure")]), Some(1.0));
    assert!(s.value("fleet.unit.uptime", &[("unit", "api")]).is_some());
}
