//! Starting and querying the real components the integration tests run against: Prometheus 3
//! and the OpenTelemetry Collector (built from Go modules by `scripts/peers.sh`), Prometheus 2.42
//! and promtool, the rotel collector, and the other Debian components. Each runs on loopback
//! ports picked at random, is waited on until ready, and is killed by its PID when the handle
//! drops. A component that is missing is a loud failure with the command that installs or
//! builds it, never a skip.

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Configuration with no variables at all: what a test pipeline reads, so the process
/// environment of whoever runs the tests cannot change them.
pub fn empty_env() -> otel_core::Env {
    otel_core::Env::empty()
}

/// The `host:port` of a pipeline's pull endpoint, as a Prometheus static target.
pub fn scrape_target(telemetry: &otel_core::Telemetry) -> String {
    let endpoint = telemetry.endpoints().iter().find(|e| e.starts_with("http")).cloned().unwrap_or_default();
    let without_scheme = endpoint.split_once("://").map_or(endpoint.as_str(), |(_, rest)| rest);
    without_scheme.split('/').next().unwrap_or_default().to_owned()
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    listener.local_addr().expect("local address").port()
}

/// `127.0.0.1:PORT` with a port that was free a moment ago.
pub fn loopback() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// A view making the named histograms exponential (native histograms in Prometheus).
pub fn exponential_histograms(
    names: &'static [&'static str],
) -> impl Fn(&opentelemetry_sdk::metrics::Instrument) -> Option<opentelemetry_sdk::metrics::Stream> + Send + Sync + 'static {
    use opentelemetry_sdk::metrics::{Aggregation, Stream};
    move |i| {
        names.contains(&i.name()).then(|| {
            Stream::builder()
                .with_aggregation(Aggregation::Base2ExponentialHistogram { max_size: 160, max_scale: 20, record_min_max: true })
                .build()
                .ok()
        })?
    }
}

/// The instrumentation scope the workloads record in: a name, a version, a schema URL and an
/// attribute, so every scope label is exercised.
pub fn shop_scope() -> opentelemetry::InstrumentationScope {
    opentelemetry::InstrumentationScope::builder("shop.orders")
        .with_version("1.2.0")
        .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
        .with_attributes([opentelemetry::KeyValue::new("team", "payments")])
        .build()
}

/// A fresh directory for one component's files.
pub fn scratch_dir(name: &str) -> PathBuf {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!("otel-pipeline-{name}-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The path of a required program; panics with the install command when it is missing.
pub fn program(name: &str) -> PathBuf {
    if name == "rotel-agent" {
        if let Ok(p) = std::env::var("OTEL_PIPELINE_ROTEL") {
            return PathBuf::from(p);
        }
        let venv_lib = repo_root().join(".venv/lib");
        let found = fs::read_dir(&venv_lib)
            .into_iter()
            .flatten()
            .flatten()
            .map(|python| python.path().join("site-packages/rotel/rotel-agent"))
            .find(|p| p.is_file());
        return found.unwrap_or_else(|| {
            panic!("rotel-agent is missing under {}: run scripts/test.sh (it pip-installs `rotel` into .venv)", venv_lib.display())
        });
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain(["/usr/sbin".into(), "/sbin".into()]).map(|dir| dir.join(name)).find(|p| p.is_file()).unwrap_or_else(
        || panic!("{name} is not installed: run scripts/test.sh (it apt-get installs prometheus, nginx and the other components)"),
    )
}

/// The path of a peer built from Go modules by `scripts/peers.sh` (`prometheus3`, `promtool3`,
/// `otelcol`): in `$OTEL_PIPELINE_PEERS/bin`, else `~/.cache/otel-pipeline/peers/bin`. Panics
/// with the command that builds it when it is missing.
pub fn peer(name: &str) -> PathBuf {
    let cache = std::env::var_os("OTEL_PIPELINE_PEERS").map(PathBuf::from).unwrap_or_else(|| {
        let cache_home = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
        cache_home.join("otel-pipeline/peers")
    });
    let path = cache.join("bin").join(name);
    assert!(
        path.is_file(),
        "{name} is missing at {}: run scripts/peers.sh (scripts/test.sh runs it; it builds Prometheus 3 and the \
         OpenTelemetry Collector from Go modules and needs Go)",
        path.display()
    );
    path
}

/// Polls `check` until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A blocking HTTP GET; the status and body, or the transport error as text.
pub fn http_get(url: &str) -> Result<(u16, String), String> {
    http_get_typed(url).map(|(status, _, body)| (status, body))
}

/// A child process killed (by its PID) when dropped; its output goes to a log file.
#[derive(Debug)]
pub struct Process {
    child: Child,
    name: String,
    log: PathBuf,
}

impl Process {
    /// Starts `command` with stdout and stderr appended to `log`.
    pub fn start(name: &str, mut command: Command, log: PathBuf) -> Process {
        let out = fs::File::create(&log).expect("create log file");
        let err = out.try_clone().expect("clone log file");
        command.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Process { child, name: name.to_owned(), log }
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with the process's output if it has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited with {status}:\n{}", self.name, self.output());
        }
    }

    /// Waits until `url` answers 200, or panics with the process's output.
    pub fn wait_ready(&mut self, url: &str) {
        let ready = wait_for(Duration::from_secs(30), || {
            self.assert_running();
            matches!(http_get(url), Ok((200, _))).then_some(())
        });
        if ready.is_none() {
            panic!("{} did not become ready at {url}:\n{}", self.name, self.output());
        }
    }
}

/// CPU seconds (user + system) and peak resident memory (bytes) of a running process, from
/// `/proc/<pid>/stat` and `/proc/<pid>/status`.
pub fn process_usage(pid: u32) -> (f64, u64) {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024);
    ((ticks(11) + ticks(12)) / 100.0, peak)
}

impl Process {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit; panics with its output if it does not.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let status = wait_for(timeout, || self.child.try_wait().ok().flatten());
        status.unwrap_or_else(|| panic!("{} still running after {timeout:?}:\n{}", self.name, self.output()))
    }
}

