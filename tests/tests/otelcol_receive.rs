//! The OpenTelemetry Collector receives everything exactly: OTLP over gRPC and HTTP/protobuf,
//! with gzip and headers, over TLS and mutual TLS on the collector's own receiver, cumulative
//! and delta. What it received is read back through its file exporter (OTLP/JSON) and compared
//! with what was recorded: every data point's value, attributes, resource, scope, histogram
//! buckets and exemplars. A collector killed and restarted mid-run still ends with the exact
//! cumulative totals.

use std::collections::BTreeMap;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::Temporality;
use otel_core::Telemetry;
use otel_exporters::{OtlpExporter, OtlpProtocol};
use otel_tests::{empty_env, sampled_span, shop_scope, wait_for, Otelcol, TestPki};
use serde_json::Value;

/// A collector whose OTLP receiver has these extra lines under each protocol (TLS settings),
/// writing what it receives to `{dir}/received.json`.
fn collector(receiver_tls: &str) -> Otelcol {
    Otelcol::start(&format!(
        "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: {{grpc}}\n{receiver_tls}      http:\n        endpoint: {{http}}\n{receiver_tls}\
         exporters:\n  file:\n    path: {{dir}}/received.json\n    flush_interval: 100ms\n\
         extensions:\n  health_check:\n    endpoint: {{health}}\n\
         service:\n  extensions: [health_check]\n  telemetry:\n    metrics:\n      level: none\n  \
         pipelines:\n    metrics:\n      receivers: [otlp]\n      exporters: [file]\n"
    ))
}

/// An attribute list as `key → value` (OTLP/JSON `AnyValue` kept as JSON).
fn attributes(list: &Value) -> BTreeMap<String, Value> {
    list.as_array().into_iter().flatten().map(|kv| (kv["key"].as_str().unwrap_or_default().to_owned(), kv["value"].clone())).collect()
}

/// One received data point with where it came from.
#[derive(Debug, Clone)]
struct Received {
    resource: BTreeMap<String, Value>,
    scope: Value,
    /// `sum`, `gauge`, `histogram` or `exponentialHistogram`, with its fields but the points.
    kind: String,
    metric: Value,
    point: Value,
}

/// Every data point of metric `name` sent by service `service`, in the order received.
fn received(collector: &Otelcol, service: &str, name: &str) -> Vec<Received> {
    let mut found = Vec::new();
    for request in collector.file_requests("received.json") {
        for rm in request["resourceMetrics"].as_array().into_iter().flatten() {
            let resource = attributes(&rm["resource"]["attributes"]);
            if resource.get("service.name") != Some(&serde_json::json!({ "stringValue": service })) {
                continue;
            }
            for sm in rm["scopeMetrics"].as_array().into_iter().flatten() {
                for metric in sm["metrics"].as_array().into_iter().flatten().filter(|m| m["name"] == name) {
                    for kind in ["sum", "gauge", "histogram", "exponentialHistogram"] {
                        for point in metric[kind]["dataPoints"].as_array().into_iter().flatten() {
                            found.push(Received {
                                resource: resource.clone(),
                                scope: sm["scope"].clone(),
                                kind: kind.to_owned(),
                                metric: metric.clone(),
                                point: point.clone(),
                            });
                        }
                    }
                }
            }
        }
    }
    found
}

/// Waits until `check` holds for the data points of `name` from `service`; panics with them.
fn wait_received(collector: &Otelcol, service: &str, name: &str, check: impl Fn(&[Received]) -> bool) -> Vec<Received> {
    let mut last = Vec::new();
    let ok = wait_for(Duration::from_secs(20), || {
        last = received(collector, service, name);
        check(&last).then_some(())
    });
    ok.unwrap_or_else(|| {
        panic!("the collector never received the expected {name} from {service}; got {last:#?}\nlog:\n{}", collector.output())
    });
    last
}

fn string(v: &str) -> Value {
    serde_json::json!({ "stringValue": v })
}

