//! The configuration file drives the exporters: a pull reader with every Prometheus property,
//! periodic readers for every push exporter (OTLP both ways to a real collector, textfile,
//! Pushgateway, line protocol), and the precedence of a program's own exporter settings.

use std::time::Duration;

use opentelemetry::KeyValue;
use otel_core::{Env, Telemetry};
use otel_exporters::{from_env, PrometheusExporter};
use otel_tests::{free_port, http_get, pushgateway, scratch_dir, wait_for, Rotel};

fn write_config(name: &str, text: &str) -> std::path::PathBuf {
    let path = scratch_dir(name).join("otel.yaml");
    std::fs::write(&path, text).expect("write the configuration file");
    path
}

fn record(telemetry: &Telemetry) {
    let meter = telemetry.meter("shop");
    meter.u64_counter("jobs.done").build().add(3, &[KeyValue::new("queue", "q1")]);
    meter.f64_histogram("checkout.duration").with_unit("s").build().record(0.3, &[]);
}

const PULL: &str = r#"file_format: "1.0"
resource:
  attributes:
    - {name: service.name, value: config-pull}
    - {name: deployment.environment, value: prod}
    - {name: team, value: payments}
meter_provider:
  readers:
    - pull:
        exporter:
          prometheus/development:
            host: 127.0.0.1
            port: ${PORT}
            without_scope_info: ${NO_SCOPE:-true}
            without_target_info/development: false
            with_resource_constant_labels: {included: ["deployment.*", "team"], excluded: [team]}
            translation_strategy: underscore_escaping_without_suffixes/development
  views:
    - selector: {instrument_name: checkout.duration}
      stream:
        aggregation: {explicit_bucket_histogram: {boundaries: [0.1, 0.25, 0.5]}}
"#;

#[test]
fn a_pull_reader_takes_every_prometheus_property_from_the_file() {
    let port = free_port();
    let path = write_config("config-pull", PULL);
    let env = Env::from_pairs([("OTEL_CONFIG_FILE", path.to_str().expect("utf-8 path").to_owned()), ("PORT", port.to_string())]);
    let telemetry = Telemetry::builder().env(env).exporter(from_env()).build().expect("build from the file");
    assert_eq!(telemetry.endpoints(), [format!("http://127.0.0.1:{port}/metrics")]);
    record(&telemetry);
    let (status, body) = http_get(&format!("http://127.0.0.1:{port}/metrics")).expect("scrape");
    assert_eq!(status, 200);
    assert!(!body.contains("otel_scope_"), "{body}");
    // Without suffixes: no `_total`, no unit word.
    assert!(body.contains("jobs_done{deployment_environment=\"prod\",queue=\"q1\"} 3\n"), "{body}");
    assert!(body.contains("checkout_duration_bucket{deployment_environment=\"prod\",le=\"0.25\"} 0\n"), "{body}");
    assert!(body.contains("checkout_duration_bucket{deployment_environment=\"prod\",le=\"0.5\"} 1\n"), "{body}");
    assert!(!body.contains("le=\"0.005\""), "the view's boundaries replace the unit's defaults: {body}");
    assert!(body.contains("target_info{") && body.contains("team=\"payments\""), "{body}");
}

#[test]
fn the_programs_own_settings_win_and_the_file_fills_the_rest() {
    let (file_port, own_port) = (free_port(), free_port());
    let path = write_config("config-precedence", PULL);
    let env = Env::from_pairs([("OTEL_CONFIG_FILE", path.to_str().expect("utf-8 path").to_owned()), ("PORT", file_port.to_string())]);
    let mine = PrometheusExporter::new().listen(format!("127.0.0.1:{own_port}"));
    let telemetry = Telemetry::builder().env(env).exporter(from_env().prometheus(mine)).build().expect("build");
    assert_eq!(telemetry.endpoints(), [format!("http://127.0.0.1:{own_port}/metrics")]);
    record(&telemetry);
    let (_, body) = http_get(&format!("http://127.0.0.1:{own_port}/metrics")).expect("scrape");
    assert!(body.contains("jobs_done{deployment_environment=\"prod\",queue=\"q1\"} 3\n"), "the file's naming applies: {body}");
}

#[test]
fn a_port_from_the_file_for_a_program_serving_its_own_metrics_is_reported_with_its_line() {
    let log = otel_tests::CapturedLog::default();
    let _guard = tracing::subscriber::set_default(log.subscriber());
    let path = write_config("config-own-server", PULL);
    let env = Env::from_pairs([("OTEL_CONFIG_FILE", path.to_str().expect("utf-8 path").to_owned()), ("PORT", free_port().to_string())]);
    let mine = PrometheusExporter::new().without_server();
    let telemetry = Telemetry::builder().env(env).exporter(from_env().prometheus(mine)).build().expect("build");
    assert!(telemetry.endpoints().is_empty(), "{:?}", telemetry.endpoints());
    let text = log.text();
    for key in ["port", "host"] {
        let expected = format!("{}, line ", path.display());
        let line = text
            .lines()
            .find(|l| l.contains(&format!("prometheus/development.{key}")))
            .unwrap_or_else(|| panic!("no warning for {key}: {text}"));
        assert!(line.contains(&expected) && line.contains("without_server") && line.contains("WARN"), "{line}");
    }
    assert_eq!(text.matches("has no effect").count(), 2, "once each: {text}");
}

