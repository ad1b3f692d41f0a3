//! A task-and-service manager instrumented as the taskflows ADR ("Prometheus Metrics and
//! Observability") decides: task metrics from the task decorator (duration by status, count,
//! errors by type, retries), service lifecycle metrics at each transition (state with a `state`
//! label, restarts by reason, uptime), and API metrics from middleware (duration, count and
//! in-flight requests by method and endpoint, `/metrics` excluded), all under `taskflows_*`.
//!
//! ```text
//! cargo run -p example-taskflows -- [--listen ADDR] [--duration SECS]
//! ```
//!
//! The API and its `/metrics` listen on `--listen` (default 127.0.0.1:7777, the ADR's scrape
//! target); `prometheus.yml` and `alerts.yml` beside this crate are the ADR's scrape config and
//! alerting examples. The service drives itself: tasks run, services fail and restart, and a
//! client calls the API, including a slow report endpoint.

mod tasks;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use example_support::{Client, Dice, Ticker};
use otel_core::{Catalog, Telemetry};
use otel_exporters::{PrometheusExporter, Scraper};
use otel_instrumentation::http::{HttpServerLayer, HttpServerNames};
use otel_instrumentation::tasks::{JobNames, Jobs, Lifecycle, LifecycleNames, ServiceState};
use tokio::sync::watch;

const PROGRAM: &str = "example-taskflows";

/// The services this manager runs.
const SERVICES: [&str; 3] = ["web", "worker", "scheduler"];

/// `taskflows_task_total`, `taskflows_task_duration_seconds`, `taskflows_task_errors_total`,
/// `taskflows_task_retries_total`, labelled `task_name`.
fn task_names() -> JobNames {
    JobNames::default()
        .namespace("taskflows")
        .executions("task")
        .duration("task.duration")
        .errors("task.errors")
        .retries("task.retries")
        .timeouts(None)
        .job_key("task_name")
}

/// `taskflows_service_state{service_name,state}`, `taskflows_service_restarts_total`,
/// `taskflows_service_uptime_seconds`.
fn service_names() -> LifecycleNames {
    LifecycleNames::default().namespace("taskflows").state_key("state")
}

/// `taskflows_api_request_duration_seconds`, `taskflows_api_request_total` and
/// `taskflows_api_active_requests`, labelled `method`, `endpoint`, `status_code`.
fn api_names() -> HttpServerNames {
    HttpServerNames::default()
        .namespace("taskflows")
        .duration("api.request.duration")
        .requests(Some("api.request"))
        .active("api.active_requests")
        .body_sizes(false)
        .keys("method", "endpoint", "status_code")
        .scheme_key(None)
        .error_type_key(None)
        .active_by_route(true)
}

#[derive(Clone)]
struct App {
    scraper: Scraper,
    lifecycle: Lifecycle,
    tasks: Arc<tasks::Tasks>,
}

/// Flags (`--help` lists them).
#[derive(Debug, clap::Parser)]
#[command(name = "example-taskflows", version, about)]
struct Args {
    /// Where the API and its /metrics listen.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7777")]
    listen: String,
    #[command(flatten)]
    lifetime: example_support::Lifetime,
}

#[tokio::main]
async fn main() {
    let args: Args = example_support::start();
    example_support::exit_on_error(PROGRAM, run(args).await);
}

