//! `resource.detection/development`: attributes of the host and the process.

use opentelemetry::{Array, KeyValue, StringValue, Value};

use super::model::{DetectionModel, DetectorModel};
use crate::Env;

/// The attributes the configured detectors find, filtered by `attributes`; `env` is the
/// environment the file was read with (for `OTEL_SERVICE_NAME`).
pub(super) fn detect(detection: &DetectionModel, env: &Env) -> Vec<KeyValue> {
    let mut found = Vec::new();
    for detector in detection.detectors.iter().flatten() {
        match detector {
            DetectorModel::Container(_) => found.extend(container_id().map(|id| KeyValue::new("container.id", id))),
            DetectorModel::Host(_) => {
                found.extend(host_name().map(|name| KeyValue::new("host.name", name)));
                found.push(KeyValue::new("host.arch", host_arch()));
                found.push(KeyValue::new("os.type", std::env::consts::OS));
            }
            DetectorModel::Process(_) => {
                found.push(KeyValue::new("process.pid", i64::from(std::process::id())));
                if let Ok(exe) = std::env::current_exe() {
                    if let Some(name) = exe.file_name() {
                        found.push(KeyValue::new("process.executable.name", name.to_string_lossy().into_owned()));
                    }
                    found.push(KeyValue::new("process.executable.path", exe.display().to_string()));
                }
                let args: Vec<StringValue> = std::env::args().map(StringValue::from).collect();
                found.push(KeyValue::new("process.command_args", Value::Array(Array::String(args))));
            }
            DetectorModel::Service(_) => {
                found.push(KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()));
                found.extend(env.get("OTEL_SERVICE_NAME").map(|name| KeyValue::new("service.name", name)));
            }
        }
    }
    let filter = detection.attributes.clone().unwrap_or_default();
    found.retain(|kv| filter.matches(kv.key.as_str()));
    found
}

fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").or_else(|_| std::fs::read_to_string("/etc/hostname")).ok()?;
    Some(name.trim().to_owned()).filter(|n| !n.is_empty())
}

/// The semantic conventions' `host.arch` words.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "x86",
        "arm" => "arm32",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        other => other,
    }
}

/// A 64-hex-digit id in the process' cgroup or mount paths (how container runtimes name them).
fn container_id() -> Option<String> {
    let sources = ["/proc/self/cgroup", "/proc/self/mountinfo"].map(std::fs::read_to_string);
    sources
        .into_iter()
        .flatten()
        .find_map(|text| text.split(|c: char| !c.is_ascii_hexdigit()).find(|word| word.len() == 64).map(str::to_owned))
}
