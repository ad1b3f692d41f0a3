//! A Conductor-style task worker: it polls a task server for work, executes it, reports the
//! result, and starts workflows, recording every metric the Conductor Python SDK documents
//! under the same names and labels. Metrics are served on `--listen` and written, as the SDK's
//! `MetricsSettings` configures it, to `<--metrics-dir>/conductor_metrics.prom` every
//! `--update-interval` seconds.
//!
//! ```text
//! cargo run -p example-conductor-worker -- [--listen ADDR] [--duration SECS] [--metrics-dir DIR] [--update-interval SECS]
//! ```
//!
//! The task server is a small in-process stand-in for Conductor's API (poll, update, start
//! workflow), which answers 401 and 500 now and then so the error metrics have something to show.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use example_support::{Client, Dice, Ticker};
use otel_core::{Catalog, Telemetry};
use otel_exporters::{PrometheusExporter, TextfileExporter};
use otel_instrumentation::tasks::WorkerMetrics;
use tokio::sync::watch;

const PROGRAM: &str = "example-conductor-worker";

/// The task types this worker serves.
const TASK_TYPES: [&str; 2] = ["myTask", "image_resize"];

/// Flags (`--help` lists them).
#[derive(Debug, clap::Parser)]
#[command(name = "example-conductor-worker", version, about)]
struct Args {
    /// Where Prometheus scrapes the metrics.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9471")]
    listen: String,
    /// Where conductor_metrics.prom is written (default: conductor_metrics in the system's
    /// temporary directory).
    #[arg(long, value_name = "DIR")]
    metrics_dir: Option<std::path::PathBuf>,
    /// How often the file is rewritten, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    update_interval: u64,
    #[command(flatten)]
    lifetime: example_support::Lifetime,
}

#[tokio::main]
async fn main() {
    let args: Args = example_support::start();
    example_support::exit_on_error(PROGRAM, run(args).await);
}

async fn run(args: Args) -> Result<(), String> {
    let directory = args.metrics_dir.clone().unwrap_or_else(|| std::env::temp_dir().join("conductor_metrics"));
    let interval = args.update_interval;
    std::fs::create_dir_all(&directory).map_err(|e| format!("cannot create {}: {e}", directory.display()))?;
    let textfile = TextfileExporter::new()
        .directory(&directory)
        .file_name("conductor_metrics.prom")
        .interval(Duration::from_secs(interval))
        // The SDK's advice to clean the directory on startup: files of dead workers go.
        .remove_stale_files(true);
    let telemetry = Telemetry::builder()
        .catalog(Catalog::new().with(WorkerMetrics::definitions()).map_err(|e| e.to_string())?)
        .default_service_name("conductor-worker")
        .exporter(PrometheusExporter::new().listen(args.listen.clone()))
        .exporter(textfile)
        .install()
        .map_err(|e| e.to_string())?;
    for endpoint in telemetry.endpoints().iter().filter(|e| e.starts_with("http")) {
        println!("{PROGRAM}: metrics at {endpoint}");
    }
    println!("{PROGRAM}: textfile at {}", directory.join("conductor_metrics.prom").display());

    let server = task_server().await?;
    let (stop_tx, stop) = watch::channel(false);
    let worker = tokio::spawn(work(format!("http://{server}/api"), WorkerMetrics::new(&telemetry.metrics()), stop));
    example_support::run_for(args.lifetime.duration).await;
    let _ = stop_tx.send(true);
    let _ = worker.await;
    telemetry.shutdown().map_err(|e| format!("flushing metrics on the way out failed: {e}"))?;
    println!("{PROGRAM}: stopped, metrics flushed");
    Ok(())
}

/// A throw of `0..n` for the task server's answers: a different one on every call.
fn throw(n: u64) -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(1);
    Dice::new(CALLS.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15)).below(n)
}

