//! Errors of the two operation families: building the pipeline and running it.

use std::time::Duration;

/// Why [`TelemetryBuilder::build`](crate::TelemetryBuilder::build) (or an exporter attaching
/// itself) failed. Every message says what to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An environment variable holds a value the pipeline cannot use.
    #[error("{var}={value:?} is not valid: expected {expected}")]
    InvalidEnv {
        /// The variable's name.
        var: String,
        /// The value found (never a secret: header values are not echoed).
        value: String,
        /// What the variable accepts.
        expected: String,
    },
    /// A builder setting is not valid.
    #[error("invalid setting `{setting}`: {reason}")]
    InvalidSetting {
        /// The setting's name as it appears in the builder or the CLI.
        setting: &'static str,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A listener could not be opened.
    #[error("cannot listen on {addr} for {purpose}: {source}; choose a free address (port 0 picks one)")]
    Bind {
        /// The address that was asked for.
        addr: String,
        /// What the listener serves.
        purpose: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file (`OTEL_CONFIG_FILE`) cannot be used.
    #[error("{location}: {message}")]
    Config {
        /// The file, and the line when known.
        location: String,
        /// The key's path and what is wrong with it.
        message: String,
    },
    /// An exporter failed to attach for another reason.
    #[error("exporter `{exporter}` could not be set up: {reason}")]
    Exporter {
        /// The exporter's name.
        exporter: &'static str,
        /// What went wrong, and what to do.
        reason: String,
    },
}

impl BuildError {
    /// Shorthand for an [`BuildError::InvalidEnv`].
    pub fn invalid_env(var: &str, value: &str, expected: impl Into<String>) -> Self {
        BuildError::InvalidEnv { var: var.to_owned(), value: value.to_owned(), expected: expected.into() }
    }
}

/// Why flushing or shutting down the pipeline failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The pipeline was already shut down.
    #[error("the telemetry pipeline is already shut down")]
    AlreadyShutdown,
    /// The operation did not finish in time; data may still be in flight.
    #[error("timed out after {0:?}; raise it with TelemetryBuilder::shutdown_timeout, or check that the collector is reachable")]
    Timeout(Duration),
    /// An exporter or reader reported a failure.
    #[error("{0}")]
    Failed(String),
}

impl From<opentelemetry_sdk::error::OTelSdkError> for RuntimeError {
    fn from(e: opentelemetry_sdk::error::OTelSdkError) -> Self {
        use opentelemetry_sdk::error::OTelSdkError as E;
        match e {
            E::AlreadyShutdown => RuntimeError::AlreadyShutdown,
            E::Timeout(d) => RuntimeError::Timeout(d),
            other => RuntimeError::Failed(other.to_string()),
        }
    }
}
