//! Command-line options.

use std::path::PathBuf;
use std::time::Duration;

pub(crate) const USAGE: &str = "usage: otel-loadgen [options]

  --instances K        simulated service instances in this process (default 10)
  --first N            number of the first instance, so several processes name theirs apart (default 0)
  --series S           series per instance (default 100)
  --histograms PCT     share of the series that are histograms (default 10)
  --gauges PCT         share of the series that are gauges (default 10); the rest are counters
  --cardinality N      distinct values of each label key, the series spread over 2 keys (default 100)
  --churn PCT          share of the gauge series replaced by new label values every tick (default 0)
  --interval MS        one tick: every counter series +1, every gauge set, every histogram recorded (default 1000)
  --ticks N            stop after N ticks (default 10)
  --export-interval MS how often each instance pushes OTLP (default 1000)
  --otlp URL           push OTLP there (gRPC: http://host:4317; HTTP: the full /v1/metrics URL)
  --protocol P         grpc or http/protobuf (default grpc)
  --gzip               compress OTLP requests
  --count-bytes        send OTLP through a counting relay in this process (bytes per export)
  --pull               serve a Prometheus endpoint per instance on a free loopback port
  --targets-file PATH  with --pull: write the endpoints as a Prometheus file_sd list
  --linger SECS        after the last tick, keep serving and pushing this long (default 3)
  --summary PATH       write the summary (expected totals, CPU, memory, bytes) as JSON

Progress goes to stderr; the summary table at the end too.";

/// What to simulate.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) instances: usize,
    pub(crate) first: usize,
    pub(crate) series: usize,
    pub(crate) histograms_pct: usize,
    pub(crate) gauges_pct: usize,
    pub(crate) cardinality: usize,
    pub(crate) churn_pct: usize,
    pub(crate) interval: Duration,
    pub(crate) ticks: u64,
    pub(crate) export_interval: Duration,
    pub(crate) otlp: Option<String>,
    pub(crate) http: bool,
    pub(crate) gzip: bool,
    pub(crate) count_bytes: bool,
    pub(crate) pull: bool,
    pub(crate) targets_file: Option<PathBuf>,
    pub(crate) linger: Duration,
    pub(crate) summary: Option<PathBuf>,
}

impl Options {
    /// `Ok(None)` for `--help`.
    pub(crate) fn parse(mut words: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
        let mut o = Options {
            instances: 10,
            first: 0,
            series: 100,
            histograms_pct: 10,
            gauges_pct: 10,
            cardinality: 100,
            churn_pct: 0,
            interval: Duration::from_millis(1000),
            ticks: 10,
            export_interval: Duration::from_millis(1000),
            otlp: None,
            http: false,
            gzip: false,
            count_bytes: false,
            pull: false,
            targets_file: None,
            linger: Duration::from_secs(3),
            summary: None,
        };
        while let Some(flag) = words.next() {
            let mut value = || words.next().ok_or_else(|| format!("{flag} needs a value"));
            let number = |v: String| v.parse::<u64>().map_err(|_| format!("{flag} {v:?}: expected a whole number"));
            match flag.as_str() {
                "--instances" => o.instances = number(value()?)? as usize,
                "--first" => o.first = number(value()?)? as usize,
                "--series" => o.series = number(value()?)? as usize,
                "--histograms" => o.histograms_pct = number(value()?)? as usize,
                "--gauges" => o.gauges_pct = number(value()?)? as usize,
                "--cardinality" => o.cardinality = number(value()?)?.max(1) as usize,
                "--churn" => o.churn_pct = number(value()?)? as usize,
                "--interval" => o.interval = Duration::from_millis(number(value()?)?.max(1)),
                "--ticks" => o.ticks = number(value()?)?,
                "--export-interval" => o.export_interval = Duration::from_millis(number(value()?)?.max(1)),
                "--otlp" => o.otlp = Some(value()?),
                "--protocol" => {
                    o.http = match value()?.as_str() {
                        "grpc" => false,
                        "http/protobuf" => true,
                        other => return Err(format!("--protocol {other:?}: grpc or http/protobuf")),
                    }
                }
                "--gzip" => o.gzip = true,
                "--count-bytes" => o.count_bytes = true,
                "--pull" => o.pull = true,
                "--targets-file" => o.targets_file = Some(PathBuf::from(value()?)),
                "--linger" => o.linger = Duration::from_secs(number(value()?)?),
                "--summary" => o.summary = Some(PathBuf::from(value()?)),
                "-h" | "--help" => return Ok(None),
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        if o.histograms_pct + o.gauges_pct > 100 || o.churn_pct > 100 {
            return Err("--histograms plus --gauges, and --churn, are percentages of at most 100".into());
        }
        if o.otlp.is_none() && !o.pull {
            return Err("nothing to do: give --otlp URL, --pull, or both".into());
        }
        if o.count_bytes && o.otlp.is_none() {
            return Err("--count-bytes counts OTLP traffic: give --otlp URL too".into());
        }
        Ok(Some(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<Option<Options>, String> {
        Options::parse(words.iter().map(|w| w.to_string()))
    }

    #[test]
    fn options_are_read_and_nonsense_is_explained() {
        let o = parse(&["--instances", "3", "--series", "50", "--pull", "--otlp", "http://127.0.0.1:4317", "--gzip"]).unwrap().unwrap();
        assert_eq!((o.instances, o.series, o.pull, o.gzip), (3, 50, true, true));
        assert!(parse(&["--instances", "3"]).unwrap_err().contains("nothing to do"));
        assert!(parse(&["--pull", "--histograms", "80", "--gauges", "30"]).unwrap_err().contains("at most 100"));
        assert!(parse(&["--pull", "--protocol", "udp"]).unwrap_err().contains("grpc or http/protobuf"));
        assert!(parse(&["--pull", "--count-bytes"]).unwrap_err().contains("--otlp"));
        assert!(parse(&["--pull", "--ticks", "many"]).unwrap_err().contains("whole number"));
        assert!(parse(&["--help"]).unwrap().is_none());
    }
}
