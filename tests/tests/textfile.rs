//! The textfile exporter with node_exporter 1.5's textfile collector scraped by Prometheus
//! 2.42: exact values and quantiles, several writer processes in one directory, stale files of
//! dead processes removed, atomic rewrites, write failures counted while the previous file
//! stays, and selection from the environment.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use otel_core::{Env, Telemetry};
use otel_exporters::{PrometheusExporter, TextfileExporter};
use otel_tests::{node_exporter, scratch_dir, wait_for, Prometheus};

/// A directory on tmpfs when there is one (so 10,000 synced rewrites stay fast).
fn fast_dir(name: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        let dir = shm.join(format!("otel-pipeline-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create dir");
        dir
    } else {
        scratch_dir(name)
    }
}

#[test]
fn node_exporter_serves_the_file_and_prometheus_gets_exact_values_and_quantiles() {
    let dir = scratch_dir("textfile");
    let textfile = TextfileExporter::new().directory(&dir).file_name("checkout").interval(Duration::from_millis(200));
    let telemetry = Telemetry::builder().env(Env::empty()).service_name("checkout").exporter(textfile).build().expect("build");
    let meter = telemetry.meter("checkout");
    meter.u64_counter("orders.placed").build().add(42, &[KeyValue::new("payment", "card")]);
    let latency = meter.f64_histogram("checkout.duration").with_unit("s").with_boundaries(vec![0.1, 0.2, 0.5, 1.0]).build();
    for _ in 0..50 {
        latency.record(0.15, &[]);
        latency.record(0.4, &[]);
    }
    let (_node, target) = node_exporter(&dir);
    let prometheus = Prometheus::start(&[&target], "/metrics", &[]);
    assert_eq!(prometheus.value("orders_placed_total{payment=\"card\",otel_scope_name=\"checkout\"}"), 42.0);
    let p90 = prometheus.value("histogram_quantile(0.9, sum by (le) (checkout_duration_seconds_bucket))");
    assert!((p90 - 0.44).abs() < 1e-9, "p90 = {p90}");
    assert_eq!(prometheus.value("node_textfile_scrape_error"), 0.0);
    assert_eq!(prometheus.value("count(target_info{service_name=\"checkout\"})"), 1.0);
    // The final write at shutdown carries what was recorded last.
    meter.u64_counter("orders.placed").build().add(8, &[KeyValue::new("payment", "card")]);
    telemetry.shutdown().expect("shutdown");
    let text = std::fs::read_to_string(dir.join("checkout.prom")).expect("read the file");
    let line = text.lines().find(|l| l.starts_with("orders_placed_total{")).unwrap_or_default();
    assert!(line.starts_with("orders_placed_total{service_instance_id=\""), "{text}");
    assert!(line.ends_with(",otel_scope_name=\"checkout\",payment=\"card\"} 50"), "{text}");
}

struct Writer(Child);

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn writer(dir: &Path, value: &str, remove_stale: bool) -> Writer {
    let mut command = Command::new(env!("CARGO_BIN_EXE_textfile_writer"));
    command.arg(dir).arg("worker").arg(value);
    if remove_stale {
        command.arg("--remove-stale");
    }
    Writer(command.spawn().expect("start textfile_writer"))
}

#[test]
fn writer_processes_share_a_directory_and_stale_files_of_dead_ones_go() {
    let dir = scratch_dir("textfile-multi");
    // Left by processes that no longer run: a file and a half-written temporary file.
    let dead = 4_000_000u32;
    std::fs::write(dir.join(format!("worker_{dead}.prom")), "writer_value_total 999\n").expect("write stale file");
    std::fs::write(dir.join(format!(".worker_{dead}.prom.{dead}.tmp")), "writer_val").expect("write stale temp file");
    let first = writer(&dir, "1", false);
    let file_of = |w: &Writer| dir.join(format!("worker_{}.prom", w.0.id()));
    assert!(wait_for(Duration::from_secs(20), || file_of(&first).is_file().then_some(())).is_some());
    let second = writer(&dir, "2", true);
    assert!(wait_for(Duration::from_secs(20), || file_of(&second).is_file().then_some(())).is_some());
    // The second writer removed what dead processes left, and nothing of the live first one.
    let stale_gone = wait_for(Duration::from_secs(10), || (!dir.join(format!("worker_{dead}.prom")).exists()).then_some(()));
    assert!(stale_gone.is_some(), "the stale file is still there");
    assert!(!dir.join(format!(".worker_{dead}.prom.{dead}.tmp")).exists());
    assert!(file_of(&first).is_file());

    let (_node, target) = node_exporter(&dir);
    let prometheus = Prometheus::start(&[&target], "/metrics", &[]);
    assert_eq!(prometheus.value("count(writer_value_total)"), 2.0);
    assert_eq!(prometheus.value("sum(writer_value_total)"), 3.0);
    assert_eq!(prometheus.value("count(count by (service_instance_id) (writer_value_total))"), 2.0);
    assert_eq!(prometheus.value("node_textfile_scrape_error"), 0.0);
}