/// A stand-in for Conductor's task API on a loopback port.
async fn task_server() -> Result<std::net::SocketAddr, String> {
    async fn poll(Path(task_type): Path<String>) -> (StatusCode, String) {
        let n = throw(u64::MAX);
        match n % 20 {
            0 => (StatusCode::UNAUTHORIZED, "token expired".into()),
            1 => (StatusCode::INTERNAL_SERVER_ERROR, "poll failed".into()),
            2..=4 => (StatusCode::OK, "[]".into()),
            _ => (StatusCode::OK, format!(r#"[{{"taskId":"{n:x}","taskDefName":"{task_type}","inputData":{{}}}}]"#)),
        }
    }
    async fn update() -> StatusCode {
        if throw(15) == 0 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    }
    async fn start_workflow(Path(_name): Path<String>) -> StatusCode {
        if throw(4) == 0 {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        }
    }
    let app = Router::new()
        .route("/api/tasks/poll/batch/{task_type}", get(poll))
        .route("/api/tasks/update-v2", post(update))
        .route("/api/workflow/{name}", post(start_workflow));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("task server: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// One API call, recorded as the SDK does: `api_request_time_seconds{method,uri,status}` with
/// the URI template, and the status code or `error`.
struct Api {
    client: Client,
    metrics: WorkerMetrics,
}

impl Api {
    async fn call(&self, method: Method, template: &str, path: &str, body: &'static str) -> (Option<StatusCode>, Bytes) {
        let started = Instant::now();
        let answer = self.client.send(method.clone(), path, body).await;
        let label = answer.as_ref().map_or_else(|| "error".to_owned(), |(status, _)| status.as_u16().to_string());
        self.metrics.api_request(method.as_str(), template, &label, started.elapsed().as_secs_f64());
        answer.map_or((None, Bytes::new()), |(status, body)| (Some(status), body))
    }
}

/// Polls, executes and updates tasks until told to stop.
async fn work(base: String, metrics: WorkerMetrics, stop: watch::Receiver<bool>) {
    let api = Api { client: Client::new(base), metrics: metrics.clone() };
    let mut dice = Dice::new(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id()));
    let mut ticks = Ticker::new(Duration::from_millis(20), stop);
    let mut round = 0u64;
    while ticks.next().await {
        round += 1;
        let task_type = TASK_TYPES[dice.below(TASK_TYPES.len() as u64) as usize];
        // The task handler restarts a worker process now and then.
        if round % 100 == 60 {
            metrics.worker_restart(task_type);
        }
        // Paused workers still count their polls.
        if round % 50 == 49 {
            metrics.paused(task_type);
            continue;
        }

        let started = Instant::now();
        let (status, tasks) = api.call(Method::GET, "/tasks/poll/batch/{taskType}", &format!("/tasks/poll/batch/{task_type}"), "").await;
        let polled = status == Some(StatusCode::OK);
        metrics.poll(task_type, started.elapsed().as_secs_f64(), polled);
        if !polled || tasks.as_ref() == b"[]" {
            continue;
        }

        // The execution queue holds four tasks; a burst past that is refused.
        if dice.one_in(40) {
            metrics.queue_full(task_type);
            continue;
        }
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(1 + dice.below(15))).await;
        let failure = match dice.below(12) {
            0 => Some("TimeoutError"),
            1 => Some("ValueError"),
            _ => None,
        };
        metrics.execute(task_type, started.elapsed().as_secs_f64(), failure.is_none());
        if let Some(exception) = failure {
            metrics.execute_error(task_type, exception);
        }
        let result_size = 200 + dice.below(6000);
        metrics.result_size(task_type, result_size);
        // Results over 5 KB go to external payload storage, as the SDK does past its threshold.
        if result_size > 5000 {
            metrics.external_payload_used(task_type, "output");
        }

        let started = Instant::now();
        let (status, _) = api.call(Method::POST, "/tasks/update-v2", "/tasks/update-v2", r#"{"status":"COMPLETED"}"#).await;
        let updated = status == Some(StatusCode::OK);
        metrics.update(task_type, started.elapsed().as_secs_f64(), updated);
        if !updated {
            metrics.update_error(task_type, status.map_or("ConnectionError", |_| "ApiException"));
        }

        if round.is_multiple_of(25) {
            let input = 100 + dice.below(2000);
            metrics.workflow_input_size("order_fulfillment", "1", input);
            let (status, _) = api.call(Method::POST, "/workflow/{name}", "/workflow/order_fulfillment", r#"{"orderId":1}"#).await;
            if status != Some(StatusCode::OK) {
                metrics.workflow_start_error("order_fulfillment", "ApiException");
            }
        }
    }
}
