//! EKS clusters, managed node groups, add-ons and Pod Identity associations.

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

closed_set! {
    /// The AMI of a managed node group's nodes (`amiType`, EKS API spelling). `CUSTOM`
    /// is not here: it needs a launch template, which this kind does not take.
    AmiType, "AMI type" {
        /// Amazon Linux 2023, x86-64.
        Al2023X86_64Standard = "AL2023_x86_64_STANDARD",
        /// Amazon Linux 2023, Arm.
        Al2023Arm64Standard = "AL2023_ARM_64_STANDARD",
        /// Amazon Linux 2023 with NVIDIA drivers, x86-64.
        Al2023X86_64Nvidia = "AL2023_x86_64_NVIDIA",
        /// Amazon Linux 2023 with NVIDIA drivers, Arm.
        Al2023Arm64Nvidia = "AL2023_ARM_64_NVIDIA",
        /// Amazon Linux 2023 with the Neuron driver, x86-64.
        Al2023X86_64Neuron = "AL2023_x86_64_NEURON",
        /// Amazon Linux 2, x86-64 (Kubernetes 1.32 at most).
        Al2X86_64 = "AL2_x86_64",
        /// Amazon Linux 2 with GPU drivers, x86-64 (Kubernetes 1.32 at most).
        Al2X86_64Gpu = "AL2_x86_64_GPU",
        /// Amazon Linux 2, Arm (Kubernetes 1.32 at most).
        Al2Arm64 = "AL2_ARM_64",
        /// Bottlerocket, x86-64.
        BottlerocketX86_64 = "BOTTLEROCKET_x86_64",
        /// Bottlerocket, Arm.
        BottlerocketArm64 = "BOTTLEROCKET_ARM_64",
        /// Bottlerocket with NVIDIA drivers, x86-64.
        BottlerocketX86_64Nvidia = "BOTTLEROCKET_x86_64_NVIDIA",
        /// Bottlerocket with NVIDIA drivers, Arm.
        BottlerocketArm64Nvidia = "BOTTLEROCKET_ARM_64_NVIDIA",
        /// Bottlerocket, FIPS, x86-64.
        BottlerocketX86_64Fips = "BOTTLEROCKET_x86_64_FIPS",
        /// Bottlerocket, FIPS, Arm.
        BottlerocketArm64Fips = "BOTTLEROCKET_ARM_64_FIPS",
        /// Windows Server 2019 Core.
        WindowsCore2019 = "WINDOWS_CORE_2019_x86_64",
        /// Windows Server 2019 Full.
        WindowsFull2019 = "WINDOWS_FULL_2019_x86_64",
        /// Windows Server 2022 Core.
        WindowsCore2022 = "WINDOWS_CORE_2022_x86_64",
        /// Windows Server 2022 Full.
        WindowsFull2022 = "WINDOWS_FULL_2022_x86_64",
    }
}

/// The last Kubernetes version with Amazon Linux 2 node AMIs (EKS User Guide,
/// "Amazon EKS AL2 AMI deprecation": 1.32 is the last version for which EKS
/// releases AL2 AMIs).
pub const LAST_AL2_KUBERNETES: &str = "1.32";

impl AmiType {
    /// True for the Arm (Graviton) AMIs.
    pub fn is_arm(self) -> bool {
        self.as_str().contains("_ARM_64")
    }

    /// True for the Amazon Linux 2 AMIs.
    pub fn is_al2(self) -> bool {
        self.as_str().starts_with("AL2_")
    }
}

/// The Graviton (Arm) families of [`INSTANCE_FAMILIES`].
pub const ARM_FAMILIES: &[&str] = &["m6g", "m7g", "c6g", "c7g", "r6g", "t4g"];

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
    #[resource(change_rule = kubernetes_version_change)]
    /// Kubernetes version (`1.29`), raised in place by UpdateClusterVersion, one minor
    /// version per call as EKS requires: before each call the cluster's managed node
    /// groups are brought to the cluster's version (EKS refuses an upgrade while one
    /// lags), and after the cluster each node group's own step takes it to its declared
    /// `version`. Never lowered (refused in the plan).
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

