//! `cargo run --release -p otel-bench -- [--quick] [--only recording|contention|http|scrape|memory] [--json FILE]`
//!
//! Measures otel-pipeline next to its peers on the same data, in one run, and prints a markdown
//! table (plus JSON with `--json`). Ratios are only meaningful within one run.

mod contention;
mod http;
mod measured_peer;
mod memory;
mod recording;
mod report;
mod scrape;

use std::process::ExitCode;

use report::Report;

#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

fn main() -> ExitCode {
    let mut quick = false;
    let mut json = None;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--only" => match args.next() {
                Some(group) if ["recording", "contention", "http", "scrape", "memory"].contains(&group.as_str()) => only = Some(group),
                _ => return usage("--only needs one of recording, contention, http, scrape, memory"),
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
            let n = std::env::var("OTEL_BENCH_SERIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000);
            let mut scrape = scrape::profile_target(n, 0);
            for _ in 0..5_000 {
                std::hint::black_box(scrape());
            }
            return ExitCode::SUCCESS;
        }
        Ok("fixed") => {
            for (c, h) in [(0usize, 0usize), (1_000, 0)] {
                let shape = scrape::Shape { counters: c, histograms: h };
                for (name, ms, bytes) in scrape::measure(shape, 20, 201) {
                    println!("{c} {name} {ms:.4} ms {bytes} B");
                }
            }
            return ExitCode::SUCCESS;
        }
        Ok("facade") => {
            let mut scrape = scrape::profile_facade(10_000);
            for _ in 0..200 {
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
    if runs("contention") {
        contention::run_all(&mut report, quick);
    }
    if runs("http") {
        http::run_all(&mut report, quick);
    }
    if runs("scrape") {
        scrape::run_all(&mut report, quick);
    }
    if runs("memory") {
        memory::run_all(&mut report);
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
    eprintln!("usage: otel-bench [--quick] [--only recording|contention|http|scrape|memory] [--json FILE]");
    if problem.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
