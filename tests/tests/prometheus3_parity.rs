//! Push = pull on Prometheus 3 itself: one workload is pushed over OTLP into Prometheus 3's own
//! OTLP receiver and, from the same pipeline, scraped from the pull endpoint by a second
//! Prometheus 3. For each translation strategy and each resource and scope setting the docs
//! offer, every stored series (name, every label, value or native histogram) is the same in
//! both. There is no list of tolerated differences.

use std::collections::BTreeMap;
use std::time::Duration;

use opentelemetry::KeyValue;
use otel_core::Telemetry;
use otel_exporters::{EncodeOptions, OtlpExporter, OtlpProtocol, PrometheusExporter, TranslationStrategy};
use otel_tests::{empty_env, exponential_histograms, scrape_target, shop_scope, wait_for, Otelcol, Prometheus, PrometheusVersion};

/// A series' labels (`__name__` included), sorted.
type LabelSet = BTreeMap<String, String>;

/// What one Prometheus stores: each series with its value (`value` or `histogram`, as JSON text).
type Stored = BTreeMap<LabelSet, String>;

/// One setting of Prometheus' OTLP ingestion (`otlp:` lines) and the exporter options that
/// mirror it.
struct Case {
    name: &'static str,
    otlp: &'static str,
    options: EncodeOptions,
    /// More lines for the scraping Prometheus' job.
    scrape: &'static str,
}

fn cases() -> Vec<Case> {
    let parity = EncodeOptions::otlp_parity;
    let strategy = |s: TranslationStrategy| parity().translation_strategy(s);
    vec![
        Case { name: "defaults", otlp: "", options: parity(), scrape: "" },
        Case {
            name: "UnderscoreEscapingWithSuffixes",
            otlp: "  translation_strategy: UnderscoreEscapingWithSuffixes\n",
            options: strategy(TranslationStrategy::UnderscoreEscapingWithSuffixes),
            scrape: "",
        },
        Case {
            name: "UnderscoreEscapingWithoutSuffixes",
            otlp: "  translation_strategy: UnderscoreEscapingWithoutSuffixes\n",
            options: strategy(TranslationStrategy::UnderscoreEscapingWithoutSuffixes),
            scrape: "",
        },
        Case {
            name: "NoUTF8EscapingWithSuffixes",
            otlp: "  translation_strategy: NoUTF8EscapingWithSuffixes\n",
            options: strategy(TranslationStrategy::NoUTF8EscapingWithSuffixes),
            scrape: "",
        },
        Case {
            name: "NoTranslation",
            otlp: "  translation_strategy: NoTranslation\n",
            options: strategy(TranslationStrategy::NoTranslation),
            scrape: "",
        },
        Case {
            name: "promote_scope_metadata",
            otlp: "  promote_scope_metadata: true\n",
            options: EncodeOptions::default().with_identifying_labels(),
            scrape: "",
        },
        Case {
            name: "promote_resource_attributes",
            otlp: "  promote_resource_attributes: [deployment.environment, host.name]\n",
            options: parity().with_resource_constant_labels(["deployment.environment", "host.name"], Vec::<String>::new()),
            scrape: "",
        },
        Case {
            name: "promote_all_resource_attributes + ignore_resource_attributes",
            otlp: "  promote_all_resource_attributes: true\n  ignore_resource_attributes: [host.name]\n",
            options: parity().with_resource_constant_labels(["*"], ["host.name"]),
            scrape: "",
        },
        Case {
            name: "keep_identifying_resource_attributes",
            otlp: "  keep_identifying_resource_attributes: true\n",
            options: parity().keeping_identifying_resource_attributes(),
            scrape: "",
        },
        Case {
            name: "convert_histograms_to_nhcb (scraped with convert_classic_histograms_to_nhcb)",
            otlp: "  convert_histograms_to_nhcb: true\n",
            options: parity(),
            scrape: "    convert_classic_histograms_to_nhcb: true\n",
        },
    ]
}

/// Counter, up-down counter, gauge, explicit and exponential histograms, in a scoped meter with
/// dotted and UTF-8 names and attribute keys that collide once translated.
fn record_workload(telemetry: &Telemetry) {
    let meter = telemetry.meter_with_scope(shop_scope());
    let colliding = [KeyValue::new("http.method", "GET"), KeyValue::new("http_method", "get"), KeyValue::new("route", "/cart")];
    meter.u64_counter("orders.placed").with_unit("{order}").with_description("Orders placed").build().add(7, &colliding);
    meter.u64_counter("requests").build().add(3, &[KeyValue::new("job", "from-attribute")]);
    meter.f64_counter("bytes.sent").with_unit("By").build().add(1536.5, &[KeyValue::new("peer", "a")]);
    meter.i64_up_down_counter("queue.depth").build().add(-2, &[KeyValue::new("queue", "q1")]);
    meter.f64_gauge("cpu.utilization").with_unit("1").build().record(0.25, &[KeyValue::new("cpu", "0")]);
    meter.f64_gauge("room.temperature").with_unit("Cel").build().record(21.5, &[KeyValue::new("room", "kitchen")]);
    meter.u64_counter("http.client/open-connections").build().add(2, &[KeyValue::new("naïve.key", "ü")]);
    let duration = meter.f64_histogram("checkout.duration").with_unit("s").with_boundaries(vec![0.1, 0.5, 1.0]).build();
    for v in [0.05, 0.2, 0.7, 3.0] {
        duration.record(v, &[KeyValue::new("payment.method", "card")]);
    }
    let size = meter.u64_histogram("payload.size").with_unit("By").build();
    for v in [10, 200, 3000] {
        size.record(v, &[KeyValue::new("direction", "in")]);
    }
}

