//! Each exposition format, as the real Prometheus 2.42 ingests it: text 0.0.4, OpenMetrics
//! (what 2.42 asks for by default) and protobuf with native histograms.

use std::time::Duration;

use opentelemetry::KeyValue;
use otel_core::Telemetry;
use otel_exporters::{Format, PrometheusExporter};
use otel_tests::{empty_env, exponential_histograms, http_get, scrape_target, wait_for, Prometheus};

/// A pipeline with a counter, an explicit histogram and an exponential histogram.
fn recorded(exporter: PrometheusExporter) -> Telemetry {
    let telemetry = Telemetry::builder()
        .env(empty_env())
        .service_name("formats")
        .view(exponential_histograms(&["rpc.latency"]))
        .exporter(exporter.listen("127.0.0.1:0"))
        .build()
        .expect("build");
    let meter = telemetry.meter("otel-tests");
    meter.u64_counter("orders.placed").build().add(42, &[KeyValue::new("payment", "card")]);
    let explicit = meter.f64_histogram("checkout.duration").with_unit("s").with_boundaries(vec![0.1, 0.2, 0.5, 1.0]).build();
    let exponential = meter.f64_histogram("rpc.latency").with_unit("s").build();
    for i in 1..=100 {
        explicit.record(f64::from(i) / 100.0, &[]);
        exponential.record(f64::from(i) / 100.0, &[KeyValue::new("rpc", "get")]);
    }
    telemetry
}

fn wait_metadata(prometheus: &Prometheus, family: &str) -> (String, String) {
    wait_for(Duration::from_secs(30), || prometheus.metadata(family))
        .unwrap_or_else(|| panic!("no metadata for {family}; targets: {}", prometheus.targets()))
}

#[test]
fn prometheus_ingests_text_0_0_4_when_only_text_is_offered() {
    let telemetry = recorded(PrometheusExporter::new().formats(&[Format::Text]));
    let prometheus = Prometheus::start(&[&scrape_target(&telemetry)], "/metrics", &[]);
    assert_eq!(prometheus.value("orders_placed_total{payment=\"card\"}"), 42.0);
    // Text 0.0.4 names the counter family with its `_total`.
    assert_eq!(wait_metadata(&prometheus, "orders_placed_total").0, "counter");
    assert_eq!(prometheus.value("checkout_duration_seconds_count"), 100.0);
    // The exponential histogram arrives as classic buckets on its own boundaries.
    let p50 = prometheus.value("histogram_quantile(0.5, sum by (le) (rpc_latency_seconds_bucket))");
    assert!((p50 - 0.5).abs() < 0.02, "p50 = {p50}");
}

#[test]
fn prometheus_ingests_openmetrics_by_default_with_units() {
    let telemetry = recorded(PrometheusExporter::new());
    let prometheus = Prometheus::start(&[&scrape_target(&telemetry)], "/metrics", &[]);
    assert_eq!(prometheus.value("orders_placed_total{payment=\"card\"}"), 42.0);
    // OpenMetrics names the counter family without `_total` and declares units.
    assert_eq!(wait_metadata(&prometheus, "orders_placed").0, "counter");
    assert_eq!(wait_metadata(&prometheus, "checkout_duration_seconds"), ("histogram".to_owned(), "seconds".to_owned()));
    let p90 = prometheus.value("histogram_quantile(0.9, sum by (le) (checkout_duration_seconds_bucket))");
    assert!((p90 - 0.9).abs() < 0.1, "p90 = {p90}");
}

#[test]
fn prometheus_ingests_native_histograms_over_protobuf() {
    let telemetry = recorded(PrometheusExporter::new());
    let prometheus = Prometheus::start(&[&scrape_target(&telemetry)], "/metrics", &["--enable-feature=native-histograms"]);
    assert_eq!(prometheus.value("orders_placed_total{payment=\"card\"}"), 42.0);
    // A native histogram is queried by its bare name.
    assert_eq!(prometheus.value("histogram_count(rpc_latency_seconds{rpc=\"get\"})"), 100.0);
    let sum = prometheus.value("histogram_sum(rpc_latency_seconds)");
    assert!((sum - 50.5).abs() < 1e-9, "sum = {sum}");
    let p50 = prometheus.value("histogram_quantile(0.5, rpc_latency_seconds)");
    assert!((p50 - 0.5).abs() < 0.01, "native p50 = {p50}");
    let p99 = prometheus.value("histogram_quantile(0.99, rpc_latency_seconds)");
    assert!((p99 - 0.99).abs() < 0.02, "native p99 = {p99}");
    // The explicit-bucket histogram stays classic.
    assert_eq!(prometheus.value("checkout_duration_seconds_count"), 100.0);
}

#[test]
fn scrapers_get_the_format_they_ask_for_and_gzip() {
    let telemetry = recorded(PrometheusExporter::new());
    let url = telemetry.endpoints()[0].clone();
    let client = reqwest::blocking::Client::new();
    let get = |accept: &str| client.get(&url).header("accept", accept).send().expect("scrape");
    let om = get("application/openmetrics-text;version=1.0.0");
    assert_eq!(om.headers()["content-type"], Format::OpenMetrics.content_type());
    let body = om.text().expect("body");
    assert!(body.ends_with("# EOF\n") && body.contains("# TYPE orders_placed counter\n"), "{body}");
    let proto = get("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited");
    assert_eq!(proto.headers()["content-type"], Format::Protobuf.content_type());
    assert_eq!(get("*/*").headers()["content-type"], Format::Text.content_type());

    let raw = reqwest::blocking::Client::builder().build().expect("client");
    let zipped = raw.get(&url).header("accept-encoding", "gzip").send().expect("gzip scrape");
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let bytes = zipped.bytes().expect("body");
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip magic");
    assert!(http_get(&url).expect("plain").1.contains("orders_placed_total"));
}

