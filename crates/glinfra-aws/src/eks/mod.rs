//! The EKS drivers: clusters ([`cluster`]) and managed node groups ([`nodegroup`]).
//!
//! Names are deterministic, so `find` describes by name and adopts only what
//! carries our ownership tags. EKS applies every change as an asynchronous
//! "update": each one is followed to `Successful` with DescribeUpdate, then the
//! resource is waited for until it is `ACTIVE` again.

mod cluster;
mod nodegroup;
#[cfg(test)]
mod tests;

use crate::clients::Clients;
use crate::error::classify;
use crate::wait::{self, Poll};
use aws_sdk_eks::types::{Update, UpdateStatus};
use aws_sdk_eks::Client;
use glinfra_core::{Input, Kind, ResourceState, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// First poll interval of every wait (it grows to 10 s in [`crate::wait::until`]).
const POLL: Duration = if cfg!(test) {
    Duration::from_millis(1)
} else {
    Duration::from_secs(5)
};

/// How long a cluster may take to become ACTIVE after its create, or to go after its delete.
const CLUSTER_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// How long a node group may take to become ACTIVE after its create, or to go after its delete.
const NODEGROUP_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// How long one update (a control-plane version step, an endpoint change, a rolling
/// replacement of a node group's nodes for new labels or taints) may take.
const UPDATE_DEADLINE: Duration = Duration::from_secs(60 * 60);

/// The AWS error code of a name already taken (and of a resource busy with another change).
const IN_USE: &str = "ResourceInUseException";

pub(crate) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    match r.kind {
        Kind::EksCluster => cluster::find(c, r).await,
        Kind::EksNodeGroup => nodegroup::find(c, r).await,
        other => Err(wrong_kind(other)),
    }
}

pub(crate) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    match r.kind {
        Kind::EksCluster => cluster::create(c, r).await,
        Kind::EksNodeGroup => nodegroup::create(c, r).await,
        other => Err(wrong_kind(other)),
    }
}

pub(crate) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    match r.kind {
        Kind::EksCluster => cluster::update(c, prior, r, changed).await,
        Kind::EksNodeGroup => nodegroup::update(c, prior, r, changed).await,
        other => Err(wrong_kind(other)),
    }
}

pub(crate) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    match prior.kind {
        Kind::EksCluster => cluster::delete(c, id, prior).await,
        Kind::EksNodeGroup => nodegroup::delete(c, id, prior).await,
        other => Err(wrong_kind(other)),
    }
}

fn wrong_kind(kind: Kind) -> ProviderError {
    ProviderError::new(
        ErrorClass::Fatal,
        format!("the EKS driver does not handle {kind}"),
    )
}

/// The value of a resolved input.
fn resolved<'a>(input: &'a Input<String>, field: &str) -> Result<&'a str, ProviderError> {
    input.value().map(String::as_str).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!("{field} is an output reference that was not resolved"),
        )
    })
}

fn resolved_all(inputs: &[Input<String>], field: &str) -> Result<Vec<String>, ProviderError> {
    inputs
        .iter()
        .map(|i| resolved(i, field).map(str::to_owned))
        .collect()
}

/// `Ok(None)` for a NotFound error, the error itself otherwise.
fn none_if_missing<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class == ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Ok when `tags` carry `r`'s ownership tags; an AlreadyExists error naming the owner otherwise.
fn check_owner(
    what: &str,
    tags: Option<&HashMap<String, String>>,
    r: &ResolvedResource,
) -> Result<(), ProviderError> {
    let tag = |k: &str| tags.and_then(|t| t.get(k)).map(String::as_str);
    let (stack, logical) = (tag(TAG_STACK), tag(TAG_LOGICAL_ID));
    if stack == Some(r.stack.as_str()) && logical == Some(r.id.as_str()) {
        return Ok(());
    }
    let owner = match (stack, logical) {
        (Some(s), Some(l)) => format!("stack `{s}`, resource `{l}`"),
        _ => "something not managed by glinfra (it has no glinfra ownership tags)".into(),
    };
    Err(ProviderError::new(
        ErrorClass::AlreadyExists,
        format!("{what} already exists and belongs to {owner}"),
    ))
}

/// The resource as recorded, for looking up one whose create was not recorded.
fn from_state(id: &str, prior: &ResourceState) -> Result<ResolvedResource, ProviderError> {
    let stack = prior.tags.get(TAG_STACK).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!(
                "{} `{id}`: no outputs and no `{TAG_STACK}` tag recorded",
                prior.kind
            ),
        )
    })?;
    Ok(ResolvedResource::from_state(stack, id, prior))
}

