//! Process and tokio runtime metrics through observable instruments: read only when metrics
//! are collected, so they cost nothing between scrapes or exports.

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;

/// `process.cpu.time` (s, by `cpu.mode`), `process.memory.usage` and `process.memory.virtual`
/// (By), `process.open_file_descriptor.count`, `process.thread.count` and
/// `process.start.time` (Unix seconds; Prometheus: `process_start_time_seconds`). Linux only
/// (read from `/proc/self`); elsewhere nothing is registered.
pub fn register_process_metrics(meter: &Meter) {
    #[cfg(target_os = "linux")]
    linux::register(meter);
    #[cfg(not(target_os = "linux"))]
    let _ = meter;
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{KeyValue, Meter};

    /// Clock ticks per second for `/proc` CPU times (`_SC_CLK_TCK`, 100 on Linux).
    const TICKS_PER_SECOND: f64 = 100.0;
    /// Page size for `/proc/self/statm` (4 KiB on the platforms this reads).
    const PAGE_SIZE: u64 = 4096;

    /// Fields of `/proc/self/stat` after the command name.
    fn stat_fields() -> Option<Vec<String>> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let after_name = stat.rsplit_once(')')?.1;
        Some(after_name.split_whitespace().map(str::to_owned).collect())
    }

    fn statm() -> Option<(u64, u64)> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let mut fields = statm.split_whitespace().map(|f| f.parse::<u64>().ok());
        let size = fields.next()??;
        let resident = fields.next()??;
        Some((resident * PAGE_SIZE, size * PAGE_SIZE))
    }

    fn start_time_unix() -> Option<f64> {
        // Field 22 of stat (index 19 after the name) is the start time in ticks since boot.
        let ticks: f64 = stat_fields()?.get(19)?.parse().ok()?;
        let boot: f64 = std::fs::read_to_string("/proc/stat").ok()?.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()?;
        Some(boot + ticks / TICKS_PER_SECOND)
    }

    pub(super) fn register(meter: &Meter) {
        let _cpu = meter
            .f64_observable_counter("process.cpu.time")
            .with_unit("s")
            .with_description("Total CPU seconds broken down by mode")
            .with_callback(|observer| {
                if let Some(fields) = stat_fields() {
                    // utime and stime are fields 14 and 15 (indexes 11 and 12 after the name).
                    for (index, mode) in [(11, "user"), (12, "system")] {
                        if let Some(ticks) = fields.get(index).and_then(|t| t.parse::<f64>().ok()) {
                            observer.observe(ticks / TICKS_PER_SECOND, &[KeyValue::new("cpu.mode", mode)]);
                        }
                    }
                }
            })
            .build();
        let _rss = meter
            .i64_observable_up_down_counter("process.memory.usage")
            .with_unit("By")
            .with_description("The amount of physical memory in use")
            .with_callback(|observer| {
                if let Some((resident, _)) = statm() {
                    observer.observe(resident as i64, &[]);
                }
            })
            .build();
        let _virtual = meter
            .i64_observable_up_down_counter("process.memory.virtual")
            .with_unit("By")
            .with_description("The amount of committed virtual memory")
            .with_callback(|observer| {
                if let Some((_, size)) = statm() {
                    observer.observe(size as i64, &[]);
                }
            })
            .build();
        let _fds = meter
            .i64_observable_up_down_counter("process.open_file_descriptor.count")
            .with_unit("{file_descriptor}")
            .with_description("Number of file descriptors in use by the process")
            .with_callback(|observer| {
                if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
                    observer.observe(dir.count() as i64, &[]);
                }
            })
            .build();
        let _threads = meter
            .i64_observable_up_down_counter("process.thread.count")
            .with_unit("{thread}")
            .with_description("Process threads count")
            .with_callback(|observer| {
                if let Some(threads) = stat_fields().and_then(|f| f.get(17).and_then(|t| t.parse::<i64>().ok())) {
                    observer.observe(threads, &[]);
                }
            })
            .build();
        if let Some(start) = start_time_unix() {
            let _start = meter
                .f64_observable_gauge("process.start.time")
                .with_unit("s")
                .with_description("Start time of the process since the Unix epoch")
                .with_callback(move |observer| observer.observe(start, &[]))
                .build();
        }
    }
}

/// Tokio runtime metrics for the runtime behind `handle`: `tokio.runtime.workers`,
/// `tokio.runtime.alive_tasks`, `tokio.runtime.global_queue.depth` and
/// `tokio.runtime.worker.busy.time` (s, by `worker`).
pub fn register_tokio_metrics(meter: &Meter, handle: &tokio::runtime::Handle) {
    let h = handle.clone();
    let _workers = meter
        .u64_observable_gauge("tokio.runtime.workers")
        .with_unit("{worker}")
        .with_description("Worker threads of the runtime")
        .with_callback(move |o| o.observe(h.metrics().num_workers() as u64, &[]))
        .build();
    let h = handle.clone();
    let _tasks = meter
        .u64_observable_gauge("tokio.runtime.alive_tasks")
        .with_unit("{task}")
        .with_description("Tasks alive in the runtime")
        .with_callback(move |o| o.observe(h.metrics().num_alive_tasks() as u64, &[]))
        .build();
    let h = handle.clone();
    let _queue = meter
        .u64_observable_gauge("tokio.runtime.global_queue.depth")
        .with_unit("{task}")
        .with_description("Tasks waiting in the runtime's global queue")
        .with_callback(move |o| o.observe(h.metrics().global_queue_depth() as u64, &[]))
        .build();
    let h = handle.clone();
    let _busy = meter
        .f64_observable_counter("tokio.runtime.worker.busy.time")
        .with_unit("s")
        .with_description("Time each worker spent busy")
        .with_callback(move |o| {
            let metrics = h.metrics();
            for worker in 0..metrics.num_workers() {
                o.observe(metrics.worker_total_busy_duration(worker).as_secs_f64(), &[KeyValue::new("worker", worker as i64)]);
            }
        })
        .build();
}

/// The metrics [`register_process_metrics`] and [`register_tokio_metrics`] report, as a catalog
/// would declare them (for references, rules and dashboards).
pub fn definitions() -> Vec<otel_core::MetricDef> {
    use otel_core::MetricDef;
    vec![
        MetricDef::counter("process.cpu.time").unit("s").description("Total CPU seconds broken down by mode").labels(["cpu.mode"]),
        MetricDef::up_down_counter("process.memory.usage").unit("By").description("The amount of physical memory in use"),
        MetricDef::up_down_counter("process.memory.virtual").unit("By").description("The amount of committed virtual memory"),
        MetricDef::up_down_counter("process.open_file_descriptor.count")
            .unit("{file_descriptor}")
            .description("Number of file descriptors in use by the process"),
        MetricDef::up_down_counter("process.thread.count").unit("{thread}").description("Process threads count"),
        MetricDef::gauge("process.start.time").unit("s").description("Start time of the process since the Unix epoch"),
        MetricDef::gauge("tokio.runtime.workers").unit("{worker}").description("Worker threads of the runtime"),
        MetricDef::gauge("tokio.runtime.alive_tasks").unit("{task}").description("Tasks alive in the runtime"),
        MetricDef::gauge("tokio.runtime.global_queue.depth").unit("{task}").description("Tasks waiting in the runtime's global queue"),
        MetricDef::counter("tokio.runtime.worker.busy.time").unit("s").description("Time each worker spent busy").labels(["worker"]),
    ]
}
