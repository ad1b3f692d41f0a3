//! OTLP over TLS through a real TLS terminator (nginx) in front of the rotel collector, both
//! protocols: accepted with the right CA, refused with a clear error with a wrong one, and a
//! client certificate required by the terminator and presented by the exporter.

use opentelemetry::KeyValue;
use otel_core::{Env, Telemetry};
use otel_exporters::{OtlpExporter, OtlpProtocol, RetryPolicy};
use otel_tests::{free_port, Nginx, Rotel, TestPki};

struct Setup {
    rotel: Rotel,
    nginx: Nginx,
    pki: TestPki,
    https: u16,
    grpcs: u16,
    mutual_https: u16,
    mutual_grpcs: u16,
}

fn setup() -> Setup {
    let rotel = Rotel::start();
    let pki = TestPki::generate();
    let [https, grpcs, mutual_https, mutual_grpcs] = [free_port(), free_port(), free_port(), free_port()];
    let tls =
        format!("ssl_certificate {};\n    ssl_certificate_key {};", pki.path("server.pem").display(), pki.path("server.key").display());
    let mutual = format!("ssl_client_certificate {};\n    ssl_verify_client on;", pki.path("client-ca.pem").display());
    let (http_up, grpc_up) = (&rotel.http, &rotel.grpc);
    let servers = format!(
        "  server {{\n    listen 127.0.0.1:{https} ssl;\n    {tls}\n    location / {{ proxy_pass http://{http_up}; }}\n  }}\n\
         \x20 server {{\n    listen 127.0.0.1:{grpcs} ssl http2;\n    {tls}\n    location / {{ grpc_pass grpc://{grpc_up}; }}\n  }}\n\
         \x20 server {{\n    listen 127.0.0.1:{mutual_https} ssl;\n    {tls}\n    {mutual}\n    location / {{ proxy_pass http://{http_up}; }}\n  }}\n\
         \x20 server {{\n    listen 127.0.0.1:{mutual_grpcs} ssl http2;\n    {tls}\n    {mutual}\n    location / {{ grpc_pass grpc://{grpc_up}; }}\n  }}\n"
    );
    let nginx = Nginx::start(&servers, &[https, grpcs, mutual_https, mutual_grpcs]);
    Setup { rotel, nginx, pki, https, grpcs, mutual_https, mutual_grpcs }
}

/// Records one counter tagged `case`, shuts down (the final export), and returns the result.
fn push(exporter: OtlpExporter, env: &[(&str, String)], case: &str) -> Result<(), String> {
    let telemetry = Telemetry::builder()
        .env(Env::from_pairs(env.iter().map(|(k, v)| (*k, v.clone()))))
        .service_name("tls-test")
        .exporter(exporter.retry_policy(RetryPolicy::disabled()))
        .build()
        .map_err(|e| format!("build: {e}"))?;
    telemetry.meter("tls").u64_counter("tls.check").build().add(1, &[KeyValue::new("case", case.to_owned())]);
    telemetry.shutdown().map_err(|e| e.to_string())
}

fn url(port: u16, protocol: OtlpProtocol) -> String {
    match protocol {
        OtlpProtocol::HttpProtobuf => format!("https://127.0.0.1:{port}/v1/metrics"),
        _ => format!("https://127.0.0.1:{port}"),
    }
}

#[test]
fn both_protocols_are_accepted_over_tls_with_the_right_ca_from_the_environment() {
    let s = setup();
    let ca = s.pki.path("server-ca.pem").display().to_string();
    for (protocol, name, port) in [(OtlpProtocol::HttpProtobuf, "http/protobuf", s.https), (OtlpProtocol::Grpc, "grpc", s.grpcs)] {
        let case = format!("right-ca-{name}");
        let env = [
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", url(port, protocol)),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", name.to_owned()),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.clone()),
        ];
        push(OtlpExporter::new(), &env, &case).unwrap_or_else(|e| panic!("{name}: {e}\n{}", s.nginx.requests()));
        s.rotel.wait_for_all(&[&format!("case: Str({case})")]);
        assert!(s.nginx.wait_for_request(port).contains("status=200"), "{}", s.nginx.requests());
    }
}

#[test]
fn a_wrong_ca_is_refused_with_an_error_that_names_the_certificate_problem() {
    let s = setup();
    for (protocol, name, port) in [(OtlpProtocol::HttpProtobuf, "http", s.https), (OtlpProtocol::Grpc, "grpc", s.grpcs)] {
        let exporter = OtlpExporter::new().protocol(protocol).endpoint(url(port, protocol)).ca_certificate(s.pki.path("other-ca.pem"));
        let err = push(exporter, &[], &format!("wrong-ca-{name}")).expect_err("a wrong CA must fail");
        assert!(err.contains("certificate") && err.contains(&format!("127.0.0.1:{port}")), "{name}: {err}");
    }
    assert!(!s.rotel.received().contains("wrong-ca"), "{}", s.rotel.received());
}

#[test]
fn mutual_tls_is_required_by_the_terminator_and_presented_by_the_exporter() {
    let s = setup();
    let ca = s.pki.path("server-ca.pem");
    for (protocol, name, port) in [(OtlpProtocol::HttpProtobuf, "http", s.mutual_https), (OtlpProtocol::Grpc, "grpc", s.mutual_grpcs)] {
        let exporter = || OtlpExporter::new().protocol(protocol).endpoint(url(port, protocol)).ca_certificate(&ca);
        let err = push(exporter(), &[], &format!("no-client-cert-{name}")).expect_err("a missing client certificate must fail");
        assert!(err.contains("400") || err.contains("certificate"), "{name}: {err}");

        let env = [
            ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE", s.pki.path("client.pem").display().to_string()),
            ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", s.pki.path("client.key").display().to_string()),
        ];
        let case = format!("client-cert-{name}");
        push(exporter(), &env, &case).unwrap_or_else(|e| panic!("{name}: {e}\n{}", s.nginx.requests()));
        s.rotel.wait_for_all(&[&format!("case: Str({case})")]);
        // nginx logs a request once it has completed, a moment after the answer.
        let verified = otel_tests::wait_for(std::time::Duration::from_secs(10), || {
            s.nginx.requests().lines().any(|l| l.starts_with(&format!("port={port} ")) && l.contains("client_verify=SUCCESS")).then_some(())
        });
        assert!(verified.is_some(), "{}", s.nginx.requests());
    }
    assert!(!s.rotel.received().contains("no-client-cert"), "{}", s.rotel.received());
}
