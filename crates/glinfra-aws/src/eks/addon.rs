//! The EKS add-on driver.
//!
//! An add-on is known by its cluster and name. CreateAddon installs it with its
//! identity (Pod Identity associations it manages, or an IRSA role); the version
//! and the identity change in place with UpdateAddon, an asynchronous update
//! followed to `Successful` (DescribeUpdate with the add-on's name); tags with
//! TagResource / UntagResource. An add-on is usable once ACTIVE; DEGRADED (the
//! add-on runs but, say, no node is there yet for its pods) counts, with a warning.
//!
//! The associations an add-on manages are reported by DescribeAddon as ARNs, so
//! reading them (to compare and to refresh) describes each one.
//!
//! A refresh reads add-ons through the clusters their records name: ListAddons
//! per cluster, then DescribeAddon of each (tags come with it).

use super::object::{accessors, EksObject, Phase};
use super::{follow_update, recorded_clusters, sync_tags, UPDATE_DEADLINE};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::read::filled;
use crate::kit::{
    build_error, described, required, resolved_opt, resolved_str, tags, Absent, Changed, Desired,
    Recorded,
};
use async_trait::async_trait;
use aws_sdk_eks::types::{
    Addon, AddonPodIdentityAssociations, AddonStatus, ResolveConflicts as SdkResolve,
};
use aws_sdk_eks::Client;
use glinfra_core::spec::eks::{AddonPodIdentity, EksAddonOutputs, EksAddonSpec, ResolveConflicts};
use glinfra_core::Input;
use glinfra_engine::ProviderError;
use std::time::Duration;

/// How long an add-on may take to become ACTIVE after its create, or to go after its delete.
const ADDON_DEADLINE: Duration = Duration::from_secs(20 * 60);

/// The driver of `aws:eks/addon`.
pub(crate) struct EksAddonDriver;

fn outputs(a: &Addon) -> Result<EksAddonOutputs, ProviderError> {
    Ok(EksAddonOutputs {
        name: required(a.addon_name(), "EKS add-on name")?.to_string(),
        arn: required(a.addon_arn(), "EKS add-on arn")?.to_string(),
    })
}

/// The add-on `name` of `cluster`, if there is one (none when the cluster is gone).
async fn describe(eks: &Client, cluster: &str, name: &str) -> Result<Option<Addon>, ProviderError> {
    let call = eks
        .describe_addon()
        .cluster_name(cluster)
        .addon_name(name)
        .send();
    described(&format!("DescribeAddon {cluster}/{name}"), call, |o| {
        o.addon()
    })
    .await
}

/// The add-on `name` of `cluster`, for the lifecycle every EKS resource shares.
struct AddonAt<'a> {
    eks: &'a Client,
    cluster: &'a str,
    name: &'a str,
}

#[async_trait]
impl EksObject for AddonAt<'_> {
    type Live = Addon;
    const KIND: &'static str = "EKS add-on";
    const DEADLINE: Duration = ADDON_DEADLINE;

    fn key(&self) -> String {
        format!("{}/{}", self.cluster, self.name)
    }

    async fn describe(&self) -> Result<Option<Addon>, ProviderError> {
        describe(self.eks, self.cluster, self.name).await
    }

    /// DeleteAddon: its software removed from the cluster.
    async fn delete_call(&self) -> Result<(), ProviderError> {
        let (cluster, name) = (self.cluster, self.name);
        self.eks
            .delete_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteAddon {cluster}/{name}"), e))
            .map(drop)
    }

    fn phase(a: &Addon) -> Phase {
        match a.status() {
            Some(AddonStatus::Active) => Phase::Active,
            Some(AddonStatus::Degraded) => Phase::Degraded,
            Some(AddonStatus::CreateFailed) => Phase::CreateFailed,
            Some(AddonStatus::UpdateFailed) => Phase::UpdateFailed,
            Some(AddonStatus::DeleteFailed) => Phase::DeleteFailed,
            Some(AddonStatus::Deleting) => Phase::Deleting,
            _ => Phase::Changing,
        }
    }

    accessors!(Addon);
}

fn sdk_resolve(r: ResolveConflicts) -> SdkResolve {
    match r {
        ResolveConflicts::Overwrite => SdkResolve::Overwrite,
        ResolveConflicts::Fail => SdkResolve::None,
        ResolveConflicts::Preserve => SdkResolve::Preserve,
    }
}

/// The spec's associations as the API takes them.
fn sdk_identities(spec: &EksAddonSpec) -> Result<Vec<AddonPodIdentityAssociations>, ProviderError> {
    spec.pod_identity_associations
        .iter()
        .map(|p| {
            AddonPodIdentityAssociations::builder()
                .service_account(&p.service_account)
                .role_arn(resolved_str(&p.role_arn, "pod_identity_associations")?)
                .build()
                .map_err(build_error("add-on Pod Identity association"))
        })
        .collect()
}

