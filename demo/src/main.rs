//! otel-demo: an HTTP API and a background worker, instrumented with otel-pipeline.
//!
//! ```text
//! cargo run --release -p otel-demo -- [--listen ADDR] [--api ADDR] [--duration SECS]
//! ```
//!
//! Exporters are chosen as every service of the pipeline chooses them, by
//! `OTEL_METRICS_EXPORTER` (`otel_exporters::from_env()`): unset, metrics are served for
//! Prometheus on `--listen` (default `127.0.0.1:9464`, or `OTEL_EXPORTER_PROMETHEUS_HOST`/`_PORT`);
//! `otlp`, `textfile`, `pushgateway`, `influx`, `none` or a comma list select others, configured
//! by their own variables. With `OTEL_CONFIG_FILE` (an OpenTelemetry configuration file, e.g.
//! `collector-config/otel-demo.yaml`) the file's readers, resource and views are used instead;
//! `--listen` still wins over the file's address.

mod api;
mod args;
mod grpc;
mod spans;
mod worker;

use std::process::ExitCode;
use std::time::Duration;

use otel_core::Telemetry;
use otel_exporters::PrometheusExporter;
use otel_instrumentation::runtime::{register_process_metrics, register_tokio_metrics};
use otel_instrumentation::tasks::Lifecycle;
use tokio::sync::watch;

#[tokio::main]
async fn main() -> ExitCode {
    use std::io::IsTerminal as _;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour only for a terminal: logs in a file or a pipe stay plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = <args::Args as clap::Parser>::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("otel-demo: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: args::Args) -> Result<(), String> {
    let mut prometheus = PrometheusExporter::new();
    if let Some(addr) = &args.listen {
        prometheus = prometheus.listen(addr.clone());
    }
    let telemetry = Telemetry::builder()
        .catalog(otel_demo::catalog().map_err(|e| e.to_string())?)
        .scope_name("otel-demo")
        .default_service_name("otel-demo")
        .service_version(env!("CARGO_PKG_VERSION"))
        .exporter(otel_exporters::from_env().prometheus(prometheus))
        .install()
        .map_err(|e| e.to_string())?;

    let (stop_tx, stop) = watch::channel(false);
    let api = api::start(&args.api, &telemetry, args.inject, stop.clone()).await?;
    let mut scrape = None;
    for endpoint in telemetry.endpoints() {
        if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
            println!("otel-demo: metrics at {endpoint}");
            scrape = Some(endpoint.clone());
        } else {
            println!("otel-demo: exporting metrics: {endpoint}");
        }
    }
    if telemetry.endpoints().is_empty() {
        println!(
            "otel-demo: no exporter (OTEL_METRICS_EXPORTER=none, or a configuration file without readers or disabled); recording only"
        );
    }
    println!("otel-demo: API at http://{}/api/orders", api.addr);
    println!("otel-demo: try");
    if let Some(scrape) = scrape {
        println!("  curl -s {scrape} | grep '^http_server_request_duration_seconds_count'");
        println!("  curl -s -H 'Accept: application/openmetrics-text' {scrape} | grep ' # {{trace_id'   # exemplars");
    }
    println!("  curl -s -X POST http://{}/api/orders", api.addr);
    println!("  curl -s http://{}/api/orders", api.addr);
    let runtime_meter = telemetry.meter("otel-demo.runtime");
    register_process_metrics(&runtime_meter);
    register_tokio_metrics(&runtime_meter, &tokio::runtime::Handle::current());
    let lifecycle = Lifecycle::new(&telemetry.metrics(), &telemetry.meter("otel-demo.lifecycle"));
    let grpc_meter = telemetry.meter("otel-demo.grpc");
    let grpc_addr = grpc::start(&grpc_meter, args.inject, stop.clone()).await?;
    let health = tokio::spawn(grpc::check(grpc_addr, grpc_meter, stop.clone()));
    println!("otel-demo: gRPC health at {grpc_addr}");
    let client_meter = telemetry.meter("otel-demo.client");
    let worker = tokio::spawn(worker::run(format!("http://{}", api.addr), telemetry.metrics(), client_meter, lifecycle, args.inject, stop));

    match args.duration {
        Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
        None => {
            if let Err(e) = tokio::signal::ctrl_c().await {
                return Err(format!("cannot wait for Ctrl-C: {e}"));
            }
        }
    }
    println!("otel-demo: stopping");
    let _ = stop_tx.send(true);
    let _ = worker.await;
    let _ = health.await;
    let _ = api.server.await;
    telemetry.shutdown().map_err(|e| format!("flushing metrics on the way out failed: {e}"))?;
    println!("otel-demo: stopped, metrics flushed");
    Ok(())
}
