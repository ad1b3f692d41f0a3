//! Jobs, service lifecycle, and process / tokio runtime metrics, read back from a snapshot.

use otel_core::{Catalog, Env, Telemetry};
use otel_instrumentation::runtime::{register_process_metrics, register_tokio_metrics};
use otel_instrumentation::tasks::{Jobs, Lifecycle, ServiceState};

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
    jobs.timeout("sync");
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    assert!(runtime.block_on(jobs.run_async("sync", async { Ok::<_, DiskFull>(()) })).is_ok());

    let s = telemetry.snapshot();
    assert_eq!(s.value("job.executions", &[("job", "sync"), ("status", "success")]), Some(2.0));
    assert_eq!(s.value("job.executions", &[("job", "sync"), ("status", "failure")]), Some(1.0));
    assert_eq!(s.value("job.errors", &[("job", "sync"), ("error_type", "DiskFull")]), Some(1.0));
    assert_eq!(s.value("job.retries", &[("job", "sync")]), Some(1.0));
    assert_eq!(s.value("job.timeouts", &[("job", "sync")]), Some(1.0));
    assert_eq!(s.histogram("job.duration", &[("job", "sync"), ("status", "success")]).map(|h| h.count), Some(2));
    let stats = &s.operations.task_stats["sync"];
    assert_eq!((stats.executions, stats.successes, stats.failures), (3, 2, 1));
    assert!(stats.max_duration >= stats.min_duration);
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
