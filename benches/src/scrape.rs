//! `scrape_10k_counters_1k_histograms` and how a scrape grows with the series count: one full
//! scrape (collect + encode to text) of the same data in every implementation.

use std::hint::black_box;
use std::sync::atomic::AtomicU64;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{Instrument, SdkMeterProvider, Stream};
use otel_core::{Env, Telemetry};
use otel_exporters::{EncodeOptions, Format, PrometheusExporter, TextfileExporter};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use crate::report::{interleaved, Contender, Report};

/// 15 bounds: 16 buckets with `+Inf`.
const BOUNDS: [f64; 15] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0];

/// The data every implementation records: counter series with labels `a`/`b`, histogram series
/// with labels `a`/`b`, each histogram observed a few times.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) counters: usize,
    pub(crate) histograms: usize,
}

impl Shape {
    /// A cardinality limit that holds every series: twice the series, as a service sizes it.
    pub(crate) fn limit(self) -> usize {
        (2 * self.counters.max(self.histograms)).max(2_000)
    }

    fn labels(i: usize) -> (String, String) {
        (format!("a{}", i % 100), format!("b{}", i / 100))
    }

    fn observation(i: usize, j: usize) -> f64 {
        BOUNDS[(i + j) % BOUNDS.len()] * 0.9
    }
}

/// One implementation's scrape: the exposition bytes.
type Scrape = Box<dyn FnMut() -> Vec<u8>>;

/// Each implementation's scrape of `shape`, rounds interleaved: (name, median ms, bytes).
pub(crate) fn measure(shape: Shape, warmup: usize, runs: usize) -> Vec<(&'static str, f64, usize)> {
    let mut scrapers: Vec<(&'static str, Scrape)> = vec![
        ("otel-pipeline", otel_pipeline(shape, EncodeOptions::default())),
        ("otel-pipeline-otlp-parity", otel_pipeline(shape, EncodeOptions::otlp_parity().without_target_info())),
        ("otel-pipeline-facade", otel_pipeline_facade(shape)),
        ("opentelemetry-prometheus-text-exporter", text_exporter(shape)),
        ("opentelemetry-prometheus", opentelemetry_prometheus(shape)),
        ("prometheus-client", prometheus_client(shape)),
        ("measured", measured(shape)),
        ("metrics-exporter-prometheus", metrics_exporter(shape)),
        ("otel-sdk-collect-only", sdk_collect_only(shape)),
        ("otel-pipeline-collect-only", otel_pipeline_collect_only(shape)),
        ("otel-pipeline-textfile-write", otel_pipeline_textfile(shape)),
    ];
    let bytes: Vec<usize> = scrapers.iter_mut().map(|(_, scrape)| scrape().len()).collect();
    let mut runs_of: Vec<Contender<'_>> = scrapers
        .iter_mut()
        .map(|(name, scrape)| {
            let run: Box<dyn FnMut()> = Box::new(move || {
                black_box(scrape());
            });
            (*name, run)
        })
        .collect();
    interleaved(warmup, runs, &mut runs_of)
        .into_iter()
        .zip(bytes)
        .map(|((name, time), bytes)| (name, time.as_secs_f64() * 1e3, bytes))
        .collect()
}

/// The OTel SDK's collection alone, with no encoding: the floor for any exporter built on it.
fn sdk_collect_only(shape: Shape) -> Scrape {
    use opentelemetry_sdk::metrics::data::ResourceMetrics;
    use opentelemetry_sdk::metrics::reader::MetricReader as _;
    use opentelemetry_sdk::metrics::ManualReader;
    use std::sync::Arc;

    let reader = otel_core::export::SharedReader(Arc::new(ManualReader::builder().build()));
    let provider = SdkMeterProvider::builder().with_reader(reader.clone()).with_view(room(shape)).build();
    record_otel(&provider.meter("bench"), shape);
    let mut metrics = ResourceMetrics::default();
    Box::new(move || {
        let _keep = &provider;
        reader.collect(&mut metrics).expect("collect");
        Vec::new()
    })
}

pub(crate) fn profile_target(counters: usize, histograms: usize) -> Scrape {
    otel_pipeline(Shape { counters, histograms }, EncodeOptions::default())
}

pub(crate) fn profile_facade(counters: usize) -> Scrape {
    otel_pipeline_facade(Shape { counters, histograms: 0 })
}

