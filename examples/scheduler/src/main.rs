//! A scheduler of interval jobs with the performance metrics the Symphra Scheduler document
//! describes: `get_metrics()` with every global and per-task field, `reset_metrics()`, the
//! `symphra_scheduler_*` Prometheus series, and the JSON and InfluxDB line-protocol exports of
//! its custom-exporter example.
//!
//! ```text
//! cargo run -p example-scheduler -- [--listen ADDR] [--duration SECS]
//! ```
//!
//! On `--listen`: `GET /metrics` (Prometheus text), `GET /metrics/json` (`get_metrics()` as
//! JSON), `GET /metrics/influx` (line protocol), `POST /metrics/reset` (`reset_metrics()`).
//! The document's jobs run every 5 and 10 seconds; here every 0.5 and 1 second, so a short run
//! shows something.

mod scheduler;

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use example_support::Dice;
use scheduler::Scheduler;
use tokio::sync::watch;

const PROGRAM: &str = "example-scheduler";

#[derive(Debug)]
struct SyncError;

/// Flags (`--help` lists them).
#[derive(Debug, clap::Parser)]
#[command(name = "example-scheduler", version, about)]
struct Args {
    /// Where /metrics, /metrics/json, /metrics/influx and /metrics/reset are served (as in the document).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9090")]
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
    let scheduler = Scheduler::new()?;
    let (stop_tx, stop) = watch::channel(false);

    // The document's two jobs, ten times as often, and a report that can time out.
    let mut dice = Dice::new(u64::from(std::process::id()));
    let mut jobs = Vec::new();
    jobs.push(scheduler.every("health_check", Duration::from_millis(500), None, stop.clone(), || async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok::<_, SyncError>("healthy")
    }));
    let mut sync_dice = dice.clone();
    jobs.push(scheduler.every("data_sync", Duration::from_secs(1), None, stop.clone(), move || {
        let (millis, fails) = (100 + sync_dice.below(100), sync_dice.one_in(4));
        async move {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            if fails {
                Err(SyncError)
            } else {
                Ok("synced")
            }
        }
    }));
    // Every third report takes longer than its 150 ms.
    let timeout = Some(Duration::from_millis(150));
    let mut reports = 0u64;
    jobs.push(scheduler.every("build_report", Duration::from_millis(700), timeout, stop.clone(), move || {
        reports += 1;
        let millis = if reports.is_multiple_of(3) { 400 } else { 20 + dice.below(100) };
        async move {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Ok::<_, SyncError>("report")
        }
    }));

    let app = Router::new()
        .route("/metrics", get(prometheus_text))
        .route("/metrics/json", get(|State(s): State<Scheduler>| async move { json(s.export_json()) }))
        .route("/metrics/influx", get(|State(s): State<Scheduler>| async move { s.export_influxdb_line_protocol() }))
        .route("/metrics/reset", post(|State(s): State<Scheduler>| async move { s.reset_metrics() }))
        .with_state(scheduler.clone());
    let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut server_stop = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(async move { drop(server_stop.wait_for(|s| *s).await) }).await
    });
    println!("{PROGRAM}: metrics at http://{addr}/metrics");

    example_support::run_for(args.lifetime.duration).await;
    let _ = stop_tx.send(true);
    for job in jobs {
        let _ = job.await;
    }
    let _ = server.await;
    let metrics = scheduler.get_metrics();
    println!(
        "{PROGRAM}: {} executions, success rate {:.1}%, average {:.3}s",
        metrics.total_executions,
        metrics.success_rate * 100.0,
        metrics.average_duration
    );
    scheduler.shutdown()?;
    println!("{PROGRAM}: stopped, metrics flushed");
    Ok(())
}

/// `export_prometheus_metrics()`, served as the document's aiohttp handler does.
async fn prometheus_text(State(scheduler): State<Scheduler>) -> Response {
    match scheduler.export_prometheus_metrics() {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        Err(e) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    }
}

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
