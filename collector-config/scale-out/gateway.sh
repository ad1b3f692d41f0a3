#!/bin/sh
# The push topology's gateway tier: rotel takes every instance's OTLP and forwards it, batched and
# retried, to the next hop (here another rotel that records what it receives; in production, a
# store that takes OTLP). Tested in benches/loadgen/tests/topologies.rs (ports replaced).
exec rotel-agent start \
  --otlp-grpc-endpoint 127.0.0.1:14317 \
  --otlp-http-endpoint 127.0.0.1:14318 \
  --exporter otlp \
  --otlp-exporter-endpoint http://127.0.0.1:24317 \
  --otlp-exporter-protocol grpc
