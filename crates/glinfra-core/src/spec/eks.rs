//! EKS clusters and managed node groups.

use super::closed_set;
use crate::input::Input;
use crate::kind::{ChangeRule, FieldValues};
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

closed_set! {
    /// A control-plane log type (EKS API spelling).
    LogType, "log type" {
        /// The Kubernetes API server.
        Api = "api",
        /// The audit log.
        Audit = "audit",
        /// The authenticator.
        Authenticator = "authenticator",
        /// The controller manager.
        ControllerManager = "controllerManager",
        /// The scheduler.
        Scheduler = "scheduler",
    }
}

closed_set! {
    /// How a node group's instances are bought.
    CapacityType, "capacity type" {
        /// On-Demand instances.
        OnDemand = "ON_DEMAND",
        /// Spot instances.
        Spot = "SPOT",
    }
}

closed_set! {
    /// The effect of a Kubernetes taint (EKS API spelling).
    TaintEffect, "taint effect" {
        /// Kubernetes `NoSchedule`.
        NoSchedule = "NO_SCHEDULE",
        /// Kubernetes `NoExecute`.
        NoExecute = "NO_EXECUTE",
        /// Kubernetes `PreferNoSchedule`.
        PreferNoSchedule = "PREFER_NO_SCHEDULE",
    }
}

/// EC2 instance families glinfra accepts for node groups.
pub const INSTANCE_FAMILIES: &[&str] = &[
    "m5", "m6i", "m6a", "m6g", "m7i", "m7g", "c5", "c6i", "c6a", "c6g", "c7i", "c7g", "r5", "r6i",
    "r6g", "r7i", "t3", "t3a", "t4g", "g4dn", "g5", "g6", "p4d", "p5", "inf2",
];
/// EC2 instance sizes.
pub const INSTANCE_SIZES: &[&str] = &[
    "nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge",
    "12xlarge", "16xlarge", "24xlarge", "32xlarge", "48xlarge", "metal",
];

/// True when `instance_type` is `<known family>.<known size>`.
pub fn is_known_instance_type(instance_type: &str) -> bool {
    instance_type.split_once('.').is_some_and(|(family, size)| {
        INSTANCE_FAMILIES.contains(&family) && INSTANCE_SIZES.contains(&size)
    })
}

/// The most control-plane security groups a cluster takes (EKS User Guide, "Amazon
/// EKS service quotas": "Control plane security groups per cluster", 4, not adjustable).
pub const MAX_CONTROL_PLANE_SECURITY_GROUPS: usize = 4;

/// The most nodes a managed node group has by default (EKS User Guide, "Amazon EKS
/// service quotas": "Nodes per managed node group", 450; CreateNodegroup's
/// `scalingConfig.maxSize` refers to that page). The quota can be raised; glinfra
/// holds to the default, so a stack asking for more fails here rather than after
/// the cluster is made.
pub const MAX_NODES_PER_NODE_GROUP: i32 = 450;

/// An EKS cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:eks/cluster", outputs(name: String, arn: String, endpoint: String))]
pub struct EksClusterSpec {
    #[resource(replace, unique)]
    /// Cluster name. Forces replacement.
    pub name: String,
    /// Kubernetes version (`1.29`); UpdateClusterVersion raises it in place, one minor at a time.
    pub version: String,
    #[resource(replace)]
    /// The cluster IAM role. Forces replacement.
    pub role_arn: Input<String>,
    #[resource(change_rule = subnets_change)]
    /// Subnets for the control plane's network interfaces (UpdateClusterConfig
    /// `resourcesVpcConfig`, within the cluster's VPC: in place while one recorded
    /// subnet stays; all of them changed (another VPC, say) replaces the cluster).
    pub subnet_ids: Vec<Input<String>>,
    /// Extra security groups for the control plane (UpdateClusterConfig
    /// `resourcesVpcConfig`).
    #[serde(default)]
    pub security_group_ids: Vec<Input<String>>,
    /// Private API endpoint (UpdateClusterConfig).
    pub endpoint_private_access: bool,
    /// Public API endpoint (UpdateClusterConfig).
    pub endpoint_public_access: bool,
    /// Enabled control-plane log types (UpdateClusterConfig).
    pub enabled_log_types: Vec<LogType>,
    #[resource(change_rule = secrets_encryption_change)]
    /// KMS key for envelope encryption of Kubernetes secrets. Added to a cluster that
    /// has none, in place (AssociateEncryptionConfig); removed or changed, forces
    /// replacement (EKS can neither turn it off nor change its key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_kms_key_arn: Option<Input<String>>,
}

/// `subnet_ids`: in place (UpdateClusterConfig) while at least one recorded subnet
/// stays, which keeps the cluster in its VPC; when none does (the VPC replaced, or
/// another one), a replacement: EKS cannot move a cluster to another VPC.
pub fn subnets_change(c: &FieldValues<'_>) -> ChangeRule {
    let kept = match (c.before, c.after) {
        (Some(serde_json::Value::Array(b)), Some(serde_json::Value::Array(a))) => {
            b.iter().any(|s| a.contains(s))
        }
        _ => false,
    };
    if kept {
        ChangeRule::InPlace
    } else {
        ChangeRule::Replace
    }
}

/// `secrets_kms_key_arn`: added, in place (AssociateEncryptionConfig); removed or
/// another key, a replacement (EKS User Guide, "Encrypt Kubernetes secrets with KMS
/// on existing clusters": encryption cannot be disabled or its key changed).
pub fn secrets_encryption_change(c: &FieldValues<'_>) -> ChangeRule {
    if c.before.is_none() {
        ChangeRule::InPlace
    } else {
        ChangeRule::Replace
    }
}

