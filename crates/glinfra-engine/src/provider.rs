//! The interface between the engine and a cloud: one implementation talks to AWS
//! (`glinfra-aws`), another is the in-memory fake used by the engine's tests.

use crate::token::IdempotencyToken;
use async_trait::async_trait;
use glinfra_core::input::resolve_refs;
use glinfra_core::{Declaration, Kind, Observed, ResourceId, ResourceState, State};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A resource's outputs (`id`, `arn`, ...).
pub type Outputs = BTreeMap<String, Value>;

/// How a failed call should be treated; decided once, where the error is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The resource does not exist (a delete treats this as success).
    NotFound,
    /// The resource exists already.
    AlreadyExists,
    /// The service asked us to slow down: retried with backoff.
    Throttled,
    /// A transient failure (network, 5xx, a dependency still going away): retried with backoff.
    Retryable,
    /// The request was rejected as invalid: not retried.
    Invalid,
    /// Anything else: not retried.
    Fatal,
}

impl ErrorClass {
    /// True for the classes the executor retries.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::Throttled | ErrorClass::Retryable)
    }
}

/// An error from a provider call, classified once, with its context.
#[derive(Debug, thiserror::Error)]
pub struct ProviderError {
    /// How it should be treated.
    pub class: ErrorClass,
    /// What happened (for AWS errors: the operation, the service's code and message).
    pub message: String,
    /// The API operation that failed (`CreateVpc`), when one did.
    pub operation: Option<String>,
    /// The service's error code (`InvalidVpcID.NotFound`), when it sent one.
    pub code: Option<String>,
    /// The logical id of the resource concerned, when known.
    pub resource: Option<String>,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ProviderError {
    /// An error of `class` with `message`.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ProviderError {
            class,
            message: message.into(),
            operation: None,
            code: None,
            resource: None,
            source: None,
        }
    }

    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Names the API operation that failed.
    pub fn operation(mut self, operation: impl Into<String>) -> Self {
        self.operation = Some(operation.into());
        self
    }

    /// Records the service's error code.
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Names the resource concerned (kept if already set).
    pub fn resource(mut self, id: impl Into<String>) -> Self {
        self.resource.get_or_insert(id.into());
        self
    }

    /// The same error with another class and a note on why (a busy state that passes).
    pub fn reclassified(mut self, class: ErrorClass, why: &str) -> Self {
        self.class = class;
        self.message = format!("{} ({why})", self.message);
        self
    }

    /// True when the service's code is one of `codes`.
    pub fn has_code(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.class, self.message)
    }
}

/// A resource with every output reference replaced by its value, as a driver sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedResource {
    /// The stack that owns it.
    pub stack: String,
    /// Logical id.
    pub id: ResourceId,
    /// Kind.
    pub kind: Kind,
    /// Region.
    pub region: String,
    /// The spec, fully resolved (no `$output` markers).
    pub props: Value,
    /// Tags, ownership tags included (empty for kinds that take none).
    pub tags: BTreeMap<String, String>,
    /// For a create, the idempotency token the engine decided for it: drivers
    /// whose create API takes one pass it (`ClientToken`, `clientRequestToken`,
    /// `CallerReference`). `None` for every other call.
    pub token: Option<IdempotencyToken>,
    /// The output values (AWS ids, ARNs) of the old resources a create-first
    /// replacement keeps until the new one exists: they carry the same ownership
    /// tags, and `find` must never return them as the new one.
    pub superseded: BTreeSet<String>,
}

