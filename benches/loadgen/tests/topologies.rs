//! The scale-out topologies of `collector-config/scale-out/`, each with real parts on loopback
//! and a fleet from otel-loadgen, checked for exact totals at the end:
//! - pull, sharded: two Prometheus agents split the instances with `hashmod` and remote-write
//!   to VictoriaMetrics and to a central Prometheus; both hold every series once;
//! - push through a gateway tier: instances → rotel gateway → rotel recorder; the gateway is
//!   killed for 20 s mid-run and restarted, and the cumulative totals lose nothing;
//! - push through agents and a gateway of the OpenTelemetry Collector, as rendered, into
//!   Prometheus 3's remote-write receiver; the gateway is killed for 20 s mid-run and restarted;
//! - mixed: every instance is scraped and pushes at once, with the same names and totals.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{finish, gateway, loadgen, PullTopology};
use otel_exporters::{EncodeOptions, MetricType};
use otel_tests::{loopback, repo_root, scratch_dir, wait_for, Otelcol, Prometheus, PrometheusVersion, Rotel};
use serde_json::Value;

/// A PromQL query against one store.
type Query<'a> = &'a dyn Fn(&str) -> Vec<Value>;

fn number(result: &[Value]) -> Option<f64> {
    result.first()?["value"][1].as_str()?.parse().ok()
}

#[test]
fn two_sharded_agents_remote_write_every_series_once_with_exact_totals() {
    let dir = scratch_dir("pull-topology");
    let topology = PullTopology::start(&dir, "1s");
    // 12 instances: the hashmod shards both get targets except once in 2,048 port draws (with
    // 6 it was once in 32).
    let args = format!("--instances 12 --series 20 --ticks 10 --interval 500 --pull --targets-file {} --linger 6", topology.targets);
    let (process, summary) = loadgen(&dir, &args);
    let summary = finish(process, &summary, Duration::from_secs(90));
    let expected = summary["expected_loadgen_requests_total"].as_f64().expect("expected total");
    assert_eq!(expected, 12.0 * 16.0 * 10.0);
    let (central, vm) = (&topology.central, &topology.vm);

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
        assert_eq!(number(&query(instances)), Some(12.0), "{store}: every instance");
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
    let (gateway_process, ports) = gateway(None, &recorder.grpc);
    let args = format!(
        "--instances 4 --series 10 --histograms 0 --gauges 0 --ticks 36 --interval 1000 --export-interval 1000 --otlp http://{} --linger 6",
        ports.0
    );
    let (process, summary) = loadgen(&dir, &args);
    std::thread::sleep(Duration::from_secs(8));
    drop(gateway_process);
    std::thread::sleep(Duration::from_secs(20));
    let _gateway = gateway(Some(ports), &recorder.grpc);
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
fn agents_and_a_gateway_of_the_real_collector_restarted_after_20_s_keep_prometheus_3_totals_exact() {
    let dir = scratch_dir("otelcol-topology");
    let store =
        Prometheus::start_version(PrometheusVersion::V3, "global:\n  scrape_interval: 15s\n", &["--web.enable-remote-write-receiver"]);
    let collectors = repo_root().join("collector-config/collectors");
    let mut gateway = Otelcol::rendered_gateway(&collectors.join("otelcol-gateway.yaml"), &format!("{}/api/v1/write", store.base()));
    // Two agents, each taking half the instances' OTLP and forwarding it to the gateway (nothing
    // for them to scrape).
    let agents: Vec<Otelcol> =
        (0..2).map(|_| Otelcol::rendered_agent(&collectors.join("otelcol-agent.yaml"), &loopback(), &gateway.grpc, &loopback())).collect();
    let fleets: Vec<_> = agents
        .iter()
        .enumerate()
        .map(|(i, agent)| {
            let fleet = dir.join(format!("fleet-{i}"));
            std::fs::create_dir_all(&fleet).expect("fleet dir");
            let args = format!(
                "--first {} --instances 2 --series 10 --histograms 0 --gauges 0 --ticks 36 --interval 1000 --export-interval 1000 --otlp http://{} --linger 6",
                i * 2,
                agent.grpc
            );
            loadgen(&fleet, &args)
        })
        .collect();
    std::thread::sleep(Duration::from_secs(8));
    gateway.kill();
    std::thread::sleep(Duration::from_secs(20));
    gateway.restart();
    let mut expected = 0.0;
    for (process, summary) in fleets {
        expected += finish(process, &summary, Duration::from_secs(90))["expected_loadgen_requests_total"].as_f64().expect("expected");
    }
    assert_eq!(expected, 4.0 * 10.0 * 36.0);
    let total = "sum(last_over_time(loadgen_requests_total[10m]))";
    let exact = wait_for(Duration::from_secs(60), || (number(&store.query(total)) == Some(expected)).then_some(()));
    assert!(exact.is_some(), "{total} = {:?}, expected {expected}\ngateway:\n{}", number(&store.query(total)), gateway.output());
    let instances = "count(count by (instance) (last_over_time(loadgen_requests_total[10m])))";
    assert_eq!(number(&store.query(instances)), Some(4.0), "every instance");
    let series = "count(last_over_time(loadgen_requests_total[10m]))";
    assert_eq!(number(&store.query(series)), Some(40.0), "every series once");
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
    let args = format!(
        "--instances 3 --series 10 --histograms 0 --gauges 0 --ticks 8 --interval 500 --pull --targets-file {} --otlp http://{} --linger 5",
        targets.display(),
        recorder.grpc
    );
    let (process, summary) = loadgen(&dir, &args);
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

#[test]
fn the_command_line_takes_flag_equals_value_version_and_suggests_the_meant_flag() {
    let dir = scratch_dir("loadgen-cli");
    let targets = format!("--targets-file={}", dir.join("new-folder/targets.json").display());
    otel_tests::assert_cli(
        env!("CARGO_BIN_EXE_otel-loadgen"),
        "otel-loadgen",
        &["--instanses", "2"],
        "--instances",
        &["--instances=2", "--series=10", "--ticks=1", "--interval=10", "--linger=0", "--pull", &targets],
    );
    assert!(dir.join("new-folder/targets.json").is_file(), "the targets file's folder is created");
}
