//! Recording from every core at once: counters and histograms, every thread on the same series
//! or each on its own, from one thread up to all of this machine's cores. The figure is
//! nanoseconds per operation per thread: flat means the implementation scales, rising means
//! threads wait for one another.

use std::hint::black_box;
use std::sync::atomic::AtomicU64;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use otel_core::{Catalog, Env, MetricDef, Telemetry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use crate::measured_peer::{Series, SeriesSet};
use crate::report::Report;

/// A thread's recording loop: given its index, runs `ops` operations.
type Worker<'f> = Box<dyn Fn(usize, u64) + Sync + 'f>;

/// Which series the threads record into.
#[derive(Clone, Copy)]
enum Sharing {
    Same,
    Distinct,
}

impl Sharing {
    fn series(self, thread: usize) -> usize {
        match self {
            Sharing::Same => 0,
            Sharing::Distinct => thread,
        }
    }
}

fn labels(series: usize) -> [KeyValue; 1] {
    [KeyValue::new("series", format!("s{series}"))]
}

/// Wall time of `threads` threads each running `ops` operations, started together.
fn run(threads: usize, ops: u64, worker: &Worker<'_>) -> Duration {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                worker(t, ops);
            });
        }
        barrier.wait();
        let started = Instant::now();
        // Scoped threads are joined when the scope ends.
        started
    })
    .elapsed()
}

/// Median nanoseconds per operation per thread of each worker, rounds interleaved.
fn measure(threads: usize, ops: u64, rounds: usize, workers: &[(&'static str, Worker<'_>)]) -> Vec<(&'static str, f64)> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); workers.len()];
    for _ in 0..rounds {
        for (i, (_, worker)) in workers.iter().enumerate() {
            times[i].push(run(threads, ops, worker));
        }
    }
    workers
        .iter()
        .zip(times)
        .map(|((name, _), mut t)| {
            t.sort();
            (*name, t[t.len() / 2].as_nanos() as f64 / ops as f64)
        })
        .collect()
}