impl ResolvedResource {
    /// The spec, typed.
    pub fn spec<S: serde::de::DeserializeOwned>(&self) -> Result<S, ProviderError> {
        serde_json::from_value(self.props.clone()).map_err(|e| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!("{} `{}`: malformed spec: {e}", self.kind, self.id),
            )
        })
    }

    /// `decl` of `stack` with every output reference replaced by the value `state`
    /// records; an error naming the outputs not recorded yet.
    pub fn resolve(stack: &str, decl: &Declaration, state: &State) -> Result<Self, ProviderError> {
        let mut missing = Vec::new();
        let props = resolve_refs(&decl.props.value(), &mut |r| match state
            .resources
            .get(&r.resource)
            .and_then(|s| s.outputs.get(&r.output))
        {
            Some(v) => v.clone(),
            None => {
                missing.push(format!("{}.{}", r.resource, r.output));
                Value::Null
            }
        });
        if !missing.is_empty() {
            return Err(ProviderError::new(
                ErrorClass::Fatal,
                format!("outputs not available: {}", missing.join(", ")),
            )
            .resource(&decl.id));
        }
        Ok(ResolvedResource {
            stack: stack.to_string(),
            id: decl.id.clone(),
            kind: decl.kind,
            region: decl.region.clone(),
            props,
            tags: decl.tags.clone(),
            token: None,
            superseded: state
                .superseded
                .get(&decl.id)
                .into_iter()
                .flatten()
                .flat_map(|old| old.outputs.values())
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        })
    }

    /// The resource as recorded in `state` (for deletes of things whose create was interrupted).
    pub fn from_state(stack: &str, id: &str, state: &ResourceState) -> Self {
        ResolvedResource {
            stack: stack.to_string(),
            id: id.to_string(),
            kind: state.kind,
            region: state.region.clone(),
            props: state.props.clone(),
            tags: state.tags.clone(),
            token: None,
            superseded: BTreeSet::new(),
        }
    }
}

/// A cloud the engine can drive. One driver per resource kind sits behind it.
///
/// Every method must be idempotent, since the executor calls it again after a
/// retryable failure, and a run that was killed calls it again on the next run:
/// `create` may meet a resource it already made, `delete` one already gone.
/// Drivers decide *how* to reach a state, never *what* it should be: they do not diff.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Looks for an existing resource carrying `resource`'s ownership tags (or, for
    /// kinds that take no tags, its natural key) and returns its outputs. Read-only.
    async fn find(&self, resource: &ResolvedResource) -> Result<Option<Outputs>, ProviderError>;

    /// Creates the resource, waits until it is usable, and returns its outputs.
    async fn create(&self, resource: &ResolvedResource) -> Result<Outputs, ProviderError>;

    /// Changes the fields named in `changed` (every field, when empty) of the
    /// existing resource recorded as `prior` to match `resource`.
    async fn update(
        &self,
        prior: &ResourceState,
        resource: &ResolvedResource,
        changed: &[String],
    ) -> Result<Outputs, ProviderError>;

    /// Deletes the resource recorded as `prior` (with its outputs) and waits until
    /// it is gone. A resource already gone is success.
    async fn delete(&self, id: &str, prior: &ResourceState) -> Result<(), ProviderError>;

    /// Reads, in as few calls as the API allows, every resource of `kind` in
    /// `region` that carries `stack`'s ownership tags, and for kinds that cannot be
    /// listed by tag, every one of `recorded` through its parent. What is not
    /// returned does not exist. `None` when this provider cannot read the kind (its
    /// recorded resources are then left as recorded). Read-only.
    async fn observe(
        &self,
        stack: &str,
        kind: Kind,
        region: &str,
        recorded: &[(ResourceId, ResourceState)],
    ) -> Result<Option<Vec<Observed>>, ProviderError> {
        let _ = (stack, kind, region, recorded);
        Ok(None)
    }

    /// Takes the existing resource `aws_id`, not made by glinfra, under `resource`'s
    /// logical id: tags it with the ownership tags and reads it. `None` when this
    /// provider cannot import the kind. An id owned by another stack is an
    /// AlreadyExists error.
    async fn import(
        &self,
        resource: &ResolvedResource,
        aws_id: &str,
    ) -> Result<Option<Observed>, ProviderError> {
        let _ = (resource, aws_id);
        Ok(None)
    }
}
