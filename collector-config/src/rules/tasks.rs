//! Alerts of the task systems: worker poll/execute/update failures, queue and API errors; job
//! failures and timeouts; failed services and restart storms.

use super::{labels, ratio_alert, Alert, Group};
use crate::inventory::Inventory;

pub(super) fn workers(inv: &Inventory) -> Group {
    let task = inv.label("task.poll", "taskType");
    let by = format!("job, {task}");
    let poll = inv.companion("task.poll.time", "count");
    let execute = inv.companion("task.execute.time", "count");
    let api = inv.companion("api.request.time", "count");
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

pub(super) fn jobs(inv: &Inventory) -> Group {
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

pub(super) fn lifecycle(inv: &Inventory) -> Group {
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
