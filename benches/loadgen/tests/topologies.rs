//! The scale-out topologies of `collector-config/scale-out/`, each with real parts on loopback
//! and a fleet from otel-loadgen, checked for exact totals at the end:
//! - pull, sharded: two Prometheus agents split the instances with `hashmod` and remote-write
//!   to VictoriaMetrics and to a central Prometheus; both hold every series once;
//! - push through a gateway tier: instances → rotel gateway → rotel recorder; the gateway is
//!   killed for 20 s mid-run and restarted, and the cumulative totals lose nothing;
//! - mixed: every instance is scraped and pushes at once, with the same names and totals.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use otel_exporters::{EncodeOptions, MetricType};
use otel_tests::{free_port, repo_root, scratch_dir, wait_for, Process, Prometheus, Rotel, VictoriaMetrics};
use serde_json::Value;

/// otel-loadgen with these arguments and a summary file; running until it stops by itself.
fn loadgen(dir: &Path, args: &[&str]) -> (Process, PathBuf) {
    let summary = dir.join("summary.json");
    let mut command = Command::new(env!("CARGO_BIN_EXE_otel-loadgen"));
    command.args(args).arg("--summary").arg(&summary);
    (Process::start("otel-loadgen", command, dir.join("loadgen.log")), summary)
}

fn finish(mut process: Process, summary: &Path, timeout: Duration) -> Value {
    let status = process.wait_exit(timeout);
    assert!(status.success(), "otel-loadgen failed: {}", process.output());
    serde_json::from_str(&std::fs::read_to_string(summary).expect("summary")).expect("summary JSON")
}

fn config(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("collector-config/scale-out").join(name)).expect("scale-out config")
}

/// A PromQL query against one store.
type Query<'a> = &'a dyn Fn(&str) -> Vec<Value>;

fn number(result: &[Value]) -> Option<f64> {
    result.first()?["value"][1].as_str()?.parse().ok()
}

#[test]
fn two_sharded_agents_remote_write_every_series_once_with_exact_totals() {
    let dir = scratch_dir("pull-topology");
    std::fs::create_dir_all(dir.join("targets")).expect("targets dir");
    let vm = VictoriaMetrics::start();
    let central = Prometheus::start_config(&config("central.yml"), &["--web.enable-remote-write-receiver"]);
    let vm_port = vm.base.rsplit(':').next().unwrap_or_default().to_owned();
    let central_port = central.base().rsplit(':').next().unwrap_or_default().to_owned();
    let _agents: Vec<Prometheus> = ["agent-0.yml", "agent-1.yml"]
        .iter()
        .map(|file| {
            let text = config(file)
                .replace("'targets/*.json'", &format!("'{}/targets/*.json'", dir.display()))
                .replace("127.0.0.1:8428", &format!("127.0.0.1:{vm_port}"))
                .replace("127.0.0.1:9090", &format!("127.0.0.1:{central_port}"))
                .replace("scrape_interval: 15s", "scrape_interval: 1s")
                .replace("refresh_interval: 30s", "refresh_interval: 1s");
            Prometheus::start_agent(&text)
        })
        .collect();
    let targets = dir.join("targets/loadgen.json").display().to_string();
    let (process, summary) = loadgen(
        &dir,
        &[
            "--instances",
            "6",
            "--series",
            "20",
            "--ticks",
            "10",
            "--interval",
            "500",
            "--pull",
            "--targets-file",
            &targets,
            "--linger",
            "6",
        ],
    );
    let summary = finish(process, &summary, Duration::from_secs(90));
    let expected = summary["expected_loadgen_requests_total"].as_f64().expect("expected total");
    assert_eq!(expected, 6.0 * 16.0 * 10.0);

    let total = "sum(last_over_time(loadgen_requests_total[10m]))";
    let instances = "count(count by (instance) (last_over_time(loadgen_requests_total[10m])))";
    let shards = "count(count by (agent) (last_over_time(loadgen_requests_total[10m])))";
    let twice = "count by (instance, route, shard) (last_over_time(loadgen_requests_total[10m])) > 1";
    let from_central = |q: &str| central.query(q);
    let from_vm = |q: &str| vm.query(q);
    let stores: [(&str, Query); 2] = [("central Prometheus", &from_central), ("VictoriaMetrics", &from_vm)];
    for (store, query) in stores {
        let exact = wait_for(Duration::from_secs(40), || (number(&query(total)) == Some(expected)).then_some(()));
        assert!(exact.is_some(), "{store}: {total} = {:?}, expected {expected}", number(&query(total)));
        assert_eq!(number(&query(instances)), Some(6.0), "{store}: every instance");
        assert_eq!(number(&query(shards)), Some(2.0), "{store}: both agents wrote");
        assert!(query(twice).is_empty(), "{store}: a series held twice");
    }
}

