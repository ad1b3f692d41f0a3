//! Every vendored naming vector must pass (`scripts/test.sh` also runs a newer copy beside the
//! repository through the `naming_conformance` example when there is one).

use std::path::{Path, PathBuf};

use otel_exporters::conformance;

fn check(path: &Path, at_least: usize) {
    let tsv = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read the naming vectors at {}: {e}", path.display()));
    let report = conformance::check(&tsv);
    let failures: Vec<String> = report.failures.iter().map(|f| format!("line {}: {} -> {:?}", f.line, f.row, f.got)).collect();
    assert!(failures.is_empty(), "{}: {} passed, {} failed:\n{}", path.display(), report.passed, failures.len(), failures.join("\n"));
    assert!(report.passed >= at_least, "{}: only {} vectors ran", path.display(), report.passed);
}

#[test]
fn every_vendored_naming_vector_passes() {
    check(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/prometheus-naming.tsv"), 200);
}

/// Every case of `prometheus/otlptranslator` v1.0.0's test tables, all four strategies.
#[test]
fn every_otlptranslator_v1_vector_passes() {
    check(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/otlptranslator-v1.0.0.tsv"), 203);
}