pub(crate) fn run_all(report: &mut Report, quick: bool) {
    let (ops, rounds) = if quick { (500_000, 5) } else { (2_000_000, 15) };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Doubling to 8 threads even on fewer cores (oversubscribed: threads then also wait for a
    // core), and on to every core of a larger machine.
    let most = cores.max(8);
    let mut thread_counts: Vec<usize> = std::iter::successors(Some(1), |n| Some(n * 2)).take_while(|n| *n < most).collect();
    thread_counts.push(most);
    for sharing in [Sharing::Same, Sharing::Distinct] {
        let name = match sharing {
            Sharing::Same => "same_series",
            Sharing::Distinct => "distinct_series",
        };
        let counters = counter_workers(sharing, most);
        let histograms = histogram_workers(sharing, most);
        for threads in &thread_counts {
            report.add(format!("contention_counter_{name}_{threads}_threads"), "ns/op/thread", measure(*threads, ops, rounds, &counters));
            report.add(
                format!("contention_histogram_{name}_{threads}_threads"),
                "ns/op/thread",
                measure(*threads, ops, rounds, &histograms),
            );
        }
    }
}

/// Each thread's series in a `measured` vec, resolved once.
fn measured_ids<M: measured::metric::MetricType>(
    vec: &measured::metric::MetricVec<M, SeriesSet>,
    sharing: Sharing,
    threads: usize,
) -> Vec<measured::metric::LabelId<SeriesSet>> {
    (0..threads).map(|t| vec.with_labels(Series { series: &format!("s{}", sharing.series(t)) })).collect()
}

fn pipeline() -> Telemetry {
    let catalog = Catalog::new()
        .with([MetricDef::counter("bench.requests").labels(["series"]), MetricDef::histogram("bench.latency").unit("s").labels(["series"])])
        .expect("catalog");
    Telemetry::builder().env(Env::empty()).catalog(catalog).build().expect("pipeline")
}

fn sdk() -> SdkMeterProvider {
    SdkMeterProvider::builder().with_reader(ManualReader::builder().build()).build()
}

/// Bound counters of each implementation, one per thread (all the same series, or each its own).
fn counter_workers(sharing: Sharing, threads: usize) -> Vec<(&'static str, Worker<'static>)> {
    let telemetry = Box::leak(Box::new(pipeline()));
    let ours: Vec<_> = (0..threads)
        .map(|t| telemetry.metrics().counter("bench.requests").expect("declared").bind(&labels(sharing.series(t))).expect("labels"))
        .collect();
    let provider = Box::leak(Box::new(sdk()));
    let sdk_counter = provider.meter("bench").u64_counter("bench.requests").build();
    let sdk_bound: Vec<_> = (0..threads).map(|t| sdk_counter.bind(&labels(sharing.series(t)))).collect();
    let family = Family::<Vec<(String, String)>, Counter<u64, AtomicU64>>::default();
    let pc: Vec<_> =
        (0..threads).map(|t| family.get_or_create(&vec![("series".to_owned(), format!("s{}", sharing.series(t)))]).clone()).collect();
    let measured = Box::leak(Box::new(crate::measured_peer::series_counters()));
    let ids = measured_ids(measured, sharing, threads);
    vec![
        ("otel-pipeline", Box::new(move |t, ops| (0..ops).for_each(|_| ours[t].add(black_box(1))))),
        ("otel-sdk-bound", Box::new(move |t, ops| (0..ops).for_each(|_| sdk_bound[t].add(black_box(1))))),
        (
            "prometheus-client",
            Box::new(move |t, ops| {
                (0..ops).for_each(|_| {
                    pc[t].inc_by(black_box(1));
                })
            }),
        ),
        ("measured", Box::new(move |t, ops| (0..ops).for_each(|_| measured.get_metric(ids[t]).inc_by(black_box(1))))),
    ]
}

/// Bound histograms of each implementation, as [`counter_workers`].
fn histogram_workers(sharing: Sharing, threads: usize) -> Vec<(&'static str, Worker<'static>)> {
    let value = |i: u64| (i % 1000) as f64 / 1000.0;
    let telemetry = Box::leak(Box::new(pipeline()));
    let ours: Vec<_> = (0..threads)
        .map(|t| telemetry.metrics().histogram("bench.latency").expect("declared").bind(&labels(sharing.series(t))).expect("labels"))
        .collect();
    let provider = Box::leak(Box::new(sdk()));
    let sdk_histogram =
        provider.meter("bench").f64_histogram("bench.latency").with_boundaries(otel_core::buckets::SECONDS.to_vec()).build();
    let sdk_bound: Vec<_> = (0..threads).map(|t| sdk_histogram.bind(&labels(sharing.series(t)))).collect();
    let family = Family::<Vec<(String, String)>, Histogram>::new_with_constructor(|| Histogram::new(otel_core::buckets::SECONDS));
    let pc: Vec<_> =
        (0..threads).map(|t| family.get_or_create(&vec![("series".to_owned(), format!("s{}", sharing.series(t)))]).clone()).collect();
    let measured = Box::leak(Box::new(crate::measured_peer::series_histograms(otel_core::buckets::SECONDS)));
    let ids = measured_ids(measured, sharing, threads);
    vec![
        ("otel-pipeline", Box::new(move |t, ops| (0..ops).for_each(|i| ours[t].record(black_box(value(i)))))),
        ("otel-sdk-bound", Box::new(move |t, ops| (0..ops).for_each(|i| sdk_bound[t].record(black_box(value(i)))))),
        ("prometheus-client", Box::new(move |t, ops| (0..ops).for_each(|i| pc[t].observe(black_box(value(i)))))),
        ("measured", Box::new(move |t, ops| (0..ops).for_each(|i| measured.get_metric(ids[t]).observe(black_box(value(i)))))),
    ]
}
