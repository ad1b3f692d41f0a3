//! The console exporter: the text exposition on standard output at every export, for trying a
//! configuration out (the configuration file's `console` exporter).

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use otel_core::export::{Exporter, Plug};
use otel_core::BuildError;

use crate::exposition::{EncodeOptions, Scraper};
use crate::push::periodic::{self, Sink};

/// Prints the pipeline's metrics (Prometheus text format) to standard output every interval
/// and at shutdown.
#[derive(Debug, Clone, Default)]
pub struct ConsoleExporter {
    interval: Option<Duration>,
    options: EncodeOptions,
}

impl ConsoleExporter {
    /// A console exporter at the pipeline's export interval.
    pub fn new() -> Self {
        Self::default()
    }

    /// How often to print (default: the pipeline's export interval).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// Naming and labelling options, as for the pull endpoint.
    pub fn encode_options(mut self, options: EncodeOptions) -> Self {
        self.options = options;
        self
    }
}

impl Exporter for ConsoleExporter {
    fn name(&self) -> &'static str {
        "console"
    }

    fn attach(self: Box<Self>, plug: &mut Plug) -> Result<(), BuildError> {
        let interval = self.interval.unwrap_or_else(|| plug.export_interval());
        periodic::attach(plug, Scraper::new(self.options.clone()), Arc::new(Stdout), Some(interval))
    }
}

struct Stdout;

impl Sink for Stdout {
    const NAME: &'static str = "console";
    const COMPONENT: &'static str = "console_metric_exporter";

    fn deliver(&self, scraper: &Scraper) -> Result<(), (&'static str, String)> {
        let text = scraper.scrape_text().map_err(|e| ("collect", e.to_string()))?;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|e| ("write", format!("cannot write to standard output: {e}")))
    }
}
