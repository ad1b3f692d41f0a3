//! A service's lifecycle: its state, restarts and uptime.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;
use otel_core::{MetricDef, Metrics};

use crate::qualified;

/// A service's state: exposed as 1 (active), 0 (inactive) or -1 (failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceState {
    /// Running.
    Active,
    /// Stopped on purpose.
    Inactive,
    /// Stopped by a failure.
    Failed,
}

impl ServiceState {
    /// The gauge value: 1, 0 or -1.
    pub fn value(self) -> f64 {
        match self {
            ServiceState::Active => 1.0,
            ServiceState::Inactive => 0.0,
            ServiceState::Failed => -1.0,
        }
    }

    /// The `state` label value: `active`, `inactive` or `failed`.
    pub fn label(self) -> &'static str {
        match self {
            ServiceState::Active => "active",
            ServiceState::Inactive => "inactive",
            ServiceState::Failed => "failed",
        }
    }
}

/// The metric names and label keys [`Lifecycle`] records under. The defaults are
/// `service.state`, `service.restarts` and `service.uptime` (s) with the label keys
/// `service_name` and `reason`, and no state label.
///
/// With a [`state_key`](Self::state_key) the state gauge carries the state as a label too, as
/// some systems document it (`service_state{service_name="api",state="failed"} -1`). A state
/// change then removes the previous state's series instead of leaving it at its last value or
/// setting it to 0: a 0 would read as "inactive" under the 1/0/-1 encoding, and a kept series
/// would say the service is still active. So at any time each service has exactly one state series,
/// and a sum or count over `state` never double-counts a service (Prometheus marks the removed
/// series stale at its next scrape).
#[derive(Debug, Clone)]
pub struct LifecycleNames {
    namespace: Option<String>,
    state: String,
    restarts: String,
    uptime: String,
    service_key: String,
    reason_key: String,
    state_key: Option<String>,
}

impl Default for LifecycleNames {
    fn default() -> Self {
        LifecycleNames {
            namespace: None,
            state: "service.state".into(),
            restarts: "service.restarts".into(),
            uptime: "service.uptime".into(),
            service_key: "service_name".into(),
            reason_key: "reason".into(),
            state_key: None,
        }
    }
}

impl LifecycleNames {
    /// Prefixes every metric name (`taskflows` makes `taskflows.service.state`).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_owned());
        self
    }

    /// The state gauge (default `service.state`).
    pub fn state(mut self, name: &str) -> Self {
        self.state = name.to_owned();
        self
    }

    /// The restart counter (default `service.restarts`).
    pub fn restarts(mut self, name: &str) -> Self {
        self.restarts = name.to_owned();
        self
    }

    /// The uptime gauge, in seconds (default `service.uptime`).
    pub fn uptime(mut self, name: &str) -> Self {
        self.uptime = name.to_owned();
        self
    }

    /// The label key naming the service (default `service_name`).
    pub fn service_key(mut self, key: &str) -> Self {
        self.service_key = key.to_owned();
        self
    }

    /// The label key of the restart reason (default `reason`).
    pub fn reason_key(mut self, key: &str) -> Self {
        self.reason_key = key.to_owned();
        self
    }

    /// Also label the state gauge with the state (`active`, `inactive`, `failed`) under `key`.
    pub fn state_key(mut self, key: &str) -> Self {
        self.state_key = Some(key.to_owned());
        self
    }

    fn resolved(self) -> Self {
        let ns = self.namespace;
        LifecycleNames {
            namespace: None,
            state: qualified(ns.as_deref(), &self.state),
            restarts: qualified(ns.as_deref(), &self.restarts),
            uptime: qualified(ns.as_deref(), &self.uptime),
            ..self
        }
    }

    /// The metric [`Lifecycle`] reports itself, not through the catalog (do not declare it):
    /// the uptime gauge, for references, rules and dashboards.
    pub fn reported_definitions(&self) -> Vec<MetricDef> {
        let n = self.clone().resolved();
        vec![MetricDef::gauge(&n.uptime)
            .unit("s")
            .description("Seconds since the service last became active")
            .labels([n.service_key.as_str()])]
    }

    /// The metrics to declare in the catalog (uptime is an observable gauge of its own).
    pub fn definitions(&self) -> Vec<MetricDef> {
        let n = self.clone().resolved();
        let state = MetricDef::gauge(&n.state).description("Service state (1=active, 0=inactive, -1=failed)");
        let state = match &n.state_key {
            Some(key) => state.labels([n.service_key.as_str(), key.as_str()]),
            None => state.labels([n.service_key.as_str()]),
        };
        vec![
            state,
            MetricDef::counter(&n.restarts).description("Service restart count").labels([n.service_key.as_str(), n.reason_key.as_str()]),
        ]
    }
}

