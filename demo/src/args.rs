//! Command-line flags.

/// An HTTP API and a background worker, instrumented with otel-pipeline. Exporters come from
/// OTEL_METRICS_EXPORTER (default: a Prometheus endpoint); OTLP push, for example, with
/// OTEL_METRICS_EXPORTER=prometheus,otlp and OTEL_EXPORTER_OTLP_ENDPOINT.
#[derive(Debug, Clone, PartialEq, Eq, clap::Parser)]
#[command(name = "otel-demo", version)]
pub(crate) struct Args {
    /// Where Prometheus scrapes metrics (default 127.0.0.1:9464, or
    /// OTEL_EXPORTER_PROMETHEUS_HOST / OTEL_EXPORTER_PROMETHEUS_PORT).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Where the demo's HTTP API listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) api: String,
    /// Stop after SECS seconds, flushing metrics; without it, Ctrl-C stops.
    #[arg(long, value_name = "SECS")]
    pub(crate) duration: Option<u64>,
    #[command(flatten)]
    pub(crate) inject: Inject,
}

/// Faults to inject, so the generated alerts (collector-config/) can be seen firing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::Args)]
pub(crate) struct Inject {
    /// That share of API requests answer 500 and of gRPC calls UNAVAILABLE; of task polls,
    /// executions, result updates and API calls fail; of jobs fail or time out; the execution
    /// queue overflows and an undeclared metric is recorded.
    #[arg(long = "inject-errors", value_name = "PERCENT", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=100))]
    pub(crate) errors: u64,
    /// Every other API request takes MS milliseconds longer.
    #[arg(long = "inject-latency", value_name = "MS", default_value_t = 0)]
    pub(crate) latency_ms: u64,
    /// The worker restarts every half second and a second service fails.
    #[arg(long = "inject-restarts")]
    pub(crate) restarts: bool,
}

impl Inject {
    /// Whether the `n`th operation should fail: `errors` in every 100, spread evenly.
    pub(crate) fn fails(&self, n: u64) -> bool {
        (n % 100) < self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn parse(words: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("otel-demo").chain(words.iter().copied()))
    }

    #[test]
    fn flags_are_read_in_both_forms_and_defaults_apply() {
        let args = parse(&["--listen", "127.0.0.1:0", "--duration=5"]).expect("parse");
        assert_eq!(
            args,
            Args { listen: Some("127.0.0.1:0".into()), api: "127.0.0.1:8080".into(), duration: Some(5), inject: Inject::default() }
        );
        let args = parse(&["--inject-errors=30", "--inject-latency", "600", "--inject-restarts"]).expect("parse");
        assert_eq!(args.inject, Inject { errors: 30, latency_ms: 600, restarts: true });
        assert!((0..100).filter(|n| args.inject.fails(*n)).count() == 30);
    }

    #[test]
    fn mistakes_name_the_flag_and_suggest_the_closest() {
        let message = |words: &[&str]| parse(words).expect_err("a mistake").to_string();
        assert!(message(&["--duration", "soon"]).contains("--duration <SECS>"));
        assert!(message(&["--inject-errors", "120"]).contains("0..=100"));
        assert!(message(&["--listn", "x"]).contains("--listen"));
        assert_eq!(parse(&["--version"]).expect_err("version").kind(), clap::error::ErrorKind::DisplayVersion);
    }
}
