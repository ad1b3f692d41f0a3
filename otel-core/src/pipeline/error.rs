//! Errors of the two operation families: building the pipeline and running it.

use std::fmt;
use std::time::Duration;

/// Writes an error as a person reads it: its message, then each cause the message does not
/// already name. Every error of the pipeline's crates is `Debug`-formatted this way, so
/// `fn main() -> Result<(), Box<dyn Error>>` prints `Error: <message>` rather than a struct.
#[doc(hidden)]
pub fn write_report(error: &dyn std::error::Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let message = error.to_string();
    f.write_str(&message)?;
    let mut source = error.source();
    let mut first = true;
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            if first {
                f.write_str("\n\nCaused by:")?;
                first = false;
            }
            write!(f, "\n    {text}")?;
        }
        source = cause.source();
    }
    Ok(())
}

/// `Debug` as [`write_report`] (what `main` prints for a returned error).
#[doc(hidden)]
#[macro_export]
macro_rules! debug_as_report {
    ($($error:ty),+ $(,)?) => {$(
        impl ::std::fmt::Debug for $error {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                $crate::export::write_report(self, f)
            }
        }
    )+};
}

debug_as_report!(BuildError, RuntimeError);

/// Why [`TelemetryBuilder::build`](crate::TelemetryBuilder::build) (or an exporter attaching
/// itself) failed. Every message says what to change.
#[derive(thiserror::Error)]
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
#[derive(thiserror::Error)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(thiserror::Error)]
    #[error("cannot load the catalog")]
    struct Outer(#[source] std::io::Error);
    debug_as_report!(Outer);

    #[test]
    fn debug_is_the_message_then_each_cause_it_does_not_name() {
        let outer = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(format!("{outer:?}"), "cannot load the catalog\n\nCaused by:\n    disk on fire");
        let bind = BuildError::Bind { addr: "127.0.0.1:1".into(), purpose: "metrics", source: std::io::Error::other("in use") };
        assert_eq!(format!("{bind:?}"), bind.to_string(), "a cause the message names is not repeated");
    }
}
