//! The EKS cluster driver.
//!
//! In place: the Kubernetes version (UpdateClusterVersion, one minor version per
//! update as EKS requires, so a jump of several is made in steps), endpoint access
//! and control-plane logging (UpdateClusterConfig, one kind of change per call as
//! EKS requires) and tags. Each field is compared with what DescribeCluster reports
//! before anything is sent, because EKS rejects an update that changes nothing.

use super::{
    apply_tags, check_owner, find_for_delete, none_if_missing, resolved, resolved_all, sdk_tags,
    tag_changes, wait_update, wants, CLUSTER_DEADLINE, IN_USE, POLL, UPDATE_DEADLINE,
};
use crate::clients::Clients;
use crate::error::classify;
use crate::wait::{self, Poll};
use aws_sdk_eks::types::{
    Cluster, ClusterStatus, EncryptionConfig, LogSetup, LogType, Logging, Provider,
    VpcConfigRequest,
};
use aws_sdk_eks::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::spec::eks::{EksClusterSpec, LOG_TYPES};
use glinfra_core::ResourceState;
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// The cluster's outputs: `name`, `arn`, `endpoint`.
pub(super) fn outputs(cl: &Cluster) -> Outputs {
    let mut out = Outputs::new();
    for (key, value) in [
        ("name", cl.name()),
        ("arn", cl.arn()),
        ("endpoint", cl.endpoint()),
    ] {
        out.insert(
            key.into(),
            Value::String(value.unwrap_or_default().to_string()),
        );
    }
    out
}

/// The cluster named `name`, if there is one.
async fn describe(eks: &Client, name: &str) -> Result<Option<Cluster>, ProviderError> {
    let out = none_if_missing(
        eks.describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeCluster {name}"), e)),
    )?;
    Ok(out.and_then(|o| o.cluster().cloned()))
}

/// The cluster's health issues, as a suffix for a message.
fn health(cl: &Cluster) -> String {
    let issues: Vec<String> = cl
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

fn status_of(cl: &Cluster) -> &str {
    cl.status().map(|s| s.as_str()).unwrap_or("no status")
}

/// Waits until the cluster is ACTIVE; FAILED is an error naming its health issues.
async fn wait_active(
    eks: &Client,
    name: &str,
    deadline: Duration,
) -> Result<Cluster, ProviderError> {
    wait::until(
        &format!("EKS cluster `{name}` to be ACTIVE"),
        deadline,
        POLL,
        || async {
            let Some(cl) = describe(eks, name).await? else {
                return Ok(Poll::Pending("not found".into()));
            };
            match cl.status() {
                Some(ClusterStatus::Active) => Ok(Poll::Ready(cl)),
                Some(ClusterStatus::Failed) => Err(ProviderError::new(
                    ErrorClass::Fatal,
                    format!("EKS cluster `{name}` is FAILED{}", health(&cl)),
                )),
                Some(ClusterStatus::Deleting) => Err(ProviderError::new(
                    ErrorClass::Retryable,
                    format!("EKS cluster `{name}` is being deleted"),
                )),
                _ => Ok(Poll::Pending(status_of(&cl).to_string())),
            }
        },
    )
    .await
}

/// Waits until DescribeCluster no longer finds the cluster.
async fn wait_gone(eks: &Client, name: &str) -> Result<(), ProviderError> {
    wait::until(
        &format!("EKS cluster `{name}` to be deleted"),
        CLUSTER_DEADLINE,
        POLL,
        || async {
            Ok(match describe(eks, name).await? {
                None => Poll::Ready(()),
                Some(cl) => Poll::Pending(status_of(&cl).to_string()),
            })
        },
    )
    .await
}

/// Deletes the cluster and waits until it is gone; gone already is success.
async fn remove(eks: &Client, name: &str) -> Result<(), ProviderError> {
    if let Err(e) = eks.delete_cluster().name(name).send().await {
        let err = classify(&format!("DeleteCluster {name}"), e);
        if err.class == ErrorClass::NotFound {
            return Ok(());
        }
        // A cluster already being deleted (an earlier attempt) is waited for; anything
        // else, such as node groups still attached (ResourceInUseException, retried), is the error.
        match describe(eks, name).await? {
            None => return Ok(()),
            Some(cl) if cl.status() == Some(&ClusterStatus::Deleting) => {}
            Some(_) => return Err(err),
        }
    }
    wait_gone(eks, name).await
}

pub(super) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: EksClusterSpec = r.spec()?;
    let eks = c.eks(&r.region);
    let name = spec.name.as_str();
    let Some(cl) = describe(&eks, name).await? else {
        return Ok(None);
    };
    check_owner(&format!("EKS cluster `{name}`"), cl.tags(), r)?;
    match cl.status() {
        Some(ClusterStatus::Active) => Ok(Some(outputs(&cl))),
        Some(ClusterStatus::Deleting) => {
            wait_gone(&eks, name).await?;
            Ok(None)
        }
        Some(ClusterStatus::Failed) => {
            tracing::warn!(cluster = %name, "not adopting our EKS cluster: it is FAILED{}", health(&cl));
            Ok(None)
        }
        // CREATING, UPDATING, PENDING: usable soon.
        _ => Ok(Some(outputs(
            &wait_active(&eks, name, CLUSTER_DEADLINE).await?,
        ))),
    }
}

