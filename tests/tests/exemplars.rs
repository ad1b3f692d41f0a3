//! Exemplars end to end: every recording path keeps the trace and span it was recorded in, the
//! OpenMetrics and protobuf expositions carry them to a real Prometheus 2.42 with exemplar
//! storage (`/api/v1/query_exemplars` answers with the very trace ids), OTLP carries them to
//! rotel over gRPC and HTTP, the filter turns them off, `tracing` spans work through
//! tracing-opentelemetry, and their memory stays bounded under a cardinality flood.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use opentelemetry::trace::{FutureExt as _, TraceContextExt as _};
use opentelemetry::KeyValue;
use otel_core::{Catalog, Env, ExemplarFilter, MetricDef, Telemetry};
use otel_exporters::{OtlpExporter, OtlpProtocol, PrometheusExporter};
use otel_instrumentation::http::HttpServerLayer;
use otel_tests::{empty_env, http_get_typed, scrape_target, wait_for, Prometheus, Rotel};

use otel_tests::sampled_span as span;

fn catalog() -> Catalog {
    let catalog = Catalog::new();
    catalog.declare(MetricDef::counter("orders.placed").labels(["payment"])).expect("declare");
    catalog.declare(MetricDef::histogram("checkout.duration").unit("s").labels(["step"])).expect("declare");
    catalog
}

fn pipeline(filter: Option<ExemplarFilter>, env: Env) -> Telemetry {
    let mut builder = Telemetry::builder().env(env).catalog(catalog()).exporter(PrometheusExporter::new().listen("127.0.0.1:0"));
    if let Some(filter) = filter {
        builder = builder.exemplar_filter(filter);
    }
    builder.build().expect("build")
}

/// Records through every path, each inside its own span: trace ids 1..=6.
fn record_everywhere(telemetry: &Telemetry) {
    let metrics = telemetry.metrics();
    telemetry.meter("raw").f64_histogram("raw.latency").with_unit("s").build().record(9.0, &[]);
    {
        let _span = span(1, 11).attach();
        metrics.increment_counter("orders.placed", 1, &[KeyValue::new("payment", "card")]);
    }
    {
        let _span = span(2, 12).attach();
        metrics.record_histogram("checkout.duration", 0.3, &[]);
    }
    {
        let _span = span(3, 13).attach();
        let bound = metrics.histogram("checkout.duration").expect("handle").bind(&[]).expect("bind");
        bound.record(2.0);
    }
    {
        let _span = span(4, 14).attach();
        metrics.counter("orders.placed").expect("handle").bind(&[KeyValue::new("payment", "cash")]).expect("bind").add(2);
    }
    {
        let _span = span(5, 15).attach();
        telemetry.meter("raw").f64_histogram("raw.latency").with_unit("s").build().record(0.02, &[KeyValue::new("op", "read")]);
    }
    {
        let _span = span(6, 16).attach();
        telemetry.meter("raw").u64_counter("raw.events").build().add(1, &[]);
    }
    {
        // A duration guard, dropped in its span (as `#[track_duration]` expands to).
        let _span = span(7, 17).attach();
        let _guard = metrics.track_duration("checkout.duration", &[KeyValue::new("step", "pay")]);
    }
    {
        let _span = span(8, 18).attach();
        metrics.operation("checkout").success();
    }
}

fn trace_hex(trace: u128) -> String {
    format!("{trace:032x}")
}

