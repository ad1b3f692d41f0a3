//! The README's "Instrument an axum service" is this crate's `main.rs`, word for word; run, its
//! `/metrics` (on the service's own router) is scraped by Prometheus 2.42 with the HTTP layer's,
//! the counter's and the histogram's series.

use std::process::Command;

use otel_tests::{free_port, http_get, repo_root, scratch_dir, Process, Prometheus};

/// The first `rust` block after the heading `heading` in the README.
fn readme_block(heading: &str) -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let section = readme.split_once(heading).map(|(_, rest)| rest).expect("the README has the section");
    let start = section.find("```rust").expect("a rust block");
    let code = &section[start..];
    let code = &code[code.find('\n').expect("fence line") + 1..];
    code[..code.find("\n```").expect("closing fence")].to_owned() + "\n"
}

#[test]
fn the_readme_section_is_this_crate_word_for_word() {
    let main = std::fs::read_to_string(repo_root().join("examples/axum-service/src/main.rs")).expect("main.rs");
    let block = readme_block("## Instrument an axum service");
    let main_without_doc: String = main.lines().filter(|l| !l.starts_with("//!")).map(|l| format!("{l}\n")).collect();
    assert_eq!(block, main_without_doc, "README.md and examples/axum-service/src/main.rs differ: copy one onto the other");
}

#[test]
fn the_service_is_measured_and_scraped_on_its_own_router() {
    let address = format!("127.0.0.1:{}", free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_axum-service"));
    command.env("GREETER_ADDR", &address).env_remove("OTEL_METRICS_EXPORTER");
    let mut process = Process::start("axum-service", command, scratch_dir("axum-service").join("output.log"));
    process.wait_ready(&format!("http://{address}/metrics"));
    for name in ["Ada", "Grace", "Barbara"] {
        let (status, body) = http_get(&format!("http://{address}/hello/{name}")).expect("hello");
        assert_eq!((status, body), (200, format!("Hello, {name}!")));
    }
    let prometheus = Prometheus::start(&[&address], "/metrics", &[]);
    assert_eq!(prometheus.value(r#"sum(http_server_request_duration_seconds_count{http_route="/hello/{name}"})"#), 3.0);
    assert_eq!(prometheus.value(r#"greetings_total{language="en"}"#), 3.0);
    assert_eq!(prometheus.value(r#"greeting_name_length_bucket{le="4"}"#), 1.0); // "Ada"
                                                                                 // Scrapes are not measured as traffic.
    assert!(prometheus.query(r#"http_server_request_duration_seconds_count{http_route="/metrics"}"#).is_empty());
    assert_eq!(prometheus.value("up"), 1.0);
}
