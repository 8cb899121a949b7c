//! Cache subnet groups: CreateCacheSubnetGroup, ModifyCacheSubnetGroup (description
//! and subnets, in place), DeleteCacheSubnetGroup; tags on the group's ARN.
//!
//! Deletion is synchronous; a group still used by a cache cluster on its way out is
//! Retryable, so the executor tries again once the cluster is gone.

use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::tags::{self, ensure_ours};
use crate::kit::{
    create_or_existing, required, resolved_all, Absent, Changed, Desired, Made, Recorded,
};
use async_trait::async_trait;
use aws_sdk_elasticache::types::CacheSubnetGroup;
use aws_sdk_elasticache::Client;
use glinfra_core::spec::elasticache::{CacheSubnetGroupOutputs, CacheSubnetGroupSpec};
use glinfra_engine::{ErrorClass, ProviderError};

/// The driver of `aws:elasticache/subnet-group`.
pub(crate) struct CacheSubnetGroupDriver;

fn what(name: &str) -> String {
    format!("ElastiCache cache subnet group `{name}`")
}

fn outputs(group: &CacheSubnetGroup) -> Result<CacheSubnetGroupOutputs, ProviderError> {
    Ok(CacheSubnetGroupOutputs {
        name: required(group.cache_subnet_group_name(), "CacheSubnetGroup name")?.to_string(),
        vpc_id: required(group.vpc_id(), "CacheSubnetGroup VPC id")?.to_string(),
    })
}

fn arn_of(group: &CacheSubnetGroup) -> Result<&str, ProviderError> {
    required(group.arn(), "CacheSubnetGroup ARN")
}

/// The subnet group named `name`, if there is one.
async fn describe(ec: &Client, name: &str) -> Result<Option<CacheSubnetGroup>, ProviderError> {
    let found = ec
        .describe_cache_subnet_groups()
        .cache_subnet_group_name(name)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeCacheSubnetGroups {name}"), e))
        .or_absent()?;
    Ok(found.and_then(|out| {
        out.cache_subnet_groups()
            .iter()
            .find(|g| g.cache_subnet_group_name() == Some(name))
            .cloned()
    }))
}

/// The group `r` names when it is `r`'s (an AlreadyExists error when it is someone else's).
async fn lookup(
    ec: &Client,
    r: &Desired<CacheSubnetGroupSpec>,
) -> Result<Option<CacheSubnetGroup>, ProviderError> {
    let name = &r.spec.name;
    let Some(group) = describe(ec, name).await? else {
        return Ok(None);
    };
    ensure_ours(ec, &what(name), arn_of(&group)?, r).await?;
    Ok(Some(group))
}

#[async_trait]
impl Driver for CacheSubnetGroupDriver {
    type Spec = CacheSubnetGroupSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<CacheSubnetGroupSpec>,
    ) -> Result<Option<CacheSubnetGroupOutputs>, ProviderError> {
        lookup(&c.elasticache(&r.region), r)
            .await?
            .as_ref()
            .map(outputs)
            .transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<CacheSubnetGroupSpec>,
    ) -> Result<CacheSubnetGroupOutputs, ProviderError> {
        let ec = c.elasticache(&r.region);
        let name = &r.spec.name;
        let sent = ec
            .create_cache_subnet_group()
            .cache_subnet_group_name(name)
            .cache_subnet_group_description(&r.spec.description)
            .set_subnet_ids(Some(resolved_all(&r.spec.subnet_ids, "subnet_ids")?))
            .set_tags(Some(tags::to_sdk(&r.owned_tags())?))
            .send();
        let made = create_or_existing(
            &what(name),
            async {
                sent.await
                    .map_err(|e| classify(&format!("CreateCacheSubnetGroup {name}"), e))
            },
            || lookup(&ec, r),
        )
        .await?;
        match made {
            Made::Created(out) => outputs(required(
                out.cache_subnet_group(),
                &format!("CreateCacheSubnetGroup {name}"),
            )?),
            // An earlier attempt made it: brought in line with the spec.
            Made::Existing(group) => {
                let prior = Recorded::adopted(r, outputs(&group)?);
                self.update(c, &prior, r, Changed::ALL).await
            }
        }
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
                None => describe(&ec, name).await?.ok_or_else(|| {
                    ProviderError::new(ErrorClass::NotFound, format!("{} not found", what(name)))
                })?,
            };
            let want = r.owned_tags();
            tags::sync(
                &ec,
                arn_of(&group)?,
                &want,
                &prior.tags,
                changed.everything(),
            )
            .await?;
        }
        // A subnet group cannot leave its VPC: the outputs stay as recorded.
        Ok(prior.outputs.clone())
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<CacheSubnetGroupSpec>,
    ) -> Result<(), ProviderError> {
        let name = &prior.outputs.name;
        c.elasticache(&prior.region)
            .delete_cache_subnet_group()
            .cache_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| {
                let err = classify(&format!("DeleteCacheSubnetGroup {name}"), e);
                if err.has_code(&["CacheSubnetGroupInUse"]) {
                    err.reclassified(
                        ErrorClass::Retryable,
                        "a cache cluster still uses it; it is being deleted first",
                    )
                } else {
                    err
                }
            })
            .or_gone()
    }
}
