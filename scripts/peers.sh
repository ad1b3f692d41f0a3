#!/usr/bin/env bash
# Builds the peers users run from their Go modules, once per version, into a cache outside the clone:
#   - Prometheus 3 and promtool (module github.com/prometheus/prometheus, built inside the downloaded
#     module with -tags remove_all_sd: file and HTTP discovery only);
#   - the OpenTelemetry Collector distribution of tools/otelcol (one collector release).
# The cache is $OTEL_PIPELINE_PEERS, else ${XDG_CACHE_HOME:-$HOME/.cache}/otel-pipeline/peers; a warm run
# only checks it. bin/ there holds prometheus3, promtool3 and otelcol, what the tests start.
# Prints each peer's version on one line.
set -euo pipefail
cd "$(dirname "$0")/.."

prometheus_module=github.com/prometheus/prometheus
prometheus_version=v0.316.0 # Prometheus 3.16.0
cache=${OTEL_PIPELINE_PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/otel-pipeline/peers}

if ! command -v go >/dev/null 2>&1; then
  echo "scripts/peers.sh: Go is missing: the OpenTelemetry Collector and Prometheus 3 are built from Go modules;" >&2
  echo "install Go 1.26 or newer (with access to the Go module proxy) and run scripts/test.sh again" >&2
  exit 1
fi
mkdir -p "$cache/bin"

# Prometheus 3: keyed by its module version.
prom_dir="$cache/prometheus-$prometheus_version"
if [ ! -x "$prom_dir/prometheus" ] || [ ! -x "$prom_dir/promtool" ]; then
  echo "peers: building Prometheus $prometheus_version and promtool (a few minutes, once)"
  src=$(cd "$cache" && go mod download -json "$prometheus_module@$prometheus_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src" ] || { echo "scripts/peers.sh: go mod download $prometheus_module@$prometheus_version gave no directory" >&2; exit 1; }
  release=$(cat "$src/VERSION")
  ldflags="-X github.com/prometheus/common/version.Version=$release -X github.com/prometheus/common/version.Revision=$prometheus_version"
  mkdir -p "$prom_dir.tmp"
  for cmd in prometheus promtool; do
    (cd "$src" && GOWORK=off go build -trimpath -tags remove_all_sd -ldflags "$ldflags" -o "$prom_dir.tmp/$cmd" "./cmd/$cmd")
  done
  rm -rf "$prom_dir" && mv "$prom_dir.tmp" "$prom_dir"
fi
ln -sfn "$prom_dir/prometheus" "$cache/bin/prometheus3"
ln -sfn "$prom_dir/promtool" "$cache/bin/promtool3"

# The collector: keyed by the module's own files, so any change to its component list rebuilds it.
col_key=$(cat tools/otelcol/go.mod tools/otelcol/go.sum tools/otelcol/main.go | sha256sum | cut -c1-16)
col_dir="$cache/otelcol-$col_key"
if [ ! -x "$col_dir/otelcol" ]; then
  echo "peers: building the OpenTelemetry Collector of tools/otelcol (several minutes, once)"
  mkdir -p "$col_dir.tmp"
  (cd tools/otelcol && go build -trimpath -o "$col_dir.tmp/otelcol" .)
  rm -rf "$col_dir" && mv "$col_dir.tmp" "$col_dir"
  # Builds of earlier component lists are not used again.
  find "$cache" -maxdepth 1 -name 'otelcol-*' ! -name "otelcol-$col_key" -exec rm -rf {} +
fi
ln -sfn "$col_dir/otelcol" "$cache/bin/otelcol"

echo "peers: $("$cache/bin/prometheus3" --version 2>&1 | head -n 1); $("$cache/bin/promtool3" --version 2>&1 | head -n 1); $("$cache/bin/otelcol" --version 2>&1 | head -n 1) ($cache/bin)"