/// The (service account, role) of each association the add-on manages, by
/// service account; an association gone meanwhile is left out.
async fn identities(eks: &Client, a: &Addon) -> Result<Vec<(String, String)>, ProviderError> {
    let cluster = a.cluster_name().unwrap_or_default();
    let mut found = Vec::new();
    for arn in a.pod_identity_associations() {
        // arn:aws:eks:REGION:ACCOUNT:podidentityassociation/CLUSTER/ID
        let id = arn.rsplit('/').next().unwrap_or_default();
        let out = eks
            .describe_pod_identity_association()
            .cluster_name(cluster)
            .association_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribePodIdentityAssociation {cluster}/{id}"), e))
            .or_absent()?;
        if let Some(p) = out.as_ref().and_then(|o| o.association()) {
            found.push((
                p.service_account().unwrap_or_default().to_string(),
                p.role_arn().unwrap_or_default().to_string(),
            ));
        }
    }
    found.sort();
    Ok(found)
}

/// The spec's associations as (service account, role), sorted.
fn wanted(spec: &EksAddonSpec) -> Result<Vec<(String, String)>, ProviderError> {
    let mut want = spec
        .pod_identity_associations
        .iter()
        .map(|p| {
            resolved_str(&p.role_arn, "pod_identity_associations")
                .map(|role| (p.service_account.clone(), role.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    want.sort();
    Ok(want)
}

/// What the add-on is as a spec, its associations read as `identities`.
fn live_spec(
    a: &Addon,
    identities: Vec<(String, String)>,
    recorded: Option<&EksAddonSpec>,
) -> EksAddonSpec {
    let keep = |live: &str, rec: Option<&Input<String>>| match rec {
        Some(r) if r.value().map(String::as_str) == Some(live) => r.clone(),
        _ => Input::Value(live.to_string()),
    };
    let mut pods: Vec<AddonPodIdentity> = identities
        .into_iter()
        .map(|(sa, role)| {
            let rec = recorded.and_then(|r| {
                r.pod_identity_associations
                    .iter()
                    .find(|p| p.service_account == sa)
            });
            AddonPodIdentity {
                role_arn: keep(&role, rec.map(|p| &p.role_arn)),
                service_account: sa,
            }
        })
        .collect();
    if let Some(r) = recorded {
        // The recorded order, when the same service accounts are there.
        let order = |p: &AddonPodIdentity| {
            r.pod_identity_associations
                .iter()
                .position(|q| q.service_account == p.service_account)
        };
        pods.sort_by_key(order);
    }
    EksAddonSpec {
        cluster_name: a.cluster_name().unwrap_or_default().to_string().into(),
        addon_name: a.addon_name().unwrap_or_default().to_string(),
        addon_version: filled(recorded.map(|r| &r.addon_version), |_| {
            a.addon_version().map(str::to_owned)
        }),
        service_account_role_arn: a.service_account_role_arn().map(|live| {
            keep(
                live,
                recorded.and_then(|r| r.service_account_role_arn.as_ref()),
            )
        }),
        pod_identity_associations: pods,
        // Read from no call: as recorded.
        resolve_conflicts: recorded.map_or(ResolveConflicts::Overwrite, |r| r.resolve_conflicts),
    }
}

#[async_trait]
impl Driver for EksAddonDriver {
    type Spec = EksAddonSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<EksAddonSpec>,
    ) -> Result<Option<EksAddonOutputs>, ProviderError> {
        let eks = c.eks(&r.region);
        let cluster = resolved_str(&r.spec.cluster_name, "cluster_name")?;
        let name = r.spec.addon_name.as_str();
        let found = AddonAt {
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
        r: &Desired<EksAddonSpec>,
    ) -> Result<EksAddonOutputs, ProviderError> {
        let spec = &r.spec;
        let eks = c.eks(&r.region);
        let cluster = resolved_str(&spec.cluster_name, "cluster_name")?;
        let name = spec.addon_name.as_str();
        let role = resolved_opt(
            spec.service_account_role_arn.as_ref(),
            "service_account_role_arn",
        )?;
        let pods = sdk_identities(spec)?;
        let tags = tags::to_map(&r.owned_tags());
        let at = AddonAt {
            eks: &eks,
            cluster,
            name,
        };
        let created = at.create(r, true, |token| {
            let sent = eks
                .create_addon()
                .cluster_name(cluster)
                .addon_name(name)
                .set_addon_version(spec.addon_version.clone())
                .set_service_account_role_arn(role.clone())
                .set_pod_identity_associations((!pods.is_empty()).then(|| pods.clone()))
                .resolve_conflicts(sdk_resolve(spec.resolve_conflicts))
                .set_tags(Some(tags.clone()))
                .set_client_request_token(token)
                .send();
            async move {
                sent.await
                    .map(drop)
                    .map_err(|e| classify(&format!("CreateAddon {cluster}/{name}"), e))
            }
        });
        outputs(&created.await?)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<EksAddonSpec>,
        r: &Desired<EksAddonSpec>,
        changed: Changed<'_>,
    ) -> Result<EksAddonOutputs, ProviderError> {
        let spec = &r.spec;
        let eks = c.eks(&r.region);
        let cluster = resolved_str(&spec.cluster_name, "cluster_name")?;
        let name = spec.addon_name.as_str();
        let a = AddonAt {
            eks: &eks,
            cluster,
            name,
        }
        .settled()
        .await?;
        if changed.has("tags") {
            let arn = required(a.addon_arn(), "EKS add-on arn")?.to_string();
            let full = changed.0.is_empty();
            sync_tags(&eks, &arn, a.tags(), &r.owned_tags(), &prior.tags, full).await?;
        }
        // Each setting is sent only when it differs from what the add-on has: EKS
        // refuses an update that changes nothing.
        let version = spec
            .addon_version
            .clone()
            .filter(|v| changed.has("addon_version") && a.addon_version() != Some(v.as_str()));
        let role = resolved_opt(
            spec.service_account_role_arn.as_ref(),
            "service_account_role_arn",
        )?
        .filter(|v| {
            changed.has("service_account_role_arn")
                && a.service_account_role_arn() != Some(v.as_str())
        });
        let pods = if changed.has("pod_identity_associations")
            && identities(&eks, &a).await? != wanted(spec)?
        {
            // The whole list: UpdateAddon replaces it (an empty list removes them).
            Some(sdk_identities(spec)?)
        } else {
            None
        };
        if version.is_none() && role.is_none() && pods.is_none() {
            return outputs(&a);
        }
        let out = eks
            .update_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .set_addon_version(version)
            .set_service_account_role_arn(role)
            .set_pod_identity_associations(pods)
            .resolve_conflicts(sdk_resolve(spec.resolve_conflicts))
            .send()
            .await
            .map_err(|e| classify(&format!("UpdateAddon {cluster}/{name}"), e))?;
        let what = format!("EKS add-on `{cluster}/{name}`");
        follow_update(
            &eks,
            cluster,
            super::UpdateOf::Addon(name),
            out.update(),
            &what,
        )
        .await?;
        outputs(
            &AddonAt {
                eks: &eks,
                cluster,
                name,
            }
            .wait_active(UPDATE_DEADLINE, true)
            .await?,
        )
    }

    /// For each cluster the recorded add-ons name: ListAddons (one call per page),
    /// then DescribeAddon of each (tags come with it) and a
    /// DescribePodIdentityAssociation per association an add-on of ours manages.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<EksAddonSpec>,
    ) -> Result<Option<Vec<Live<EksAddonSpec>>>, ProviderError> {
        let eks = c.eks(&scope.region);
        let mut live = Vec::new();
        for cluster in recorded_clusters(scope, |s| &s.cluster_name) {
            let listed = eks
                .list_addons()
                .cluster_name(cluster)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| classify(&format!("ListAddons {cluster}"), e))
                .or_absent()?;
            for name in listed.unwrap_or_default() {
                let Some(a) = describe(&eks, cluster, &name).await? else {
                    continue;
                };
                let tags = tags::from_map(a.tags());
                let Some(id) = scope.owned(&tags) else {
                    continue;
                };
                if matches!(
                    a.status(),
                    Some(
                        AddonStatus::Deleting
                            | AddonStatus::CreateFailed
                            | AddonStatus::DeleteFailed
                    )
                ) {
                    continue;
                }
                let recorded = scope.recorded(&id).map(|r| &r.spec);
                let pods = identities(&eks, &a).await?;
                live.push(Live {
                    spec: Some(live_spec(&a, pods, recorded)),
                    outputs: outputs(&a)?,
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
        prior: &Recorded<EksAddonSpec>,
    ) -> Result<(), ProviderError> {
        let cluster = resolved_str(&prior.spec.cluster_name, "cluster_name")?;
        let eks = c.eks(&prior.region);
        let name = &prior.spec.addon_name;
        AddonAt {
            eks: &eks,
            cluster,
            name,
        }
        .remove()
        .await
    }
}
