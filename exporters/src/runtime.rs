//! The exporters' own small tokio runtime.
//!
//! Network I/O never runs on the application's runtime: a scrape is served and an OTLP request
//! is sent on this runtime's single worker thread. That is what makes the pipeline behave the
//! same under a multi-thread runtime, a `current_thread` runtime, or no runtime at all (no
//! "no reactor running" panic, no shutdown that waits on a runtime it is blocking).

use std::sync::{Mutex, OnceLock};

use otel_core::BuildError;
use tokio::runtime::{Handle, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// The shared I/O runtime, started on first use.
pub(crate) fn handle(exporter: &'static str) -> Result<Handle, BuildError> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt.handle().clone());
    }
    let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt.handle().clone());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("otel-pipeline-io")
        .enable_all()
        .build()
        .map_err(|e| BuildError::Exporter { exporter, reason: format!("cannot start the I/O thread: {e}") })?;
    Ok(RUNTIME.get_or_init(|| rt).handle().clone())
}
