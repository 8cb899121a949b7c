//! The EKS cluster driver.
//!
//! In place: the Kubernetes version (UpdateClusterVersion, one minor version per
//! update as EKS requires, so a jump of several is made in steps), endpoint access,
//! subnets and security groups, and control-plane logging (UpdateClusterConfig, one
//! kind of change per call as EKS requires), secrets encryption turned on for a
//! cluster that has none (AssociateEncryptionConfig) and tags. Each field is compared with what DescribeCluster reports
//! before anything is sent, because EKS rejects an update that changes nothing.
//!
//! EKS refuses to upgrade a cluster while any of its managed node groups is at an
//! older Kubernetes version ("Update existing cluster to new Kubernetes version",
//! EKS User Guide). So before each step, every node group of the cluster that lags
//! is brought to the cluster's version with UpdateNodegroupVersion; after the last,
//! each node group's own step (planned after the cluster's, the version it
//! declares) upgrades it. The plan holds node groups to their cluster's version or
//! one minor older, so a step never takes a node group past what it declares.
//!
//! A refresh lists the clusters (ListClusters) and describes each (EKS has no
//! batch describe; the tags come with DescribeCluster), so it reads every cluster
//! of the stack, known to state or not, whole.

use super::object::{accessors, EksObject, Phase};
use super::{sync_tags, wait_update, CLUSTER_DEADLINE, UPDATE_DEADLINE};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{like, Live, Scope};
use crate::kit::read::{self, filled};
use crate::kit::{
    described, required, resolved_all, resolved_str, tags, Changed, Desired, Recorded,
};
use async_trait::async_trait;
use aws_sdk_eks::types::{
    Cluster, ClusterStatus, EncryptionConfig, LogSetup, LogType as SdkLogType, Logging, Provider,
    VpcConfigRequest,
};
use aws_sdk_eks::Client;
use glinfra_core::spec::eks::{EksClusterOutputs, EksClusterSpec, LogType};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeSet;
use std::time::Duration;

/// The driver of `aws:eks/cluster`.
pub(crate) struct EksClusterDriver;

/// The cluster's outputs: `name`, `arn`, `endpoint`.
fn outputs(cl: &Cluster) -> Result<EksClusterOutputs, ProviderError> {
    Ok(EksClusterOutputs {
        name: required(cl.name(), "EKS cluster name")?.to_string(),
        arn: required(cl.arn(), "EKS cluster arn")?.to_string(),
        endpoint: cl.endpoint().unwrap_or_default().to_string(),
    })
}

/// The cluster named `name`, if there is one.
async fn describe(eks: &Client, name: &str) -> Result<Option<Cluster>, ProviderError> {
    let call = eks.describe_cluster().name(name).send();
    described(&format!("DescribeCluster {name}"), call, |o| o.cluster()).await
}

/// The cluster `name`, for the lifecycle every EKS resource shares.
struct ClusterAt<'a> {
    eks: &'a Client,
    name: &'a str,
}

#[async_trait]
impl EksObject for ClusterAt<'_> {
    type Live = Cluster;
    const KIND: &'static str = "EKS cluster";
    const DEADLINE: Duration = CLUSTER_DEADLINE;

    fn key(&self) -> String {
        self.name.to_string()
    }

    async fn describe(&self) -> Result<Option<Cluster>, ProviderError> {
        describe(self.eks, self.name).await
    }

    /// DeleteCluster; refused while node groups are attached (ResourceInUseException, retried).
    async fn delete_call(&self) -> Result<(), ProviderError> {
        let name = self.name;
        self.eks
            .delete_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteCluster {name}"), e))
            .map(drop)
    }

    /// A cluster has no DEGRADED; FAILED is a create that failed.
    fn phase(cl: &Cluster) -> Phase {
        match cl.status() {
            Some(ClusterStatus::Active) => Phase::Active,
            Some(ClusterStatus::Failed) => Phase::CreateFailed,
            Some(ClusterStatus::Deleting) => Phase::Deleting,
            _ => Phase::Changing,
        }
    }

    accessors!(Cluster);
}

