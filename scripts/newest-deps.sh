#!/usr/bin/env bash
# Builds the library crates against the newest semver-compatible versions of every dependency
# (what a fresh `cargo add` would resolve today), not only the lockfile's, with warnings denied:
# a deprecation in a newer release fails here before it warns in a user's build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
tar --exclude=./target --exclude=./.venv --exclude=./.git -cf - . | tar -xf - -C "$copy"
cd "$copy"
cargo update -q
echo "newest-deps: $(cargo tree -q -p otel-exporters --all-features -e normal --depth 1 | sed -n "s/^.* \\(tokio-rustls\\|hyper\\|opentelemetry_sdk\\|tokio\\) v/\\1 v/p" | sort -u | tr '\n' ' ')"
CARGO_TARGET_DIR="$root/target/newest-deps" RUSTFLAGS="-D warnings" \
  cargo check -q -p otel-core -p otel-exporters -p otel-instrumentation --all-features --all-targets
