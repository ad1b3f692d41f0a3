//! A background worker: polls, executes and updates tasks (the worker SDK's task metrics),
//! calls the API, runs a scheduled job, and reports its own lifecycle.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;
use otel_core::Metrics;
use otel_instrumentation::http_client::{HttpClientLayer, UrlTemplate};
use otel_instrumentation::recipes::{Cache, Database, GenAi};
use otel_instrumentation::tasks::{Jobs, Lifecycle, ServiceState, WorkerMetrics};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::args::Inject;

const TASK_TYPES: [&str; 3] = ["resize_image", "send_email", "charge_card"];

/// A tiny xorshift generator: varied, repeatable traffic without another dependency.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug)]
struct CleanupError;

pub(crate) async fn run(
    api: String,
    metrics: Metrics,
    meter: Meter,
    lifecycle: Lifecycle,
    inject: Inject,
    mut stop: watch::Receiver<bool>,
) {
    let worker = WorkerMetrics::new(&metrics);
    let jobs = Jobs::new(&metrics);
    let (cache, db, llm) = (Cache::new(&metrics, "embeddings"), Database::new(&metrics, "main"), GenAi::new(&metrics));
    lifecycle.set_state("worker", ServiceState::Active);
    if inject.restarts {
        lifecycle.set_state("payments", ServiceState::Failed);
    }
    let placed = Arc::new(AtomicU64::new(0));
    let client = tower::ServiceBuilder::new()
        .layer(HttpClientLayer::new(&meter))
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>());
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id()));
    let mut queued = 0i64;
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    for tick in 0u64.. {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        let task_type = TASK_TYPES[dice.below(TASK_TYPES.len() as u64) as usize];

        // Poll, execute, update (one in 20 polls and one in 25 executions fail on their own).
        let injected = inject.fails(tick);
        worker.poll(task_type, 0.001 + dice.below(5) as f64 / 1000.0, dice.below(20) != 0 && !injected);
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(dice.below(20))).await;
        let failed = dice.below(25) == 0 || injected;
        worker.execute(task_type, started.elapsed().as_secs_f64(), !failed);
        if failed {
            worker.execute_error(task_type, "TimeoutError");
        } else {
            worker.result_size(task_type, 100 + dice.below(4000));
            worker.update(task_type, 0.002 + dice.below(10) as f64 / 1000.0, true);
        }
        if injected {
            worker.update(task_type, 0.002, false);
            worker.update_error(task_type, "ApiException");
            worker.queue_full(task_type);
            // A bug of the kind the catalog catches: counted in otel_pipeline_recording_dropped_total.
            metrics.increment_counter("undeclared.metric", 1, &[]);
        }
        // The queue grows and drains but never goes below empty.
        let change = if queued == 0 { 1 } else { dice.below(3) as i64 - 1 };
        queued += change;
        metrics.increment_gauge("queue_size", change as f64, &[KeyValue::new("queue_name", "default")]);
        cache.lookup("get", dice.below(4) != 0);
        cache.size(1_000_000 + dice.below(100_000));
        {
            let _connection = db.connection();
            let _query = db.query("select", "orders");
            tokio::time::sleep(Duration::from_millis(dice.below(3))).await;
        }
        if tick % 10 == 0 {
            let error = (dice.below(10) == 0).then_some("rate_limited");
            llm.call("claude-3", "chat", 0.2 + dice.below(2000) as f64 / 1000.0, error, 50 + dice.below(500), 20 + dice.below(2000));
        }

        // Call the API through the instrumented client, sometimes on a templated route, in the
        // background so a slow API does not slow the worker. Orders are looked up only once
        // placed, so lookups find them.
        let placed_now = placed.load(Ordering::Relaxed);
        let (method, template, path) = match dice.below(4) {
            0 => ("POST", "/api/orders", "/api/orders".to_owned()),
            1 if placed_now > 0 => ("GET", "/api/orders/{id}", format!("/api/orders/{}", 1 + dice.below(placed_now))),
            _ => ("GET", "/api/orders", "/api/orders".to_owned()),
        };
        let request =
            http::Request::builder().method(method).uri(format!("{api}{path}")).extension(UrlTemplate(template)).body(Empty::new());
        let (client, recorder, placed) = (client.clone(), worker.clone(), placed.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let status = match request {
                Ok(request) => match client.oneshot(request).await {
                    Ok(response) => response.status().as_u16().to_string(),
                    Err(_) => "error".to_owned(),
                },
                Err(_) => "error".to_owned(),
            };
            if method == "POST" && status != "error" {
                placed.fetch_add(1, Ordering::Relaxed);
            }
            recorder.api_request(method, template, &status, started.elapsed().as_secs_f64());
        });

        // A scheduled cleanup job every 20 ticks (about once a second), failing one run in 25.
        if tick % 20 == 0 {
            let run = tick / 20;
            let fail = run % 25 == 24 || inject.fails(run);
            let result = jobs.run("cleanup", || if fail { Err(CleanupError) } else { Ok(()) });
            if result.is_err() {
                jobs.retry("cleanup");
            }
            if inject.fails(run + 50) {
                let started = Instant::now().checked_sub(Duration::from_millis(200)).unwrap_or_else(Instant::now);
                jobs.timed_out("cleanup", started);
            }
        }
        // A scheduled restart once a minute; every half second when injected.
        if tick % 1200 == 1199 {
            lifecycle.restarted("worker", "scheduled");
        }
        if inject.restarts && tick % 10 == 9 {
            worker.worker_restart(task_type);
            lifecycle.restarted("worker", "failure");
        }
    }
    lifecycle.set_state("worker", ServiceState::Inactive);
}
