//! # otel-ops
//!
//! Operating a service's metrics from the same declarations that create its instruments:
//! `otel-ops` reads catalogs (the instrumentation modules' definitions plus a service's own
//! [`otel_core::Catalog`]), names every metric the way the Prometheus exporter will, and
//! renders
//!
//! - alert and recording rules (`rules/*.rules.yml`) with a `promtool test rules` file for each
//!   (`rules/*.test.yml`): multi-window, multi-burn-rate SLO alerts for the HTTP and gRPC server
//!   metrics, worker, job, lifecycle and application alerts, and the pipeline's own health;
//! - Grafana dashboards (`dashboards/*.json`), one per domain;
//! - Prometheus scrape configs (`prometheus/*.yml`) and collector topologies (`collectors/`);
//! - a metrics reference (`metrics.md`) and the alerts' runbooks (`runbooks.md`).
//!
//! ```text
//! cargo run -p otel-ops -- render --out DIR [--docs DIR] [--job NAME] [--target HOST:PORT]...
//!     [--node-exporter HOST:PORT] [--pushgateway HOST:PORT] [--runbook-url URL]
//!     [--slo job=NAME,availability=99.9,latency=0.5s:99]... [--catalog FILE] [--config FILE]
//!     [--instrumentation http,http-client,grpc,runtime]
//! ```
//!
//! The repository keeps the demo's rendering: `render --out collector-config --docs docs`.
//!
//! A rule or panel is only generated for metrics the inventory holds, so every query names a
//! series that is really scraped; the inventory holds the service's catalog, the
//! instrumentation [`Module`]s it uses and the pipeline's own metrics, nothing else.

pub mod inventory;
pub mod rules;

mod configs;
mod dashboards;
mod error;
mod escape;
mod reference;
mod render_rules;
mod yaml;

use std::path::{Path, PathBuf};

use otel_core::export::Health;
use otel_core::{Catalog, Env, Telemetry};
use otel_exporters::EncodeOptions;
use otel_instrumentation::grpc::GrpcLayer;
use otel_instrumentation::http::HttpServerNames;
use otel_instrumentation::http_client::HttpClientLayer;
use otel_instrumentation::tasks::LifecycleNames;

pub use error::OpsError;
pub use inventory::{Inventory, Metric};
pub use rules::Slo;

/// What to render and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Objectives of the request SLO alerts (default: 99.9 % available, 99 % under 0.5 s, for
    /// every job).
    pub slos: Vec<Slo>,
    /// Replace every alert's `for` (to prove alerts fire within a short test; not for production).
    pub hold_override: Option<String>,
    /// What Prometheus scrapes.
    pub scrape: Scrape,
    /// Where the runbooks are published (`https://wiki/runbooks.md`): each alert's `runbook`
    /// annotation links there; default the relative `docs/runbooks.md`.
    pub runbook_url: Option<String>,
    /// The command that renders these files again, named in their headers (default: the
    /// repository's `cargo run -p otel-ops -- render --out collector-config --docs docs`).
    pub command: Option<String>,
}

/// The scrape jobs of the rendered Prometheus configuration: one job per kind of target, each
/// target in exactly one job, optional components only when asked for.
#[derive(Debug, Clone)]
pub struct Scrape {
    /// The service's job name: the `job` label of its series (default `otel-demo`).
    pub job: String,
    /// Its pull endpoints (`host:port`), written to `prometheus/targets/<job>.json` (default
    /// `127.0.0.1:9464`).
    pub targets: Vec<String>,
    /// node_exporter with the textfile collector, if the service writes `.prom` files.
    pub node_exporter: Option<String>,
    /// A Pushgateway, if the service pushes to one.
    pub pushgateway: Option<String>,
    /// Alertmanager (default `127.0.0.1:9093`).
    pub alertmanager: String,
}

