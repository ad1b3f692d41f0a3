//! The recording API end to end: catalog, facade, handles, guards, quantile timers, caps,
//! the enable switch and snapshots, checked through snapshots and a parsed Prometheus scrape.

use std::sync::Arc;
use std::thread;

use opentelemetry::KeyValue;
use otel_core::{buckets, Catalog, MetricDef, Telemetry};
use otel_exporters::{PrometheusExporter, Scraper};
use otel_tests::{empty_env, promtool_check_metrics};

fn catalog() -> Catalog {
    Catalog::new()
        .with([
            MetricDef::counter("request_count").description("Total requests").labels(["endpoint", "method", "status"]),
            MetricDef::counter("error_count").description("Total errors").labels(["error_type", "endpoint", "function"]),
            MetricDef::histogram("request_duration")
                .unit("s")
                .description("Request duration")
                .labels(["endpoint", "method"])
                .buckets(&buckets::REQUEST_DURATION),
            MetricDef::histogram("token_usage")
                .description("Tokens per request")
                .labels(["model_id", "token_type"])
                .buckets(&buckets::TOKEN_USAGE),
            MetricDef::histogram("db.query.duration").unit("s").description("DB query time").labels(["operation", "table"]),
            MetricDef::gauge("active_requests").description("Active requests").labels(["endpoint"]),
            MetricDef::up_down_counter("queue_size").description("Queue size").labels(["queue_name"]),
            MetricDef::quantile_timer("task.poll.time").description("Task poll latency").labels(["taskType", "status"]),
            MetricDef::counter("user.hits").description("Capped").labels(["user"]).cardinality_limit(3),
        ])
        .expect("catalog")
}

fn pipeline() -> (Telemetry, Scraper) {
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let telemetry =
        Telemetry::builder().env(empty_env()).service_name("recording").catalog(catalog()).exporter(exporter).build().expect("build");
    (telemetry, scraper)
}

fn kv(k: &'static str, v: &'static str) -> KeyValue {
    KeyValue::new(k, v)
}

/// The value of the sample `name` whose labels are exactly `labels` (in any order).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (sample_name, rest) = series.split_once('{').unwrap_or((series, "}"));
        if sample_name != name {
            return None;
        }
        let mut found: Vec<String> =
            rest.trim_end_matches('}').split("\",").filter(|p| !p.is_empty()).map(|p| p.trim_end_matches('"').to_owned()).collect();
        let mut wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}")).collect();
        found.sort();
        wanted.sort();
        (found == wanted).then(|| value.parse().ok()).flatten()
    })
}

#[test]
fn many_threads_through_every_path_give_exact_totals() {
    let (telemetry, scraper) = pipeline();
    let metrics = telemetry.metrics();
    let handle = metrics.counter("request_count").expect("declared");
    let labels = [kv("endpoint", "/q"), kv("method", "GET"), kv("status", "200")];
    let bound = Arc::new(handle.bind(&labels).expect("allowed labels"));
    let (threads, per_thread) = (8, 10_000u64);
    thread::scope(|s| {
        for _ in 0..threads {
            let (metrics, handle, bound) = (metrics.clone(), handle.clone(), bound.clone());
            let labels = labels.clone();
            s.spawn(move || {
                for _ in 0..per_thread {
                    metrics.increment_counter("request_count", 1, &labels);
                    handle.add(1, &labels);
                    bound.add(1);
                    let _active = metrics.track_active("active_requests", &[kv("endpoint", "/q")]);
                    let _timer = metrics.track_duration("request_duration", &[kv("endpoint", "/q"), kv("method", "GET")]);
                }
            });
        }
    });
    let snapshot = telemetry.snapshot();
    let expected = (threads * 3) as f64 * per_thread as f64;
    assert_eq!(snapshot.value("request_count", &[("endpoint", "/q"), ("method", "GET"), ("status", "200")]), Some(expected));
    assert_eq!(snapshot.value("active_requests", &[("endpoint", "/q")]), Some(0.0));
    let durations = snapshot.histogram("request_duration", &[("endpoint", "/q"), ("method", "GET")]).expect("histogram");
    assert_eq!(durations.count, threads as u64 * per_thread);
    let text = scraper.scrape_text().expect("scrape");
    let scraped =
        sample(&text, "request_count_total", &[("endpoint", "/q"), ("method", "GET"), ("otel_scope_name", "app"), ("status", "200")]);
    assert_eq!(scraped, Some(expected), "{text}");
}

