//! `otel-ops render --out DIR`: see the crate docs.

use std::path::PathBuf;
use std::process::ExitCode;

use otel_ops::{Options, Slo};

const USAGE: &str = "usage: otel-ops render --out DIR [--docs DIR] [--slo SPEC]... [--for DURATION]

Renders, for the demo's catalog plus every instrumentation module and the pipeline's own
metrics, named as the Prometheus exporter names them:
  DIR/rules/*.rules.yml    alert and recording rules (promtool check rules)
  DIR/rules/*.test.yml     their tests (promtool test rules)
  DIR/dashboards/*.json    Grafana dashboards, one per domain
  DIR/prometheus/*.yml     scrape configs: endpoint (static, file_sd), textfile, Pushgateway
  DIR/collectors/          rotel agent and gateway, Alertmanager, OpenTelemetry Collector reference
  DOCS/metrics.md          the metrics reference
  DOCS/runbooks.md         what each alert means and what to do

  --out DIR        where to write (created when missing)
  --docs DIR       where the two Markdown files go (default: DIR/docs); the repository's own
                   rendering is `render --out collector-config --docs docs`
  --slo SPEC       a request objective, repeatable: job=NAME,availability=99.9,latency=0.5s:99
                   (default: every job, 99.9% available, 99% under 0.5 s); the latency must be a
                   bucket boundary of the duration histogram
  --for DURATION   give every alert this `for` (e.g. 0s to prove alerts in a short test; not for
                   production)";

fn main() -> ExitCode {
    let mut words = std::env::args().skip(1);
    match words.next().as_deref() {
        Some("render") => {}
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("otel-ops: unknown command {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let mut out = None;
    let mut docs = None;
    let mut options = Options::default();
    while let Some(flag) = words.next() {
        let Some(value) = words.next().filter(|_| flag != "-h" && flag != "--help") else {
            if flag == "-h" || flag == "--help" {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("otel-ops: {flag} needs a value\n\n{USAGE}");
            return ExitCode::from(2);
        };
        match flag.as_str() {
            "--out" => out = Some(PathBuf::from(value)),
            "--docs" => docs = Some(PathBuf::from(value)),
            "--slo" => match Slo::parse(&value) {
                Ok(slo) => options.slos.push(slo),
                Err(e) => {
                    eprintln!("otel-ops: --slo {value:?}: {e}");
                    return ExitCode::from(2);
                }
            },
            "--for" => options.hold_override = Some(value),
            other => {
                eprintln!("otel-ops: unknown option {other:?}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(out) = out else {
        eprintln!("otel-ops: render needs --out DIR\n\n{USAGE}");
        return ExitCode::from(2);
    };
    let docs = docs.unwrap_or_else(|| out.join("docs"));
    let rendered = otel_ops::demo_inventory().and_then(|inventory| otel_ops::render(&out, &docs, &inventory, &options));
    match rendered {
        Ok(files) => {
            println!("otel-ops: wrote {} files under {}", files.len(), out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("otel-ops: {e}");
            ExitCode::from(1)
        }
    }
}
