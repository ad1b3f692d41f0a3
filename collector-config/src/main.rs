//! `otel-ops render --out DIR`: see the crate docs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use otel_ops::{Module, OpsError, Options, Scrape, Slo};

/// Renders alert and recording rules, their promtool tests, Grafana dashboards, scrape and
/// collector configs and the metrics reference from the demo's catalog plus every
/// instrumentation module and the pipeline's own metrics, named as the Prometheus exporter
/// names them.
#[derive(Debug, Parser)]
#[command(name = "otel-ops", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes DIR/rules/*.rules.yml and *.test.yml, DIR/dashboards/*.json,
    /// DIR/prometheus/prometheus.yml and targets/service.json, DIR/collectors/ (Alertmanager,
    /// rotel agent and gateway, OpenTelemetry Collector reference), DOCS/metrics.md and
    /// DOCS/runbooks.md.
    Render(Render),
}

#[derive(Debug, Args)]
struct Render {
    /// Render this service's catalog file (YAML; the format is in otel-core's `Catalog::from_file`)
    /// instead of the demo's.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// The OpenTelemetry configuration file the service runs with (OTEL_CONFIG_FILE): names
    /// follow its Prometheus reader (translation strategy, scope labels) and its views
    /// (renames, buckets, dropped metrics). `${VAR}` references read this process' environment.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where to write (created when missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Where the two Markdown files go (default: DIR/docs). The repository's own rendering is
    /// `render --out collector-config --docs docs`.
    #[arg(long, value_name = "DIR")]
    docs: Option<PathBuf>,
    /// A request objective, repeatable: job=NAME,availability=99.9,latency=0.5s:99 (default:
    /// every job, 99.9% available, 99% under 0.5 s). NAME is a Prometheus `job` label: the
    /// scrape job's name (--job) for pulled series. The latency must be a bucket boundary.
    #[arg(long = "slo", value_name = "SPEC", value_parser = Slo::parse)]
    slos: Vec<Slo>,
    /// Give every alert this `for` (e.g. 0s to prove alerts in a short test; not for production).
    #[arg(long = "for", value_name = "DURATION")]
    hold: Option<String>,
    /// The scrape job of the service's endpoints: the `job` label of its series.
    #[arg(long, value_name = "NAME", default_value = "otel-demo")]
    job: String,
    /// A pull endpoint of the service, repeatable (default 127.0.0.1:9464).
    #[arg(long = "target", value_name = "HOST:PORT")]
    targets: Vec<String>,
    /// Also scrape node_exporter's textfile collector here (services writing .prom files).
    #[arg(long, value_name = "HOST:PORT")]
    node_exporter: Option<String>,
    /// Also scrape a Pushgateway here (batch jobs that push).
    #[arg(long, value_name = "HOST:PORT")]
    pushgateway: Option<String>,
    /// Where Prometheus sends alerts.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9093")]
    alertmanager: String,
    /// The instrumentation the service uses besides its catalog, a comma list of http,
    /// http-client, grpc, runtime (or none); each adds its metrics, rules and panels. Default:
    /// all of them for the demo's catalog, none with --catalog.
    #[arg(long, value_name = "LIST", value_parser = |list: &str| Module::parse_list(list).map(Modules))]
    instrumentation: Option<Modules>,
    /// Where runbooks.md is published: alerts link to URL#alert (default: docs/runbooks.md).
    #[arg(long, value_name = "URL")]
    runbook_url: Option<String>,
}

/// `--instrumentation`'s list, as one argument.
#[derive(Debug, Clone)]
struct Modules(Vec<Module>);

/// `word` as one shell word: as it is when plain, single-quoted otherwise.
fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "_./:=,%+@-".contains(c)) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn main() -> ExitCode {
    let Command::Render(args) = Cli::parse().command;
    let scrape = Scrape {
        job: args.job,
        targets: if args.targets.is_empty() { Scrape::default().targets } else { args.targets },
        node_exporter: args.node_exporter,
        pushgateway: args.pushgateway,
        alertmanager: args.alertmanager,
    };
    // The command as typed (through cargo run), for the rendered files' headers.
    let words: Vec<String> = std::env::args().skip(1).map(|w| shell_word(&w)).collect();
    let command = format!("cargo run -p otel-ops -- {}", words.join(" "));
    let options = Options {
        slos: args.slos.clone(),
        hold_override: args.hold.clone(),
        scrape,
        runbook_url: args.runbook_url.clone(),
        command: Some(command),
    };
    for warning in options.unknown_slo_jobs() {
        eprintln!("otel-ops: warning: {warning}");
    }
    let out = args.out.clone();
    let docs = args.docs.clone().unwrap_or_else(|| out.join("docs"));
    let modules =
        args.instrumentation.clone().map(|m| m.0).unwrap_or_else(|| if args.catalog.is_some() { Vec::new() } else { Module::ALL.to_vec() });
    let rendered = inventory(args.catalog.as_deref(), args.config.as_deref(), &modules)
        .and_then(|inventory| otel_ops::render(&out, &docs, &inventory, &options));
    match rendered {
        Ok(files) => {
            println!("otel-ops: wrote {} files under {}", files.len(), out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("otel-ops: {e:?}"); // the message and its causes
            ExitCode::from(1)
        }
    }
}

/// The service as the arguments describe it: its catalog (the demo's unless --catalog), named as
/// its configuration file's Prometheus reader would name it (with --config).
fn inventory(catalog: Option<&Path>, config: Option<&Path>, modules: &[Module]) -> Result<otel_ops::Inventory, OpsError> {
    let catalog = match catalog {
        Some(file) => otel_core::Catalog::from_file(file)?,
        None => otel_demo::catalog()?,
    };
    match config {
        Some(path) => {
            let file = otel_core::config::ConfigFile::from_path(path, &otel_core::Env::process())?;
            for view in file.views_needing_meters() {
                eprintln!("otel-ops: warning: {view} selects by meter, which a declaration does not name; it is not applied here");
            }
            otel_ops::inventory_with_config(catalog, std::sync::Arc::new(file), modules)
        }
        None => otel_ops::inventory_for(catalog, modules),
    }
}