/// One of the example services (`examples/`), started by its binary for a test.
#[derive(Debug)]
pub struct ExampleRun {
    process: Process,
    /// Where it serves its metrics (from its `... metrics at URL` line).
    pub metrics_url: String,
}

impl ExampleRun {
    /// Starts `binary` with `args` and no exporter settings from this process' environment;
    /// waits until it says where its metrics are.
    pub fn start(binary: &str, args: &[&str]) -> ExampleRun {
        Self::start_with_env(binary, args, &[])
    }

    /// Like [`start`](Self::start), with these environment variables set.
    pub fn start_with_env(binary: &str, args: &[&str], env: &[(&str, &str)]) -> ExampleRun {
        let name = Path::new(binary).file_name().and_then(|n| n.to_str()).unwrap_or("example").to_owned();
        let mut command = Command::new(binary);
        command.args(args).env_remove("OTEL_METRICS_EXPORTER").env_remove("OTEL_EXPORTER_OTLP_ENDPOINT").envs(env.iter().copied());
        let mut process = Process::start(&name, command, scratch_dir(&name).join("output.log"));
        let metrics_url = wait_for(Duration::from_secs(30), || {
            process.assert_running();
            process.output().lines().find_map(|l| l.split_once(": metrics at ").map(|(_, url)| url.trim().to_owned()))
        });
        let metrics_url = metrics_url.unwrap_or_else(|| panic!("{name} never said where its metrics are:\n{}", process.output()));
        ExampleRun { process, metrics_url }
    }

    /// `host:port` of the metrics endpoint, for a scrape config.
    pub fn target(&self) -> String {
        self.metrics_url.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned()
    }

    /// The metrics path, for a scrape config.
    pub fn metrics_path(&self) -> String {
        let rest = self.metrics_url.trim_start_matches("http://");
        rest.find('/').map_or("/metrics".to_owned(), |i| rest[i..].to_owned())
    }

    /// A text-format scrape once it contains every one of `needles` (waits up to 30 s); panics
    /// naming the missing ones.
    pub fn scrape_with(&self, needles: &[&str]) -> String {
        let mut last = String::new();
        let found = wait_for(Duration::from_secs(30), || {
            let (_, body) = http_get(&self.metrics_url).ok()?;
            let complete = needles.iter().all(|n| body.contains(n));
            last = body;
            complete.then(|| last.clone())
        });
        found.unwrap_or_else(|| {
            let missing: Vec<_> = needles.iter().filter(|n| !last.contains(*n)).collect();
            panic!("missing {missing:?} in\n{last}\noutput:\n{}", self.process.output())
        })
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        self.process.output()
    }

    /// Waits for the example to stop by itself (its `--duration`), asserts it succeeded, and
    /// returns everything it printed.
    pub fn finish(mut self, timeout: Duration) -> String {
        let status = self.process.wait_exit(timeout);
        let output = self.process.output();
        assert!(status.success(), "{} exited with {status}:\n{output}", self.process.name);
        output
    }
}

/// The value of the first sample of `name` in a text exposition that carries every one of
/// `labels` (other labels may be there too).
pub fn exposition_value(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition.lines().filter(|l| l.split(['{', ' ']).next() == Some(name)).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        labels.iter().all(|(k, v)| series.contains(&format!("{k}=\"{v}\""))).then(|| value.parse().ok())?
    })
}

/// VictoriaMetrics 1.79 on a loopback port (remote write on `/api/v1/write`, line protocol on
/// `/write`, PromQL on `/api/v1/query`).
#[derive(Debug)]
pub struct VictoriaMetrics {
    process: Process,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl VictoriaMetrics {
    /// Starts it with an empty store and no query latency offset.
    pub fn start() -> VictoriaMetrics {
        let port = free_port();
        let dir = scratch_dir("victoria-metrics");
        let mut command = Command::new(program("victoria-metrics"));
        command
            .arg(format!("-storageDataPath={}", dir.join("data").display()))
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg("-search.latencyOffset=0s")
            .arg("-search.disableCache");
        let mut process = Process::start("victoria-metrics", command, dir.join("vm.log"));
        let base = format!("http://127.0.0.1:{port}");
        process.wait_ready(&format!("{base}/health"));
        VictoriaMetrics { process, base }
    }

    /// An instant PromQL query after flushing what was ingested; the `data.result` array.
    pub fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let client = reqwest::blocking::Client::new();
        let _ = client.get(format!("{}/internal/force_flush", self.base)).send();
        let body: Option<serde_json::Value> =
            client.get(format!("{}/api/v1/query", self.base)).query(&[("query", promql)]).send().ok().and_then(|r| r.json().ok());
        body.and_then(|b| b["data"]["result"].as_array().cloned()).unwrap_or_default()
    }

