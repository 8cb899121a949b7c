//! The EKS managed node group driver.
//!
//! In place (UpdateNodegroupConfig, one call for all of them): the scaling sizes,
//! Kubernetes labels (addOrUpdateLabels / removeLabels) and taints
//! (addOrUpdateTaints / removeTaints), computed against what DescribeNodegroup
//! reports, so an adopted group is brought fully in line; tags with
//! TagResource / UntagResource.

use super::{
    apply_tags, check_owner, find_for_delete, none_if_missing, resolved, resolved_all, sdk_tags,
    tag_changes, wait_update, wants, IN_USE, NODEGROUP_DEADLINE, POLL, UPDATE_DEADLINE,
};
use crate::clients::Clients;
use crate::error::classify;
use crate::wait::{self, Poll};
use aws_sdk_eks::types::{
    CapacityTypes, Nodegroup, NodegroupScalingConfig, NodegroupStatus, Taint as SdkTaint,
    TaintEffect, UpdateLabelsPayload, UpdateTaintsPayload,
};
use aws_sdk_eks::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::spec::eks::{EksNodeGroupSpec, Taint};
use glinfra_core::ResourceState;
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// The node group's outputs: `name`, `arn`.
pub(super) fn outputs(ng: &Nodegroup) -> Outputs {
    let mut out = Outputs::new();
    for (key, value) in [("name", ng.nodegroup_name()), ("arn", ng.nodegroup_arn())] {
        out.insert(
            key.into(),
            Value::String(value.unwrap_or_default().to_string()),
        );
    }
    out
}

/// The node group `name` of `cluster`, if there is one (none when the cluster is gone).
async fn describe(
    eks: &Client,
    cluster: &str,
    name: &str,
) -> Result<Option<Nodegroup>, ProviderError> {
    let out = none_if_missing(
        eks.describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeNodegroup {cluster}/{name}"), e)),
    )?;
    Ok(out.and_then(|o| o.nodegroup().cloned()))
}

/// The node group's health issues, as a suffix for a message.
fn health(ng: &Nodegroup) -> String {
    let issues: Vec<String> = ng
        .health()
        .map(|h| h.issues())
        .unwrap_or_default()
        .iter()
        .map(|i| {
            format!(
                "{}: {}",
                i.code().map(|c| c.as_str()).unwrap_or("issue"),
                i.message().unwrap_or("")
            )
        })
        .collect();
    if issues.is_empty() {
        String::new()
    } else {
        format!(" ({})", issues.join("; "))
    }
}

fn status_of(ng: &Nodegroup) -> &str {
    ng.status().map(|s| s.as_str()).unwrap_or("no status")
}

/// Waits until the node group is ACTIVE. DEGRADED (running, with health issues) counts
/// as usable when `degraded_ok`, with a warning; the failed states are errors naming
/// the health issues.
async fn wait_active(
    eks: &Client,
    cluster: &str,
    name: &str,
    deadline: Duration,
    degraded_ok: bool,
) -> Result<Nodegroup, ProviderError> {
    wait::until(
        &format!("EKS node group `{cluster}/{name}` to be ACTIVE"),
        deadline,
        POLL,
        || async {
            let Some(ng) = describe(eks, cluster, name).await? else {
                return Ok(Poll::Pending("not found".into()));
            };
            match ng.status() {
                Some(NodegroupStatus::Active) => Ok(Poll::Ready(ng)),
                Some(NodegroupStatus::Degraded) if degraded_ok => {
                    tracing::warn!(cluster = %cluster, nodegroup = %name, "EKS node group is DEGRADED{}", health(&ng));
                    Ok(Poll::Ready(ng))
                }
                Some(
                    s @ (NodegroupStatus::Degraded
                    | NodegroupStatus::CreateFailed
                    | NodegroupStatus::DeleteFailed),
                ) => Err(ProviderError::new(
                    ErrorClass::Fatal,
                    format!(
                        "EKS node group `{cluster}/{name}` is {}{}",
                        s.as_str(),
                        health(&ng)
                    ),
                )),
                Some(NodegroupStatus::Deleting) => Err(ProviderError::new(
                    ErrorClass::Retryable,
                    format!("EKS node group `{cluster}/{name}` is being deleted"),
                )),
                _ => Ok(Poll::Pending(status_of(&ng).to_string())),
            }
        },
    )
    .await
}

/// Waits until DescribeNodegroup no longer finds the node group; DELETE_FAILED is an error.
async fn wait_gone(eks: &Client, cluster: &str, name: &str) -> Result<(), ProviderError> {
    wait::until(
        &format!("EKS node group `{cluster}/{name}` to be deleted"),
        NODEGROUP_DEADLINE,
        POLL,
        || async {
            match describe(eks, cluster, name).await? {
                None => Ok(Poll::Ready(())),
                Some(ng) if ng.status() == Some(&NodegroupStatus::DeleteFailed) => {
                    Err(ProviderError::new(
                        ErrorClass::Fatal,
                        format!(
                            "EKS node group `{cluster}/{name}` is DELETE_FAILED{}",
                            health(&ng)
                        ),
                    ))
                }
                Some(ng) => Ok(Poll::Pending(status_of(&ng).to_string())),
            }
        },
    )
    .await
}

