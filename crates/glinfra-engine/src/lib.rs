//! glinfra's engine: runs a plan concurrently against a [`Provider`], journaling
//! every mutating call into a locked, atomically written state store.

pub mod executor;
pub mod fake;
pub mod journal;
pub mod provider;
pub mod store;

pub use executor::{
    apply, ApplyError, ApplyOptions, ApplyReport, Event, NoObserver, Observer, OpOutcome,
    RetryPolicy,
};
pub use provider::{ErrorClass, Outputs, Provider, ProviderError, ResolvedResource};
pub use store::{LocalStateStore, LockHolder, StackLock, StoreError};
