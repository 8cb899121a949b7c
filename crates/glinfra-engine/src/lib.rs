//! glinfra's engine: runs a plan concurrently against a [`Provider`], journaling
//! every mutating call into a locked state backend (a local directory, or an object
//! store such as S3 with conditional writes).

#![warn(missing_docs)]

pub mod backend;
pub mod batch;
pub mod executor;
/// The in-memory fake cloud, for tests (feature `test-util`).
#[cfg(any(test, feature = "test-util"))]
pub mod fake;
pub mod journal;
mod operation;
pub mod pace;
pub mod provider;
pub mod refresh;
pub mod report;
#[cfg(any(test, feature = "test-util"))]
pub mod sim;
pub mod stop;
pub mod store;
pub mod timeline;
pub mod timing;
pub mod token;
pub mod wait;

pub use backend::{
    Backend, LeaseConfig, LockEvent, LockInfo, ObjectBackend, StackLock, StackRead, StoreError,
};
pub use executor::{
    apply, ApplyError, ApplyOptions, ApplyReport, Event, NoObserver, Observer, OpOutcome, OpStatus,
    RetryPolicy, Scheduler,
};
pub use pace::Pace;
pub use provider::{ErrorClass, Outputs, Provider, ProviderError, ResolvedResource};
pub use refresh::{refresh, Program, RefreshError, RefreshOptions, RefreshStats};
pub use stop::{Stop, StopReason};
pub use store::{LocalLock, LocalStateStore};
pub use timeline::Timeline;
pub use token::IdempotencyToken;