    /// The value of a single-series query once it has one (waits up to 30 s).
    pub fn value(&self, promql: &str) -> Option<f64> {
        wait_for(Duration::from_secs(30), || self.query(promql).first()?["value"][1].as_str()?.parse().ok())
    }

    /// Everything it logged.
    pub fn output(&self) -> String {
        self.process.output()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// Compares an exposition with a document's table of metrics: each row `(sample name, family
/// type, label names)` needs a sample of that name carrying at least those labels, in a family
/// of that type. Returns the rows that do not hold, each with what was found instead.
pub fn missing_documented(exposition: &str, rows: &[(&str, &str, &[&str])]) -> Vec<String> {
    let types: Vec<(&str, &str)> = exposition.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split_once(' ')).collect();
    let samples = sample_label_names(exposition);
    let mut missing = Vec::new();
    for (name, kind, labels) in rows {
        let of_name: Vec<&Vec<String>> =
            samples.iter().filter(|(line, _)| line.split(['{', ' ']).next() == Some(*name)).map(|(_, names)| names).collect();
        // The family a sample belongs to: its own name, or its name without a sample suffix.
        let family_type = types
            .iter()
            .filter(|(family, _)| {
                *family == *name
                    || ["_total", "_count", "_sum", "_bucket", "_created"].iter().any(|s| name.strip_suffix(s) == Some(*family))
            })
            .map(|(_, t)| *t)
            .next();
        let with_labels = of_name.iter().any(|names| labels.iter().all(|l| names.iter().any(|n| n == l)));
        if !with_labels || family_type != Some(*kind) {
            let seen: Vec<_> = of_name.iter().take(3).collect();
            missing.push(format!("{name} ({kind}, {labels:?}): family type {family_type:?}, label sets {seen:?}"));
        }
    }
    missing
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Prometheus server (2.42 from Debian, or 3 built by `scripts/peers.sh`) scraping the given
/// targets every second.
#[derive(Debug)]
pub struct Prometheus {
    process: Process,
    base: String,
}

/// Which Prometheus a test starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrometheusVersion {
    /// Debian's 2.42, the oldest supported.
    V2,
    /// Prometheus 3, built from its Go module.
    V3,
}

impl PrometheusVersion {
    fn binary(self) -> PathBuf {
        match self {
            PrometheusVersion::V2 => program("prometheus"),
            PrometheusVersion::V3 => peer("prometheus3"),
        }
    }

    /// Its promtool.
    pub fn promtool(self) -> PathBuf {
        match self {
            PrometheusVersion::V2 => program("promtool"),
            PrometheusVersion::V3 => peer("promtool3"),
        }
    }
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (`host:port`) at `metrics_path`.
    pub fn start(targets: &[&str], metrics_path: &str, extra_flags: &[&str]) -> Prometheus {
        Self::start_with(targets, metrics_path, "", extra_flags)
    }

    /// Like [`start`](Self::start), with extra lines for the scrape job (indented four spaces,
    /// e.g. `scheme: https`).
    pub fn start_with(targets: &[&str], metrics_path: &str, job_extra: &str, extra_flags: &[&str]) -> Prometheus {
        let target_list = targets.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: 'test'\n    metrics_path: '{metrics_path}'\n{job_extra}    static_configs:\n      - targets: [{target_list}]\n"
        );
        Self::start_config(&config, extra_flags)
    }

    /// Starts Prometheus with this whole configuration file (rule files by absolute path).
    pub fn start_config(config: &str, extra_flags: &[&str]) -> Prometheus {
        Self::start_version(PrometheusVersion::V2, config, extra_flags)
    }

    /// Starts this version of Prometheus with this whole configuration file.
    pub fn start_version(version: PrometheusVersion, config: &str, extra_flags: &[&str]) -> Prometheus {
        let dir = scratch_dir("prometheus");
        fs::write(dir.join("prometheus.yml"), config).expect("write prometheus.yml");
        let storage = vec![format!("--storage.tsdb.path={}", dir.join("data").display())];
        Self::launch_file(version, "prometheus", &dir.join("prometheus.yml"), &dir, &storage, extra_flags)
    }

    /// Starts Prometheus in agent mode (scrape and remote write only, no queries) with this
    /// configuration.
    pub fn start_agent(config: &str) -> Prometheus {
        let dir = scratch_dir("prometheus-agent");
        fs::write(dir.join("prometheus.yml"), config).expect("write prometheus.yml");
        let storage = ["--enable-feature=agent".to_owned(), format!("--storage.agent.path={}", dir.join("wal").display())];
        Self::launch_file(PrometheusVersion::V2, "prometheus-agent", &dir.join("prometheus.yml"), &dir, &storage, &[])
    }

    /// Starts this version of Prometheus with a configuration file as it was rendered, where it
    /// lies (relative rule and file_sd paths resolve beside it).
    pub fn start_config_file_version(version: PrometheusVersion, config: &Path, extra_flags: &[&str]) -> Prometheus {
        let dir = scratch_dir("prometheus-rendered");
        let storage = vec![format!("--storage.tsdb.path={}", dir.join("data").display())];
        Self::launch_file(version, "prometheus", config, &dir, &storage, extra_flags)
    }

