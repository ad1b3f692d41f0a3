//! Request objectives and their multi-window, multi-burn-rate alerts (availability and latency)
//! for the HTTP and gRPC server duration histograms.

use super::{labels, percent, round, threshold_name, Alert, Group, Recording, Series};
use crate::inventory::Inventory;

/// An objective for one service (`job`), or for every job.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// The job it is for; `None` for every job.
    pub job: Option<String>,
    /// Share of requests that must succeed (`0.999`).
    pub availability: f64,
    /// Requests slower than this many seconds count against the latency objective; must be a
    /// bucket boundary of the duration histogram.
    pub latency_seconds: f64,
    /// Share of requests that must be faster than `latency_seconds` (`0.99`).
    pub latency_target: f64,
}

impl Default for Slo {
    fn default() -> Self {
        Slo { job: None, availability: 0.999, latency_seconds: 0.5, latency_target: 0.99 }
    }
}

impl Slo {
    /// Parses `job=NAME,availability=99.9,latency=0.5s:99` (every part optional).
    pub fn parse(text: &str) -> Result<Slo, crate::OpsError> {
        Self::parse_text(text).map_err(crate::OpsError::Input)
    }

    fn parse_text(text: &str) -> Result<Slo, String> {
        let mut slo = Slo::default();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| format!("SLO part {part:?}: expected key=value"))?;
            let percent = |v: &str| -> Result<f64, String> {
                let p: f64 = v.trim_end_matches('%').parse().map_err(|_| format!("SLO {key}={v:?}: expected a percentage like 99.9"))?;
                if p > 0.0 && p < 100.0 {
                    Ok(p / 100.0)
                } else {
                    Err(format!("SLO {key}={v:?}: the percentage must be between 0 and 100"))
                }
            };
            match key {
                "job" => {
                    crate::escape::representable("SLO job", value).map_err(|e| e.to_string())?;
                    slo.job = Some(value.to_owned());
                }
                "availability" => slo.availability = percent(value)?,
                "latency" => {
                    let (seconds, target) = value.split_once(':').unwrap_or((value, "99"));
                    slo.latency_seconds = seconds
                        .trim_end_matches('s')
                        .parse()
                        .map_err(|_| format!("SLO latency={value:?}: expected SECONDS[:PERCENT], like 0.5s:99"))?;
                    slo.latency_target = percent(target)?;
                }
                other => return Err(format!("SLO part {other:?}: known parts are job, availability and latency")),
            }
        }
        Ok(slo)
    }

    /// The series it applies to: its job, or (for every job) the jobs without an objective of
    /// their own among `all`. Job names are literal values (`=` / `!=` matchers, escaped), never
    /// a regular expression.
    fn selector(&self, all: &[Slo]) -> String {
        use crate::escape::promql_string;
        match &self.job {
            Some(job) => format!("{{job={}}}", promql_string(job)),
            None => {
                let own: Vec<String> = all.iter().filter_map(|s| s.job.as_deref()).map(|j| format!("job!={}", promql_string(j))).collect();
                if own.is_empty() {
                    String::new()
                } else {
                    format!("{{{}}}", own.join(","))
                }
            }
        }
    }

    /// A job name the objective applies to, for its test.
    fn job_name(&self, all: &[Slo]) -> String {
        match &self.job {
            Some(job) => job.clone(),
            // One that no objective of its own names.
            None => (0..)
                .map(|i| format!("any-service{}", "-".repeat(i)))
                .find(|j| all.iter().all(|s| s.job.as_ref() != Some(j)))
                .unwrap_or_default(),
        }
    }
}

/// The windows of the multi-window, multi-burn-rate alerts: (long, short, burn rate).
const PAGE_WINDOWS: [(&str, &str, f64); 2] = [("1h", "5m", 14.4), ("6h", "30m", 6.0)];
const TICKET_WINDOWS: [(&str, &str, f64); 2] = [("1d", "2h", 3.0), ("3d", "6h", 1.0)];
const WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// A regular expression matching a bucket bound however a scrape format wrote it (`1`, `1.0`).
fn le_matcher(bound: f64) -> String {
    let text = format!("{bound}");
    if text.contains('.') {
        format!("{}0*", text.replace('.', "\\\\."))
    } else {
        format!("{text}(\\\\.0+)?")
    }
}

