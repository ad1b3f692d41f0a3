//! otel-loadgen: a fleet in one process. K simulated service instances, each a real
//! otel-pipeline `Telemetry` with its own `service.instance.id` and S series (counters, gauges,
//! histograms), push OTLP and/or serve a pull endpoint on a loopback port. Every counter series
//! grows by one per tick, so the exact totals a store must hold at the end are known; they are
//! printed (and written with `--summary`) with the process' CPU time, peak memory and, when the
//! OTLP traffic goes through the built-in counting relay, the bytes each export took.
//!
//! ```text
//! cargo run --release -p otel-loadgen -- --help
//! ```

mod fleet;
mod options;
mod relay;

use std::process::ExitCode;
use std::time::Instant;

use options::Options;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let options = match <options::Cli as clap::Parser>::parse().options() {
        Ok(options) => options,
        Err(message) => <options::Cli as clap::CommandFactory>::command().error(clap::error::ErrorKind::ArgumentConflict, message).exit(),
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("otel-loadgen: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    // OTLP through the counting relay when asked, so the bytes of every export are known.
    let (relay, otlp) = match (&options.otlp, options.count_bytes) {
        (Some(upstream), true) => {
            let relay = relay::Relay::start(upstream).await?;
            let endpoint = relay.endpoint(upstream);
            (Some(relay), Some(endpoint))
        }
        (endpoint, _) => (None, endpoint.clone()),
    };
    let started = Instant::now();
    let mut fleet = fleet::Fleet::start(&options, otlp.as_deref())?;
    if let Some(path) = &options.targets_file {
        fleet.write_targets(path)?;
    }
    eprintln!(
        "otel-loadgen: {} instances × {} series ({} counters, {} gauges, {} histograms) started in {:.1} s",
        options.instances,
        options.series,
        fleet.counters_per_instance(),
        fleet.gauges_per_instance(),
        fleet.histograms_per_instance(),
        started.elapsed().as_secs_f64()
    );
    let ticks = fleet.run(&options).await;
    eprintln!("otel-loadgen: {ticks} ticks done; lingering {} s", options.linger.as_secs());
    tokio::time::sleep(options.linger).await;
    // The pipeline's own export counts, read while the instances still run.
    let exports = fleet.exports();
    let shutdown = Instant::now();
    let failures = fleet.shutdown();
    let shutdown = shutdown.elapsed();
    // The relay counts bytes as they pass; give the last flushes a moment to get through.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let summary = fleet::Summary::new(&options, &fleet, ticks, exports, failures, shutdown, relay.as_ref().map(relay::Relay::counts));
    eprintln!("{}", summary.table());
    if let Some(path) = &options.summary {
        std::fs::write(path, summary.json()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
