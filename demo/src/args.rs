//! Command-line flags.

pub(crate) const USAGE: &str = "usage: otel-demo [--listen ADDR] [--api ADDR] [--duration SECS] [--inject-errors PERCENT]
                 [--inject-latency MS] [--inject-restarts]

  --listen ADDR            where Prometheus scrapes metrics (default 127.0.0.1:9464,
                           or OTEL_EXPORTER_PROMETHEUS_HOST / OTEL_EXPORTER_PROMETHEUS_PORT)
  --api ADDR               where the demo's HTTP API listens (default 127.0.0.1:8080)
  --duration SECS          stop after SECS seconds, flushing metrics; without it, Ctrl-C stops

Misbehaving on purpose, to see the generated alerts fire (collector-config/):
  --inject-errors PERCENT  that share of API requests answer 500 and of gRPC calls UNAVAILABLE;
                           of task polls, executions, result updates and API calls fail; of
                           jobs fail or time out; the execution queue overflows and an
                           undeclared metric is recorded
  --inject-latency MS      every other API request takes MS milliseconds longer
  --inject-restarts        the worker restarts every half second and a second service fails

OTLP push: set OTEL_METRICS_EXPORTER=prometheus,otlp and OTEL_EXPORTER_OTLP_ENDPOINT.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Args {
    pub(crate) listen: Option<String>,
    pub(crate) api: String,
    pub(crate) duration: Option<u64>,
    pub(crate) inject: Inject,
}

/// Faults to inject, so alerts can be seen firing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Inject {
    /// Percent of operations that fail (0 = none).
    pub(crate) errors: u64,
    /// Extra latency of every API request, in milliseconds.
    pub(crate) latency_ms: u64,
    /// Restart the worker every half second; a second service stays failed.
    pub(crate) restarts: bool,
}

impl Inject {
    /// Whether the `n`th operation should fail: `errors` in every 100, spread evenly.
    pub(crate) fn fails(&self, n: u64) -> bool {
        (n % 100) < self.errors
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Run(Args),
    Help,
}

impl Args {
    pub(crate) fn parse(mut words: impl Iterator<Item = String>) -> Result<Parsed, String> {
        let mut args = Args { listen: None, api: "127.0.0.1:8080".to_owned(), duration: None, inject: Inject::default() };
        let number = |flag: &str, v: String| v.parse::<u64>().map_err(|_| format!("{flag} {v:?}: expected a whole number"));
        while let Some(flag) = words.next() {
            let mut value = || words.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--listen" => args.listen = Some(value()?),
                "--api" => args.api = value()?,
                "--duration" => {
                    let v = value()?;
                    let secs = v.parse().map_err(|_| format!("--duration {v:?}: expected a whole number of seconds"))?;
                    args.duration = Some(secs);
                }
                "--inject-errors" => {
                    let percent = number("--inject-errors", value()?)?;
                    if percent > 100 {
                        return Err(format!("--inject-errors {percent}: a percentage, 0 to 100"));
                    }
                    args.inject.errors = percent;
                }
                "--inject-latency" => args.inject.latency_ms = number("--inject-latency", value()?)?,
                "--inject-restarts" => args.inject.restarts = true,
                "-h" | "--help" => return Ok(Parsed::Help),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(Parsed::Run(args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<Parsed, String> {
        Args::parse(words.iter().map(|w| w.to_string()))
    }

    #[test]
    fn flags_are_read_and_defaults_apply() {
        let Ok(Parsed::Run(args)) = parse(&["--listen", "127.0.0.1:0", "--duration", "5"]) else { panic!("parse failed") };
        assert_eq!(
            args,
            Args { listen: Some("127.0.0.1:0".into()), api: "127.0.0.1:8080".into(), duration: Some(5), inject: Inject::default() }
        );
        let Ok(Parsed::Run(args)) = parse(&["--inject-errors", "30", "--inject-latency", "600", "--inject-restarts"]) else {
            panic!("parse failed")
        };
        assert_eq!(args.inject, Inject { errors: 30, latency_ms: 600, restarts: true });
        assert!((0..100).filter(|n| args.inject.fails(*n)).count() == 30);
    }

    #[test]
    fn bad_input_is_explained() {
        assert!(parse(&["--duration", "soon"]).unwrap_err().contains("whole number of seconds"));
        assert!(parse(&["--listen"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--bogus"]).unwrap_err().contains("unknown argument"));
        assert!(parse(&["--inject-errors", "120"]).unwrap_err().contains("0 to 100"));
        assert!(parse(&["--inject-latency", "slow"]).unwrap_err().contains("whole number"));
        assert_eq!(parse(&["--help"]), Ok(Parsed::Help));
    }
}
