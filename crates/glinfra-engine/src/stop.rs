//! Stopping a run early: Ctrl-C, or the run's time limit (`--timeout`).
//!
//! A [`Stop`] is a handle shared by whoever may stop the run (a signal handler, a
//! timer) and the executor, which checks it before starting each operation. Once
//! stopped, the executor starts nothing more: operations in flight finish (each
//! within its own lifecycle timeout, when it has one, and without another retry),
//! their outcomes are journaled and the state saved as usual, and every operation
//! not started is reported [`Cancelled`](crate::OpStatus::Cancelled).
//!
//! Operations in flight are not cut off, for a time limit either: an AWS call
//! dropped halfway leaves a resource half made (an RDS instance creating, an EKS
//! cluster with no node group) that only the operation itself records and
//! finishes. A run that must end sooner bounds its operations with
//! `lifecycle.timeouts`; a second Ctrl-C ends the process at once, as `kill -9`
//! would, and the journal lets the next run resume what was in flight.

use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Why a run stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// Interrupted (Ctrl-C).
    Interrupted,
    /// The run's time limit was reached.
    TimedOut {
        /// The limit, in seconds.
        seconds: u64,
    },
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Interrupted => f.write_str("interrupted"),
            StopReason::TimedOut { seconds } => {
                write!(f, "the run's time limit of {seconds}s was reached")
            }
        }
    }
}

/// A handle that stops a run: clone it, give one to the executor (in
/// [`ApplyOptions`](crate::ApplyOptions)), call [`Stop::stop`] from anywhere.
#[derive(Clone, Debug)]
pub struct Stop {
    reason: Arc<watch::Sender<Option<StopReason>>>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop::new()
    }
}

impl Stop {
    /// A handle not stopped yet.
    pub fn new() -> Stop {
        Stop {
            reason: Arc::new(watch::Sender::new(None)),
        }
    }

    /// Stops the run for `reason`. The first reason given is the one kept.
    pub fn stop(&self, reason: StopReason) {
        self.reason.send_if_modified(|r| {
            let first = r.is_none();
            if first {
                *r = Some(reason);
            }
            first
        });
    }

    /// Stops the run `after` from now (on the current tokio runtime).
    pub fn stop_after(&self, after: Duration) {
        let stop = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            stop.stop(StopReason::TimedOut {
                seconds: after.as_secs(),
            });
        });
    }

    /// Why the run was stopped, if it was.
    pub fn reason(&self) -> Option<StopReason> {
        *self.reason.borrow()
    }

    /// Waits until the run is stopped, and says why.
    pub async fn stopped(&self) -> StopReason {
        let mut rx = self.reason.subscribe();
        let reason = *rx
            .wait_for(Option::is_some)
            .await
            .expect("the sender lives in self");
        reason.expect("waited for a reason")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_reason_is_kept_and_waiters_wake() {
        let stop = Stop::new();
        assert_eq!(stop.reason(), None);
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.stopped().await }
        });
        stop.stop(StopReason::Interrupted);
        stop.stop(StopReason::TimedOut { seconds: 1 });
        assert_eq!(waiter.await.unwrap(), StopReason::Interrupted);
        assert_eq!(stop.reason(), Some(StopReason::Interrupted));
        assert_eq!(stop.stopped().await, StopReason::Interrupted);
    }

    #[tokio::test]
    async fn stop_after_times_out() {
        let stop = Stop::new();
        stop.stop_after(Duration::from_millis(10));
        assert_eq!(stop.stopped().await, StopReason::TimedOut { seconds: 0 });
        assert_eq!(
            StopReason::TimedOut { seconds: 600 }.to_string(),
            "the run's time limit of 600s was reached"
        );
    }
}
