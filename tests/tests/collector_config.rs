//! The shipped configuration files are valid for the real tools.

use std::process::Command;

use otel_tests::{program, repo_root};

#[test]
fn shipped_prometheus_configs_pass_promtool() {
    let dir = repo_root().join("collector-config/prometheus");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("collector-config/prometheus exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "yml") {
            let out = Command::new(program("promtool")).args(["check", "config"]).arg(&path).output().expect("run promtool");
            assert!(
                out.status.success(),
                "{}: {}{}",
                path.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no config in {}", dir.display());
}