impl ResourceSpec for EksClusterSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        let offered = &crate::offers::offers().eks.kubernetes_versions;
        if !offered.contains(&self.version) {
            cx.error(
                "version",
                crate::offers::not_offered("Kubernetes version", &self.version, offered),
            );
        }
        crate::names::EKS_CLUSTER.check(cx, "name", &self.name);
        if self.security_group_ids.len() > MAX_CONTROL_PLANE_SECURITY_GROUPS {
            cx.error(
                "security_group_ids",
                format!(
                    "{} security groups: an EKS cluster takes at most {MAX_CONTROL_PLANE_SECURITY_GROUPS}, a quota AWS does not raise (Amazon EKS service quotas: \"Control plane security groups per cluster\", default 4, not adjustable)",
                    self.security_group_ids.len()
                ),
            );
        }
        if self.subnet_ids.len() < 2 {
            cx.error(
                "subnet_ids",
                "EKS needs subnets in at least two availability zones",
            );
        }
        if !self.endpoint_private_access && !self.endpoint_public_access {
            cx.error(
                "endpoint_public_access",
                "at least one of the private and public endpoints must be on",
            );
        }
    }
}

/// A Kubernetes taint on a node group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taint {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
    /// `NO_SCHEDULE`, `NO_EXECUTE` or `PREFER_NO_SCHEDULE`.
    pub effect: TaintEffect,
}

/// An EKS managed node group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:eks/node-group", outputs(name: String, arn: String))]
pub struct EksNodeGroupSpec {
    #[resource(replace, unique)]
    /// The cluster (its `name` output). Forces replacement.
    pub cluster_name: Input<String>,
    #[resource(replace, unique)]
    /// Node group name. Forces replacement.
    pub name: String,
    #[resource(replace)]
    /// The node IAM role. Forces replacement.
    pub node_role_arn: Input<String>,
    #[resource(replace)]
    /// Subnets of the nodes. Forces replacement.
    pub subnet_ids: Vec<Input<String>>,
    #[resource(replace)]
    /// Instance types. Forces replacement.
    pub instance_types: Vec<String>,
    #[resource(replace)]
    /// `ON_DEMAND` or `SPOT`. Forces replacement.
    pub capacity_type: CapacityType,
    #[resource(replace)]
    /// Root volume size in GiB. Forces replacement.
    pub disk_size: i32,
    /// Scaling minimum (UpdateNodegroupConfig).
    pub min_size: i32,
    /// Scaling maximum (UpdateNodegroupConfig).
    pub max_size: i32,
    /// Desired size (UpdateNodegroupConfig).
    pub desired_size: i32,
    /// Kubernetes labels (UpdateNodegroupConfig).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints (UpdateNodegroupConfig).
    #[serde(default)]
    pub taints: Vec<Taint>,
}

impl ResourceSpec for EksNodeGroupSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        crate::names::EKS_NODE_GROUP.check(cx, "name", &self.name);
        if self.max_size > MAX_NODES_PER_NODE_GROUP {
            cx.error(
                "max_size",
                format!(
                    "{} nodes: a managed node group has at most {MAX_NODES_PER_NODE_GROUP} by default (Amazon EKS service quotas: \"Nodes per managed node group\", 450); split the pool into more node groups",
                    self.max_size
                ),
            );
        }
        if !(self.min_size <= self.desired_size && self.desired_size <= self.max_size) {
            cx.error(
                "desired_size",
                format!(
                    "needs min <= desired <= max, got {} <= {} <= {}",
                    self.min_size, self.desired_size, self.max_size
                ),
            );
        }
        if self.min_size < 0 || self.max_size < 1 {
            cx.error(
                "max_size",
                format!(
                    "sizes must be min >= 0 and max >= 1, got {} and {}",
                    self.min_size, self.max_size
                ),
            );
        }
        if !(1..=16384).contains(&self.disk_size) {
            cx.error(
                "disk_size",
                format!("must be 1 to 16384 GiB, got {}", self.disk_size),
            );
        }
        if self.instance_types.is_empty() {
            cx.error("instance_types", "at least one instance type is needed");
        }
        for t in &self.instance_types {
            if !is_known_instance_type(t) {
                cx.error("instance_types", format!("unknown EC2 instance type `{t}`"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn closed_sets_serialise_as_the_api_strings() {
        assert_eq!(json!(CapacityType::OnDemand), json!("ON_DEMAND"));
        assert_eq!(json!(CapacityType::Spot), json!("SPOT"));
        assert_eq!(
            json!(TaintEffect::PreferNoSchedule),
            json!("PREFER_NO_SCHEDULE")
        );
        assert_eq!(
            json!(LogType::ControllerManager),
            json!("controllerManager")
        );
        for t in LogType::ALL {
            let back: LogType = serde_json::from_value(json!(t.as_str())).unwrap();
            assert_eq!(back, *t);
            assert_eq!(t.as_str().parse::<LogType>(), Ok(*t));
        }
        assert_eq!(TaintEffect::NoExecute, "NO_EXECUTE");
        let err = "NoSchedule".parse::<TaintEffect>().unwrap_err();
        assert!(err.contains("unknown taint effect `NoSchedule`"), "{err}");
        assert!(serde_json::from_value::<CapacityType>(json!("RESERVED")).is_err());
    }
}