fn int(v: i64) -> Value {
    serde_json::json!({ "intValue": v.to_string() })
}

/// Records the workload with `service` through `exporter` and shuts the pipeline down (the final
/// export).
fn push(service: &str, exporter: OtlpExporter) {
    let telemetry = Telemetry::builder()
        .env(empty_env())
        .service_name(service)
        .instance_id("i-7")
        .resource_attribute(KeyValue::new("service.namespace", "shop"))
        .resource_attribute(KeyValue::new("deployment.environment", "prod"))
        .export_interval(Duration::from_millis(300))
        .exporter(exporter)
        .build()
        .expect("build");
    record(&telemetry);
    telemetry.shutdown().expect("the final export reaches the collector");
}

const TRACE: u128 = 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10;
const SPAN: u64 = 0x1112_1314_1516_1718;

fn record(telemetry: &Telemetry) {
    let meter = telemetry.meter_with_scope(shop_scope());
    let attrs = [KeyValue::new("route", "/cart"), KeyValue::new("code", 200), KeyValue::new("retry", true)];
    meter.u64_counter("orders.placed").with_unit("{order}").with_description("Orders placed").build().add(7, &attrs);
    meter.f64_up_down_counter("queue.depth").build().add(-2.5, &[KeyValue::new("queue", "q1")]);
    meter.f64_gauge("room.temperature").with_unit("Cel").build().record(21.5, &[KeyValue::new("room", "kitchen")]);
    let duration = meter.f64_histogram("checkout.duration").with_unit("s").with_boundaries(vec![0.1, 0.5, 1.0]).build();
    let _span = sampled_span(TRACE, SPAN).attach();
    for v in [0.05, 0.2, 0.7, 3.0] {
        duration.record(v, &[KeyValue::new("payment.method", "card")]);
    }
}

/// Every data point of the workload arrived as recorded.
fn assert_workload(collector: &Otelcol, service: &str) {
    let last = |name: &str| wait_received(collector, service, name, |points| !points.is_empty()).pop().expect("a point");
    let orders = last("orders.placed");
    assert_eq!(orders.resource.get("service.name"), Some(&string(service)));
    assert_eq!(orders.resource.get("service.namespace"), Some(&string("shop")));
    assert_eq!(orders.resource.get("service.instance.id"), Some(&string("i-7")));
    assert_eq!(orders.resource.get("deployment.environment"), Some(&string("prod")));
    assert_eq!(orders.scope["name"], "shop.orders");
    assert_eq!(orders.scope["version"], "1.2.0");
    assert_eq!(attributes(&orders.scope["attributes"]).get("team"), Some(&string("payments")));
    assert_eq!(
        (orders.kind.as_str(), &orders.metric["unit"], &orders.metric["description"]),
        ("sum", &"{order}".into(), &"Orders placed".into())
    );
    assert_eq!(orders.metric["sum"]["isMonotonic"], true);
    assert_eq!(orders.metric["sum"]["aggregationTemporality"], 2, "cumulative");
    assert_eq!(orders.point["asInt"], "7");
    let point_attrs = attributes(&orders.point["attributes"]);
    assert_eq!(
        point_attrs,
        BTreeMap::from([
            ("route".to_owned(), string("/cart")),
            ("code".to_owned(), int(200)),
            ("retry".to_owned(), serde_json::json!({ "boolValue": true })),
        ])
    );

    let queue = last("queue.depth");
    assert_eq!((queue.kind.as_str(), queue.metric["sum"]["isMonotonic"].as_bool().unwrap_or(false)), ("sum", false));
    assert_eq!(queue.point["asDouble"], -2.5);
    let temperature = last("room.temperature");
    assert_eq!((temperature.kind.as_str(), &temperature.point["asDouble"]), ("gauge", &serde_json::json!(21.5)));
    assert_eq!(temperature.metric["unit"], "Cel");

    let duration = last("checkout.duration");
    assert_eq!(duration.kind, "histogram");
    assert_eq!(duration.point["count"], "4");
    assert_eq!(duration.point["sum"], 3.95);
    let bounds: Vec<f64> = duration.point["explicitBounds"].as_array().into_iter().flatten().filter_map(Value::as_f64).collect();
    assert_eq!(bounds, [0.1, 0.5, 1.0]);
    assert_eq!(duration.point["bucketCounts"], serde_json::json!(["1", "1", "1", "1"]));
    assert_eq!(duration.point["min"], 0.05);
    assert_eq!(duration.point["max"], 3.0);
    let exemplars = duration.point["exemplars"].as_array().cloned().unwrap_or_default();
    assert!(!exemplars.is_empty(), "no exemplar: {:#?}", duration.point);
    for exemplar in &exemplars {
        assert_eq!(exemplar["traceId"], format!("{TRACE:032x}"), "{exemplar}");
        assert_eq!(exemplar["spanId"], format!("{SPAN:016x}"), "{exemplar}");
        let value = exemplar["asDouble"].as_f64().unwrap_or(f64::NAN);
        assert!([0.05, 0.2, 0.7, 3.0].contains(&value), "{exemplar}");
    }
}

