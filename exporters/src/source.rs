//! Where a setting came from, so that an error names what the user actually set: the builder
//! method, or the variable (with its value when that is no secret, URLs with credentials
//! redacted).

use otel_core::export::redact_urls;
use otel_core::{BuildError, Env};

/// The origin of one setting's value.
pub(crate) enum Source {
    /// A builder method (or the default), by the setting's name.
    Builder(&'static str),
    /// A variable, and its value as it may be shown (`None`: a secret, never shown).
    Env(&'static str, Option<String>),
}

impl Source {
    /// The builder's value, else the first of `vars` that is set, with where it came from.
    /// A variable's value is shown in errors with URL credentials redacted.
    #[cfg_attr(not(any(feature = "textfile", feature = "pushgateway", feature = "influx")), allow(dead_code))]
    pub(crate) fn pick(builder: Option<String>, setting: &'static str, env: &Env, vars: &[&'static str]) -> Option<(String, Source)> {
        match builder {
            Some(value) => Some((value, Source::Builder(setting))),
            None => env.first(vars).map(|(var, value)| {
                let shown = redact_urls(&value);
                (value, Source::Env(var, Some(shown)))
            }),
        }
    }

    /// An error saying that `shown` (the value as it may be printed) is not `expected`.
    #[cfg_attr(not(any(feature = "otlp", feature = "pushgateway", feature = "influx")), allow(dead_code))]
    pub(crate) fn invalid(&self, shown: &str, expected: &str) -> BuildError {
        match self {
            Source::Builder(setting) => BuildError::InvalidSetting { setting, reason: format!("{shown:?} is not {expected}") },
            Source::Env(var, _) => BuildError::invalid_env(var, shown, expected),
        }
    }

    /// An error about this setting; `what` (what is wrong, what is accepted) must hold no secret.
    pub(crate) fn error(&self, what: &str) -> BuildError {
        match self {
            Source::Builder(setting) => BuildError::InvalidSetting { setting, reason: what.to_owned() },
            Source::Env(var, value) => BuildError::invalid_env(var, value.as_deref().unwrap_or("<redacted>"), what),
        }
    }
}
