//! Grafana dashboards, one per domain, from the inventory: every query names a scraped family,
//! selects `job` and `instance` through template variables, reads through a datasource variable
//! and uses `$__rate_interval`.

use serde_json::{json, Value};

use crate::inventory::Inventory;
use crate::rules::Group;

/// The selector every query carries.
const SEL: &str = "job=~\"$job\",instance=~\"$instance\"";
/// Grafana's schema version these dashboards are written for.
pub(crate) const SCHEMA_VERSION: u64 = 39;

/// One query of a panel.
struct Target {
    expr: String,
    legend: &'static str,
    /// Ask Grafana for the exemplars of the series the query reads (a latency panel's buckets),
    /// so a slow point links to the trace that caused it.
    exemplar: bool,
}

/// One panel: title, unit, queries.
struct Panel {
    title: String,
    unit: &'static str,
    targets: Vec<Target>,
}

fn panel(title: &str, unit: &'static str, targets: Vec<(String, &'static str)>) -> Panel {
    Panel {
        title: title.to_owned(),
        unit,
        targets: targets.into_iter().map(|(expr, legend)| Target { exemplar: false, expr, legend }).collect(),
    }
}

/// `rate()` of a family over Grafana's rate interval, with the dashboard's selector plus `extra`.
fn rate(family: &str, extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!("rate({family}{{{SEL}{sep}{extra}}}[$__rate_interval])")
}

/// p50, p95 and p99 of a histogram by `by`, from classic buckets and from a native histogram.
fn quantiles(title: &str, family: &str, by: &str) -> Panel {
    let by_le = if by.is_empty() { "le".to_owned() } else { format!("{by}, le") };
    let mut targets = Vec::new();
    for (q, legend_classic, legend_native) in [
        ("0.5", "p50 {{job}}", "p50 (native) {{job}}"),
        ("0.95", "p95 {{job}}", "p95 (native) {{job}}"),
        ("0.99", "p99 {{job}}", "p99 (native) {{job}}"),
    ] {
        targets.push((format!("histogram_quantile({q}, sum by ({by_le}) ({}))", rate(&format!("{family}_bucket"), "")), legend_classic));
        let native_by = if by.is_empty() { String::new() } else { format!(" by ({by})") };
        targets.push((format!("histogram_quantile({q}, sum{native_by} ({}))", rate(family, "")), legend_native));
    }
    let mut panel = panel(title, "s", targets);
    for target in panel.targets.iter_mut().filter(|t| t.expr.contains("_bucket{")) {
        target.exemplar = true;
    }
    panel
}

fn dashboard(uid: &str, title: &str, panels: Vec<Panel>) -> Value {
    let ds = json!({"type": "prometheus", "uid": "${datasource}"});
    let mut id = 0;
    let panels: Vec<Value> = panels
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            id += 1;
            let targets: Vec<Value> = p
                .targets
                .iter()
                .enumerate()
                .map(|(t, target)| {
                    let mut json = json!({"refId": char::from(b'A' + t as u8).to_string(), "datasource": ds, "expr": target.expr, "legendFormat": target.legend});
                    if target.exemplar {
                        json["exemplar"] = json!(true);
                    }
                    json
                })
                .collect();
            json!({
                "id": id,
                "type": "timeseries",
                "title": p.title,
                "datasource": ds,
                "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i / 2) * 8},
                "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": true}, "tooltip": {"mode": "multi", "sort": "desc"}},
                "targets": targets,
            })
        })
        .collect();
    let variable = |name: &str, label: &str, query: &str| {
        json!({
            "name": name, "label": label, "type": "query", "datasource": ds,
            "query": {"query": query, "refId": name}, "definition": query,
            "includeAll": true, "multi": true, "allValue": ".+", "refresh": 2, "sort": 1,
            "current": {"selected": true, "text": ["All"], "value": ["$__all"]}, "hide": 0
        })
    };
    json!({
        "uid": uid,
        "title": title,
        "tags": ["otel-pipeline"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": true,
        "graphTooltip": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "annotations": {"list": []},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "current": {}, "hide": 0, "refresh": 1},
            variable("job", "Job", "label_values(up, job)"),
            variable("instance", "Instance", "label_values(up{job=~\"$job\"}, instance)"),
        ]},
        "panels": panels,
    })
}