/// The API's log type of `t`.
fn sdk_log_type(t: LogType) -> SdkLogType {
    match t {
        LogType::Api => SdkLogType::Api,
        LogType::Audit => SdkLogType::Audit,
        LogType::Authenticator => SdkLogType::Authenticator,
        LogType::ControllerManager => SdkLogType::ControllerManager,
        LogType::Scheduler => SdkLogType::Scheduler,
    }
}

/// The logging configuration: the enabled types on, every other type EKS knows off.
fn logging(enabled_types: &[LogType]) -> Logging {
    let mut enabled: Vec<LogType> = Vec::new();
    for t in enabled_types {
        if !enabled.contains(t) {
            enabled.push(*t);
        }
    }
    let disabled: Vec<LogType> = LogType::ALL
        .iter()
        .copied()
        .filter(|t| !enabled.contains(t))
        .collect();
    let mut logging = Logging::builder();
    for (types, on) in [(enabled, true), (disabled, false)] {
        if !types.is_empty() {
            logging = logging.cluster_logging(
                LogSetup::builder()
                    .set_types(Some(types.into_iter().map(sdk_log_type).collect()))
                    .enabled(on)
                    .build(),
            );
        }
    }
    logging.build()
}

/// The log types the cluster has enabled.
fn enabled_log_types(cl: &Cluster) -> BTreeSet<String> {
    cl.logging()
        .map(|l| l.cluster_logging())
        .unwrap_or_default()
        .iter()
        .filter(|s| s.enabled() == Some(true))
        .flat_map(|s| s.types().iter().map(|t| t.as_str().to_string()))
        .collect()
}

/// What the cluster `cl` is as a spec; sets in the `recorded` order when they
/// hold the same items, the secrets key as the record names it.
fn live_spec(cl: &Cluster, recorded: Option<&EksClusterSpec>) -> EksClusterSpec {
    let vpc = cl.resources_vpc_config();
    let logs: Vec<LogType> = enabled_log_types(cl)
        .iter()
        .filter_map(|t| t.parse().ok())
        .collect();
    let key = cl
        .encryption_config()
        .iter()
        .find_map(|e| e.provider()?.key_arn());
    EksClusterSpec {
        name: cl.name().unwrap_or_default().to_string(),
        version: cl.version().unwrap_or_default().to_string(),
        role_arn: cl.role_arn().unwrap_or_default().to_string().into(),
        subnet_ids: read::ids(
            vpc.map(|v| v.subnet_ids())
                .unwrap_or_default()
                .iter()
                .map(String::as_str),
            recorded.map(|r| r.subnet_ids.as_slice()),
        ),
        security_group_ids: read::ids(
            vpc.map(|v| v.security_group_ids())
                .unwrap_or_default()
                .iter()
                .map(String::as_str),
            recorded.map(|r| r.security_group_ids.as_slice()),
        ),
        endpoint_private_access: vpc.is_some_and(|v| v.endpoint_private_access()),
        endpoint_public_access: vpc.is_some_and(|v| v.endpoint_public_access()),
        enabled_log_types: like(logs, recorded.map(|r| r.enabled_log_types.as_slice())),
        secrets_kms_key_arn: filled(recorded.map(|r| &r.secrets_kms_key_arn), |r| {
            read::key(r, key)
        }),
    }
}

