//! An in-memory cloud for the engine's tests, with injectable faults.
//!
//! It behaves like AWS where the engine's guarantees depend on it: resources are
//! found by their ownership tags, deleting a resource others still use fails
//! with a retryable `DependencyViolation`, deleting what is gone is `NotFound`,
//! and a create that carries an idempotency token is answered as EC2 answers it:
//! a token seen before with the same request returns what that request made (even
//! if it has been deleted since), with another request `IdempotentParameterMismatch`.

use crate::provider::{ErrorClass, Outputs, Provider, ProviderError, ResolvedResource};
use async_trait::async_trait;
use glinfra_core::{Kind, Observed, ResourceId, ResourceState, TAG_LOGICAL_ID, TAG_STACK};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

/// A provider call, for fault injection and call logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FakeOp {
    /// `find`.
    Find,
    /// `create`.
    Create,
    /// `update`.
    Update,
    /// `delete`.
    Delete,
    /// `observe` (one per kind and region; the logical id logged is the kind).
    Observe,
}

/// A resource living in the fake cloud.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeResource {
    /// The owning stack (from tags, or remembered for untaggable kinds).
    pub stack: String,
    /// The logical id.
    pub logical_id: String,
    /// Kind.
    pub kind: Kind,
    /// Region.
    pub region: String,
    /// The spec it was last written with.
    pub props: Value,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Outputs.
    pub outputs: Outputs,
}

struct Fault {
    resource: String,
    op: FakeOp,
    class: ErrorClass,
    remaining: u32,
}

#[derive(Default)]
struct Inner {
    resources: BTreeMap<String, FakeResource>,
    next: u64,
    faults: Vec<Fault>,
    hang_after: BTreeSet<(FakeOp, String)>,
    lose_reply: BTreeSet<(FakeOp, String)>,
    blind_finds: BTreeMap<String, u32>,
    tokens: BTreeMap<String, (Value, Outputs)>,
    create_tokens: Vec<(String, Option<String>)>,
    calls: Vec<(FakeOp, String)>,
    latency: Duration,
}

/// The in-memory cloud.
#[derive(Default)]
pub struct FakeCloud {
    inner: Mutex<Inner>,
    hung: tokio::sync::Notify,
}

impl FakeCloud {
    /// An empty cloud.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every call take `latency` (to observe concurrency).
    pub fn set_latency(&self, latency: Duration) {
        self.inner.lock().unwrap().latency = latency;
    }

    /// Makes the next `times` calls of `op` on `resource` fail with `class`.
    pub fn fail(&self, resource: &str, op: FakeOp, class: ErrorClass, times: u32) {
        self.inner.lock().unwrap().faults.push(Fault {
            resource: resource.to_string(),
            op,
            class,
            remaining: times,
        });
    }

    /// Makes the create of `resource` succeed in the cloud and then never return,
    /// as if the process were killed between the call and recording its result.
    pub fn hang_after_create(&self, resource: &str) {
        self.hang_after(FakeOp::Create, resource);
    }

    /// [`FakeCloud::hang_after_create`], for an update.
    pub fn hang_after_update(&self, resource: &str) {
        self.hang_after(FakeOp::Update, resource);
    }

    /// [`FakeCloud::hang_after_create`], for a delete.
    pub fn hang_after_delete(&self, resource: &str) {
        self.hang_after(FakeOp::Delete, resource);
    }

    /// Makes the next `op` (create, update, delete) of `resource` take effect in the
    /// cloud and then never return. One-shot. [`FakeCloud::hung`] tells when it does.
    pub fn hang_after(&self, op: FakeOp, resource: &str) {
        self.inner
            .lock()
            .unwrap()
            .hang_after
            .insert((op, resource.to_string()));
    }

    /// Makes the next `op` of `resource` take effect in the cloud and then fail
    /// with a Retryable error, as when the reply is lost (a connection reset, the
    /// SDK's attempt timeout). One-shot.
    pub fn lose_reply(&self, op: FakeOp, resource: &str) {
        self.inner
            .lock()
            .unwrap()
            .lose_reply
            .insert((op, resource.to_string()));
    }

    /// Makes the next `times` finds of `resource` see nothing, as a Describe just
    /// after a create may not list it yet (EC2 is eventually consistent): only the
    /// create's idempotency token then keeps a retry from making a second one.
    pub fn blind_finds(&self, resource: &str, times: u32) {
        self.inner
            .lock()
            .unwrap()
            .blind_finds
            .insert(resource.to_string(), times);
    }

