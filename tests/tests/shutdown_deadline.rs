//! `shutdown_timeout` bounds the whole shutdown of every push exporter, in-flight export, final
//! export and retries included, even against a peer that accepts connections and never answers;
//! the error names the exporter that did not deliver.

use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use otel_core::export::Exporter;
use otel_core::{Env, Telemetry};
use otel_exporters::{InfluxExporter, OtlpExporter, OtlpProtocol, PushgatewayExporter};

/// A peer that accepts every connection and never answers (the connections are kept open).
fn silent_peer() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            held.lock().expect("lock").push(stream);
        }
    });
    format!("http://{address}")
}

const DEADLINE: Duration = Duration::from_secs(2);
/// What shutdown may take beyond its deadline: bookkeeping, not waiting.
const SLACK: Duration = Duration::from_millis(500);

/// Builds a pipeline around `exporter`, lets an export start (and hang), then shuts down.
fn shutdown_against_silent_peer(exporter: impl Exporter) -> (Duration, String) {
    let telemetry = Telemetry::builder()
        .env(Env::empty())
        .service_name("deadline")
        .export_interval(Duration::from_millis(200))
        .shutdown_timeout(DEADLINE)
        .exporter(exporter)
        .build()
        .expect("build");
    telemetry.meter("deadline").u64_counter("work").build().add(1, &[KeyValue::new("k", "v")]);
    // The first interval's export is now in flight, waiting on the silent peer.
    std::thread::sleep(Duration::from_millis(600));
    let started = Instant::now();
    let result = telemetry.shutdown();
    let took = started.elapsed();
    (took, result.expect_err("nothing was delivered").to_string())
}

#[test]
fn shutdown_ends_within_its_deadline_against_a_peer_that_never_answers_for_every_push_exporter() {
    let cases: Vec<(&str, MakeExporter, &str)> = vec![
        ("otlp grpc", Box::new(|url| Box::new(OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint(url))), "OTLP export to"),
        ("otlp http", Box::new(|url| Box::new(OtlpExporter::new().protocol(OtlpProtocol::HttpProtobuf).endpoint(url))), "OTLP export to"),
        (
            "pushgateway",
            Box::new(|url| Box::new(PushgatewayExporter::new().endpoint(url).interval(Duration::from_millis(200)))),
            "pushgateway:",
        ),
        (
            "line protocol",
            Box::new(|url| Box::new(InfluxExporter::new().endpoint(format!("{url}/write")).interval(Duration::from_millis(200)))),
            "influx:",
        ),
    ];
    let mut report = Vec::new();
    // Every case in parallel: each waits about the deadline.
    let runs: Vec<_> = cases
        .into_iter()
        .map(|(name, make, names)| {
            std::thread::spawn(move || {
                let (took, err) = shutdown_against_silent_peer(Boxed(make(silent_peer())));
                (name, took, err, names)
            })
        })
        .collect();
    for run in runs {
        let (name, took, err, names) = run.join().expect("case");
        report.push(format!("{name}: {took:?}"));
        assert!(took <= DEADLINE + SLACK, "{name}: shutdown took {took:?} with a deadline of {DEADLINE:?}: {err}");
        assert!(err.contains(names) && err.contains("shutdown timeout"), "{name}: {err}");
    }
    println!("shutdown against a silent peer, deadline {DEADLINE:?}: {}", report.join(", "));
}

/// An exporter for a peer's URL.
type MakeExporter = Box<dyn FnOnce(String) -> Box<dyn Exporter> + Send>;

/// An exporter chosen at run time.
struct Boxed(Box<dyn Exporter>);

impl Exporter for Boxed {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn attach(self: Box<Self>, plug: &mut otel_core::export::Plug) -> Result<(), otel_core::BuildError> {
        self.0.attach(plug)
    }
}
