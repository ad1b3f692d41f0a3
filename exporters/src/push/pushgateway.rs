//! The Pushgateway exporter: for batch jobs and cron tasks that end before a scrape would
//! reach them, the exposition pushed to a Prometheus Pushgateway under a grouping key.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use otel_core::export::{redact_urls, Exporter, Plug};
use otel_core::BuildError;

use crate::exposition::Scraper;
use crate::push::periodic::{self, Sink};
use crate::push::sender::{basic_authorization, Patience, RetryPolicy, TextPush, UrlParts};
use crate::source::Source;
use crate::{EncodeOptions, Format};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a push treats the metrics already in its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushMethod {
    /// `PUT`: the push replaces every metric of the group (the default).
    Replace,
    /// `POST`: the push replaces only the metrics it carries, keeping the group's others.
    Merge,
}

/// Pushes the pipeline's metrics to a Prometheus Pushgateway: at shutdown, and every interval
/// when one is set. Scrape the Pushgateway with `honor_labels: true`.
///
/// Settings come from the builder, else `OTEL_EXPORTER_PUSHGATEWAY_ENDPOINT` (the
/// Pushgateway's URL), `OTEL_EXPORTER_PUSHGATEWAY_JOB` (default `service.name`),
/// `OTEL_EXPORTER_PUSHGATEWAY_GROUPING` (`label=value,...`), `OTEL_EXPORTER_PUSHGATEWAY_INTERVAL`
/// (ms; unset pushes only at shutdown), `OTEL_EXPORTER_PUSHGATEWAY_METHOD` (`put` or `post`) and
/// `OTEL_EXPORTER_PUSHGATEWAY_DELETE_ON_SHUTDOWN` (`true` deletes the group after the last push).
/// A push answered with anything but success (a rejection such as inconsistent help or type, a
/// redirect, which is never followed) is reported with the answer and counted in
/// `otel_pipeline_export_failed_total{reason}`; the final push's failure is also what
/// [`Telemetry::shutdown`](otel_core::Telemetry::shutdown) returns. Grouping values of any
/// content land in their own group (base64url-encoded unless plain letters, digits, `-`, `_`).
/// Credentials are never printed.
#[derive(Clone)]
pub struct PushgatewayExporter {
    endpoint: Option<String>,
    job: Option<String>,
    grouping: Vec<(String, String)>,
    interval: Option<Duration>,
    method: Option<PushMethod>,
    delete_on_shutdown: Option<bool>,
    authorization: Option<String>,
    timeout: Option<Duration>,
    retry: RetryPolicy,
    options: EncodeOptions,
}

impl fmt::Debug for PushgatewayExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushgatewayExporter")
            .field("endpoint", &self.endpoint.as_deref().map(redact_urls))
            .field("job", &self.job)
            .field("grouping", &self.grouping)
            .field("interval", &self.interval)
            .field("method", &self.method)
            .field("authorization", &self.authorization.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Default for PushgatewayExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl PushgatewayExporter {
    /// An exporter configured from the environment (and defaults).
    pub fn new() -> Self {
        PushgatewayExporter {
            endpoint: None,
            job: None,
            grouping: Vec::new(),
            interval: None,
            method: None,
            delete_on_shutdown: None,
            authorization: None,
            timeout: None,
            retry: RetryPolicy::default(),
            // Pushgateway adds `job` and the grouping labels itself; the rest as for a scrape.
            options: EncodeOptions { target_info: false, ..EncodeOptions::default() },
        }
    }

    /// The Pushgateway's base URL, e.g. `http://pushgateway:9091`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The `job` of the grouping key (default: `service.name`).
    pub fn job(mut self, job: impl Into<String>) -> Self {
        self.job = Some(job.into());
        self
    }

    /// Another label of the grouping key, e.g. `("instance", hostname)`.
    pub fn grouping_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.grouping.push((name.into(), value.into()));
        self
    }

    /// Also push every `interval` (default: only at shutdown).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// `PUT` (replace the group, the default) or `POST` (merge into it).
    pub fn method(mut self, method: PushMethod) -> Self {
        self.method = Some(method);
        self
    }

    /// Delete the group after the last push at shutdown.
    pub fn delete_on_shutdown(mut self, on: bool) -> Self {
        self.delete_on_shutdown = Some(on);
        self
    }

    /// HTTP basic authentication.
    pub fn basic_auth(mut self, user: impl AsRef<str>, password: impl AsRef<str>) -> Self {
        self.authorization = Some(basic_authorization(&format!("{}:{}", user.as_ref(), password.as_ref())));
        self
    }

    /// A bearer token.
    pub fn bearer_token(mut self, token: impl AsRef<str>) -> Self {
        self.authorization = Some(format!("Bearer {}", token.as_ref()));
        self
    }

    /// The timeout of one request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How failed pushes are retried (default: 3 retries, exponential backoff from 100 ms).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Naming and labelling options, as for the pull endpoint.
    pub fn encode_options(mut self, options: EncodeOptions) -> Self {
        self.options = options;
        self
    }
}