/// Brings every managed node group of cluster `name` that is at another
/// Kubernetes version to `version` (UpdateNodegroupVersion, each waited for).
async fn align_node_groups(eks: &Client, name: &str, version: &str) -> Result<(), ProviderError> {
    let mut token: Option<String> = None;
    let mut groups = Vec::new();
    loop {
        let page = eks
            .list_nodegroups()
            .cluster_name(name)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| classify(&format!("ListNodegroups {name}"), e))?;
        groups.extend(page.nodegroups().iter().cloned());
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    for group in groups {
        let ng = eks
            .describe_nodegroup()
            .cluster_name(name)
            .nodegroup_name(&group)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeNodegroup {name}/{group}"), e))?;
        if ng.nodegroup().and_then(|n| n.version()) == Some(version) {
            continue;
        }
        let out = eks
            .update_nodegroup_version()
            .cluster_name(name)
            .nodegroup_name(&group)
            .version(version)
            .send()
            .await
            .map_err(|e| {
                classify(
                    &format!("UpdateNodegroupVersion {name}/{group} to {version}"),
                    e,
                )
            })?;
        let what = format!("EKS node group `{group}` of `{name}` version {version}");
        wait_update(eks, name, Some(&group), out.update(), &what).await?;
    }
    Ok(())
}

/// The minor versions to pass through from `current` to `desired`, each one an update.
pub(super) fn version_steps(
    name: &str,
    current: &str,
    desired: &str,
) -> Result<Vec<String>, ProviderError> {
    if current == desired {
        return Ok(Vec::new());
    }
    let parse = |v: &str| {
        let (major, minor) = v.split_once('.')?;
        Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?))
    };
    match (parse(current), parse(desired)) {
        (Some((cur_major, cur_minor)), Some((major, minor))) if cur_major == major => {
            if minor < cur_minor {
                return Err(ProviderError::new(
                    ErrorClass::Invalid,
                    format!(
                        "EKS cluster `{name}` runs Kubernetes {current}; EKS cannot downgrade it to {desired}"
                    ),
                ));
            }
            Ok((cur_minor + 1..=minor)
                .map(|m| format!("{major}.{m}"))
                .collect())
        }
        // Not `major.minor`: one update, and EKS says whether it is possible.
        _ => Ok(vec![desired.to_string()]),
    }
}

/// Runs one UpdateClusterConfig (endpoint access or logging) and waits it out.
async fn update_config(
    eks: &Client,
    name: &str,
    vpc: Option<VpcConfigRequest>,
    logging: Option<Logging>,
    what: &str,
) -> Result<Cluster, ProviderError> {
    let out = eks
        .update_cluster_config()
        .name(name)
        .set_resources_vpc_config(vpc)
        .set_logging(logging)
        .send()
        .await
        .map_err(|e| classify(&format!("UpdateClusterConfig {name} ({what})"), e))?;
    let what = format!("{what} of EKS cluster `{name}`");
    wait_update(eks, name, None, out.update(), &what).await?;
    ClusterAt { eks, name }
        .wait_active(UPDATE_DEADLINE, false)
        .await
}

/// Turns on envelope encryption of secrets with `key` (AssociateEncryptionConfig) and
/// waits it out; nothing when the cluster already encrypts with `key`. A cluster
/// encrypting with another key is an error: EKS cannot change it (the plan replaces
/// such a cluster, so this means the cluster changed behind glinfra's back).
async fn associate_encryption(
    eks: &Client,
    cl: &Cluster,
    key: &str,
) -> Result<Cluster, ProviderError> {
    let name = required(cl.name(), "EKS cluster name")?;
    let live = cl
        .encryption_config()
        .iter()
        .find_map(|e| e.provider()?.key_arn());
    match live {
        Some(k) if k == key => return Ok(cl.clone()),
        Some(other) => {
            return Err(ProviderError::new(
                ErrorClass::Fatal,
                format!(
                    "EKS cluster `{name}` encrypts its secrets with `{other}`, not `{key}`: EKS cannot change the key of a cluster; only a new cluster can have another"
                ),
            ))
        }
        None => {}
    }
    #[allow(deprecated)]
    let config = EncryptionConfig::builder()
        .resources("secrets")
        .provider(Provider::builder().key_arn(key).build())
        .build();
    let out = eks
        .associate_encryption_config()
        .cluster_name(name)
        .encryption_config(config)
        .send()
        .await
        .map_err(|e| classify(&format!("AssociateEncryptionConfig {name}"), e))?;
    let what = format!("secrets encryption of EKS cluster `{name}`");
    wait_update(eks, name, None, out.update(), &what).await?;
    ClusterAt { eks, name }
        .wait_active(UPDATE_DEADLINE, false)
        .await
}