#[test]
fn a_reader_never_sees_a_partial_file_across_ten_thousand_rewrites() {
    let dir = fast_dir("textfile-atomic");
    let textfile = TextfileExporter::new().directory(&dir).file_name("atomic").interval(Duration::from_secs(3600));
    let writer = textfile.writer();
    let telemetry = Telemetry::builder().env(Env::empty()).service_name("atomic").exporter(textfile).build().expect("build");
    let counter = telemetry.meter("atomic").u64_counter("rewrites").build();
    for i in 0..200 {
        counter.add(1, &[KeyValue::new("series", i)]);
    }
    // A few writes first: the pipeline's own scrape metrics appear after the first one.
    for _ in 0..3 {
        writer.write_now().expect("write");
    }
    let path = writer.write_now().expect("write");
    let expected_lines = std::fs::read_to_string(&path).expect("read").lines().count();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (path, done) = (path.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !done.load(Ordering::Relaxed) {
                let text = std::fs::read_to_string(&path).expect("the file is always there");
                assert!(text.ends_with('\n') && text.lines().count() == expected_lines, "partial file after {reads} reads:\n{text}");
                reads += 1;
            }
            reads
        })
    };
    for _ in 0..10_000 {
        writer.write_now().expect("rewrite");
    }
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("the reader saw only whole files");
    assert!(reads > 100, "only {reads} reads overlapped the rewrites");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every sample line of `name` in a text exposition.
fn lines_of(text: &str, prefix: &str) -> usize {
    text.lines().filter(|l| l.starts_with(prefix)).count()
}

#[test]
fn concurrent_writers_never_show_a_reader_or_node_exporter_a_partial_file() {
    const SERIES: usize = 200;
    let dir = fast_dir("textfile-concurrent");
    let textfile = TextfileExporter::new().directory(&dir).file_name("busy").interval(Duration::from_millis(5));
    let writer = textfile.writer();
    let lines_file = dir.join("busy.influx");
    let influx = otel_exporters::InfluxExporter::new().endpoint(lines_file.to_str().unwrap_or_default()).interval(Duration::from_millis(5));
    let telemetry =
        Arc::new(Telemetry::builder().env(Env::empty()).service_name("busy").exporter(textfile).exporter(influx).build().expect("build"));
    let counter = telemetry.meter("busy").u64_counter("rewrites").build();
    for i in 0..SERIES {
        counter.add(1, &[KeyValue::new("series", i as i64)]);
    }
    let path = writer.write_now().expect("first write");
    assert!(wait_for(Duration::from_secs(10), || lines_file.is_file().then_some(())).is_some());
    let (_node, target) = node_exporter(&dir);

    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (path, lines_file, done) = (path.clone(), lines_file.clone(), done.clone());
        std::thread::spawn(move || {
            let (mut reads, mut partial) = (0u64, Vec::new());
            while !done.load(Ordering::Relaxed) {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if !text.ends_with('\n') || lines_of(&text, "rewrites_total{") != SERIES {
                    partial.push(format!("textfile read {reads}: {} bytes", text.len()));
                }
                let lines = std::fs::read_to_string(&lines_file).unwrap_or_default();
                if !lines.ends_with('\n') || lines_of(&lines, "rewrites,") != SERIES {
                    partial.push(format!("line-protocol read {reads}: {} bytes", lines.len()));
                }
                reads += 1;
            }
            (reads, partial)
        })
    };
    let scrapes = {
        let (target, done) = (target.clone(), done.clone());
        std::thread::spawn(move || {
            let (mut scrapes, mut bad) = (0u64, Vec::new());
            while !done.load(Ordering::Relaxed) {
                let (_, body) = otel_tests::http_get(&format!("http://{target}/metrics")).expect("node_exporter answers");
                if !body.contains("node_textfile_scrape_error 0") || lines_of(&body, "rewrites_total{") != SERIES {
                    bad.push(body.lines().filter(|l| l.contains("textfile")).collect::<Vec<_>>().join("\n"));
                }
                scrapes += 1;
            }
            (scrapes, bad)
        })
    };
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (writer, telemetry) = (writer.clone(), telemetry.clone());
            std::thread::spawn(move || {
                let mut errors = Vec::new();
                for i in 0..300 {
                    if let Err(e) = writer.write_now() {
                        errors.push(e.to_string());
                    }
                    if i % 3 == 0 {
                        if let Err(e) = telemetry.force_flush() {
                            errors.push(e.to_string());
                        }
                    }
                }
                errors
            })
        })
        .collect();
    let errors: Vec<String> = threads.into_iter().flat_map(|t| t.join().expect("writer thread")).collect();
    done.store(true, Ordering::Relaxed);
    let (reads, partial) = reader.join().expect("reader");
    let (scrapes, bad) = scrapes.join().expect("scraper");
    assert!(errors.is_empty(), "{} write errors, first: {:?}", errors.len(), errors.first());
    assert!(partial.is_empty(), "{} partial reads of {reads}: {:?}", partial.len(), &partial[..partial.len().min(5)]);
    assert!(bad.is_empty(), "{} bad node_exporter scrapes of {scrapes}: {:?}", bad.len(), bad.first());
    assert!(reads > 100 && scrapes > 10, "only {reads} reads and {scrapes} scrapes overlapped the writes");
    println!("4 threads x 300 writes + 100 flushes each: {reads} reads, {scrapes} node_exporter scrapes, 0 partial, 0 errors");
    // Nothing left behind once the writers stopped (their 5 ms intervals would otherwise be
    // caught mid-write): every temporary file was renamed or removed.
    telemetry.shutdown().expect("shutdown");
    let leftovers: Vec<_> =
        std::fs::read_dir(&dir).expect("dir").flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(telemetry);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failing_write_is_counted_and_leaves_the_previous_file() {
    let dir = scratch_dir("textfile-fail");
    let textfile = TextfileExporter::new().directory(&dir).file_name("fail").interval(Duration::from_secs(3600));
    let writer = textfile.writer();
    let prometheus = PrometheusExporter::new().without_server();
    let scraper = prometheus.scraper();
    let telemetry =
        Telemetry::builder().env(Env::empty()).service_name("fail").exporter(textfile).exporter(prometheus).build().expect("build");
    telemetry.meter("fail").u64_counter("kept").build().add(1, &[]);
    let path = writer.write_now().expect("first write");
    let before = std::fs::read_to_string(&path).expect("read");
    // The temporary files' names taken by directories: the next writes cannot happen.
    // (Each write has its own temporary file: these are the second and third writes'.)
    for write in [1, 2] {
        let blocker = dir.join(format!(".fail.prom.{}.{write}.tmp", std::process::id()));
        std::fs::create_dir_all(blocker.join("inside")).expect("block");
    }
    telemetry.meter("fail").u64_counter("kept").build().add(1, &[]);
    assert!(writer.write_now().is_err());
    let err = telemetry.force_flush().expect_err("a failed textfile write is an error").to_string();
    assert!(err.starts_with("textfile: cannot write"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), before, "the previous file changed");
    let text = scraper.scrape_text().expect("scrape");
    let failed = text
        .lines()
        .find(|l| l.starts_with("otel_pipeline_export_failed_total{") && l.contains("reason=\"textfile_write\""))
        .unwrap_or_else(|| panic!("no textfile_write count:\n{text}"));
    assert!(failed.ends_with(" 1"), "{failed}");
}