/// The latest value of every data point of `metric` the recorder logged, by instance and
/// attributes: for cumulative sums, the totals.
fn cumulative_totals(log: &str, metric: &str) -> BTreeMap<(String, String), f64> {
    let mut totals = BTreeMap::new();
    let (mut instance, mut name, mut attributes) = (String::new(), String::new(), String::new());
    for line in log.lines() {
        let line = line.trim();
        if let Some(id) = line.strip_prefix("-> service.instance.id: Str(") {
            instance = id.trim_end_matches(')').to_owned();
        } else if let Some(n) = line.strip_prefix("-> Name: ") {
            name = n.to_owned();
        } else if line.starts_with("NumberDataPoints #") {
            attributes.clear();
        } else if line.starts_with("-> ") && name == metric {
            attributes.push_str(line);
        } else if let Some(value) = line.strip_prefix("Value: ").filter(|_| name == metric) {
            if let Ok(v) = value.parse::<f64>() {
                totals.insert((instance.clone(), attributes.clone()), v);
            }
        }
    }
    totals
}

#[test]
fn a_gateway_tier_restarted_after_20_s_down_loses_nothing_in_the_totals() {
    let dir = scratch_dir("push-topology");
    let recorder = Rotel::start();
    let (grpc, http) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let forward = format!("http://{}", recorder.grpc);
    // The shipped gateway's command line, pointed at the test's ports.
    let script = config("gateway.sh");
    assert!(script.contains("--exporter otlp") && script.contains("--otlp-exporter-protocol grpc"), "{script}");
    let gateway_args = ["--exporter", "otlp", "--otlp-exporter-endpoint", forward.as_str(), "--otlp-exporter-protocol", "grpc"];
    let gateway = Rotel::start_on(&grpc, &http, &gateway_args);
    let endpoint = format!("http://{grpc}");
    let (process, summary) = loadgen(
        &dir,
        &[
            "--instances",
            "4",
            "--series",
            "10",
            "--histograms",
            "0",
            "--gauges",
            "0",
            "--ticks",
            "36",
            "--interval",
            "1000",
            "--export-interval",
            "1000",
            "--otlp",
            &endpoint,
            "--linger",
            "6",
        ],
    );
    std::thread::sleep(Duration::from_secs(8));
    drop(gateway);
    std::thread::sleep(Duration::from_secs(20));
    let _gateway = Rotel::start_on(&grpc, &http, &gateway_args);
    let summary = finish(process, &summary, Duration::from_secs(90));
    assert!(summary["data_points_lost"].as_f64().unwrap_or(0.0) > 0.0, "the outage cost exports: {summary}");
    let expected = summary["expected_loadgen_requests_total"].as_f64().expect("expected");
    assert_eq!(expected, 4.0 * 10.0 * 36.0);
    let totals = wait_for(Duration::from_secs(30), || {
        let totals = cumulative_totals(&recorder.received(), "loadgen.requests");
        (totals.values().sum::<f64>() == expected).then_some(totals)
    });
    let totals = totals.unwrap_or_else(|| cumulative_totals(&recorder.received(), "loadgen.requests"));
    assert_eq!(totals.values().sum::<f64>(), expected, "{totals:?}");
    let instances: std::collections::BTreeSet<&String> = totals.keys().map(|(i, _)| i).collect();
    assert_eq!(instances.len(), 4, "{instances:?}");
    assert_eq!(totals.len(), 40, "every series once");
}

#[test]
fn pulled_and_pushed_at_once_the_names_and_totals_agree() {
    let dir = scratch_dir("mixed-topology");
    std::fs::create_dir_all(dir.join("targets")).expect("targets dir");
    let recorder = Rotel::start();
    let targets = dir.join("targets/loadgen.json");
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: 'services'\n    file_sd_configs:\n      - files: ['{}']\n        refresh_interval: 1s\n",
        targets.display()
    );
    let prometheus = Prometheus::start_config(&config, &[]);
    let endpoint = format!("http://{}", recorder.grpc);
    let targets_arg = targets.display().to_string();
    let (process, summary) = loadgen(
        &dir,
        &[
            "--instances",
            "3",
            "--series",
            "10",
            "--histograms",
            "0",
            "--gauges",
            "0",
            "--ticks",
            "8",
            "--interval",
            "500",
            "--pull",
            "--targets-file",
            &targets_arg,
            "--otlp",
            &endpoint,
            "--linger",
            "5",
        ],
    );
    let summary = finish(process, &summary, Duration::from_secs(60));
    let expected = summary["expected_loadgen_requests_total"].as_f64().expect("expected");
    // The name Prometheus scraped is the OTLP name as Prometheus' OTLP ingestion translates it.
    let translated = EncodeOptions::default().metric_namer.build("loadgen.requests", "", MetricType::MonotonicCounter).expect("name");
    assert_eq!(translated, "loadgen_requests_total");
    let scraped = wait_for(Duration::from_secs(20), || {
        let v = number(&prometheus.query(&format!("sum(last_over_time({translated}[10m]))")))?;
        (v == expected).then_some(v)
    });
    assert_eq!(scraped, Some(expected), "pulled total");
    let pushed = wait_for(Duration::from_secs(20), || {
        let sum: f64 = cumulative_totals(&recorder.received(), "loadgen.requests").values().sum();
        (sum == expected).then_some(sum)
    });
    assert_eq!(pushed, Some(expected), "pushed total");
}
