//! The simulated instances, their ticks, and what a store must hold afterwards.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use opentelemetry::metrics::{Counter, Gauge, Histogram};
use opentelemetry::KeyValue;
use otel_core::{Env, Telemetry};
use otel_exporters::{OtlpExporter, OtlpProtocol, PrometheusExporter};

use crate::options::Options;
use crate::relay::Counts;

/// One simulated service instance.
struct Instance {
    telemetry: Telemetry,
    requests: Counter<u64>,
    depth: Gauge<f64>,
    latency: Histogram<f64>,
    counter_labels: Vec<Vec<KeyValue>>,
    gauge_labels: Vec<Vec<KeyValue>>,
    histogram_labels: Vec<Vec<KeyValue>>,
}

/// Every instance of this process.
pub(crate) struct Fleet {
    instances: Vec<Instance>,
    counters: usize,
    gauges: usize,
    histograms: usize,
}

/// Series `j`'s labels: spread over two keys with `cardinality` values each.
fn labels(kind: &str, j: usize, cardinality: usize) -> Vec<KeyValue> {
    vec![KeyValue::new("route", format!("{kind}{}", j % cardinality)), KeyValue::new("shard", (j / cardinality) as i64)]
}

impl Fleet {
    pub(crate) fn start(options: &Options, otlp: Option<&str>) -> Result<Fleet, String> {
        let histograms = options.series * options.histograms_pct / 100;
        let gauges = options.series * options.gauges_pct / 100;
        let counters = options.series - histograms - gauges;
        let mut instances = Vec::with_capacity(options.instances);
        for i in 0..options.instances {
            let mut builder = Telemetry::builder()
                .env(Env::empty())
                .service_name("loadgen")
                .instance_id(format!("loadgen-{}", options.first + i))
                .export_interval(options.export_interval);
            if let Some(endpoint) = otlp {
                let protocol = if options.http { OtlpProtocol::HttpProtobuf } else { OtlpProtocol::Grpc };
                builder = builder.exporter(OtlpExporter::new().endpoint(endpoint).protocol(protocol).gzip(options.gzip));
            }
            if options.pull {
                builder = builder.exporter(PrometheusExporter::new().listen("127.0.0.1:0"));
            }
            let telemetry = builder.build().map_err(|e| format!("instance {i}: {e}"))?;
            let meter = telemetry.meter("loadgen");
            instances.push(Instance {
                requests: meter.u64_counter("loadgen.requests").with_description("Requests served").build(),
                depth: meter.f64_gauge("loadgen.queue.depth").with_description("Items waiting").build(),
                latency: meter.f64_histogram("loadgen.latency").with_unit("s").with_description("Request latency").build(),
                counter_labels: (0..counters).map(|j| labels("c", j, options.cardinality)).collect(),
                gauge_labels: (0..gauges).map(|j| labels("g", j, options.cardinality)).collect(),
                histogram_labels: (0..histograms).map(|j| labels("h", j, options.cardinality)).collect(),
                telemetry,
            });
        }
        Ok(Fleet { instances, counters, gauges, histograms })
    }

    pub(crate) fn counters_per_instance(&self) -> usize {
        self.counters
    }

    pub(crate) fn gauges_per_instance(&self) -> usize {
        self.gauges
    }

    pub(crate) fn histograms_per_instance(&self) -> usize {
        self.histograms
    }

