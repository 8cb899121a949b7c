//! Recorded state: what glinfra created, with the inputs it was created from and its outputs.
//!
//! These are plain values; reading and writing them atomically is the engine's job.

use crate::kind::Kind;
use crate::stack::ResourceId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The version of the state file format.
pub const STATE_SCHEMA_VERSION: u32 = 1;

/// A mutating call that was started but whose end was not recorded.
///
/// Written before the call and cleared after it, so a crash leaves evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOperation {
    /// `create`, `update` or `delete`.
    pub operation: String,
    /// The run that started it.
    pub run_id: String,
    /// When it started (RFC 3339).
    pub started_at: String,
}

/// One resource as recorded after the last successful operation on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// Kind.
    pub kind: Kind,
    /// Region.
    pub region: String,
    /// The resolved spec it was last created or updated from.
    pub props: Value,
    /// The tags it carries.
    pub tags: BTreeMap<String, String>,
    /// Its outputs (`id`, `arn`, ...). Empty while a create is pending.
    pub outputs: BTreeMap<String, Value>,
    /// The logical ids it depended on, so deletes run in reverse order.
    pub dependencies: BTreeSet<ResourceId>,
    /// A mutating call whose end was not recorded, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingOperation>,
}

impl ResourceState {
    /// True when the resource is known to exist (it has outputs).
    pub fn exists(&self) -> bool {
        !self.outputs.is_empty()
    }
}

/// The recorded state of one stack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Format version ([`STATE_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The stack's name.
    pub stack: String,
    /// Increases with every recorded change; a plan is only applied to the serial it was made from.
    pub serial: u64,
    /// Resources by logical id.
    pub resources: BTreeMap<ResourceId, ResourceState>,
}

impl State {
    /// The empty state of a stack never applied.
    pub fn empty(stack: impl Into<String>) -> Self {
        State {
            schema_version: STATE_SCHEMA_VERSION,
            stack: stack.into(),
            serial: 0,
            resources: BTreeMap::new(),
        }
    }
}