#[test]
fn guards_record_on_every_way_out() {
    let (telemetry, _) = pipeline();
    let metrics = telemetry.metrics();
    let labels = [kv("operation", "select"), kv("table", "users")];

    fn early_return(m: &otel_core::Metrics, labels: &[KeyValue], stop: bool) -> u32 {
        let _t = m.track_duration("db.query.duration", labels);
        if stop {
            return 1;
        }
        2
    }
    fn question_mark(m: &otel_core::Metrics, labels: &[KeyValue]) -> Result<u32, std::num::ParseIntError> {
        let _t = m.track_duration("db.query.duration", labels);
        let n: u32 = "not a number".parse()?;
        Ok(n)
    }
    early_return(&metrics, &labels, true);
    assert!(question_mark(&metrics, &labels).is_err());
    let m = metrics.clone();
    let l = labels.to_vec();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _t = m.track_duration("db.query.duration", &l);
        panic!("boom");
    }));
    assert!(panicked.is_err());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    runtime.block_on(async {
        let m = metrics.clone();
        let l = labels.to_vec();
        let slow = async move {
            let _t = m.track_duration("db.query.duration", &l);
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        };
        // The future is dropped at the timeout, and its guard with it.
        assert!(tokio::time::timeout(std::time::Duration::from_millis(10), slow).await.is_err());
    });
    let h = telemetry.snapshot().histogram("db.query.duration", &[("operation", "select"), ("table", "users")]).cloned().expect("recorded");
    assert_eq!(h.count, 4, "early return, ?, panic and a dropped future each record once");
}

#[test]
fn outcome_guards_label_status_and_error_type_and_feed_the_operations_view() {
    let (telemetry, scraper) = pipeline();
    let metrics = telemetry.metrics();
    metrics.operation("sync").success();
    metrics.operation("sync").failure("TimeoutError");
    metrics.operation("sync").result(&"x".parse::<u8>());
    drop(metrics.operation("sync"));
    let ops = telemetry.snapshot().operations;
    assert_eq!((ops.total_executions, ops.successful_executions, ops.failed_executions), (4, 1, 3));
    assert!((ops.success_rate - 0.25).abs() < 1e-12);
    let text = scraper.scrape_text().expect("scrape");
    for expected in ["status=\"success\"", "error_type=\"TimeoutError\"", "error_type=\"ParseIntError\"", "error_type=\"unfinished\""] {
        assert!(text.contains(expected), "missing {expected}:\n{text}");
    }
    telemetry.reset_snapshot();
    assert_eq!(telemetry.snapshot().operations.total_executions, 0);
}

#[test]
fn undeclared_names_bad_labels_and_nan_are_dropped_counted_and_never_panic() {
    let (telemetry, scraper) = pipeline();
    let metrics = telemetry.metrics();
    metrics.increment_counter("no_such_metric", 1, &[]);
    metrics.increment_counter("request_count", 1, &[kv("user_id", "u-123")]);
    metrics.record_histogram("request_duration", f64::NAN, &[]);
    metrics.set_gauge("request_count", 1.0, &[]);
    let text = scraper.scrape_text().expect("scrape");
    for reason in ["undeclared_metric", "label_not_allowed", "not_finite", "wrong_kind"] {
        let dropped = sample(&text, "otel_pipeline_recording_dropped_total", &[("otel_scope_name", "otel-pipeline"), ("reason", reason)]);
        assert_eq!(dropped, Some(1.0), "{reason}:\n{text}");
    }
    assert!(!text.contains("user_id"), "{text}");
    assert!(metrics.counter("no_such_metric").is_err());
    assert!(metrics.counter("request_count").expect("declared").bind(&[kv("user_id", "x")]).is_err());
}