/// Each service, its current state and when it last became active (`None` while not active).
type Services = Arc<Mutex<Vec<(String, ServiceState, Option<Instant>)>>>;

/// Service lifecycle: state gauge, restarts by reason, uptime since the last start, under the
/// names of a [`LifecycleNames`].
#[derive(Clone)]
pub struct Lifecycle {
    metrics: Metrics,
    names: Arc<LifecycleNames>,
    services: Services,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle").field("names", &self.names).finish_non_exhaustive()
    }
}

impl Lifecycle {
    /// The metrics to declare in the catalog for [`new`](Self::new).
    pub fn definitions() -> Vec<MetricDef> {
        LifecycleNames::default().definitions()
    }

    /// Records state and restarts through `metrics` under the default names; reports
    /// `service.uptime` (s) through `meter` whenever metrics are collected.
    pub fn new(metrics: &Metrics, meter: &Meter) -> Self {
        Self::with_names(metrics, meter, LifecycleNames::default())
    }

    /// Records through `metrics` (whose catalog holds `names.definitions()`) under `names`.
    pub fn with_names(metrics: &Metrics, meter: &Meter, names: LifecycleNames) -> Self {
        let names = names.resolved();
        let services = Services::default();
        let observed = services.clone();
        let service_key = opentelemetry::Key::new(names.service_key.clone());
        let _uptime = meter
            .f64_observable_gauge(names.uptime.clone())
            .with_unit("s")
            .with_description("Seconds since the service last became active")
            .with_callback(move |observer| {
                if let Ok(services) = observed.lock() {
                    for (service, _, since) in services.iter() {
                        let seconds = since.map_or(0.0, |s| s.elapsed().as_secs_f64());
                        observer.observe(seconds, &[KeyValue::new(service_key.clone(), service.clone())]);
                    }
                }
            })
            .build();
        Lifecycle { metrics: metrics.clone(), names: Arc::new(names), services }
    }

    fn state_labels(&self, service: &str, state: ServiceState) -> Vec<KeyValue> {
        let mut labels = vec![KeyValue::new(self.names.service_key.clone(), service.to_owned())];
        if let Some(key) = &self.names.state_key {
            labels.push(KeyValue::new(key.clone(), state.label()));
        }
        labels
    }

    /// The service changed state.
    pub fn set_state(&self, service: &str, state: ServiceState) {
        let Ok(mut services) = self.services.lock() else { return };
        let since = (state == ServiceState::Active).then(Instant::now);
        let previous = match services.iter_mut().find(|(s, _, _)| s == service) {
            Some(entry) => {
                let previous = entry.1;
                // A restart of an active service restarts its uptime too.
                *entry = (service.to_owned(), state, since);
                Some(previous)
            }
            None => {
                services.push((service.to_owned(), state, since));
                None
            }
        };
        // Under the lock, so concurrent changes of one service leave exactly one state series.
        if let Some(previous) = previous.filter(|p| *p != state && self.names.state_key.is_some()) {
            self.metrics.remove_series(&self.names.state, &self.state_labels(service, previous));
        }
        self.metrics.set_gauge(&self.names.state, state.value(), &self.state_labels(service, state));
    }

    /// The service restarted (`reason`: `manual`, `failure`, `dependency`, ...).
    pub fn restarted(&self, service: &str, reason: &str) {
        let labels = [
            KeyValue::new(self.names.service_key.clone(), service.to_owned()),
            KeyValue::new(self.names.reason_key.clone(), reason.to_owned()),
        ];
        self.metrics.increment_counter(&self.names.restarts, 1, &labels);
        self.set_state(service, ServiceState::Active);
    }
}