#[async_trait]
impl Driver for EksClusterDriver {
    type Spec = EksClusterSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<EksClusterSpec>,
    ) -> Result<Option<EksClusterOutputs>, ProviderError> {
        let eks = c.eks(&r.region);
        let name = r.spec.name.as_str();
        let found = ClusterAt { eks: &eks, name }.adopt(r, false).await?;
        found.as_ref().map(outputs).transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<EksClusterSpec>,
    ) -> Result<EksClusterOutputs, ProviderError> {
        let spec = &r.spec;
        let eks = c.eks(&r.region);
        let name = spec.name.as_str();
        let role_arn = resolved_str(&spec.role_arn, "role_arn")?;
        let vpc = VpcConfigRequest::builder()
            .set_subnet_ids(Some(resolved_all(&spec.subnet_ids, "subnet_ids")?))
            .set_security_group_ids(Some(resolved_all(
                &spec.security_group_ids,
                "security_group_ids",
            )?))
            .endpoint_private_access(spec.endpoint_private_access)
            .endpoint_public_access(spec.endpoint_public_access)
            .build();
        let encryption = match &spec.secrets_kms_key_arn {
            // `resources` is deprecated in the SDK (clusters from 1.28 on encrypt all API data
            // with envelope encryption anyway) but still the documented way to name the key.
            #[allow(deprecated)]
            Some(key) => Some(vec![EncryptionConfig::builder()
                .resources("secrets")
                .provider(
                    Provider::builder()
                        .key_arn(resolved_str(key, "secrets_kms_key_arn")?)
                        .build(),
                )
                .build()]),
            None => None,
        };
        let tags = tags::to_map(&r.owned_tags());
        // At most: a failed or deleting cluster of ours holding the name is cleared, then one more try.
        // The engine's token goes with the first try only: a try after clearing a cluster
        // is a new request (with the old token EKS would answer about the old cluster).
        let at = ClusterAt { eks: &eks, name };
        let created = at.create(r, false, |token| {
            let sent = eks
                .create_cluster()
                .name(name)
                .version(&spec.version)
                .role_arn(role_arn)
                .resources_vpc_config(vpc.clone())
                .logging(logging(&spec.enabled_log_types))
                .set_encryption_config(encryption.clone())
                .set_tags(Some(tags.clone()))
                .set_client_request_token(token)
                .send();
            async move {
                sent.await
                    .map(drop)
                    .map_err(|e| classify(&format!("CreateCluster {name}"), e))
            }
        });
        outputs(&created.await?)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<EksClusterSpec>,
        r: &Desired<EksClusterSpec>,
        changed: Changed<'_>,
    ) -> Result<EksClusterOutputs, ProviderError> {
        let spec = &r.spec;
        let eks = c.eks(&r.region);
        let name = spec.name.as_str();
        let mut cl = ClusterAt { eks: &eks, name }.settled().await?;

        if changed.has("tags") {
            let arn = required(cl.arn(), "EKS cluster arn")?.to_string();
            let full = changed.0.is_empty();
            sync_tags(&eks, &arn, cl.tags(), &r.owned_tags(), &prior.tags, full).await?;
        }

        if changed.any(&["endpoint_private_access", "endpoint_public_access"]) {
            let live = cl
                .resources_vpc_config()
                .map(|v| (v.endpoint_private_access(), v.endpoint_public_access()));
            if live != Some((spec.endpoint_private_access, spec.endpoint_public_access)) {
                let vpc = VpcConfigRequest::builder()
                    .endpoint_private_access(spec.endpoint_private_access)
                    .endpoint_public_access(spec.endpoint_public_access)
                    .build();
                cl = update_config(&eks, name, Some(vpc), None, "endpoint access").await?;
            }
        }

        if changed.any(&["subnet_ids", "security_group_ids"]) {
            let live = cl.resources_vpc_config();
            let live_subnets: BTreeSet<&str> = live
                .map(|v| v.subnet_ids().iter().map(String::as_str).collect())
                .unwrap_or_default();
            let live_groups: BTreeSet<&str> = live
                .map(|v| v.security_group_ids().iter().map(String::as_str).collect())
                .unwrap_or_default();
            let subnets = resolved_all(&spec.subnet_ids, "subnet_ids")?;
            let groups = resolved_all(&spec.security_group_ids, "security_group_ids")?;
            let same = |want: &[String], live: &BTreeSet<&str>| {
                want.iter().map(String::as_str).collect::<BTreeSet<_>>() == *live
            };
            if !same(&subnets, &live_subnets) || !same(&groups, &live_groups) {
                let vpc = VpcConfigRequest::builder()
                    .set_subnet_ids(Some(subnets))
                    .set_security_group_ids(Some(groups))
                    .build();
                cl = update_config(&eks, name, Some(vpc), None, "subnets and security groups")
                    .await?;
            }
        }

        if changed.has("secrets_kms_key_arn") {
            if let Some(key) = &spec.secrets_kms_key_arn {
                let key = resolved_str(key, "secrets_kms_key_arn")?;
                cl = associate_encryption(&eks, &cl, key).await?;
            }
        }

        if changed.has("enabled_log_types") {
            let desired: BTreeSet<String> = spec
                .enabled_log_types
                .iter()
                .map(|t| t.as_str().to_string())
                .collect();
            if enabled_log_types(&cl) != desired {
                let logs = logging(&spec.enabled_log_types);
                cl = update_config(&eks, name, None, Some(logs), "logging").await?;
            }
        }

        if changed.has("version") {
            let current = cl.version().unwrap_or_default().to_string();
            let steps = version_steps(name, &current, &spec.version)?;
            let mut at = current;
            for step in steps {
                // EKS refuses the upgrade while a node group lags the cluster.
                align_node_groups(&eks, name, &at).await?;
                let out = eks
                    .update_cluster_version()
                    .name(name)
                    .version(&step)
                    .send()
                    .await
                    .map_err(|e| classify(&format!("UpdateClusterVersion {name} to {step}"), e))?;
                let what = format!("EKS cluster `{name}` version {step}");
                wait_update(&eks, name, None, out.update(), &what).await?;
                cl = ClusterAt { eks: &eks, name }
                    .wait_active(UPDATE_DEADLINE, false)
                    .await?;
                at = step;
            }
        }

        outputs(&cl)
    }

    /// ListClusters (one call per page), then DescribeCluster of each cluster listed
    /// (EKS has no batch describe; the tags come with it).
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<EksClusterSpec>,
    ) -> Result<Option<Vec<Live<EksClusterSpec>>>, ProviderError> {
        let eks = c.eks(&scope.region);
        let names: Vec<String> = crate::kit::all_items!(eks.list_clusters(), "ListClusters")?;
        let mut live = Vec::new();
        for name in names {
            // Gone since it was listed: not there.
            let Some(cl) = describe(&eks, &name).await? else {
                continue;
            };
            let tags = tags::from_map(cl.tags());
            let Some(id) = scope.owned(&tags) else {
                continue;
            };
            if matches!(
                cl.status(),
                Some(ClusterStatus::Deleting | ClusterStatus::Failed)
            ) {
                continue;
            }
            let recorded = scope.recorded(&id).map(|r| &r.spec);
            live.push(Live {
                spec: Some(live_spec(&cl, recorded)),
                outputs: outputs(&cl)?,
                tags,
                id,
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<EksClusterSpec>,
    ) -> Result<(), ProviderError> {
        let eks = c.eks(&prior.region);
        ClusterAt {
            eks: &eks,
            name: &prior.outputs.name,
        }
        .remove()
        .await
    }
}
