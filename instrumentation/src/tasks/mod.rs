//! Task workers, scheduled jobs and service lifecycle. [`WorkerMetrics`] has the metric names and
//! labels the Conductor worker SDK documents (after Prometheus translation: `task_poll_total`,
//! `task_poll_time_seconds`, `task_execute_error_total`, ...); [`Jobs`] and [`Lifecycle`] record
//! `job_executions_total`, `service_restarts_total`, ... by default, and any other system's names
//! and label keys through [`JobNames`] and [`LifecycleNames`]:
//!
//! ```
//! use otel_instrumentation::tasks::{JobNames, Jobs};
//!
//! // taskflows_task_total{task_name,status}, taskflows_task_duration_seconds, ...
//! let names = JobNames::default()
//!     .namespace("taskflows")
//!     .executions("task")
//!     .duration("task.duration")
//!     .errors("task.errors")
//!     .retries("task.retries")
//!     .timeouts(None)
//!     .job_key("task_name");
//! let catalog = otel_core::Catalog::new().with(names.definitions())?;
//! let telemetry = otel_core::Telemetry::builder().env(otel_core::Env::empty()).catalog(catalog).build()?;
//! let jobs = Jobs::with_names(&telemetry.metrics(), names);
//! jobs.run("backup", || Ok::<_, std::io::Error>(()))?;
//! assert_eq!(telemetry.snapshot().value("taskflows.task", &[("task_name", "backup"), ("status", "success")]), Some(1.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each helper records through an [`otel_core::Metrics`] facade; declare its definitions in your
//! catalog.

mod jobs;
mod lifecycle;
mod worker;

pub use jobs::{JobNames, Jobs};
pub use lifecycle::{Lifecycle, LifecycleNames, ServiceState};
pub use worker::WorkerMetrics;
