//! A background worker: polls, executes and updates tasks (the seed's task-worker metrics),
//! calls the API, runs a scheduled job, and reports its own lifecycle.

use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use otel_core::Metrics;
use otel_instrumentation::tasks::{Jobs, Lifecycle, ServiceState, WorkerMetrics};
use tokio::sync::watch;

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

pub(crate) async fn run(api: String, metrics: Metrics, lifecycle: Lifecycle, mut stop: watch::Receiver<bool>) {
    let worker = WorkerMetrics::new(&metrics);
    let jobs = Jobs::new(&metrics);
    lifecycle.set_state("worker", ServiceState::Active);
    let client = reqwest::Client::new();
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id()));
    let mut queued = 0i64;
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    for tick in 0u64.. {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        let task_type = TASK_TYPES[dice.below(TASK_TYPES.len() as u64) as usize];

        // Poll, execute, update.
        worker.poll(task_type, 0.001 + dice.below(5) as f64 / 1000.0, dice.below(20) != 0);
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(dice.below(20))).await;
        let failed = dice.below(25) == 0;
        worker.execute(task_type, started.elapsed().as_secs_f64(), !failed);
        if failed {
            worker.execute_error(task_type, "TimeoutError");
        } else {
            worker.result_size(task_type, 100 + dice.below(4000));
            worker.update(task_type, 0.002 + dice.below(10) as f64 / 1000.0, true);
        }
        // The queue grows and drains but never goes below empty.
        let change = if queued == 0 { 1 } else { dice.below(3) as i64 - 1 };
        queued += change;
        metrics.increment_gauge("queue_size", change as f64, &[KeyValue::new("queue_name", "default")]);
        if queued > 5 {
            worker.queue_full(task_type);
        }
        let cache = [KeyValue::new("cache_name", "embeddings"), KeyValue::new("operation", "get")];
        let outcome = if dice.below(4) == 0 { "cache_misses" } else { "cache_hits" };
        metrics.increment_counter(outcome, 1, &cache);

        // Call the API, sometimes on a templated route.
        let (method, uri, request) = match dice.below(4) {
            0 => ("POST", "/api/orders", client.post(format!("{api}/api/orders"))),
            1 => ("GET", "/api/orders/{id}", client.get(format!("{api}/api/orders/{}", 1 + dice.below(50)))),
            _ => ("GET", "/api/orders", client.get(format!("{api}/api/orders"))),
        };
        let started = Instant::now();
        let status = match request.send().await {
            Ok(response) => response.status().as_u16().to_string(),
            Err(_) => "error".to_owned(),
        };
        worker.api_request(method, uri, &status, started.elapsed().as_secs_f64());

        // A scheduled cleanup job every 20 ticks (about once a second), failing now and then.
        if tick % 20 == 0 {
            let fail = dice.below(5) == 0;
            let result = jobs.run("cleanup", || if fail { Err(CleanupError) } else { Ok(()) });
            if result.is_err() {
                jobs.retry("cleanup");
            }
        }
        if tick % 200 == 199 {
            lifecycle.restarted("worker", "scheduled");
        }
    }
    lifecycle.set_state("worker", ServiceState::Inactive);
}