#[test]
fn quantile_timers_reproduce_the_worker_sdk_metric_set() {
    let (telemetry, scraper) = pipeline();
    let metrics = telemetry.metrics();
    let labels = [kv("taskType", "myTask"), kv("status", "SUCCESS")];
    for ms in 1..=100 {
        metrics.record_histogram("task.poll.time", f64::from(ms) / 1000.0, &labels);
    }
    let text = scraper.scrape_text().expect("scrape");
    let series = [("otel_scope_name", "app"), ("status", "SUCCESS"), ("taskType", "myTask")];
    let with = |q: &'static str| [series[0], series[1], series[2], ("quantile", q)];
    assert_eq!(sample(&text, "task_poll_time_seconds", &with("0.5")), Some(0.05), "{text}");
    assert_eq!(sample(&text, "task_poll_time_seconds", &with("0.99")), Some(0.099), "{text}");
    assert_eq!(sample(&text, "task_poll_time_seconds_count", &series), Some(100.0), "{text}");
    let sum = sample(&text, "task_poll_time_seconds_sum", &series).expect("sum");
    assert!((sum - 5.05).abs() < 1e-9, "{text}");
    let (_, report) = promtool_check_metrics(text.as_bytes());
    assert!(!report.contains("error while linting"), "{report}");
    // One summary family: the count and sum only go up, so they are no gauges; promtool has
    // nothing to say about the quantile label or the suffixes.
    assert!(text.contains("# TYPE task_poll_time_seconds summary\n"), "{text}");
    assert!(!text.contains("# TYPE task_poll_time_seconds_count") && !text.contains("# TYPE task_poll_time_seconds_sum"), "{text}");
    assert!(!report.contains("quantile") && !report.contains("_count") && !report.contains("_sum"), "{report}");
    let om = scraper.scrape(otel_exporters::Format::OpenMetrics).expect("openmetrics");
    let (ok, parsed) = otel_tests::python_parse("openmetrics", &om);
    assert!(ok, "{parsed}\n{}", String::from_utf8_lossy(&om));
}

#[test]
fn histograms_get_declared_or_unit_default_buckets() {
    let (telemetry, scraper) = pipeline();
    let metrics = telemetry.metrics();
    metrics.record_histogram("token_usage", 1200.0, &[kv("model_id", "claude-3"), kv("token_type", "input")]);
    metrics.record_histogram("db.query.duration", 0.003, &[kv("operation", "select"), kv("table", "t")]);
    let text = scraper.scrape_text().expect("scrape");
    let tokens = [("model_id", "claude-3"), ("otel_scope_name", "app"), ("token_type", "input"), ("le", "50000")];
    assert_eq!(sample(&text, "token_usage_bucket", &tokens), Some(1.0), "{text}");
    let query = [("operation", "select"), ("otel_scope_name", "app"), ("table", "t"), ("le", "0.005")];
    assert_eq!(sample(&text, "db_query_duration_seconds_bucket", &query), Some(1.0), "{text}");
    // The unit default (14 semantic-convention bounds + `+Inf`), not the SDK's 0…10000.
    assert_eq!(text.lines().filter(|l| l.starts_with("db_query_duration_seconds_bucket{")).count(), 15, "{text}");
}