/// The recording rules and burn-rate alerts of a request-duration histogram: availability
/// (errors by `error_selector`) and latency, per objective.
pub(super) fn slo_group(
    inv: &Inventory,
    name: &'static str,
    otel_name: &str,
    error_selector: &str,
    ok_selector: &str,
    slos: &[Slo],
) -> Result<Group, crate::OpsError> {
    let family = inv.family(otel_name);
    let bounds = inv.get(otel_name).map(|m| m.bounds()).unwrap_or_default();
    let short = name;
    let mut recording = Vec::new();
    let mut thresholds: Vec<f64> = Vec::new();
    for slo in slos {
        if !bounds.iter().any(|b| (b - slo.latency_seconds).abs() < 1e-12) {
            return Err(crate::OpsError::Input(format!(
                "the latency objective of {} ({} s) is not a bucket boundary of {family} ({bounds:?}); pick one of those",
                slo.job.as_deref().unwrap_or("every job"),
                slo.latency_seconds
            )));
        }
        if !thresholds.contains(&slo.latency_seconds) {
            thresholds.push(slo.latency_seconds);
        }
    }
    for w in WINDOWS {
        let requests = format!("sum by (job) (rate({family}_count[{w}]))");
        recording.push(Recording { record: format!("job:{short}_requests:rate{w}"), expr: requests.clone() });
        // `or ... * 0`: a job without errors has a 0 ratio, not no ratio.
        recording.push(Recording {
            record: format!("job:{short}_errors:ratio_rate{w}"),
            expr: format!("(sum by (job) (rate({family}_count{{{error_selector}}}[{w}])) or {requests} * 0) / {requests}"),
        });
        for t in &thresholds {
            recording.push(Recording {
                record: format!("job:{short}_slower_than_{}:ratio_rate{w}", threshold_name(*t)),
                expr: format!("1 - sum by (job) (rate({family}_bucket{{le=~\"{}\"}}[{w}])) / {requests}", le_matcher(*t)),
            });
        }
    }
    let mut alerts = Vec::new();
    for slo in slos {
        let sel = slo.selector(slos);
        let job = slo.job_name(slos);
        let job = job.as_str();
        let objectives = [
            ("availability", format!("job:{short}_errors:ratio_rate"), 1.0 - slo.availability),
            ("latency", format!("job:{short}_slower_than_{}:ratio_rate", threshold_name(slo.latency_seconds)), 1.0 - slo.latency_target),
        ];
        for (objective, recorded, budget) in objectives {
            for (severity, windows, hold) in [("page", PAGE_WINDOWS, "2m"), ("ticket", TICKET_WINDOWS, "15m")] {
                let expr = windows
                    .iter()
                    .map(|(long, short_w, burn)| {
                        let limit = round(burn * budget);
                        format!("({recorded}{long}{sel} > {limit} and {recorded}{short_w}{sel} > {limit})")
                    })
                    .collect::<Vec<_>>()
                    .join(" or ");
                let alert_name = alert_name(name, objective, severity);
                let bad = match objective {
                    "availability" => "fail".to_owned(),
                    _ => format!("take longer than {} s", slo.latency_seconds),
                };
                alerts.push(Alert {
                    name: alert_name,
                    expr,
                    hold,
                    severity,
                    summary: format!("{{{{ $labels.job }}}} burns its {objective} error budget too fast ({family})"),
                    description: format!(
                        "The share of requests of {{{{ $labels.job }}}} that {bad} is over {} what its {} {objective} objective allows.",
                        if severity == "page" {
                            "14.4 times (over 1 h) or 6 times (over 6 h)"
                        } else {
                            "3 times (over 1 d) or once (over 3 d)"
                        },
                        percent(if objective == "availability" { slo.availability } else { slo.latency_target }),
                    ),
                    fires: (slo_series(&family, job, objective, ok_selector, error_selector, slo, true), labels(&[("job", job)])),
                    silent: slo_series(&family, job, objective, ok_selector, error_selector, slo, false),
                    eval_time: if severity == "page" { "70m" } else { "400m" },
                });
            }
        }
    }
    Ok(Group { name, recording, alerts })
}

/// Series for a burn-rate test: 100 requests a minute, 10 % of them bad when `bad`.
fn slo_series(family: &str, job: &str, objective: &str, ok: &str, error: &str, slo: &Slo, bad: bool) -> Series {
    let first = |selector: &str| {
        selector
            .split(',')
            .next()
            .unwrap_or_default()
            .replace("=~", "=")
            .replace("\"2|4|12|13|14|15\"", "\"14\"")
            .replace("\"5..\"", "\"500\"")
    };
    let le = format!("{}", slo.latency_seconds);
    let (errors, fast) = match (objective, bad) {
        ("availability", true) => ("10", "100"),
        ("availability", false) => ("0", "100"),
        (_, true) => ("0", "50"),
        (_, false) => ("0", "100"),
    };
    let ok_count: u32 = 100 - errors.parse::<u32>().unwrap_or(0);
    let job = crate::escape::promql_string(job);
    vec![
        (format!("{family}_count{{job={job},{}}}", first(ok)), format!("0+{ok_count}x500")),
        (format!("{family}_count{{job={job},{}}}", first(error)), format!("0+{errors}x500")),
        (format!("{family}_bucket{{job={job},{},le=\"{le}\"}}", first(ok)), format!("0+{fast}x500")),
    ]
}

fn alert_name(domain: &str, objective: &str, severity: &str) -> String {
    let domain = match domain {
        "http_server" => "Http",
        _ => "Grpc",
    };
    let objective = if objective == "availability" { "Availability" } else { "Latency" };
    let speed = if severity == "page" { "Fast" } else { "Slow" };
    format!("{domain}{objective}BudgetBurn{speed}")
}
