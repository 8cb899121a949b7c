//! DB subnet groups: CreateDBSubnetGroup with tags, ModifyDBSubnetGroup for the
//! description and subnets, tags on the group's ARN, DeleteDBSubnetGroup.
//!
//! A subnet group has no lifecycle states: it is usable as soon as the create
//! returns, and gone as soon as the delete returns (checked once by a Describe).

use super::{
    absent_ok, check_owner, desired_tags, list_tags, output, outputs, prior_spec, rds_tags,
    required, resolved_all, resource_from_state, retryable_if, sync_tags, Wants,
};
use crate::error::classify;
use crate::wait::{until, Poll};
use aws_sdk_rds::types::DbSubnetGroup;
use aws_sdk_rds::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::spec::rds::DbSubnetGroupSpec;
use glinfra_core::{Kind, ResourceState};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a deleted group may stay visible.
const GONE_DEADLINE: Duration = Duration::from_secs(5 * 60);

const POLL: Duration = if cfg!(test) {
    Duration::from_millis(1)
} else {
    Duration::from_secs(1)
};

fn group_outputs(g: &DbSubnetGroup) -> Result<Outputs, ProviderError> {
    let name = required(g.db_subnet_group_name(), "DBSubnetGroup name")?;
    let arn = required(g.db_subnet_group_arn(), "DBSubnetGroup ARN")?;
    Ok(outputs([
        ("name", name.to_string()),
        ("arn", arn.to_string()),
    ]))
}

/// The group named `name`, if there is one.
async fn describe(rds: &Client, name: &str) -> Result<Option<DbSubnetGroup>, ProviderError> {
    let out = absent_ok(
        rds.describe_db_subnet_groups()
            .db_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeDBSubnetGroups {name}"), e)),
    )?;
    Ok(out.and_then(|o| o.db_subnet_groups().first().cloned()))
}

/// The group named in `r`'s spec when it is `r`'s (an AlreadyExists error when it is
/// someone else's).
async fn lookup(
    rds: &Client,
    r: &ResolvedResource,
    spec: &DbSubnetGroupSpec,
) -> Result<Option<DbSubnetGroup>, ProviderError> {
    let Some(group) = describe(rds, &spec.name).await? else {
        return Ok(None);
    };
    let arn = required(group.db_subnet_group_arn(), "DBSubnetGroup ARN")?;
    let tags = list_tags(rds, arn).await?;
    check_owner(r, &format!("DB subnet group `{}`", spec.name), &tags)?;
    Ok(Some(group))
}

pub(super) async fn find(
    rds: &Client,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: DbSubnetGroupSpec = r.spec()?;
    match lookup(rds, r, &spec).await? {
        Some(group) => Ok(Some(group_outputs(&group)?)),
        None => Ok(None),
    }
}

pub(super) async fn create(rds: &Client, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: DbSubnetGroupSpec = r.spec()?;
    let subnets = resolved_all(r, "subnet_ids", &spec.subnet_ids)?;
    let created = rds
        .create_db_subnet_group()
        .db_subnet_group_name(&spec.name)
        .db_subnet_group_description(&spec.description)
        .set_subnet_ids(Some(subnets.clone()))
        .set_tags(Some(rds_tags(&desired_tags(r))))
        .send()
        .await;
    match created {
        Ok(out) => {
            let group = out.db_subnet_group().ok_or_else(|| {
                ProviderError::new(
                    ErrorClass::Fatal,
                    format!("CreateDBSubnetGroup {}: no group returned", spec.name),
                )
            })?;
            group_outputs(group)
        }
        Err(e) => {
            let err = classify(&format!("CreateDBSubnetGroup {}", spec.name), e);
            if err.class != ErrorClass::AlreadyExists {
                return Err(err);
            }
            // Made by an earlier attempt (adopted and brought in line) or by someone
            // else (the AlreadyExists error naming the owner).
            let Some(group) = lookup(rds, r, &spec).await? else {
                return Err(ProviderError::new(
                    ErrorClass::Retryable,
                    format!(
                        "DB subnet group `{}` was reported to exist, then not found",
                        spec.name
                    ),
                )
                .with_source(err));
            };
            modify(rds, &spec, subnets).await?;
            let outputs = group_outputs(&group)?;
            let arn = output(Kind::DbSubnetGroup, &outputs, "arn")?;
            let current = list_tags(rds, arn).await?;
            sync_tags(rds, arn, r, &BTreeMap::new(), Some(&current)).await?;
            Ok(outputs)
        }
    }
}

/// ModifyDBSubnetGroup with the spec's description and subnets (it takes both at once).
async fn modify(
    rds: &Client,
    spec: &DbSubnetGroupSpec,
    subnets: Vec<String>,
) -> Result<(), ProviderError> {
    rds.modify_db_subnet_group()
        .db_subnet_group_name(&spec.name)
        .db_subnet_group_description(&spec.description)
        .set_subnet_ids(Some(subnets))
        .send()
        .await
        .map_err(|e| classify(&format!("ModifyDBSubnetGroup {}", spec.name), e))?;
    Ok(())
}

pub(super) async fn update(
    rds: &Client,
    prior: &ResourceState,
    r: &ResolvedResource,
    wants: Wants<'_>,
) -> Result<Outputs, ProviderError> {
    let spec: DbSubnetGroupSpec = r.spec()?;
    if wants.field("description") || wants.field("subnet_ids") {
        modify(rds, &spec, resolved_all(r, "subnet_ids", &spec.subnet_ids)?).await?;
    }
    let mut out = prior.outputs.clone();
    if !out.contains_key("arn") {
        let group = describe(rds, &spec.name).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::NotFound,
                format!("DB subnet group `{}` not found", spec.name),
            )
        })?;
        out = group_outputs(&group)?;
    }
    if wants.field("tags") {
        let arn = output(r.kind, &out, "arn")?.to_string();
        let current = if wants.everything() {
            Some(list_tags(rds, &arn).await?)
        } else {
            None
        };
        sync_tags(rds, &arn, r, &prior.tags, current.as_ref()).await?;
    }
    Ok(out)
}

pub(super) async fn delete(
    rds: &Client,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let name = match prior.outputs.get("name").and_then(|v| v.as_str()) {
        Some(name) => name.to_string(),
        None => {
            let r = resource_from_state(id, prior)?;
            let spec: DbSubnetGroupSpec = prior_spec(id, prior)?;
            match lookup(rds, &r, &spec).await {
                Ok(Some(group)) => {
                    required(group.db_subnet_group_name(), "DBSubnetGroup name")?.to_string()
                }
                Ok(None) => return Ok(()),
                // A same-named group of someone else's: ours was never made.
                Err(e) if e.class == ErrorClass::AlreadyExists => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    };
    if let Err(e) = rds
        .delete_db_subnet_group()
        .db_subnet_group_name(&name)
        .send()
        .await
    {
        let code = e.code().map(str::to_owned);
        let err = classify(&format!("DeleteDBSubnetGroup {name}"), e);
        if err.class == ErrorClass::NotFound {
            return Ok(());
        }
        return Err(retryable_if(
            err,
            code.as_deref(),
            &["InvalidDBSubnetGroupStateFault"],
            "instances still use it; they are being deleted first",
        ));
    }
    until(
        &format!("DB subnet group `{name}` deletion"),
        GONE_DEADLINE,
        POLL,
        || async {
            Ok(match describe(rds, &name).await? {
                None => Poll::Ready(()),
                Some(g) => Poll::Pending(g.subnet_group_status().unwrap_or("present").to_string()),
            })
        },
    )
    .await
}
