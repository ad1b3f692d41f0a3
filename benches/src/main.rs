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
    // OTEL_BENCH_PROFILE=scrape|counters|facade|dynamic: loop one otel-pipeline case, for a
    // profiler (`counters` and `facade` scrape OTEL_BENCH_SERIES counter series, 10,000 unless set).
    if let Ok(profile) = std::env::var("OTEL_BENCH_PROFILE") {
        let series = std::env::var("OTEL_BENCH_SERIES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
        let mut scrape = match profile.as_str() {
            "scrape" => scrape::profile_target(10_000, 1_000),
            "counters" => scrape::profile_target(series, 0),
            "facade" => scrape::profile_facade(series),
            "dynamic" => {
                recording::profile_dynamic(20_000_000);
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("OTEL_BENCH_PROFILE={other:?}: one of scrape, counters, facade, dynamic")),
        };
        for _ in 0..(2_000_000 / series.max(1_000)).max(100) {
            std::hint::black_box(scrape());
        }
        return ExitCode::SUCCESS;
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
