use otel_instrumentation::track_duration;

#[track_duration(labels(kind = "x"))]
fn unnamed() {}

fn main() {}
