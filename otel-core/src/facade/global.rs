//! The process-wide facade, set by [`TelemetryBuilder::install`](crate::TelemetryBuilder::install),
//! for code that cannot be handed a [`Metrics`] (the attribute macros, libraries).
//!
//! Reading it takes no lock and no reference count: each thread keeps the facade it last saw
//! with the install generation it saw it at, and only a new install (a generation change) sends
//! it to the lock. Each install keeps its facade handle for the life of the process (a few
//! dozen bytes; the pipeline behind it still shuts down as usual), which is what lets a
//! `&'static Metrics` be handed out.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, RwLock};

use crate::Metrics;

static GLOBAL: RwLock<Option<&'static Metrics>> = RwLock::new(None);
/// Bumped by every install; 0 while none happened.
static GENERATION: AtomicU64 = AtomicU64::new(0);
static DISABLED: OnceLock<Metrics> = OnceLock::new();

thread_local! {
    /// The facade this thread last read, and the generation it belonged to.
    static SEEN: Cell<(u64, Option<&'static Metrics>)> = const { Cell::new((0, None)) };
}

pub(crate) fn set_metrics(metrics: Metrics) {
    let leaked: &'static Metrics = Box::leak(Box::new(metrics));
    if let Ok(mut global) = GLOBAL.write() {
        *global = Some(leaked);
        GENERATION.fetch_add(1, Ordering::Release);
    }
}

/// The installed facade; before any pipeline is installed, a disabled one that records nothing.
pub fn metrics() -> &'static Metrics {
    let generation = GENERATION.load(Ordering::Acquire);
    let seen = SEEN.try_with(Cell::get).unwrap_or((u64::MAX, None));
    if let (true, Some(metrics)) = (seen.0 == generation, seen.1) {
        return metrics;
    }
    let metrics = GLOBAL.read().ok().and_then(|g| *g).unwrap_or_else(disabled);
    // The generation read before the lock: a racing install bumps it again, so this thread
    // looks once more next time. Before any install the disabled facade is remembered too.
    let _ = SEEN.try_with(|s| s.set((generation, Some(metrics))));
    metrics
}

fn disabled() -> &'static Metrics {
    DISABLED.get_or_init(|| {
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
}