#[test]
fn grpc_and_http_with_gzip_and_headers_arrive_exactly() {
    let collector = collector("");
    let grpc = || OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint(format!("http://{}", collector.grpc));
    let http = || OtlpExporter::new().protocol(OtlpProtocol::HttpProtobuf).endpoint(format!("http://{}/v1/metrics", collector.http));
    push("grpc-plain", grpc());
    push("http-plain", http());
    push("grpc-gzip", grpc().gzip(true).header("x-api-key", "secret-1"));
    push("http-gzip", http().gzip(true).header("x-api-key", "secret-2"));
    for service in ["grpc-plain", "http-plain", "grpc-gzip", "http-gzip"] {
        assert_workload(&collector, service);
    }
}

#[test]
fn tls_and_mutual_tls_on_the_collectors_own_receiver() {
    let pki = TestPki::generate();
    let server = format!(
        "        tls:\n          cert_file: {}\n          key_file: {}\n",
        pki.path("server.pem").display(),
        pki.path("server.key").display()
    );
    let tls = collector(&server);
    let ca = pki.path("server-ca.pem");
    push("grpc-tls", OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint(format!("https://{}", tls.grpc)).ca_certificate(&ca));
    push(
        "http-tls",
        OtlpExporter::new().protocol(OtlpProtocol::HttpProtobuf).endpoint(format!("https://{}/v1/metrics", tls.http)).ca_certificate(&ca),
    );
    assert_workload(&tls, "grpc-tls");
    assert_workload(&tls, "http-tls");

    let mutual = collector(&format!("{server}          client_ca_file: {}\n", pki.path("client-ca.pem").display()));
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let grpc = || OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint(format!("https://{}", mutual.grpc)).ca_certificate(&ca);
    let http = || {
        OtlpExporter::new().protocol(OtlpProtocol::HttpProtobuf).endpoint(format!("https://{}/v1/metrics", mutual.http)).ca_certificate(&ca)
    };
    push("grpc-mtls", grpc().client_certificate(&cert, &key));
    push("http-mtls", http().client_certificate(&cert, &key));
    assert_workload(&mutual, "grpc-mtls");
    assert_workload(&mutual, "http-mtls");
    // Without a client certificate the collector refuses the connection: nothing of it arrives.
    for (service, exporter) in [("grpc-anonymous", grpc()), ("http-anonymous", http())] {
        let telemetry = Telemetry::builder().env(empty_env()).service_name(service).exporter(exporter).build().expect("build");
        telemetry.meter("m").u64_counter("orders.placed").build().add(1, &[]);
        assert!(telemetry.shutdown().is_err(), "{service}: a client without a certificate was accepted");
        assert!(received(&mutual, service, "orders.placed").is_empty(), "{service} got through");
    }
}