/// The pipeline: a pull endpoint for each of `pulls`' options, in order, and `otlp`.
fn telemetry(pulls: &[EncodeOptions], otlp: OtlpExporter) -> Telemetry {
    let mut builder = Telemetry::builder();
    for options in pulls {
        builder = builder.exporter(PrometheusExporter::new().listen("127.0.0.1:0").encode_options(options.clone()));
    }
    builder
        .env(empty_env())
        .service_name("checkout")
        .instance_id("i-1")
        .resource_attribute(KeyValue::new("service.namespace", "shop"))
        .resource_attribute(KeyValue::new("service.version", "2.0.1"))
        .resource_attribute(KeyValue::new("deployment.environment", "prod"))
        .resource_attribute(KeyValue::new("host.name", "web-1"))
        .view(exponential_histograms(&["payload.size"]))
        .export_interval(Duration::from_millis(500))
        .exporter(otlp)
        .build()
        .expect("build")
}

/// Every series `prometheus` stores, less those of the pipeline itself (its self-metrics record
/// scrapes and exports, which differ between the two paths by nature) and those a scrape makes.
fn stored(prometheus: &Prometheus) -> Stored {
    let scrape_made =
        ["up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"];
    prometheus
        .query("{__name__=~\".+\"}")
        .into_iter()
        .filter_map(|series| {
            let labels: LabelSet =
                series["metric"].as_object()?.iter().map(|(k, v)| (k.clone(), bound(k, v.as_str().unwrap_or_default()))).collect();
            let name = labels.get("__name__")?;
            let own = ["otel_pipeline", "otel.pipeline", "otel_sdk", "otel.sdk"];
            if scrape_made.contains(&name.as_str()) || own.iter().any(|prefix| name.starts_with(prefix)) {
                return None;
            }
            let value = match series.get("histogram") {
                Some(h) => h[1].to_string(),
                None => series["value"][1].to_string(),
            };
            Some((labels, value))
        })
        .collect()
}

/// A label's value, `le` as the number it is: Prometheus 3 stores a bucket bound of 1 as `le="1"`
/// from OTLP (its translator writes the shortest decimal) and as `le="1.0"` from any scrape (its
/// parsers normalise classic histograms' `le` to a float's text, whatever the exposition wrote),
/// so that one label's spelling differs between its own two paths. The bound is the same number.
fn bound(name: &str, value: &str) -> String {
    match value.parse::<f64>() {
        Ok(v) if name == "le" => format!("{v:?}"),
        _ => value.to_owned(),
    }
}

fn difference(pushed: &Stored, pulled: &Stored) -> String {
    let mut lines = Vec::new();
    for (labels, value) in pushed {
        match pulled.get(labels) {
            None => lines.push(format!("  only pushed: {labels:?} = {value}")),
            Some(v) if v != value => lines.push(format!("  value differs: {labels:?}: pushed {value}, pulled {v}")),
            Some(_) => {}
        }
    }
    for (labels, value) in pulled {
        if !pushed.contains_key(labels) {
            lines.push(format!("  only pulled: {labels:?} = {value}"));
        }
    }
    lines.join("\n")
}

fn push_equals_pull(case: Case) -> usize {
    let receiver = Prometheus::start_version(
        PrometheusVersion::V3,
        &format!("global:\n  scrape_interval: 1s\notlp:\n{}", if case.otlp.is_empty() { "  {}\n" } else { case.otlp })
            .replace("otlp:\n  {}\n", "otlp: {}\n"),
        &["--web.enable-otlp-receiver"],
    );
    let otlp = OtlpExporter::new()
        .protocol(OtlpProtocol::HttpProtobuf)
        .endpoint(format!("http://127.0.0.1:{}/api/v1/otlp/v1/metrics", receiver_port(&receiver)));
    let telemetry = telemetry(&[case.options], otlp);
    record_workload(&telemetry);
    let scraper = scraping(&scrape_target(&telemetry), case.scrape);
    same_series(case.name, &receiver, &scraper)
}