#[test]
fn build_errors_name_the_directory_and_the_environment_selects_the_exporter() {
    let err = Telemetry::builder()
        .env(Env::from_pairs([("OTEL_METRICS_EXPORTER", "textfile"), ("OTEL_EXPORTER_TEXTFILE_DIRECTORY", "/no/such/dir")]))
        .exporter(otel_exporters::from_env())
        .build()
        .expect_err("a missing directory");
    assert!(err.to_string().contains("/no/such/dir"), "{err}");
    let err = Telemetry::builder()
        .env(Env::from_pairs([("OTEL_METRICS_EXPORTER", "textfile")]))
        .exporter(otel_exporters::from_env())
        .build()
        .expect_err("no directory");
    assert!(err.to_string().contains("OTEL_EXPORTER_TEXTFILE_DIRECTORY"), "{err}");

    let dir = scratch_dir("textfile-env");
    let env = Env::from_pairs([
        ("OTEL_METRICS_EXPORTER", "textfile"),
        ("OTEL_EXPORTER_TEXTFILE_DIRECTORY", dir.to_str().unwrap_or_default()),
        ("OTEL_EXPORTER_TEXTFILE_INTERVAL", "100"),
        ("OTEL_EXPORTER_TEXTFILE_NAME", "from-env"),
    ]);
    let telemetry = Telemetry::builder().env(env).service_name("env").exporter(otel_exporters::from_env()).build().expect("build");
    telemetry.meter("env").u64_counter("configured").build().add(7, &[]);
    let file = dir.join("from-env.prom");
    let written = wait_for(Duration::from_secs(10), || std::fs::read_to_string(&file).ok().filter(|t| t.contains("configured_total")));
    assert!(written.is_some_and(|t| t.lines().any(|l| l.starts_with("configured_total{") && l.ends_with(" 7"))));
    assert_eq!(telemetry.endpoints(), [file.display().to_string()]);
}
