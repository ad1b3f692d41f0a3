//! The demo's catalog, shared with the tools that render its rules, dashboards and metrics
//! reference (`otel-ops`), so they always describe what the demo records.

use otel_core::{Catalog, CatalogError, MetricDef};
use otel_instrumentation::recipes::{Cache, Database, GenAi};
use otel_instrumentation::tasks::{Jobs, Lifecycle, WorkerMetrics};

/// Everything the demo records, declared once.
pub fn catalog() -> Result<Catalog, CatalogError> {
    let own = [MetricDef::gauge("queue_size").description("Tasks waiting in the queue").labels(["queue_name"])];
    let all = WorkerMetrics::definitions()
        .into_iter()
        .chain(Jobs::definitions())
        .chain(Lifecycle::definitions())
        .chain(Cache::definitions())
        .chain(Database::definitions())
        .chain(GenAi::definitions())
        .chain(own);
    Catalog::new().with(all)
}
