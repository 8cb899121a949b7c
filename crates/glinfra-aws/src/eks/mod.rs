//! The EKS drivers: clusters ([`EksClusterDriver`]), managed node groups
//! ([`EksNodeGroupDriver`]), add-ons ([`EksAddonDriver`]) and Pod Identity
//! associations ([`EksPodIdentityDriver`]).
//!
//! Names are deterministic, so `find` describes by name and adopts only what
//! carries our ownership tags. EKS applies every change as an asynchronous
//! "update": each one is followed to `Successful` with DescribeUpdate, then the
//! resource is waited for until it is `ACTIVE` again.

mod addon;
mod cluster;
mod node_group;
mod object;
mod pod_identity;
#[cfg(test)]
mod tests;

pub(crate) use addon::EksAddonDriver;
pub(crate) use cluster::EksClusterDriver;
pub(crate) use node_group::EksNodeGroupDriver;
pub(crate) use pod_identity::EksPodIdentityDriver;

use crate::error::classify;
use crate::kit::live::Scope;
use crate::kit::tags;
use crate::kit::wait::{self, Poll, POLL};
use aws_sdk_eks::types::{Update, UpdateStatus};
use aws_sdk_eks::Client;
use glinfra_core::{Declared, Input};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// How long a cluster may take to become ACTIVE after its create, or to go after its delete.
const CLUSTER_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// How long a node group may take to become ACTIVE after its create, or to go after its delete.
const NODEGROUP_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// How long one update (a control-plane version step, an endpoint change, a rolling
/// replacement of a node group's nodes for new labels or taints) may take.
const UPDATE_DEADLINE: Duration = Duration::from_secs(60 * 60);

/// The AWS error code of a name already taken (and of a resource busy with another change).
const IN_USE: &str = "ResourceInUseException";

/// The clusters the recorded resources of `scope` name, each once: a refresh of
/// node groups, add-ons and Pod Identity associations reads through them.
fn recorded_clusters<S: Declared + Clone>(
    scope: &Scope<S>,
    cluster_of: impl Fn(&S) -> &Input<String>,
) -> BTreeSet<&str> {
    scope
        .recorded
        .iter()
        .filter_map(|r| cluster_of(&r.spec).value().map(String::as_str))
        .collect()
}

/// Health issues (code, message) as a suffix for a message: empty when there are none.
fn issues<'a>(list: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> String {
    let issues: Vec<String> = list
        .map(|(code, message)| format!("{}: {}", code.unwrap_or("issue"), message.unwrap_or("")))
        .collect();
    if issues.is_empty() {
        String::new()
    } else {
        format!(" ({})", issues.join("; "))
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
    let of = nodegroup.map_or(UpdateOf::Cluster, UpdateOf::Nodegroup);
    follow_update(eks, cluster, of, update, what).await
}

/// What an update is of: DescribeUpdate names the node group or add-on.
#[derive(Clone, Copy)]
enum UpdateOf<'a> {
    /// The cluster itself.
    Cluster,
    /// A node group of the cluster.
    Nodegroup(&'a str),
    /// An add-on of the cluster.
    Addon(&'a str),
}

/// [`wait_update`] for an update of `of`.
async fn follow_update(
    eks: &Client,
    cluster: &str,
    of: UpdateOf<'_>,
    update: Option<&Update>,
    what: &str,
) -> Result<(), ProviderError> {
    let (nodegroup, addon) = match of {
        UpdateOf::Cluster => (None, None),
        UpdateOf::Nodegroup(n) => (Some(n), None),
        UpdateOf::Addon(a) => (None, Some(a)),
    };
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
            .set_addon_name(addon.map(str::to_owned))
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

/// Brings the tags of the resource `arn` from `live` to `want` with TagResource /
/// UntagResource, removing only keys recorded in `prior` unless `full`
/// ([`tags::reconcile`]).
async fn sync_tags(
    eks: &Client,
    arn: &str,
    live: Option<&HashMap<String, String>>,
    want: &BTreeMap<String, String>,
    prior: &BTreeMap<String, String>,
    full: bool,
) -> Result<(), ProviderError> {
    let (set, remove) = tags::reconcile(want, prior, Some(&tags::from_map(live)), full);
    tags::apply(eks, arn, &set, &remove).await
}

// EKS tags by ARN (ListTagsForResource, TagResource, UntagResource).
crate::kit::tags::tagging!(aws_sdk_eks::Client, by_arn, std::convert::identity);