#[test]
fn raw_meter_histograms_get_their_units_default_buckets_unless_they_give_their_own() {
    let (telemetry, scraper) = pipeline();
    let meter = telemetry.meter("raw");
    // (unit, value, the bucket it must land in alone, buckets + `+Inf`)
    let cases = [("s", 0.3, "0.5", 15), ("ms", 300.0, "500", 15), ("us", 300.0, "5000", 15), ("By", 3000.0, "4096", 14)];
    for (unit, value, bucket, buckets) in cases {
        let name = format!("raw.{}", unit.to_lowercase());
        meter.f64_histogram(name.clone()).with_unit(unit).build().record(value, &[]);
        let family = match unit {
            "s" => "raw_s_seconds",
            "ms" => "raw_ms_milliseconds",
            "us" => "raw_us_microseconds",
            _ => "raw_by_bytes",
        };
        let text = scraper.scrape_text().expect("scrape");
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(&format!("{family}_bucket{{"))).collect();
        assert_eq!(lines.len(), buckets, "{unit}: {lines:#?}");
        let first = lines.iter().find(|l| !l.ends_with(" 0")).copied().unwrap_or_default();
        assert!(first.contains(&format!("le=\"{bucket}\"")), "{unit}: {value} landed in {first}");
    }
    // Its own boundaries win; a unit without defaults keeps the SDK's.
    meter.f64_histogram("raw.own").with_unit("s").with_boundaries(vec![1.0, 2.0]).build().record(0.3, &[]);
    meter.f64_histogram("raw.other").with_unit("{item}").build().record(3.0, &[]);
    let text = scraper.scrape_text().expect("scrape");
    assert_eq!(text.lines().filter(|l| l.starts_with("raw_own_seconds_bucket{")).count(), 3, "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("raw_other_bucket{")).count(), 16, "{text}");
}

#[test]
fn cardinality_caps_fold_extra_series_into_the_overflow_series() {
    let (telemetry, scraper) = pipeline();
    let metrics = telemetry.metrics();
    for user in ["a", "b", "c", "d", "e", "f"] {
        metrics.increment_counter("user.hits", 1, &[KeyValue::new("user", user)]);
    }
    let text = scraper.scrape_text().expect("scrape");
    let per_user = text.lines().filter(|l| l.starts_with("user_hits_total{") && l.contains("user=")).count();
    assert_eq!(per_user, 3, "{text}");
    let overflow = sample(&text, "user_hits_total", &[("otel_scope_name", "app"), ("otel_metric_overflow", "true")]);
    assert_eq!(overflow, Some(3.0), "{text}");
}

#[test]
fn the_enable_switch_turns_every_path_off_and_on() {
    let (telemetry, _) = pipeline();
    let metrics = telemetry.metrics();
    let labels = [kv("endpoint", "/q"), kv("method", "GET"), kv("status", "200")];
    let bound = metrics.counter("request_count").expect("declared").bind(&labels).expect("bind");
    metrics.set_enabled(false);
    metrics.increment_counter("request_count", 1, &labels);
    bound.add(1);
    drop(metrics.track_duration("request_duration", &[kv("endpoint", "/q"), kv("method", "GET")]));
    // Binding creates the series at 0; nothing was added while off.
    let while_off = telemetry.snapshot().value("request_count", &[("endpoint", "/q"), ("method", "GET"), ("status", "200")]);
    assert_eq!(while_off.unwrap_or(0.0), 0.0);
    assert!(telemetry.snapshot().histogram("request_duration", &[("endpoint", "/q"), ("method", "GET")]).is_none());
    metrics.set_enabled(true);
    bound.add(2);
    assert_eq!(telemetry.snapshot().value("request_count", &[("endpoint", "/q"), ("method", "GET"), ("status", "200")]), Some(2.0));
}

#[test]
fn snapshots_work_without_exporters_serialise_and_reset() {
    let telemetry = Telemetry::builder().env(empty_env()).catalog(catalog()).build().expect("build");
    let metrics = telemetry.metrics();
    let labels = [kv("endpoint", "/q"), kv("method", "POST"), kv("status", "200")];
    metrics.increment_counter("request_count", 5, &labels);
    metrics.increment_gauge("queue_size", 3.0, &[kv("queue_name", "q")]);
    // An up-down counter can be moved, not set: the set is dropped, the value stays.
    metrics.set_gauge("queue_size", 100.0, &[kv("queue_name", "q")]);
    assert_eq!(telemetry.snapshot().value("queue_size", &[("queue_name", "q")]), Some(3.0));
    let json: serde_json::Value = serde_json::from_str(&telemetry.snapshot().to_json()).expect("valid JSON");
    let uptime = json["uptime_seconds"].as_f64().expect("uptime");
    assert!(uptime > 0.0 && uptime < 600.0, "the time since the pipeline was built: {uptime}");
    assert!(json["series"].as_array().expect("series").iter().any(|s| s["name"] == "request_count" && s["value"] == 5.0), "{json}");
    telemetry.reset_snapshot();
    metrics.increment_counter("request_count", 2, &labels);
    assert_eq!(telemetry.snapshot().value("request_count", &[("endpoint", "/q"), ("method", "POST"), ("status", "200")]), Some(2.0));
}

#[test]
fn up_down_counters_keep_fractional_moves_and_report_a_series_back_at_zero() {
    let (telemetry, scraper) = pipeline();
    let metrics = telemetry.metrics();
    let q = [kv("queue_name", "q")];
    metrics.increment_gauge("queue_size", 0.5, &q);
    metrics.increment_gauge("queue_size", 0.25, &q);
    let text = scraper.scrape_text().expect("scrape");
    assert_eq!(sample(&text, "queue_size", &[("otel_scope_name", "app"), ("queue_name", "q")]), Some(0.75), "a move of 0.5 counts: {text}");
    metrics.decrement_gauge("queue_size", 0.75, &q);
    let text = scraper.scrape_text().expect("scrape");
    assert_eq!(
        sample(&text, "queue_size", &[("otel_scope_name", "app"), ("queue_name", "q")]),
        Some(0.0),
        "back at zero, still reported: {text}"
    );
}

#[test]
fn counters_saturate_at_their_largest_value_instead_of_wrapping_and_count_it() {
    let (telemetry, scraper) = pipeline();
    let metrics = telemetry.metrics();
    let labels = [kv("endpoint", "/q"), kv("method", "GET"), kv("status", "200")];
    metrics.increment_counter("request_count", u64::MAX, &labels);
    metrics.increment_counter("request_count", u64::MAX, &labels);
    let bound = metrics.counter("request_count").expect("declared").bind(&labels).expect("bind");
    bound.add(5);
    metrics.increment_gauge("queue_size", 9.2e18, &[kv("queue_name", "q")]);
    metrics.increment_gauge("queue_size", 9.2e18, &[kv("queue_name", "q")]);
    scraper.scrape_text().expect("scrape");
    let text = scraper.scrape_text().expect("scrape");
    let total =
        sample(&text, "request_count_total", &[("otel_scope_name", "app"), ("endpoint", "/q"), ("method", "GET"), ("status", "200")]);
    assert_eq!(total, Some(u64::MAX as f64), "{text}");
    // An up-down counter's total is an f64: past the i64 range it goes on, exact to f64 precision.
    assert_eq!(sample(&text, "queue_size", &[("otel_scope_name", "app"), ("queue_name", "q")]), Some(1.84e19), "{text}");
    let saturated =
        sample(&text, "otel_pipeline_recording_saturated_total", &[("otel_scope_name", "otel-pipeline"), ("reason", "counter_overflow")]);
    assert_eq!(saturated, Some(2.0), "{text}");
}

#[test]
fn the_winner_of_a_name_clash_is_the_same_whatever_the_order_of_creation() {
    // `x.y` (a counter: `x_y_total`, OpenMetrics family `x_y`) and `x_y` (an up-down counter: the
    // gauge `x_y`) claim the same name: the OTel name that sorts first (`x.y`) is kept, in every
    // run and whichever instrument was created first.
    for first_dotted in [true, false, true, false, true, false] {
        let exporter = PrometheusExporter::new().without_server();
        let scraper = exporter.scraper();
        let telemetry = Telemetry::builder().env(empty_env()).exporter(exporter).build().expect("build");
        let (a, b) = (telemetry.meter("scope-a"), telemetry.meter("scope-b"));
        let dotted = || a.u64_counter("x.y").with_description("dotted").build().add(1, &[]);
        let plain = || b.i64_up_down_counter("x_y").with_description("plain").build().add(2, &[]);
        if first_dotted {
            dotted();
            plain();
        } else {
            plain();
            dotted();
        }
        let text = scraper.scrape_text().expect("scrape");
        assert!(text.contains("# HELP x_y_total dotted\n") && text.contains("x_y_total{otel_scope_name=\"scope-a\"} 1\n"), "{text}");
        assert!(!text.contains("plain"), "{text}");
    }
}

#[test]
fn instruments_the_sdk_refuses_are_reported_and_every_recording_counted() {
    let log = otel_tests::CapturedLog::default();
    let _guard = tracing::subscriber::set_default(log.subscriber());
    let (telemetry, scraper) = pipeline();
    let meter = telemetry.meter("refusals");
    let long = "a".repeat(256);
    let bad_names = ["", "9lives", "café.orders", "with space", "colon:name", "brace{x}", long.as_str()];
    let mut expected = 0.0;
    for name in bad_names {
        let name = name.to_owned();
        meter.u64_counter(name.clone()).build().add(1, &[kv("k", "v")]);
        meter.f64_counter(name.clone()).build().add(1.0, &[]);
        meter.i64_up_down_counter(name.clone()).build().add(-1, &[]);
        meter.f64_gauge(name.clone()).build().record(1.0, &[]);
        meter.f64_histogram(name.clone()).build().record(1.0, &[]);
        meter.u64_counter(name.clone()).build().bind(&[kv("k", "v")]).add(1);
        let _observed = meter.u64_observable_gauge(name.clone()).with_callback(|o| o.observe(1, &[])).build();
        expected += 6.0;
    }
    // A valid name with a unit or buckets the SDK refuses.
    meter.f64_histogram("unit.too.odd").with_unit("µs").build().record(1.0, &[]);
    meter.f64_histogram("bounds.unsorted").with_boundaries(vec![1.0, 0.5]).build().record(1.0, &[]);
    expected += 2.0;
    // Valid instruments beside them still record.
    meter.u64_counter("still.works").build().add(3, &[]);
    let text = scraper.scrape_text().expect("scrape");
    let dropped = [("otel_scope_name", "otel-pipeline"), ("reason", "instrument_refused")];
    assert_eq!(sample(&text, "otel_pipeline_recording_dropped_total", &dropped), Some(expected), "{text}");
    assert_eq!(sample(&text, "still_works_total", &[("otel_scope_name", "refusals")]), Some(3.0), "{text}");
    let (clean, problems) = promtool_check_metrics(text.as_bytes());
    assert!(clean, "{problems}");
    // Reported once per instrument, naming it and the rule it breaks.
    let logged = log.text();
    assert!(logged.contains("\"café.orders\"") && logged.contains("only ASCII letters"), "{logged}");
    assert!(logged.contains("\"unit.too.odd\"") && logged.contains("must be ASCII"), "{logged}");
    assert_eq!(logged.matches("\"9lives\"").count(), 1, "{logged}");

    // The catalog refuses them where it is built.
    for name in bad_names {
        let err = Catalog::new().with([MetricDef::counter(name)]).expect_err(name).to_string();
        assert!(err.contains("cannot be an OpenTelemetry instrument"), "{err}");
    }
    let err = Catalog::new().with([MetricDef::histogram("x").buckets(&[2.0, 1.0])]).expect_err("unsorted").to_string();
    assert!(err.contains("strictly increasing"), "{err}");
}
