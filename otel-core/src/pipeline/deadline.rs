//! The shutdown deadline: the instant by which every exporter must have finished, shared by all
//! of a pipeline's exporters so that their shutdowns, run one after another, still end together.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

type Waiter = Box<dyn FnOnce(Instant) + Send>;

/// When the pipeline's shutdown must be over; unset until [`Telemetry::shutdown`](crate::Telemetry::shutdown)
/// (or drop) starts it. An exporter that waits on a peer (an in-flight request, a retry, the
/// final export) stops waiting at this instant and reports what it could not deliver.
#[derive(Clone, Default)]
pub struct Deadline {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    at: OnceLock<Instant>,
    waiters: Mutex<Vec<Waiter>>,
}

impl fmt::Debug for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Deadline").field(&self.inner.at.get()).finish()
    }
}

impl Deadline {
    /// The instant, once shutdown has started.
    pub fn get(&self) -> Option<Instant> {
        self.inner.at.get().copied()
    }

    /// Calls `waiter` with the instant when shutdown starts (at once if it has).
    pub fn on_set(&self, waiter: impl FnOnce(Instant) + Send + 'static) {
        let mut waiters = self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner());
        match self.get() {
            Some(at) => {
                drop(waiters);
                waiter(at);
            }
            None => waiters.push(Box::new(waiter)),
        }
    }

    /// Starts the deadline (the first call wins) and tells every waiter.
    pub(crate) fn set(&self, at: Instant) {
        let waiters = {
            let mut waiters = self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner());
            let _ = self.inner.at.set(at);
            std::mem::take(&mut *waiters)
        };
        let at = self.get().unwrap_or(at);
        for waiter in waiters {
            waiter(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn waiters_hear_the_first_deadline_once_whenever_they_register() {
        let deadline = Deadline::default();
        let heard = Arc::new(AtomicUsize::new(0));
        let h = heard.clone();
        deadline.on_set(move |_| {
            h.fetch_add(1, Ordering::SeqCst);
        });
        let first = Instant::now();
        deadline.set(first);
        deadline.set(first + std::time::Duration::from_secs(1));
        assert_eq!(deadline.get(), Some(first));
        let h = heard.clone();
        deadline.on_set(move |at| {
            assert_eq!(at, first);
            h.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(heard.load(Ordering::SeqCst), 2);
    }
}
