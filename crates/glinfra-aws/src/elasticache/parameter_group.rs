//! Cache parameter groups: CreateCacheParameterGroup (family, description, tags),
//! ModifyCacheParameterGroup for the parameters (at most 20 per call, as AWS allows),
//! ResetCacheParameterGroup for parameters no longer set, DeleteCacheParameterGroup.
//!
//! What a group sets now is read from the group itself (its parameters of Source
//! `user`) when everything is reconciled (after an adoption or a resumed run), and
//! taken from the recorded spec otherwise. A group still used by a replication group
//! on its way out cannot be deleted yet: Retryable.
//!
//! A refresh reads the family and description from DescribeCacheParameterGroups
//! and the values of the parameters the spec sets from DescribeCacheParameters
//! (`Source=user`): a parameter set outside glinfra that the spec does not name is
//! not compared.

use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::named::{self, named, Named};
use crate::kit::{parameter_changes, required, tags, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_elasticache::types::{CacheParameterGroup, ParameterNameValue};
use aws_sdk_elasticache::Client;
use glinfra_core::spec::elasticache::{CacheParameterGroupOutputs, CacheParameterGroupSpec};
use glinfra_engine::ProviderError;
use std::collections::BTreeMap;

/// ModifyCacheParameterGroup and ResetCacheParameterGroup take at most this many
/// parameters per call.
const BATCH: usize = 20;

/// The driver of `aws:elasticache/parameter-group`.
pub(crate) struct CacheParameterGroupDriver;

fn outputs(group: &CacheParameterGroup) -> Result<CacheParameterGroupOutputs, ProviderError> {
    let name = required(
        group.cache_parameter_group_name(),
        "CacheParameterGroup name",
    )?;
    Ok(CacheParameterGroupOutputs {
        name: name.to_string(),
    })
}

named!(CacheParameterGroupDriver {
    client: elasticache -> Client,
    what: "ElastiCache cache parameter group",
    describe: describe_cache_parameter_groups(cache_parameter_group_name) -> cache_parameter_groups
        where cache_parameter_group_name, "DescribeCacheParameterGroups",
    group: CacheParameterGroup, name: cache_parameter_group_name, arn: arn "CacheParameterGroup ARN",
    outputs: outputs,
});

#[async_trait]
impl Driver for CacheParameterGroupDriver {
    type Spec = CacheParameterGroupSpec;
    const TAGGING: Option<&'static str> = Some("elasticache");

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<CacheParameterGroupSpec>,
    ) -> Result<Option<CacheParameterGroupOutputs>, ProviderError> {
        named::find::<Self>(c, r).await
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<CacheParameterGroupSpec>,
    ) -> Result<CacheParameterGroupOutputs, ProviderError> {
        let ec = c.elasticache(&r.region);
        let name = &r.spec.name;
        let sent = ec
            .create_cache_parameter_group()
            .cache_parameter_group_name(name)
            .cache_parameter_group_family(&r.spec.family)
            .description(&r.spec.description)
            .set_tags(Some(tags::to_sdk(&r.owned_tags())?))
            .send();
        let operation = &format!("CreateCacheParameterGroup {name}");
        named::create(self, c, r, operation, sent, |_| async move {
            apply(&ec, name, &r.spec.parameters, &[]).await?;
            Ok(CacheParameterGroupOutputs { name: name.clone() })
        })
        .await
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<CacheParameterGroupSpec>,
        r: &Desired<CacheParameterGroupSpec>,
        changed: Changed<'_>,
    ) -> Result<CacheParameterGroupOutputs, ProviderError> {
        let ec = c.elasticache(&r.region);
        let name = &prior.outputs.name;
        if changed.has("parameters") {
            let current = if changed.everything() {
                user_parameters(&ec, name).await?
            } else {
                prior.spec.parameters.clone()
            };
            let (set, reset) = parameter_changes(&current, &r.spec.parameters);
            apply(&ec, name, &set, &reset).await?;
        }
        if changed.has("tags") {
            let group = named::existing::<Self>(&ec, name).await?;
            tags::update(&ec, Self::arn(&group)?, prior, r, changed).await?;
        }
        Ok(prior.outputs.clone())
    }

    /// DescribeCacheParameterGroups (one call per page), then, for each group state
    /// recorded, ListTagsForResource ([`named::observe`]) and DescribeCacheParameters
    /// with `Source=user` (one call per page); groups state does not know are not read.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<CacheParameterGroupSpec>,
    ) -> Result<Option<Vec<Live<CacheParameterGroupSpec>>>, ProviderError> {
        let ec = c.elasticache(&scope.region);
        let mut live = Vec::new();
        for s in named::observe::<Self>(c, scope).await? {
            let (g, recorded) = (&s.group, &s.recorded.spec);
            let out = outputs(g)?;
            let set = user_parameters(&ec, &out.name).await?;
            let spec = CacheParameterGroupSpec {
                name: recorded.name.clone(),
                family: g.cache_parameter_group_family().unwrap_or("").to_string(),
                description: g.description().unwrap_or("").to_string(),
                parameters: recorded
                    .parameters
                    .keys()
                    .filter_map(|k| Some((k.clone(), set.get(k)?.clone())))
                    .collect(),
            };
            live.push(s.live(spec)?);
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<CacheParameterGroupSpec>,
    ) -> Result<(), ProviderError> {
        let name = &prior.outputs.name;
        let ec = c.elasticache(&prior.region);
        let sent = ec
            .delete_cache_parameter_group()
            .cache_parameter_group_name(name)
            .send();
        let operation = &format!("DeleteCacheParameterGroup {name}");
        let busy = "a replication group still uses it; it is being deleted first";
        named::delete(operation, sent, &["InvalidCacheParameterGroupState"], busy).await?;
        Ok(())
    }
}

/// Sets `set` and resets `reset` to their defaults, in batches of [`BATCH`].
async fn apply(
    ec: &Client,
    name: &str,
    set: &BTreeMap<String, String>,
    reset: &[String],
) -> Result<(), ProviderError> {
    let set: Vec<ParameterNameValue> = set
        .iter()
        .map(|(k, v)| {
            ParameterNameValue::builder()
                .parameter_name(k)
                .parameter_value(v)
                .build()
        })
        .collect();
    for batch in set.chunks(BATCH) {
        ec.modify_cache_parameter_group()
            .cache_parameter_group_name(name)
            .set_parameter_name_values(Some(batch.to_vec()))
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
                    .map(|k| ParameterNameValue::builder().parameter_name(k).build())
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
        // The filter is not trusted: what says it is not the user's is dropped.
        let set = page
            .parameters()
            .iter()
            .filter(|p| matches!(p.source(), None | Some("user")));
        params.extend(set.filter_map(|p| {
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
