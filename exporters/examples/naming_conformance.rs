//! Checks a naming-vector file against the Prometheus name translator.
//!
//! `cargo run -q -p otel-exporters --example naming_conformance -- FILE.tsv`
//! prints each failing row with what it produced and ends with `N passed, M failed`;
//! the exit status is non-zero when anything failed.

use std::process::ExitCode;

use otel_exporters::conformance;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: naming_conformance FILE.tsv");
        return ExitCode::from(2);
    };
    let tsv = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let report = conformance::check(&tsv);
    for failure in &report.failures {
        println!("FAIL line {}: {}\n     got: {:?}", failure.line, failure.row, failure.got);
    }
    println!("{} passed, {} failed", report.passed, report.failures.len());
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
