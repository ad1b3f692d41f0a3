use otel_instrumentation::track_duration;

#[track_duration("request_duration")]
struct Request;

fn main() {}
