//! What an apply tells its watchers as it runs ([`Event`] to an [`Observer`]) and
//! what it reports when it ends ([`ApplyReport`] of [`OpOutcome`]s).

use crate::stop::StopReason;
use glinfra_core::schedule::OpPhase;
use glinfra_core::ResourceId;
use serde::Serialize;

/// What happened to one operation, reported to an [`Observer`] as it happens.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The operation started.
    Started {
        /// Resource.
        resource: ResourceId,
        /// Phase.
        phase: OpPhase,
    },
    /// A call failed and will be retried after `delay_ms`.
    Retrying {
        /// Resource.
        resource: ResourceId,
        /// Phase.
        phase: OpPhase,
        /// The attempt that failed.
        attempt: u32,
        /// Delay before the next.
        delay_ms: u64,
        /// The error.
        error: String,
    },
    /// A resource carrying this stack's ownership tags was found and adopted instead of created.
    Adopted {
        /// Resource.
        resource: ResourceId,
    },
    /// The operation succeeded.
    Succeeded {
        /// Resource.
        resource: ResourceId,
        /// Phase.
        phase: OpPhase,
        /// How long it took.
        elapsed_ms: u64,
    },
    /// The operation failed for good.
    Failed {
        /// Resource.
        resource: ResourceId,
        /// Phase.
        phase: OpPhase,
        /// The error.
        error: String,
    },
    /// The operation was not run because one it waits for failed.
    Skipped {
        /// Resource.
        resource: ResourceId,
        /// Phase.
        phase: OpPhase,
        /// The resource whose failure blocked it.
        blocked_by: ResourceId,
    },
    /// The operation was not started because the run was stopped first (Ctrl-C,
    /// the run's time limit). Sent once the operations in flight have finished.
    Cancelled {
        /// Resource.
        resource: ResourceId,
        /// Phase.
        phase: OpPhase,
        /// Why the run stopped.
        #[serde(flatten)]
        reason: StopReason,
    },
}

/// Receives events during an apply (progress bars, logs, JSON lines).
pub trait Observer: Send + Sync {
    /// Called once per event, from any task.
    fn event(&self, event: &Event);
}

/// An observer that ignores everything.
pub struct NoObserver;

impl Observer for NoObserver {
    fn event(&self, _event: &Event) {}
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpStatus {
    /// It did what it was to do.
    Succeeded,
    /// It failed (the error is in the outcome's detail).
    Failed,
    /// It did not run because something it waits for failed.
    Skipped,
    /// It did not run because the run was stopped (Ctrl-C, its time limit) first.
    Cancelled,
}

impl std::fmt::Display for OpStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OpStatus::Succeeded => "succeeded",
            OpStatus::Failed => "failed",
            OpStatus::Skipped => "skipped",
            OpStatus::Cancelled => "cancelled",
        })
    }
}

/// The outcome of one operation.
#[derive(Clone, Debug, Serialize)]
pub struct OpOutcome {
    /// Resource.
    pub resource: ResourceId,
    /// Phase.
    pub phase: OpPhase,
    /// How it ended.
    pub status: OpStatus,
    /// The error or the blocking resource, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Calls attempted (retries included).
    pub attempts: u32,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// The summary of an apply.
#[derive(Clone, Debug, Serialize)]
pub struct ApplyReport {
    /// Every operation's outcome, in completion order.
    pub outcomes: Vec<OpOutcome>,
    /// Wall time of the whole apply.
    pub elapsed_ms: u64,
    /// The state serial after the apply.
    pub serial: u64,
    /// Why the run stopped before starting every operation, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<StopReason>,
}

impl ApplyReport {
    fn count(&self, status: OpStatus) -> usize {
        self.outcomes.iter().filter(|o| o.status == status).count()
    }
    /// Operations that succeeded.
    pub fn succeeded(&self) -> usize {
        self.count(OpStatus::Succeeded)
    }
    /// Operations that failed.
    pub fn failed(&self) -> usize {
        self.count(OpStatus::Failed)
    }
    /// Operations skipped because something they wait for failed.
    pub fn skipped(&self) -> usize {
        self.count(OpStatus::Skipped)
    }
    /// Operations not started because the run was stopped.
    pub fn cancelled(&self) -> usize {
        self.count(OpStatus::Cancelled)
    }
    /// True when every operation succeeded.
    pub fn is_success(&self) -> bool {
        self.failed() == 0 && self.skipped() == 0 && self.cancelled() == 0
    }
}
