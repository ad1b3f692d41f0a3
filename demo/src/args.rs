//! Command-line flags.

pub(crate) const USAGE: &str = "usage: otel-demo [--listen ADDR] [--api ADDR] [--duration SECS]

  --listen ADDR     where Prometheus scrapes metrics (default 127.0.0.1:9464,
                    or OTEL_EXPORTER_PROMETHEUS_HOST / OTEL_EXPORTER_PROMETHEUS_PORT)
  --api ADDR        where the demo's HTTP API listens (default 127.0.0.1:8080)
  --duration SECS   stop after SECS seconds, flushing metrics; without it, Ctrl-C stops

OTLP push: set OTEL_METRICS_EXPORTER=prometheus,otlp and OTEL_EXPORTER_OTLP_ENDPOINT.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Args {
    pub(crate) listen: Option<String>,
    pub(crate) api: String,
    pub(crate) duration: Option<u64>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Run(Args),
    Help,
}

impl Args {
    pub(crate) fn parse(mut words: impl Iterator<Item = String>) -> Result<Parsed, String> {
        let mut args = Args { listen: None, api: "127.0.0.1:8080".to_owned(), duration: None };
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
        assert_eq!(args, Args { listen: Some("127.0.0.1:0".into()), api: "127.0.0.1:8080".into(), duration: Some(5) });
    }

    #[test]
    fn bad_input_is_explained() {
        assert!(parse(&["--duration", "soon"]).unwrap_err().contains("whole number of seconds"));
        assert!(parse(&["--listen"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--bogus"]).unwrap_err().contains("unknown argument"));
        assert_eq!(parse(&["--help"]), Ok(Parsed::Help));
    }
}
