//! The process-wide facade, set by [`TelemetryBuilder::install`](crate::TelemetryBuilder::install),
//! for code that cannot be handed a [`Metrics`] (the attribute macros, libraries).

use std::sync::{OnceLock, RwLock};

use crate::Metrics;

static GLOBAL: RwLock<Option<Metrics>> = RwLock::new(None);
static DISABLED: OnceLock<Metrics> = OnceLock::new();

pub(crate) fn set_metrics(metrics: Metrics) {
    if let Ok(mut global) = GLOBAL.write() {
        *global = Some(metrics);
    }
}

/// The installed facade; before any pipeline is installed, a disabled one that records nothing.
pub fn metrics() -> Metrics {
    if let Some(m) = GLOBAL.read().ok().and_then(|g| g.clone()) {
        return m;
    }
    DISABLED
        .get_or_init(|| {
            let scope = "otel-pipeline.disabled";
            let exemplars = crate::pipeline::exemplars::Exemplars::new(crate::ExemplarFilter::AlwaysOff);
            let m = Metrics::new(
                &opentelemetry::global::meter(scope),
                scope,
                &crate::Catalog::new(),
                crate::pipeline::health::Health::default(),
                &exemplars,
            );
            m.set_enabled(false);
            m
        })
        .clone()
}