    /// The pull endpoints as a Prometheus file_sd list.
    pub(crate) fn write_targets(&self, path: &Path) -> Result<(), String> {
        let targets: Vec<String> = self
            .instances
            .iter()
            .flat_map(|i| i.telemetry.endpoints().to_vec())
            .filter_map(|e| e.strip_prefix("http://").and_then(|r| r.split('/').next()).map(str::to_owned))
            .collect();
        let list = serde_json::json!([{ "targets": targets, "labels": {} }]);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&list).unwrap_or_default())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Ticks `options.ticks` times: every counter series +1, every gauge set to its number (or,
    /// with churn, some gauges to new label values), every histogram records one value.
    pub(crate) async fn run(&mut self, options: &Options) -> u64 {
        let mut ticker = tokio::time::interval(options.interval);
        for tick in 0..options.ticks {
            ticker.tick().await;
            for instance in &mut self.instances {
                for labels in &instance.counter_labels {
                    instance.requests.add(1, labels);
                }
                let churned = instance.gauge_labels.len() * options.churn_pct / 100;
                for (j, labels) in instance.gauge_labels.iter_mut().enumerate() {
                    if j < churned {
                        *labels = labels_churned(j, tick, options.cardinality);
                    }
                    instance.depth.record(j as f64, labels);
                }
                for (j, labels) in instance.histogram_labels.iter().enumerate() {
                    instance.latency.record(0.001 * ((j as u64 + tick) % 1000) as f64, labels);
                }
            }
            if tick % 10 == 9 {
                eprintln!("otel-loadgen: tick {}/{}", tick + 1, options.ticks);
            }
        }
        options.ticks
    }

    /// Exports the data points of every instance once more and stops them; the failures.
    pub(crate) fn shutdown(&self) -> usize {
        self.instances.iter().filter(|i| i.telemetry.shutdown().is_err()).count()
    }

    /// Exports so far and data points they carried, over all instances (from the pipeline's own
    /// self-metrics).
    pub(crate) fn exports(&self) -> (u64, u64, u64) {
        let (mut exports, mut points, mut lost) = (0, 0, 0);
        for instance in &self.instances {
            let snapshot = instance.telemetry.snapshot();
            for series in &snapshot.series {
                match series.name.as_str() {
                    "otel.sdk.exporter.operation.duration" => exports += series.histogram.as_ref().map_or(0, |h| h.count),
                    "otel.sdk.exporter.metric_data_point.exported" if series.labels.contains_key("error.type") => {
                        lost += series.value.unwrap_or(0.0) as u64
                    }
                    "otel.sdk.exporter.metric_data_point.exported" => points += series.value.unwrap_or(0.0) as u64,
                    _ => {}
                }
            }
        }
        (exports, points, lost)
    }
}

fn labels_churned(j: usize, tick: u64, cardinality: usize) -> Vec<KeyValue> {
    vec![KeyValue::new("route", format!("g{}-t{tick}", j % cardinality)), KeyValue::new("shard", (j / cardinality) as i64)]
}

/// The run in figures.
pub(crate) struct Summary {
    fields: Vec<(&'static str, serde_json::Value)>,
}

/// CPU seconds of this process (user + system), from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory of this process, bytes (`VmHWM`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

impl Summary {
    pub(crate) fn new(
        options: &Options,
        fleet: &Fleet,
        ticks: u64,
        (exports, points, lost): (u64, u64, u64),
        failures: usize,
        shutdown: Duration,
        bytes: Option<Counts>,
    ) -> Summary {
        let k = options.instances as u64;
        let gauge_sum: u64 = (0..fleet.gauges as u64).sum::<u64>() * k;
        let mut fields = vec![
            ("instances", k.into()),
            ("first_instance", (options.first as u64).into()),
            ("series_per_instance", (options.series as u64).into()),
            ("counters_per_instance", (fleet.counters as u64).into()),
            ("gauges_per_instance", (fleet.gauges as u64).into()),
            ("histograms_per_instance", (fleet.histograms as u64).into()),
            ("ticks", ticks.into()),
            ("expected_loadgen_requests_total", (k * fleet.counters as u64 * ticks).into()),
            ("expected_loadgen_latency_seconds_count", (k * fleet.histograms as u64 * ticks).into()),
            ("expected_loadgen_queue_depth_sum", gauge_sum.into()),
            ("exports_before_shutdown", exports.into()),
            ("data_points_exported", points.into()),
            ("data_points_lost", lost.into()),
            ("shutdown_failures", (failures as u64).into()),
            ("shutdown_seconds", shutdown.as_secs_f64().into()),
            ("cpu_seconds", cpu_seconds().into()),
            ("peak_rss_bytes", peak_rss().into()),
        ];
        if let Some(bytes) = bytes {
            fields.push(("bytes_to_collector", bytes.to_collector.into()));
            fields.push(("bytes_from_collector", bytes.from_collector.into()));
            // The final flush of every instance is an export too.
            let all_exports = exports + k;
            fields.push(("bytes_per_export", (bytes.to_collector / all_exports.max(1)).into()));
        }
        Summary { fields }
    }

    /// The summary as an aligned table.
    pub(crate) fn table(&self) -> String {
        let mut out = String::from("otel-loadgen summary\n");
        for (name, value) in &self.fields {
            let _ = writeln!(out, "  {name:<40} {value}");
        }
        out
    }

    /// The summary as JSON.
    pub(crate) fn json(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> = self.fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        serde_json::to_string_pretty(&serde_json::Value::Object(map)).unwrap_or_default() + "\n"
    }
}
