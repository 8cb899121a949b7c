//! The EKS Pod Identity association driver.
//!
//! EKS allows one association per service account of a cluster, so `find` lists
//! the cluster's associations for the namespace and service account
//! (ListPodIdentityAssociations filters by both) and describes what it lists for
//! its tags. The role changes in place (UpdatePodIdentityAssociation), tags with
//! TagResource / UntagResource. Every call is synchronous: no wait.
//!
//! A refresh reads associations through the clusters their records name: one
//! ListPodIdentityAssociations per cluster (paginated), then
//! DescribePodIdentityAssociation of each listed (the list carries neither role nor
//! tags). Associations an add-on owns (`ownerArn` set) are the add-on's, skipped.

use super::{recorded_clusters, sync_tags, IN_USE};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::{
    described, ensure_owned, required, resolved_str, tags, Absent, Changed, Desired, Recorded,
};
use async_trait::async_trait;
use aws_sdk_eks::types::{PodIdentityAssociation, PodIdentityAssociationSummary};
use aws_sdk_eks::Client;
use glinfra_core::spec::eks::{EksPodIdentityAssociationOutputs, EksPodIdentityAssociationSpec};
use glinfra_core::Input;
use glinfra_engine::{ErrorClass, ProviderError};

/// The driver of `aws:eks/pod-identity-association`.
pub(crate) struct EksPodIdentityDriver;

fn outputs(a: &PodIdentityAssociation) -> Result<EksPodIdentityAssociationOutputs, ProviderError> {
    Ok(EksPodIdentityAssociationOutputs {
        association_id: required(a.association_id(), "EKS association id")?.to_string(),
        association_arn: required(a.association_arn(), "EKS association arn")?.to_string(),
    })
}

/// The association `id` of `cluster`, if there is one (none when the cluster is gone).
async fn describe(
    eks: &Client,
    cluster: &str,
    id: &str,
) -> Result<Option<PodIdentityAssociation>, ProviderError> {
    let call = eks
        .describe_pod_identity_association()
        .cluster_name(cluster)
        .association_id(id)
        .send();
    let what = format!("DescribePodIdentityAssociation {cluster}/{id}");
    described(&what, call, |o| o.association()).await
}

/// Every association of `cluster` (of `namespace`/`service_account` when given):
/// none when the cluster is gone.
async fn list(
    eks: &Client,
    cluster: &str,
    filter: Option<(&str, &str)>,
) -> Result<Vec<PodIdentityAssociationSummary>, ProviderError> {
    let listed = eks
        .list_pod_identity_associations()
        .cluster_name(cluster)
        .set_namespace(filter.map(|f| f.0.to_string()))
        .set_service_account(filter.map(|f| f.1.to_string()))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify(&format!("ListPodIdentityAssociations {cluster}"), e))
        .or_absent()?;
    Ok(listed.unwrap_or_default())
}

/// The association of `namespace`/`service_account` in `cluster`, described.
async fn lookup(
    eks: &Client,
    cluster: &str,
    namespace: &str,
    service_account: &str,
) -> Result<Option<PodIdentityAssociation>, ProviderError> {
    let listed = list(eks, cluster, Some((namespace, service_account))).await?;
    // The filter is the server's: trusted no further than the names it returns.
    let Some(id) = listed
        .iter()
        .find(|s| s.namespace() == Some(namespace) && s.service_account() == Some(service_account))
        .and_then(|s| s.association_id())
    else {
        return Ok(None);
    };
    describe(eks, cluster, id).await
}

/// The found association's outputs when it is this resource's; AlreadyExists naming
/// the owner when it is someone else's.
fn adopt(
    a: &PodIdentityAssociation,
    r: &Desired<EksPodIdentityAssociationSpec>,
) -> Result<EksPodIdentityAssociationOutputs, ProviderError> {
    let what = format!(
        "EKS Pod Identity association `{}/{}/{}`",
        a.cluster_name().unwrap_or_default(),
        a.namespace().unwrap_or_default(),
        a.service_account().unwrap_or_default()
    );
    ensure_owned(&what, &tags::from_map(a.tags()), r)?;
    outputs(a)
}

/// What the association `a` is as a spec.
fn live_spec(
    a: &PodIdentityAssociation,
    recorded: Option<&EksPodIdentityAssociationSpec>,
) -> EksPodIdentityAssociationSpec {
    let role = a.role_arn().unwrap_or_default();
    EksPodIdentityAssociationSpec {
        cluster_name: a.cluster_name().unwrap_or_default().to_string().into(),
        namespace: a.namespace().unwrap_or_default().to_string(),
        service_account: a.service_account().unwrap_or_default().to_string(),
        role_arn: match recorded {
            Some(r) if r.role_arn.value().map(String::as_str) == Some(role) => r.role_arn.clone(),
            _ => Input::Value(role.to_string()),
        },
    }
}

