//! Cache subnet groups: CreateCacheSubnetGroup, ModifyCacheSubnetGroup (description
//! and subnets, in place), DeleteCacheSubnetGroup; tags on the group's ARN.

use super::{
    absent, adopted_state, check_owner, classify_busy, ec_tags, gone_ok, output, sync_tags, values,
    Wants,
};
use crate::error::classify;
use aws_sdk_elasticache::types::CacheSubnetGroup;
use aws_sdk_elasticache::Client;
use glinfra_core::spec::elasticache::CacheSubnetGroupSpec;
use glinfra_core::ResourceState;
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;

const WHAT: &str = "cache subnet group";

fn outputs(name: &str) -> Outputs {
    Outputs::from([("name".to_string(), Value::String(name.to_string()))])
}

/// The subnet group named `name`, if there is one.
async fn describe(ec: &Client, name: &str) -> Result<Option<CacheSubnetGroup>, ProviderError> {
    let found = absent(
        ec.describe_cache_subnet_groups()
            .cache_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeCacheSubnetGroups {name}"), e)),
    )?;
    Ok(found.and_then(|out| {
        out.cache_subnet_groups()
            .iter()
            .find(|g| g.cache_subnet_group_name() == Some(name))
            .cloned()
    }))
}

fn arn_of<'a>(group: &'a CacheSubnetGroup, name: &str) -> Result<&'a str, ProviderError> {
    group.arn().ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!("DescribeCacheSubnetGroups {name}: the group has no ARN"),
        )
    })
}

pub(super) async fn find(
    ec: &Client,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: CacheSubnetGroupSpec = r.spec()?;
    let Some(group) = describe(ec, &spec.name).await? else {
        return Ok(None);
    };
    let tags = super::list_tags(ec, arn_of(&group, &spec.name)?, &[]).await?;
    check_owner(WHAT, &spec.name, &tags, r)?;
    Ok(Some(outputs(&spec.name)))
}

pub(super) async fn create(ec: &Client, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: CacheSubnetGroupSpec = r.spec()?;
    let name = spec.name.as_str();
    let created = ec
        .create_cache_subnet_group()
        .cache_subnet_group_name(name)
        .cache_subnet_group_description(&spec.description)
        .set_subnet_ids(Some(values(r, "subnet_ids", &spec.subnet_ids)?))
        .set_tags(Some(ec_tags(&r.tags)))
        .send()
        .await;
    match created {
        Ok(_) => Ok(outputs(name)),
        Err(e) => {
            let err = classify(&format!("CreateCacheSubnetGroup {name}"), e);
            if err.class != ErrorClass::AlreadyExists {
                return Err(err);
            }
            // An earlier attempt made it, or someone else did: only ours is adopted,
            // and then brought in line with the spec.
            let Some(found) = find(ec, r).await? else {
                return Err(ProviderError::new(
                    ErrorClass::Retryable,
                    format!("{WHAT} `{name}` was reported to exist, then not found"),
                )
                .with_source(err));
            };
            update(ec, &adopted_state(r, found), r, Wants::ALL).await
        }
    }
}

pub(super) async fn update(
    ec: &Client,
    prior: &ResourceState,
    r: &ResolvedResource,
    wants: Wants<'_>,
) -> Result<Outputs, ProviderError> {
    let spec: CacheSubnetGroupSpec = r.spec()?;
    let name = spec.name.as_str();
    let description = wants.field("description");
    let subnets = wants.field("subnet_ids");
    let mut group = None;
    if description || subnets {
        let out = ec
            .modify_cache_subnet_group()
            .cache_subnet_group_name(name)
            .set_cache_subnet_group_description(description.then(|| spec.description.clone()))
            .set_subnet_ids(if subnets {
                Some(values(r, "subnet_ids", &spec.subnet_ids)?)
            } else {
                None
            })
            .send()
            .await
            .map_err(|e| classify(&format!("ModifyCacheSubnetGroup {name}"), e))?;
        group = out.cache_subnet_group().cloned();
    }
    if wants.field("tags") {
        let group = match group.filter(|g| g.arn().is_some()) {
            Some(g) => g,
            None => describe(ec, name).await?.ok_or_else(|| {
                ProviderError::new(ErrorClass::NotFound, format!("{WHAT} `{name}` not found"))
            })?,
        };
        sync_tags(
            ec,
            arn_of(&group, name)?,
            &r.tags,
            &prior.tags,
            wants.everything(),
        )
        .await?;
    }
    Ok(outputs(name))
}

pub(super) async fn delete(
    ec: &Client,
    prior: &ResourceState,
    outputs: &Outputs,
) -> Result<(), ProviderError> {
    let name = output(prior.kind, outputs, "name")?;
    // Deletion is synchronous; a group still used by a cache cluster on its way out is
    // Retryable, so the executor tries again once the cluster is gone.
    gone_ok(
        ec.delete_cache_subnet_group()
            .cache_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| {
                classify_busy(
                    &format!("DeleteCacheSubnetGroup {name}"),
                    e,
                    &["CacheSubnetGroupInUse"],
                )
            }),
    )
}