#[test]
fn every_recording_path_keeps_its_span_in_the_openmetrics_exposition() {
    let telemetry = pipeline(None, empty_env());
    record_everywhere(&telemetry);
    let url = telemetry.endpoints()[0].clone();
    let client = reqwest::blocking::Client::new();
    let openmetrics =
        client.get(&url).header("accept", "application/openmetrics-text;version=1.0.0").send().expect("scrape").text().expect("body");
    let line =
        |prefix: &str, trace: u128| openmetrics.lines().find(|l| l.starts_with(prefix) && l.contains(&trace_hex(trace))).map(str::to_owned);
    let counter = line("orders_placed_total{otel_scope_name=\"app\",payment=\"card\"} 1 # {trace_id=", 1).expect("facade counter");
    assert!(counter.contains(&format!("span_id=\"{:016x}\"}} 1 ", 11)), "{counter}");
    assert!(line("checkout_duration_seconds_bucket{otel_scope_name=\"app\",le=\"0.5\"} 1 # {trace_id=", 2).is_some(), "{openmetrics}");
    assert!(line("checkout_duration_seconds_bucket{otel_scope_name=\"app\",le=\"2.5\"} 2 # {trace_id=", 3).is_some(), "bound handle");
    assert!(line("orders_placed_total{otel_scope_name=\"app\",payment=\"cash\"} 2 # {", 4).is_some(), "bound counter");
    assert!(
        line("raw_latency_seconds_bucket{otel_scope_name=\"raw\",op=\"read\",le=\"0.025\"} 1 # {", 5).is_some(),
        "raw histogram: {openmetrics}"
    );
    assert!(line("raw_events_total{otel_scope_name=\"raw\"} 1 # {", 6).is_some(), "raw counter");
    assert!(line("checkout_duration_seconds_bucket{otel_scope_name=\"app\",step=\"pay\",le=\"0.005\"} 1 # {", 7).is_some(), "guard");
    assert!(
        openmetrics.lines().any(|l| l.starts_with("operation_duration_seconds_bucket{") && l.contains(&trace_hex(8))),
        "operation guard"
    );
    // Recorded outside a span: no exemplar (`trace_based`).
    let outside: Vec<&str> =
        openmetrics.lines().filter(|l| l.starts_with("raw_latency_seconds_bucket{otel_scope_name=\"raw\",le=")).collect();
    assert!(!outside.is_empty(), "the series recorded outside a span is there: {openmetrics}");
    assert!(outside.iter().all(|l| !l.contains(" # {")), "{outside:#?}");
    // Every exemplar's label set within OpenMetrics' 128 characters; none on `_count`/`_sum`/gauges.
    for l in openmetrics.lines().filter(|l| l.contains(" # {")) {
        let labels = &l[l.find(" # {").expect("exemplar") + 4..l.rfind('}').expect("end")];
        assert!(labels.len() <= 128, "{l}");
        assert!(l.contains("_bucket{") || l.contains("_total{"), "{l}");
    }
    // Text 0.0.4 cannot carry them.
    let (_, kind, text) = http_get_typed(&url).expect("text");
    assert!(kind.starts_with("text/plain; version=0.0.4"));
    assert!(!text.contains(" # {"), "{text}");
}

#[test]
fn the_filter_comes_from_the_builder_the_variable_or_the_default() {
    for (filter, env, kept) in [
        (None, empty_env(), true),
        (None, Env::from_pairs([("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")]), false),
        (Some(ExemplarFilter::TraceBased), Env::from_pairs([("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")]), true),
        (Some(ExemplarFilter::AlwaysOff), empty_env(), false),
    ] {
        let telemetry = pipeline(filter, env);
        record_everywhere(&telemetry);
        assert_eq!(telemetry.exemplars().series() > 0, kept, "{filter:?}");
        let body = reqwest::blocking::Client::new()
            .get(&telemetry.endpoints()[0])
            .header("accept", "application/openmetrics-text;version=1.0.0")
            .send()
            .expect("scrape")
            .text()
            .expect("body");
        assert_eq!(body.contains(" # {trace_id="), kept, "{filter:?}");
    }
    // `always_on` keeps measurements made outside any span, without trace ids.
    let telemetry = pipeline(Some(ExemplarFilter::AlwaysOn), empty_env());
    telemetry.meter("raw").u64_counter("raw.events").build().add(1, &[]);
    let kept = telemetry.exemplars().for_sum("raw", "raw.events", &[]);
    assert_eq!(kept.len(), 1);
    assert!(!kept[0].has_trace());
    let bad = Telemetry::builder().env(Env::from_pairs([("OTEL_METRICS_EXEMPLAR_FILTER", "sometimes")])).build().expect_err("invalid");
    assert!(bad.to_string().contains("OTEL_METRICS_EXEMPLAR_FILTER") && bad.to_string().contains("trace_based"), "{bad}");
}