#[async_trait]
impl Driver for EksPodIdentityDriver {
    type Spec = EksPodIdentityAssociationSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<EksPodIdentityAssociationSpec>,
    ) -> Result<Option<EksPodIdentityAssociationOutputs>, ProviderError> {
        let eks = c.eks(&r.region);
        let cluster = resolved_str(&r.spec.cluster_name, "cluster_name")?;
        match lookup(&eks, cluster, &r.spec.namespace, &r.spec.service_account).await? {
            Some(a) => adopt(&a, r).map(Some),
            None => Ok(None),
        }
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<EksPodIdentityAssociationSpec>,
    ) -> Result<EksPodIdentityAssociationOutputs, ProviderError> {
        let spec = &r.spec;
        let eks = c.eks(&r.region);
        let cluster = resolved_str(&spec.cluster_name, "cluster_name")?;
        let role = resolved_str(&spec.role_arn, "role_arn")?;
        let (ns, sa) = (spec.namespace.as_str(), spec.service_account.as_str());
        let sent = eks
            .create_pod_identity_association()
            .cluster_name(cluster)
            .namespace(ns)
            .service_account(sa)
            .role_arn(role)
            .set_tags(Some(tags::to_map(&r.owned_tags())))
            .set_client_request_token(r.token())
            .send()
            .await
            .map_err(|e| {
                classify(
                    &format!("CreatePodIdentityAssociation {cluster}/{ns}/{sa}"),
                    e,
                )
            });
        match sent {
            Ok(out) => outputs(required(out.association(), "EKS association")?),
            // The service account has an association already: ours (an earlier
            // attempt's answer lost) is adopted, anyone else's is theirs.
            Err(err) if err.has_code(&[IN_USE]) => match lookup(&eks, cluster, ns, sa).await? {
                Some(a) => adopt(&a, r),
                None => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<EksPodIdentityAssociationSpec>,
        r: &Desired<EksPodIdentityAssociationSpec>,
        changed: Changed<'_>,
    ) -> Result<EksPodIdentityAssociationOutputs, ProviderError> {
        let eks = c.eks(&r.region);
        let cluster = resolved_str(&r.spec.cluster_name, "cluster_name")?;
        let id = prior.outputs.association_id.as_str();
        let a = describe(&eks, cluster, id).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::NotFound,
                format!("EKS Pod Identity association `{cluster}/{id}` not found"),
            )
        })?;
        if changed.has("tags") {
            let arn = required(a.association_arn(), "EKS association arn")?;
            let full = changed.0.is_empty();
            sync_tags(&eks, arn, a.tags(), &r.owned_tags(), &prior.tags, full).await?;
        }
        let role = resolved_str(&r.spec.role_arn, "role_arn")?;
        if changed.has("role_arn") && a.role_arn() != Some(role) {
            let out = eks
                .update_pod_identity_association()
                .cluster_name(cluster)
                .association_id(id)
                .role_arn(role)
                .send()
                .await
                .map_err(|e| {
                    classify(&format!("UpdatePodIdentityAssociation {cluster}/{id}"), e)
                })?;
            return outputs(required(out.association(), "EKS association")?);
        }
        outputs(&a)
    }

    /// For each cluster the recorded associations name: ListPodIdentityAssociations
    /// (one call per page), then DescribePodIdentityAssociation of each association
    /// not owned by an add-on (the list has no role and no tags). A cluster that is
    /// gone has none.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<EksPodIdentityAssociationSpec>,
    ) -> Result<Option<Vec<Live<EksPodIdentityAssociationSpec>>>, ProviderError> {
        let eks = c.eks(&scope.region);
        let mut live = Vec::new();
        for cluster in recorded_clusters(scope, |s| &s.cluster_name) {
            for summary in list(&eks, cluster, None).await? {
                let Some(id) = summary
                    .association_id()
                    .filter(|_| summary.owner_arn().is_none())
                else {
                    continue;
                };
                let Some(a) = describe(&eks, cluster, id).await? else {
                    continue;
                };
                let tags = tags::from_map(a.tags());
                let Some(logical) = scope.owned(&tags) else {
                    continue;
                };
                let recorded = scope.recorded(&logical).map(|r| &r.spec);
                live.push(Live {
                    spec: Some(live_spec(&a, recorded)),
                    outputs: outputs(&a)?,
                    tags,
                    id: logical,
                });
            }
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<EksPodIdentityAssociationSpec>,
    ) -> Result<(), ProviderError> {
        let cluster = resolved_str(&prior.spec.cluster_name, "cluster_name")?;
        let id = prior.outputs.association_id.as_str();
        c.eks(&prior.region)
            .delete_pod_identity_association()
            .cluster_name(cluster)
            .association_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DeletePodIdentityAssociation {cluster}/{id}"), e))
            .or_gone()
    }
}
