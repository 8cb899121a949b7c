//! Cache subnet groups: CreateCacheSubnetGroup, ModifyCacheSubnetGroup (description
//! and subnets, in place), DeleteCacheSubnetGroup; tags on the group's ARN.
//!
//! Deletion is synchronous; a group still used by a cache cluster on its way out is
//! Retryable, so the executor tries again once the cluster is gone.
//!
//! A refresh reads every field: DescribeCacheSubnetGroups carries the description,
//! the subnets and the VPC.

use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::named::{self, named, Named};
use crate::kit::read::{self, filled};
use crate::kit::{required, resolved_all, tags, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_elasticache::types::CacheSubnetGroup;
use aws_sdk_elasticache::Client;
use glinfra_core::spec::elasticache::{CacheSubnetGroupOutputs, CacheSubnetGroupSpec};
use glinfra_core::Input;
use glinfra_engine::ProviderError;

/// The driver of `aws:elasticache/subnet-group`.
pub(crate) struct CacheSubnetGroupDriver;

fn outputs(group: &CacheSubnetGroup) -> Result<CacheSubnetGroupOutputs, ProviderError> {
    Ok(CacheSubnetGroupOutputs {
        name: required(group.cache_subnet_group_name(), "CacheSubnetGroup name")?.to_string(),
        vpc_id: required(group.vpc_id(), "CacheSubnetGroup VPC id")?.to_string(),
    })
}

named!(CacheSubnetGroupDriver {
    client: elasticache -> Client,
    what: "ElastiCache cache subnet group",
    describe: describe_cache_subnet_groups(cache_subnet_group_name) -> cache_subnet_groups
        where cache_subnet_group_name, "DescribeCacheSubnetGroups",
    group: CacheSubnetGroup, name: cache_subnet_group_name, arn: arn "CacheSubnetGroup ARN",
    outputs: outputs,
});

#[async_trait]
impl Driver for CacheSubnetGroupDriver {
    type Spec = CacheSubnetGroupSpec;
    const TAGGING: Option<&'static str> = Some("elasticache");

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<CacheSubnetGroupSpec>,
    ) -> Result<Option<CacheSubnetGroupOutputs>, ProviderError> {
        named::find::<Self>(c, r).await
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<CacheSubnetGroupSpec>,
    ) -> Result<CacheSubnetGroupOutputs, ProviderError> {
        let name = &r.spec.name;
        let sent = c
            .elasticache(&r.region)
            .create_cache_subnet_group()
            .cache_subnet_group_name(name)
            .cache_subnet_group_description(&r.spec.description)
            .set_subnet_ids(Some(resolved_all(&r.spec.subnet_ids, "subnet_ids")?))
            .set_tags(Some(tags::to_sdk(&r.owned_tags())?))
            .send();
        let operation = &format!("CreateCacheSubnetGroup {name}");
        named::create(self, c, r, operation, sent, |out| async move {
            outputs(required(out.cache_subnet_group(), operation)?)
        })
        .await
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<CacheSubnetGroupSpec>,
        r: &Desired<CacheSubnetGroupSpec>,
        changed: Changed<'_>,
    ) -> Result<CacheSubnetGroupOutputs, ProviderError> {
        let ec = c.elasticache(&r.region);
        let name = &prior.outputs.name;
        let description = changed.has("description");
        let subnets = changed.has("subnet_ids");
        let mut group = None;
        if description || subnets {
            let out = ec
                .modify_cache_subnet_group()
                .cache_subnet_group_name(name)
                .set_cache_subnet_group_description(description.then(|| r.spec.description.clone()))
                .set_subnet_ids(if subnets {
                    Some(resolved_all(&r.spec.subnet_ids, "subnet_ids")?)
                } else {
                    None
                })
                .send()
                .await
                .map_err(|e| classify(&format!("ModifyCacheSubnetGroup {name}"), e))?;
            group = out.cache_subnet_group().cloned();
        }
        if changed.has("tags") {
            // The modification's answer carries the ARN; otherwise it is described.
            let group = match group.filter(|g| g.arn().is_some()) {
                Some(g) => g,
                None => named::existing::<Self>(&ec, name).await?,
            };
            tags::update(&ec, Self::arn(&group)?, prior, r, changed).await?;
        }
        // A subnet group cannot leave its VPC: the outputs stay as recorded.
        Ok(prior.outputs.clone())
    }

    /// DescribeCacheSubnetGroups (one call per page), then ListTagsForResource of
    /// each group state recorded ([`named::observe`]); groups state does not know
    /// are not read.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<CacheSubnetGroupSpec>,
    ) -> Result<Option<Vec<Live<CacheSubnetGroupSpec>>>, ProviderError> {
        let mut live = Vec::new();
        for s in named::observe::<Self>(c, scope).await? {
            let (g, recorded) = (&s.group, &s.recorded.spec);
            let spec = CacheSubnetGroupSpec {
                vpc_id: filled(Some(&recorded.vpc_id), |_| {
                    g.vpc_id().map(|v| Input::Value(v.to_string()))
                }),
                name: recorded.name.clone(),
                description: g.cache_subnet_group_description().unwrap_or("").to_string(),
                subnet_ids: read::ids(
                    g.subnets().iter().filter_map(|s| s.subnet_identifier()),
                    Some(&recorded.subnet_ids),
                ),
            };
            live.push(s.live(spec)?);
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<CacheSubnetGroupSpec>,
    ) -> Result<(), ProviderError> {
        let name = &prior.outputs.name;
        let ec = c.elasticache(&prior.region);
        let sent = ec
            .delete_cache_subnet_group()
            .cache_subnet_group_name(name)
            .send();
        let operation = &format!("DeleteCacheSubnetGroup {name}");
        let busy = "a cache cluster still uses it; it is being deleted first";
        named::delete(operation, sent, &["CacheSubnetGroupInUse"], busy).await?;
        Ok(())
    }
}
