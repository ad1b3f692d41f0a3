//! Rule groups as Prometheus rule files and `promtool test rules` files.

use std::fmt::Write as _;

use crate::rules::{Alert, Group};
use crate::yaml::{header, quoted};
use crate::Options;

/// `<group>.rules.yml`.
pub(crate) fn rules_file(group: &Group, options: &Options) -> String {
    let hold_override = options.hold_override.as_deref();
    let mut out = header(&format!("Prometheus rules: {}", group.name), options.command());
    let _ = writeln!(out, "groups:\n  - name: {}\n    rules:", group.name);
    for r in &group.recording {
        let _ = writeln!(out, "      - record: {}\n        expr: {}", r.record, quoted(&r.expr));
    }
    for a in &group.alerts {
        let _ =
            writeln!(out, "      - alert: {}\n        expr: {}\n        for: {}", a.name, quoted(&a.expr), hold_override.unwrap_or(a.hold));
        let _ = writeln!(out, "        labels:\n          severity: {}", a.severity);
        let _ = writeln!(
            out,
            "        annotations:\n          summary: {}\n          description: {}\n          runbook: {}",
            quoted(&a.summary),
            quoted(&a.description),
            quoted(&options.runbook(&a.name))
        );
    }
    out
}

/// An annotation as Prometheus renders it for an alert with these labels.
fn expand(template: &str, labels: &[(String, String)]) -> String {
    labels.iter().fold(template.to_owned(), |t, (k, v)| t.replace(&format!("{{{{ $labels.{k} }}}}"), v))
}

fn series(out: &mut String, input: &[(String, String)]) {
    out.push_str("    input_series:\n");
    for (s, values) in input {
        let _ = writeln!(out, "      - series: {}\n        values: {}", quoted(s), quoted(values));
    }
}

fn alert_test(out: &mut String, a: &Alert, fires: bool, options: &Options) {
    let _ = writeln!(out, "  # {} {}\n  - interval: 1m", a.name, if fires { "fires" } else { "stays silent" });
    series(out, if fires { &a.fires.0 } else { &a.silent });
    let _ = writeln!(out, "    alert_rule_test:\n      - eval_time: {}\n        alertname: {}", a.eval_time, a.name);
    if !fires {
        out.push_str("        exp_alerts: []\n");
        return;
    }
    let mut labels = a.fires.1.clone();
    labels.push(("severity".to_owned(), a.severity.to_owned()));
    labels.sort();
    out.push_str("        exp_alerts:\n          - exp_labels:\n");
    for (k, v) in &labels {
        let _ = writeln!(out, "              {k}: {}", quoted(v));
    }
    let _ = writeln!(
        out,
        "            exp_annotations:\n              summary: {}\n              description: {}\n              runbook: {}",
        quoted(&expand(&a.summary, &labels)),
        quoted(&expand(&a.description, &labels)),
        quoted(&options.runbook(&a.name))
    );
}

/// `<group>.test.yml`: every alert fires on its bad series and stays silent on its good ones.
pub(crate) fn test_file(group: &Group, options: &Options) -> String {
    let what = format!("promtool test rules {}.test.yml: each alert of {}.rules.yml fires and stays silent", group.name, group.name);
    let mut out = header(&what, options.command());
    let _ = writeln!(out, "rule_files:\n  - {}.rules.yml\nevaluation_interval: 1m\ntests:", group.name);
    for a in &group.alerts {
        alert_test(&mut out, a, true, options);
        alert_test(&mut out, a, false, options);
    }
    out
}
