//! `http_middleware_overhead`: an axum handler served in process with and without the HTTP
//! metrics layer, same router, same requests.

use std::hint::black_box;

use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use otel_core::{Env, Telemetry};
use otel_instrumentation::http::HttpServerLayer;
use tower::ServiceExt;

use crate::report::{interleaved, Contender, Report};

pub(crate) fn run_all(report: &mut Report, quick: bool) {
    let (requests, rounds) = if quick { (20_000, 7) } else { (50_000, 21) };
    let telemetry = Telemetry::builder().env(Env::empty()).build().expect("pipeline");
    let plain = Router::new().route("/items/{id}", get(|| async { "item" }));
    let measured = plain.clone().layer(HttpServerLayer::new(&telemetry.meter("bench")));
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let serve = |router: Router| {
        let runtime = &runtime;
        move || {
            runtime.block_on(async {
                for i in 0..requests {
                    let request = Request::get(format!("/items/{}", i % 100)).body(Body::empty()).expect("request");
                    let response = router.clone().oneshot(request).await.expect("served");
                    // Drain the body, as a server would, so the layer sees its end.
                    black_box(axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body"));
                }
            });
        }
    };
    let mut contenders: Vec<Contender<'_>> = vec![("without-layer", Box::new(serve(plain))), ("otel-pipeline", Box::new(serve(measured)))];
    let results = interleaved(1, rounds, &mut contenders);
    let per_request =
        |name: &str| results.iter().find(|(n, _)| *n == name).map(|(_, d)| d.as_secs_f64() * 1e6 / requests as f64).unwrap_or(0.0);
    let (without, with) = (per_request("without-layer"), per_request("otel-pipeline"));
    report.add(
        "http_middleware_overhead",
        "µs/request",
        vec![("otel-pipeline", with - without), ("without-layer", without), ("with-layer", with)],
    );
}