pub(crate) fn run_all(report: &mut Report, quick: bool) {
    let (warmup, runs) = if quick { (2, 7) } else { (5, 31) };
    let shape = Shape { counters: 10_000, histograms: 1_000 };
    let main = measure(shape, warmup, runs);
    report.add("scrape_10k_counters_1k_histograms", "ms", main.iter().map(|(n, ms, _)| (*n, *ms)).collect());
    report.add("scrape_10k_counters_1k_histograms_bytes", "bytes", main.iter().map(|(n, _, b)| (*n, *b as f64)).collect());
    report.add("scrape_10k_counters_1k_histograms_bytes_per_sample", "bytes", per_sample(shape, false));
    report.add("scrape_10k_counters_1k_histograms_gzip_bytes_per_sample", "bytes", per_sample(shape, true));
    // Nothing recorded: what a scrape costs before any series (self-metrics and target_info).
    let empty = measure(Shape { counters: 0, histograms: 0 }, warmup, runs * 4);
    report.add("scrape_empty", "ms", empty.iter().map(|(n, ms, _)| (*n, *ms)).collect());
    for (label, counters) in [("1k", 1_000), ("10k", 10_000), ("100k", 100_000)] {
        // Small scrapes take a fraction of a millisecond: more rounds keep their median steady.
        let runs = match counters {
            n if n > 10_000 => runs.min(9),
            n if n < 10_000 => runs * 8,
            _ => runs,
        };
        let results = measure(Shape { counters, histograms: 0 }, warmup.min(2), runs);
        report.add(format!("scrape_{label}_counters"), "ms", results.iter().map(|(n, ms, _)| (*n, *ms)).collect());
        // What an exporter adds to the SDK's own collection, as a share of it.
        let collect = results.iter().find(|(n, _, _)| *n == "otel-sdk-collect-only").map_or(f64::NAN, |(_, ms, _)| *ms);
        let mut shares: Vec<(&'static str, f64)> = results
            .iter()
            .filter(|(n, _, _)| ["otel-pipeline", "opentelemetry-prometheus-text-exporter", "opentelemetry-prometheus"].contains(n))
            .map(|(n, ms, _)| (*n, (ms - collect) / collect))
            .collect();
        // The pipeline's encoding alone, against its own collection (self-metrics included).
        let ms_of = |name: &str| results.iter().find(|(n, _, _)| *n == name).map_or(f64::NAN, |(_, ms, _)| *ms);
        let own_collect = ms_of("otel-pipeline-collect-only");
        shares.push(("otel-pipeline-encode-vs-own-collect", (ms_of("otel-pipeline") - own_collect) / own_collect));
        // The facade's whole scrape over the SDK's bare collection of the same data (its counters
        // are written from their cells, so the SDK collects none of them).
        shares.push(("otel-pipeline-facade", (ms_of("otel-pipeline-facade") - collect) / collect));
        report.add(format!("scrape_{label}_counters_own_share_of_sdk_collect"), "ratio", shares);
    }
}

/// Room for every series of `shape` in the bench's own instruments. The SDK folds series past
/// 2,000 per metric into an overflow series by default, and sizes each metric's table to its
/// limit up front (every collection walks that table): the limit is [`Shape::limit`], and
/// instruments other than the bench's (self-metrics) keep theirs.
pub(crate) fn room(shape: Shape) -> impl Fn(&Instrument) -> Option<Stream> + Send + Sync + 'static {
    let limit = shape.limit();
    move |instrument: &Instrument| {
        if !instrument.name().starts_with("bench.") {
            return None;
        }
        Stream::builder().with_cardinality_limit(limit).build().ok()
    }
}

fn record_otel(meter: &opentelemetry::metrics::Meter, shape: Shape) {
    let counter = meter.u64_counter("bench.requests").build();
    for i in 0..shape.counters {
        let (a, b) = Shape::labels(i);
        counter.add(i as u64 + 1, &[KeyValue::new("a", a), KeyValue::new("b", b)]);
    }
    let histogram = meter.f64_histogram("bench.latency").with_unit("s").with_boundaries(BOUNDS.to_vec()).build();
    for i in 0..shape.histograms {
        let (a, b) = Shape::labels(i);
        for j in 0..4 {
            histogram.record(Shape::observation(i, j), &[KeyValue::new("a", a.clone()), KeyValue::new("b", b.clone())]);
        }
    }
}

/// The pipeline's own collection alone (its reader, with the pipeline's self-metrics and the
/// resource), no encoding: the part of a scrape that is the SDK's, for this pipeline.
fn otel_pipeline_collect_only(shape: Shape) -> Scrape {
    use opentelemetry_sdk::metrics::data::ResourceMetrics;
    use opentelemetry_sdk::metrics::reader::MetricReader as _;
    let (telemetry, scraper) = pipeline_with(shape, EncodeOptions::default());
    let mut metrics = ResourceMetrics::default();
    Box::new(move || {
        let _keep = &telemetry;
        scraper.collect(&mut metrics).expect("collect");
        Vec::new()
    })
}

