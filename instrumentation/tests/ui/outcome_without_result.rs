use otel_instrumentation::track_duration;

#[track_duration("request_duration", outcome)]
fn handler() -> u8 {
    0
}

fn main() {}