/// Deletes the node group and waits until it is gone; gone already is success.
async fn remove(eks: &Client, cluster: &str, name: &str) -> Result<(), ProviderError> {
    if let Err(e) = eks
        .delete_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .send()
        .await
    {
        let err = classify(&format!("DeleteNodegroup {cluster}/{name}"), e);
        if err.class == ErrorClass::NotFound {
            return Ok(());
        }
        // Already being deleted (an earlier attempt): waited for; anything else is the error.
        match describe(eks, cluster, name).await? {
            None => return Ok(()),
            Some(ng) if ng.status() == Some(&NodegroupStatus::Deleting) => {}
            Some(_) => return Err(err),
        }
    }
    wait_gone(eks, cluster, name).await
}

pub(super) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: EksNodeGroupSpec = r.spec()?;
    let eks = c.eks(&r.region);
    let cluster = resolved(&spec.cluster_name, "cluster_name")?;
    let name = spec.name.as_str();
    let Some(ng) = describe(&eks, cluster, name).await? else {
        return Ok(None);
    };
    check_owner(&format!("EKS node group `{cluster}/{name}`"), ng.tags(), r)?;
    match ng.status() {
        Some(NodegroupStatus::Active | NodegroupStatus::Degraded) => Ok(Some(outputs(&ng))),
        Some(NodegroupStatus::Deleting) => {
            wait_gone(&eks, cluster, name).await?;
            Ok(None)
        }
        Some(s @ (NodegroupStatus::CreateFailed | NodegroupStatus::DeleteFailed)) => {
            tracing::warn!(cluster = %cluster, nodegroup = %name, "not adopting our EKS node group: it is {}{}", s.as_str(), health(&ng));
            Ok(None)
        }
        // CREATING, UPDATING: usable soon.
        _ => Ok(Some(outputs(
            &wait_active(&eks, cluster, name, NODEGROUP_DEADLINE, true).await?,
        ))),
    }
}

fn scaling(spec: &EksNodeGroupSpec) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .min_size(spec.min_size)
        .max_size(spec.max_size)
        .desired_size(spec.desired_size)
        .build()
}

/// A taint as the API takes it (an empty value is left out).
fn sdk_taint(t: &Taint) -> SdkTaint {
    SdkTaint::builder()
        .key(&t.key)
        .set_value((!t.value.is_empty()).then(|| t.value.clone()))
        .effect(TaintEffect::from(t.effect.as_str()))
        .build()
}

fn same_taint(live: &SdkTaint, t: &Taint) -> bool {
    live.key() == Some(t.key.as_str())
        && live.value().unwrap_or_default() == t.value
        && live.effect().map(|e| e.as_str()) == Some(t.effect.as_str())
}

/// The label changes from `live` to `desired`, or `None` when there are none.
fn labels_payload(
    live: Option<&HashMap<String, String>>,
    desired: &BTreeMap<String, String>,
) -> Option<UpdateLabelsPayload> {
    let empty = HashMap::new();
    let live = live.unwrap_or(&empty);
    let add: HashMap<String, String> = desired
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove: Vec<String> = live
        .keys()
        .filter(|k| !desired.contains_key(*k))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if add.is_empty() && remove.is_empty() {
        return None;
    }
    Some(
        UpdateLabelsPayload::builder()
            .set_add_or_update_labels((!add.is_empty()).then_some(add))
            .set_remove_labels((!remove.is_empty()).then_some(remove))
            .build(),
    )
}

/// The taint changes from `live` to `desired`, or `None` when there are none. A taint
/// is added (or updated) unless the group has it exactly; a taint of the group is
/// removed when no desired taint has its key (a changed value or effect is an update).
fn taints_payload(live: &[SdkTaint], desired: &[Taint]) -> Option<UpdateTaintsPayload> {
    let add: Vec<SdkTaint> = desired
        .iter()
        .filter(|t| !live.iter().any(|l| same_taint(l, t)))
        .map(sdk_taint)
        .collect();
    let remove: Vec<SdkTaint> = live
        .iter()
        .filter(|l| !desired.iter().any(|t| l.key() == Some(t.key.as_str())))
        .cloned()
        .collect();
    if add.is_empty() && remove.is_empty() {
        return None;
    }
    Some(
        UpdateTaintsPayload::builder()
            .set_add_or_update_taints((!add.is_empty()).then_some(add))
            .set_remove_taints((!remove.is_empty()).then_some(remove))
            .build(),
    )
}

