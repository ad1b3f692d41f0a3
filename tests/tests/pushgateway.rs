//! The Pushgateway exporter against Pushgateway 1.5, scraped by Prometheus 2.42 with
//! `honor_labels: true`: exact values per grouping key, PUT replaces and POST merges, the group
//! deleted at shutdown, and a rejected push reported with Pushgateway's own message.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::KeyValue;
use otel_core::{Env, Telemetry};
use otel_exporters::{PrometheusExporter, PushMethod, PushgatewayExporter, RetryPolicy};
use otel_tests::{free_port, http_get, program, scratch_dir, wait_for, Process, Prometheus};

fn pushgateway() -> (Process, String) {
    let port = free_port();
    let mut command = Command::new(program("prometheus-pushgateway"));
    command.arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let mut process = Process::start("pushgateway", command, scratch_dir("pushgateway").join("pushgateway.log"));
    let base = format!("http://127.0.0.1:{port}");
    process.wait_ready(&format!("{base}/-/ready"));
    (process, base)
}

/// Records `metrics` (name, value) as counters and shuts down, which pushes.
fn push(exporter: PushgatewayExporter, metrics: &[(&'static str, u64)]) {
    let telemetry = Telemetry::builder().env(Env::empty()).service_name("batch").exporter(exporter).build().expect("build");
    let meter = telemetry.meter("batch");
    for (name, value) in metrics {
        meter.u64_counter(*name).build().add(*value, &[KeyValue::new("step", "load")]);
    }
    telemetry.shutdown().expect("shutdown pushes");
}

fn group_metrics(base: &str) -> String {
    http_get(&format!("{base}/metrics")).map(|(_, body)| body).unwrap_or_default()
}

#[test]
fn pushed_values_reach_prometheus_per_grouping_key_and_put_replaces_while_post_merges() {
    let (_pg, base) = pushgateway();
    let exporter = || PushgatewayExporter::new().endpoint(base.clone()).job("nightly").grouping_label("instance", "etl/host-1");
    push(exporter(), &[("items.loaded", 42), ("items.skipped", 3)]);
    let target = base.trim_start_matches("http://");
    let prometheus = Prometheus::start_with(&[target], "/metrics", "    honor_labels: true\n", &[]);
    assert_eq!(prometheus.value("items_loaded_total{job=\"nightly\",instance=\"etl/host-1\",step=\"load\"}"), 42.0);
    assert_eq!(prometheus.value("items_skipped_total{job=\"nightly\",instance=\"etl/host-1\"}"), 3.0);

    // PUT replaces the group: `items_skipped` is gone.
    push(exporter(), &[("items.loaded", 7)]);
    let replaced = wait_for(Duration::from_secs(10), || {
        let text = group_metrics(&base);
        (text.contains("items_loaded_total{") && !text.contains("items_skipped_total{")).then_some(text)
    });
    assert!(replaced.is_some(), "{}", group_metrics(&base));
    // POST merges: `items_failed` joins, `items_loaded` stays.
    push(exporter().method(PushMethod::Merge), &[("items.failed", 1)]);
    let text = group_metrics(&base);
    assert!(text.contains("items_failed_total{") && text.contains("items_loaded_total{"), "{text}");
    assert_eq!(
        wait_for(Duration::from_secs(20), || {
            let v = prometheus.value("items_loaded_total{job=\"nightly\"}");
            (v == 7.0).then_some(v)
        }),
        Some(7.0)
    );
}

#[test]
fn the_group_is_deleted_at_shutdown_when_asked() {
    let (_pg, base) = pushgateway();
    let env = Env::from_pairs([
        ("OTEL_METRICS_EXPORTER", "pushgateway"),
        ("OTEL_EXPORTER_PUSHGATEWAY_ENDPOINT", base.as_str()),
        ("OTEL_EXPORTER_PUSHGATEWAY_JOB", "short-lived"),
        ("OTEL_EXPORTER_PUSHGATEWAY_INTERVAL", "100"),
        ("OTEL_EXPORTER_PUSHGATEWAY_DELETE_ON_SHUTDOWN", "true"),
    ]);
    let telemetry = Telemetry::builder().env(env).service_name("cron").exporter(otel_exporters::from_env()).build().expect("build");
    telemetry.meter("cron").u64_counter("runs").build().add(1, &[]);
    // The interval pushes while the job runs.
    let pushed = wait_for(Duration::from_secs(10), || group_metrics(&base).contains("job=\"short-lived\"").then_some(()));
    assert!(pushed.is_some(), "{}", group_metrics(&base));
    telemetry.shutdown().expect("shutdown");
    assert!(!group_metrics(&base).contains("job=\"short-lived\""), "{}", group_metrics(&base));
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_rejected_push_is_counted_and_logged_with_the_pushgateways_message() {
    let (_pg, base) = pushgateway();
    // One group has `clash_total` as a counter...
    push(PushgatewayExporter::new().endpoint(base.clone()).job("first"), &[("clash", 1)]);
    // ...another pushes it as a gauge: Pushgateway refuses the inconsistent type.
    let log = Log::default();
    let sink = log.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || sink.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let prometheus = PrometheusExporter::new().without_server();
    let scraper = prometheus.scraper();
    let pusher = PushgatewayExporter::new().endpoint(format!("http://user:s3cret@{}", base.trim_start_matches("http://"))).job("second");
    let telemetry = Telemetry::builder()
        .env(Env::empty())
        .service_name("second")
        .exporter(pusher.retry_policy(RetryPolicy::disabled()))
        .exporter(prometheus)
        .build()
        .expect("build");
    telemetry.meter("second").i64_up_down_counter("clash_total").build().add(5, &[]);
    telemetry.force_flush().expect("a rejected push is reported, not returned");
    let text = scraper.scrape_text().expect("scrape");
    let failed = text.lines().find(|l| l.starts_with("otel_pipeline_export_failed_total{") && l.contains("reason=\"rejected\""));
    assert!(failed.is_some_and(|l| l.ends_with(" 1")), "{text}");
    let logged = String::from_utf8_lossy(&log.0.lock().expect("lock")).into_owned();
    assert!(logged.contains("HTTP 400") && logged.contains("clash_total"), "{logged}");
    assert!(!logged.contains("s3cret") && logged.contains("<redacted>@127.0.0.1"), "{logged}");
}
