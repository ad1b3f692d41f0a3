//! The scale-out benchmark (not part of the suite; it takes a few minutes):
//!
//! ```text
//! cargo test --release -p otel-loadgen --test scale_bench -- --ignored --nocapture --test-threads 1
//! ```
//!
//! 100 instances × 1,000 series through the pull topology (two sharded agents remote-writing to
//! VictoriaMetrics and a central Prometheus) and through the push topology (rotel gateway →
//! rotel), and the instance-side cost of one OTLP export over gRPC and HTTP with and without
//! gzip. Every process' CPU time and peak memory come from `/proc`; the tables printed here are
//! the ones in docs/scale-out.md.

mod common;

use std::time::{Duration, Instant};

use common::{finish, gateway, loadgen, PullTopology};
use otel_tests::{free_port, http_get, process_usage, scratch_dir, Rotel};

const INSTANCES: &str = "100";
const SERIES: &str = "1000";
const TICKS: &str = "60";

/// A counter from a Prometheus-format `/metrics` page (summed over its series).
fn scraped(url: &str, name: &str) -> f64 {
    let (_, body) = http_get(url).unwrap_or_default();
    body.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn row(name: &str, pid: u32, seconds: f64) -> String {
    let (cpu, rss) = process_usage(pid);
    format!("| {name} | {cpu:.1} s ({:.0}% of a core) | {:.0} MiB |", 100.0 * cpu / seconds, rss as f64 / 1048576.0)
}

#[test]
#[ignore = "a benchmark: run it explicitly (see the file's docs)"]
fn export_cost_by_protocol_and_compression() {
    println!(
        "\n| protocol | gzip | bytes per export (1,000 series) | bytes per data point | loadgen CPU per export |\n|---|---|---|---|---|"
    );
    for (protocol, gzip) in [("grpc", false), ("grpc", true), ("http/protobuf", false), ("http/protobuf", true)] {
        let dir = scratch_dir("export-cost");
        let (grpc, http) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
        let _sink = Rotel::start_on(&grpc, &http, &["--exporter", "blackhole"]);
        let endpoint = if protocol == "grpc" { format!("http://{grpc}") } else { format!("http://{http}/v1/metrics") };
        let gzip_flag = if gzip { "--gzip" } else { "" };
        let args = format!(
            "--instances 10 --series {SERIES} --ticks 20 --interval 1000 --export-interval 1000 --otlp {endpoint} --protocol {protocol} --count-bytes --linger 1 {gzip_flag}"
        );
        let (process, summary) = loadgen(&dir, &args);
        let s = finish(process, &summary, Duration::from_secs(600));
        let exports = s["exports_before_shutdown"].as_f64().unwrap_or(0.0) + 10.0;
        let bytes = s["bytes_per_export"].as_f64().unwrap_or(0.0);
        let points = s["data_points_exported"].as_f64().unwrap_or(0.0) / (exports - 10.0).max(1.0);
        let cpu_ms = 1000.0 * s["cpu_seconds"].as_f64().unwrap_or(0.0) / exports;
        println!("| {protocol} | {} | {bytes:.0} | {:.1} | {cpu_ms:.2} ms |", if gzip { "yes" } else { "no" }, bytes / points.max(1.0));
    }
}

#[test]
#[ignore = "a benchmark: run it explicitly (see the file's docs)"]
fn pull_topology_at_100_instances() {
    let dir = scratch_dir("bench-pull");
    let PullTopology { vm, central, agents, targets } = PullTopology::start(&dir, "5s");
    let started = Instant::now();
    let args =
        format!("--instances {INSTANCES} --series {SERIES} --ticks {TICKS} --interval 1000 --pull --targets-file {targets} --linger 10");
    let (process, summary) = loadgen(&dir, &args);
    let loadgen_pid = process.pid();
    // Measure the loadgen just before it ends (its own summary has its totals too).
    std::thread::sleep(Duration::from_secs(TICKS.parse::<u64>().unwrap_or(60) + 5));
    let seconds = started.elapsed().as_secs_f64();
    let central_samples = scraped(&format!("{}/metrics", central.base()), "prometheus_tsdb_head_samples_appended_total");
    let vm_rows = scraped(&format!("{}/metrics", vm.base), "vm_rows_inserted_total");
    let series = scraped(&format!("{}/metrics", central.base()), "prometheus_tsdb_head_series");
    println!("\nPull: {INSTANCES} instances × {SERIES} series, agents scraping every 5 s, {seconds:.0} s");
    println!("\n| process | CPU | peak memory |\n|---|---|---|");
    println!("{}", row("otel-loadgen (all instances, serving scrapes)", loadgen_pid, seconds));
    for (i, agent) in agents.iter().enumerate() {
        println!("{}", row(&format!("Prometheus agent {i}"), agent.pid(), seconds));
    }
    println!("{}", row("central Prometheus (remote-write receiver)", central.pid(), seconds));
    println!("{}", row("VictoriaMetrics", vm.pid(), seconds));
    println!(
        "\ncentral Prometheus: {series:.0} series, {central_samples:.0} samples appended ({:.0}/s); VictoriaMetrics: {vm_rows:.0} rows ({:.0}/s)",
        central_samples / seconds,
        vm_rows / seconds
    );
    let s = finish(process, &summary, Duration::from_secs(600));
    println!("loadgen summary: cpu {} s, peak RSS {} bytes", s["cpu_seconds"], s["peak_rss_bytes"]);
}

#[test]
#[ignore = "a benchmark: run it explicitly (see the file's docs)"]
fn push_topology_at_100_instances() {
    let dir = scratch_dir("bench-push");
    let (r_grpc, r_http) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let recorder = Rotel::start_on(&r_grpc, &r_http, &["--exporter", "blackhole"]);
    let (gateway, (g_grpc, _)) = gateway(None, &r_grpc);
    let started = Instant::now();
    let args = format!(
        "--instances {INSTANCES} --series {SERIES} --ticks {TICKS} --interval 1000 --export-interval 5000 --otlp http://{g_grpc} --linger 5"
    );
    let (process, summary) = loadgen(&dir, &args);
    let loadgen_pid = process.pid();
    std::thread::sleep(Duration::from_secs(TICKS.parse::<u64>().unwrap_or(60) + 2));
    let seconds = started.elapsed().as_secs_f64();
    println!("\nPush: {INSTANCES} instances × {SERIES} series exporting every 5 s through a rotel gateway, {seconds:.0} s");
    println!("\n| process | CPU | peak memory |\n|---|---|---|");
    println!("{}", row("otel-loadgen (all instances, exporting)", loadgen_pid, seconds));
    println!("{}", row("rotel gateway", gateway.pid(), seconds));
    println!("{}", row("rotel recorder (blackhole)", recorder.pid(), seconds));
    let s = finish(process, &summary, Duration::from_secs(600));
    let points = s["data_points_exported"].as_f64().unwrap_or(0.0);
    println!(
        "\ndata points exported through the gateway: {points:.0} ({:.0}/s), lost {}, exports {}",
        points / seconds,
        s["data_points_lost"],
        s["exports_before_shutdown"]
    );
}
