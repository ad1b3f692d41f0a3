//! Memory stays proportional to the cardinality limit, not to the number of distinct inputs,
//! for every recording kind; floods of bad input log a bounded number of warnings and count
//! every drop.
//!
//! Memory is the process's resident set (`/proc/self/statm`), so the tests take turns. Run
//! with `--nocapture` to see the figures quoted in docs/recording.md.

use std::sync::{Arc, Mutex};

use opentelemetry::KeyValue;
use otel_core::{Catalog, MetricDef, Metrics, Telemetry};
use otel_exporters::PrometheusExporter;
use otel_tests::empty_env;

/// The resident set size is process-wide: tests measuring it take turns.
static MEASURING: Mutex<()> = Mutex::new(());

/// Resident memory of this process, in bytes.
fn live() -> isize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: isize = statm.split(' ').nth(1).and_then(|p| p.parse().ok()).expect("resident pages");
    pages * 4096
}

const LIMIT: usize = 1000;

fn pipeline() -> (Telemetry, otel_exporters::Scraper) {
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let catalog = Catalog::new()
        .with([
            MetricDef::counter("c").labels(["user"]).cardinality_limit(LIMIT),
            MetricDef::up_down_counter("u").labels(["user"]).cardinality_limit(LIMIT),
            MetricDef::gauge("g").labels(["user"]).cardinality_limit(LIMIT),
            MetricDef::histogram("h").labels(["user"]).cardinality_limit(LIMIT),
            MetricDef::quantile_timer("t").labels(["user"]).cardinality_limit(LIMIT),
        ])
        .expect("catalog");
    let telemetry = Telemetry::builder().env(empty_env()).catalog(catalog).exporter(exporter).build().expect("build");
    (telemetry, scraper)
}

/// Records once through one kind, for the `n`th user.
type Record = Box<dyn Fn(&Metrics, u64)>;

/// Each recording kind, given a distinct user each time.
fn kinds() -> Vec<(&'static str, Record)> {
    let user = |i: u64| [KeyValue::new("user", i as i64)];
    vec![
        ("counter", Box::new(move |m: &Metrics, i| m.increment_counter("c", 1, &user(i)))),
        ("up-down counter", Box::new(move |m: &Metrics, i| m.increment_gauge("u", 1.0, &user(i)))),
        ("gauge", Box::new(move |m: &Metrics, i| m.set_gauge("g", i as f64, &user(i)))),
        ("histogram", Box::new(move |m: &Metrics, i| m.record_histogram("h", 0.1, &user(i)))),
        ("quantile timer", Box::new(move |m: &Metrics, i| m.record_histogram("t", 0.1, &user(i)))),
        (
            "guards",
            Box::new(move |m: &Metrics, i| {
                let _active = m.track_active("u", &user(i));
                let _timer = m.track_duration("h", &user(i));
            }),
        ),
    ]
}

#[test]
fn memory_is_bounded_by_the_cardinality_limit_for_every_recording_kind() {
    let _turn = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    for (kind, record) in kinds() {
        let (telemetry, scraper) = pipeline();
        let metrics = telemetry.metrics();
        scraper.scrape_text().expect("scrape");
        let before = live();
        let mut i = 0u64;
        let mut grow = |n: u64| {
            for _ in 0..n {
                record(&metrics, i);
                i += 1;
            }
            scraper.scrape_text().expect("scrape");
            live() - before
        };
        // The first LIMIT label sets fill the series; what comes after must not grow memory.
        let at_limit = grow(2 * LIMIT as u64);
        let after_flood = grow(200_000);
        let text = scraper.scrape_text().expect("scrape");
        let series = text.lines().filter(|l| l.contains("user=\"")).count();
        println!(
            "{kind}: {:.1} KiB after {} label sets, {:.1} KiB after {} ({} series with a user label in the scrape)",
            at_limit as f64 / 1024.0,
            2 * LIMIT,
            after_flood as f64 / 1024.0,
            i,
            series
        );
        // Unbounded, 200,000 more label sets would take tens of MiB (about 160 bytes each).
        assert!(after_flood - at_limit < 4 << 20, "{kind}: grew {} bytes after the limit", after_flood - at_limit);
        assert!(text.contains("otel_metric_overflow=\"true\""), "{kind}: no overflow series");
    }
}

/// Collects the warnings the pipeline logs.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl std::io::Write for Warnings {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").push(String::from_utf8_lossy(buf).into_owned());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn floods_of_undeclared_names_warn_a_bounded_number_of_times_and_count_every_drop() {
    let _turn = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    let warnings = Warnings::default();
    let writer = warnings.clone();
    let subscriber =
        tracing_subscriber::fmt().with_writer(move || writer.clone()).with_max_level(tracing::Level::WARN).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (telemetry, scraper) = pipeline();
    let metrics = telemetry.metrics();
    let before = live();
    const NAMES: usize = 400_000;
    for i in 0..NAMES {
        metrics.increment_counter(&format!("undeclared.{i}"), 1, &[]);
    }
    for i in 0..1000 {
        metrics.increment_counter("c", 1, &[KeyValue::new(format!("bad{i}"), "x")]);
    }
    let grown = live() - before;
    let logged = warnings.0.lock().expect("lock").len();
    println!("{NAMES} undeclared names: {logged} warnings, {:.1} KiB retained", grown as f64 / 1024.0);
    assert!(logged < 80, "{logged} warnings");
    assert!(grown < 4 << 20, "retained {grown} bytes");
    let text = scraper.scrape_text().expect("scrape");
    assert!(
        text.contains(&format!(
            "otel_pipeline_recording_dropped_total{{otel_scope_name=\"otel-pipeline\",reason=\"undeclared_metric\"}} {NAMES}\n"
        )),
        "{text}"
    );
    assert!(text.contains("reason=\"label_not_allowed\"} 1000\n"), "{text}");
}
