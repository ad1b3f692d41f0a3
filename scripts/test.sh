#!/usr/bin/env bash
# Runs the whole test suite against real components, installing what is missing first:
# Debian packages (Prometheus + promtool, node_exporter, Pushgateway and VictoriaMetrics for those exporters,
# Alertmanager for the generated alerts, nginx as
# the TLS terminator in front of the collector, openssl for test certificates) and a Python venv in
# .venv with the rotel OTLP collector and prometheus_client; then Prometheus 3 and the OpenTelemetry
# Collector from Go modules (scripts/peers.sh; needs Go).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v prometheus-node-exporter >/dev/null 2>&1 || missing+=(prometheus-node-exporter)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! compgen -G ".venv/lib/python*/site-packages/rotel/rotel-agent" >/dev/null || ! .venv/bin/python -c "import prometheus_client" 2>/dev/null; then
  echo "test.sh: installing rotel and prometheus_client into .venv"
  .venv/bin/pip install -q --disable-pip-version-check rotel prometheus_client
fi

# Prometheus 3 + promtool and the OpenTelemetry Collector, built from Go modules into a cache outside
# the clone (seconds when warm).
scripts/peers.sh

for vectors in exporters/tests/data/prometheus-naming.tsv exporters/tests/data/otlptranslator-v1.0.0.tsv; do
  echo "test.sh: naming conformance ($vectors)"
  cargo run -q -p otel-exporters --example naming_conformance -- "$vectors" | tail -n 1
done
shared=../shared/conformance/prometheus-naming.tsv
if [ -f "$shared" ]; then
  echo "test.sh: naming conformance ($shared)"
  cargo run -q -p otel-exporters --example naming_conformance -- "$shared" | tail -n 1
fi

echo "test.sh: each exporter feature builds on its own"
for feature in prometheus textfile otlp pushgateway influx axum prometheus-tls prometheus,config-file otlp,config-file; do
  cargo check -q -p otel-exporters --no-default-features --features "$feature"
done
cargo check -q -p otel-core --no-default-features

echo "test.sh: each library crate packages and builds from its package alone (default features)"
# Cargo keeps the packages it verifies extracted under $CARGO_HOME/registry/src, by name and
# version only: an earlier run's extraction would be built instead of this tree's.
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
for crate in otel-core otel-exporters otel-instrumentation otel-macros; do
  rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$crate-$version"
done
cargo package -q -p otel-core -p otel-exporters -p otel-instrumentation -p otel-macros --allow-dirty

echo "test.sh: the library crates against the newest semver-compatible dependencies, warnings denied"
scripts/newest-deps.sh

echo "test.sh: cargo doc with warnings denied"
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps --workspace --all-features

echo "test.sh: cargo fmt --check, cargo clippy -D warnings"
cargo fmt --all -- --check
cargo clippy -q --workspace --all-targets -- -D warnings

cargo test --workspace --no-fail-fast "$@"
