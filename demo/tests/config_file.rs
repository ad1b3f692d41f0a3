//! The demo driven by the shipped configuration file (collector-config/otel-demo.yaml): the
//! port, the translation strategy and the scope labels come from `${...}` references, the view's
//! buckets replace the catalog's, the rules otel-ops renders from the same file answer in a real
//! Prometheus 2.42, and a wrong type stops the demo with the key's path and line.

use std::time::Duration;

use otel_core::config::ConfigFile;
use otel_core::Env;
use otel_ops::{render, Options};
use otel_tests::{free_port, repo_root, scratch_dir, wait_for, ExampleRun, Prometheus};

fn demo_file() -> String {
    repo_root().join("collector-config/otel-demo.yaml").display().to_string()
}

#[test]
fn the_shipped_file_drives_the_demo_and_the_rules_rendered_from_it_answer() {
    let port = free_port().to_string();
    let file = demo_file();
    let env = [
        ("OTEL_CONFIG_FILE", file.as_str()),
        ("METRICS_PORT", port.as_str()),
        ("TRANSLATION_STRATEGY", "underscore_escaping_without_suffixes/development"),
        ("DEPLOYMENT_ENVIRONMENT", "staging"),
        // Not read while a file is in use (the file does not reference them).
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_EXPORTER_PROMETHEUS_PORT", "1"),
    ];
    let demo = ExampleRun::start_with_env(env!("CARGO_BIN_EXE_otel-demo"), &["--api", "127.0.0.1:0", "--duration", "120"], &env);
    assert_eq!(demo.metrics_url, format!("http://127.0.0.1:{port}/metrics"));

    // The rules and dashboards for the same file, rendered as `otel-ops render --config` does.
    let config = ConfigFile::from_path(&file, &Env::from_pairs(env)).expect("the shipped file loads");
    let inventory =
        otel_ops::inventory_with_config(otel_demo::catalog().expect("catalog"), std::sync::Arc::new(config), &otel_ops::Module::ALL)
            .expect("inventory");
    assert_eq!(inventory.family("http.server.request.duration"), "http_server_request_duration");
    assert_eq!(inventory.family("job.executions"), "job_executions");
    let out = scratch_dir("otel-ops-config");
    render(&out, &out.join("docs"), &inventory, &Options::default()).expect("render");
    let mut rules: Vec<String> = std::fs::read_dir(out.join("rules"))
        .expect("rules")
        .filter_map(|e| e.ok().map(|e| e.path().display().to_string()))
        .filter(|p| p.ends_with(".rules.yml"))
        .map(|p| format!("  - '{p}'\n"))
        .collect();
    rules.sort();
    let prometheus = Prometheus::start_config(
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{}scrape_configs:\n  - job_name: otel-demo\n    static_configs:\n      - targets: ['{}']\n",
            rules.concat(),
            demo.target()
        ),
        &[],
    );
    let bounds = wait_for(Duration::from_secs(30), || {
        let series = prometheus.query("count by (le) (http_server_request_duration_bucket)");
        let mut les: Vec<String> = series.iter().filter_map(|s| s["metric"]["le"].as_str().map(str::to_owned)).collect();
        les.sort_by(|a, b| a.parse::<f64>().unwrap_or(f64::MAX).total_cmp(&b.parse::<f64>().unwrap_or(f64::MAX)));
        (!les.is_empty()).then_some(les)
    })
    .expect("Prometheus scraped the request histogram under its untranslated-suffix name");
    let bounds: Vec<f64> = bounds.iter().map(|le| if le == "+Inf" { f64::INFINITY } else { le.parse().expect("le") }).collect();
    assert_eq!(bounds, [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, f64::INFINITY], "the view's boundaries");
    assert!(prometheus.query("{otel_scope_name=~\".+\"}").is_empty(), "without_scope_info");
    assert!(!prometheus.query("job_executions{deployment_environment_name=\"staging\"}").is_empty(), "counter without `_total`");
    assert!(prometheus.query("{__name__=~\".+_total\"}").is_empty(), "no suffixes anywhere");

    // Every recording rule rendered from the file names series the endpoint serves.
    std::thread::sleep(Duration::from_secs(25));
    let (mut silent, mut records) = (Vec::new(), 0);
    let groups = prometheus.api("/api/v1/rules");
    for group in groups["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            assert_eq!(rule["health"], "ok", "{rule}");
            let name = rule["name"].as_str().expect("name");
            if rule["type"] == "recording" {
                records += 1;
                if prometheus.query(name).is_empty() {
                    silent.push(name.to_owned());
                }
            }
        }
    }
    assert!(silent.is_empty(), "recording rules without a series: {silent:?}");

    // And every dashboard query (the classic ones; the demo records no native histograms).
    let (mut answered, mut empty) = (0, Vec::new());
    for entry in std::fs::read_dir(out.join("dashboards")).expect("dashboards") {
        let dashboard: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(entry.expect("entry").path()).expect("read")).expect("json");
        for panel in dashboard["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("expr");
                if expr.starts_with("histogram_quantile(") && !expr.contains("_bucket{") {
                    continue;
                }
                let query = expr.replace("$__rate_interval", "1m").replace("$job", ".+").replace("$instance", ".+");
                if prometheus.query(&query).is_empty() {
                    empty.push(query);
                } else {
                    answered += 1;
                }
            }
        }
    }
    assert!(empty.is_empty(), "dashboard queries without a series: {empty:#?}");
    assert!(answered > 40, "{answered}");
    println!("{records} recording rules and {answered} dashboard queries rendered from the file answer");
}

#[test]
fn a_wrong_type_in_the_file_stops_the_demo_with_the_path_and_line() {
    let file = demo_file();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_otel-demo"))
        .args(["--api", "127.0.0.1:0", "--duration", "5"])
        .env("OTEL_CONFIG_FILE", &file)
        .env("METRICS_PORT", "ninety")
        .output()
        .expect("run the demo");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line =
        std::fs::read_to_string(&file).expect("read").lines().position(|l| l.contains("port: ${METRICS_PORT")).expect("port line") + 1;
    let expected = format!(
        "otel-demo: {file}, line {line}: meter_provider.readers[0].pull.exporter.prometheus/development.port: invalid type: string \"ninety\", expected u16"
    );
    assert!(stderr.contains(&expected), "{stderr}\nexpected: {expected}");
}
