//! What the topology tests and the scale benchmark share: running otel-loadgen, and the
//! topologies started from the shipped configurations in `collector-config/scale-out/`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use otel_tests::{free_port, repo_root, Process, Prometheus, Rotel, VictoriaMetrics};
use serde_json::Value;

/// otel-loadgen with these (whitespace-separated) arguments and a summary file in `dir`.
pub(crate) fn loadgen(dir: &Path, args: &str) -> (Process, PathBuf) {
    let summary = dir.join("summary.json");
    let mut command = Command::new(env!("CARGO_BIN_EXE_otel-loadgen"));
    command.args(args.split_whitespace()).arg("--summary").arg(&summary);
    (Process::start("otel-loadgen", command, dir.join("loadgen.log")), summary)
}

/// Waits for otel-loadgen to stop by itself; its summary.
pub(crate) fn finish(mut process: Process, summary: &Path, timeout: Duration) -> Value {
    let status = process.wait_exit(timeout);
    assert!(status.success(), "otel-loadgen failed: {}", process.output());
    serde_json::from_str(&std::fs::read_to_string(summary).expect("summary")).expect("summary JSON")
}

/// A shipped scale-out configuration file.
pub(crate) fn scale_out(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("collector-config/scale-out").join(name)).expect("scale-out config")
}

/// The pull topology: VictoriaMetrics and a central Prometheus receiving remote writes from two
/// sharded agents, which discover the instances in `<dir>/targets/*.json`.
pub(crate) struct PullTopology {
    pub(crate) vm: VictoriaMetrics,
    pub(crate) central: Prometheus,
    pub(crate) agents: Vec<Prometheus>,
    /// Where otel-loadgen writes its targets.
    pub(crate) targets: String,
}

impl PullTopology {
    /// Starts it from the shipped files, the agents scraping every `scrape_interval`.
    pub(crate) fn start(dir: &Path, scrape_interval: &str) -> PullTopology {
        std::fs::create_dir_all(dir.join("targets")).expect("targets dir");
        let vm = VictoriaMetrics::start();
        let central = Prometheus::start_config(&scale_out("central.yml"), &["--web.enable-remote-write-receiver"]);
        let port = |base: &str| base.rsplit(':').next().unwrap_or_default().to_owned();
        let (vm_port, central_port) = (port(&vm.base), port(central.base()));
        let agents = ["agent-0.yml", "agent-1.yml"]
            .iter()
            .map(|file| {
                let text = scale_out(file)
                    .replace("'targets/*.json'", &format!("'{}/targets/*.json'", dir.display()))
                    .replace("127.0.0.1:8428", &format!("127.0.0.1:{vm_port}"))
                    .replace("127.0.0.1:9090", &format!("127.0.0.1:{central_port}"))
                    .replace("scrape_interval: 15s", &format!("scrape_interval: {scrape_interval}"))
                    .replace("refresh_interval: 30s", "refresh_interval: 1s");
                Prometheus::start_agent(&text)
            })
            .collect();
        PullTopology { vm, central, agents, targets: dir.join("targets/loadgen.json").display().to_string() }
    }
}

/// A rotel gateway on fresh ports (or these), forwarding over gRPC to `next_hop` (`host:port`),
/// as `gateway.sh` runs it.
pub(crate) fn gateway(ports: Option<(String, String)>, next_hop: &str) -> (Rotel, (String, String)) {
    let script = scale_out("gateway.sh");
    assert!(script.contains("--exporter otlp") && script.contains("--otlp-exporter-protocol grpc"), "{script}");
    let (grpc, http) = ports.unwrap_or_else(|| (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port())));
    let forward = format!("http://{next_hop}");
    let rotel =
        Rotel::start_on(&grpc, &http, &["--exporter", "otlp", "--otlp-exporter-endpoint", &forward, "--otlp-exporter-protocol", "grpc"]);
    (rotel, (grpc, http))
}