async fn run(args: Args) -> Result<(), String> {
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let catalog =
        Catalog::new().with(task_names().definitions().into_iter().chain(service_names().definitions())).map_err(|e| e.to_string())?;
    let telemetry = Telemetry::builder()
        .catalog(catalog)
        .default_service_name("taskflows")
        .scope_name("taskflows")
        .exporter(exporter)
        .build()
        .map_err(|e| e.to_string())?;
    let lifecycle = Lifecycle::with_names(&telemetry.metrics(), &telemetry.meter("taskflows.service"), service_names());
    let tasks = Arc::new(tasks::Tasks::new(Jobs::with_names(&telemetry.metrics(), task_names())));
    let app = App { scraper, lifecycle: lifecycle.clone(), tasks: tasks.clone() };

    let router = Router::new()
        .route("/metrics", get(metrics))
        .route("/api/services", get(list_services))
        .route("/api/services/{name}/restart", post(restart_service))
        .route("/api/tasks/{name}/run", post(run_task))
        .route("/api/reports/{name}", get(report))
        .layer(HttpServerLayer::with_names(&telemetry.meter("taskflows.api"), api_names()))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop_tx, stop) = watch::channel(false);
    let mut server_stop = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).with_graceful_shutdown(async move { drop(server_stop.wait_for(|s| *s).await) }).await
    });
    println!("{PROGRAM}: metrics at http://{addr}/metrics");
    println!("{PROGRAM}: API at http://{addr}/api/services");

    for service in SERVICES {
        lifecycle.set_state(service, ServiceState::Active);
    }
    let background = [
        tokio::spawn(tasks.clone().run_schedule(stop.clone())),
        tokio::spawn(supervise(lifecycle.clone(), stop.clone())),
        tokio::spawn(traffic(format!("http://{addr}"), stop.clone())),
    ];
    example_support::run_for(args.lifetime.duration).await;
    let _ = stop_tx.send(true);
    for task in background {
        let _ = task.await;
    }
    for service in SERVICES {
        lifecycle.set_state(service, ServiceState::Inactive);
    }
    let _ = server.await;
    telemetry.shutdown().map_err(|e| format!("flushing metrics on the way out failed: {e}"))?;
    println!("{PROGRAM}: stopped, metrics flushed");
    Ok(())
}

async fn metrics(State(app): State<App>, headers: HeaderMap) -> Response {
    example_support::metrics_response(&app.scraper, &headers)
}

async fn list_services() -> String {
    format!("{SERVICES:?}")
}

async fn restart_service(State(app): State<App>, Path(name): Path<String>) -> StatusCode {
    if !SERVICES.contains(&name.as_str()) {
        return StatusCode::NOT_FOUND;
    }
    app.lifecycle.restarted(&name, "manual");
    StatusCode::NO_CONTENT
}

async fn run_task(State(app): State<App>, Path(name): Path<String>) -> StatusCode {
    match app.tasks.run_by_name(&name).await {
        Some(true) => StatusCode::OK,
        Some(false) => StatusCode::INTERNAL_SERVER_ERROR,
        None => StatusCode::NOT_FOUND,
    }
}

/// A report that takes over a second: what the ADR's slow-request alert is for.
async fn report(Path(name): Path<String>) -> String {
    tokio::time::sleep(Duration::from_millis(1100 + (name.len() as u64 * 37) % 300)).await;
    format!("report {name}")
}

/// Services fail and come back (restart reason `failure`), restart after a dependency did
/// (`dependency`), and stop and start on purpose.
async fn supervise(lifecycle: Lifecycle, stop: watch::Receiver<bool>) {
    let mut dice = Dice::new(0x5EED ^ u64::from(std::process::id()));
    let mut ticks = Ticker::new(Duration::from_millis(400), stop);
    while ticks.next().await {
        match dice.below(4) {
            0 => {
                lifecycle.set_state("worker", ServiceState::Failed);
                tokio::time::sleep(Duration::from_millis(100)).await;
                lifecycle.restarted("worker", "failure");
            }
            1 => lifecycle.restarted("web", "dependency"),
            2 => {
                lifecycle.set_state("scheduler", ServiceState::Inactive);
                tokio::time::sleep(Duration::from_millis(100)).await;
                lifecycle.set_state("scheduler", ServiceState::Active);
            }
            _ => {}
        }
    }
}

/// A client calling the API: listings, manual restarts, task runs, unknown names, slow reports.
async fn traffic(base: String, stop: watch::Receiver<bool>) {
    let client = Client::new(base);
    let mut dice = Dice::new(0xA11 ^ u64::from(std::process::id()));
    let mut ticks = Ticker::new(Duration::from_millis(50), stop);
    while ticks.next().await {
        let (method, path) = match dice.below(10) {
            0 => (Method::POST, "/api/services/web/restart".to_owned()),
            1 => (Method::POST, "/api/services/nope/restart".to_owned()),
            2 | 3 => (Method::POST, format!("/api/tasks/{}/run", tasks::NAMES[dice.below(3) as usize])),
            4 => (Method::GET, format!("/api/reports/{}", ["daily", "weekly"][dice.below(2) as usize])),
            _ => (Method::GET, "/api/services".to_owned()),
        };
        let client = client.clone();
        tokio::spawn(async move { client.send(method, &path, "").await });
    }
}
