//! Every vector of the shared conformance file must pass.

use std::path::PathBuf;

use otel_exporters::prometheus::conformance;

#[test]
fn every_shared_naming_vector_passes() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/prometheus-naming.tsv");
    let tsv = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("the conformance vectors must be at {}: {e}", path.display()));
    let report = conformance::check(&tsv);
    let failures: Vec<String> = report.failures.iter().map(|f| format!("line {}: {} -> {:?}", f.line, f.row, f.got)).collect();
    assert!(failures.is_empty(), "{} passed, {} failed:\n{}", report.passed, failures.len(), failures.join("\n"));
    assert!(report.passed > 200, "only {} vectors ran", report.passed);
}