impl Default for Scrape {
    fn default() -> Self {
        Scrape {
            job: "otel-demo".to_owned(),
            targets: vec!["127.0.0.1:9464".to_owned()],
            node_exporter: None,
            pushgateway: None,
            alertmanager: "127.0.0.1:9093".to_owned(),
        }
    }
}

/// The command the repository renders its own files with.
pub const REPOSITORY_COMMAND: &str = "cargo run -p otel-ops -- render --out collector-config --docs docs";

impl Options {
    fn command(&self) -> &str {
        self.command.as_deref().unwrap_or(REPOSITORY_COMMAND)
    }

    fn runbook(&self, alert: &str) -> String {
        format!("{}#{}", self.runbook_url.as_deref().unwrap_or("docs/runbooks.md"), alert.to_lowercase())
    }

    /// The `job` labels the rendered scrape configuration gives series.
    pub fn scrape_jobs(&self) -> Vec<&str> {
        let mut jobs = vec![self.scrape.job.as_str()];
        jobs.extend(self.scrape.node_exporter.as_ref().map(|_| "node"));
        jobs.extend(self.scrape.pushgateway.as_ref().map(|_| "pushgateway"));
        jobs
    }

    /// Objectives for a job the rendered scrape configuration does not define (their alerts
    /// would never fire): with the reason, for a warning.
    pub fn unknown_slo_jobs(&self) -> Vec<String> {
        let jobs = self.scrape_jobs();
        self.slos
            .iter()
            .filter_map(|s| s.job.as_deref())
            .filter(|job| !jobs.contains(job))
            .map(|job| {
                format!(
                    "--slo job={job:?}: no scrape job of the rendered configuration is named so ({}); `job` is the scrape job's name for pulled series (--job), and for pushed ones the job they were pushed with (Pushgateway) or service.name (OTLP into Prometheus)",
                    jobs.join(", ")
                )
            })
            .collect()
    }
}

/// Instrumentation a service uses besides its catalog. Each brings its metrics, and with them
/// its rules, panels and reference rows; a module the service does not use renders nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Module {
    /// `HttpServerLayer`: `http.server.*` (request SLOs, the HTTP panels).
    HttpServer,
    /// `HttpClientLayer`: `http.client.request.duration`.
    HttpClient,
    /// `GrpcLayer`: `rpc.server.duration`, `rpc.client.duration` (gRPC SLOs).
    Grpc,
    /// `register_process_metrics` and `register_tokio_metrics`.
    Runtime,
}

impl Module {
    /// Every module (what the demo uses).
    pub const ALL: [Module; 4] = [Module::HttpServer, Module::HttpClient, Module::Grpc, Module::Runtime];

    /// Its name on the command line (`--instrumentation`).
    pub fn name(self) -> &'static str {
        match self {
            Module::HttpServer => "http",
            Module::HttpClient => "http-client",
            Module::Grpc => "grpc",
            Module::Runtime => "runtime",
        }
    }

    /// A comma list of module names (`http,grpc`); `none` is the empty list.
    pub fn parse_list(text: &str) -> Result<Vec<Module>, OpsError> {
        let mut out = Vec::new();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty() && *w != "none") {
            let module = Module::ALL.into_iter().find(|m| m.name() == word).ok_or_else(|| {
                OpsError::Input(format!("--instrumentation {word:?}: known modules are http, http-client, grpc, runtime (or none)"))
            })?;
            if !out.contains(&module) {
                out.push(module);
            }
        }
        Ok(out)
    }

    fn definitions(self) -> Vec<otel_core::MetricDef> {
        match self {
            Module::HttpServer => HttpServerNames::default().definitions(),
            Module::HttpClient => HttpClientLayer::definitions(),
            Module::Grpc => GrpcLayer::definitions(),
            Module::Runtime => otel_instrumentation::runtime::definitions(),
        }
    }
}

