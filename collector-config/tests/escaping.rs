//! Job names given to `--slo` are data wherever they land: for random names full of quotes,
//! backslashes and regex metacharacters promtool accepts every rendered rule and test file (and
//! every alert fires for its own job only), and in a real Prometheus 2.42 scraping the intended
//! job beside decoys made to be confused with it, each alert selects exactly the jobs it is for.

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use otel_ops::{render, render_files, Options, Slo};
use otel_tests::{program, scratch_dir, wait_for, Prometheus};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(program("promtool")).args(args).current_dir(dir).output().expect("run promtool");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Job names made of the characters that mean something in PromQL, regexes, YAML, JSON and
/// Markdown, plus ordinary and non-ASCII ones.
fn job_name() -> impl Strategy<Value = String> {
    let pool: Vec<char> = "ab9-_.|()*+?[]{}^$\"\\'`#:, =~!&<>%/üé日😀".chars().collect();
    proptest::collection::vec(proptest::sample::select(pool), 1..12).prop_map(|chars| chars.into_iter().collect())
}

#[test]
fn random_job_names_render_rules_promtool_accepts_and_alerts_fire_for_their_own_job() {
    let inventory = otel_ops::demo_inventory().expect("inventory");
    const TESTED_CASES: u64 = 1;
    let mut runner = TestRunner::new(Config { cases: 32, failure_persistence: None, ..Config::default() });
    let case = AtomicU64::new(0);
    runner
        .run(&(job_name(), job_name()), |(first, second)| {
            prop_assume!(first != second);
            let out = scratch_dir(&format!("otel-ops-escaping-{}", case.fetch_add(1, Ordering::Relaxed)));
            let slos = vec![
                Slo::default(),
                Slo { job: Some(first.clone()), availability: 0.995, ..Slo::default() },
                Slo { job: Some(second.clone()), latency_target: 0.95, ..Slo::default() },
            ];
            render(&out, &out.join("docs"), &inventory, &Options { slos, hold_override: None, ..Options::default() })
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let rules = out.join("rules");
            let n = case.load(Ordering::Relaxed);
            for file in std::fs::read_dir(&rules).expect("rules").flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                // `check` every file; `test` (which evaluates days of series, some 25 s a file)
                // the files whose rules hold job names, for the first few cases.
                let (ok, output) = if name.ends_with(".rules.yml") {
                    promtool(&["check", "rules", &name], &rules)
                } else if n <= TESTED_CASES && name.ends_with("_server.test.yml") {
                    promtool(&["test", "rules", &name], &rules)
                } else {
                    continue;
                };
                prop_assert!(ok, "jobs {first:?} and {second:?}: promtool on {name}:\n{output}");
            }
            for dashboard in std::fs::read_dir(out.join("dashboards")).expect("dashboards").flatten() {
                let text = std::fs::read_to_string(dashboard.path()).expect("read");
                prop_assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "{}", dashboard.path().display());
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{} random pairs of job names: every rule file and the scrape config (the first name as --job) accepted by promtool, the first {TESTED_CASES} tests pass",
        case.load(Ordering::Relaxed)
    );
}

#[test]
fn control_characters_in_a_job_are_refused_with_the_reason() {
    for bad in ["a\nb", "tab\there", "nul\0", ""] {
        let err = Slo::parse(&format!("job={bad}")).expect_err(bad).to_string();
        assert!(err.contains("SLO job"), "{err}");
        let inventory = otel_ops::demo_inventory().expect("inventory");
        let slos = vec![Slo { job: Some(bad.to_owned()), ..Slo::default() }];
        let err = render_files(&inventory, &Options { slos, hold_override: None, ..Options::default() }).expect_err(bad).to_string();
        assert!(err.contains("SLO job"), "{err}");
    }
}

