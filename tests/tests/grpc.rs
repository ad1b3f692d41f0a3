//! gRPC metrics on a real tonic server and a real tonic client, over loopback.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use otel_core::{Catalog, Telemetry};
use otel_exporters::PrometheusExporter;
use otel_instrumentation::grpc::GrpcLayer;
use otel_tests::{empty_env, sampled_span, scrape_target, Prometheus};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

#[derive(Clone, PartialEq, prost::Message)]
struct HelloRequest {
    #[prost(string, tag = "1")]
    name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct HelloReply {
    #[prost(string, tag = "1")]
    message: String,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// `test.Greeter/SayHello`, written by hand instead of generated: answers `NOT_FOUND` for "nobody".
#[derive(Clone)]
struct Greeter;

impl tonic::server::NamedService for Greeter {
    const NAME: &'static str = "test.Greeter";
}

struct SayHello;

impl tonic::server::UnaryService<HelloRequest> for SayHello {
    type Response = HelloReply;
    type Future = BoxFuture<Result<Response<HelloReply>, Status>>;

    fn call(&mut self, request: Request<HelloRequest>) -> Self::Future {
        Box::pin(async move {
            let name = request.into_inner().name;
            if name == "nobody" {
                Err(Status::not_found("no such person"))
            } else {
                Ok(Response::new(HelloReply { message: format!("hello {name}") }))
            }
        })
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for Greeter {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            if request.uri().path() == "/test.Greeter/SayHello" {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::<HelloReply, HelloRequest>::default());
                Ok(grpc.unary(SayHello, request).await)
            } else {
                Ok(Status::unimplemented("no such method").into_http())
            }
        })
    }
}

#[test]
fn tonic_server_and_client_calls_are_measured_with_rpc_attributes() {
    let exporter = PrometheusExporter::new().listen("127.0.0.1:0");
    let telemetry = Telemetry::builder().env(empty_env()).catalog(Catalog::new()).exporter(exporter).build().expect("build");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tonic::transport::Server::builder().layer(GrpcLayer::server(&telemetry.meter("grpc-server"))).add_service(Greeter);
        tokio::spawn(server.serve_with_incoming(tokio_stream_listener(listener)));

        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect");
        let layered = tower::ServiceBuilder::new().layer(GrpcLayer::client(&telemetry.meter("grpc-client"))).service(channel);
        let mut client = tonic::client::Grpc::new(layered);
        for (name, ok) in [("ada", true), ("bob", true), ("nobody", false)] {
            client.ready().await.expect("ready");
            let path = PathAndQuery::from_static("/test.Greeter/SayHello");
            let reply = client
                .unary(Request::new(HelloRequest { name: name.to_owned() }), path, ProstCodec::<HelloRequest, HelloReply>::default())
                .await;
            assert_eq!(reply.is_ok(), ok, "{name}: {reply:?}");
        }
        client.ready().await.expect("ready");
        let missing = client
            .unary(
                Request::new(HelloRequest { name: "x".into() }),
                PathAndQuery::from_static("/test.Greeter/Missing"),
                ProstCodec::<HelloRequest, HelloReply>::default(),
            )
            .await;
        assert_eq!(missing.expect_err("unimplemented").code(), tonic::Code::Unimplemented);
    });

    let target = scrape_target(&telemetry);
    let prometheus = Prometheus::start(&[&target], "/metrics", &[]);
    for side in ["server", "client"] {
        let count = |status: u8, method: &str| {
            prometheus.value(&format!(
                r#"sum(rpc_{side}_duration_seconds_count{{rpc_system="grpc",rpc_service="test.Greeter",rpc_method="{method}",rpc_grpc_status_code="{status}"}})"#
            ))
        };
        assert_eq!(count(0, "SayHello"), 2.0, "{side} OK");
        assert_eq!(count(5, "SayHello"), 1.0, "{side} NOT_FOUND");
        assert_eq!(count(12, "Missing"), 1.0, "{side} UNIMPLEMENTED");
    }
}

/// A `TcpListener` as the stream of connections `serve_with_incoming` takes.
fn tokio_stream_listener(listener: tokio::net::TcpListener) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    tokio_stream::wrappers::TcpListenerStream::new(listener)
}

/// Runs each call of the wrapped service inside a sampled span with this trace id (its `call`
/// is where the metered layer takes the request's context).
#[derive(Clone)]
struct InSpan<S> {
    inner: S,
    trace: u128,
}

impl<S: tower::Service<R>, R> tower::Service<R> for InSpan<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let _span = sampled_span(self.trace, 1).attach();
        self.inner.call(request)
    }
}

/// Server and client calls keep the span they ran in as the exemplars of their duration.
#[test]
fn grpc_calls_keep_their_spans_as_exemplars() {
    use opentelemetry::trace::FutureExt as _;
    let (server_trace, client_trace) = (0x5e47_u128, 0xc1e7_u128);
    let telemetry = Telemetry::builder().env(empty_env()).catalog(Catalog::new()).build().expect("build");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tonic::transport::Server::builder()
            .layer(tower::layer::layer_fn(move |inner| InSpan { inner, trace: server_trace }))
            .layer(GrpcLayer::server(&telemetry.meter("grpc-server")))
            .add_service(Greeter);
        tokio::spawn(server.serve_with_incoming(tokio_stream_listener(listener)));
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect");
        let layered = tower::ServiceBuilder::new().layer(GrpcLayer::client(&telemetry.meter("grpc-client"))).service(channel);
        let mut client = tonic::client::Grpc::new(layered);
        async {
            client.ready().await.expect("ready");
            let path = PathAndQuery::from_static("/test.Greeter/SayHello");
            client
                .unary(Request::new(HelloRequest { name: "ada".into() }), path, ProstCodec::<HelloRequest, HelloReply>::default())
                .await
                .expect("call");
        }
        .with_context(sampled_span(client_trace, 1))
        .await;
    });
    let trace_of = |scope: &str, name: &str| {
        let attributes = [
            opentelemetry::KeyValue::new("rpc.grpc.status_code", 0i64),
            opentelemetry::KeyValue::new("rpc.method", "SayHello"),
            opentelemetry::KeyValue::new("rpc.service", "test.Greeter"),
            opentelemetry::KeyValue::new("rpc.system", "grpc"),
        ];
        let kept = telemetry.exemplars().for_buckets(scope, name, &attributes);
        kept.first().map(|(_, e)| e.trace_id_hex())
    };
    // The series' attributes as the layers record them; any other set would find nothing.
    let server = trace_of("grpc-server", "rpc.server.duration");
    let client = trace_of("grpc-client", "rpc.client.duration");
    assert_eq!(server, Some(format!("{server_trace:032x}")), "server");
    assert_eq!(client, Some(format!("{client_trace:032x}")), "client");
}
