//! `cargo run --release -p otel-bench -- [--quick] [--only recording|http|scrape] [--json FILE]`
//!
//! Measures otel-pipeline next to its peers on the same data, in one run, and prints a markdown
//! table (plus JSON with `--json`). Ratios are only meaningful within one run.

mod http;
mod recording;
mod report;
mod scrape;

use std::process::ExitCode;

use report::Report;

fn main() -> ExitCode {
    let mut quick = false;
    let mut json = None;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--only" => match args.next() {
                Some(group) if ["recording", "http", "scrape"].contains(&group.as_str()) => only = Some(group),
                _ => return usage("--only needs one of recording, http, scrape"),
            },
            "--json" => match args.next() {
                Some(path) => json = Some(path),
                None => return usage("--json needs a file name"),
            },
            "-h" | "--help" => return usage(""),
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    // OTEL_BENCH_PROFILE=scrape|scrape-1k|dynamic: loop one otel-pipeline case, for a profiler.
    match std::env::var("OTEL_BENCH_PROFILE").as_deref() {
        Ok("scrape") => {
            let mut scrape = scrape::profile_target(10_000, 1_000);
            for _ in 0..200 {
                std::hint::black_box(scrape());
            }
            return ExitCode::SUCCESS;
        }
        Ok("scrape-1k") => {
            let mut scrape = scrape::profile_target(1_000, 0);
            for _ in 0..5_000 {
                std::hint::black_box(scrape());
            }
            return ExitCode::SUCCESS;
        }
        Ok("dynamic") => {
            recording::profile_dynamic(20_000_000);
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let mut report = Report::default();
    let runs = |group: &str| only.as_deref().is_none_or(|o| o == group);
    if runs("recording") {
        recording::run_all(&mut report, quick);
    }
    if runs("http") {
        http::run_all(&mut report, quick);
    }
    if runs("scrape") {
        scrape::run_all(&mut report, quick);
    }
    print!("{}", report.markdown());
    if let Some(path) = json {
        if let Err(e) = std::fs::write(&path, report.json()) {
            eprintln!("otel-bench: cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("otel-bench: {problem}");
    }
    eprintln!("usage: otel-bench [--quick] [--only recording|http|scrape] [--json FILE]");
    if problem.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
