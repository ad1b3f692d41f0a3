//! The pull endpoint as a real Prometheus 2.42 and promtool see it.

use opentelemetry::KeyValue;
use otel_core::{Env, Telemetry};
use otel_exporters::PrometheusExporter;
use otel_tests::{empty_env, http_get, promtool_check_metrics, scrape_target, Prometheus};

fn pipeline() -> Telemetry {
    Telemetry::builder()
        .env(empty_env())
        .service_name("scrape-test")
        .exporter(PrometheusExporter::new().listen("127.0.0.1:0"))
        .build()
        .expect("build pipeline")
}

#[test]
fn prometheus_scrapes_exact_counter_values_and_histogram_quantiles() {
    let telemetry = pipeline();
    let meter = telemetry.meter("otel-tests");
    let orders = meter.u64_counter("orders.placed").with_description("Orders placed").build();
    orders.add(40, &[KeyValue::new("payment", "card")]);
    orders.add(2, &[KeyValue::new("payment", "card")]);
    orders.add(5, &[KeyValue::new("payment", "cash")]);
    let latency = meter.f64_histogram("checkout.duration").with_unit("s").with_boundaries(vec![0.1, 0.2, 0.5, 1.0]).build();
    for _ in 0..50 {
        latency.record(0.15, &[]);
        latency.record(0.4, &[]);
    }
    meter.i64_up_down_counter("queue.depth").build().add(-3, &[]);

    let prometheus = Prometheus::start(&[&scrape_target(&telemetry)], "/metrics", &[]);
    assert_eq!(prometheus.value("orders_placed_total{payment=\"card\"}"), 42.0);
    assert_eq!(prometheus.value("orders_placed_total{payment=\"cash\"}"), 5.0);
    assert_eq!(prometheus.value("sum(orders_placed_total)"), 47.0);
    assert_eq!(prometheus.value("queue_depth"), -3.0);
    assert_eq!(prometheus.value("checkout_duration_seconds_count"), 100.0);
    // 50 observations in (0.1, 0.2], 50 in (0.2, 0.5]: linear interpolation inside the buckets.
    let p50 = prometheus.value("histogram_quantile(0.5, sum by (le) (checkout_duration_seconds_bucket))");
    let p90 = prometheus.value("histogram_quantile(0.9, sum by (le) (checkout_duration_seconds_bucket))");
    assert!((p50 - 0.2).abs() < 1e-9, "p50 = {p50}");
    assert!((p90 - 0.44).abs() < 1e-9, "p90 = {p90}");
    assert_eq!(prometheus.value("count(target_info{service_name=\"scrape-test\"})"), 1.0);
    assert!(prometheus.targets().contains("\"health\":\"up\""), "{}", prometheus.targets());
}

#[test]
fn promtool_finds_no_problem_in_the_exposition() {
    let telemetry = pipeline();
    let meter = telemetry.meter("otel-tests");
    meter.u64_counter("http.server.requests").with_description("Requests served").build().add(3, &[KeyValue::new("http.route", "/a")]);
    meter.f64_histogram("http.server.request.duration").with_unit("s").with_description("Request time").build().record(0.01, &[]);
    meter.i64_up_down_counter("http.server.active_requests").with_description("In flight").build().add(1, &[]);
    meter.f64_gauge("process.memory.usage").with_unit("By").with_description("RSS").build().record(1e6, &[]);
    let (status, body) = http_get(&telemetry.endpoints()[0]).expect("scrape");
    assert_eq!(status, 200);
    let (ok, report) = promtool_check_metrics(body.as_bytes());
    assert!(ok && report.trim().is_empty(), "promtool: {report}\n--- exposition ---\n{body}");
}

#[test]
fn endpoint_answers_get_and_head_only_on_its_path() {
    let telemetry = pipeline();
    let url = telemetry.endpoints()[0].clone();
    let client = reqwest::blocking::Client::new();
    let get = client.get(&url).send().expect("GET");
    assert_eq!(get.status(), 200);
    assert_eq!(get.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(client.head(&url).send().expect("HEAD").status(), 200);
    assert_eq!(client.post(&url).send().expect("POST").status(), 405);
    assert_eq!(client.get(url.replace("/metrics", "/other")).send().expect("GET other").status(), 404);
}

#[test]
fn endpoint_stops_when_the_pipeline_shuts_down() {
    let telemetry = pipeline();
    let url = telemetry.endpoints()[0].clone();
    assert!(http_get(&url).is_ok());
    telemetry.shutdown().expect("shutdown");
    let stopped = otel_tests::wait_for(std::time::Duration::from_secs(5), || http_get(&url).is_err().then_some(()));
    assert!(stopped.is_some(), "endpoint still answers after shutdown");
}

#[test]
fn a_port_in_use_is_a_clear_error_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let err = Telemetry::builder().exporter(PrometheusExporter::new().listen(addr.clone())).build().expect_err("the port is taken");
    let message = err.to_string();
    assert!(message.contains(&addr) && message.contains("Prometheus endpoint"), "{message}");
}

#[test]
fn environment_chooses_the_listen_address_and_rejects_bad_ports() {
    let port = otel_tests::free_port().to_string();
    let env = Env::from_pairs([("OTEL_EXPORTER_PROMETHEUS_PORT", port.as_str()), ("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")]);
    let telemetry = Telemetry::builder().env(env).exporter(otel_exporters::from_env()).build().expect("build");
    assert_eq!(telemetry.endpoints(), [format!("http://127.0.0.1:{port}/metrics")]);

    let env = Env::from_pairs([("OTEL_EXPORTER_PROMETHEUS_PORT", "99999")]);
    let err = Telemetry::builder().env(env).exporter(PrometheusExporter::new()).build().expect_err("bad port").to_string();
    assert!(err.contains("OTEL_EXPORTER_PROMETHEUS_PORT=\"99999\"") && err.contains("0 to 65535"), "{err}");

    let env = Env::from_pairs([("OTEL_METRICS_EXPORTER", "prometheus,statsd")]);
    let err = Telemetry::builder().env(env).exporter(otel_exporters::from_env()).build().expect_err("bad exporter").to_string();
    assert!(err.contains("OTEL_METRICS_EXPORTER") && err.contains("statsd"), "{err}");
}
