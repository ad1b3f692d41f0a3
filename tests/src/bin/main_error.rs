//! A service whose `main` returns the pipeline's error, as the README's examples do: what it
//! prints is the error's message and its causes, not a struct. `main_error env` fails on an
//! environment value, `main_error bind HOST:PORT` on a listener address that is taken.

use otel_core::{Env, Telemetry};
use otel_exporters::PrometheusExporter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let builder = Telemetry::builder().env(Env::empty());
    let _telemetry = match args.first().map(String::as_str) {
        Some("bind") => builder.exporter(PrometheusExporter::new().listen(args[1].clone())).build()?,
        _ => Telemetry::builder().env(Env::from_pairs([("OTEL_METRIC_EXPORT_INTERVAL", "ninety")])).build()?,
    };
    Ok(())
}
