//! Alert and recording rules for the metrics an [`Inventory`] holds, each alert with the series
//! that make it fire and the series that keep it silent (rendered as `promtool test rules`
//! files). A domain's rules are generated only when its metrics are there.

mod service;
mod slo;
mod tasks;

use crate::inventory::Inventory;
use service::{app, pipeline};
use slo::slo_group;
pub use slo::Slo;
use tasks::{jobs, lifecycle, workers};

/// One recording rule.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The recorded series' name (`job:http_server_request_errors:ratio_rate5m`).
    pub record: String,
    /// Its PromQL.
    pub expr: String,
}

/// Input series of a rule test: `(series selector with labels, promtool values notation)`.
pub type Series = Vec<(String, String)>;

/// One alerting rule and its test.
#[derive(Debug, Clone)]
pub struct Alert {
    /// Alert name (also the runbook anchor in `docs/runbooks.md`).
    pub name: String,
    /// Its PromQL.
    pub expr: String,
    /// How long it must hold before firing.
    pub hold: &'static str,
    /// `page`, `critical`, `warning` or `ticket`.
    pub severity: &'static str,
    /// One line, naming the series through `{{ $labels.* }}`.
    pub summary: String,
    /// What it means and what to look at first.
    pub description: String,
    /// Series that make it fire at `eval_time`, and the labels it then fires with (besides
    /// `severity`).
    pub fires: (Series, Vec<(String, String)>),
    /// Series that keep it silent.
    pub silent: Series,
    /// When the test looks (`70m`).
    pub eval_time: &'static str,
}

/// Rules of one domain, rendered as `<name>.rules.yml`.
#[derive(Debug, Clone)]
pub struct Group {
    /// File stem and group name (`http`, `workers`, ...).
    pub name: &'static str,
    /// Recording rules, evaluated before the alerts that use them.
    pub recording: Vec<Recording>,
    /// Alerting rules.
    pub alerts: Vec<Alert>,
}

/// Every rule group the inventory supports, with these objectives for the request SLOs.
pub fn groups(inv: &Inventory, slos: &[Slo]) -> Result<Vec<Group>, crate::OpsError> {
    for job in slos.iter().filter_map(|s| s.job.as_deref()) {
        crate::escape::representable("SLO job", job)?;
    }
    let mut groups = Vec::new();
    if inv.has_all(&["http.server.request.duration"]) {
        let status = inv.label("http.server.request.duration", "http.response.status_code");
        groups.push(slo_group(
            inv,
            "http_server",
            "http.server.request.duration",
            &format!("{status}=~\"5..\""),
            &format!("{status}=\"200\""),
            slos,
        )?);
    }
    if inv.has_all(&["rpc.server.duration"]) {
        let status = inv.label("rpc.server.duration", "rpc.grpc.status_code");
        groups.push(slo_group(
            inv,
            "grpc_server",
            "rpc.server.duration",
            &format!("{status}=~\"2|4|12|13|14|15\""),
            &format!("{status}=\"0\""),
            slos,
        )?);
    }
    if inv.has_all(&[
        "task.poll.time",
        "task.execute.time",
        "task.update.error",
        "task.execution.queue.full",
        "worker.restart",
        "api.request.time",
    ]) {
        groups.push(workers(inv));
    }
    if inv.has_all(&["job.executions", "job.errors", "job.timeouts"]) {
        groups.push(jobs(inv));
    }
    if inv.has_all(&["service.state", "service.restarts"]) {
        groups.push(lifecycle(inv));
    }
    if inv.has_all(&["request_count", "error_count", "request_duration"]) {
        groups.push(app(inv));
    }
    groups.push(pipeline(inv));
    Ok(groups)
}

/// Expected alert labels, owned.
pub(super) fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

pub(super) fn threshold_name(seconds: f64) -> String {
    format!("{seconds}s").replace('.', "_")
}

pub(super) fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

pub(super) fn percent(x: f64) -> String {
    format!("{}%", round(x * 100.0))
}

/// A ratio alert on `numerator / denominator` by `by`, above `limit`.
#[allow(clippy::too_many_arguments)]
pub(super) fn ratio_alert(
    name: &str,
    record: &str,
    numerator: String,
    denominator: String,
    by: &str,
    limit: f64,
    hold: &'static str,
    severity: &'static str,
    summary: String,
    description: String,
    fires: (Series, Vec<(String, String)>),
    silent: Series,
) -> (Recording, Alert) {
    // `or ... * 0`: no bad events at all is a ratio of 0, not no ratio.
    let total = format!("sum by ({by}) ({denominator})");
    let recording = Recording { record: record.to_owned(), expr: format!("(sum by ({by}) ({numerator}) or {total} * 0) / {total}") };
    let alert = Alert {
        name: name.to_owned(),
        expr: format!("{record} > {limit}"),
        hold,
        severity,
        summary,
        description,
        fires,
        silent,
        eval_time: "30m",
    };
    (recording, alert)
}
