//! Instrumentation against a real axum server and a real Prometheus: HTTP server metrics by
//! route and status, route cardinality, and the worker SDK's task names.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use otel_core::{Catalog, Telemetry};
use otel_exporters::{PrometheusExporter, Scraper};
use otel_instrumentation::http::HttpServerLayer;
use otel_instrumentation::tasks::WorkerMetrics;
use otel_tests::{empty_env, scrape_target, Prometheus};
use tower::ServiceExt;

fn pipeline(catalog: Catalog) -> (Telemetry, Scraper) {
    let exporter = PrometheusExporter::new().listen("127.0.0.1:0");
    let scraper = exporter.scraper();
    let telemetry = Telemetry::builder().env(empty_env()).catalog(catalog).exporter(exporter).build().expect("build");
    (telemetry, scraper)
}

fn router(telemetry: &Telemetry) -> Router {
    Router::new()
        .route("/items/{id}", get(|| async { "item" }).post(|| async { (StatusCode::CREATED, "made") }))
        .route("/boom", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route("/metrics", get(|| async { "not recorded" }))
        .layer(HttpServerLayer::new(&telemetry.meter("http-test")))
}

#[test]
fn a_real_axum_server_is_measured_by_route_and_status() {
    let (telemetry, _) = pipeline(Catalog::new());
    let app = router(&telemetry);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });
    let client = reqwest::blocking::Client::new();
    for id in 0..30 {
        assert_eq!(client.get(format!("http://{addr}/items/{id}")).send().expect("get").status(), 200);
    }
    for id in 0..5 {
        assert_eq!(client.post(format!("http://{addr}/items/{id}")).send().expect("post").status(), 201);
    }
    for _ in 0..3 {
        assert_eq!(client.get(format!("http://{addr}/boom")).send().expect("boom").status(), 500);
    }
    for n in 0..4 {
        assert_eq!(client.get(format!("http://{addr}/nowhere/{n}")).send().expect("404").status(), 404);
        client.get(format!("http://{addr}/metrics")).send().expect("excluded");
    }

    let prometheus = Prometheus::start(&[&scrape_target(&telemetry)], "/metrics", &[]);
    let count = |selector: &str| prometheus.value(&format!("sum(http_server_request_duration_seconds_count{{{selector}}})"));
    assert_eq!(count(r#"http_route="/items/{id}",http_request_method="GET",http_response_status_code="200""#), 30.0);
    assert_eq!(count(r#"http_route="/items/{id}",http_request_method="POST",http_response_status_code="201""#), 5.0);
    assert_eq!(count(r#"http_route="/boom",http_response_status_code="500",error_type="500""#), 3.0);
    // Unmatched requests are measured without a route; /metrics is not measured at all.
    assert_eq!(count(r#"http_route="",http_response_status_code="404""#), 4.0);
    assert!(prometheus.query(r#"http_server_request_duration_seconds_count{http_route="/metrics"}"#).is_empty());
    let p90 = prometheus.value("histogram_quantile(0.9, sum by (le) (http_server_request_duration_seconds_bucket))");
    assert!(p90 > 0.0 && p90 <= 0.005, "p90 = {p90}");
    assert_eq!(prometheus.value("sum(http_server_active_requests)"), 0.0);
    assert_eq!(
        prometheus.value("sum(http_server_response_body_size_bytes_sum{http_route=\"/items/{id}\",http_request_method=\"GET\"})"),
        30.0 * 4.0
    );
}

#[test]
fn body_sizes_are_recorded_only_for_bodies_that_are_there() {
    let (telemetry, scraper) = pipeline(Catalog::new());
    let app = Router::new()
        .route("/read", get(|| async { "four" }))
        .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
        .route("/write", axum::routing::post(|body: String| async move { (StatusCode::CREATED, body) }))
        .layer(HttpServerLayer::new(&telemetry.meter("http-sizes")));
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    runtime.block_on(async {
        for (method, path, body) in [("GET", "/read", ""), ("GET", "/empty", ""), ("POST", "/write", "hello")] {
            for _ in 0..3 {
                let request = Request::builder().method(method).uri(path).body(Body::from(body)).expect("request");
                let response = app.clone().oneshot(request).await.expect("served");
                let _ = axum::body::to_bytes(response.into_body(), 1024).await.expect("body");
            }
        }
    });
    let text = scraper.scrape_text().expect("scrape");
    let counts =
        |family: &str| -> Vec<String> { text.lines().filter(|l| l.starts_with(&format!("{family}_count{{"))).map(str::to_owned).collect() };
    let requests = counts("http_server_request_body_size_bytes");
    let responses = counts("http_server_response_body_size_bytes");
    // Only the POST carried a request body; the 204 carried no response body.
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert!(requests[0].contains(r#"http_route="/write""#) && requests[0].ends_with(" 3"), "{requests:#?}");
    assert_eq!(responses.len(), 2, "{responses:#?}");
    assert!(responses.iter().all(|l| !l.contains(r#"http_route="/empty""#)), "{responses:#?}");
    assert_eq!(text.lines().filter(|l| l.starts_with("http_server_request_duration_seconds_count{")).count(), 3, "{text}");
}

#[test]
fn url_scheme_is_https_on_a_tls_server_and_http_otherwise() {
    let (telemetry, scraper) = pipeline(Catalog::new());
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    for (meter, tls, uri) in [("plain", false, "/read"), ("tls", true, "/read"), ("h2", false, "https://example.test/read")] {
        let app = Router::new().route("/read", get(|| async { "four" })).layer(
            HttpServerLayer::new(&telemetry.meter_with_scope(opentelemetry::InstrumentationScope::builder(meter).build()))
                .served_over_tls(tls),
        );
        runtime.block_on(async {
            let request = Request::builder().uri(uri).body(Body::empty()).expect("request");
            let response = app.oneshot(request).await.expect("served");
            let _ = axum::body::to_bytes(response.into_body(), 1024).await.expect("body");
        });
    }
    let text = scraper.scrape_text().expect("scrape");
    let scheme_of = |scope: &str| {
        let line = text
            .lines()
            .find(|l| l.starts_with("http_server_request_duration_seconds_count{") && l.contains(&format!("otel_scope_name=\"{scope}\"")))
            .unwrap_or_else(|| panic!("no {scope} series in {text}"));
        line.split("url_scheme=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default().to_owned()
    };
    // HTTP/1 requests carry no scheme: the layer says what the listener is; a URI's own scheme wins.
    assert_eq!(scheme_of("plain"), "http");
    assert_eq!(scheme_of("tls"), "https");
    assert_eq!(scheme_of("h2"), "https");
}

#[test]
fn ten_thousand_raw_urls_on_one_route_make_one_series_and_unmatched_urls_no_route() {
    let (telemetry, scraper) = pipeline(Catalog::new());
    let app = router(&telemetry);
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    runtime.block_on(async {
        for id in 0..10_000 {
            let response =
                app.clone().oneshot(Request::get(format!("/items/{id}")).body(Body::empty()).expect("request")).await.expect("served");
            assert_eq!(response.status(), 200);
        }
        for n in 0..1_000 {
            let response =
                app.clone().oneshot(Request::get(format!("/raw/{n}")).body(Body::empty()).expect("request")).await.expect("served");
            assert_eq!(response.status(), 404);
        }
    });
    let text = scraper.scrape_text().expect("scrape");
    let series: Vec<&str> = text.lines().filter(|l| l.starts_with("http_server_request_duration_seconds_count{")).collect();
    assert_eq!(series.len(), 2, "one series for the route, one without a route:\n{series:#?}");
    assert!(series.iter().any(|s| s.contains(r#"http_route="/items/{id}""#) && s.ends_with(" 10000")), "{series:#?}");
    assert!(series.iter().any(|s| !s.contains("http_route") && s.ends_with(" 1000")), "{series:#?}");
    assert!(!text.contains("/raw/"), "a raw URL leaked into a label");
}

#[test]
fn the_worker_sdk_task_names_and_labels_reach_prometheus() {
    let catalog = Catalog::new().with(WorkerMetrics::definitions()).expect("catalog");
    let (telemetry, _) = pipeline(catalog);
    let worker = WorkerMetrics::new(&telemetry.metrics());
    for i in 0..100 {
        worker.poll("myTask", f64::from(i) / 1000.0, i % 10 != 0);
        worker.execute("myTask", 0.017, true);
    }
    worker.execute_error("myTask", "TimeoutError");
    worker.update("myTask", 0.096, true);
    worker.update_error("myTask", "ConnectionError");
    worker.result_size("myTask", 512);
    worker.queue_full("myTask");
    worker.paused("myTask");
    worker.worker_restart("myTask");
    worker.external_payload_used("myTask", "input");
    worker.workflow_input_size("myWorkflow", "1", 2048);
    worker.workflow_start_error("myWorkflow", "ValueError");
    worker.api_request("GET", "/tasks/poll/batch/myTask", "200", 0.112);

    let prometheus = Prometheus::start(&[&scrape_target(&telemetry)], "/metrics", &[]);
    let expectations = [
        (r#"task_poll_total{taskType="myTask"}"#, 100.0),
        (r#"task_poll_time_seconds_count{taskType="myTask",status="SUCCESS"}"#, 90.0),
        (r#"task_poll_time_seconds_count{taskType="myTask",status="FAILURE"}"#, 10.0),
        (r#"task_execute_time_seconds{taskType="myTask",status="SUCCESS",quantile="0.99"}"#, 0.017),
        (r#"task_execute_time_seconds_count{taskType="myTask",status="SUCCESS"}"#, 100.0),
        (r#"task_execute_time{taskType="myTask"}"#, 0.017),
        (r#"task_execute_error_total{taskType="myTask",exception="TimeoutError"}"#, 1.0),
        (r#"task_update_time_seconds{taskType="myTask",status="SUCCESS",quantile="0.95"}"#, 0.096),
        (r#"task_update_error_total{taskType="myTask",exception="ConnectionError"}"#, 1.0),
        (r#"task_result_size{taskType="myTask"}"#, 512.0),
        (r#"task_execution_queue_full_total{taskType="myTask"}"#, 1.0),
        (r#"task_paused_total{taskType="myTask"}"#, 1.0),
        (r#"worker_restart_total{taskType="myTask"}"#, 1.0),
        (r#"external_payload_used_total{taskType="myTask",payloadType="input"}"#, 1.0),
        (r#"workflow_input_size{workflowType="myWorkflow",version="1"}"#, 2048.0),
        (r#"workflow_start_error_total{workflowType="myWorkflow",exception="ValueError"}"#, 1.0),
        (r#"api_request_time_seconds{method="GET",uri="/tasks/poll/batch/myTask",status="200",quantile="0.5"}"#, 0.112),
        (r#"api_request_time_seconds_count{method="GET",uri="/tasks/poll/batch/myTask",status="200"}"#, 1.0),
    ];
    for (selector, expected) in expectations {
        let got = prometheus.value(selector);
        assert!((got - expected).abs() < 1e-9, "{selector}: {got} != {expected}");
    }
    // The worker SDK's documented average query works on the quantile timer's _sum and _count.
    let average =
        prometheus.value(r#"sum(task_poll_time_seconds_sum{taskType="myTask"}) / sum(task_poll_time_seconds_count{taskType="myTask"})"#);
    assert!((average - 0.0495).abs() < 1e-9, "average = {average}");
}

#[test]
fn an_http_client_is_measured_by_url_template_and_status() {
    use http_body_util::Empty;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use otel_instrumentation::http_client::{HttpClientLayer, UrlTemplate};

    let (telemetry, scraper) = pipeline(Catalog::new());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let app = Router::new()
            .route("/tasks/poll/batch/{task}", get(|| async { "[]" }))
            .route("/boom", get(|| async { (StatusCode::BAD_GATEWAY, "no") }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = tower::ServiceBuilder::new()
            .layer(HttpClientLayer::new(&telemetry.meter("client")))
            .service(Client::builder(TokioExecutor::new()).build_http::<Empty<axum::body::Bytes>>());
        for task in ["a", "b", "c"] {
            let mut request = Request::get(format!("http://{addr}/tasks/poll/batch/{task}")).body(Empty::new()).expect("request");
            request.extensions_mut().insert(UrlTemplate("/tasks/poll/batch/{taskType}"));
            assert_eq!(client.clone().oneshot(request).await.expect("response").status(), 200);
        }
        let response = client
            .clone()
            .oneshot(Request::get(format!("http://{addr}/boom")).body(Empty::new()).expect("request"))
            .await
            .expect("response");
        assert_eq!(response.status(), 502);
        let closed = format!("http://127.0.0.1:{}/x", otel_tests::free_port());
        assert!(client.clone().oneshot(Request::get(closed).body(Empty::new()).expect("request")).await.is_err());
    });
    let text = scraper.scrape_text().expect("scrape");
    let counts: Vec<&str> = text.lines().filter(|l| l.starts_with("http_client_request_duration_seconds_count{")).collect();
    let find = |parts: &[&str]| counts.iter().find(|l| parts.iter().all(|p| l.contains(p))).copied();
    let ok =
        find(&[r#"url_template="/tasks/poll/batch/{taskType}""#, r#"http_response_status_code="200""#, r#"server_address="127.0.0.1""#]);
    assert!(ok.is_some_and(|l| l.ends_with(" 3")), "{counts:#?}");
    assert!(
        find(&[r#"http_response_status_code="502""#, r#"error_type="502""#]).is_some_and(|l| !l.contains("url_template")),
        "{counts:#?}"
    );
    assert!(find(&[r#"error_type="Error""#]).is_some_and(|l| !l.contains("status_code")), "{counts:#?}");
    assert!(!text.contains("/tasks/poll/batch/a"), "a raw path leaked");
}

#[test]
fn recipes_record_cache_database_and_genai_metrics() {
    use otel_instrumentation::recipes::{Cache, Database, GenAi};

    let catalog =
        Catalog::new().with(Cache::definitions().into_iter().chain(Database::definitions()).chain(GenAi::definitions())).expect("catalog");
    let (telemetry, scraper) = pipeline(catalog);
    let metrics = telemetry.metrics();
    let cache = Cache::new(&metrics, "embeddings");
    cache.lookup("get", false);
    cache.lookup("get", true);
    cache.lookup("get", true);
    cache.size(2048);
    let db = Database::new(&metrics, "main");
    {
        let _conn = db.connection();
        let _query = db.query("select", "users");
        assert_eq!(telemetry.snapshot().value("db.client.connections.active", &[("db.client.connection.pool.name", "main")]), Some(1.0));
    }
    GenAi::new(&metrics).call("claude-3", "chat", 1.2, None, 120, 480);
    let s = telemetry.snapshot();
    assert_eq!(s.value("cache.hits", &[("cache_name", "embeddings"), ("operation", "get")]), Some(2.0));
    assert_eq!(s.value("db.client.connections.active", &[("db.client.connection.pool.name", "main")]), Some(0.0));
    assert_eq!(
        s.histogram("db.client.operation.duration", &[("db.operation.name", "select"), ("db.collection.name", "users")]).map(|h| h.count),
        Some(1)
    );
    let output = [("gen_ai.request.model", "claude-3"), ("gen_ai.token.type", "output"), ("gen_ai.operation.name", "chat")];
    assert_eq!(s.histogram("gen_ai.client.token.usage", &output).map(|h| h.sum), Some(480.0));
    let text = scraper.scrape_text().expect("scrape");
    for name in [
        "cache_hits_total{",
        "cache_misses_total{",
        "cache_size_bytes{",
        "db_client_operation_duration_seconds_bucket{",
        "gen_ai_client_token_usage_bucket{",
        "gen_ai_client_operation_duration_seconds_count{",
    ] {
        assert!(text.contains(name), "missing {name}:\n{text}");
    }
}
