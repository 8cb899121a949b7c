//! Recorded state: what glinfra created, with the inputs it was created from and its outputs.
//!
//! These are plain values; reading and writing them atomically is the engine's job.

use crate::kind::Kind;
use crate::lifecycle::Lifecycle;
use crate::stack::ResourceId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The version of the state file format.
pub const STATE_SCHEMA_VERSION: u32 = 1;

/// A mutating call on a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mutation {
    /// Create (or adopt) it.
    Create,
    /// Update it in place.
    Update,
    /// Delete it.
    Delete,
}

impl Mutation {
    /// `create`, `update` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutation::Create => "create",
            Mutation::Update => "update",
            Mutation::Delete => "delete",
        }
    }
}

impl std::fmt::Display for Mutation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mutating call that was started but whose end was not recorded.
///
/// Written before the call and cleared after it, so a crash leaves evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOperation {
    /// Which call.
    pub operation: Mutation,
    /// The run that started it.
    pub run_id: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// For a create: the state serial when it first began, kept by the runs that
    /// resume it. The seed of its idempotency token, so a resumed create sends
    /// the request it sent before, and a later create of the same logical id
    /// (after a delete) another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_serial: Option<u64>,
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
    /// The lifecycle options it was last applied with (protection outlives the
    /// declaration: removing a protected resource from the program does not delete it).
    #[serde(default, skip_serializing_if = "Lifecycle::is_default")]
    pub lifecycle: Lifecycle,
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
    /// Resources forgotten with `state rm`, by logical id, with their outputs: left in
    /// AWS, still carrying the stack's tags, and ignored by refresh from then on
    /// (never adopted from a refresh, never deleted as unmanaged).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub released: BTreeMap<ResourceId, BTreeMap<String, Value>>,
    /// Old resources of create-first replacements, by logical id, recorded from the
    /// moment their replacement's create begins until they are deleted: a run
    /// interrupted between the two leaves them here, and the next plan deletes them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub superseded: BTreeMap<ResourceId, Vec<ResourceState>>,
    /// The stack's exported outputs as of its last apply, by name (null where not
    /// known): what other stacks read through a [`crate::StackReference`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Value>,
}

impl State {
    /// The empty state of a stack never applied.
    pub fn empty(stack: impl Into<String>) -> Self {
        State {
            schema_version: STATE_SCHEMA_VERSION,
            stack: stack.into(),
            serial: 0,
            resources: BTreeMap::new(),
            released: BTreeMap::new(),
            superseded: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }
}
