//! Exporters that deliver on their own schedule: to a Pushgateway or a line-protocol URL over
//! the shared HTTP `sender`, or to a file (`textfile`, line protocol) through `atomic_file`, or
//! to standard output (`console`). `periodic` is the reader and delivery thread they share;
//! `sender` is the HTTP client OTLP uses too.

#[cfg(any(feature = "textfile", feature = "influx"))]
mod atomic_file;
#[cfg(feature = "prometheus")]
pub(crate) mod console;
#[cfg(feature = "influx")]
pub(crate) mod influx;
#[cfg(feature = "prometheus")]
pub(crate) mod periodic;
#[cfg(feature = "pushgateway")]
pub(crate) mod pushgateway;
#[cfg(feature = "_push")]
pub(crate) mod sender;
#[cfg(feature = "textfile")]
pub(crate) mod textfile;