/// A service whose only metric is a histogram (kept in the pipeline's cells, so the SDK's own
/// collection has nothing of it) still exports at every interval, not only at shutdown.
#[test]
fn a_service_with_only_histograms_exports_every_interval() {
    let collector = collector("");
    let telemetry = Telemetry::builder()
        .env(empty_env())
        .service_name("histograms-only")
        .export_interval(Duration::from_millis(300))
        .exporter(OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint(format!("http://{}", collector.grpc)))
        .build()
        .expect("build");
    let histogram = telemetry.meter("m").f64_histogram("checkout.duration").with_boundaries(vec![1.0]).build();
    histogram.record(0.5, &[]);
    let points = wait_received(&collector, "histograms-only", "checkout.duration", |p| !p.is_empty());
    assert_eq!(points.last().map(|p| p.point["count"].clone()), Some(serde_json::json!("1")), "{points:#?}");
    assert_eq!(points.last().map(|p| p.metric["histogram"]["aggregationTemporality"].clone()), Some(serde_json::json!(2)));
    telemetry.shutdown().expect("final export");
}

#[test]
fn delta_temporality_arrives_as_deltas_that_add_up() {
    let collector = collector("");
    let telemetry = Telemetry::builder()
        .env(empty_env())
        .service_name("delta")
        .export_interval(Duration::from_millis(300))
        .exporter(
            OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint(format!("http://{}", collector.grpc)).temporality(Temporality::Delta),
        )
        .build()
        .expect("build");
    let counter = telemetry.meter("m").u64_counter("orders.placed").build();
    let histogram = telemetry.meter("m").f64_histogram("checkout.duration").with_boundaries(vec![1.0]).build();
    counter.add(7, &[]);
    histogram.record(0.5, &[]);
    wait_received(&collector, "delta", "orders.placed", |p| !p.is_empty());
    counter.add(3, &[]);
    histogram.record(2.0, &[]);
    telemetry.shutdown().expect("final export");
    let total =
        |points: &[Received], field: &str| -> u64 { points.iter().filter_map(|p| p.point[field].as_str()?.parse::<u64>().ok()).sum() };
    // The deltas add up to what was recorded, one delta per interval with data.
    let points = wait_received(&collector, "delta", "orders.placed", |p| total(p, "asInt") >= 10);
    assert_eq!(total(&points, "asInt"), 10, "{points:#?}");
    assert!(points.len() >= 2, "{points:#?}");
    assert!(points.iter().all(|p| p.metric["sum"]["aggregationTemporality"] == 1), "not delta: {points:#?}");
    let histograms = wait_received(&collector, "delta", "checkout.duration", |p| total(p, "count") >= 2);
    assert_eq!(total(&histograms, "count"), 2, "{histograms:#?}");
    assert!(histograms.iter().all(|p| p.metric["histogram"]["aggregationTemporality"] == 1));
}

#[test]
fn a_collector_killed_and_restarted_mid_run_ends_with_the_exact_totals() {
    let mut collector = collector("");
    let telemetry = Telemetry::builder()
        .env(empty_env())
        .service_name("restarted")
        .export_interval(Duration::from_millis(300))
        .exporter(OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint(format!("http://{}", collector.grpc)))
        .build()
        .expect("build");
    let counter = telemetry.meter("m").u64_counter("orders.placed").build();
    counter.add(5, &[]);
    wait_received(&collector, "restarted", "orders.placed", |p| p.iter().any(|p| p.point["asInt"] == "5"));
    collector.kill();
    // Recording goes on while the collector is down; those exports fail and are counted.
    for _ in 0..10 {
        counter.add(1, &[]);
        std::thread::sleep(Duration::from_millis(100));
    }
    collector.restart();
    counter.add(100, &[]);
    // The next export after the restart carries the whole cumulative total.
    wait_received(&collector, "restarted", "orders.placed", |p| p.last().is_some_and(|p| p.point["asInt"] == "115"));
    telemetry.shutdown().expect("final export");
    let last = received(&collector, "restarted", "orders.placed").pop().expect("a point");
    assert_eq!(last.point["asInt"], "115");
}