/// The minor version of a Kubernetes version (`1.29` -> (1, 29)).
pub fn minor_of(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The cluster's `version`: raised in place (UpdateClusterVersion, a minor version at
/// a time); lowered, refused (EKS has no downgrade, and a new cluster would start
/// without its workloads).
pub fn kubernetes_version_change(c: &FieldValues<'_>) -> ChangeRule {
    match (
        c.before.and_then(serde_json::Value::as_str),
        c.after.and_then(serde_json::Value::as_str),
    ) {
        (Some(before), Some(after)) if crate::spec::rules::is_downgrade(before, after) => {
            ChangeRule::Refuse(format!(
                "Kubernetes {after} is older than the cluster's {before}: EKS upgrades a cluster in place but never downgrades one. Keep {before} (or a newer version); to run {after}, declare another cluster"
            ))
        }
        _ => ChangeRule::InPlace,
    }
}

/// A node group's `version`: raised in place (UpdateNodegroupVersion); lowered,
/// refused (EKS never downgrades a node group, and a new one takes only its
/// cluster's version).
pub fn node_group_version_change(c: &FieldValues<'_>) -> ChangeRule {
    match (
        c.before.and_then(serde_json::Value::as_str),
        c.after.and_then(serde_json::Value::as_str),
    ) {
        (Some(before), Some(after)) if crate::spec::rules::is_downgrade(before, after) => {
            ChangeRule::Refuse(format!(
                "Kubernetes {after} is older than the node group's {before}: EKS never downgrades a node group, and creates new ones only at their cluster's version. Keep {before}"
            ))
        }
        _ => ChangeRule::InPlace,
    }
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
    #[resource(change_rule = node_group_version_change)]
    /// Kubernetes version of the nodes (`1.29`): created at it (CreateNodegroup takes
    /// only the cluster's version), raised in place by UpdateNodegroupVersion after
    /// its cluster's upgrade, never lowered (refused). Its cluster's version or one
    /// minor older: EKS upgrades a cluster only while its node groups are at its
    /// version, so a node group never lags more. Empty: the cluster's version at
    /// creation, not managed afterwards (records made before the field).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[resource(change_rule = crate::spec::rules::chosen_once)]
    /// The nodes' AMI type (`AL2023_x86_64_STANDARD`, ...); unset, EKS chooses. No
    /// call changes it: another type forces replacement; set to the type the group
    /// has (checked), or unset, changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_type: Option<AmiType>,
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

impl EksNodeGroupSpec {
    /// The version is one EKS offers, its cluster's or one minor older (when the
    /// cluster is declared here), and not past the last AL2 AMIs for an AL2 AMI type.
    fn check_version(&self, cx: &mut SpecCheck<'_>) {
        if self.version.is_empty() {
            return;
        }
        let offered = &crate::offers::offers().eks.kubernetes_versions;
        if !offered.contains(&self.version) {
            cx.error(
                "version",
                crate::offers::not_offered("Kubernetes version", &self.version, offered),
            );
            return;
        }
        if let Some(ami) = self.ami_type.filter(|a| a.is_al2()) {
            if crate::spec::rules::is_downgrade(&self.version, LAST_AL2_KUBERNETES) {
                cx.error(
                    "ami_type",
                    format!(
                        "EKS publishes no {ami} AMI for Kubernetes {} ({LAST_AL2_KUBERNETES} is the last with Amazon Linux 2 AMIs): use an AL2023 or Bottlerocket AMI type (which replaces the node group)",
                        self.version
                    ),
                );
            }
        }
        let cluster = cx
            .referenced(&self.cluster_name)
            .and_then(|d| d.spec::<EksClusterSpec>().ok().map(|s| (d.id.clone(), s)));
        let Some((id, cluster)) = cluster else {
            return;
        };
        let (Some(mine), Some(theirs)) = (minor_of(&self.version), minor_of(&cluster.version))
        else {
            return;
        };
        if mine > theirs {
            cx.error(
                "version",
                format!(
                    "Kubernetes {} is newer than its cluster `{id}` ({}): a node group runs its cluster's version or an older one",
                    self.version, cluster.version
                ),
            );
        } else if mine.0 != theirs.0 || mine.1 + 1 < theirs.1 {
            cx.error(
                "version",
                format!(
                    "Kubernetes {} is more than one minor version behind its cluster `{id}` ({}): EKS upgrades a cluster only while its node groups are at its version, so a node group follows its cluster one minor version at a time; declare {} (or {})",
                    self.version,
                    cluster.version,
                    cluster.version,
                    format_args!("{}.{}", theirs.0, theirs.1.saturating_sub(1))
                ),
            );
        }
    }
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
        self.check_version(cx);
        if let Some(ami) = self.ami_type {
            let arm = self
                .instance_types
                .iter()
                .filter_map(|t| t.split_once('.'))
                .find(|(family, _)| ARM_FAMILIES.contains(family).ne(&ami.is_arm()));
            if let Some((family, size)) = arm {
                cx.error(
                    "ami_type",
                    format!(
                        "{ami} is for {} instances, but `{family}.{size}` is {}",
                        if ami.is_arm() {
                            "Arm (Graviton)"
                        } else {
                            "x86-64"
                        },
                        if ami.is_arm() {
                            "x86-64"
                        } else {
                            "Arm (Graviton)"
                        }
                    ),
                );
            }
        }
        for t in &self.instance_types {
            if !is_known_instance_type(t) {
                cx.error("instance_types", format!("unknown EC2 instance type `{t}`"));
            }
        }
    }
}

closed_set! {
    /// What an add-on's create or update does with settings changed outside EKS
    /// (`resolveConflicts`, EKS API spelling).
    ResolveConflicts, "conflict resolution" {
        /// EKS's values replace the ones found.
        Overwrite = "OVERWRITE",
        /// Nothing found is changed; the create or update may fail.
        Fail = "NONE",
        /// The values found are kept (updates only; a create treats it as `NONE`).
        Preserve = "PRESERVE",
    }
}

/// A Pod Identity association an add-on manages (CreateAddon
/// `podIdentityAssociations`): its service account takes `role_arn`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddonPodIdentity {
    /// The add-on's Kubernetes service account (`aws-node` for the VPC CNI).
    pub service_account: String,
    /// The IAM role (a Pod Identity trust policy).
    pub role_arn: Input<String>,
}