    fn launch_file(
        version: PrometheusVersion,
        name: &str,
        config: &Path,
        dir: &Path,
        storage: &[String],
        extra_flags: &[&str],
    ) -> Prometheus {
        let port = free_port();
        let mut command = Command::new(version.binary());
        command
            .arg(format!("--config.file={}", config.display()))
            .args(storage)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(extra_flags);
        let mut process = Process::start(name, command, dir.join("prometheus.log"));
        let base = format!("http://127.0.0.1:{port}");
        process.wait_ready(&format!("{base}/-/ready"));
        Prometheus { process, base }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Everything it logged.
    pub fn output(&self) -> String {
        self.process.output()
    }

    /// A GET on Prometheus' HTTP API (`/api/v1/...`), as JSON.
    pub fn api(&self, path: &str) -> serde_json::Value {
        let body: serde_json::Value =
            reqwest::blocking::get(format!("{}{path}", self.base)).and_then(|r| r.json()).unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(body["status"], "success", "GET {path}: {body}");
        body["data"].clone()
    }

    /// Runs an instant PromQL query; the `data.result` array.
    pub fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let client = reqwest::blocking::Client::new();
        let response = client
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", promql)])
            .send()
            .unwrap_or_else(|e| panic!("query {promql}: {e}"));
        let body: serde_json::Value = response.json().unwrap_or_else(|e| panic!("query {promql}: {e}"));
        assert_eq!(body["status"], "success", "query {promql} failed: {body}");
        body["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The value of a single-series query once it has one (waits up to 30 s).
    pub fn value(&self, promql: &str) -> f64 {
        let found = wait_for(Duration::from_secs(30), || {
            let result = self.query(promql);
            let value = result.first()?["value"][1].as_str()?.parse::<f64>().ok()?;
            value.is_finite().then_some(value)
        });
        found.unwrap_or_else(|| panic!("no value for {promql}; Prometheus log:\n{}", self.process.output()))
    }

    /// The result of `promql` once it is not empty (waits up to 30 s); panics with the query
    /// otherwise.
    pub fn query_nonempty(&self, promql: &str) -> Vec<serde_json::Value> {
        let found = wait_for(Duration::from_secs(30), || Some(self.query(promql)).filter(|r| !r.is_empty()));
        found.unwrap_or_else(|| panic!("no data for {promql}; targets: {}", self.targets()))
    }

    /// Prometheus' metadata for a metric family name: `(type, unit)`, once it has some.
    pub fn metadata(&self, family: &str) -> Option<(String, String)> {
        let client = reqwest::blocking::Client::new();
        let body: serde_json::Value =
            client.get(format!("{}/api/v1/metadata", self.base)).query(&[("metric", family)]).send().ok()?.json().ok()?;
        let entry = body["data"][family].get(0)?;
        Some((entry["type"].as_str()?.to_owned(), entry["unit"].as_str().unwrap_or("").to_owned()))
    }

    /// The health of the scrape targets as Prometheus reports it, with the last error.
    pub fn targets(&self) -> String {
        http_get(&format!("{}/api/v1/targets", self.base)).map(|(_, body)| body).unwrap_or_default()
    }
}

/// promtool lints that the OTel naming rules or the documented worker SDK names force, with the reason; see
/// docs/exposition.md. Anything else promtool reports is a real problem.
pub const FORCED_LINTS: [(&str, &str); 2] = [
    ("label names should be written in 'snake_case' not 'camelCase'", "the worker SDK's labels (taskType, payloadType, workflowType)"),
    ("non-histogram and non-summary metrics should not have \"_count\" suffix", "semconv *.count names"),
];

/// What `promtool check metrics` reports beyond [`FORCED_LINTS`]: parse errors and any other
/// lint. Empty means the exposition is clean.
pub fn promtool_problems(exposition: &[u8]) -> Vec<String> {
    let (_, report) = promtool_check_metrics(exposition);
    report
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| line.contains("error while linting") || !FORCED_LINTS.iter().any(|(lint, _)| line.contains(lint)))
        .map(str::to_owned)
        .collect()
}

/// Runs `command` with `input` on its stdin; whether it succeeded, and stdout plus stderr.
fn pipe_through(mut command: Command, input: &[u8]) -> (bool, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    // A child that exits early (a parse error) closes stdin: that is its answer, not ours.
    let _ = child.stdin.take().expect("stdin").write_all(input);
    let output = child.wait_with_output().expect("child output");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// Runs `promtool check metrics` on an exposition; its combined output and whether it passed.
pub fn promtool_check_metrics(exposition: &[u8]) -> (bool, String) {
    let mut command = Command::new(program("promtool"));
    command.args(["check", "metrics"]);
    pipe_through(command, exposition)
}

/// Parses an exposition with the Python `prometheus_client` parser (`"text"` or
/// `"openmetrics"`); whether it parsed, and the parser's report.
pub fn python_parse(kind: &str, exposition: &[u8]) -> (bool, String) {
    let python = repo_root().join(".venv/bin/python");
    assert!(python.is_file(), "{} is missing: run scripts/test.sh (it creates .venv with prometheus_client)", python.display());
    let mut command = Command::new(python);
    command.arg(repo_root().join("tests/python/parse_exposition.py")).arg(kind);
    pipe_through(command, exposition)
}

/// A rotel OTLP collector that logs every metric it receives.
#[derive(Debug)]
pub struct Rotel {
    process: Process,
    /// `host:port` of the gRPC receiver.
    pub grpc: String,
    /// `host:port` of the HTTP receiver.
    pub http: String,
}

impl Rotel {
    /// Starts the collector with detailed metric debug logging, on two free ports (drawn again
    /// when another process takes one between the draw and the bind).
    pub fn start() -> Rotel {
        let exporter = ["--exporter", "blackhole", "--debug-log", "metrics", "--debug-log-verbosity", "detailed"];
        let mut last = String::new();
        for _ in 0..3 {
            let (grpc, http) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
            match Self::launch(&grpc, &http, &exporter) {
                Ok(rotel) => return rotel,
                Err(output) if output.contains("Address already in use") => last = output,
                Err(output) => panic!("rotel did not start on {grpc} and {http}:\n{output}"),
            }
        }
        panic!("rotel found no free ports in 3 draws:\n{last}")
    }

    /// Starts the collector on these receiver addresses with these exporter (and logging)
    /// arguments, e.g. a gateway forwarding to another collector:
    /// `["--exporter", "otlp", "--otlp-exporter-endpoint", "http://127.0.0.1:P"]`.
    pub fn start_on(grpc: &str, http: &str, exporter: &[&str]) -> Rotel {
        Self::launch(grpc, http, exporter).unwrap_or_else(|output| panic!("rotel did not start on {grpc} and {http}:\n{output}"))
    }

    /// The collector, or its output when it exited or did not open its ports.
    fn launch(grpc: &str, http: &str, exporter: &[&str]) -> Result<Rotel, String> {
        let dir = scratch_dir("rotel");
        let (grpc, http) = (grpc.to_owned(), http.to_owned());
        let mut command = Command::new(program("rotel-agent"));
        command
            .current_dir(&dir)
            .args(["start", "--otlp-grpc-endpoint", &grpc, "--otlp-http-endpoint", &http])
            .args(exporter)
            .arg("--pid-file");
        command.arg(dir.join("rotel.pid")).arg("--log-file").arg(dir.join("rotel-agent.log"));
        let mut process = Process::start("rotel", command, dir.join("rotel.out"));
        let listening = wait_for(Duration::from_secs(30), || {
            if let Ok(Some(status)) = process.child.try_wait() {
                return Some(Err(format!("rotel exited with {status}:\n{}", process.output())));
            }
            let up = |addr: &str| std::net::TcpStream::connect(addr).is_ok();
            (up(&grpc) && up(&http)).then_some(Ok(()))
        });
        match listening {
            Some(Ok(())) => Ok(Rotel { process, grpc, http }),
            Some(Err(output)) => Err(output),
            None => Err(format!("rotel did not open {grpc} and {http}:\n{}", process.output())),
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Everything the collector logged about received data so far.
    pub fn received(&self) -> String {
        self.process.output()
    }

    /// The last block the collector logged for metric `name` (its descriptor and data points),
    /// together with the resource attributes of the batch it came in.
    fn last_metric(&self, name: &str) -> Option<ReceivedMetric> {
        let log = self.received();
        let marker = format!("-> Name: {name}\n");
        let start = log.rfind(&marker)?;
        let rest = &log[start..];
        let end = ["\nMetric #", "\nResourceMetrics #", "\nScopeMetrics #"].iter().filter_map(|m| rest.find(m)).min().unwrap_or(rest.len());
        let resource_start = log[..start].rfind("ResourceMetrics #")?;
        let resource_end = log[resource_start..].find("ScopeMetrics #").map_or(start, |i| resource_start + i);
        Some(ReceivedMetric { block: rest[..end].to_owned(), resource: log[resource_start..resource_end].to_owned() })
    }

    /// Waits until the collector has received metric `name` with a block containing every needle
    /// as a whole token (`Value: 5` does not match `Value: 50`).
    pub fn wait_for_metric(&self, name: &str, needles: &[&str]) -> ReceivedMetric {
        let found = wait_for(Duration::from_secs(20), || {
            let metric = self.last_metric(name)?;
            needles.iter().all(|n| contains_token(&metric.block, n)).then_some(metric)
        });
        found.unwrap_or_else(|| panic!("rotel never received {name} with {needles:?}; its log:\n{}", self.received()))
    }

    /// Waits until the received log contains every needle as a whole token; panics with the log
    /// if not.
    pub fn wait_for_all(&self, needles: &[&str]) -> String {
        let found = wait_for(Duration::from_secs(20), || {
            let log = self.received();
            needles.iter().all(|n| contains_token(&log, n)).then_some(log)
        });
        found.unwrap_or_else(|| {
            let log = self.received();
            let missing: Vec<_> = needles.iter().filter(|n| !contains_token(&log, n)).collect();
            panic!("rotel never received {missing:?}; its log:\n{log}")
        })
    }
}

/// The OpenTelemetry Collector built by `scripts/peers.sh`, with a configuration of the test's.
/// In the YAML, `{grpc}`, `{http}` and `{health}` stand for free loopback `host:port`s and
/// `{dir}` for the collector's scratch directory; a `health_check` extension on `{health}` is
/// what readiness is read from, and the collector's own telemetry is off (no listener of its
/// own). Killed by its PID when dropped.
#[derive(Debug)]
pub struct Otelcol {
    process: Process,
    /// The configuration file and the environment it runs with (for restarts).
    config: PathBuf,
    env: Vec<(String, String)>,
    /// `host:port` of the OTLP/gRPC receiver (`{grpc}`).
    pub grpc: String,
    /// `host:port` of the OTLP/HTTP receiver (`{http}`).
    pub http: String,
    /// `http://host:port/` of the health check.
    pub health: String,
    /// The scratch directory (`{dir}`).
    pub dir: PathBuf,
}

impl Otelcol {
    /// Validates and starts the collector with `config` (placeholders filled in); waits until
    /// its health check says it is ready.
    pub fn start(config: &str) -> Otelcol {
        let dir = scratch_dir("otelcol");
        let (grpc, http, health) =
            (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
        let config = config
            .replace("{grpc}", &grpc)
            .replace("{http}", &http)
            .replace("{health}", &health)
            .replace("{dir}", &dir.display().to_string());
        let file = dir.join("config.yaml");
        fs::write(&file, config).expect("write the collector config");
        let mut collector = Self::start_file(&file, &[], &health);
        (collector.grpc, collector.http, collector.dir) = (grpc, http, dir);
        collector
    }

    /// Validates and starts the collector with a configuration file as it lies, with these
    /// environment variables (for its `${env:…}` references); waits until the health check at
    /// `health` (`host:port`, which the file must configure) says it is ready.
    pub fn start_file(file: &Path, env: &[(&str, String)], health: &str) -> Otelcol {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        let out = Command::new(peer("otelcol"))
            .arg("validate")
            .arg(format!("--config={}", file.display()))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run otelcol validate");
        assert!(
            out.status.success(),
            "otelcol validate {}:\n{}{}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = scratch_dir("otelcol-run");
        let mut collector = Otelcol {
            process: Self::spawn(file, &env, &dir),
            config: file.to_owned(),
            env,
            grpc: String::new(),
            http: String::new(),
            health: format!("http://{health}/"),
            dir,
        };
        let url = collector.health.clone();
        collector.process.wait_ready(&url);
        collector
    }

    fn spawn(config: &Path, env: &[(String, String)], dir: &Path) -> Process {
        static RUN: AtomicU32 = AtomicU32::new(0);
        let mut command = Command::new(peer("otelcol"));
        command.arg(format!("--config={}", config.display())).envs(env.iter().map(|(k, v)| (k, v)));
        Process::start("otelcol", command, dir.join(format!("otelcol-{}.log", RUN.fetch_add(1, Ordering::Relaxed))))
    }

    /// The rendered gateway (`otelcol-gateway.yaml`, as `otel-ops` writes it) on fresh loopback
    /// addresses, remote-writing to `write_url`; its OTLP/gRPC address is in `grpc`.
    pub fn rendered_gateway(file: &Path, write_url: &str) -> Otelcol {
        let (grpc, health) = (loopback(), loopback());
        let env = [
            ("OTELCOL_GATEWAY_GRPC", grpc.clone()),
            ("METRICS_STORE_WRITE_URL", write_url.to_owned()),
            ("OTELCOL_HEALTH", health.clone()),
            ("OTELCOL_METRICS_PORT", free_port().to_string()),
        ];
        let mut gateway = Self::start_file(file, &env, &health);
        gateway.grpc = grpc;
        gateway
    }

    /// The rendered agent (`otelcol-agent.yaml`) taking OTLP/gRPC on `grpc` (`host:port`),
    /// forwarding to `gateway` and scraping `service` (both `host:port`).
    pub fn rendered_agent(file: &Path, grpc: &str, gateway: &str, service: &str) -> Otelcol {
        let (grpc, http, health) = (grpc.to_owned(), loopback(), loopback());
        let env = [
            ("OTELCOL_AGENT_GRPC", grpc.clone()),
            ("OTELCOL_AGENT_HTTP", http.clone()),
            ("OTELCOL_GATEWAY", gateway.to_owned()),
            ("SERVICE_METRICS_TARGET", service.to_owned()),
            ("OTELCOL_HEALTH", health.clone()),
            ("OTELCOL_METRICS_PORT", free_port().to_string()),
        ];
        let mut agent = Self::start_file(file, &env, &health);
        (agent.grpc, agent.http) = (grpc, http);
        agent
    }

    /// Kills the collector (by its PID) and waits until it is gone.
    pub fn kill(&mut self) {
        let _ = self.process.child.kill();
        let _ = self.process.child.wait();
    }

    /// Starts it again with the same configuration and ports; waits until it is ready.
    pub fn restart(&mut self) {
        self.process = Self::spawn(&self.config, &self.env, &self.dir);
        let health = self.health.clone();
        self.process.wait_ready(&health);
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Everything the running process logged.
    pub fn output(&self) -> String {
        self.process.output()
    }

    /// Every request the file exporter wrote to `{dir}/NAME` (one OTLP/JSON
    /// `ExportMetricsServiceRequest` a line).
    pub fn file_requests(&self, name: &str) -> Vec<serde_json::Value> {
        let text = fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }
}

/// Whether `needle` occurs in `text` as a whole token: neither directly preceded nor followed
/// by a letter, digit, `.` or `_` (so `Value: 5` is not found in `Value: 50`, nor `Count: 1` in
/// `Count: 12`).
pub fn contains_token(text: &str, needle: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_');
    let first = needle.chars().next();
    let last = needle.chars().last();
    text.match_indices(needle).any(|(at, _)| {
        // A boundary matters only where the needle itself starts or ends inside a word.
        let before_ok = !word(first) || !word(text[..at].chars().next_back());
        let after_ok = !word(last) || !word(text[at + needle.len()..].chars().next());
        before_ok && after_ok
    })
}

#[test]
fn tokens_match_whole_values_only() {
    assert!(contains_token("Value: 5\n", "Value: 5"));
    assert!(!contains_token("Value: 50\n", "Value: 5"));
    assert!(!contains_token("Value: 5.5\n", "Value: 5"));
    assert!(contains_token("-> route: Str(/orders)", "-> route: Str(/orders)"));
    assert!(contains_token("Exemplars:\n", "Exemplars"));
    assert!(!contains_token("Count: 12", "Count: 1"));
}

/// One metric as the collector logged it.
#[derive(Debug, Clone)]
pub struct ReceivedMetric {
    /// The descriptor and data points.
    pub block: String,
    /// The resource attributes of the batch.
    pub resource: String,
}

/// Each sample line of a text exposition (0.0.4 or OpenMetrics) with its label names in order.
pub fn sample_label_names(exposition: &str) -> Vec<(String, Vec<String>)> {
    let mut samples = Vec::new();
    for line in exposition.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let mut names = Vec::new();
        if let Some(open) = line.find('{') {
            let mut chars = line[open + 1..].chars();
            let mut name = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '=' => {
                        // The quoted value, with `\` escapes.
                        chars.next();
                        let mut escaped = false;
                        for v in chars.by_ref() {
                            if escaped {
                                escaped = false;
                            } else if v == '\\' {
                                escaped = true;
                            } else if v == '"' {
                                break;
                            }
                        }
                        names.push(std::mem::take(&mut name).trim_matches('"').to_owned());
                    }
                    ',' => {}
                    '}' => break,
                    c => name.push(c),
                }
            }
        }
        samples.push((line.to_owned(), names));
    }
    samples
}

/// An nginx in front of other components, as a TLS terminator (one process, no daemon, killed
/// by its PID), logging every request with the headers the tests look at.
#[derive(Debug)]
pub struct Nginx {
    process: Process,
    access_log: PathBuf,
}

impl Nginx {
    /// Starts nginx with these `server { ... }` blocks (inside `http`); waits until every
    /// `listen_ports` port accepts connections. The access log has one line per request:
    /// `port=P uri=U x-k=... x-pct=... authorization=... client_verify=...`.
    pub fn start(servers: &str, listen_ports: &[u16]) -> Nginx {
        let dir = scratch_dir("nginx");
        let d = dir.display();
        let access_log = dir.join("access.log");
        let config = format!(
            "daemon off;\nmaster_process off;\nerror_log {d}/error.log info;\npid {d}/nginx.pid;\nevents {{}}\nhttp {{\n  \
             log_format headers 'port=$server_port uri=$request_uri status=$status x-k=$http_x_k x-pct=$http_x_pct \
             authorization=$http_authorization client_verify=$ssl_client_verify';\n  access_log {d}/access.log headers;\n  \
             client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{servers}\n}}\n"
        );
        fs::write(dir.join("nginx.conf"), config).expect("write nginx.conf");
        let mut command = Command::new(program("nginx"));
        command.arg("-p").arg(&dir).arg("-c").arg(dir.join("nginx.conf")).arg("-e").arg(dir.join("error.log"));
        let mut process = Process::start("nginx", command, dir.join("nginx.out"));
        let ready = wait_for(Duration::from_secs(20), || {
            process.assert_running();
            listen_ports.iter().all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok()).then_some(())
        });
        if ready.is_none() {
            panic!(
                "nginx did not listen on {listen_ports:?}:\n{}\n{}",
                process.output(),
                fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
        }
        Nginx { process, access_log }
    }

    /// The access log so far.
    pub fn requests(&self) -> String {
        fs::read_to_string(&self.access_log).unwrap_or_default()
    }

    /// Waits until a request to `port` was logged; its log line.
    pub fn wait_for_request(&self, port: u16) -> String {
        let needle = format!("port={port} ");
        wait_for(Duration::from_secs(20), || self.requests().lines().find(|l| l.starts_with(&needle)).map(str::to_owned))
            .unwrap_or_else(|| panic!("no request reached port {port}; access log:\n{}\n{}", self.requests(), self.process.output()))
    }
}

/// A throwaway PKI made with openssl: a server CA with a certificate for 127.0.0.1 and
/// localhost, a client CA with a client certificate, and an unrelated CA.
#[derive(Debug)]
pub struct TestPki {
    /// The directory holding every file.
    pub dir: PathBuf,
}

impl TestPki {
    /// Makes the files (`server-ca.pem`, `server.pem`, `server.key`, `client-ca.pem`,
    /// `client.pem`, `client.key`, `other-ca.pem`).
    pub fn generate() -> TestPki {
        let dir = scratch_dir("pki");
        let openssl = |args: &[&str]| {
            let out = Command::new(program("openssl")).current_dir(&dir).args(args).output().expect("run openssl");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        for ca in ["server-ca", "client-ca", "other-ca"] {
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
            ]);
        }
        fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").expect("write server.ext");
        fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").expect("write client.ext");
        for (leaf, ca) in [("server", "server-ca"), ("client", "client-ca")] {
            openssl(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={leaf}"),
                "-keyout",
                &format!("{leaf}.key"),
                "-out",
                &format!("{leaf}.csr"),
            ]);
            let mut args = vec![
                "x509",
                "-req",
                "-in",
                &format!("{leaf}.csr")[..],
                "-CA",
                &format!("{ca}.pem")[..],
                "-CAkey",
                &format!("{ca}.key")[..],
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &format!("{leaf}.pem")[..],
            ]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
            // Extensions make it a version 3 certificate, which rustls requires.
            args.extend(["-extfile".to_owned(), format!("{leaf}.ext")]);
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            openssl(&refs);
        }
        TestPki { dir }
    }

    /// A file of the PKI.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// What a `tracing` subscriber wrote, without colour codes, for tests that check log lines.
#[derive(Clone, Default, Debug)]
pub struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLog {
    /// A subscriber writing here (install it with `tracing::subscriber::set_default`, or
    /// globally in a test binary of its own).
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let sink = self.clone();
        tracing_subscriber::fmt().with_ansi(false).with_writer(move || sink.clone()).finish()
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Everything written so far, forgetting it.
    pub fn take(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))).into_owned()
    }
}

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A Pushgateway on a free port, ready: the process and its base URL.
pub fn pushgateway() -> (Process, String) {
    let port = free_port();
    let mut command = Command::new(program("prometheus-pushgateway"));
    command.arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let mut process = Process::start("pushgateway", command, scratch_dir("pushgateway").join("pushgateway.log"));
    let base = format!("http://127.0.0.1:{port}");
    process.wait_ready(&format!("{base}/-/ready"));
    (process, base)
}

