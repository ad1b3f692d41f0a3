//! Alert and recording rules for the metrics an [`Inventory`] holds, each alert with the series
//! that make it fire and the series that keep it silent (rendered as `promtool test rules`
//! files). A domain's rules are generated only when its metrics are there.

use crate::inventory::Inventory;

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
    pub fn parse(text: &str) -> Result<Slo, String> {
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
                    crate::escape::representable("SLO job", value)?;
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
fn slo_group(
    inv: &Inventory,
    name: &'static str,
    otel_name: &str,
    error_selector: &str,
    ok_selector: &str,
    slos: &[Slo],
) -> Result<Group, String> {
    let family = inv.family(otel_name);
    let bounds = inv.get(otel_name).map(|m| m.bounds()).unwrap_or_default();
    let short = name;
    let mut recording = Vec::new();
    let mut thresholds: Vec<f64> = Vec::new();
    for slo in slos {
        if !bounds.iter().any(|b| (b - slo.latency_seconds).abs() < 1e-12) {
            return Err(format!(
                "the latency objective of {} ({} s) is not a bucket boundary of {family} ({bounds:?}); pick one of those",
                slo.job.as_deref().unwrap_or("every job"),
                slo.latency_seconds
            ));
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

/// Expected alert labels, owned.
fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn threshold_name(seconds: f64) -> String {
    format!("{seconds}s").replace('.', "_")
}

fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn percent(x: f64) -> String {
    format!("{}%", round(x * 100.0))
}

/// A ratio alert on `numerator / denominator` by `by`, above `limit`.
#[allow(clippy::too_many_arguments)]
fn ratio_alert(
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

/// Every rule group the inventory supports, with these objectives for the request SLOs.
pub fn groups(inv: &Inventory, slos: &[Slo]) -> Result<Vec<Group>, String> {
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

fn workers(inv: &Inventory) -> Group {
    let task = inv.label("task.poll", "taskType");
    let by = format!("job, {task}");
    let poll = format!("{}_count", inv.family("task.poll.time"));
    let execute = format!("{}_count", inv.family("task.execute.time"));
    let api = format!("{}_count", inv.family("api.request.time"));
    let status = inv.label("task.poll.time", "status");
    let mut recording = Vec::new();
    let mut alerts = Vec::new();
    for (name, what, series) in [("WorkerPollFailures", "poll", &poll), ("WorkerExecuteFailures", "execute", &execute)] {
        let record = format!("job_{task}:{series}:failure_ratio_rate5m");
        let fires = vec![
            (format!("{series}{{job=\"worker\",{task}=\"resize\",{status}=\"SUCCESS\"}}"), "0+80x60".to_owned()),
            (format!("{series}{{job=\"worker\",{task}=\"resize\",{status}=\"FAILURE\"}}"), "0+20x60".to_owned()),
        ];
        let silent = vec![
            (format!("{series}{{job=\"worker\",{task}=\"resize\",{status}=\"SUCCESS\"}}"), "0+99x60".to_owned()),
            (format!("{series}{{job=\"worker\",{task}=\"resize\",{status}=\"FAILURE\"}}"), "0+1x60".to_owned()),
        ];
        let (r, a) = ratio_alert(
            name,
            &record,
            format!("rate({series}{{{status}=\"FAILURE\"}}[5m])"),
            format!("rate({series}[5m])"),
            &by,
            0.1,
            "10m",
            "warning",
            format!("Task type {{{{ $labels.{task} }}}} of {{{{ $labels.job }}}}: over 10% of {what} attempts fail"),
            format!("More than one {what} in ten failed over 5 minutes ({series} by status). Check the task server's answers and the worker's logs for {{{{ $labels.{task} }}}}."),
            (fires, labels(&[("job", "worker"), (&task, "resize")])),
            silent,
        );
        recording.push(r);
        alerts.push(a);
    }
    let counter_alert = |name: &str, otel: &str, window: &str, limit: f64, hold: &'static str, summary: &str, description: &str| {
        let family = inv.family(otel);
        Alert {
            name: name.to_owned(),
            expr: format!("sum by ({by}) (increase({family}[{window}])) > {limit}"),
            hold,
            severity: "warning",
            summary: format!("Task type {{{{ $labels.{task} }}}} of {{{{ $labels.job }}}}: {summary}"),
            description: format!("{description} ({family})."),
            fires: (
                vec![(format!("{family}{{job=\"worker\",{task}=\"resize\"}}"), "0+1x60".to_owned())],
                labels(&[("job", "worker"), (&task, "resize")]),
            ),
            silent: vec![(format!("{family}{{job=\"worker\",{task}=\"resize\"}}"), "0+0x60".to_owned())],
            eval_time: "45m",
        }
    };
    let update_errors = inv.family("task.update.error");
    alerts.push(Alert {
        name: "WorkerUpdateErrors".into(),
        expr: format!("sum by ({by}) (rate({update_errors}[5m])) > 0"),
        hold: "10m",
        severity: "warning",
        summary: format!("Task type {{{{ $labels.{task} }}}} of {{{{ $labels.job }}}}: results fail to reach the server"),
        description: format!("Task result updates keep failing ({update_errors}); finished work is being lost or retried."),
        fires: (
            vec![(format!("{update_errors}{{job=\"worker\",{task}=\"resize\",exception=\"ApiException\"}}"), "0+2x60".to_owned())],
            labels(&[("job", "worker"), (&task, "resize")]),
        ),
        silent: vec![(format!("{update_errors}{{job=\"worker\",{task}=\"resize\",exception=\"ApiException\"}}"), "0+0x60".to_owned())],
        eval_time: "30m",
    });
    alerts.push(counter_alert(
        "WorkerQueueFull",
        "task.execution.queue.full",
        "10m",
        0.0,
        "5m",
        "the execution queue is full",
        "The worker refused tasks because its execution queue was full: it is saturated (backpressure); add workers or capacity",
    ));
    alerts.push(counter_alert(
        "WorkerRestarts",
        "worker.restart",
        "1h",
        3.0,
        "1m",
        "the worker process keeps restarting",
        "The task handler restarted the worker more than 3 times in an hour; look for crashes in its logs",
    ));
    let api_status = inv.label("api.request.time", "status");
    let (r, a) = ratio_alert(
        "WorkerApiErrors",
        &format!("job:{api}:error_ratio_rate5m"),
        format!("rate({api}{{{api_status}=~\"4..|5..\"}}[5m])"),
        format!("rate({api}[5m])"),
        "job",
        0.05,
        "10m",
        "warning",
        "{{ $labels.job }}: over 5% of its calls to the task server fail".to_owned(),
        format!("The worker's API calls answer 4xx or 5xx ({api} by status); 401 means an expired token, 5xx a server problem."),
        (
            vec![
                (format!("{api}{{job=\"worker\",method=\"GET\",uri=\"/tasks/poll\",{api_status}=\"200\"}}"), "0+90x60".to_owned()),
                (format!("{api}{{job=\"worker\",method=\"GET\",uri=\"/tasks/poll\",{api_status}=\"500\"}}"), "0+10x60".to_owned()),
            ],
            labels(&[("job", "worker")]),
        ),
        vec![(format!("{api}{{job=\"worker\",method=\"GET\",uri=\"/tasks/poll\",{api_status}=\"200\"}}"), "0+90x60".to_owned())],
    );
    recording.push(r);
    alerts.push(a);
    Group { name: "workers", recording, alerts }
}

fn jobs(inv: &Inventory) -> Group {
    let job = inv.label("job.executions", "job");
    let (executions, errors, timeouts) = (inv.family("job.executions"), inv.family("job.errors"), inv.family("job.timeouts"));
    let by = format!("job, {job}");
    let (r, a) = ratio_alert(
        "JobFailureRate",
        &format!("job_{job}:{executions}:failure_ratio_rate5m"),
        format!("rate({errors}[5m])"),
        format!("rate({executions}[5m])"),
        &by,
        0.1,
        "10m",
        "warning",
        format!("Job {{{{ $labels.{job} }}}} of {{{{ $labels.job }}}} fails in over 10% of its runs"),
        format!("More than one run in ten ended in an error or a timeout ({errors} / {executions}); the error_type label of {errors} says which."),
        (
            vec![
                (format!("{executions}{{job=\"svc\",{job}=\"sync\",status=\"success\"}}"), "0+8x60".to_owned()),
                (format!("{executions}{{job=\"svc\",{job}=\"sync\",status=\"failure\"}}"), "0+2x60".to_owned()),
                (format!("{errors}{{job=\"svc\",{job}=\"sync\",error_type=\"DiskFull\"}}"), "0+2x60".to_owned()),
            ],
            labels(&[("job", "svc"), (&job, "sync")]),
        ),
        vec![(format!("{executions}{{job=\"svc\",{job}=\"sync\",status=\"success\"}}"), "0+10x60".to_owned())],
    );
    let timeouts_alert = Alert {
        name: "JobTimeouts".into(),
        expr: format!("sum by ({by}) (increase({timeouts}[1h])) > 0"),
        hold: "1m",
        severity: "warning",
        summary: format!("Job {{{{ $labels.{job} }}}} of {{{{ $labels.job }}}} timed out in the last hour"),
        description: format!("Runs were given up after their time limit ({timeouts}); they did not finish their work."),
        fires: (
            vec![(format!("{timeouts}{{job=\"svc\",{job}=\"sync\"}}"), "0+1x60".to_owned())],
            labels(&[("job", "svc"), (&job, "sync")]),
        ),
        silent: vec![(format!("{timeouts}{{job=\"svc\",{job}=\"sync\"}}"), "0+0x60".to_owned())],
        eval_time: "30m",
    };
    Group { name: "jobs", recording: vec![r], alerts: vec![a, timeouts_alert] }
}

fn lifecycle(inv: &Inventory) -> Group {
    let (state, restarts) = (inv.family("service.state"), inv.family("service.restarts"));
    let service = inv.label("service.state", "service_name");
    let failed = Alert {
        name: "ServiceFailed".into(),
        expr: format!("min by (job, {service}) ({state}) == -1"),
        hold: "1m",
        severity: "critical",
        summary: format!("Service {{{{ $labels.{service} }}}} of {{{{ $labels.job }}}} has failed"),
        description: format!("{state} is -1: the service stopped because of a failure and has not come back."),
        fires: (
            vec![(format!("{state}{{job=\"svc\",{service}=\"api\"}}"), "1x10 -1x20".to_owned())],
            labels(&[("job", "svc"), (&service, "api")]),
        ),
        silent: vec![(format!("{state}{{job=\"svc\",{service}=\"api\"}}"), "1x10 0x20".to_owned())],
        eval_time: "25m",
    };
    let storm = Alert {
        name: "ServiceRestartStorm".into(),
        expr: format!("sum by (job, {service}) (increase({restarts}[1h])) > 5"),
        hold: "1m",
        severity: "warning",
        summary: format!("Service {{{{ $labels.{service} }}}} of {{{{ $labels.job }}}} restarted more than 5 times in an hour"),
        description: format!(
            "The service keeps restarting ({restarts} by reason); the reason label says whether failures, dependencies or people cause it."
        ),
        fires: (
            vec![(format!("{restarts}{{job=\"svc\",{service}=\"api\",reason=\"failure\"}}"), "0+1x60".to_owned())],
            labels(&[("job", "svc"), (&service, "api")]),
        ),
        silent: vec![(format!("{restarts}{{job=\"svc\",{service}=\"api\",reason=\"failure\"}}"), "0+0x60".to_owned())],
        eval_time: "30m",
    };
    Group { name: "lifecycle", recording: Vec::new(), alerts: vec![failed, storm] }
}

fn app(inv: &Inventory) -> Group {
    let (requests, errors, duration) = (inv.family("request_count"), inv.family("error_count"), inv.family("request_duration"));
    let (r, a) = ratio_alert(
        "AppErrorRate",
        &format!("job:{errors}:per_request_rate5m"),
        format!("rate({errors}[5m])"),
        format!("rate({requests}[5m])"),
        "job",
        0.05,
        "10m",
        "warning",
        "{{ $labels.job }}: more than 5 errors per 100 requests".to_owned(),
        format!("{errors} grows faster than 5% of {requests}; its error_type and function labels say where."),
        (
            vec![
                (format!("{requests}{{job=\"app\",endpoint=\"/query\",method=\"POST\",status=\"200\"}}"), "0+90x60".to_owned()),
                (format!("{errors}{{job=\"app\",endpoint=\"/query\",error_type=\"ValueError\",function=\"f\"}}"), "0+10x60".to_owned()),
            ],
            labels(&[("job", "app")]),
        ),
        vec![(format!("{requests}{{job=\"app\",endpoint=\"/query\",method=\"POST\",status=\"200\"}}"), "0+90x60".to_owned())],
    );
    let slow = Alert {
        name: "AppSlowRequests".into(),
        expr: format!("histogram_quantile(0.95, sum by (job, le) (rate({duration}_bucket[5m]))) > 1"),
        hold: "10m",
        severity: "warning",
        summary: "{{ $labels.job }}: p95 request duration above 1 s".to_owned(),
        description: format!("The 95th percentile of {duration} is over a second; see which endpoint on the dashboard."),
        fires: (
            vec![
                (format!("{duration}_bucket{{job=\"app\",endpoint=\"/query\",method=\"POST\",le=\"1\"}}"), "0+10x60".to_owned()),
                (format!("{duration}_bucket{{job=\"app\",endpoint=\"/query\",method=\"POST\",le=\"2.5\"}}"), "0+100x60".to_owned()),
                (format!("{duration}_bucket{{job=\"app\",endpoint=\"/query\",method=\"POST\",le=\"+Inf\"}}"), "0+100x60".to_owned()),
            ],
            labels(&[("job", "app")]),
        ),
        silent: vec![
            (format!("{duration}_bucket{{job=\"app\",endpoint=\"/query\",method=\"POST\",le=\"1\"}}"), "0+100x60".to_owned()),
            (format!("{duration}_bucket{{job=\"app\",endpoint=\"/query\",method=\"POST\",le=\"+Inf\"}}"), "0+100x60".to_owned()),
        ],
        eval_time: "30m",
    };
    Group { name: "app", recording: vec![r], alerts: vec![a, slow] }
}

fn pipeline(inv: &Inventory) -> Group {
    let problem = |name: &str, otel: &str, hold: &'static str, summary: &str, description: &str| {
        let family = inv.family(otel);
        Alert {
            name: name.to_owned(),
            expr: format!("sum by (job, reason) (rate({family}[5m])) > 0"),
            hold,
            severity: "warning",
            summary: format!("{{{{ $labels.job }}}}: {summary} ({{{{ $labels.reason }}}})"),
            description: format!("{description} ({family}); the service's log names the first cases of each reason."),
            fires: (
                vec![(format!("{family}{{job=\"svc\",reason=\"r\"}}"), "0+1x60".to_owned())],
                labels(&[("job", "svc"), ("reason", "r")]),
            ),
            silent: vec![(format!("{family}{{job=\"svc\",reason=\"r\"}}"), "5x60".to_owned())],
            eval_time: "30m",
        }
    };
    let collection = inv.family("otel.sdk.metric_reader.collection.duration");
    let mut alerts = vec![
        problem(
            "PipelineExportFailing",
            "otel_pipeline.export.failed",
            "10m",
            "exports fail",
            "Pushes to the collector or gateway fail after their retries and their data is dropped",
        ),
        problem(
            "PipelineRecordingDropped",
            "otel_pipeline.recording.dropped",
            "15m",
            "recordings are dropped",
            "The metrics facade drops recordings: undeclared names, labels outside the catalog, wrong kinds or non-finite values",
        ),
        problem(
            "PipelineExpositionDropped",
            "otel_pipeline.exposition.dropped",
            "15m",
            "the exposition leaves data out",
            "An exporter leaves labels, series or metrics out to keep its output valid",
        ),
    ];
    alerts.push(Alert {
        name: "PipelineScrapeSlow".into(),
        expr: format!("histogram_quantile(0.99, sum by (job, le) (rate({collection}_bucket[5m]))) > 1"),
        hold: "10m",
        severity: "warning",
        summary: "{{ $labels.job }}: scrapes take over a second to collect".to_owned(),
        description: format!(
            "The 99th percentile of {collection} is over 1 s: too many series, or a starved process; scrapes may time out."
        ),
        fires: (
            vec![
                (format!("{collection}_bucket{{job=\"svc\",otel_component_type=\"prometheus\",le=\"1\"}}"), "0+0x60".to_owned()),
                (format!("{collection}_bucket{{job=\"svc\",otel_component_type=\"prometheus\",le=\"2.5\"}}"), "0+10x60".to_owned()),
                (format!("{collection}_bucket{{job=\"svc\",otel_component_type=\"prometheus\",le=\"+Inf\"}}"), "0+10x60".to_owned()),
            ],
            labels(&[("job", "svc")]),
        ),
        silent: vec![
            (format!("{collection}_bucket{{job=\"svc\",otel_component_type=\"prometheus\",le=\"1\"}}"), "0+10x60".to_owned()),
            (format!("{collection}_bucket{{job=\"svc\",otel_component_type=\"prometheus\",le=\"+Inf\"}}"), "0+10x60".to_owned()),
        ],
        eval_time: "30m",
    });
    alerts.push(Alert {
        name: "TargetDown".into(),
        expr: "up == 0".to_owned(),
        hold: "5m",
        severity: "critical",
        summary: "{{ $labels.job }} on {{ $labels.instance }} cannot be scraped".to_owned(),
        description: "Prometheus cannot reach the metrics endpoint: the service is down, or its listener or auth changed.".to_owned(),
        fires: (
            vec![("up{job=\"svc\",instance=\"h:9464\"}".to_owned(), "0x30".to_owned())],
            labels(&[("job", "svc"), ("instance", "h:9464")]),
        ),
        silent: vec![("up{job=\"svc\",instance=\"h:9464\"}".to_owned(), "1x30".to_owned())],
        eval_time: "20m",
    });
    Group { name: "pipeline", recording: Vec::new(), alerts }
}
