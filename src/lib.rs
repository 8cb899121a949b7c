//! glinfra: Pulumi-style, programmatic provisioning of AWS infrastructure in plain Rust.
//!
//! Declare typed resources on a [`Stack`]; passing one resource's output into
//! another's spec is what orders them. [`Session`] plans against recorded state
//! (no AWS call), and applies the plan concurrently and idempotently. State lives
//! in a local directory, or in S3 with conditional writes and leased locks
//! ([`BackendUrl`], [`Session::aws_with`]).
//!
//! ```no_run
//! use glinfra::spec::ec2::{SubnetSpec, VpcSpec};
//! use glinfra::{ResourceGraph, Session, Stack};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut stack = Stack::new("demo", "us-east-1");
//! let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
//! stack.add("subnet-a", SubnetSpec::new(vpc.id(), "10.0.0.0/20", "us-east-1a"));
//! let graph = ResourceGraph::build(&stack)?; // every error at once, before any AWS call
//!
//! let session = Session::aws(".glinfra/state").await;
//! let lock = session.lock(stack.name()).await?;
//! let plan = session.plan(&lock, &graph).await?;
//! println!("{}", glinfra::render::text(&plan));
//! let report = session.apply(lock, &plan, std::sync::Arc::new(glinfra::engine::NoObserver)).await?;
//! assert!(report.is_success());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod backend;
pub mod cli;
mod confirm;
pub mod embed;
pub mod failover;
pub mod fleet;
pub mod progress;
pub mod saved;
mod session;

pub use backend::BackendUrl;
pub use failover::{Failover, FailoverError};
pub use fleet::{Fleet, FleetError, FleetReport, StackOutcome, StackPlan};
pub use glinfra_aws as aws;
pub use glinfra_core as core;
pub use glinfra_core::{
    render, spec, Action, DeleteFirst, Diagnostic, Diagnostics, Drift, DriftKind, Fate, Input,
    OpPhase, Plan, Reason, ReplaceOrder, Resource, ResourceGraph, ResourceOptions, Stack,
};
pub use glinfra_core::{ReferenceError, StackReference};
pub use glinfra_engine as engine;
pub use progress::{Display, Progress};
pub use session::{outputs_of, Error, Session};
