//! The generated rules and dashboards against the running demo and a real Prometheus 3 and
//! Alertmanager 0.25: after a minute every recording rule and every dashboard query answers and
//! no alert fires; with faults injected, every seeded alert fires and Alertmanager delivers it.
//!
//! Alerts not seeded here, and why: the two `GrpcLatencyBudgetBurn*` alerts (the demo's gRPC
//! service is a standard health service; only errors are injected there), `PipelineExpositionDropped` (the
//! catalog refuses the labels an exporter would have to leave out), `PipelineScrapeSlow` (it
//! needs a collection slower than a second). Their rules are proven by `promtool test rules`
//! (collector-config/tests/rendered.rs). Native-histogram queries of the quantile panels return
//! nothing here because the demo records classic histograms; the classic query beside each one
//! answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use otel_ops::{render, Options};
use otel_tests::{
    free_port, http_get, program, sample_label_names, scratch_dir, wait_for, ExampleRun, Process, Prometheus, PrometheusVersion,
};
use serde_json::Value;

const SEEDED: &[&str] = &[
    "HttpAvailabilityBudgetBurnFast",
    "HttpAvailabilityBudgetBurnSlow",
    "HttpLatencyBudgetBurnFast",
    "HttpLatencyBudgetBurnSlow",
    "GrpcAvailabilityBudgetBurnFast",
    "GrpcAvailabilityBudgetBurnSlow",
    "WorkerPollFailures",
    "WorkerExecuteFailures",
    "WorkerUpdateErrors",
    "WorkerQueueFull",
    "WorkerRestarts",
    "WorkerApiErrors",
    "JobFailureRate",
    "JobTimeouts",
    "ServiceFailed",
    "ServiceRestartStorm",
    "PipelineExportFailing",
    "PipelineRecordingDropped",
    "TargetDown",
];

/// The rules and dashboards rendered with every alert's `for` at 0 s, so a short run can show
/// them firing.
fn rendered() -> PathBuf {
    let out = scratch_dir("otel-ops-live");
    let inventory = otel_ops::demo_inventory().expect("inventory");
    render(&out, &out.join("docs"), &inventory, &Options { slos: Vec::new(), hold_override: Some("0s".into()), ..Options::default() })
        .expect("render");
    out
}

fn rule_files(out: &Path) -> String {
    let mut files: Vec<String> = std::fs::read_dir(out.join("rules"))
        .expect("rules")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".rules.yml"))
        .map(|p| format!("  - '{}'\n", p.display()))
        .collect();
    files.sort();
    files.concat()
}

fn prometheus(out: &Path, targets: &[(&str, String, String)], alertmanager: Option<u16>) -> Prometheus {
    let scrape: String = targets
        .iter()
        .map(|(job, target, path)| {
            format!("  - job_name: '{job}'\n    metrics_path: '{path}'\n    static_configs:\n      - targets: ['{target}']\n")
        })
        .collect();
    let alerting = alertmanager
        .map(|port| format!("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{port}']\n"))
        .unwrap_or_default();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{}{alerting}scrape_configs:\n{scrape}",
        rule_files(out)
    );
    Prometheus::start_version(PrometheusVersion::V3, &config, &[])
}

fn demo(args: &[&str], env: &[(&str, &str)]) -> ExampleRun {
    let mut all = vec!["--listen", "127.0.0.1:0", "--api", "127.0.0.1:0", "--duration", "150"];
    all.extend(args);
    ExampleRun::start_with_env(env!("CARGO_BIN_EXE_otel-demo"), &all, env)
}

