//! The Pushgateway exporter against Pushgateway 1.5, scraped by Prometheus 2.42 with
//! `honor_labels: true`: exact values per grouping key, PUT replaces and POST merges, the group
//! deleted at shutdown, a rejected push reported with Pushgateway's own message, grouping values
//! of every kind each in their own group, and a Pushgateway that is down or redirects making
//! `force_flush` and `shutdown` fail (and counting what was lost).

use std::time::Duration;

use opentelemetry::KeyValue;
use otel_core::{Env, Telemetry};
use otel_exporters::{PrometheusExporter, PushMethod, PushgatewayExporter, RetryPolicy};
use otel_tests::{free_port, http_get, pushgateway, wait_for, Prometheus};

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

#[test]
fn a_rejected_push_is_counted_and_logged_with_the_pushgateways_message() {
    let (_pg, base) = pushgateway();
    // One group has `clash_total` as a counter...
    push(PushgatewayExporter::new().endpoint(base.clone()).job("first"), &[("clash", 1)]);
    // ...another pushes it as a gauge: Pushgateway refuses the inconsistent type.
    let log = otel_tests::CapturedLog::default();
    let _guard = tracing::subscriber::set_default(log.subscriber());
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
    let err = telemetry.force_flush().expect_err("a rejected push is an error").to_string();
    assert!(err.starts_with("pushgateway: PUT") && err.contains("HTTP 400") && !err.contains("s3cret"), "{err}");
    let text = scraper.scrape_text().expect("scrape");
    let failed = text.lines().find(|l| l.starts_with("otel_pipeline_export_failed_total{") && l.contains("reason=\"rejected\""));
    assert!(failed.is_some_and(|l| l.ends_with(" 1")), "{text}");
    let logged = log.text();
    assert!(logged.contains("HTTP 400") && logged.contains("clash_total"), "{logged}");
    assert!(!logged.contains("s3cret") && logged.contains("<redacted>@127.0.0.1"), "{logged}");
}

/// Every group Pushgateway holds, as its label sets.
fn groups(base: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let (_, body) = http_get(&format!("{base}/api/v1/metrics")).expect("Pushgateway's API");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    json["data"]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .map(|g| {
                    g["labels"]
                        .as_object()
                        .map(|labels| labels.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_kind_of_grouping_value_lands_in_its_own_group() {
    let (_pg, base) = pushgateway();
    // Values URL normalisers rewrite (dot segments), URL syntax, escapes, spaces, non-ASCII,
    // Pushgateway's own markers, and plain ones.
    let values = [
        ".",
        "..",
        "...",
        "./x",
        "../x",
        "a/../b",
        "/",
        "//",
        "a/b",
        "",
        " ",
        "a b",
        "%",
        "%2F",
        "%2e%2e",
        "a%20b",
        "?",
        "a?b=c",
        "#",
        "a#b",
        "@base64",
        "x@base64",
        "=",
        "+",
        "~",
        ";",
        "a;b",
        "\\",
        "\"",
        "'",
        "<>",
        "ü",
        "日本",
        "😀",
        "-",
        "_",
        "plain",
        "A-z_09",
        "\u{7f}",
        "tab\there",
        "line\nbreak",
        &"long".repeat(100),
    ];
    let (mut pushed, mut lost) = (0, Vec::new());
    for (i, value) in values.iter().enumerate() {
        let job = format!("job{i}");
        let exporter = PushgatewayExporter::new()
            .endpoint(base.clone())
            .job(job.clone())
            .grouping_label("value", *value)
            .retry_policy(RetryPolicy::disabled());
        let telemetry = Telemetry::builder().env(Env::empty()).service_name("grouping").exporter(exporter).build().expect("build");
        telemetry.meter("grouping").u64_counter("pushed").build().add(1, &[]);
        match telemetry.shutdown() {
            Ok(()) => pushed += 1,
            Err(e) => lost.push(format!("{value:?}: {e}")),
        }
    }
    assert!(lost.is_empty(), "pushes failed: {lost:#?}");
    let held = groups(&base);
    let mut missing = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let job = format!("job{i}");
        let found = held.iter().filter(|g| g.get("job") == Some(&job)).collect::<Vec<_>>();
        let exact = found.len() == 1 && found[0].get("value").map(String::as_str).unwrap_or_default() == *value;
        if !exact {
            missing.push(format!("{value:?} -> {found:?}"));
        }
    }
    assert!(missing.is_empty(), "grouping values not in their own group: {missing:#?}");
    // Job names are values too.
    for job in [".", "..", "a/b", "ü b"] {
        let exporter = PushgatewayExporter::new().endpoint(base.clone()).job(job).retry_policy(RetryPolicy::disabled());
        let telemetry = Telemetry::builder().env(Env::empty()).service_name("grouping").exporter(exporter).build().expect("build");
        telemetry.shutdown().unwrap_or_else(|e| panic!("job {job:?}: {e}"));
        assert!(groups(&base).iter().any(|g| g.get("job").map(String::as_str) == Some(job)), "job {job:?}");
    }
    println!("{pushed} of {} grouping values delivered, each to its own group", values.len());
}

/// A listener that answers every request with a redirect.
fn redirecting_server() -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buffer = [0u8; 65536];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(b"HTTP/1.1 301 Moved Permanently\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    format!("http://{address}")
}

#[test]
fn a_pushgateway_that_is_down_or_redirects_fails_flush_and_shutdown_and_the_loss_is_counted() {
    for (endpoint, expected) in [(format!("http://127.0.0.1:{}", free_port()), "Connection refused"), (redirecting_server(), "HTTP 301")] {
        let prometheus = PrometheusExporter::new().without_server();
        let scraper = prometheus.scraper();
        let pusher = PushgatewayExporter::new().endpoint(endpoint.clone()).job("lost").retry_policy(RetryPolicy::disabled());
        let telemetry =
            Telemetry::builder().env(Env::empty()).service_name("lost").exporter(pusher).exporter(prometheus).build().expect("build");
        telemetry.meter("lost").u64_counter("items").build().add(3, &[]);
        let err = telemetry.force_flush().expect_err("the push failed").to_string();
        assert!(err.starts_with("pushgateway: PUT") && err.contains(expected), "{endpoint}: {err}");
        let text = scraper.scrape_text().expect("scrape");
        let lost = text
            .lines()
            .filter(|l| l.starts_with("otel_sdk_exporter_metric_data_point_exported_total{") && l.contains("error_type="))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
        assert!(lost >= 1.0, "lost data points not counted:\n{text}");
        let err = telemetry.shutdown().expect_err("the final push failed").to_string();
        assert!(err.contains("pushgateway: PUT") && err.contains(expected), "{endpoint}: {err}");
    }
}

#[test]
fn the_final_push_works_when_shutdown_is_called_from_async_code_on_either_runtime_flavour() {
    let (_pg, base) = pushgateway();
    let runtimes = [
        ("multi-thread", tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime")),
        ("current-thread", tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")),
    ];
    for (flavour, runtime) in runtimes {
        let job = format!("async-{flavour}");
        runtime.block_on(async {
            let exporter = PushgatewayExporter::new().endpoint(base.clone()).job(job.clone());
            let telemetry = Telemetry::builder().env(Env::empty()).service_name("async").exporter(exporter).build().expect("build");
            telemetry.meter("async").u64_counter("pushed").build().add(1, &[]);
            telemetry.shutdown().expect("shutdown pushes from inside a runtime");
        });
        assert!(group_metrics(&base).contains(&format!("job=\"{job}\"")), "{flavour}: {}", group_metrics(&base));
    }
}
