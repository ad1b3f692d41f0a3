//! The exporters a program hands to [`FromEnv`](crate::FromEnv): what the environment's and the
//! configuration file's selections use in place of their own.

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

/// The exporters a program handed to [`FromEnv`](crate::FromEnv), each used when its kind is
/// selected.
#[derive(Debug, Default)]
pub(crate) struct Given {
    #[cfg(feature = "prometheus")]
    pub(crate) prometheus: Option<PrometheusExporter>,
    #[cfg(feature = "otlp")]
    pub(crate) otlp: Option<OtlpExporter>,
    #[cfg(feature = "textfile")]
    pub(crate) textfile: Option<TextfileExporter>,
    #[cfg(feature = "pushgateway")]
    pub(crate) pushgateway: Option<PushgatewayExporter>,
    #[cfg(feature = "influx")]
    pub(crate) influx: Option<InfluxExporter>,
}
