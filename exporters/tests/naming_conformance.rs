//! Every naming vector must pass: the vendored copy always, and a newer shared copy beside the
//! repository when there is one.

use std::path::{Path, PathBuf};

use otel_exporters::conformance;

fn check(path: &Path) {
    let tsv = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read the naming vectors at {}: {e}", path.display()));
    let report = conformance::check(&tsv);
    let failures: Vec<String> = report.failures.iter().map(|f| format!("line {}: {} -> {:?}", f.line, f.row, f.got)).collect();
    assert!(failures.is_empty(), "{}: {} passed, {} failed:\n{}", path.display(), report.passed, failures.len(), failures.join("\n"));
    assert!(report.passed > 200, "{}: only {} vectors ran", path.display(), report.passed);
}

#[test]
fn every_vendored_naming_vector_passes() {
    check(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/prometheus-naming.tsv"));
}

#[test]
fn every_shared_naming_vector_passes_when_present() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/prometheus-naming.tsv");
    if shared.is_file() {
        check(&shared);
    }
}