/// A GET's status, `Content-Type` and body.
pub fn http_get_typed(url: &str) -> Result<(u16, String, String), String> {
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
    let response = client.get(url).send().map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let kind = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    Ok((status, kind, response.text().map_err(|e| e.to_string())?))
}

/// node_exporter with only the textfile collector, reading `dir`: the process and its
/// `host:port`.
pub fn node_exporter(dir: &Path) -> (Process, String) {
    let port = free_port();
    let mut command = Command::new(program("prometheus-node-exporter"));
    command
        .arg("--collector.disable-defaults")
        .arg("--collector.textfile")
        .arg(format!("--collector.textfile.directory={}", dir.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let mut process = Process::start("node_exporter", command, scratch_dir("node-exporter").join("node_exporter.log"));
    let target = format!("127.0.0.1:{port}");
    process.wait_ready(&format!("http://{target}/metrics"));
    (process, target)
}

/// A binary parses its command line as Rust users expect: `--version` prints its name and
/// version, a misspelt flag (`misspelt`, the whole command line) exits 2 naming the flag it meant, and `args` (written `--flag=value`)
/// are accepted: the run exits 0.
pub fn assert_cli(binary: &str, name: &str, misspelt: &[&str], meant: &str, args: &[&str]) {
    let run = |words: &[&str]| Command::new(binary).args(words).env_remove("OTEL_METRICS_EXPORTER").output().expect("run the binary");
    let version = run(&["--version"]);
    let printed = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(version.status.success() && printed.starts_with(&format!("{name} ")), "{name} --version: {printed}");
    let wrong = run(misspelt);
    let said = String::from_utf8_lossy(&wrong.stderr).into_owned();
    assert!(wrong.status.code() == Some(2) && said.contains(meant), "{name} {misspelt:?}: {said}");
    let ok = run(args);
    assert!(ok.status.success(), "{name} {args:?}: {}{}", String::from_utf8_lossy(&ok.stdout), String::from_utf8_lossy(&ok.stderr));
}

/// A context holding a sampled span with these ids (a remote parent: no tracer needed), to
/// record inside with `.attach()` or `FutureExt::with_context`.
pub fn sampled_span(trace: u128, span: u64) -> opentelemetry::Context {
    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
    let sc = SpanContext::new(TraceId::from(trace), SpanId::from(span), TraceFlags::SAMPLED, true, TraceState::default());
    opentelemetry::Context::current().with_remote_span_context(sc)
}

/// Every `rust` block of the README, the docs and the package READMEs compiles as user code
/// (against these crates with the features the text names); each is a doctest here.
#[cfg(doctest)]
mod documentation {
    #[doc = include_str!("../../README.md")]
    struct Readme;
    #[doc = include_str!("../../docs/configuration.md")]
    struct Configuration;
    #[doc = include_str!("../../docs/exemplars.md")]
    struct Exemplars;
    #[doc = include_str!("../../docs/instrumentation.md")]
    struct Instrumentation;
    #[doc = include_str!("../../docs/recording.md")]
    struct Recording;
    #[doc = include_str!("../../otel-core/README.md")]
    struct CoreReadme;
    #[doc = include_str!("../../exporters/README.md")]
    struct ExportersReadme;
    #[doc = include_str!("../../instrumentation/README.md")]
    struct InstrumentationReadme;
}
