//! glinfra's engine: runs a plan concurrently against a [`Provider`], journaling
//! every mutating call into a locked, atomically written state store.

pub mod provider;

pub use provider::{ErrorClass, Outputs, Provider, ProviderError, ResolvedResource};
