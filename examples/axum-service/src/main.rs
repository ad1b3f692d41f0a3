//! An axum service instrumented with otel-pipeline: the README's "Instrument an axum service".
use axum::{extract::Path, routing::get, Router};
use otel_core::opentelemetry::KeyValue; // the re-export: always the version otel-core uses
use otel_core::Telemetry;
use otel_exporters::PrometheusExporter;
use otel_instrumentation::http::HttpServerLayer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The pipeline reports its problems (a collector down, a dropped recording) through `tracing`.
    use std::io::IsTerminal as _;
    let colour = std::io::stderr().is_terminal(); // plain text in a file or a pipe
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(colour).init();

    // `/metrics` is served on this service's own router, so no endpoint of the exporter's own.
    let prometheus = PrometheusExporter::new().without_server();
    let metrics_route = otel_exporters::metrics_route(prometheus.scraper());
    let telemetry = Telemetry::builder()
        .service_name("greeter")
        .exporter(otel_exporters::from_env().prometheus(prometheus)) // OTEL_METRICS_EXPORTER=prometheus,otlp also pushes
        .install()?;

    let meter = telemetry.meter("greeter");
    let greetings = meter.u64_counter("greetings").with_description("Greetings sent").build();
    let name_length = meter.u64_histogram("greeting.name.length").with_unit("{char}").with_boundaries(vec![4.0, 8.0, 16.0]).build();

    let app = Router::new()
        .route(
            "/hello/{name}",
            get(move |Path(name): Path<String>| async move {
                greetings.add(1, &[KeyValue::new("language", "en")]); // greetings_total{language="en"}
                name_length.record(name.chars().count() as u64, &[]);
                format!("Hello, {name}!")
            }),
        )
        .layer(HttpServerLayer::new(&telemetry.meter("greeter.http"))) // http_server_request_duration_seconds{http_route="/hello/{name}"}
        .route("/metrics", metrics_route); // after the layer: scrapes are not measured as traffic

    let address = std::env::var("GREETER_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("greeter: metrics at http://{}/metrics", listener.local_addr()?);
    axum::serve(listener, app).with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap_or(()) }).await?;
    telemetry.shutdown()?; // the last push, if any exporter pushes
    Ok(())
}
