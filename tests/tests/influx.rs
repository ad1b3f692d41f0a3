//! The line-protocol exporter against VictoriaMetrics 1.79 (`/write`), queried with PromQL: the
//! names are a scrape's, the values exact, a histogram's quantile computable; and the file form.

use std::time::Duration;

use opentelemetry::KeyValue;
use otel_core::{Env, Telemetry};
use otel_exporters::InfluxExporter;
use otel_tests::{scratch_dir, wait_for, VictoriaMetrics};

#[test]
fn victoria_metrics_holds_the_scrape_names_with_exact_values_and_quantiles() {
    let vm = VictoriaMetrics::start();
    let exporter = InfluxExporter::new().endpoint(format!("{}/write", vm.base)).interval(Duration::from_millis(200));
    let telemetry = Telemetry::builder().env(Env::empty()).service_name("lines").exporter(exporter).build().expect("build");
    let meter = telemetry.meter("lines");
    meter.u64_counter("orders.placed").build().add(42, &[KeyValue::new("payment", "card")]);
    meter.f64_gauge("memory.used").with_unit("By").build().record(1.5e9, &[]);
    let latency = meter.f64_histogram("checkout.duration").with_unit("s").with_boundaries(vec![0.1, 0.2, 0.5, 1.0]).build();
    for _ in 0..50 {
        latency.record(0.15, &[]);
        latency.record(0.4, &[]);
    }
    assert_eq!(vm.value("orders_placed_total{payment=\"card\",otel_scope_name=\"lines\"}"), Some(42.0));
    assert_eq!(vm.value("memory_used_bytes"), Some(1.5e9));
    assert_eq!(vm.value("checkout_duration_seconds_count"), Some(100.0));
    let p90 = vm.value("histogram_quantile(0.9, sum by (le) (checkout_duration_seconds_bucket))").expect("p90");
    assert!((p90 - 0.44).abs() < 1e-9, "p90 = {p90}");
    telemetry.shutdown().expect("shutdown");
}

#[test]
fn the_file_form_is_selected_from_the_environment_and_written_whole() {
    let dir = scratch_dir("influx-file");
    let file = dir.join("metrics.lp");
    let env = Env::from_pairs([
        ("OTEL_METRICS_EXPORTER", "influx".to_owned()),
        ("OTEL_EXPORTER_INFLUX_ENDPOINT", file.display().to_string()),
        ("OTEL_EXPORTER_INFLUX_INTERVAL", "100".to_owned()),
    ]);
    let telemetry = Telemetry::builder().env(env).service_name("file").exporter(otel_exporters::from_env()).build().expect("build");
    telemetry.meter("file").u64_counter("jobs.done").build().add(3, &[KeyValue::new("queue", "a b")]);
    let text = wait_for(Duration::from_secs(10), || std::fs::read_to_string(&file).ok().filter(|t| t.contains("jobs_done")));
    let text = text.expect("the file is written");
    assert!(text.lines().any(|l| l == "jobs_done,otel_scope_name=file,queue=a\\ b total=3"), "{text}");
    let err = Telemetry::builder()
        .env(Env::from_pairs([("OTEL_METRICS_EXPORTER", "influx"), ("OTEL_EXPORTER_INFLUX_ENDPOINT", "/no/such/dir/metrics.lp")]))
        .exporter(otel_exporters::from_env())
        .build()
        .expect_err("a missing directory");
    assert!(err.to_string().contains("/no/such/dir"), "{err}");
}
