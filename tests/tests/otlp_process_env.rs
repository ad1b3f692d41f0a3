//! The OTLP exporter reads configuration only through the pipeline's `Env`: with OTLP
//! variables set in the real process environment, builder settings still win, builder header
//! values go out exactly as given, and a pipeline built with `Env::from_pairs` sees none of the
//! process's variables. Checked on the wire by nginx (logging the headers it receives) in front
//! of rotel, for both protocols.
//!
//! This file holds one test: it sets process variables, which no other test may see.

use opentelemetry::KeyValue;
use otel_core::{Telemetry, TelemetryBuilder};
use otel_exporters::{OtlpExporter, OtlpProtocol};
use otel_tests::{empty_env, free_port, Nginx, Rotel};

fn push(builder: TelemetryBuilder, exporter: OtlpExporter, case: &str) {
    let telemetry = builder.service_name("env-test").exporter(exporter).build().expect("build");
    telemetry.meter("env").u64_counter("env.check").build().add(1, &[KeyValue::new("case", case.to_owned())]);
    telemetry.shutdown().unwrap_or_else(|e| panic!("{case}: {e}"));
}

#[test]
fn builder_settings_win_over_process_variables_and_injected_env_isolates_from_them() {
    let rotel = Rotel::start();
    let (http, grpc) = (free_port(), free_port());
    let servers = format!(
        "  server {{\n    listen 127.0.0.1:{http};\n    location / {{ proxy_pass http://{}; }}\n  }}\n\
         \x20 server {{\n    listen 127.0.0.1:{grpc} http2;\n    location / {{ grpc_pass grpc://{}; }}\n  }}\n",
        rotel.http, rotel.grpc
    );
    let nginx = Nginx::start(&servers, &[http, grpc]);
    // Every OTLP variable points somewhere wrong or carries a value that must not win.
    for (name, value) in [
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-k=from-env,x-pct=from-env"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-k=from-metrics-env"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "0"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/no/such/ca.pem"),
    ] {
        std::env::set_var(name, value);
    }
    for (protocol, name, port) in [(OtlpProtocol::HttpProtobuf, "http", http), (OtlpProtocol::Grpc, "grpc", grpc)] {
        let url = match protocol {
            OtlpProtocol::HttpProtobuf => format!("http://127.0.0.1:{port}/v1/metrics"),
            _ => format!("http://127.0.0.1:{port}"),
        };
        let exporter = || {
            OtlpExporter::new()
                .protocol(protocol)
                .endpoint(url.clone())
                .gzip(false)
                .timeout(std::time::Duration::from_secs(5))
                .header("x-k", "from-builder")
                .header("x-pct", "a%41b")
        };
        // The process environment: builder values win, and are sent verbatim.
        push(Telemetry::builder(), exporter(), &format!("process-{name}"));
        let line = nginx.wait_for_request(port);
        assert!(line.contains("x-k=from-builder x-pct=a%41b"), "{name}: {line}");

        // An injected Env: nothing from the process, so no header but the builder's.
        let isolated = OtlpExporter::new().protocol(protocol).endpoint(url.clone());
        push(Telemetry::builder().env(empty_env()), isolated, &format!("isolated-{name}"));
        rotel.wait_for_all(&[&format!("case: Str(isolated-{name})")]);
        // nginx logs a request once it has completed, a moment after the answer.
        let second = otel_tests::wait_for(std::time::Duration::from_secs(10), || {
            let log = nginx.requests();
            let mine: Vec<&str> = log.lines().filter(|l| l.starts_with(&format!("port={port} "))).collect();
            (mine.len() >= 2).then(|| mine[mine.len() - 1].to_owned())
        });
        assert!(second.as_deref().is_some_and(|l| l.contains("x-k=- x-pct=-")), "{name}: {second:?}\n{}", nginx.requests());
    }
    rotel.wait_for_all(&["case: Str(process-http)", "case: Str(process-grpc)"]);
}