/// A grouping-key segment (`/name/value`). A value is sent as it is only when it is made of
/// ASCII letters, digits, `-` and `_`; any other value (empty, `.`, `..`, with `/`, `%`, `?`,
/// `#`, spaces, non-ASCII, ...) goes base64url-encoded (`/name@base64/...`), the form
/// Pushgateway defines for this, so that no URL normaliser, proxy or router can rewrite it and
/// every value lands in its own group.
fn segment(name: &str, value: &str) -> String {
    use base64::Engine as _;
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        format!("/{name}/{value}")
    } else if value.is_empty() {
        format!("/{name}@base64/=")
    } else {
        format!("/{name}@base64/{}", base64::engine::general_purpose::URL_SAFE.encode(value))
    }
}

/// What a push needs once the pipeline is built.
struct Pusher {
    group: TextPush,
    method: Method,
    delete_on_shutdown: bool,
}

impl Sink for Pusher {
    const NAME: &'static str = "pushgateway";
    const COMPONENT: &'static str = "pushgateway_metric_exporter";

    fn deliver(&self, scraper: &Scraper) -> Result<(), (&'static str, String)> {
        let text = match scraper.scrape(Format::Text) {
            Ok(text) => text,
            Err(_) => return Ok(()),
        };
        self.group.send(self.method.clone(), Bytes::from(text))
    }

    fn finish(&self) -> Result<(), (&'static str, String)> {
        if self.delete_on_shutdown {
            self.group.send(Method::DELETE, Bytes::new())
        } else {
            Ok(())
        }
    }
}

/// A program's exporter keeps what it set; a configuration file's fills the rest.
#[cfg(feature = "config-file")]
impl crate::selection::from_file::OrFile for PushgatewayExporter {
    fn or_file(self, file: PushgatewayExporter) -> Self {
        PushgatewayExporter {
            endpoint: self.endpoint.or(file.endpoint),
            job: self.job.or(file.job),
            grouping: if self.grouping.is_empty() { file.grouping } else { self.grouping },
            interval: self.interval.or(file.interval),
            method: self.method.or(file.method),
            delete_on_shutdown: self.delete_on_shutdown.or(file.delete_on_shutdown),
            timeout: self.timeout.or(file.timeout),
            ..self
        }
    }
}

