//! DB parameter groups: CreateDBParameterGroup with tags, then the parameters by
//! ModifyDBParameterGroup (at most 20 per call, as the API allows), removed ones by
//! ResetDBParameterGroup; tags on the group's ARN; DeleteDBParameterGroup.
//!
//! Each parameter is applied with the method its `ApplyType` allows (read from
//! DescribeDBParameters): `immediate` for dynamic parameters, `pending-reboot` for
//! static ones (AWS rejects `immediate` for those). The same listing says which
//! parameters the group sets (`Source` = `user`) and with which values, so only
//! parameters whose value differs are sent, and parameters the group sets but the
//! spec no longer names are reset to the engine default.
//!
//! A parameter group has no lifecycle states: usable once created.

use super::{
    absent_ok, check_owner, desired_tags, list_tags, output, outputs, prior_spec, rds_tags,
    required, resource_from_state, retryable_if, sync_tags, Wants,
};
use crate::error::classify;
use crate::wait::{until, Poll};
use aws_sdk_rds::types::{ApplyMethod, DbParameterGroup, Parameter};
use aws_sdk_rds::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::spec::rds::DbParameterGroupSpec;
use glinfra_core::{Kind, ResourceState};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// ModifyDBParameterGroup and ResetDBParameterGroup take at most this many parameters.
const BATCH: usize = 20;

/// How long a deleted group may stay visible.
const GONE_DEADLINE: Duration = Duration::from_secs(5 * 60);

const POLL: Duration = if cfg!(test) {
    Duration::from_millis(1)
} else {
    Duration::from_secs(1)
};

fn group_outputs(g: &DbParameterGroup) -> Result<Outputs, ProviderError> {
    let name = required(g.db_parameter_group_name(), "DBParameterGroup name")?;
    let arn = required(g.db_parameter_group_arn(), "DBParameterGroup ARN")?;
    Ok(outputs([
        ("name", name.to_string()),
        ("arn", arn.to_string()),
    ]))
}

/// The group named `name`, if there is one.
async fn describe(rds: &Client, name: &str) -> Result<Option<DbParameterGroup>, ProviderError> {
    let out = absent_ok(
        rds.describe_db_parameter_groups()
            .db_parameter_group_name(name)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeDBParameterGroups {name}"), e)),
    )?;
    Ok(out.and_then(|o| o.db_parameter_groups().first().cloned()))
}

/// The group named in the spec when it is `r`'s (an AlreadyExists error when it is
/// someone else's).
async fn lookup(
    rds: &Client,
    r: &ResolvedResource,
    spec: &DbParameterGroupSpec,
) -> Result<Option<DbParameterGroup>, ProviderError> {
    let Some(group) = describe(rds, &spec.name).await? else {
        return Ok(None);
    };
    let arn = required(group.db_parameter_group_arn(), "DBParameterGroup ARN")?;
    let tags = list_tags(rds, arn).await?;
    check_owner(r, &format!("DB parameter group `{}`", spec.name), &tags)?;
    Ok(Some(group))
}

pub(super) async fn find(
    rds: &Client,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: DbParameterGroupSpec = r.spec()?;
    match lookup(rds, r, &spec).await? {
        Some(group) => Ok(Some(group_outputs(&group)?)),
        None => Ok(None),
    }
}

pub(super) async fn create(rds: &Client, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: DbParameterGroupSpec = r.spec()?;
    let created = rds
        .create_db_parameter_group()
        .db_parameter_group_name(&spec.name)
        .db_parameter_group_family(&spec.family)
        .description(&spec.description)
        .set_tags(Some(rds_tags(&desired_tags(r))))
        .send()
        .await;
    match created {
        Ok(out) => {
            let group = out.db_parameter_group().ok_or_else(|| {
                ProviderError::new(
                    ErrorClass::Fatal,
                    format!("CreateDBParameterGroup {}: no group returned", spec.name),
                )
            })?;
            let outputs = group_outputs(group)?;
            let name = output(Kind::DbParameterGroup, &outputs, "name")?;
            apply_parameters(rds, name, &spec.parameters, &BTreeSet::new()).await?;
            Ok(outputs)
        }
        Err(e) => {
            let err = classify(&format!("CreateDBParameterGroup {}", spec.name), e);
            if err.class != ErrorClass::AlreadyExists {
                return Err(err);
            }
            // Made by an earlier attempt (adopted and brought in line) or by someone
            // else (the AlreadyExists error naming the owner).
            let Some(group) = lookup(rds, r, &spec).await? else {
                return Err(ProviderError::new(
                    ErrorClass::Retryable,
                    format!(
                        "DB parameter group `{}` was reported to exist, then not found",
                        spec.name
                    ),
                )
                .with_source(err));
            };
            let outputs = group_outputs(&group)?;
            let name = output(Kind::DbParameterGroup, &outputs, "name")?;
            apply_parameters(rds, name, &spec.parameters, &BTreeSet::new()).await?;
            let arn = output(Kind::DbParameterGroup, &outputs, "arn")?;
            let current = list_tags(rds, arn).await?;
            sync_tags(rds, arn, r, &BTreeMap::new(), Some(&current)).await?;
            Ok(outputs)
        }
    }
}

