use otel_instrumentation::track_duration;

#[track_duration("request_duration", buckets = 3)]
fn handler() {}

fn main() {}
