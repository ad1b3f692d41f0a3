//! The demo's scrape shows exemplars out of the box: Prometheus 2.42 with exemplar storage
//! answers `/api/v1/query_exemplars` for the request histogram with 32-hex-digit trace ids, each
//! in its bucket; with `OTEL_METRICS_EXEMPLAR_FILTER=always_off` it has none.

use std::time::Duration;

use otel_tests::{wait_for, ExampleRun, Prometheus};

fn demo(env: &[(&str, &str)]) -> ExampleRun {
    ExampleRun::start_with_env(
        env!("CARGO_BIN_EXE_otel-demo"),
        &["--listen", "127.0.0.1:0", "--api", "127.0.0.1:0", "--duration", "90"],
        env,
    )
}

fn exemplars(prometheus: &Prometheus) -> Vec<(f64, String, f64)> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let data = prometheus.api(&format!(
        "/api/v1/query_exemplars?query=http_server_request_duration_seconds_bucket&start={}&end={}",
        now - 600,
        now + 60
    ));
    let mut found = Vec::new();
    for series in data.as_array().into_iter().flatten() {
        let le: f64 = series["seriesLabels"]["le"].as_str().unwrap_or("0").replace("+Inf", "inf").parse().unwrap_or(0.0);
        for exemplar in series["exemplars"].as_array().into_iter().flatten() {
            let trace = exemplar["labels"]["trace_id"].as_str().unwrap_or_default().to_owned();
            let value: f64 = exemplar["value"].as_str().unwrap_or("NaN").parse().unwrap_or(f64::NAN);
            found.push((le, trace, value));
        }
    }
    found
}

#[test]
fn the_demo_scrape_carries_exemplars_and_always_off_turns_them_off() {
    let on = demo(&[]);
    let off = demo(&[("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")]);
    let with = Prometheus::start(&[&on.target()], &on.metrics_path(), &["--enable-feature=exemplar-storage"]);
    let without = Prometheus::start(&[&off.target()], &off.metrics_path(), &["--enable-feature=exemplar-storage"]);
    let kept = wait_for(Duration::from_secs(45), || {
        let kept = exemplars(&with);
        (kept.len() >= 3).then_some(kept)
    })
    .expect("Prometheus stored exemplars of the demo's request histogram");
    for (le, trace, value) in &kept {
        assert_eq!(trace.len(), 32, "{trace}");
        assert!(trace.chars().all(|c| c.is_ascii_hexdigit()) && trace != &"0".repeat(32), "{trace}");
        assert!(value <= le, "{value} in the bucket up to {le}");
    }
    let distinct: std::collections::BTreeSet<&String> = kept.iter().map(|(_, t, _)| t).collect();
    assert!(distinct.len() >= 2, "each request its own trace: {kept:?}");
    // The same time without exemplars: the scrapes happened (up), nothing stored.
    assert_eq!(without.value("up"), 1.0);
    assert!(exemplars(&without).is_empty());
    println!("{} exemplars stored from the demo, {} distinct traces; none with always_off", kept.len(), distinct.len());
}