    /// The idempotency token each create call of `resource` carried, in order.
    pub fn create_tokens(&self, resource: &str) -> Vec<Option<String>> {
        self.inner
            .lock()
            .unwrap()
            .create_tokens
            .iter()
            .filter(|(id, _)| id == resource)
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// Waits until a call set to hang ([`FakeCloud::hang_after`]) has taken effect
    /// and hangs (at once, if one has since the last wait).
    pub async fn hung(&self) {
        self.hung.notified().await;
    }

    /// Every resource, by physical id.
    pub fn resources(&self) -> Vec<FakeResource> {
        self.inner
            .lock()
            .unwrap()
            .resources
            .values()
            .cloned()
            .collect()
    }

    /// How many resources carry `stack` and `logical_id`.
    pub fn count(&self, stack: &str, logical_id: &str) -> usize {
        self.resources()
            .iter()
            .filter(|r| r.stack == stack && r.logical_id == logical_id)
            .count()
    }

    /// Every call made, in order: the operation and the logical id.
    pub fn calls(&self) -> Vec<(FakeOp, String)> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// Calls that change something (create, update, delete).
    pub fn mutating_calls(&self) -> usize {
        self.calls()
            .iter()
            .filter(|(op, _)| !matches!(op, FakeOp::Find | FakeOp::Observe))
            .count()
    }

    /// Changes `field` of the spec of `logical_id` behind glinfra's back.
    pub fn tamper(&self, logical_id: &str, field: &str, value: Value) {
        let mut inner = self.inner.lock().unwrap();
        for x in inner.resources.values_mut() {
            if x.logical_id == logical_id {
                x.props[field] = value.clone();
            }
        }
    }

    /// Deletes `logical_id` behind glinfra's back.
    pub fn delete_behind(&self, logical_id: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.resources.retain(|_, x| x.logical_id != logical_id);
    }

    /// Forgets everything, as an emulator does when it restarts.
    pub fn wipe(&self) {
        self.inner.lock().unwrap().resources.clear();
    }

    /// Deletes what `prior` records, as AWS would (in use: DependencyViolation).
    fn delete_now(&self, prior: &ResourceState) -> Result<(), ProviderError> {
        let mut inner = self.inner.lock().unwrap();
        let id = physical_id(&prior.outputs).unwrap_or_default();
        if !inner.resources.contains_key(&id) {
            return Err(ProviderError::new(
                ErrorClass::NotFound,
                format!("{id} not found"),
            ));
        }
        if let Some(user) = inner.resources.values().find(|x| {
            x.outputs.get("id").and_then(|v| v.as_str()) != Some(&id)
                && physical_id(&x.outputs).as_deref() != Some(&id)
                && mentions(&x.props, &id)
        }) {
            return Err(ProviderError::new(
                ErrorClass::Retryable,
                format!(
                    "DependencyViolation: {id} is still used by {}",
                    user.logical_id
                ),
            ));
        }
        inner.resources.remove(&id);
        Ok(())
    }
    async fn enter(&self, op: FakeOp, logical_id: &str) -> Result<(), ProviderError> {
        let latency = {
            let mut inner = self.inner.lock().unwrap();
            inner.calls.push((op, logical_id.to_string()));
            if let Some(f) = inner
                .faults
                .iter_mut()
                .find(|f| f.resource == logical_id && f.op == op && f.remaining > 0)
            {
                f.remaining -= 1;
                return Err(ProviderError::new(
                    f.class,
                    format!("injected {:?} fault on {op:?} `{logical_id}`", f.class),
                ));
            }
            inner.latency
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        Ok(())
    }

    /// After `op` on `logical_id` took effect: hangs, or loses the reply, when set to.
    async fn after(&self, op: FakeOp, logical_id: &str) -> Result<(), ProviderError> {
        let key = (op, logical_id.to_string());
        let (hang, lose) = {
            let mut inner = self.inner.lock().unwrap();
            (inner.hang_after.remove(&key), inner.lose_reply.remove(&key))
        };
        if hang {
            self.hung.notify_one();
            std::future::pending::<()>().await;
        }
        if lose {
            return Err(ProviderError::new(
                ErrorClass::Retryable,
                format!("{op:?} `{logical_id}`: the reply was lost (connection reset)"),
            ));
        }
        Ok(())
    }
}

fn physical_id(outputs: &Outputs) -> Option<String> {
    outputs
        .values()
        .next()
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// What a create asks for, as a token remembers it.
fn request_of(r: &ResolvedResource) -> Value {
    serde_json::json!([r.kind.type_name(), r.region, r.props, r.tags])
}

fn mentions(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s == needle,
        Value::Array(a) => a.iter().any(|v| mentions(v, needle)),
        Value::Object(m) => m.values().any(|v| mentions(v, needle)),
        _ => false,
    }
}

#[async_trait]
impl Provider for FakeCloud {
    async fn find(&self, r: &ResolvedResource) -> Result<Option<Outputs>, ProviderError> {
        self.enter(FakeOp::Find, &r.id).await?;
        let mut inner = self.inner.lock().unwrap();
        if let Some(n) = inner.blind_finds.get_mut(&r.id).filter(|n| **n > 0) {
            *n -= 1;
            return Ok(None);
        }
        Ok(inner
            .resources
            .values()
            .find(|x| {
                x.stack == r.stack
                    && x.logical_id == r.id
                    && x.kind == r.kind
                    && !x
                        .outputs
                        .values()
                        .any(|v| v.as_str().is_some_and(|v| r.superseded.contains(v)))
            })
            .map(|x| x.outputs.clone()))
    }

    async fn create(&self, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
        self.enter(FakeOp::Create, &r.id).await?;
        let outputs = {
            let mut inner = self.inner.lock().unwrap();
            let token = r.token.as_ref().map(|t| t.as_str().to_string());
            inner.create_tokens.push((r.id.clone(), token.clone()));
            let request = request_of(r);
            match token.as_ref().and_then(|t| inner.tokens.get(t)) {
                Some((seen, outputs)) if *seen == request => Some(outputs.clone()),
                Some(_) => {
                    return Err(ProviderError::new(
                        ErrorClass::Invalid,
                        format!(
                            "IdempotentParameterMismatch: token {} was used with another request",
                            token.unwrap_or_default()
                        ),
                    ))
                }
                None => None,
            }
        };
        if let Some(outputs) = outputs {
            // The request this token was first sent with: what it made, made once.
            self.after(FakeOp::Create, &r.id).await?;
            return Ok(outputs);
        }
        let outputs = {
            let mut inner = self.inner.lock().unwrap();
            inner.next += 1;
            let n = inner.next;
            let outputs: Outputs = r
                .kind
                .outputs()
                .map(|o| (o.to_string(), Value::String(format!("fake-{o}-{n}"))))
                .collect();
            let stack = r
                .tags
                .get(TAG_STACK)
                .cloned()
                .unwrap_or_else(|| r.stack.clone());
            let logical_id = r
                .tags
                .get(TAG_LOGICAL_ID)
                .cloned()
                .unwrap_or_else(|| r.id.clone());
            inner.resources.insert(
                physical_id(&outputs).expect("every kind has an output"),
                FakeResource {
                    stack,
                    logical_id,
                    kind: r.kind,
                    region: r.region.clone(),
                    props: r.props.clone(),
                    tags: r.tags.clone(),
                    outputs: outputs.clone(),
                },
            );
            if let Some(t) = &r.token {
                inner
                    .tokens
                    .insert(t.as_str().to_string(), (request_of(r), outputs.clone()));
            }
            outputs
        };
        self.after(FakeOp::Create, &r.id).await?;
        Ok(outputs)
    }

    async fn update(
        &self,
        prior: &ResourceState,
        r: &ResolvedResource,
        _changed: &[String],
    ) -> Result<Outputs, ProviderError> {
        self.enter(FakeOp::Update, &r.id).await?;
        let outputs = {
            let mut inner = self.inner.lock().unwrap();
            let id = physical_id(&prior.outputs).unwrap_or_default();
            match inner.resources.get_mut(&id) {
                Some(x) => {
                    x.props = r.props.clone();
                    x.tags = r.tags.clone();
                    x.outputs.clone()
                }
                None => {
                    return Err(ProviderError::new(
                        ErrorClass::NotFound,
                        format!("{id} not found"),
                    ))
                }
            }
        };
        self.after(FakeOp::Update, &r.id).await?;
        Ok(outputs)
    }

    async fn delete(&self, logical_id: &str, prior: &ResourceState) -> Result<(), ProviderError> {
        self.enter(FakeOp::Delete, logical_id).await?;
        self.delete_now(prior)?;
        self.after(FakeOp::Delete, logical_id).await
    }

    async fn observe(
        &self,
        stack: &str,
        kind: Kind,
        region: &str,
        _recorded: &[(ResourceId, ResourceState)],
    ) -> Result<Option<Vec<Observed>>, ProviderError> {
        self.enter(FakeOp::Observe, kind.type_name()).await?;
        let inner = self.inner.lock().unwrap();
        Ok(Some(
            inner
                .resources
                .values()
                .filter(|x| x.stack == stack && x.kind == kind && x.region == region)
                .map(|x| Observed {
                    id: x.logical_id.clone(),
                    kind,
                    region: x.region.clone(),
                    props: Some(x.props.clone()),
                    tags: x.tags.clone(),
                    outputs: x.outputs.clone(),
                })
                .collect(),
        ))
    }
}