#[test]
fn periodic_readers_drive_every_push_exporter() {
    let rotel = Rotel::start();
    let (_gateway, gateway_url) = pushgateway();
    let textfile_dir = scratch_dir("config-textfile");
    let influx_file = scratch_dir("config-influx").join("metrics.lp");
    let text = format!(
        r#"file_format: "1.0"
resource:
  attributes: [{{name: service.name, value: config-push}}]
meter_provider:
  readers:
    - periodic:
        interval: 200
        exporter:
          otlp_grpc:
            endpoint: http://{grpc}
            headers: [{{name: x-api-key, value: from-file}}]
            compression: gzip
    - periodic:
        interval: 200
        exporter:
          otlp_http:
            endpoint: http://{http}/v1/metrics
            headers_list: x-api-key=k2
            temporality_preference: delta
    - periodic:
        interval: 200
        exporter:
          textfile: {{directory: {dir}, file_name: from-config.prom}}
    - periodic:
        interval: 200
        exporter:
          pushgateway: {{endpoint: "{gateway_url}", job: config-job, grouping: [{{name: shard, value: "7"}}]}}
    - periodic:
        interval: 200
        exporter:
          influx: {{endpoint: "{lp}"}}
"#,
        grpc = rotel.grpc,
        http = rotel.http,
        dir = textfile_dir.display(),
        lp = influx_file.display(),
    );
    let path = write_config("config-push", &text);
    let telemetry = Telemetry::builder().env(Env::empty()).config_file(&path).exporter(from_env()).build().expect("build from the file");
    record(&telemetry);
    // Both OTLP transports, one cumulative and one delta.
    rotel.wait_for_all(&["AGGREGATION_TEMPORALITY_CUMULATIVE", "AGGREGATION_TEMPORALITY_DELTA", "-> Name: jobs.done"]);
    let prom = textfile_dir.join("from-config.prom");
    let written = wait_for(Duration::from_secs(10), || std::fs::read_to_string(&prom).ok().filter(|t| t.contains("jobs_done_total")));
    assert!(written.is_some(), "the textfile reader wrote {}", prom.display());
    let pushed = wait_for(Duration::from_secs(10), || {
        let (_, body) = http_get(&format!("{gateway_url}/metrics")).ok()?;
        body.lines()
            .any(|l| l.starts_with("jobs_done_total{") && l.contains("job=\"config-job\"") && l.contains("shard=\"7\""))
            .then_some(())
    });
    assert!(pushed.is_some(), "the Pushgateway received the group");
    let lines = wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&influx_file).ok().filter(|t| t.contains("jobs_done,otel_scope_name=shop,queue=q1 total=3"))
    });
    assert!(lines.is_some(), "the line-protocol reader wrote {}", influx_file.display());
    telemetry.shutdown().expect("shutdown");
}

#[test]
fn an_exporter_value_the_exporter_refuses_names_the_path_and_line() {
    let cases = [
        ("otlp_http: {compression: zstd}", "meter_provider.readers[0].periodic.exporter.otlp_http.compression", "zstd"),
        ("otlp_http: {encoding: json}", "meter_provider.readers[0].periodic.exporter.otlp_http.encoding", "protobuf"),
        ("otlp_grpc: {tls: {cert_file: /c.pem}}", "meter_provider.readers[0].periodic.exporter.otlp_grpc.tls.cert_file", "key_file"),
        ("textfile: {file_name: x.prom}", "meter_provider.readers[0].periodic.exporter.textfile", "directory"),
        ("pushgateway: {endpoint: http://h, method: patch}", "meter_provider.readers[0].periodic.exporter.pushgateway.method", "put"),
        (
            "console: {temporality_preference: delta}",
            "meter_provider.readers[0].periodic.exporter.console.temporality_preference",
            "cumulative",
        ),
        // Refused by the exporter when it attaches: located at its reader.
        ("influx: {endpoint: \"file:///x.lp\"}", "meter_provider.readers[0]", "file:// is not supported"),
    ];
    for (exporter, path, what) in cases {
        let text = format!("file_format: \"1.0\"\nmeter_provider:\n  readers:\n    - periodic:\n        exporter:\n          {exporter}\n");
        let file = write_config("config-refused", &text);
        let message =
            Telemetry::builder().env(Env::empty()).config_file(&file).exporter(from_env()).build().expect_err(exporter).to_string();
        let line = if path.ends_with("readers[0]") { 4 } else { 6 };
        assert!(message.contains(&format!(", line {line}: {path}: ")) && message.contains(what), "{message}");
    }
}
