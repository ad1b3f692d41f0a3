//! A background worker that calls the API and processes tasks, recording seed-style task metrics.

use std::time::{Duration, Instant};

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;
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

pub(crate) async fn run(api: String, meter: Meter, mut stop: watch::Receiver<bool>) {
    let polls = meter.u64_counter("task.poll").with_description("Number of task poll attempts").build();
    let execute_time = meter
        .f64_histogram("task.execute.time")
        .with_unit("s")
        .with_description("Task execution latency")
        .with_boundaries(vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0])
        .build();
    let errors = meter.u64_counter("task.execute.error").with_description("Number of task execution errors").build();
    let result_size = meter.u64_gauge("task.result.size").with_description("Size of the last task result payload (bytes)").build();
    let queue = meter.i64_up_down_counter("queue.size").with_description("Tasks waiting in the queue").build();
    let cache_hits = meter.u64_counter("cache.hits").with_description("Cache hits").build();
    let cache_misses = meter.u64_counter("cache.misses").with_description("Cache misses").build();
    let api_time = meter
        .f64_histogram("api.request.time")
        .with_unit("s")
        .with_description("API request latency seen by the worker")
        .with_boundaries(otel_instrumentation::semconv::DURATION_BUCKETS_SECONDS.to_vec())
        .build();

    let client = reqwest::Client::new();
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id()));
    let mut queued = 0i64;
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let task_type = TASK_TYPES[dice.below(TASK_TYPES.len() as u64) as usize];
        let task = [KeyValue::new("task_type", task_type)];
        polls.add(1, &task);
        // The queue grows and drains but never goes below empty.
        let change = if queued == 0 { 1 } else { dice.below(3) as i64 - 1 };
        queued += change;
        queue.add(change, &[KeyValue::new("queue_name", "default")]);

        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(dice.below(20))).await;
        let failed = dice.below(25) == 0;
        let status = if failed { "FAILURE" } else { "SUCCESS" };
        execute_time.record(started.elapsed().as_secs_f64(), &[task[0].clone(), KeyValue::new("status", status)]);
        if failed {
            errors.add(1, &[task[0].clone(), KeyValue::new("exception", "TimeoutError")]);
        } else {
            result_size.record(100 + dice.below(4000), &task);
        }
        let cache = [KeyValue::new("cache_name", "embeddings"), KeyValue::new("operation", "get")];
        if dice.below(4) == 0 { cache_misses.add(1, &cache) } else { cache_hits.add(1, &cache) }

        let (method, request) = if dice.below(3) == 0 {
            ("POST", client.post(format!("{api}/api/orders")))
        } else {
            ("GET", client.get(format!("{api}/api/orders")))
        };
        let started = Instant::now();
        let status = match request.send().await {
            Ok(response) => response.status().as_u16().to_string(),
            Err(_) => "error".to_owned(),
        };
        let attributes = [
            KeyValue::new("method", method),
            KeyValue::new("uri", "/api/orders"),
            KeyValue::new("status", status),
        ];
        api_time.record(started.elapsed().as_secs_f64(), &attributes);
    }
}