/// The logging configuration: the enabled types on, every other type EKS knows off.
fn logging(enabled_types: &[String]) -> Logging {
    let mut enabled: Vec<LogType> = Vec::new();
    for t in enabled_types {
        let t = LogType::from(t.as_str());
        if !enabled.contains(&t) {
            enabled.push(t);
        }
    }
    let disabled: Vec<LogType> = LOG_TYPES
        .iter()
        .map(|t| LogType::from(*t))
        .filter(|t| !enabled.contains(t))
        .collect();
    let mut logging = Logging::builder();
    for (types, on) in [(enabled, true), (disabled, false)] {
        if !types.is_empty() {
            logging = logging.cluster_logging(
                LogSetup::builder()
                    .set_types(Some(types))
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

pub(super) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: EksClusterSpec = r.spec()?;
    let eks = c.eks(&r.region);
    let name = spec.name.as_str();
    let role_arn = resolved(&spec.role_arn, "role_arn")?;
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
                    .key_arn(resolved(key, "secrets_kms_key_arn")?)
                    .build(),
            )
            .build()]),
        None => None,
    };
    // At most: a failed or deleting cluster of ours holding the name is cleared, then one more try.
    for _ in 0..3 {
        let sent = eks
            .create_cluster()
            .name(name)
            .version(&spec.version)
            .role_arn(role_arn)
            .resources_vpc_config(vpc.clone())
            .logging(logging(&spec.enabled_log_types))
            .set_encryption_config(encryption.clone())
            .set_tags(Some(sdk_tags(&r.tags)))
            .send()
            .await;
        let e = match sent {
            Ok(_) => return Ok(outputs(&wait_active(&eks, name, CLUSTER_DEADLINE).await?)),
            Err(e) => e,
        };
        let in_use = e.code() == Some(IN_USE);
        let err = classify(&format!("CreateCluster {name}"), e);
        if !in_use {
            return Err(err);
        }
        // The name is taken: by an earlier attempt of ours (its response lost), by a
        // failed or departing cluster of ours, or by someone else.
        let Some(cl) = describe(&eks, name).await? else {
            return Err(err);
        };
        check_owner(&format!("EKS cluster `{name}`"), cl.tags(), r)?;
        match cl.status() {
            Some(ClusterStatus::Failed) => {
                tracing::warn!(cluster = %name, "deleting our FAILED EKS cluster to create it again{}", health(&cl));
                remove(&eks, name).await?;
            }
            Some(ClusterStatus::Deleting) => wait_gone(&eks, name).await?,
            _ => return Ok(outputs(&wait_active(&eks, name, CLUSTER_DEADLINE).await?)),
        }
    }
    Err(ProviderError::new(
        ErrorClass::Retryable,
        format!("EKS cluster name `{name}` is still taken"),
    ))
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

pub(super) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    let spec: EksClusterSpec = r.spec()?;
    let eks = c.eks(&r.region);
    let name = spec.name.as_str();
    let mut cl = describe(&eks, name).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::NotFound,
            format!("EKS cluster `{name}` not found"),
        )
    })?;
    if cl.status() != Some(&ClusterStatus::Active) {
        // EKS takes one update at a time: let a running one finish first.
        cl = wait_active(&eks, name, UPDATE_DEADLINE).await?;
    }

    if wants(changed, "tags") {
        let arn = cl.arn().unwrap_or_default().to_string();
        let changes = tag_changes(cl.tags(), &r.tags, &prior.tags, changed.is_empty());
        apply_tags(&eks, &arn, changes).await?;
    }

    if wants(changed, "endpoint_private_access") || wants(changed, "endpoint_public_access") {
        let live = cl
            .resources_vpc_config()
            .map(|v| (v.endpoint_private_access(), v.endpoint_public_access()));
        if live != Some((spec.endpoint_private_access, spec.endpoint_public_access)) {
            let out = eks
                .update_cluster_config()
                .name(name)
                .resources_vpc_config(
                    VpcConfigRequest::builder()
                        .endpoint_private_access(spec.endpoint_private_access)
                        .endpoint_public_access(spec.endpoint_public_access)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| {
                    classify(&format!("UpdateClusterConfig {name} (endpoint access)"), e)
                })?;
            let what = format!("endpoint access of EKS cluster `{name}`");
            wait_update(&eks, name, None, out.update(), &what).await?;
            cl = wait_active(&eks, name, UPDATE_DEADLINE).await?;
        }
    }

    if wants(changed, "enabled_log_types") {
        let desired: BTreeSet<String> = spec.enabled_log_types.iter().cloned().collect();
        if enabled_log_types(&cl) != desired {
            let out = eks
                .update_cluster_config()
                .name(name)
                .logging(logging(&spec.enabled_log_types))
                .send()
                .await
                .map_err(|e| classify(&format!("UpdateClusterConfig {name} (logging)"), e))?;
            let what = format!("logging of EKS cluster `{name}`");
            wait_update(&eks, name, None, out.update(), &what).await?;
            cl = wait_active(&eks, name, UPDATE_DEADLINE).await?;
        }
    }

    if wants(changed, "version") {
        let current = cl.version().unwrap_or_default().to_string();
        for step in version_steps(name, &current, &spec.version)? {
            let out = eks
                .update_cluster_version()
                .name(name)
                .version(&step)
                .send()
                .await
                .map_err(|e| classify(&format!("UpdateClusterVersion {name} to {step}"), e))?;
            let what = format!("EKS cluster `{name}` version {step}");
            wait_update(&eks, name, None, out.update(), &what).await?;
            cl = wait_active(&eks, name, UPDATE_DEADLINE).await?;
        }
    }

    Ok(outputs(&cl))
}

pub(super) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let eks = c.eks(&prior.region);
    let recorded = if prior.outputs.is_empty() {
        // A create whose end was not recorded: delete what it made, if anything.
        match find_for_delete(c, id, prior).await? {
            Some(found) => found,
            None => return Ok(()),
        }
    } else {
        prior.outputs.clone()
    };
    let name = recorded
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Fatal,
                format!("EKS cluster `{id}`: no name recorded"),
            )
        })?;
    remove(&eks, name).await
}