#[test]
fn head_answers_with_the_headers_get_would_send_for_every_negotiation() {
    use otel_exporters::{EncodeOptions, TranslationStrategy};
    let prometheus_3 = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,*/*;q=0.2";
    let accepts = ["", "*/*", "application/openmetrics-text;version=1.0.0", "text/plain;version=1.0.0;escaping=dots", prometheus_3];
    let encodings = ["", "gzip", "GZIP;q=0.5", "gzip;q=0", "br, gzip;q=0.1"];
    for strategy in [TranslationStrategy::NoUTF8EscapingWithSuffixes, TranslationStrategy::UnderscoreEscapingWithoutSuffixes] {
        let telemetry = recorded(PrometheusExporter::new().encode_options(EncodeOptions::with_strategy(strategy)));
        let url = telemetry.endpoints()[0].clone();
        let client = reqwest::blocking::Client::builder().no_gzip().build().expect("client");
        for accept in accepts {
            for encoding in encodings {
                let headers = |method: reqwest::Method| {
                    let response =
                        client.request(method, &url).header("accept", accept).header("accept-encoding", encoding).send().expect("request");
                    let h = response.headers();
                    (h.get("content-type").cloned(), h.get("content-encoding").cloned())
                };
                let (get, head) = (headers(reqwest::Method::GET), headers(reqwest::Method::HEAD));
                assert_eq!(head, get, "{strategy:?}, Accept {accept:?}, Accept-Encoding {encoding:?}: HEAD (left) and GET (right)");
                let gzip = get.1.is_some();
                assert_eq!(gzip, ["gzip", "GZIP;q=0.5", "br, gzip;q=0.1"].contains(&encoding), "{encoding:?}");
            }
        }
    }
}

#[test]
fn bearer_and_basic_auth_guard_the_endpoint() {
    let client = reqwest::blocking::Client::new();
    let telemetry = recorded(PrometheusExporter::new().bearer_token("s3cret"));
    let url = telemetry.endpoints()[0].clone();
    assert_eq!(client.get(&url).send().expect("no token").status(), 401);
    assert_eq!(client.get(&url).header("authorization", "Bearer wrong").send().expect("wrong").status(), 401);
    assert_eq!(client.get(&url).header("authorization", "Bearer s3cret").send().expect("right").status(), 200);
    // The scheme is case-insensitive (RFC 9110); the credentials are not.
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let status = client.get(&url).header("authorization", format!("{scheme} s3cret")).send().expect("scheme").status();
        assert_eq!(status, 200, "{scheme}");
    }
    assert_eq!(client.get(&url).header("authorization", "Bearer S3CRET").send().expect("case").status(), 401);
    assert_eq!(client.get(&url).header("authorization", "Basic s3cret").send().expect("other scheme").status(), 401);
    assert_eq!(client.get(&url).header("authorization", "Bearers3cret").send().expect("no space").status(), 401);

    let telemetry = recorded(PrometheusExporter::new().basic_auth("prom", "pa:ss"));
    let url = telemetry.endpoints()[0].clone();
    assert_eq!(client.get(&url).send().expect("no auth").status(), 401);
    assert_eq!(client.get(&url).basic_auth("prom", Some("nope")).send().expect("wrong").status(), 401);
    assert_eq!(client.get(&url).basic_auth("prom", Some("pa:ss")).send().expect("right").status(), 200);
    let lower = format!("basic {}", "cHJvbTpwYTpzcw==");
    assert_eq!(client.get(&url).header("authorization", lower).send().expect("lower-case scheme").status(), 200);
}

#[test]
fn prometheus_scrapes_over_tls_with_a_bearer_token() {
    let pki = otel_tests::TestPki::generate();
    let (cert, key) = (pki.path("server.pem"), pki.path("server.key"));
    let telemetry = recorded(PrometheusExporter::new().tls(&cert, &key).bearer_token("t0ken"));
    let endpoint = telemetry.endpoints()[0].clone();
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    // Plain HTTP to a TLS port gets nowhere.
    assert!(!matches!(http_get(&endpoint.replace("https://", "http://")), Ok((200, _))));

    let job = format!(
        "    scheme: https\n    authorization:\n      credentials: t0ken\n    tls_config:\n      ca_file: {}\n",
        pki.path("server-ca.pem").display()
    );
    let target = scrape_target(&telemetry);
    let prometheus = Prometheus::start_with(&[&target], "/metrics", &job, &[]);
    assert_eq!(prometheus.value("orders_placed_total{payment=\"card\"}"), 42.0);
}

#[test]
fn unreadable_tls_files_are_a_build_error_naming_the_file() {
    let err = Telemetry::builder()
        .exporter(PrometheusExporter::new().listen("127.0.0.1:0").tls("/nonexistent/cert.pem", "/nonexistent/key.pem"))
        .build()
        .expect_err("missing files");
    let message = err.to_string();
    assert!(message.contains("/nonexistent/cert.pem"), "{message}");
}
