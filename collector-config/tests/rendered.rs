//! The rendered files: current in the repository, valid for promtool (every alert fires on its
//! bad series and stays silent on its good ones), dashboards that follow the conventions, and
//! an SLO that cannot be measured refused with the fix.

use std::path::{Path, PathBuf};
use std::process::Command;

use otel_ops::{inventory_for, render, render_files, Options, Slo};
use otel_tests::{repo_root, scratch_dir, PrometheusVersion};
use serde_json::Value;

/// promtool of Prometheus 3 and of 2.42 (the oldest supported) on the same files; both must pass.
fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let mut report = String::new();
    let mut ok = true;
    for version in [PrometheusVersion::V3, PrometheusVersion::V2] {
        let out = Command::new(version.promtool()).args(args).current_dir(dir).output().expect("run promtool");
        ok &= out.status.success();
        report += &format!("promtool {version:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    (ok, report)
}

fn files_with(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names
}

#[test]
fn the_checked_in_rendering_is_current() {
    let inventory = otel_ops::demo_inventory().expect("inventory");
    let root = repo_root();
    let mut stale = Vec::new();
    for (path, text) in render_files(&inventory, &Options::default()).expect("render") {
        let checked_in: PathBuf = match path.strip_prefix("docs") {
            Ok(doc) => root.join("docs").join(doc),
            Err(_) => root.join("collector-config").join(&path),
        };
        if std::fs::read_to_string(&checked_in).ok().as_deref() != Some(text.as_str()) {
            stale.push(checked_in.display().to_string());
        }
    }
    assert!(stale.is_empty(), "stale (render again with `cargo run -p otel-ops -- render --out collector-config --docs docs`): {stale:#?}");
}

#[test]
fn every_rule_passes_promtool_and_every_alert_fires_and_stays_silent() {
    // The demo's inventory plus the application framework's catalog, so every group is rendered
    // (the one name both declare, `queue_size`, keeps the framework's declaration).
    let catalog = otel_core::presets::metrics_framework().expect("preset");
    for def in otel_demo::catalog().expect("demo catalog").definitions() {
        let _ = catalog.declare((*def).clone());
    }
    let inventory = inventory_for(catalog, &otel_ops::Module::ALL).expect("inventory");
    let out = scratch_dir("otel-ops-rules");
    let slos = vec![Slo::default(), Slo::parse("job=checkout,availability=99.5,latency=0.25s:95").expect("slo")];
    render(&out, &out.join("docs"), &inventory, &Options { slos, hold_override: None, ..Options::default() }).expect("render");
    let rules = out.join("rules");
    let rule_files = files_with(&rules, ".rules.yml");
    for group in ["app", "grpc_server", "http_server", "jobs", "lifecycle", "pipeline", "workers"] {
        assert!(rule_files.contains(&format!("{group}.rules.yml")), "{group} missing: {rule_files:?}");
    }
    let mut args = vec!["check", "rules"];
    args.extend(rule_files.iter().map(String::as_str));
    let (ok, report) = promtool(&args, &rules);
    assert!(ok && !report.contains("WARNING"), "{report}");
    let tests = files_with(&rules, ".test.yml");
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    let (ok, report) = promtool(&args, &rules);
    assert!(ok, "{report}");
    // Both objectives got their alerts, each test file tests every alert twice.
    let http = std::fs::read_to_string(rules.join("http_server.rules.yml")).expect("http rules");
    assert!(http.contains("{job=\"checkout\"} > 0.072") && http.contains("> 0.0144"), "{http}");
    for test in &tests {
        let rules_text = std::fs::read_to_string(rules.join(test.replace(".test.yml", ".rules.yml"))).expect("rules");
        let test_text = std::fs::read_to_string(rules.join(test)).expect("test");
        let alerts = rules_text.matches("- alert: ").count();
        assert_eq!(test_text.matches("alertname: ").count(), 2 * alerts, "{test}");
        assert_eq!(test_text.matches("exp_alerts: []").count(), alerts, "{test}");
    }
    let (ok, report) = promtool(&["check", "config", "prometheus.yml"], &out.join("prometheus"));
    assert!(ok, "{report}");
}

#[test]
fn dashboards_use_variables_rate_intervals_and_units() {
    let inventory = otel_ops::demo_inventory().expect("inventory");
    let files = render_files(&inventory, &Options::default()).expect("render");
    let dashboards: Vec<(PathBuf, Value)> = files
        .iter()
        .filter(|(p, _)| p.starts_with("dashboards"))
        .map(|(p, text)| (p.clone(), serde_json::from_str(text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))))
        .collect();
    assert_eq!(dashboards.len(), 6, "one per domain");
    let mut uids = Vec::new();
    for (path, d) in &dashboards {
        let name = path.display();
        assert!(d["schemaVersion"].as_u64().is_some_and(|v| v >= 36), "{name}: schema version");
        uids.push(d["uid"].as_str().expect("uid").to_owned());
        let variables: Vec<&str> =
            d["templating"]["list"].as_array().expect("templating").iter().filter_map(|v| v["name"].as_str()).collect();
        assert_eq!(variables, ["datasource", "job", "instance"], "{name}");
        let panels = d["panels"].as_array().expect("panels");
        assert!(!panels.is_empty(), "{name}");
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or_default();
            assert_eq!(panel["datasource"]["uid"], "${datasource}", "{name} {title}");
            assert!(panel["fieldConfig"]["defaults"]["unit"].as_str().is_some_and(|u| !u.is_empty()), "{name} {title}: unit");
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("expr");
                assert_eq!(target["datasource"]["uid"], "${datasource}", "{name} {title}");
                assert!(!expr.contains("job=\""), "{name} {title}: hard-coded job in {expr}");
                assert!(
                    expr.contains("$job") || expr.starts_with("job:") || expr.contains("job=~\"$job\""),
                    "{name} {title}: no $job in {expr}"
                );
                assert!(
                    !expr.contains("rate(") || expr.contains("[$__rate_interval]") || expr.contains(":ratio_rate"),
                    "{name} {title}: {expr}"
                );
                assert!(!expr.contains("[5m]") && !expr.contains("[1m]"), "{name} {title}: fixed range in {expr}");
            }
        }
        // Quantile panels read classic and native histograms.
        let quantile_panels = panels.iter().filter(|p| p["title"].as_str().is_some_and(|t| t.contains("p50 / p95 / p99")));
        for panel in quantile_panels {
            let exprs: Vec<&str> = panel["targets"].as_array().expect("targets").iter().filter_map(|t| t["expr"].as_str()).collect();
            assert!(exprs.iter().any(|e| e.contains("_bucket{")) && exprs.iter().any(|e| !e.contains("_bucket{")), "{name}: {exprs:?}");
        }
    }
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 6, "unique uids");
}