/// A Prometheus 3 scraping `target` every second, keeping the labels the exposition gives.
fn scraping(target: &str, job_extra: &str) -> Prometheus {
    Prometheus::start_version(
        PrometheusVersion::V3,
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pull\n    honor_labels: true\n    scrape_native_histograms: true\n{job_extra}    static_configs:\n      - targets: ['{target}']\n"
        ),
        &[],
    )
}

/// Waits until `pushed` and `pulled` store the same series (at least 10); their number, or a
/// panic with the difference.
fn same_series(case: &str, pushed: &Prometheus, pulled: &Prometheus) -> usize {
    let mut last = (Stored::new(), Stored::new());
    let same = wait_for(Duration::from_secs(30), || {
        last = (stored(pushed), stored(pulled));
        (last.0.len() >= 10 && last.0 == last.1).then_some(last.0.len())
    });
    same.unwrap_or_else(|| {
        panic!(
            "{case}: the series Prometheus 3 stores pushed (left) and pulled (right) differ:\n{}\npulled targets: {}",
            difference(&last.0, &last.1),
            pulled.targets()
        )
    })
}

fn receiver_port(receiver: &Prometheus) -> u16 {
    receiver.base().rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
}

#[test]
fn pushed_and_pulled_series_are_identical_on_prometheus_3_for_every_ingestion_setting() {
    let mut report = Vec::new();
    for case in cases() {
        let name = case.name;
        let compared = push_equals_pull(case);
        report.push(format!("{name}: {compared} series, 0 differing"));
    }
    println!("push = pull on Prometheus 3:\n{}", report.join("\n"));
}

#[test]
fn through_the_collector_remote_write_and_its_prometheus_exporter_store_what_a_scrape_stores() {
    let store =
        Prometheus::start_version(PrometheusVersion::V3, "global:\n  scrape_interval: 15s\n", &["--web.enable-remote-write-receiver"]);
    let collector = Otelcol::start(&format!(
        "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: '{{grpc}}'\n\
         exporters:\n  prometheusremotewrite:\n    endpoint: '{}/api/v1/write'\n  prometheus:\n    endpoint: '{{http}}'\n\
         extensions:\n  health_check:\n    endpoint: '{{health}}'\n\
         service:\n  extensions: [health_check]\n  telemetry:\n    metrics:\n      level: none\n  \
         pipelines:\n    metrics:\n      receivers: [otlp]\n      exporters: [prometheusremotewrite, prometheus]\n",
        store.base()
    ));
    let otlp = OtlpExporter::new().protocol(OtlpProtocol::Grpc).endpoint(format!("http://{}", collector.grpc));
    // As the Collector's exporters write them: scope labels (remote write without the schema
    // URL), `job` and `instance` from the resource.
    let as_exporter = EncodeOptions::default().with_identifying_labels();
    let telemetry = telemetry(&[as_exporter.clone().without_scope_schema_url(), as_exporter], otlp);
    record_workload(&telemetry);
    let endpoints: Vec<String> =
        telemetry.endpoints().iter().map(|e| e.trim_start_matches("http://").trim_end_matches("/metrics").to_owned()).collect();
    let remote_written = same_series("otlp → collector → prometheusremotewrite", &store, &scraping(&endpoints[0], ""));
    // The Collector's prometheus exporter loses two series ("duplicate label names in constant and
    // variable labels", in its log) that the endpoint keeps: the one whose
    // attributes `http.method` and `http_method` collide (the endpoint merges them as Prometheus'
    // OTLP ingestion does, `GET;get`), and the one whose attribute `job` collides with the
    // resource's (the endpoint keeps the resource's). Everything else is the same.
    let through_exporter = scraping(&collector.http, "");
    let pulled = scraping(&endpoints[1], "");
    let lost_by_the_collector = ["orders_placed_total", "requests_total"];
    let mut last = (Stored::new(), Stored::new());
    let same = wait_for(Duration::from_secs(30), || {
        let kept = |stored: Stored| -> Stored {
            stored.into_iter().filter(|(l, _)| !lost_by_the_collector.contains(&l["__name__"].as_str())).collect()
        };
        let (exported, ours) = (stored(&through_exporter), stored(&pulled));
        let lost_only_those =
            lost_by_the_collector.iter().all(|n| ours.keys().any(|l| l["__name__"] == *n) && !exported.keys().any(|l| l["__name__"] == *n));
        last = (kept(exported), kept(ours));
        (lost_only_those && last.0.len() >= 10 && last.0 == last.1).then_some(last.0.len())
    });
    let exported = same.unwrap_or_else(|| {
        panic!(
            "otlp → collector → prometheus exporter (left) and the endpoint (right) differ:\n{}\ncollector:\n{}",
            difference(&last.0, &last.1),
            collector.output()
        )
    });
    println!(
        "through the collector: remote write {remote_written} series, 0 differing; prometheus exporter {exported} series, 0 differing, {} series the collector loses",
        lost_by_the_collector.len()
    );
}