/// An axum service with the HTTP layer, each request inside the span its `x-trace` header names.
fn http_service(telemetry: &Telemetry) -> String {
    async fn in_span(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
        let trace: u128 = request.headers().get("x-trace").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
        if trace == 0 {
            return next.run(request).await;
        }
        next.run(request).with_context(span(trace, trace as u64 + 1000)).await
    }
    let app = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(60)).await;
                "slow"
            }),
        )
        .route("/fast", get(|| async { "fast" }))
        .layer(HttpServerLayer::new(&telemetry.meter("http")))
        .layer(axum::middleware::from_fn(in_span));
    let runtime = Box::leak(Box::new(tokio::runtime::Runtime::new().expect("runtime")));
    let addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });
    format!("http://{addr}")
}

#[test]
fn prometheus_stores_the_exemplars_with_the_recording_spans_trace_ids() {
    let telemetry = pipeline(None, empty_env());
    let service = http_service(&telemetry);
    let client = reqwest::blocking::Client::new();
    let prometheus_om = Prometheus::start(&[&scrape_target(&telemetry)], "/metrics", &["--enable-feature=exemplar-storage"]);
    let prometheus_pb =
        Prometheus::start(&[&scrape_target(&telemetry)], "/metrics", &["--enable-feature=exemplar-storage,native-histograms"]);
    let (slow_trace, fast_trace) = (0xfeed_0000_0000_0000_0000_0000_0000_0001_u128, 0xfeed_0000_0000_0000_0000_0000_0000_0002_u128);
    for prometheus in [&prometheus_om, &prometheus_pb] {
        let found = wait_for(Duration::from_secs(40), || {
            // Requests keep coming so each scrape has fresh exemplars to take.
            client.get(format!("{service}/slow")).header("x-trace", slow_trace.to_string()).send().ok()?;
            client.get(format!("{service}/fast")).header("x-trace", fast_trace.to_string()).send().ok()?;
            let data = prometheus.api(&format!(
                "/api/v1/query_exemplars?query={}&start={}&end={}",
                "http_server_request_duration_seconds_bucket",
                now() - 600,
                now() + 60
            ));
            let mut traces = BTreeSet::new();
            for series in data.as_array()? {
                let le: f64 = series["seriesLabels"]["le"].as_str()?.replace("+Inf", "inf").parse().ok()?;
                for exemplar in series["exemplars"].as_array()? {
                    let trace = exemplar["labels"]["trace_id"].as_str()?.to_owned();
                    let value: f64 = exemplar["value"].as_str()?.parse().ok()?;
                    assert_eq!(trace.len(), 32, "{exemplar}");
                    assert!(trace.chars().all(|c| c.is_ascii_hexdigit()), "{exemplar}");
                    assert!(value <= le, "an exemplar sits in its bucket: {value} > {le}");
                    traces.insert((trace, value >= 0.05));
                }
            }
            let expected: BTreeSet<(String, bool)> = [(trace_hex(slow_trace), true), (trace_hex(fast_trace), false)].into();
            (traces == expected).then_some(traces)
        });
        assert!(found.is_some(), "Prometheus {} has the two requests' exemplars with their trace ids", prometheus.base());
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[test]
fn otlp_carries_the_exemplars_over_grpc_and_http() {
    let rotel = Rotel::start();
    for (protocol, endpoint, trace) in [
        (OtlpProtocol::Grpc, format!("http://{}", rotel.grpc), 0xabc1_u128),
        (OtlpProtocol::HttpProtobuf, format!("http://{}/v1/metrics", rotel.http), 0xabc2_u128),
    ] {
        let telemetry = Telemetry::builder()
            .env(empty_env())
            .catalog(catalog())
            .exporter(OtlpExporter::new().protocol(protocol).endpoint(endpoint))
            .build()
            .expect("build");
        {
            let _span = span(trace, 77).attach();
            telemetry.metrics().record_histogram("checkout.duration", 0.3, &[]);
            telemetry.metrics().increment_counter("orders.placed", 1, &[KeyValue::new("payment", "card")]);
        }
        telemetry.shutdown().expect("flush");
        let trace_text = trace_hex(trace);
        rotel.wait_for_metric("checkout.duration", &["Exemplars", &trace_text]);
        rotel.wait_for_metric("orders.placed", &["Exemplars", &trace_text]);
    }
}

#[test]
fn tracing_spans_become_exemplars_through_tracing_opentelemetry() {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    for activation in [true, false] {
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test")).with_context_activation(activation);
        let subscriber = tracing_subscriber::registry().with(layer);
        let telemetry = pipeline(None, empty_env());
        let expected = tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("checkout");
            let _entered = span.enter();
            telemetry.metrics().record_histogram("checkout.duration", 0.3, &[]);
            span.context().span().span_context().trace_id()
        });
        let kept = telemetry.exemplars().for_buckets("app", "checkout.duration", &[]);
        assert_eq!(kept.len(), 1, "activation {activation}");
        assert_eq!(kept[0].1.trace_id, expected.to_bytes(), "activation {activation}");
    }
}