#[test]
fn an_objective_that_cannot_be_measured_is_refused_with_the_fix() {
    let inventory = otel_ops::demo_inventory().expect("inventory");
    let slo = Slo::parse("latency=0.3s:99").expect("parses");
    let err = render_files(&inventory, &Options { slos: vec![slo], hold_override: None, ..Options::default() })
        .expect_err("0.3 s is no boundary")
        .to_string();
    assert!(err.contains("not a bucket boundary") && err.contains("0.25"), "{err}");
    for (spec, says) in [
        ("availability=120", "between 0 and 100"),
        ("latency=fast", "SECONDS[:PERCENT]"),
        ("color=red", "known parts"),
        ("job", "key=value"),
    ] {
        let err = Slo::parse(spec).expect_err(spec).to_string();
        assert!(err.contains(says), "{spec}: {err}");
    }
}

#[test]
fn the_command_line_takes_flag_equals_value_version_and_suggests_the_meant_flag() {
    let out = scratch_dir("otel-ops-cli");
    let out_flag = format!("--out={}", out.display());
    otel_tests::assert_cli(
        env!("CARGO_BIN_EXE_otel-ops"),
        "otel-ops",
        &["render", "--outt", "x"],
        "--out",
        &["render", &out_flag, "--job=shop", "--for=0s"],
    );
    assert!(std::fs::read_to_string(out.join("prometheus/prometheus.yml")).unwrap_or_default().contains("job_name: 'shop'"));
}

#[test]
fn a_service_renders_its_own_catalog_file_and_a_bad_file_is_refused_naming_line_and_field() {
    let dir = scratch_dir("otel-ops-catalog-file");
    let catalog = dir.join("catalog.yaml");
    std::fs::write(
        &catalog,
        "metrics:\n  - name: orders.placed\n    kind: counter\n    labels: [payment]\n  - name: checkout.duration\n    kind: histogram\n    unit: s\n    buckets: [0.1, 0.5, 1]\n",
    )
    .expect("write catalog");
    let out = dir.join("out");
    let run_with = |file: &Path, more: &[&str]| {
        let _ = std::fs::remove_dir_all(&out);
        Command::new(env!("CARGO_BIN_EXE_otel-ops"))
            .args(["render", "--out"])
            .arg(&out)
            .arg("--catalog")
            .arg(file)
            .args(more)
            .output()
            .expect("run otel-ops")
    };
    let run = |file: &Path| run_with(file, &[]);
    let done = run(&catalog);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let reference = std::fs::read_to_string(out.join("docs/metrics.md")).expect("metrics.md");
    assert!(reference.contains("`orders_placed_total`") && reference.contains("`checkout_duration_seconds`"), "{reference}");
    // Only what the service has: no instrumentation named, so no HTTP, gRPC, client or runtime
    // metrics, rules or panels.
    let reference_of = |dir: &Path| std::fs::read_to_string(dir.join("docs/metrics.md")).expect("metrics.md");
    let everything = |dir: &Path| -> String {
        let mut text = String::new();
        for sub in ["rules", "dashboards"] {
            for entry in std::fs::read_dir(dir.join(sub)).expect("rendered").flatten() {
                text += &format!("== {}\n{}", entry.path().display(), std::fs::read_to_string(entry.path()).expect("read"));
            }
        }
        text + &reference_of(dir)
    };
    let rendered = everything(&out);
    for absent in ["http_server", "rpc_server", "http_client", "process_cpu", "tokio_runtime"] {
        assert!(!rendered.contains(absent), "{absent} rendered for a service without it");
    }
    let done = run_with(&catalog, &["--instrumentation", "http,runtime"]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let rendered = everything(&out);
    for present in ["http_server_request_duration_seconds", "process_cpu_time_seconds_total"] {
        assert!(rendered.contains(present), "{present} missing with --instrumentation http,runtime");
    }
    for absent in ["rpc_server", "http_client"] {
        assert!(!rendered.contains(absent), "{absent} rendered though not named");
    }
    let refused = run_with(&catalog, &["--instrumentation", "kafka"]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains("http-client"), "{said}");
    // The library reads the same file.
    assert!(otel_core::Catalog::from_file(&catalog).expect("the library loads it").get("orders.placed").is_some());

    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "metrics:\n  - name: orders.placed\n    kind: counter\n    lables: [payment]\n").expect("write");
    let refused = run(&bad);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains("line 4") && said.contains("lables"), "{said}");
}
