//! The OpenTelemetry configuration file (`OTEL_CONFIG_FILE`, file format `1.0`), feature
//! `config-file`.
//!
//! The file is read once: YAML, then environment substitution in scalar values, then node
//! types, then the typed [`model::FileModel`] (unknown keys, wrong types and values out of range are
//! refused with the key's path and line), then the checks the schema states in words. What it
//! yields is the same settings the builder and the environment give: the resource and the views
//! are applied by [`TelemetryBuilder`](crate::TelemetryBuilder), the readers by
//! `otel_exporters::from_env()`. While a file is in use, other `OTEL_*` variables are read only
//! through its `${...}` references.
//!
//! Without feature `config-file` this module is empty: naming a file is then an error that
//! says which feature to enable. [`model`] holds the file's typed form, for exporters that read
//! their own reader's settings.

pub(crate) mod env;
pub(crate) mod source;

#[cfg(feature = "config-file")]
mod detect;
#[cfg(feature = "config-file")]
mod file;
#[cfg(feature = "config-file")]
pub mod model;
#[cfg(feature = "config-file")]
mod substitute;
#[cfg(feature = "config-file")]
mod views;
#[cfg(feature = "config-file")]
mod yaml;

#[cfg(feature = "config-file")]
pub use file::{key_value_list, ConfigFile, CONFIG_FILE_VAR};
#[cfg(feature = "config-file")]
pub(crate) use views::FileViews;