/// `value` as a label value of the text exposition format.
fn label_value(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Serves, for every job, request counts that grow by 100 a scrape, all failing and slow, so
/// every objective of every job it applies to is burning.
fn serve_jobs(jobs: Vec<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let scrapes = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut head = [0u8; 4096];
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream.read(&mut head);
            let n = (scrapes.fetch_add(1, Ordering::Relaxed) + 1) * 100;
            let mut body = String::from("# TYPE http_server_request_duration_seconds histogram\n");
            for job in &jobs {
                let job = label_value(job);
                for (status, count) in [("500", n), ("200", n)] {
                    let labels = format!("job=\"{job}\",http_response_status_code=\"{status}\"");
                    body.push_str(&format!("http_server_request_duration_seconds_bucket{{{labels},le=\"0.25\"}} 0\n"));
                    body.push_str(&format!("http_server_request_duration_seconds_bucket{{{labels},le=\"0.5\"}} 0\n"));
                    body.push_str(&format!("http_server_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}\n"));
                    body.push_str(&format!("http_server_request_duration_seconds_sum{{{labels}}} {}\n", count * 2));
                    body.push_str(&format!("http_server_request_duration_seconds_count{{{labels}}} {count}\n"));
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    address.to_string()
}

#[test]
fn in_prometheus_each_alert_selects_exactly_its_jobs_among_decoys() {
    // Objectives for names that would, unescaped, break the query, inject into it, or as a
    // regex match other jobs; decoys that such a mistake would select.
    let own = [r#"a.b"#, r#"x|y"#, r#"q"} or vector(1) or {job="q"#, r#"back\slash"#, r#"(grp)+"#, "ü ñ"];
    let decoys = ["aXb", "x", "y", "q", r#"back\\slash"#, "grp", "grpgrp", "(grp)", "other"];
    let all: Vec<String> = own.iter().chain(decoys.iter()).map(|s| (*s).to_owned()).collect();
    let inventory = otel_ops::demo_inventory().expect("inventory");
    let mut slos = vec![Slo::default()];
    slos.extend(own.iter().map(|j| Slo { job: Some((*j).to_owned()), ..Slo::default() }));
    let files = render_files(&inventory, &Options { slos, hold_override: None, ..Options::default() }).expect("render");
    let dir = scratch_dir("otel-ops-decoys");
    let (_, rules) = files.iter().find(|(p, _)| p.ends_with("http_server.rules.yml")).expect("http rules");
    std::fs::write(dir.join("http_server.rules.yml"), rules).expect("write rules");

    let target = serve_jobs(all.clone());
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: 'decoys'\n    honor_labels: true\n    static_configs:\n      - targets: ['{target}']\n",
        dir.join("http_server.rules.yml").display()
    );
    let prometheus = Prometheus::start_config(&config, &[]);
    // Every job's ratios are recorded once two scrapes are in.
    let recorded = wait_for(Duration::from_secs(30), || {
        let n = prometheus.query("count(job:http_server_slower_than_0_5s:ratio_rate3d)").first()?["value"][1]
            .as_str()?
            .parse::<usize>()
            .ok()?;
        (n == all.len()).then_some(n)
    });
    assert!(recorded.is_some(), "recording rules incomplete: {}", prometheus.output());

    let expressions: Vec<(String, String)> = rules
        .split("      - alert: ")
        .skip(1)
        .filter_map(|rule| {
            let name = rule.lines().next()?.to_owned();
            let expr = rule.lines().find_map(|l| l.trim().strip_prefix("expr: "))?;
            Some((name, expr.trim_matches('\'').replace("''", "'")))
        })
        .collect();
    assert_eq!(expressions.len(), 4 * (own.len() + 1), "{rules}");
    let mut wrong = Vec::new();
    for (i, (name, expr)) in expressions.iter().enumerate() {
        // Alerts come four per objective, in the objectives' order: the default one first.
        let expected: BTreeSet<String> = match i / 4 {
            0 => decoys.iter().map(|s| (*s).to_owned()).collect(),
            n => [own[n - 1].to_owned()].into(),
        };
        let selected: BTreeSet<String> =
            prometheus.query(expr).iter().filter_map(|s| s["metric"]["job"].as_str().map(str::to_owned)).collect();
        if selected != expected {
            wrong.push(format!("{name} {expr}\n  selects {selected:?}\n  expected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    println!(
        "{} alerts over {} jobs ({} with objectives, {} decoys): each selects exactly its jobs",
        expressions.len(),
        all.len(),
        own.len(),
        decoys.len()
    );
}
