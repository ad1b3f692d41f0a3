//! A process that writes its metrics to a textfile directory until it is killed, for the
//! multi-process textfile tests: `textfile_writer DIR SERVICE VALUE [--remove-stale]`.

use std::time::Duration;

use otel_core::{Env, Telemetry};
use otel_exporters::TextfileExporter;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, service, value, rest @ ..] = args.as_slice() else {
        eprintln!("usage: textfile_writer DIR SERVICE VALUE [--remove-stale]");
        std::process::exit(2);
    };
    let exporter = TextfileExporter::new()
        .directory(dir)
        .interval(Duration::from_millis(100))
        .remove_stale_files(rest.iter().any(|a| a == "--remove-stale"));
    let telemetry = match Telemetry::builder().env(Env::empty()).service_name(service.clone()).exporter(exporter).build() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("textfile_writer: {e}");
            std::process::exit(1);
        }
    };
    telemetry.meter("writer").u64_counter("writer.value").build().add(value.parse().unwrap_or(0), &[]);
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}
