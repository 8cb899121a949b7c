//! The EKS managed node group driver.
//!
//! In place (UpdateNodegroupConfig, one call for all of them): the scaling sizes,
//! Kubernetes labels (addOrUpdateLabels / removeLabels) and taints
//! (addOrUpdateTaints / removeTaints), computed against what DescribeNodegroup
//! reports, so an adopted group is brought fully in line; tags with
//! TagResource / UntagResource; the Kubernetes version with UpdateNodegroupVersion
//! (after the cluster's upgrade, which the plan orders first; a group the cluster's
//! upgrade brought there already is left as it is).
//!
//! A refresh reads node groups through the clusters their records name
//! (ListNodegroups, then DescribeNodegroup of each: tags, scaling, labels and
//! taints come with it), so a node group resized or relabelled outside glinfra
//! reads as drift, and a node group of ours in those clusters that state does not
//! know is found.

use super::object::{accessors, EksObject, Phase};
use super::{recorded_clusters, sync_tags, wait_update, NODEGROUP_DEADLINE, UPDATE_DEADLINE};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{like, Live, Scope};
use crate::kit::read::{self, filled};
use crate::kit::{
    described, required, resolved_all, resolved_str, tags, Absent, Changed, Desired, Recorded,
};
use async_trait::async_trait;
use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, Nodegroup, NodegroupScalingConfig, NodegroupStatus, Taint as SdkTaint,
    TaintEffect as SdkTaintEffect, UpdateLabelsPayload, UpdateTaintsPayload,
};
use aws_sdk_eks::Client;
use glinfra_core::spec::eks::{
    minor_of, CapacityType, EksNodeGroupOutputs, EksNodeGroupSpec, Taint, TaintEffect,
};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// The driver of `aws:eks/node-group`.
pub(crate) struct EksNodeGroupDriver;

/// The node group's outputs: `name`, `arn`.
fn outputs(ng: &Nodegroup) -> Result<EksNodeGroupOutputs, ProviderError> {
    Ok(EksNodeGroupOutputs {
        name: required(ng.nodegroup_name(), "EKS node group name")?.to_string(),
        arn: required(ng.nodegroup_arn(), "EKS node group arn")?.to_string(),
    })
}

/// The node group `name` of `cluster`, if there is one (none when the cluster is gone).
async fn describe(
    eks: &Client,
    cluster: &str,
    name: &str,
) -> Result<Option<Nodegroup>, ProviderError> {
    let call = eks
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .send();
    described(&format!("DescribeNodegroup {cluster}/{name}"), call, |o| {
        o.nodegroup()
    })
    .await
}

/// The node group `name` of `cluster`, for the lifecycle every EKS resource shares.
struct NodegroupAt<'a> {
    eks: &'a Client,
    cluster: &'a str,
    name: &'a str,
}

#[async_trait]
impl EksObject for NodegroupAt<'_> {
    type Live = Nodegroup;
    const KIND: &'static str = "EKS node group";
    const DEADLINE: Duration = NODEGROUP_DEADLINE;

    fn key(&self) -> String {
        format!("{}/{}", self.cluster, self.name)
    }

    async fn describe(&self) -> Result<Option<Nodegroup>, ProviderError> {
        describe(self.eks, self.cluster, self.name).await
    }

    async fn delete_call(&self) -> Result<(), ProviderError> {
        let (cluster, name) = (self.cluster, self.name);
        self.eks
            .delete_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteNodegroup {cluster}/{name}"), e))
            .map(drop)
    }

    fn phase(ng: &Nodegroup) -> Phase {
        match ng.status() {
            Some(NodegroupStatus::Active) => Phase::Active,
            Some(NodegroupStatus::Degraded) => Phase::Degraded,
            Some(NodegroupStatus::CreateFailed) => Phase::CreateFailed,
            Some(NodegroupStatus::DeleteFailed) => Phase::DeleteFailed,
            Some(NodegroupStatus::Deleting) => Phase::Deleting,
            _ => Phase::Changing,
        }
    }

    accessors!(Nodegroup);
}