/// Every dashboard the inventory supports: `(file stem, JSON)`.
pub(crate) fn dashboards(inv: &Inventory, groups: &[Group]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |stem: &str, title: &str, panels: Vec<Panel>| {
        if !panels.is_empty() {
            let value = dashboard(&format!("otel-pipeline-{stem}"), title, panels);
            out.push((stem.to_owned(), serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"));
        }
    };
    add("api", "otel-pipeline / API (HTTP and gRPC)", api(inv, groups));
    add("workers", "otel-pipeline / Task workers", workers(inv, groups));
    add("jobs-lifecycle", "otel-pipeline / Jobs and service lifecycle", jobs(inv, groups));
    add("recipes", "otel-pipeline / GenAI, caches, databases", recipes(inv));
    add("runtime", "otel-pipeline / Process and runtime", runtime(inv));
    add("pipeline", "otel-pipeline / Pipeline health", pipeline(inv));
    out
}

fn recorded(groups: &[Group], group: &str, contains: &str) -> Option<String> {
    groups.iter().filter(|g| g.name == group).flat_map(|g| &g.recording).map(|r| r.record.clone()).find(|r| r.contains(contains))
}

fn api(inv: &Inventory, groups: &[Group]) -> Vec<Panel> {
    let mut panels = Vec::new();
    if inv.has_all(&["http.server.request.duration", "http.server.active_requests"]) {
        let d = inv.family("http.server.request.duration");
        let route = inv.label("http.server.request.duration", "http.route");
        let method = inv.label("http.server.request.duration", "http.request.method");
        let status = inv.label("http.server.request.duration", "http.response.status_code");
        panels.push(panel(
            "HTTP request rate by route",
            "reqps",
            vec![(format!("sum by ({route}, {method}) ({})", rate(&format!("{d}_count"), "")), "{{http_request_method}} {{http_route}}")],
        ));
        panels.push(panel(
            "HTTP errors (5xx share)",
            "percentunit",
            vec![(
                format!(
                    "(sum by (job) ({}) or sum by (job) ({}) * 0) / sum by (job) ({})",
                    rate(&format!("{d}_count"), &format!("{status}=~\"5..\"")),
                    rate(&format!("{d}_count"), ""),
                    rate(&format!("{d}_count"), "")
                ),
                "{{job}}",
            )],
        ));
        panels.push(quantiles("HTTP request duration p50 / p95 / p99", &d, "job"));
        panels.push(panel(
            "HTTP active requests",
            "short",
            vec![(format!("sum by (job) ({}{{{SEL}}})", inv.family("http.server.active_requests")), "{{job}}")],
        ));
        if let Some(errors) = recorded(groups, "http_server", "errors:ratio_rate1h") {
            panels.push(panel(
                "HTTP availability SLO: error ratio over 1h (recorded)",
                "percentunit",
                vec![(format!("{errors}{{job=~\"$job\"}}"), "{{job}}")],
            ));
        }
    }
    if inv.has_all(&["rpc.server.duration"]) {
        let d = inv.family("rpc.server.duration");
        let method = inv.label("rpc.server.duration", "rpc.method");
        let code = inv.label("rpc.server.duration", "rpc.grpc.status_code");
        panels.push(panel(
            "gRPC call rate by method and status",
            "reqps",
            vec![(format!("sum by ({method}, {code}) ({})", rate(&format!("{d}_count"), "")), "{{rpc_method}} {{rpc_grpc_status_code}}")],
        ));
        panels.push(quantiles("gRPC server duration p50 / p95 / p99", &d, "job"));
    }
    if inv.has_all(&["http.client.request.duration"]) {
        let d = inv.family("http.client.request.duration");
        let template = inv.label("http.client.request.duration", "url.template");
        panels.push(panel(
            "HTTP client calls by URL template",
            "reqps",
            vec![(format!("sum by ({template}) ({})", rate(&format!("{d}_count"), "")), "{{url_template}}")],
        ));
        panels.push(quantiles("HTTP client duration p50 / p95 / p99", &d, "job"));
    }
    panels
}

fn workers(inv: &Inventory, groups: &[Group]) -> Vec<Panel> {
    if !inv.has_all(&["task.poll", "task.poll.time", "task.execute.time", "api.request.time"]) {
        return Vec::new();
    }
    let task = inv.label("task.poll", "taskType");
    let (poll, execute, api) = (inv.family("task.poll"), inv.family("task.execute.time"), inv.family("api.request.time"));
    let mut panels = vec![
        panel("Polls by task type", "reqps", vec![(format!("sum by ({task}) ({})", rate(&poll, "")), "{{taskType}}")]),
        panel(
            "Execution time p95 by task type (last 1000 executions)",
            "s",
            vec![(format!("max by ({task}) ({execute}{{{SEL},quantile=\"0.95\"}})"), "{{taskType}}")],
        ),
        panel(
            "Average execution time",
            "s",
            vec![(
                format!(
                    "sum by ({task}) ({}) / sum by ({task}) ({})",
                    rate(&inv.companion("task.execute.time", "sum"), ""),
                    rate(&inv.companion("task.execute.time", "count"), "")
                ),
                "{{taskType}}",
            )],
        ),
        panel("Slowest API calls p99", "s", vec![(format!("topk(10, {api}{{{SEL},quantile=\"0.99\"}})"), "{{method}} {{uri}} {{status}}")]),
    ];
    if let Some(failures) = recorded(groups, "workers", "task_execute") {
        panels.push(panel(
            "Execution failure ratio (recorded)",
            "percentunit",
            vec![(format!("{failures}{{job=~\"$job\"}}"), "{{taskType}}")],
        ));
    }
    if let Some(failures) = recorded(groups, "workers", "task_poll") {
        panels.push(panel("Poll failure ratio (recorded)", "percentunit", vec![(format!("{failures}{{job=~\"$job\"}}"), "{{taskType}}")]));
    }
    if inv.has_all(&["task.execution.queue.full"]) {
        let full = inv.family("task.execution.queue.full");
        panels.push(panel(
            "Execution queue full (saturation)",
            "short",
            // `or vector(0)`: no overflow is a 0, not an empty panel.
            vec![(format!("sum by ({task}) (increase({full}{{{SEL}}}[$__rate_interval])) or vector(0)"), "{{taskType}}")],
        ));
    }
    panels
}

fn jobs(inv: &Inventory, groups: &[Group]) -> Vec<Panel> {
    let mut panels = Vec::new();
    if inv.has_all(&["job.executions", "job.duration"]) {
        let job = inv.label("job.executions", "job");
        let (executions, duration) = (inv.family("job.executions"), inv.family("job.duration"));
        panels.push(panel(
            "Job runs by status",
            "ops",
            vec![(format!("sum by ({job}, status) ({})", rate(&executions, "")), "{{exported_job}} {{status}}")],
        ));
        panels.push(quantiles("Job duration p50 / p95 / p99", &duration, &job));
        if let Some(failures) = recorded(groups, "jobs", "failure_ratio") {
            panels.push(panel(
                "Job failure ratio (recorded)",
                "percentunit",
                vec![(format!("{failures}{{job=~\"$job\"}}"), "{{exported_job}}")],
            ));
        }
    }
    if inv.has_all(&["service.state", "service.restarts", "service.uptime"]) {
        let service = inv.label("service.state", "service_name");
        panels.push(panel(
            "Service state (1 active, 0 inactive, -1 failed)",
            "short",
            vec![(format!("max by ({service}) ({}{{{SEL}}})", inv.family("service.state")), "{{service_name}}")],
        ));
        panels.push(panel(
            "Service restarts by reason",
            "short",
            vec![(
                format!(
                    "sum by ({service}, reason) (increase({}{{{SEL}}}[$__rate_interval])) or vector(0)",
                    inv.family("service.restarts")
                ),
                "{{service_name}} {{reason}}",
            )],
        ));
        panels.push(panel(
            "Service uptime",
            "s",
            vec![(format!("max by ({service}) ({}{{{SEL}}})", inv.family("service.uptime")), "{{service_name}}")],
        ));
    }
    panels
}

fn recipes(inv: &Inventory) -> Vec<Panel> {
    let mut panels = Vec::new();
    if inv.has_all(&["gen_ai.client.token.usage", "gen_ai.client.operation.duration"]) {
        let tokens = inv.family("gen_ai.client.token.usage");
        let token_type = inv.label("gen_ai.client.token.usage", "gen_ai.token.type");
        panels.push(panel(
            "Tokens per second by type",
            "short",
            vec![(format!("sum by ({token_type}) ({})", rate(&format!("{tokens}_sum"), "")), "{{gen_ai_token_type}}")],
        ));
        panels.push(panel(
            "Average tokens per call",
            "short",
            vec![(
                format!(
                    "sum by ({token_type}) ({}) / sum by ({token_type}) ({})",
                    rate(&format!("{tokens}_sum"), ""),
                    rate(&format!("{tokens}_count"), "")
                ),
                "{{gen_ai_token_type}}",
            )],
        ));
        let duration = inv.family("gen_ai.client.operation.duration");
        panels.push(panel(
            "Model invocations",
            "ops",
            vec![(format!("sum by (gen_ai_request_model) ({})", rate(&format!("{duration}_count"), "")), "{{gen_ai_request_model}}")],
        ));
        panels.push(quantiles("Model call duration p50 / p95 / p99", &duration, "job"));
    }
    if inv.has_all(&["cache.hits", "cache.misses", "cache.size"]) {
        let (hits, misses) = (inv.family("cache.hits"), inv.family("cache.misses"));
        panels.push(panel(
            "Cache hit rate",
            "percentunit",
            vec![(
                format!(
                    "sum by (cache_name) ({}) / (sum by (cache_name) ({}) + sum by (cache_name) ({}))",
                    rate(&hits, ""),
                    rate(&hits, ""),
                    rate(&misses, "")
                ),
                "{{cache_name}}",
            )],
        ));
        panels.push(panel(
            "Cache size",
            "bytes",
            vec![(format!("max by (cache_name) ({}{{{SEL}}})", inv.family("cache.size")), "{{cache_name}}")],
        ));
    }
    if inv.has_all(&["db.client.operation.duration", "db.client.connections.active"]) {
        let duration = inv.family("db.client.operation.duration");
        panels.push(panel(
            "Database time per second by operation",
            "s",
            vec![(
                format!("sum by (db_operation_name, db_collection_name) ({})", rate(&format!("{duration}_sum"), "")),
                "{{db_operation_name}} {{db_collection_name}}",
            )],
        ));
        panels.push(quantiles("Database query duration p50 / p95 / p99", &duration, "job"));
        panels.push(panel(
            "Database connections in use",
            "short",
            vec![(format!("sum by (job) ({}{{{SEL}}})", inv.family("db.client.connections.active")), "{{job}}")],
        ));
    }
    if inv.has_all(&["request_count", "error_count", "request_duration", "active_requests"]) {
        let (requests, errors, duration) = (inv.family("request_count"), inv.family("error_count"), inv.family("request_duration"));
        panels.push(panel(
            "Request rate (QPS)",
            "reqps",
            vec![(format!("sum by (endpoint, method) ({})", rate(&requests, "")), "{{endpoint}} - {{method}}")],
        ));
        panels.push(panel(
            "Error rate",
            "percentunit",
            vec![(format!("sum by (job) ({}) / sum by (job) ({})", rate(&errors, ""), rate(&requests, "")), "{{job}}")],
        ));
        panels.push(quantiles("Request latency p50 / p95 / p99", &duration, "job"));
        panels.push(panel(
            "Active requests",
            "short",
            vec![(format!("sum by (endpoint) ({}{{{SEL}}})", inv.family("active_requests")), "{{endpoint}}")],
        ));
    }
    if inv.has_all(&["queue_size"]) {
        panels.push(panel(
            "Queue size",
            "short",
            vec![(format!("max by (queue_name) ({}{{{SEL}}})", inv.family("queue_size")), "{{queue_name}}")],
        ));
    }
    panels
}

fn runtime(inv: &Inventory) -> Vec<Panel> {
    if !inv.has_all(&["process.cpu.time", "process.memory.usage", "tokio.runtime.worker.busy.time"]) {
        return Vec::new();
    }
    vec![
        panel(
            "CPU by mode",
            "percentunit",
            vec![(format!("sum by (cpu_mode) ({})", rate(&inv.family("process.cpu.time"), "")), "{{cpu_mode}}")],
        ),
        panel(
            "Resident memory",
            "bytes",
            vec![(format!("max by (instance) ({}{{{SEL}}})", inv.family("process.memory.usage")), "{{instance}}")],
        ),
        panel(
            "Open file descriptors",
            "short",
            vec![(format!("max by (instance) ({}{{{SEL}}})", inv.family("process.open_file_descriptor.count")), "{{instance}}")],
        ),
        panel("Threads", "short", vec![(format!("max by (instance) ({}{{{SEL}}})", inv.family("process.thread.count")), "{{instance}}")]),
        panel(
            "Tokio worker busy share",
            "percentunit",
            vec![(
                format!(
                    "sum by (instance) ({}) / max by (instance) ({}{{{SEL}}})",
                    rate(&inv.family("tokio.runtime.worker.busy.time"), ""),
                    inv.family("tokio.runtime.workers")
                ),
                "{{instance}}",
            )],
        ),
        panel(
            "Tokio alive tasks",
            "short",
            vec![(format!("max by (instance) ({}{{{SEL}}})", inv.family("tokio.runtime.alive_tasks")), "{{instance}}")],
        ),
    ]
}

fn pipeline(inv: &Inventory) -> Vec<Panel> {
    let collection = inv.family("otel.sdk.metric_reader.collection.duration");
    let size = inv.family("otel_pipeline.scrape.size");
    let drops = ["otel_pipeline.recording.dropped", "otel_pipeline.exposition.dropped", "otel_pipeline.export.failed"]
        .iter()
        // `or vector(0)`: a healthy pipeline has none, and the panel shows 0 rather than nothing.
        .map(|n| (format!("sum by (reason) ({}) or vector(0)", rate(&inv.family(n), "")), "{{reason}}"))
        .collect();
    vec![
        panel("Targets up", "short", vec![(format!("up{{{SEL}}}"), "{{job}} {{instance}}")]),
        panel("Drops and failed exports by reason", "ops", drops),
        quantiles("Scrape collection duration p50 / p95 / p99", &collection, "job"),
        panel(
            "Scrape body size",
            "bytes",
            vec![(
                format!(
                    "sum by (format) ({}) / sum by (format) ({})",
                    rate(&format!("{size}_sum"), ""),
                    rate(&format!("{size}_count"), "")
                ),
                "{{format}}",
            )],
        ),
        panel(
            "Data points exported",
            "short",
            // Only push exporters export; a pull-only service shows 0.
            vec![(
                format!(
                    "sum by (otel_component_type) ({}) or vector(0)",
                    rate(&inv.family("otel.sdk.exporter.metric_data_point.exported"), "")
                ),
                "{{otel_component_type}}",
            )],
        ),
    ]
}
