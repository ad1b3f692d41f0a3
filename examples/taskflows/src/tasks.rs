//! The ADR's task decorator: every run is timed and counted by status, failures are counted by
//! error type, retries are counted, and a run over its timeout is given up as a `timeout`.

use std::time::Duration;

use example_support::{Dice, Ticker};
use otel_instrumentation::tasks::Jobs;
use tokio::sync::{watch, Mutex};

/// The tasks this manager runs.
pub(crate) const NAMES: [&str; 3] = ["backup_db", "send_digest", "reindex"];

/// `backup_db`'s failure.
#[derive(Debug)]
pub(crate) struct ConnectionError;

/// `send_digest`'s failure.
#[derive(Debug)]
pub(crate) struct ValidationError;

/// The task decorator's state: recording, and the randomness the simulated tasks use.
pub(crate) struct Tasks {
    jobs: Jobs,
    dice: Mutex<Dice>,
}

/// Attempts per run (one try plus retries) and the timeout of one attempt.
const ATTEMPTS: u32 = 3;
const TIMEOUT: Duration = Duration::from_millis(300);

impl Tasks {
    pub(crate) fn new(jobs: Jobs) -> Self {
        Tasks { jobs, dice: Mutex::new(Dice::new(0x7A5C ^ u64::from(std::process::id()))) }
    }

    /// Runs task `name` as the decorator does; `None` for an unknown task, else whether it
    /// eventually succeeded.
    pub(crate) async fn run_by_name(&self, name: &str) -> Option<bool> {
        let name = NAMES.iter().find(|n| **n == name)?;
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                self.jobs.retry(name);
            }
            if self.attempt(name).await {
                return Some(true);
            }
        }
        Some(false)
    }

    /// One attempt, recorded with the task's own error type (`ConnectionError`,
    /// `ValidationError`) or as a `timeout`.
    async fn attempt(&self, name: &'static str) -> bool {
        let (millis, fails) = self.plan(name).await;
        let work = tokio::time::sleep(Duration::from_millis(millis));
        let result = match name {
            "backup_db" => self
                .jobs
                .run_async_within(name, TIMEOUT, async move {
                    work.await;
                    if fails {
                        Err(ConnectionError)
                    } else {
                        Ok(())
                    }
                })
                .await
                .map(|r| r.is_ok()),
            _ => self
                .jobs
                .run_async_within(name, TIMEOUT, async move {
                    work.await;
                    if fails {
                        Err(ValidationError)
                    } else {
                        Ok(())
                    }
                })
                .await
                .map(|r| r.is_ok()),
        };
        result.unwrap_or(false)
    }

    /// How long the next attempt of `name` takes, and whether it fails.
    async fn plan(&self, name: &str) -> (u64, bool) {
        let mut dice = self.dice.lock().await;
        match name {
            "backup_db" if dice.one_in(3) => (20, true),
            "send_digest" if dice.one_in(8) => (10, true),
            "reindex" if dice.one_in(4) => (600, false),
            _ => (5 + dice.below(60), false),
        }
    }

    /// Runs every task now and then until told to stop.
    pub(crate) async fn run_schedule(self: std::sync::Arc<Self>, stop: watch::Receiver<bool>) {
        let mut ticks = Ticker::new(Duration::from_millis(150), stop);
        let mut next = 0;
        while ticks.next().await {
            let tasks = self.clone();
            tokio::spawn(async move { tasks.run_by_name(NAMES[next % NAMES.len()]).await });
            next += 1;
        }
    }
}