pub(super) async fn update(
    rds: &Client,
    prior: &ResourceState,
    r: &ResolvedResource,
    wants: Wants<'_>,
) -> Result<Outputs, ProviderError> {
    let spec: DbParameterGroupSpec = r.spec()?;
    let mut out = prior.outputs.clone();
    if !out.contains_key("arn") {
        let group = describe(rds, &spec.name).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::NotFound,
                format!("DB parameter group `{}` not found", spec.name),
            )
        })?;
        out = group_outputs(&group)?;
    }
    if wants.field("parameters") {
        let before: BTreeSet<String> = prior_spec::<DbParameterGroupSpec>(&r.id, prior)
            .map(|p| p.parameters.into_keys().collect())
            .unwrap_or_default();
        apply_parameters(
            rds,
            output(r.kind, &out, "name")?,
            &spec.parameters,
            &before,
        )
        .await?;
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

/// One parameter as DescribeDBParameters reports it.
struct Live {
    apply_type: Option<String>,
    source: Option<String>,
    value: Option<String>,
}

/// Every parameter of the group (all pages).
async fn parameters(rds: &Client, name: &str) -> Result<BTreeMap<String, Live>, ProviderError> {
    let mut all = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = rds
            .describe_db_parameters()
            .db_parameter_group_name(name)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeDBParameters {name}"), e))?;
        for p in page.parameters() {
            if let Some(n) = p.parameter_name() {
                all.insert(
                    n.to_string(),
                    Live {
                        apply_type: p.apply_type().map(str::to_owned),
                        source: p.source().map(str::to_owned),
                        value: p.parameter_value().map(str::to_owned),
                    },
                );
            }
        }
        match page.marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(all),
        }
    }
}

/// `immediate` for a dynamic parameter, `pending-reboot` otherwise (static, or not
/// listed: AWS then rejects the name itself).
fn apply_method(live: Option<&Live>) -> ApplyMethod {
    match live.and_then(|l| l.apply_type.as_deref()) {
        Some("dynamic") => ApplyMethod::Immediate,
        _ => ApplyMethod::PendingReboot,
    }
}

/// Sets the parameters of `desired` whose value differs from the group's, and resets
/// the ones the group sets (or `before` named) that `desired` no longer names.
async fn apply_parameters(
    rds: &Client,
    name: &str,
    desired: &BTreeMap<String, String>,
    before: &BTreeSet<String>,
) -> Result<(), ProviderError> {
    let live = parameters(rds, name).await?;
    let set: Vec<Parameter> = desired
        .iter()
        .filter(|(k, v)| {
            !live.get(*k).is_some_and(|l| {
                l.source.as_deref() == Some("user") && l.value.as_deref() == Some(v.as_str())
            })
        })
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_name(k)
                .parameter_value(v)
                .apply_method(apply_method(live.get(k)))
                .build()
        })
        .collect();
    let reset: Vec<Parameter> = live
        .iter()
        .filter(|(k, l)| {
            !desired.contains_key(*k)
                && (l.source.as_deref() == Some("user") || before.contains(*k))
        })
        .map(|(k, l)| {
            Parameter::builder()
                .parameter_name(k)
                .apply_method(apply_method(Some(l)))
                .build()
        })
        .collect();
    for batch in set.chunks(BATCH) {
        rds.modify_db_parameter_group()
            .db_parameter_group_name(name)
            .set_parameters(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| classify(&format!("ModifyDBParameterGroup {name}"), e))?;
    }
    for batch in reset.chunks(BATCH) {
        rds.reset_db_parameter_group()
            .db_parameter_group_name(name)
            .reset_all_parameters(false)
            .set_parameters(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| classify(&format!("ResetDBParameterGroup {name}"), e))?;
    }
    Ok(())
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
            let spec: DbParameterGroupSpec = prior_spec(id, prior)?;
            match lookup(rds, &r, &spec).await {
                Ok(Some(group)) => {
                    required(group.db_parameter_group_name(), "DBParameterGroup name")?.to_string()
                }
                Ok(None) => return Ok(()),
                // A same-named group of someone else's: ours was never made.
                Err(e) if e.class == ErrorClass::AlreadyExists => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    };
    if let Err(e) = rds
        .delete_db_parameter_group()
        .db_parameter_group_name(&name)
        .send()
        .await
    {
        let code = e.code().map(str::to_owned);
        let err = classify(&format!("DeleteDBParameterGroup {name}"), e);
        if err.class == ErrorClass::NotFound {
            return Ok(());
        }
        return Err(retryable_if(
            err,
            code.as_deref(),
            &["InvalidDBParameterGroupState"],
            "instances still use it; they are being deleted or moved first",
        ));
    }
    until(
        &format!("DB parameter group `{name}` deletion"),
        GONE_DEADLINE,
        POLL,
        || async {
            Ok(match describe(rds, &name).await? {
                None => Poll::Ready(()),
                Some(_) => Poll::Pending("present".to_string()),
            })
        },
    )
    .await
}