/// The inventory of a service built with `catalog` that uses `modules`, plus the pipeline's
/// self-metrics, named with the exporter's default options.
pub fn inventory_for(catalog: Catalog, modules: &[Module]) -> Result<Inventory, OpsError> {
    fill(Inventory::new(EncodeOptions::default()), catalog, modules)
}

/// The inventory of the same service run with a configuration file: named as the file's
/// Prometheus reader names series, with its views applied.
pub fn inventory_with_config(
    catalog: Catalog,
    file: std::sync::Arc<otel_core::config::ConfigFile>,
    modules: &[Module],
) -> Result<Inventory, OpsError> {
    fill(Inventory::for_config(file), catalog, modules)
}

fn fill(mut inventory: Inventory, catalog: Catalog, modules: &[Module]) -> Result<Inventory, OpsError> {
    // Building a pipeline adds what the pipeline itself declares (operation.duration).
    let telemetry = Telemetry::builder().env(Env::empty()).catalog(catalog).build()?;
    let naming = |module: &'static str| move |source| OpsError::Naming { module, source };
    for module in modules {
        inventory.add(module.name(), module.definitions()).map_err(naming(module.name()))?;
    }
    inventory.add("catalog", telemetry.catalog().definitions().iter().map(|d| (**d).clone())).map_err(naming("catalog"))?;
    if inventory.get("service.state").is_some() {
        inventory.add("catalog", LifecycleNames::default().reported_definitions()).map_err(naming("catalog"))?;
    }
    inventory.add("pipeline", Health::definitions()).map_err(naming("pipeline"))?;
    let _ = telemetry.shutdown();
    Ok(inventory)
}

/// The demo's inventory: what `cargo run -p otel-demo` exposes (its catalog and every module).
pub fn demo_inventory() -> Result<Inventory, OpsError> {
    inventory_for(otel_demo::catalog()?, &Module::ALL)
}

/// Renders everything into `out`, and the Markdown (`docs/metrics.md`, `docs/runbooks.md`) into
/// `docs`; returns the files written.
pub fn render(out: &Path, docs: &Path, inventory: &Inventory, options: &Options) -> Result<Vec<PathBuf>, OpsError> {
    let files = render_files(inventory, options)?;
    let mut written = Vec::new();
    for (path, text) in &files {
        let full = match path.strip_prefix("docs") {
            Ok(doc) => docs.join(doc),
            Err(_) => out.join(path),
        };
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).map_err(|source| OpsError::Io { action: "create", path: dir.to_owned(), source })?;
        }
        std::fs::write(&full, text).map_err(|source| OpsError::Io { action: "write", path: full.clone(), source })?;
        written.push(full);
    }
    Ok(written)
}

/// Every rendered file, by path relative to the output directory (the Markdown under `docs/`).
pub fn render_files(inventory: &Inventory, options: &Options) -> Result<Vec<(PathBuf, String)>, OpsError> {
    let slos = if options.slos.is_empty() { vec![Slo::default()] } else { options.slos.clone() };
    let groups = rules::groups(inventory, &slos)?;
    let mut files = Vec::new();
    crate::escape::representable("--job", &options.scrape.job)?;
    crate::escape::representable("the command", options.command())?;
    if let Some(url) = &options.runbook_url {
        crate::escape::representable("--runbook-url", url)?;
    }
    for group in &groups {
        files.push((Path::new("rules").join(format!("{}.rules.yml", group.name)), render_rules::rules_file(group, options)));
        files.push((Path::new("rules").join(format!("{}.test.yml", group.name)), render_rules::test_file(group, options)));
    }
    for (name, dashboard) in dashboards::dashboards(inventory, &groups) {
        files.push((Path::new("dashboards").join(format!("{name}.json")), dashboard));
    }
    files.extend(configs::files(&groups, options)?);
    files.push((PathBuf::from("docs/metrics.md"), reference::metrics(inventory, options.command())));
    files.push((PathBuf::from("docs/runbooks.md"), reference::runbooks(&groups, options.command())));
    Ok(files)
}