/// An EKS add-on (CreateAddon): AWS-managed software on the cluster, with its IAM
/// identity given by a Pod Identity association it manages or by an IRSA role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:eks/addon", outputs(name: String, arn: String))]
pub struct EksAddonSpec {
    #[resource(replace, unique)]
    /// The cluster (its `name` output). Forces replacement.
    pub cluster_name: Input<String>,
    #[resource(replace, unique)]
    /// The add-on (`vpc-cni`, `eks-pod-identity-agent`, ...). Forces replacement.
    pub addon_name: String,
    /// Its version (`v1.19.0-eksbuild.1`), changed in place (UpdateAddon); unset,
    /// EKS installs its default for the cluster's version and it is not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addon_version: Option<String>,
    /// An IAM role for service accounts (IRSA), changed in place (UpdateAddon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_role_arn: Option<Input<String>>,
    /// The Pod Identity associations the add-on manages, changed in place
    /// (UpdateAddon replaces the whole list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pod_identity_associations: Vec<AddonPodIdentity>,
    /// What a create or update does with settings changed outside EKS; sent with
    /// every call, read from no call (never drift).
    pub resolve_conflicts: ResolveConflicts,
}

impl ResourceSpec for EksAddonSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        if self.addon_name.is_empty() || self.addon_name.len() > 100 {
            cx.error("addon_name", "an add-on name has 1 to 100 characters");
        }
        if self.service_account_role_arn.is_some() && !self.pod_identity_associations.is_empty() {
            cx.error(
                "service_account_role_arn",
                "give the add-on one identity: a Pod Identity association or an IRSA role, not both",
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.pod_identity_associations {
            if !is_kubernetes_name(&p.service_account, 253) {
                cx.error(
                    "pod_identity_associations",
                    format!(
                        "`{}` is not a Kubernetes service account name",
                        p.service_account
                    ),
                );
            }
            if !seen.insert(&p.service_account) {
                cx.error(
                    "pod_identity_associations",
                    format!("service account `{}` appears twice: EKS takes one association per service account", p.service_account),
                );
            }
        }
    }
}

/// True for a Kubernetes object name of at most `max` characters: lowercase letters,
/// digits, `-` and `.`, starting and ending with a letter or digit (DNS-1123).
pub fn is_kubernetes_name(name: &str, max: usize) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && edge(name.chars().next())
        && edge(name.chars().last())
}

/// An EKS Pod Identity association (CreatePodIdentityAssociation): pods running as
/// `service_account` in `namespace` get the credentials of `role_arn`. EKS allows
/// one association per service account of a cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:eks/pod-identity-association", outputs(association_id: String, association_arn: String))]
pub struct EksPodIdentityAssociationSpec {
    #[resource(replace, unique)]
    /// The cluster (its `name` output). Forces replacement.
    pub cluster_name: Input<String>,
    #[resource(replace, unique)]
    /// The Kubernetes namespace. Forces replacement.
    pub namespace: String,
    #[resource(replace, unique)]
    /// The Kubernetes service account. Forces replacement.
    pub service_account: String,
    /// The IAM role, changed in place (UpdatePodIdentityAssociation).
    pub role_arn: Input<String>,
}

impl ResourceSpec for EksPodIdentityAssociationSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        // Namespaces are DNS-1123 labels (63 characters, no dots).
        if !is_kubernetes_name(&self.namespace, 63) || self.namespace.contains('.') {
            cx.error(
                "namespace",
                format!("`{}` is not a Kubernetes namespace name (lowercase letters, digits and `-`, at most 63)", self.namespace),
            );
        }
        if !is_kubernetes_name(&self.service_account, 253) {
            cx.error(
                "service_account",
                format!("`{}` is not a Kubernetes service account name (lowercase letters, digits, `-` and `.`, at most 253)", self.service_account),
            );
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
        assert_eq!(json!(ResolveConflicts::Fail), json!("NONE"));
    }

    #[test]
    fn kubernetes_names() {
        assert!(is_kubernetes_name("agent-runtime", 63));
        assert!(is_kubernetes_name("a.b-1", 253));
        for bad in ["", "Agent", "-a", "a-", "a_b", &"a".repeat(64)] {
            assert!(!is_kubernetes_name(bad, 63), "{bad}");
        }
    }
}
