use otel_instrumentation::track_errors;

#[track_errors]
fn cannot_fail() -> u32 {
    1
}

fn main() {}