pub(super) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: EksNodeGroupSpec = r.spec()?;
    let eks = c.eks(&r.region);
    let cluster = resolved(&spec.cluster_name, "cluster_name")?;
    let name = spec.name.as_str();
    let node_role = resolved(&spec.node_role_arn, "node_role_arn")?;
    let subnets = resolved_all(&spec.subnet_ids, "subnet_ids")?;
    let labels: HashMap<String, String> = spec
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let taints: Vec<SdkTaint> = spec.taints.iter().map(sdk_taint).collect();
    // At most: a failed or deleting node group of ours holding the name is cleared, then one more try.
    for _ in 0..3 {
        let sent = eks
            .create_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .node_role(node_role)
            .set_subnets(Some(subnets.clone()))
            .set_instance_types(Some(spec.instance_types.clone()))
            .capacity_type(CapacityTypes::from(spec.capacity_type.as_str()))
            .disk_size(spec.disk_size)
            .scaling_config(scaling(&spec))
            .set_labels((!labels.is_empty()).then(|| labels.clone()))
            .set_taints((!taints.is_empty()).then(|| taints.clone()))
            .set_tags(Some(sdk_tags(&r.tags)))
            .send()
            .await;
        let e = match sent {
            Ok(_) => {
                let ng = wait_active(&eks, cluster, name, NODEGROUP_DEADLINE, false).await?;
                return Ok(outputs(&ng));
            }
            Err(e) => e,
        };
        let in_use = e.code() == Some(IN_USE);
        let err = classify(&format!("CreateNodegroup {cluster}/{name}"), e);
        if !in_use {
            return Err(err);
        }
        // The name is taken (or the cluster is busy with an update, then nothing is found
        // and the Retryable error stands).
        let Some(ng) = describe(&eks, cluster, name).await? else {
            return Err(err);
        };
        check_owner(&format!("EKS node group `{cluster}/{name}`"), ng.tags(), r)?;
        match ng.status() {
            Some(NodegroupStatus::CreateFailed | NodegroupStatus::DeleteFailed) => {
                tracing::warn!(cluster = %cluster, nodegroup = %name, "deleting our failed EKS node group to create it again{}", health(&ng));
                remove(&eks, cluster, name).await?;
            }
            Some(NodegroupStatus::Deleting) => wait_gone(&eks, cluster, name).await?,
            _ => {
                let ng = wait_active(&eks, cluster, name, NODEGROUP_DEADLINE, false).await?;
                return Ok(outputs(&ng));
            }
        }
    }
    Err(ProviderError::new(
        ErrorClass::Retryable,
        format!("EKS node group name `{cluster}/{name}` is still taken"),
    ))
}

pub(super) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    let spec: EksNodeGroupSpec = r.spec()?;
    let eks = c.eks(&r.region);
    let cluster = resolved(&spec.cluster_name, "cluster_name")?;
    let name = spec.name.as_str();
    let mut ng = describe(&eks, cluster, name).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::NotFound,
            format!("EKS node group `{cluster}/{name}` not found"),
        )
    })?;
    if !matches!(
        ng.status(),
        Some(NodegroupStatus::Active | NodegroupStatus::Degraded)
    ) {
        // EKS takes one update at a time: let a running one finish first.
        ng = wait_active(&eks, cluster, name, UPDATE_DEADLINE, true).await?;
    }

    if wants(changed, "tags") {
        let arn = ng.nodegroup_arn().unwrap_or_default().to_string();
        let changes = tag_changes(ng.tags(), &r.tags, &prior.tags, changed.is_empty());
        apply_tags(&eks, &arn, changes).await?;
    }

    let scaling_update = ["min_size", "max_size", "desired_size"]
        .iter()
        .any(|f| wants(changed, f))
        .then(|| scaling(&spec))
        .filter(|want| {
            let live = ng.scaling_config();
            live.map(|l| (l.min_size(), l.max_size(), l.desired_size()))
                != Some((want.min_size(), want.max_size(), want.desired_size()))
        });
    let labels_update = wants(changed, "labels")
        .then(|| labels_payload(ng.labels(), &spec.labels))
        .flatten();
    let taints_update = wants(changed, "taints")
        .then(|| taints_payload(ng.taints(), &spec.taints))
        .flatten();

    if scaling_update.is_some() || labels_update.is_some() || taints_update.is_some() {
        let out = eks
            .update_nodegroup_config()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .set_scaling_config(scaling_update)
            .set_labels(labels_update)
            .set_taints(taints_update)
            .send()
            .await
            .map_err(|e| classify(&format!("UpdateNodegroupConfig {cluster}/{name}"), e))?;
        let what = format!("configuration of EKS node group `{cluster}/{name}`");
        wait_update(&eks, cluster, Some(name), out.update(), &what).await?;
        ng = wait_active(&eks, cluster, name, UPDATE_DEADLINE, true).await?;
    }

    Ok(outputs(&ng))
}

pub(super) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let spec: EksNodeGroupSpec = serde_json::from_value(prior.props.clone()).map_err(|e| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!("EKS node group `{id}`: malformed recorded spec: {e}"),
        )
    })?;
    let eks = c.eks(&prior.region);
    let cluster = resolved(&spec.cluster_name, "cluster_name")?;
    let name = if prior.outputs.is_empty() {
        // A create whose end was not recorded: delete what it made, if anything.
        match find_for_delete(c, id, prior).await? {
            Some(found) => found.get("name").and_then(Value::as_str).map(str::to_owned),
            None => return Ok(()),
        }
    } else {
        prior
            .outputs
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
    .unwrap_or_else(|| spec.name.clone());
    remove(&eks, cluster, &name).await
}
