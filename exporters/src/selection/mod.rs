//! Which exporters a program gets: `select` reads `OTEL_METRICS_EXPORTER`, `from_file` the
//! configuration file's readers, and `given` holds the exporters the program handed over.

#[cfg(feature = "config-file")]
pub(crate) mod from_file;
pub(crate) mod given;
pub(crate) mod select;
