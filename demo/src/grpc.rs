//! A gRPC health service (grpc.health.v1) and a client that checks it, both measured by the
//! gRPC layer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry::metrics::Meter;
use otel_instrumentation::grpc::GrpcLayer;
use tokio::sync::watch;
use tonic::service::interceptor::InterceptedService;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::args::Inject;

/// Serves health on a free loopback port; returns its address. With injected errors, that share
/// of calls answers UNAVAILABLE (measured by the gRPC layer like any failure).
pub(crate) async fn start(meter: &Meter, inject: Inject, mut stop: watch::Receiver<bool>) -> Result<std::net::SocketAddr, String> {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter.set_service_status("otel-demo", tonic_health::ServingStatus::Serving).await;
    let calls = std::sync::Arc::new(AtomicU64::new(0));
    let service = InterceptedService::new(service, move |request: tonic::Request<()>| {
        if inject.fails(calls.fetch_add(1, Ordering::Relaxed)) {
            Err(tonic::Status::unavailable("injected"))
        } else {
            Ok(request)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("cannot open the gRPC port: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tonic::transport::Server::builder().layer(GrpcLayer::server(meter)).add_service(service);
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = server.serve_with_incoming_shutdown(incoming, shutdown).await {
            tracing::warn!(error = %e, "gRPC server stopped");
        }
    });
    Ok(addr)
}

/// Checks health every half second (a known and an unknown service, so both OK and NOT_FOUND
/// appear) until stopped.
pub(crate) async fn check(addr: std::net::SocketAddr, meter: Meter, mut stop: watch::Receiver<bool>) {
    let Ok(endpoint) = tonic::transport::Endpoint::from_shared(format!("http://{addr}")) else { return };
    let channel = endpoint.connect_lazy();
    let mut client = HealthClient::new(tower::ServiceBuilder::new().layer(GrpcLayer::client(&meter)).service(channel));
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    for round in 0u64.. {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let service = if round % 4 == 3 { "unknown" } else { "otel-demo" };
        let _ = client.check(HealthCheckRequest { service: service.to_owned() }).await;
    }
}