#[test]
fn exemplar_memory_stays_bounded_under_a_cardinality_flood() {
    let catalog = Catalog::new();
    catalog.declare(MetricDef::counter("flood.total").labels(["id"]).cardinality_limit(100)).expect("declare");
    catalog.declare(MetricDef::histogram("flood.seconds").unit("s").labels(["id"]).cardinality_limit(100)).expect("declare");
    let telemetry =
        Telemetry::builder().env(empty_env()).catalog(catalog).exemplar_filter(ExemplarFilter::AlwaysOn).build().expect("build");
    let metrics = telemetry.metrics();
    let raw = telemetry.meter("raw").f64_histogram("raw.flood").with_unit("s").build();
    let mut after_limit = 0;
    for i in 0..50_000 {
        let labels = [KeyValue::new("id", i.to_string())];
        let _span = span(i as u128 + 1, 1).attach();
        metrics.increment_counter("flood.total", 1, &labels);
        metrics.record_histogram("flood.seconds", (i % 20) as f64 / 10.0, &labels);
        raw.record((i % 20) as f64 / 10.0, &labels);
        if i == 99 {
            after_limit = telemetry.exemplars().memory_bytes();
        }
    }
    let exemplars = telemetry.exemplars();
    // 100 series per declared metric, the raw histogram's default limit of 2,000.
    assert_eq!(exemplars.series(), 100 + 100 + 2000);
    let bytes = exemplars.memory_bytes();
    println!(
        "exemplar memory after 50,000 label sets: {bytes} bytes for {} series ({} bytes per series); {after_limit} bytes after the first 100",
        exemplars.series(),
        bytes / exemplars.series()
    );
    assert!(bytes / exemplars.series() < 2048, "{bytes}");
    // The series themselves are unchanged: the overflow series took the rest.
    let series = telemetry.snapshot().series;
    assert_eq!(series.iter().filter(|s| s.name == "flood.total").count(), 101);
}

/// docs/exemplars.md's two recipes as a service runs them: a raw counter recorded in a `tracing`
/// span through tracing-opentelemetry (the re-exported one), and one recorded in an SDK tracer's
/// `in_span`; the OpenMetrics scrape carries each span's trace id.
#[test]
fn the_exemplar_recipes_put_the_span_on_the_scraped_counter() {
    use otel_core::opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
    use otel_core::tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    let tracer_provider = otel_core::opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let telemetry = Telemetry::builder().env(empty_env()).exporter(PrometheusExporter::new().listen("127.0.0.1:0")).build().expect("build");
    let orders = telemetry.meter("checkout").u64_counter("orders.placed").build();

    let subscriber =
        tracing_subscriber::registry().with(otel_core::tracing_opentelemetry::layer().with_tracer(tracer_provider.tracer("checkout")));
    let with_tracing = tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("place_order");
        let _entered = span.enter();
        orders.add(1, &[KeyValue::new("via", "tracing")]);
        span.context().span().span_context().trace_id()
    });
    let without_tracing = tracer_provider.tracer("checkout").in_span("place_order", |cx| {
        orders.add(1, &[KeyValue::new("via", "otel")]);
        cx.span().span_context().trace_id()
    });

    let url = telemetry.endpoints()[0].clone();
    let openmetrics = reqwest::blocking::Client::new()
        .get(&url)
        .header("accept", "application/openmetrics-text;version=1.0.0")
        .send()
        .expect("scrape")
        .text()
        .expect("body");
    for (via, trace) in [("tracing", with_tracing), ("otel", without_tracing)] {
        let prefix = format!("orders_placed_total{{otel_scope_name=\"checkout\",via=\"{via}\"}} 1 # {{trace_id=\"{trace}\"");
        assert!(openmetrics.lines().any(|l| l.starts_with(&prefix)), "{prefix}\n{openmetrics}");
    }
}
