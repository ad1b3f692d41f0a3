//! Clients that trickle their request head (or sit idle) cannot keep a real scraper out: with
//! 200 such connections held open, more than the endpoint's 64 slots, Prometheus 2.42 still
//! scrapes every second, quickly. And a crowd of 1,000 scrapers at once is served in turn: every
//! one gets a complete response, none is reset.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use otel_core::Telemetry;
use otel_exporters::PrometheusExporter;
use otel_tests::{empty_env, scrape_target, wait_for, Prometheus};

const SLOW_CLIENTS: usize = 200;
/// Longer than the endpoint's 10 s header timeout, so slots would not have freed up in time.
const ATTACK: Duration = Duration::from_secs(14);

/// Holds `SLOW_CLIENTS` connections open, each sending one byte of a never-ending request head
/// per second; a connection the server closes is opened again. Stops at `deadline`.
fn slowloris(addr: String, stop: Arc<AtomicBool>, reconnects: Arc<AtomicUsize>) {
    let connect = || TcpStream::connect(&addr).ok();
    let mut conns: Vec<Option<TcpStream>> = (0..SLOW_CLIENTS).map(|_| connect()).collect();
    let head = b"GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: ";
    let mut sent = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let byte = [head.get(sent).copied().unwrap_or(b'a')];
        for conn in conns.iter_mut() {
            let alive = conn.as_mut().is_some_and(|c| c.write_all(&byte).is_ok());
            if !alive {
                reconnects.fetch_add(1, Ordering::Relaxed);
                *conn = connect();
            }
        }
        sent += 1;
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn a_real_scraper_gets_through_while_slow_clients_hold_every_slot() {
    let telemetry = Telemetry::builder()
        .env(empty_env())
        .service_name("slow-clients")
        .exporter(PrometheusExporter::new().listen("127.0.0.1:0"))
        .build()
        .expect("build");
    telemetry.meter("t").u64_counter("work.done").build().add(1, &[]);
    let target = scrape_target(&telemetry);
    let prometheus = Prometheus::start(&[&target], "/metrics", &[]);
    assert_eq!(prometheus.value("up"), 1.0);

    let stop = Arc::new(AtomicBool::new(false));
    let reconnects = Arc::new(AtomicUsize::new(0));
    let attacker = {
        let (addr, stop, reconnects) = (target.clone(), stop.clone(), reconnects.clone());
        std::thread::spawn(move || slowloris(addr, stop, reconnects))
    };
    let started = Instant::now();
    std::thread::sleep(ATTACK);
    // Measured while the slow clients are still connected.
    let window = format!("{}s", ATTACK.as_secs() - 2);
    let scrapes = prometheus.value(&format!("count_over_time(up[{window}])"));
    let failed = prometheus.value(&format!("count_over_time((up == 0)[{window}:1s])  or vector(0)"));
    let slowest = prometheus.value(&format!("max_over_time(scrape_duration_seconds[{window}])"));
    stop.store(true, Ordering::Relaxed);
    attacker.join().expect("slow clients");
    println!(
        "{SLOW_CLIENTS} slow clients for {:?}: {scrapes} scrapes in the last {window}, {failed} failed, slowest {:.1} ms, {} slow connections closed by the endpoint",
        started.elapsed(),
        slowest * 1000.0,
        reconnects.load(Ordering::Relaxed)
    );
    assert!(scrapes >= 8.0, "only {scrapes} scrapes in {window}: {}", prometheus.targets());
    assert_eq!(failed, 0.0, "{}", prometheus.targets());
    assert!(slowest < 0.5, "a scrape took {slowest} s");
    // The endpoint evicted slow connections rather than waiting for their header timeout.
    assert!(reconnects.load(Ordering::Relaxed) > 0);
    let healthy = wait_for(Duration::from_secs(5), || (prometheus.value("up") == 1.0).then_some(()));
    assert!(healthy.is_some());
}

/// What one raw scrape got.
#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum Outcome {
    /// A `200` whose body is as long as its `Content-Length` and holds the recorded series.
    Complete,
    /// A `503` with `Retry-After`.
    Shed,
    /// Anything else: refused, reset, cut short, timed out.
    Lost,
}

fn scrape_once(addr: &str) -> (Outcome, String) {
    let attempt = || -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: crowd\r\nConnection: close\r\n\r\n")?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        Ok(answer)
    };
    let answer = match attempt() {
        Ok(answer) => answer,
        Err(e) => return (Outcome::Lost, e.to_string()),
    };
    let text = String::from_utf8_lossy(&answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else { return (Outcome::Lost, format!("{} bytes, no head", answer.len())) };
    let length = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>()));
    if head.starts_with("HTTP/1.1 200") && length == Some(Ok(body.len())) && body.contains("crowd_work_total{") {
        (Outcome::Complete, String::new())
    } else if head.starts_with("HTTP/1.1 503") && head.to_ascii_lowercase().contains("retry-after:") {
        (Outcome::Shed, String::new())
    } else {
        (Outcome::Lost, head.lines().next().unwrap_or_default().to_owned())
    }
}

#[test]
fn a_thousand_concurrent_scrapes_each_get_a_complete_response() {
    const CROWD: usize = 1000;
    let telemetry = Telemetry::builder()
        .env(empty_env())
        .service_name("crowd")
        .exporter(PrometheusExporter::new().listen("127.0.0.1:0"))
        .build()
        .expect("build");
    let counter = telemetry.meter("t").u64_counter("crowd.work").build();
    for i in 0..200 {
        counter.add(1, &[opentelemetry::KeyValue::new("series", i)]);
    }
    let target = scrape_target(&telemetry);
    let start = Arc::new(std::sync::Barrier::new(CROWD));
    let started = Instant::now();
    let clients: Vec<_> = (0..CROWD)
        .map(|_| {
            let (addr, start) = (target.clone(), start.clone());
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    start.wait();
                    scrape_once(&addr)
                })
                .expect("client thread")
        })
        .collect();
    let mut counts = std::collections::HashMap::new();
    let mut lost = Vec::new();
    for client in clients {
        let (outcome, why) = client.join().expect("client");
        *counts.entry(outcome).or_insert(0usize) += 1;
        if outcome == Outcome::Lost && lost.len() < 5 {
            lost.push(why);
        }
    }
    let complete = counts.get(&Outcome::Complete).copied().unwrap_or(0);
    println!("{CROWD} concurrent scrapes in {:?}: {counts:?}", started.elapsed());
    assert_eq!(counts.get(&Outcome::Lost), None, "lost scrapes, e.g. {lost:?}");
    assert_eq!(complete, CROWD, "{counts:?}");
}
