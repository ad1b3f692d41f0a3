//! Alerts of the application metrics framework (error rate, slow requests) and of the pipeline's
//! own health (exports failing, data dropped, slow scrapes, targets down).

use super::{labels, ratio_alert, Alert, Group};
use crate::inventory::Inventory;

pub(super) fn app(inv: &Inventory) -> Group {
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

pub(super) fn pipeline(inv: &Inventory) -> Group {
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
