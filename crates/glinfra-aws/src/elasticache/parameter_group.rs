//! Cache parameter groups: CreateCacheParameterGroup (family, description, tags),
//! ModifyCacheParameterGroup for the parameters (at most 20 per call, as AWS allows),
//! ResetCacheParameterGroup for parameters no longer set, DeleteCacheParameterGroup.

use super::{
    absent, adopted_state, check_owner, classify_busy, ec_tags, gone_ok, output, sync_tags, Wants,
};
use crate::error::classify;
use aws_sdk_elasticache::types::{CacheParameterGroup, ParameterNameValue};
use aws_sdk_elasticache::Client;
use glinfra_core::spec::elasticache::CacheParameterGroupSpec;
use glinfra_core::ResourceState;
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;
use std::collections::BTreeMap;

const WHAT: &str = "cache parameter group";

/// ModifyCacheParameterGroup takes at most this many parameters per call.
const BATCH: usize = 20;

fn outputs(name: &str) -> Outputs {
    Outputs::from([("name".to_string(), Value::String(name.to_string()))])
}

/// The parameter group named `name`, if there is one.
async fn describe(ec: &Client, name: &str) -> Result<Option<CacheParameterGroup>, ProviderError> {
    let found = absent(
        ec.describe_cache_parameter_groups()
            .cache_parameter_group_name(name)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeCacheParameterGroups {name}"), e)),
    )?;
    Ok(found.and_then(|out| {
        out.cache_parameter_groups()
            .iter()
            .find(|g| g.cache_parameter_group_name() == Some(name))
            .cloned()
    }))
}

fn arn_of<'a>(group: &'a CacheParameterGroup, name: &str) -> Result<&'a str, ProviderError> {
    group.arn().ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!("DescribeCacheParameterGroups {name}: the group has no ARN"),
        )
    })
}

pub(super) async fn find(
    ec: &Client,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: CacheParameterGroupSpec = r.spec()?;
    let Some(group) = describe(ec, &spec.name).await? else {
        return Ok(None);
    };
    let tags = super::list_tags(ec, arn_of(&group, &spec.name)?, &[]).await?;
    check_owner(WHAT, &spec.name, &tags, r)?;
    Ok(Some(outputs(&spec.name)))
}

pub(super) async fn create(ec: &Client, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: CacheParameterGroupSpec = r.spec()?;
    let name = spec.name.as_str();
    let created = ec
        .create_cache_parameter_group()
        .cache_parameter_group_name(name)
        .cache_parameter_group_family(&spec.family)
        .description(&spec.description)
        .set_tags(Some(ec_tags(&r.tags)))
        .send()
        .await;
    match created {
        Ok(_) => {
            let set: Vec<(&String, &String)> = spec.parameters.iter().collect();
            apply(ec, name, &set, &[]).await?;
            Ok(outputs(name))
        }
        Err(e) => {
            let err = classify(&format!("CreateCacheParameterGroup {name}"), e);
            if err.class != ErrorClass::AlreadyExists {
                return Err(err);
            }
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
    let spec: CacheParameterGroupSpec = r.spec()?;
    let name = spec.name.as_str();
    if wants.field("parameters") {
        // What is set now: read from the group itself when everything is reconciled
        // (after an adoption or a resumed run), else the recorded spec's parameters.
        let before: BTreeMap<String, String> = if wants.everything() {
            user_parameters(ec, name).await?
        } else {
            serde_json::from_value::<CacheParameterGroupSpec>(prior.props.clone())
                .map(|p| p.parameters)
                .unwrap_or_default()
        };
        let set: Vec<(&String, &String)> = spec
            .parameters
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .collect();
        let reset: Vec<&String> = before
            .keys()
            .filter(|k| !spec.parameters.contains_key(*k))
            .collect();
        apply(ec, name, &set, &reset).await?;
    }
    if wants.field("tags") {
        let group = describe(ec, name).await?.ok_or_else(|| {
            ProviderError::new(ErrorClass::NotFound, format!("{WHAT} `{name}` not found"))
        })?;
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

/// Sets `set` and resets `reset` to their defaults, in batches of [`BATCH`].
async fn apply(
    ec: &Client,
    name: &str,
    set: &[(&String, &String)],
    reset: &[&String],
) -> Result<(), ProviderError> {
    for batch in set.chunks(BATCH) {
        ec.modify_cache_parameter_group()
            .cache_parameter_group_name(name)
            .set_parameter_name_values(Some(
                batch
                    .iter()
                    .map(|(k, v)| {
                        ParameterNameValue::builder()
                            .parameter_name(*k)
                            .parameter_value(*v)
                            .build()
                    })
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| classify(&format!("ModifyCacheParameterGroup {name}"), e))?;
    }
    for batch in reset.chunks(BATCH) {
        ec.reset_cache_parameter_group()
            .cache_parameter_group_name(name)
            .reset_all_parameters(false)
            .set_parameter_name_values(Some(
                batch
                    .iter()
                    .map(|k| ParameterNameValue::builder().parameter_name(*k).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| classify(&format!("ResetCacheParameterGroup {name}"), e))?;
    }
    Ok(())
}

/// The parameters set by a user in the group (Source `user`), all pages.
async fn user_parameters(
    ec: &Client,
    name: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let mut params = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = ec
            .describe_cache_parameters()
            .cache_parameter_group_name(name)
            .source("user")
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeCacheParameters {name}"), e))?;
        params.extend(page.parameters().iter().filter_map(|p| {
            Some((
                p.parameter_name()?.to_string(),
                p.parameter_value().unwrap_or("").to_string(),
            ))
        }));
        match page.marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(params),
        }
    }
}

pub(super) async fn delete(
    ec: &Client,
    prior: &ResourceState,
    outputs: &Outputs,
) -> Result<(), ProviderError> {
    let name = output(prior.kind, outputs, "name")?;
    // A group still used by a replication group on its way out is Retryable.
    gone_ok(
        ec.delete_cache_parameter_group()
            .cache_parameter_group_name(name)
            .send()
            .await
            .map_err(|e| {
                classify_busy(
                    &format!("DeleteCacheParameterGroup {name}"),
                    e,
                    &["InvalidCacheParameterGroupState"],
                )
            }),
    )
}
