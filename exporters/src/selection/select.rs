//! Choosing exporters with `OTEL_METRICS_EXPORTER`.

use otel_core::export::{Exporter, Plug};
use otel_core::{BuildError, ExporterKind};

use crate::selection::given::Given;

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
///
/// When a configuration file is in use (`OTEL_CONFIG_FILE`, feature `config-file`), its
/// `meter_provider.readers` are attached instead, one exporter each; an exporter given here
/// serves the first reader of its kind, keeping the settings made on it and taking the rest
/// from the file.
#[derive(Debug)]
#[must_use]
pub struct FromEnv {
    default: Vec<ExporterKind>,
    #[cfg_attr(not(any(feature = "prometheus", feature = "otlp")), allow(dead_code))]
    given: Given,
}

/// Exporters chosen by `OTEL_METRICS_EXPORTER`, or by the configuration file; see [`FromEnv`].
pub fn from_env() -> FromEnv {
    FromEnv { default: vec![ExporterKind::Prometheus], given: Given::default() }
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
        self.given.prometheus = Some(exporter);
        self
    }

    /// The OTLP exporter to use if it is selected.
    #[cfg(feature = "otlp")]
    pub fn otlp(mut self, exporter: OtlpExporter) -> Self {
        self.given.otlp = Some(exporter);
        self
    }

    /// The line-protocol exporter to use if it is selected.
    #[cfg(feature = "influx")]
    pub fn influx(mut self, exporter: InfluxExporter) -> Self {
        self.given.influx = Some(exporter);
        self
    }

    /// The Pushgateway exporter to use if it is selected.
    #[cfg(feature = "pushgateway")]
    pub fn pushgateway(mut self, exporter: PushgatewayExporter) -> Self {
        self.given.pushgateway = Some(exporter);
        self
    }

    /// The textfile exporter to use if it is selected.
    #[cfg(feature = "textfile")]
    pub fn textfile(mut self, exporter: TextfileExporter) -> Self {
        self.given.textfile = Some(exporter);
        self
    }
}

impl Exporter for FromEnv {
    fn name(&self) -> &'static str {
        "from-env"
    }

    // With no exporter feature enabled every arm below is compiled out.
    #[cfg_attr(not(feature = "prometheus"), allow(unreachable_code, unused_variables, unused_mut))]
    fn attach(mut self: Box<Self>, plug: &mut Plug) -> Result<(), BuildError> {
        #[cfg(feature = "config-file")]
        if let Some(file) = plug.take_config_readers() {
            for (path, exporter) in crate::selection::from_file::exporters(&file, &mut self.given)? {
                // What the exporter refuses came from the file: say where.
                plug.attach(exporter).map_err(|e| file.error(&path, e.to_string()))?;
            }
            return Ok(());
        }
        let kinds = plug.env().metrics_exporters()?.unwrap_or_else(|| self.default.clone());
        for kind in kinds {
            let exporter: Box<dyn Exporter> = match kind {
                #[cfg(feature = "prometheus")]
                ExporterKind::Prometheus => Box::new(self.given.prometheus.take().unwrap_or_default()),
                #[cfg(feature = "otlp")]
                ExporterKind::Otlp => Box::new(self.given.otlp.take().unwrap_or_default()),
                #[cfg(feature = "textfile")]
                ExporterKind::Textfile => Box::new(self.given.textfile.take().unwrap_or_default()),
                #[cfg(feature = "pushgateway")]
                ExporterKind::Pushgateway => Box::new(self.given.pushgateway.take().unwrap_or_default()),
                #[cfg(feature = "influx")]
                ExporterKind::Influx => Box::new(self.given.influx.take().unwrap_or_default()),
                #[allow(unreachable_patterns)]
                other => {
                    return Err(BuildError::Exporter {
                        exporter: "from-env",
                        reason: format!(
                            "OTEL_METRICS_EXPORTER selects {0}, but otel-exporters is built without its feature `{0}`: \
                             add `features = [\"{0}\"]` to its dependency, or leave {0} out of the variable",
                            other.name()
                        ),
                    })
                }
            };
            plug.attach(exporter)?;
        }
        Ok(())
    }
}