fn scaling(spec: &EksNodeGroupSpec) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .min_size(spec.min_size)
        .max_size(spec.max_size)
        .desired_size(spec.desired_size)
        .build()
}

/// The API's capacity type of `t`.
fn sdk_capacity(t: CapacityType) -> CapacityTypes {
    match t {
        CapacityType::OnDemand => CapacityTypes::OnDemand,
        CapacityType::Spot => CapacityTypes::Spot,
    }
}

/// The API's taint effect of `e`.
fn sdk_effect(e: TaintEffect) -> SdkTaintEffect {
    match e {
        TaintEffect::NoSchedule => SdkTaintEffect::NoSchedule,
        TaintEffect::NoExecute => SdkTaintEffect::NoExecute,
        TaintEffect::PreferNoSchedule => SdkTaintEffect::PreferNoSchedule,
    }
}

/// A taint as the API takes it (an empty value is left out).
fn sdk_taint(t: &Taint) -> SdkTaint {
    SdkTaint::builder()
        .key(&t.key)
        .set_value((!t.value.is_empty()).then(|| t.value.clone()))
        .effect(sdk_effect(t.effect))
        .build()
}

fn same_taint(live: &SdkTaint, t: &Taint) -> bool {
    live.key() == Some(t.key.as_str())
        && live.value().unwrap_or_default() == t.value
        && live.effect() == Some(&sdk_effect(t.effect))
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

/// What the node group `ng` is as a spec; lists in the `recorded` order when they
/// hold the same items. `None` when a field cannot be read and there is no record
/// to take it from (a disk size set by a launch template, a capacity type glinfra
/// does not offer).
fn live_spec(ng: &Nodegroup, recorded: Option<&EksNodeGroupSpec>) -> Option<EksNodeGroupSpec> {
    let capacity_type = match ng.capacity_type() {
        Some(CapacityTypes::OnDemand) => Some(CapacityType::OnDemand),
        Some(CapacityTypes::Spot) => Some(CapacityType::Spot),
        _ => None,
    };
    let taints: Vec<Taint> = ng
        .taints()
        .iter()
        .filter_map(|t| {
            let effect = match t.effect()? {
                SdkTaintEffect::NoSchedule => TaintEffect::NoSchedule,
                SdkTaintEffect::NoExecute => TaintEffect::NoExecute,
                SdkTaintEffect::PreferNoSchedule => TaintEffect::PreferNoSchedule,
                _ => return None,
            };
            Some(Taint {
                key: t.key()?.to_string(),
                value: t.value().unwrap_or_default().to_string(),
                effect,
            })
        })
        .collect();
    let sizes = ng.scaling_config();
    Some(EksNodeGroupSpec {
        cluster_name: ng.cluster_name().unwrap_or_default().to_string().into(),
        name: ng.nodegroup_name().unwrap_or_default().to_string(),
        node_role_arn: ng.node_role().unwrap_or_default().to_string().into(),
        subnet_ids: read::ids(
            ng.subnets().iter().map(String::as_str),
            recorded.map(|r| r.subnet_ids.as_slice()),
        ),
        instance_types: like(
            ng.instance_types().to_vec(),
            recorded.map(|r| r.instance_types.as_slice()),
        ),
        capacity_type: capacity_type.or(recorded.map(|r| r.capacity_type))?,
        disk_size: ng.disk_size().or(recorded.map(|r| r.disk_size))?,
        // Read when recorded (a record made before the field has none).
        version: match recorded {
            Some(r) if r.version.is_empty() => String::new(),
            _ => ng.version().unwrap_or_default().to_string(),
        },
        ami_type: filled(recorded.map(|r| &r.ami_type), |_| {
            ng.ami_type().and_then(|t| t.as_str().parse().ok())
        }),
        min_size: sizes.and_then(|s| s.min_size()).unwrap_or(0),
        max_size: sizes.and_then(|s| s.max_size()).unwrap_or(0),
        desired_size: sizes.and_then(|s| s.desired_size()).unwrap_or(0),
        labels: tags::from_map(ng.labels()),
        taints: like(taints, recorded.map(|r| r.taints.as_slice())),
    })
}

/// True when the node group runs an older Kubernetes version than the spec's (the
/// cluster's own upgrade may have brought it there already; a newer one is left:
/// EKS never downgrades).
fn upgrade(ng: &Nodegroup, spec: &EksNodeGroupSpec) -> bool {
    let live = ng.version().and_then(minor_of);
    match (live, minor_of(&spec.version)) {
        (Some(live), Some(want)) => live < want,
        _ => !spec.version.is_empty() && ng.version() != Some(spec.version.as_str()),
    }
}

/// An AMI type set on a node group that exists changes nothing in AWS (no call
/// changes it): it must be the type the group has.
fn same_ami(
    ng: &Nodegroup,
    spec: &EksNodeGroupSpec,
    cluster: &str,
    name: &str,
) -> Result<(), ProviderError> {
    let (Some(want), Some(live)) = (spec.ami_type, ng.ami_type()) else {
        return Ok(());
    };
    if want.as_str() == live.as_str() {
        return Ok(());
    }
    Err(ProviderError::new(
        ErrorClass::Invalid,
        format!(
            "EKS node group `{cluster}/{name}` runs {}, not {want}: no call changes a node group's AMI type; set `ami_type = \"{}\"`, or leave it unset",
            live.as_str(),
            live.as_str()
        ),
    ))
}

#[async_trait]
impl Driver for EksNodeGroupDriver {
    type Spec = EksNodeGroupSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<EksNodeGroupSpec>,
    ) -> Result<Option<EksNodeGroupOutputs>, ProviderError> {
        let eks = c.eks(&r.region);
        let cluster = resolved_str(&r.spec.cluster_name, "cluster_name")?;
        let name = r.spec.name.as_str();
        // CREATING, UPDATING: usable soon; DEGRADED is running.
        let found = NodegroupAt {
            eks: &eks,
            cluster,
            name,
        }
        .adopt(r, true)
        .await?;
        found.as_ref().map(outputs).transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<EksNodeGroupSpec>,
    ) -> Result<EksNodeGroupOutputs, ProviderError> {
        let spec = &r.spec;
        let eks = c.eks(&r.region);
        let cluster = resolved_str(&spec.cluster_name, "cluster_name")?;
        let name = spec.name.as_str();
        let node_role = resolved_str(&spec.node_role_arn, "node_role_arn")?;
        let subnets = resolved_all(&spec.subnet_ids, "subnet_ids")?;
        let labels = tags::to_map(&spec.labels);
        let taints: Vec<SdkTaint> = spec.taints.iter().map(sdk_taint).collect();
        let tags = tags::to_map(&r.owned_tags());
        // At most: a failed or deleting node group of ours holding the name is cleared, then one more try.
        // The engine's token goes with the first try only (see the cluster's create).
        let at = NodegroupAt {
            eks: &eks,
            cluster,
            name,
        };
        let created = at.create(r, false, |token| {
            let sent = eks
                .create_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .node_role(node_role)
                .set_subnets(Some(subnets.clone()))
                .set_instance_types(Some(spec.instance_types.clone()))
                .capacity_type(sdk_capacity(spec.capacity_type))
                .disk_size(spec.disk_size)
                // EKS takes only the cluster's version here (refused otherwise).
                .set_version((!spec.version.is_empty()).then(|| spec.version.clone()))
                .set_ami_type(spec.ami_type.map(|t| AmiTypes::from(t.as_str())))
                .scaling_config(scaling(spec))
                .set_labels((!labels.is_empty()).then(|| labels.clone()))
                .set_taints((!taints.is_empty()).then(|| taints.clone()))
                .set_tags(Some(tags.clone()))
                .set_client_request_token(token)
                .send();
            async move {
                sent.await
                    .map(drop)
                    .map_err(|e| classify(&format!("CreateNodegroup {cluster}/{name}"), e))
            }
        });
        outputs(&created.await?)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<EksNodeGroupSpec>,
        r: &Desired<EksNodeGroupSpec>,
        changed: Changed<'_>,
    ) -> Result<EksNodeGroupOutputs, ProviderError> {
        let spec = &r.spec;
        let eks = c.eks(&r.region);
        let cluster = resolved_str(&spec.cluster_name, "cluster_name")?;
        let name = spec.name.as_str();
        let at = NodegroupAt {
            eks: &eks,
            cluster,
            name,
        };
        let mut ng = at.settled().await?;

        if changed.has("tags") {
            let arn = required(ng.nodegroup_arn(), "EKS node group arn")?.to_string();
            let full = changed.0.is_empty();
            sync_tags(&eks, &arn, ng.tags(), &r.owned_tags(), &prior.tags, full).await?;
        }

        let scaling_update = changed
            .any(&["min_size", "max_size", "desired_size"])
            .then(|| scaling(spec))
            .filter(|want| {
                let live = ng.scaling_config();
                live.map(|l| (l.min_size(), l.max_size(), l.desired_size()))
                    != Some((want.min_size(), want.max_size(), want.desired_size()))
            });
        let labels_update = changed
            .has("labels")
            .then(|| labels_payload(ng.labels(), &spec.labels))
            .flatten();
        let taints_update = changed
            .has("taints")
            .then(|| taints_payload(ng.taints(), &spec.taints))
            .flatten();

        if changed.has("ami_type") {
            same_ami(&ng, spec, cluster, name)?;
        }

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
            ng = at.wait_active(UPDATE_DEADLINE, true).await?;
        }

        if changed.has("version") && upgrade(&ng, spec) {
            let version = spec.version.as_str();
            let out = eks
                .update_nodegroup_version()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .version(version)
                .send()
                .await
                .map_err(|e| {
                    classify(
                        &format!("UpdateNodegroupVersion {cluster}/{name} to {version}"),
                        e,
                    )
                })?;
            let what = format!("EKS node group `{cluster}/{name}` version {version}");
            wait_update(&eks, cluster, Some(name), out.update(), &what).await?;
            ng = at.wait_active(UPDATE_DEADLINE, true).await?;
        }

        outputs(&ng)
    }

    /// For each cluster the recorded node groups name: ListNodegroups (one call per
    /// page), then DescribeNodegroup of each node group listed (EKS has no batch
    /// describe; the tags come with it). A cluster that is gone has none.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<EksNodeGroupSpec>,
    ) -> Result<Option<Vec<Live<EksNodeGroupSpec>>>, ProviderError> {
        let eks = c.eks(&scope.region);
        let mut live = Vec::new();
        for cluster in recorded_clusters(scope, |s| &s.cluster_name) {
            let listed = eks
                .list_nodegroups()
                .cluster_name(cluster)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| classify(&format!("ListNodegroups {cluster}"), e))
                .or_absent()?;
            for name in listed.unwrap_or_default() {
                let Some(ng) = describe(&eks, cluster, &name).await? else {
                    continue;
                };
                let tags = tags::from_map(ng.tags());
                let Some(id) = scope.owned(&tags) else {
                    continue;
                };
                if matches!(
                    ng.status(),
                    Some(
                        NodegroupStatus::Deleting
                            | NodegroupStatus::CreateFailed
                            | NodegroupStatus::DeleteFailed
                    )
                ) {
                    continue;
                }
                let recorded = scope.recorded(&id).map(|r| &r.spec);
                live.push(Live {
                    spec: live_spec(&ng, recorded),
                    outputs: outputs(&ng)?,
                    tags,
                    id,
                });
            }
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<EksNodeGroupSpec>,
    ) -> Result<(), ProviderError> {
        let cluster = resolved_str(&prior.spec.cluster_name, "cluster_name")?;
        let eks = c.eks(&prior.region);
        let name = &prior.outputs.name;
        NodegroupAt {
            eks: &eks,
            cluster,
            name,
        }
        .remove()
        .await
    }
}