impl Exporter for PushgatewayExporter {
    fn name(&self) -> &'static str {
        "pushgateway"
    }

    fn attach(self: Box<Self>, plug: &mut Plug) -> Result<(), BuildError> {
        let env = plug.env();
        let invalid = |setting: &'static str, reason: String| BuildError::InvalidSetting { setting, reason };
        let (endpoint, source) =
            Source::pick(self.endpoint.clone(), "endpoint", env, &["OTEL_EXPORTER_PUSHGATEWAY_ENDPOINT"]).ok_or_else(|| {
                invalid(
                    "endpoint",
                    "the Pushgateway exporter needs a URL: set OTEL_EXPORTER_PUSHGATEWAY_ENDPOINT or call PushgatewayExporter::endpoint"
                        .into(),
                )
            })?;
        let parts = UrlParts::split(&endpoint).map_err(|why| {
            source.invalid(&redact_urls(&endpoint), &format!("an http:// or https:// URL such as http://pushgateway:9091 ({why})"))
        })?;
        let job = match self.job.clone().or_else(|| env.get("OTEL_EXPORTER_PUSHGATEWAY_JOB")) {
            Some(job) => job,
            None => plug.resource().get(&opentelemetry::Key::from_static_str("service.name")).map(|v| v.to_string()).unwrap_or_default(),
        };
        if job.is_empty() {
            return Err(invalid(
                "job",
                "the grouping key needs a job: set OTEL_EXPORTER_PUSHGATEWAY_JOB or PushgatewayExporter::job".into(),
            ));
        }
        const GROUPING: &str = "OTEL_EXPORTER_PUSHGATEWAY_GROUPING";
        let from_env = env.key_values(&[GROUPING], false)?.into_iter().map(|pair| (pair, Source::Env(GROUPING, env.get(GROUPING))));
        let from_builder = self.grouping.iter().map(|pair| (pair.clone(), Source::Builder("grouping_label")));
        let mut path = format!("{}/metrics", parts.path.trim_end_matches('/'));
        path.push_str(&segment("job", &job));
        for ((name, value), source) in from_env.chain(from_builder) {
            let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && !name.starts_with("__");
            if !valid || name == "job" {
                return Err(source.error(&format!(
                    "label=value pairs whose labels are Prometheus label names other than `job` (letters, digits, `_`, not starting with `__`): {name:?} is not one"
                )));
            }
            path.push_str(&segment(&name, &value));
        }
        let interval = match self.interval {
            Some(i) if i.is_zero() => return Err(invalid("interval", "must be longer than zero".into())),
            Some(i) => Some(i),
            None => env.millis(&["OTEL_EXPORTER_PUSHGATEWAY_INTERVAL"])?,
        };
        let method = match self.method {
            Some(PushMethod::Merge) => Method::POST,
            Some(PushMethod::Replace) => Method::PUT,
            None => match env.choice(&["OTEL_EXPORTER_PUSHGATEWAY_METHOD"], &["put", "post"])?.as_deref() {
                Some("post") => Method::POST,
                _ => Method::PUT,
            },
        };
        let delete_on_shutdown = match self.delete_on_shutdown {
            Some(on) => on,
            None => env.choice(&["OTEL_EXPORTER_PUSHGATEWAY_DELETE_ON_SHUTDOWN"], &["true", "false"])?.as_deref() == Some("true"),
        };
        // The endpoint as given (credentials included, for TextPush) with the group's path.
        let url = format!("{}{path}", &endpoint[..endpoint.len() - parts.path.len()]);
        let group = TextPush::new(
            "pushgateway",
            &url,
            &source,
            "text/plain; version=0.0.4",
            self.authorization.clone(),
            Patience { timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT), retry: self.retry.clone(), deadline: plug.shutdown_deadline() },
        )?;
        plug.announce(format!("pushgateway {}", group.shown));
        let pusher = Pusher { group, method, delete_on_shutdown };
        periodic::attach(plug, Scraper::new(self.options.clone()), Arc::new(pusher), interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_values_are_encoded_the_way_pushgateway_expects() {
        assert_eq!(segment("job", "nightly"), "/job/nightly");
        assert_eq!(segment("path", "/var/tmp"), "/path@base64/L3Zhci90bXA=");
        assert_eq!(segment("empty", ""), "/empty@base64/=");
        assert_eq!(segment("instance", "host:9 a"), "/instance@base64/aG9zdDo5IGE=");
        assert_eq!(segment("dot", "."), "/dot@base64/Lg==");
        assert_eq!(segment("dots", ".."), "/dots@base64/Li4=");
        assert_eq!(segment("job", "etl-nightly_2"), "/job/etl-nightly_2");
    }
}
