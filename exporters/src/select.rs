//! Choosing exporters with `OTEL_METRICS_EXPORTER`.

use otel_core::{BuildError, Exporter, ExporterKind, Plug};

#[cfg(feature = "influx")]
use crate::InfluxExporter;
#[cfg(feature = "otlp")]
use crate::OtlpExporter;
#[cfg(feature = "prometheus")]
use crate::PrometheusExporter;
#[cfg(feature = "pushgateway")]
use crate::PushgatewayExporter;
#[cfg(feature = "textfile")]
use crate::TextfileExporter;

/// Attaches the exporters named by `OTEL_METRICS_EXPORTER` (`prometheus`, `otlp`, `textfile`, `pushgateway`, `influx`, `none`, or a
/// comma list); when the variable is unset, `prometheus`, because a pull endpoint needs no other
/// server (the OTel specification's default is `otlp`: set the variable to get it).
///
/// Exporters given with [`prometheus`](Self::prometheus) / [`otlp`](Self::otlp) are used when
/// selected, so their builder settings win over the environment.
#[derive(Debug)]
#[must_use]
pub struct FromEnv {
    default: Vec<ExporterKind>,
    #[cfg(feature = "prometheus")]
    prometheus: Option<PrometheusExporter>,
    #[cfg(feature = "otlp")]
    otlp: Option<OtlpExporter>,
    #[cfg(feature = "textfile")]
    textfile: Option<TextfileExporter>,
    #[cfg(feature = "pushgateway")]
    pushgateway: Option<PushgatewayExporter>,
    #[cfg(feature = "influx")]
    influx: Option<InfluxExporter>,
}

/// Exporters chosen by `OTEL_METRICS_EXPORTER`; see [`FromEnv`].
pub fn from_env() -> FromEnv {
    FromEnv {
        default: vec![ExporterKind::Prometheus],
        #[cfg(feature = "prometheus")]
        prometheus: None,
        #[cfg(feature = "otlp")]
        otlp: None,
        #[cfg(feature = "textfile")]
        textfile: None,
        #[cfg(feature = "pushgateway")]
        pushgateway: None,
        #[cfg(feature = "influx")]
        influx: None,
    }
}

impl FromEnv {
    /// What to attach when `OTEL_METRICS_EXPORTER` is unset.
    pub fn default_exporters(mut self, kinds: &[ExporterKind]) -> Self {
        self.default = kinds.to_vec();
        self
    }

    /// The Prometheus exporter to use if it is selected.
    #[cfg(feature = "prometheus")]
    pub fn prometheus(mut self, exporter: PrometheusExporter) -> Self {
        self.prometheus = Some(exporter);
        self
    }

    /// The OTLP exporter to use if it is selected.
    #[cfg(feature = "otlp")]
    pub fn otlp(mut self, exporter: OtlpExporter) -> Self {
        self.otlp = Some(exporter);
        self
    }

    /// The line-protocol exporter to use if it is selected.
    #[cfg(feature = "influx")]
    pub fn influx(mut self, exporter: InfluxExporter) -> Self {
        self.influx = Some(exporter);
        self
    }

    /// The Pushgateway exporter to use if it is selected.
    #[cfg(feature = "pushgateway")]
    pub fn pushgateway(mut self, exporter: PushgatewayExporter) -> Self {
        self.pushgateway = Some(exporter);
        self
    }

    /// The textfile exporter to use if it is selected.
    #[cfg(feature = "textfile")]
    pub fn textfile(mut self, exporter: TextfileExporter) -> Self {
        self.textfile = Some(exporter);
        self
    }
}

impl Exporter for FromEnv {
    fn name(&self) -> &'static str {
        "from-env"
    }

    fn attach(mut self: Box<Self>, plug: &mut Plug) -> Result<(), BuildError> {
        let kinds = plug.env().metrics_exporters()?.unwrap_or_else(|| self.default.clone());
        for kind in kinds {
            let exporter: Box<dyn Exporter> = match kind {
                #[cfg(feature = "prometheus")]
                ExporterKind::Prometheus => Box::new(self.prometheus.take().unwrap_or_default()),
                #[cfg(feature = "otlp")]
                ExporterKind::Otlp => Box::new(self.otlp.take().unwrap_or_default()),
                #[cfg(feature = "textfile")]
                ExporterKind::Textfile => Box::new(self.textfile.take().unwrap_or_default()),
                #[cfg(feature = "pushgateway")]
                ExporterKind::Pushgateway => Box::new(self.pushgateway.take().unwrap_or_default()),
                #[cfg(feature = "influx")]
                ExporterKind::Influx => Box::new(self.influx.take().unwrap_or_default()),
                #[allow(unreachable_patterns)]
                other => {
                    return Err(BuildError::Exporter {
                        exporter: "from-env",
                        reason: format!("OTEL_METRICS_EXPORTER selects {other:?}, whose cargo feature is not enabled"),
                    })
                }
            };
            plug.attach(exporter)?;
        }
        Ok(())
    }
}
