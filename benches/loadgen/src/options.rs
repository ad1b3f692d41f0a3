//! Command-line options.

use std::path::PathBuf;
use std::time::Duration;

/// A fleet of simulated service instances, each a real otel-pipeline pushing OTLP and/or
/// serving a Prometheus endpoint, with the exact totals a store must hold. Progress and the
/// summary table go to stderr.
#[derive(Debug, clap::Parser)]
#[command(name = "otel-loadgen", version)]
pub(crate) struct Cli {
    /// Simulated service instances in this process.
    #[arg(long, value_name = "K", default_value_t = 10)]
    instances: usize,
    /// Number of the first instance, so several processes name theirs apart.
    #[arg(long, value_name = "N", default_value_t = 0)]
    first: usize,
    /// Series per instance.
    #[arg(long, value_name = "S", default_value_t = 100)]
    series: usize,
    /// Share of the series that are histograms.
    #[arg(long, value_name = "PCT", default_value_t = 10)]
    histograms: usize,
    /// Share of the series that are gauges; the rest are counters.
    #[arg(long, value_name = "PCT", default_value_t = 10)]
    gauges: usize,
    /// Distinct values of each label key, the series spread over 2 keys.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    cardinality: u64,
    /// Share of the gauge series replaced by new label values every tick.
    #[arg(long, value_name = "PCT", default_value_t = 0)]
    churn: usize,
    /// One tick, in ms: every counter series +1, every gauge set, every histogram recorded.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    interval: u64,
    /// Stop after N ticks.
    #[arg(long, value_name = "N", default_value_t = 10)]
    ticks: u64,
    /// How often each instance pushes OTLP, in ms.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    export_interval: u64,
    /// Push OTLP there (gRPC: http://host:4317; HTTP: the full /v1/metrics URL).
    #[arg(long, value_name = "URL")]
    otlp: Option<String>,
    /// The OTLP protocol.
    #[arg(long, value_name = "P", default_value = "grpc", value_parser = ["grpc", "http/protobuf"])]
    protocol: String,
    /// Compress OTLP requests.
    #[arg(long)]
    gzip: bool,
    /// Send OTLP through a counting relay in this process (bytes per export).
    #[arg(long)]
    count_bytes: bool,
    /// Serve a Prometheus endpoint per instance on a free loopback port.
    #[arg(long)]
    pull: bool,
    /// With --pull: write the endpoints as a Prometheus file_sd list (its directory is created).
    #[arg(long, value_name = "PATH")]
    targets_file: Option<PathBuf>,
    /// After the last tick, keep serving and pushing this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3)]
    linger: u64,
    /// Write the summary (expected totals, CPU, memory, bytes) as JSON.
    #[arg(long, value_name = "PATH")]
    summary: Option<PathBuf>,
}

impl Cli {
    /// The options, or what does not fit together.
    pub(crate) fn options(self) -> Result<Options, String> {
        let o = Options {
            instances: self.instances,
            first: self.first,
            series: self.series,
            histograms_pct: self.histograms,
            gauges_pct: self.gauges,
            cardinality: self.cardinality as usize,
            churn_pct: self.churn,
            interval: Duration::from_millis(self.interval),
            ticks: self.ticks,
            export_interval: Duration::from_millis(self.export_interval),
            otlp: self.otlp,
            http: self.protocol == "http/protobuf",
            gzip: self.gzip,
            count_bytes: self.count_bytes,
            pull: self.pull,
            targets_file: self.targets_file,
            linger: Duration::from_secs(self.linger),
            summary: self.summary,
        };
        if o.histograms_pct + o.gauges_pct > 100 || o.churn_pct > 100 {
            return Err("--histograms plus --gauges, and --churn, are percentages of at most 100".into());
        }
        if o.otlp.is_none() && !o.pull {
            return Err("nothing to do: give --otlp URL, --pull, or both".into());
        }
        if o.count_bytes && o.otlp.is_none() {
            return Err("--count-bytes counts OTLP traffic: give --otlp URL too".into());
        }
        Ok(o)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    use clap::Parser as _;

    fn parse(words: &[&str]) -> Result<Options, String> {
        Cli::try_parse_from(std::iter::once("otel-loadgen").chain(words.iter().copied())).map_err(|e| e.to_string())?.options()
    }

    #[test]
    fn options_are_read_and_nonsense_is_explained() {
        let o = parse(&["--instances=3", "--series", "50", "--pull", "--otlp", "http://127.0.0.1:4317", "--gzip"]).expect("parse");
        assert_eq!((o.instances, o.series, o.pull, o.gzip), (3, 50, true, true));
        assert!(parse(&["--instances", "3"]).unwrap_err().contains("nothing to do"));
        assert!(parse(&["--pull", "--histograms", "80", "--gauges", "30"]).unwrap_err().contains("at most 100"));
        assert!(parse(&["--pull", "--protocol", "udp"]).unwrap_err().contains("grpc"));
        assert!(parse(&["--pull", "--count-bytes"]).unwrap_err().contains("--otlp"));
        assert!(parse(&["--pull", "--ticks", "many"]).unwrap_err().contains("--ticks <N>"));
        assert!(parse(&["--pull", "--instanses", "2"]).unwrap_err().contains("--instances"));
    }
}
