//! glinfra's pure core: the resource model, the dependency graph, validation,
//! the diff between desired specs and recorded state, the plan, and its renderings.
//!
//! Nothing in this crate does IO or async work: it cannot fail for network
//! reasons, and everything in it is tested without AWS.

#![warn(missing_docs)]

extern crate self as glinfra_core;

pub mod cost;
pub mod diagnostics;
pub mod graph;
pub mod input;
pub mod kind;
pub mod lifecycle;
pub mod names;
pub mod offers;
pub mod plan;
pub mod policy;
pub mod props;
pub mod reference;
pub mod refresh;
pub mod regions;
pub mod render;
pub mod replace;
pub mod safety;
pub mod schedule;
pub mod spec;
pub mod stack;
pub mod state;
mod validate;

pub use glinfra_derive::Resource;
pub use validate::check_declaration;

pub use diagnostics::{Diagnostic, Diagnostics};
pub use graph::ResourceGraph;
pub use input::{Input, OutputRef};
pub use kind::{
    ChangeRule, ChangeRuleFn, CheckFn, FieldValues, Kind, KindInfo, OnePer, OutputInfo,
    UpdateBehavior,
};
pub use lifecycle::{Lifecycle, Timeouts};
pub use plan::{Action, DeleteFirst, FieldChange, Plan, Reason, ReplaceOrder, Step};
pub use policy::{Finding, Policies, Policy, Severity, Violation};
pub use props::Props;
pub use reference::{ReferenceError, StackOutputRef, StackReference};
pub use refresh::{Drift, DriftKind, Fate, Observed, Refreshed};
pub use schedule::{OpPhase, Operation, Schedule};
pub use stack::{
    Declaration, Declared, Resource, ResourceId, ResourceOptions, ResourceSpec, Stack,
};
pub use state::{Mutation, PendingOperation, ResourceState, State};

/// Tag key carrying the name of the stack that owns a resource.
pub const TAG_STACK: &str = "glinfra:stack";
/// Tag key carrying the logical id of a resource within its stack.
pub const TAG_LOGICAL_ID: &str = "glinfra:logical-id";