/// Looks up what an interrupted create may have made, for its delete: `None` when
/// nothing of ours exists (a same-named resource of someone else's is left alone).
async fn find_for_delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<Option<Outputs>, ProviderError> {
    let r = from_state(id, prior)?;
    match find(c, &r).await {
        Err(e) if e.class == ErrorClass::AlreadyExists => {
            tracing::warn!(resource = %id, "nothing of ours to delete: {}", e.message);
            Ok(None)
        }
        other => other,
    }
}

/// Follows an update until it is `Successful`; `Failed` or `Cancelled` is an error
/// carrying the update's errors. `nodegroup` names the node group of a node group update.
async fn wait_update(
    eks: &Client,
    cluster: &str,
    nodegroup: Option<&str>,
    update: Option<&Update>,
    what: &str,
) -> Result<(), ProviderError> {
    let Some(update_id) = update.and_then(|u| u.id()).map(str::to_owned) else {
        return Err(ProviderError::new(
            ErrorClass::Fatal,
            format!("{what}: EKS returned no update id"),
        ));
    };
    let label = format!("{what} (update {update_id}) to succeed");
    wait::until(&label, UPDATE_DEADLINE, POLL, || async {
        let out = eks
            .describe_update()
            .name(cluster)
            .set_nodegroup_name(nodegroup.map(str::to_owned))
            .update_id(&update_id)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeUpdate {update_id}"), e))?;
        let Some(update) = out.update() else {
            return Ok(Poll::Pending("no update returned".into()));
        };
        match update.status() {
            Some(UpdateStatus::Successful) => Ok(Poll::Ready(())),
            Some(s @ (UpdateStatus::Failed | UpdateStatus::Cancelled)) => {
                let errors: Vec<String> = update
                    .errors()
                    .iter()
                    .map(|e| {
                        format!(
                            "{}: {}",
                            e.error_code().map(|c| c.as_str()).unwrap_or("error"),
                            e.error_message().unwrap_or("")
                        )
                    })
                    .collect();
                Err(ProviderError::new(
                    ErrorClass::Fatal,
                    format!(
                        "{what}: update {update_id} is {}{}",
                        s.as_str(),
                        if errors.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", errors.join("; "))
                        }
                    ),
                ))
            }
            Some(other) => Ok(Poll::Pending(other.as_str().to_string())),
            None => Ok(Poll::Pending("no status".into())),
        }
    })
    .await
}

/// What a tag reconciliation sends: tags to set, and keys to remove.
#[derive(Debug, Default, PartialEq)]
struct TagChanges {
    set: HashMap<String, String>,
    remove: Vec<String>,
}

/// The tag changes that bring `live` to `desired`. Keys are removed when the prior
/// state had them or, in a full reconciliation, whenever the resource has them;
/// `aws:` keys are AWS's own and never touched.
fn tag_changes(
    live: Option<&HashMap<String, String>>,
    desired: &BTreeMap<String, String>,
    prior: &BTreeMap<String, String>,
    full: bool,
) -> TagChanges {
    let empty = HashMap::new();
    let live = live.unwrap_or(&empty);
    let set = desired
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut candidates: BTreeSet<&String> = prior.keys().collect();
    if full {
        candidates.extend(live.keys());
    }
    let remove = candidates
        .into_iter()
        .filter(|k| !desired.contains_key(*k) && live.contains_key(*k) && !k.starts_with("aws:"))
        .cloned()
        .collect();
    TagChanges { set, remove }
}

/// Applies `changes` to the resource `arn` with TagResource / UntagResource.
async fn apply_tags(eks: &Client, arn: &str, changes: TagChanges) -> Result<(), ProviderError> {
    if !changes.set.is_empty() {
        eks.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(changes.set))
            .send()
            .await
            .map_err(|e| classify(&format!("TagResource {arn}"), e))?;
    }
    if !changes.remove.is_empty() {
        eks.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(changes.remove))
            .send()
            .await
            .map_err(|e| classify(&format!("UntagResource {arn}"), e))?;
    }
    Ok(())
}

/// `r.tags` as the SDK takes them.
fn sdk_tags(tags: &BTreeMap<String, String>) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// True when `changed` names `field`, or is empty (everything is reconciled).
fn wants(changed: &[String], field: &str) -> bool {
    changed.is_empty() || changed.iter().any(|c| c == field)
}
