//! A service that installs no `tracing` subscriber and meets problems: a collector that is not
//! there, an instrument name the SDK refuses. Its standard error shows them anyway; its exit
//! status says the final export failed.

use std::process::ExitCode;
use std::time::Duration;

use otel_core::{Env, Telemetry};
use otel_exporters::{OtlpExporter, RetryPolicy};

fn main() -> ExitCode {
    let Some(port) = std::env::args().nth(1) else {
        eprintln!("usage: quiet_service DEAD_PORT");
        return ExitCode::from(2);
    };
    let otlp = OtlpExporter::new().endpoint(format!("http://127.0.0.1:{port}")).retry_policy(RetryPolicy::disabled());
    let telemetry = match Telemetry::builder()
        .env(Env::empty())
        .service_name("quiet")
        .export_interval(Duration::from_millis(200))
        .exporter(otlp)
        .build()
    {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("quiet_service: {e}");
            return ExitCode::from(2);
        }
    };
    let meter = telemetry.meter("quiet");
    meter.u64_counter("orders placed").build().add(1, &[]);
    meter.u64_counter("orders.placed").build().add(1, &[]);
    std::thread::sleep(Duration::from_millis(500));
    match telemetry.shutdown() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quiet_service: {e}");
            ExitCode::from(1)
        }
    }
}