/// Bytes per sample line of each text body, plain or gzip-compressed.
fn per_sample(shape: Shape, gzip: bool) -> Vec<(&'static str, f64)> {
    use std::io::Write as _;
    let bodies: Vec<(&'static str, Vec<u8>)> = vec![
        ("otel-pipeline", otel_pipeline(shape, EncodeOptions::default())()),
        ("otel-pipeline-no-scope-labels", otel_pipeline(shape, EncodeOptions::default().without_scope_info())()),
        ("otel-pipeline-otlp-parity", otel_pipeline(shape, EncodeOptions::otlp_parity().without_target_info())()),
        ("opentelemetry-prometheus-text-exporter", text_exporter(shape)()),
        ("prometheus-client", prometheus_client(shape)()),
        ("measured", measured(shape)()),
    ];
    bodies
        .into_iter()
        .map(|(name, body)| {
            let samples = body.split(|b| *b == b'\n').filter(|l| !l.is_empty() && l[0] != b'#').count().max(1);
            let size = if gzip {
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                encoder.write_all(&body).expect("gzip");
                encoder.finish().expect("gzip").len()
            } else {
                body.len()
            };
            (name, size as f64 / samples as f64)
        })
        .collect()
}

/// opentelemetry-prometheus-text-exporter: a text exporter on the same SDK.
fn text_exporter(shape: Shape) -> Scrape {
    let exporter = opentelemetry_prometheus_text_exporter::PrometheusExporter::new();
    let provider = SdkMeterProvider::builder().with_reader(exporter.clone()).with_view(room(shape)).build();
    record_otel(&provider.meter("bench"), shape);
    Box::new(move || {
        let _keep = &provider;
        let mut out = Vec::new();
        exporter.export(&mut out).expect("export");
        out
    })
}

/// The pipeline with `shape` recorded, and the scraper of its (serverless) endpoint.
fn pipeline_with(shape: Shape, options: EncodeOptions) -> (Telemetry, otel_exporters::Scraper) {
    let exporter = PrometheusExporter::new().without_server().encode_options(options);
    let scraper = exporter.scraper();
    let telemetry = Telemetry::builder()
        .env(Env::empty())
        .service_name("bench")
        .view(room(shape))
        .exporter(exporter)
        .build()
        .expect("otel-pipeline builds");
    record_otel(&telemetry.meter("bench"), shape);
    (telemetry, scraper)
}

fn otel_pipeline(shape: Shape, options: EncodeOptions) -> Scrape {
    let (telemetry, scraper) = pipeline_with(shape, options);
    Box::new(move || {
        let _keep = &telemetry;
        scraper.scrape(Format::Text).expect("scrape")
    })
}

/// The same data recorded through the facade (catalog-declared counter and histogram, names and
/// label values looked up per call), as the seeds' services record.
fn otel_pipeline_facade(shape: Shape) -> Scrape {
    let limit = shape.limit();
    let catalog = otel_core::Catalog::new()
        .with([
            otel_core::MetricDef::counter("bench.requests").labels(["a", "b"]).cardinality_limit(limit),
            otel_core::MetricDef::histogram("bench.latency").unit("s").buckets(&BOUNDS).labels(["a", "b"]).cardinality_limit(limit),
        ])
        .expect("catalog");
    let exporter = PrometheusExporter::new().without_server();
    let scraper = exporter.scraper();
    let telemetry = Telemetry::builder()
        .env(Env::empty())
        .service_name("bench")
        .catalog(catalog)
        .exporter(exporter)
        .build()
        .expect("otel-pipeline builds");
    let metrics = telemetry.metrics();
    for i in 0..shape.counters {
        let (a, b) = Shape::labels(i);
        metrics.increment_counter("bench.requests", i as u64 + 1, &[KeyValue::new("a", a), KeyValue::new("b", b)]);
    }
    for i in 0..shape.histograms {
        let (a, b) = Shape::labels(i);
        for j in 0..4 {
            metrics.record_histogram(
                "bench.latency",
                Shape::observation(i, j),
                &[KeyValue::new("a", a.clone()), KeyValue::new("b", b.clone())],
            );
        }
    }
    Box::new(move || {
        let _keep = &telemetry;
        scraper.scrape(Format::Text).expect("scrape")
    })
}

