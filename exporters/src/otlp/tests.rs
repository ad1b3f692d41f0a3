use super::*;

fn env(pairs: &[(&str, &str)]) -> Env {
    Env::from_pairs(pairs.iter().copied())
}

fn resolve(pairs: &[(&str, &str)]) -> Result<Settings, BuildError> {
    OtlpExporter::new().resolve(&env(pairs))
}

fn error(exporter: OtlpExporter, pairs: &[(&str, &str)]) -> String {
    exporter.resolve(&env(pairs)).err().map(|e| e.to_string()).unwrap_or_else(|| "no error".into())
}

fn header(s: &Settings, name: &str) -> Option<String> {
    s.headers.get(name).map(|v| v.to_str().unwrap_or_default().to_owned())
}

#[test]
fn defaults_follow_the_otel_specification() {
    let s = resolve(&[]).unwrap();
    assert_eq!(s.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(s.target.uri, "http://localhost:4318/v1/metrics");
    assert_eq!(s.timeout, DEFAULT_TIMEOUT);
    assert!(!s.gzip);
    assert_eq!(s.temporality, Temporality::Cumulative);
}

#[test]
fn generic_endpoint_gets_the_signal_path_for_http_only() {
    let s = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")]).unwrap();
    assert_eq!(s.target.uri, "http://c:4318/v1/metrics");
    let s = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap();
    assert_eq!(s.target.uri, format!("http://c:4317{GRPC_EXPORT_PATH}").as_str());
    let s =
        resolve(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://c:9/custom"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:1")]).unwrap();
    assert_eq!(s.target.uri, "http://c:9/custom");
}

/// Every setting, through each of its three sources: the builder wins over the metrics
/// variable, which wins over the generic one.
#[test]
fn every_setting_follows_builder_then_metrics_variable_then_generic_variable() {
    let both = |generic: &'static str, generic_value: &'static str, metrics_value: &'static str| {
        vec![(generic, generic_value), (Box::leak(generic.replace("OTLP_", "OTLP_METRICS_").into_boxed_str()) as &str, metrics_value)]
    };
    let e = both("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "grpc");
    assert_eq!(resolve(&e).unwrap().protocol, OtlpProtocol::Grpc);
    assert_eq!(OtlpExporter::new().protocol(OtlpProtocol::HttpProtobuf).resolve(&env(&e)).unwrap().protocol, OtlpProtocol::HttpProtobuf);

    let e = both("OTEL_EXPORTER_OTLP_TIMEOUT", "9000", "250");
    assert_eq!(resolve(&e).unwrap().timeout, Duration::from_millis(250));
    assert_eq!(OtlpExporter::new().timeout(Duration::from_secs(3)).resolve(&env(&e)).unwrap().timeout, Duration::from_secs(3));

    let e = both("OTEL_EXPORTER_OTLP_COMPRESSION", "none", "gzip");
    assert!(resolve(&e).unwrap().gzip);
    assert!(!OtlpExporter::new().gzip(false).resolve(&env(&e)).unwrap().gzip);

    let e = both("OTEL_EXPORTER_OTLP_HEADERS", "x-k=generic,x-g=1", "x-k=metrics");
    let s = resolve(&e).unwrap();
    assert_eq!((header(&s, "x-k").as_deref(), header(&s, "x-g")), (Some("metrics"), None));
    let s = OtlpExporter::new().header("x-k", "from-builder").header("x-b", "a%41b").resolve(&env(&e)).unwrap();
    assert_eq!(header(&s, "x-k").as_deref(), Some("from-builder"));
    // Builder values are sent as given: no percent-decoding.
    assert_eq!(header(&s, "x-b").as_deref(), Some("a%41b"));

    let e = vec![("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")];
    assert_eq!(resolve(&e).unwrap().temporality, Temporality::Delta);
    assert_eq!(OtlpExporter::new().temporality(Temporality::LowMemory).resolve(&env(&e)).unwrap().temporality, Temporality::LowMemory);
    let e = vec![("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "LowMemory")];
    assert_eq!(resolve(&e).unwrap().temporality, Temporality::LowMemory);
}

#[test]
fn environment_headers_are_percent_decoded_once() {
    let s = resolve(&[("OTEL_EXPORTER_OTLP_HEADERS", "x-pct=a%2541b")]).unwrap();
    assert_eq!(header(&s, "x-pct").as_deref(), Some("a%41b"));
}

#[test]
fn invalid_values_name_the_variable_actually_set_and_what_is_accepted() {
    let cases = [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "grpc, http/protobuf"),
        ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "brotli", "gzip, none"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "ten", "milliseconds"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317", "http://"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "ftp://c:4318", "https://"),
        ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "sometimes", "cumulative, delta, lowmemory"),
        ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", "/k.pem", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
    ];
    for (var, value, accepted) in cases {
        let msg = error(OtlpExporter::new(), &[(var, value)]);
        assert!(msg.contains(var) && msg.contains(value) && msg.contains(accepted), "{var}: {msg}");
    }
}

#[test]
fn header_errors_name_the_variable_and_the_key_but_never_the_value() {
    let cases = [
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "authorization=Bearer%zztopsecret", "malformed"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "bad name=topsecret", "\"bad name\""),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=top%0Asecret", "\"x-api-key\""),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=top%00secret", "control character"),
    ];
    for protocol in ["grpc", "http/protobuf"] {
        for (var, value, names) in cases {
            let msg = error(OtlpExporter::new(), &[(var, value), ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)]);
            assert!(msg.contains(var) && msg.contains(names) && !msg.contains("secret"), "{protocol} {var}: {msg}");
            // The generic variable is not blamed for the metrics one.
            if var.contains("METRICS") {
                assert!(!msg.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{msg}");
            }
        }
    }
    let msg = error(OtlpExporter::new().header("x-api-key", "top\nsecret"), &[]);
    assert!(msg.contains("`header`") && msg.contains("\"x-api-key\"") && !msg.contains("secret"), "{msg}");
}

#[test]
fn url_credentials_become_basic_auth_and_are_never_printed() {
    let url = "http://user:S3CRET@collector:4318/v1/metrics";
    let s = OtlpExporter::new().endpoint(url).resolve(&env(&[])).unwrap();
    assert_eq!(s.target.uri, "http://collector:4318/v1/metrics");
    assert_eq!(s.target.shown, "http://<redacted>@collector:4318/v1/metrics");
    assert_eq!(header(&s, "authorization").as_deref(), Some("Basic dXNlcjpTM0NSRVQ="));
    let debug = format!("{:?}", OtlpExporter::new().endpoint(url).header("x-api-key", "S3CRET"));
    assert!(debug.contains("x-api-key") && !debug.contains("S3CRET"), "{debug}");
    let msg = error(OtlpExporter::new(), &[("OTEL_EXPORTER_OTLP_ENDPOINT", "mailto://u:S3CRET@c")]);
    assert!(msg.contains("OTEL_EXPORTER_OTLP_ENDPOINT") && !msg.contains("S3CRET"), "{msg}");
}

#[test]
fn tls_files_that_are_missing_are_build_errors_naming_the_variable() {
    let msg = error(
        OtlpExporter::new(),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318"), ("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "/no/such/ca.pem")],
    );
    assert!(msg.contains("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE") && msg.contains("/no/such/ca.pem"), "{msg}");
    let msg = error(OtlpExporter::new().endpoint("https://c:4318").ca_certificate("/no/such/ca.pem"), &[]);
    assert!(msg.contains("ca_certificate") && msg.contains("/no/such/ca.pem"), "{msg}");
}