fn firing(prometheus: &Prometheus) -> Vec<String> {
    let alerts = prometheus.api("/api/v1/alerts");
    let mut names: Vec<String> = alerts["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["state"] == "firing")
        .filter_map(|a| a["labels"]["alertname"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn a_minute_of_the_demo_answers_every_recording_rule_and_panel_and_fires_nothing() {
    let out = rendered();
    let demo = demo(&[], &[]);
    // Everything the demo exposes is in the generated reference.
    let (_, body) = http_get(&demo.metrics_url).expect("scrape the demo");
    let reference = std::fs::read_to_string(out.join("docs/metrics.md")).expect("metrics.md");
    let undocumented: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .filter(|family| *family != "target_info")
        .filter(|family| {
            let base = family.trim_end_matches("_count").trim_end_matches("_sum");
            !reference.contains(&format!("`{family}`")) && !reference.contains(&format!("`{base}`"))
        })
        .collect();
    assert!(undocumented.is_empty(), "families missing from metrics.md: {undocumented:?}");
    // And every label a sample carries is one the inventory names for its metric.
    let inventory = otel_ops::demo_inventory().expect("inventory");
    let mut stray = Vec::new();
    for (line, labels) in sample_label_names(&body) {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        let Some(metric) = inventory.metrics().iter().find(|m| {
            [name, name.trim_end_matches("_bucket"), name.trim_end_matches("_count"), name.trim_end_matches("_sum")]
                .contains(&m.family.as_str())
        }) else {
            continue;
        };
        for label in labels {
            // A scrape renames the exposition's `job` and `instance` to `exported_*`, as the inventory has them.
            let scraped = if label == "job" || label == "instance" { format!("exported_{label}") } else { label.clone() };
            let known =
                metric.labels.contains(&scraped) || ["otel_scope_name", "le", "quantile", "otel_metric_overflow"].contains(&label.as_str());
            if !known {
                stray.push(format!("{name}: {label}"));
            }
        }
    }
    stray.sort();
    stray.dedup();
    assert!(stray.is_empty(), "labels the inventory does not know: {stray:?}");

    let prometheus = prometheus(&out, &[("otel-demo", demo.target(), demo.metrics_path())], None);
    std::thread::sleep(Duration::from_secs(60));

    let rules = prometheus.api("/api/v1/rules");
    let mut records = Vec::new();
    for group in rules["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            assert_eq!(rule["health"], "ok", "{rule}");
            if rule["type"] == "recording" {
                records.push(rule["name"].as_str().expect("name").to_owned());
            }
        }
    }
    assert!(records.len() > 40, "{records:?}");
    let silent_records: Vec<&String> = records.iter().filter(|r| prometheus.query(r).is_empty()).collect();
    assert!(silent_records.is_empty(), "recording rules without a series: {silent_records:?}");

    let mut empty = Vec::new();
    let mut answered = 0;
    for entry in std::fs::read_dir(out.join("dashboards")).expect("dashboards") {
        let path = entry.expect("entry").path();
        let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        for panel in dashboard["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("expr");
                let native = expr.starts_with("histogram_quantile(") && !expr.contains("_bucket{");
                let query = expr.replace("$__rate_interval", "1m").replace("$job", ".+").replace("$instance", ".+");
                let result = prometheus.query(&query);
                match (native, result.is_empty()) {
                    (true, true) => {}
                    (true, false) => panic!("native query answered from classic histograms? {query}"),
                    (false, true) => empty.push(format!("{}: {} -> {query}", path.display(), panel["title"])),
                    (false, false) => answered += 1,
                }
            }
        }
    }
    assert!(empty.is_empty(), "panel queries without a series: {empty:#?}");
    assert!(answered > 40, "{answered}");
    assert_eq!(firing(&prometheus), Vec::<String>::new(), "nothing is wrong, nothing fires");
    let _ = demo;
}

/// A webhook receiver: every POST body it got.
fn webhook() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let received = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            received.lock().expect("lock").push(String::from_utf8_lossy(&body).into_owned());
            let _ = reader.get_mut().write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (port, bodies)
}

#[test]
fn injected_faults_fire_every_seeded_alert_and_alertmanager_delivers_them() {
    let out = rendered();
    let (hook, bodies) = webhook();
    // The rendered Alertmanager routing, pointed at the test's receiver and without waiting.
    let config = std::fs::read_to_string(out.join("collectors/alertmanager.yml"))
        .expect("alertmanager.yml")
        .replace("http://127.0.0.1:5001", &format!("http://127.0.0.1:{hook}"))
        .replace("group_wait: 30s", "group_wait: 1s")
        .replace("group_wait: 10s", "group_wait: 1s")
        .replace("group_interval: 5m", "group_interval: 1s");
    let dir = scratch_dir("alertmanager");
    std::fs::write(dir.join("alertmanager.yml"), config).expect("write");
    let am_port = free_port();
    let mut command = Command::new(program("prometheus-alertmanager"));
    command
        .arg(format!("--config.file={}", dir.join("alertmanager.yml").display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
        .arg("--cluster.listen-address=");
    let mut alertmanager = Process::start("prometheus-alertmanager", command, dir.join("alertmanager.log"));
    alertmanager.wait_ready(&format!("http://127.0.0.1:{am_port}/-/ready"));

    // Faults everywhere, and OTLP pushed to a port where nothing listens.
    let dead = free_port();
    let endpoint = format!("http://127.0.0.1:{dead}");
    let env = [
        ("OTEL_METRICS_EXPORTER", "prometheus,otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
    ];
    let demo = demo(&["--inject-errors", "50", "--inject-latency", "700", "--inject-restarts"], &env);
    let gone = format!("127.0.0.1:{}", free_port());
    let prometheus =
        prometheus(&out, &[("otel-demo", demo.target(), demo.metrics_path()), ("gone", gone, "/metrics".into())], Some(am_port));

    let all_firing = wait_for(Duration::from_secs(120), || {
        let names = firing(&prometheus);
        SEEDED.iter().all(|s| names.iter().any(|n| n == s)).then_some(names)
    });
    let names = all_firing.unwrap_or_else(|| {
        let names = firing(&prometheus);
        let missing: Vec<_> = SEEDED.iter().filter(|s| !names.iter().any(|n| n == *s)).collect();
        panic!("not firing: {missing:?}; firing: {names:?}\ndemo:\n{}", demo.output())
    });
    let delivered = wait_for(Duration::from_secs(60), || {
        let got = bodies.lock().expect("lock").concat();
        SEEDED.iter().all(|s| got.contains(&format!("\"alertname\":\"{s}\""))).then_some(got)
    });
    let got = bodies.lock().expect("lock").concat();
    assert!(
        delivered.is_some(),
        "Alertmanager delivered only part: {:?}\n{}",
        SEEDED.iter().filter(|s| !got.contains(*s)).collect::<Vec<_>>(),
        alertmanager.output()
    );
    // Pages went to the on-call receiver, the rest to the team's.
    assert!(got.contains("\"receiver\":\"on-call\"") && got.contains("\"receiver\":\"team\""), "{got}");
    assert!(names.len() >= SEEDED.len());
}

#[test]
fn the_rendered_prometheus_config_deploys_as_rendered_every_target_scraped_once_none_down() {
    let demo = demo(&[], &[]);
    let textfiles = scratch_dir("rendered-textfiles");
    let (_node, node) = otel_tests::node_exporter(&textfiles);
    let (_pg, pushgateway) = otel_tests::pushgateway();
    let pushgateway = pushgateway.trim_start_matches("http://").to_owned();
    // Without the optional components asked for, and with them; on Prometheus 3 and on 2.42, the
    // oldest supported.
    let runs = [
        ("plain", None, None, PrometheusVersion::V3),
        ("all", Some(node.clone()), Some(pushgateway.clone()), PrometheusVersion::V3),
        ("all", Some(node.clone()), Some(pushgateway.clone()), PrometheusVersion::V2),
    ];
    for (name, node_exporter, pushgateway, version) in runs {
        let out = scratch_dir(&format!("otel-ops-deploy-{name}"));
        let scrape = otel_ops::Scrape {
            job: "checkout".to_owned(),
            targets: vec![demo.target()],
            node_exporter,
            pushgateway,
            ..otel_ops::Scrape::default()
        };
        let expected = if name == "plain" { 1.0 } else { 3.0 };
        let options = Options { scrape, slos: vec![otel_ops::Slo::parse("job=checkout").expect("slo")], ..Options::default() };
        assert!(options.unknown_slo_jobs().is_empty(), "{:?}", options.unknown_slo_jobs());
        render(&out, &out.join("docs"), &otel_ops::demo_inventory().expect("inventory"), &options).expect("render");
        let prometheus = Prometheus::start_config_file_version(version, &out.join("prometheus/prometheus.yml"), &[]);
        let name = format!("{name} on {version:?}");
        let up = wait_for(Duration::from_secs(40), || {
            let n = prometheus.query("count(up == 1)").first()?["value"][1].as_str()?.parse::<f64>().ok()?;
            (n == expected).then_some(n)
        });
        assert_eq!(up, Some(expected), "{name}: {}", prometheus.targets());
        assert!(prometheus.query("up == 0").is_empty(), "{name}: a target is down: {}", prometheus.targets());
        assert!(prometheus.query("count by (instance) (up) > 1").is_empty(), "{name}: a target scraped twice: {}", prometheus.targets());
        assert_eq!(prometheus.value(r#"count(up{job="checkout"})"#), 1.0, "{name}");
        // The service's series carry the rendered job, which the objective names.
        assert!(!prometheus.query_nonempty(r#"http_server_request_duration_seconds_count{job="checkout"}"#).is_empty());
    }
    // An objective for a job nothing scrapes is pointed out, with where `job` comes from.
    let options = Options { slos: vec![otel_ops::Slo::parse("job=nope").expect("slo")], ..Options::default() };
    let warnings = options.unknown_slo_jobs();
    assert!(warnings.len() == 1 && warnings[0].contains("otel-demo") && warnings[0].contains("--job"), "{warnings:?}");
}