/// The same data written by the textfile exporter: encode, write a temporary file, fsync,
/// rename. (A Pushgateway push sends the text scrape itself as its body.)
fn otel_pipeline_textfile(shape: Shape) -> Scrape {
    let dir = std::env::temp_dir().join(format!("otel-bench-textfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the textfile directory");
    let textfile = TextfileExporter::new().directory(&dir).file_name("bench").interval(std::time::Duration::from_secs(3600));
    let writer = textfile.writer();
    let telemetry = Telemetry::builder()
        .env(Env::empty())
        .service_name("bench")
        .view(room(shape))
        .exporter(textfile)
        .build()
        .expect("otel-pipeline builds");
    record_otel(&telemetry.meter("bench"), shape);
    let mut sized = false;
    Box::new(move || {
        let _keep = &telemetry;
        let path = writer.write_now().expect("write the textfile");
        // The first call (untimed) reports the file's size for the bytes column.
        if std::mem::replace(&mut sized, true) {
            Vec::new()
        } else {
            vec![0; std::fs::metadata(path).map(|m| m.len() as usize).unwrap_or(0)]
        }
    })
}

fn opentelemetry_prometheus(shape: Shape) -> Scrape {
    let registry = prometheus::Registry::new();
    let exporter = opentelemetry_prometheus::exporter().with_registry(registry.clone()).build().expect("exporter builds");
    let provider = SdkMeterProvider::builder().with_reader(exporter).with_view(room(shape)).build();
    record_otel(&provider.meter("bench"), shape);
    Box::new(move || {
        let _keep = &provider;
        let mut out = Vec::new();
        let families = registry.gather();
        prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &families, &mut out).expect("encode");
        out
    })
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AB {
    a: String,
    b: String,
}

fn prometheus_client(shape: Shape) -> Scrape {
    let mut registry = prometheus_client::registry::Registry::default();
    let counters = Family::<AB, Counter<u64, AtomicU64>>::default();
    let histograms = Family::<AB, Histogram>::new_with_constructor(|| Histogram::new(BOUNDS));
    registry.register("bench_requests", "bench.requests", counters.clone());
    registry.register("bench_latency_seconds", "bench.latency", histograms.clone());
    for i in 0..shape.counters {
        let (a, b) = Shape::labels(i);
        counters.get_or_create(&AB { a, b }).inc_by(i as u64 + 1);
    }
    for i in 0..shape.histograms {
        let (a, b) = Shape::labels(i);
        let h = histograms.get_or_create(&AB { a, b });
        for j in 0..4 {
            h.observe(Shape::observation(i, j));
        }
    }
    Box::new(move || {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).expect("encode");
        out.into_bytes()
    })
}

fn measured(shape: Shape) -> Scrape {
    let mut families = crate::measured_peer::Families::new(BOUNDS);
    for i in 0..shape.counters {
        let (a, b) = Shape::labels(i);
        families.counters.inc_by(crate::measured_peer::Pair { a: &a, b: &b }, i as u64 + 1);
    }
    for i in 0..shape.histograms {
        let (a, b) = Shape::labels(i);
        for j in 0..4 {
            families.histograms.observe(crate::measured_peer::Pair { a: &a, b: &b }, Shape::observation(i, j));
        }
    }
    Box::new(move || families.encode())
}

fn metrics_exporter(shape: Shape) -> Scrape {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().set_buckets(&BOUNDS).expect("buckets").build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        for i in 0..shape.counters {
            let (a, b) = Shape::labels(i);
            metrics::counter!("bench_requests_total", "a" => a, "b" => b).increment(i as u64 + 1);
        }
        for i in 0..shape.histograms {
            let (a, b) = Shape::labels(i);
            let h = metrics::histogram!("bench_latency_seconds", "a" => a, "b" => b);
            for j in 0..4 {
                h.record(Shape::observation(i, j));
            }
        }
    });
    Box::new(move || {
        let _keep = &recorder;
        handle.render().into_bytes()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every implementation exposes the same series, so the timings compare like with like.
    #[test]
    fn every_implementation_exposes_the_same_series() {
        let shape = Shape { counters: 3_000, histograms: 200 };
        for (name, mut scrape) in [
            ("otel-pipeline", otel_pipeline(shape, EncodeOptions::default())),
            ("otel-pipeline-otlp-parity", otel_pipeline(shape, EncodeOptions::otlp_parity())),
            ("otel-pipeline-facade", otel_pipeline_facade(shape)),
            ("opentelemetry-prometheus-text-exporter", text_exporter(shape)),
            ("opentelemetry-prometheus", opentelemetry_prometheus(shape)),
            ("prometheus-client", prometheus_client(shape)),
            ("measured", measured(shape)),
            ("metrics-exporter-prometheus", metrics_exporter(shape)),
        ] {
            let text = String::from_utf8(scrape()).expect("utf-8");
            let counter_lines = text.lines().filter(|l| l.starts_with("bench_requests_total{")).count();
            let inf_buckets = text.lines().filter(|l| l.starts_with("bench_latency_seconds_bucket{") && l.contains("le=\"+Inf\"")).count();
            let buckets = text.lines().filter(|l| l.starts_with("bench_latency_seconds_bucket{")).count();
            assert_eq!(counter_lines, shape.counters, "{name} counter series");
            assert_eq!(inf_buckets, shape.histograms, "{name} histogram series");
            assert_eq!(buckets, shape.histograms * 16, "{name} histogram buckets");
        }
    }
}
