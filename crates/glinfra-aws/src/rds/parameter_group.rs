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

use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::tags::{self, ensure_ours};
use crate::kit::{
    create_or_existing, parameter_changes, required, wait, Absent, Changed, Desired, Made, Recorded,
};
use async_trait::async_trait;
use aws_sdk_rds::types::{ApplyMethod, DbParameterGroup, Parameter};
use aws_sdk_rds::Client;
use glinfra_core::spec::rds::{DbParameterGroupOutputs, DbParameterGroupSpec};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// ModifyDBParameterGroup and ResetDBParameterGroup take at most this many parameters.
const BATCH: usize = 20;

/// How long a deleted group may stay visible.
const GONE_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// The driver of `aws:rds/db-parameter-group`.
pub(crate) struct DbParameterGroupDriver;

fn outputs(g: &DbParameterGroup) -> Result<DbParameterGroupOutputs, ProviderError> {
    Ok(DbParameterGroupOutputs {
        name: required(g.db_parameter_group_name(), "DBParameterGroup name")?.to_string(),
        arn: required(g.db_parameter_group_arn(), "DBParameterGroup ARN")?.to_string(),
    })
}

/// The group named `name`, if there is one.
async fn describe(rds: &Client, name: &str) -> Result<Option<DbParameterGroup>, ProviderError> {
    let out = rds
        .describe_db_parameter_groups()
        .db_parameter_group_name(name)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeDBParameterGroups {name}"), e))
        .or_absent()?;
    Ok(out.and_then(|o| o.db_parameter_groups().first().cloned()))
}

/// The group `r` names when it is `r`'s (an AlreadyExists error when it is someone else's).
async fn lookup(
    rds: &Client,
    r: &Desired<DbParameterGroupSpec>,
) -> Result<Option<DbParameterGroup>, ProviderError> {
    let name = &r.spec.name;
    let Some(group) = describe(rds, name).await? else {
        return Ok(None);
    };
    let arn = required(group.db_parameter_group_arn(), "DBParameterGroup ARN")?;
    ensure_ours(rds, &format!("DB parameter group `{name}`"), arn, r).await?;
    Ok(Some(group))
}

#[async_trait]
impl Driver for DbParameterGroupDriver {
    type Spec = DbParameterGroupSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<DbParameterGroupSpec>,
    ) -> Result<Option<DbParameterGroupOutputs>, ProviderError> {
        lookup(&c.rds(&r.region), r)
            .await?
            .as_ref()
            .map(outputs)
            .transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<DbParameterGroupSpec>,
    ) -> Result<DbParameterGroupOutputs, ProviderError> {
        let rds = c.rds(&r.region);
        let name = &r.spec.name;
        let sent = rds
            .create_db_parameter_group()
            .db_parameter_group_name(name)
            .db_parameter_group_family(&r.spec.family)
            .description(&r.spec.description)
            .set_tags(Some(tags::to_sdk(&r.owned_tags())?))
            .send();
        let made = create_or_existing(
            &format!("DB parameter group `{name}`"),
            async {
                sent.await
                    .map_err(|e| classify(&format!("CreateDBParameterGroup {name}"), e))
            },
            || lookup(&rds, r),
        )
        .await?;
        match made {
            Made::Created(out) => {
                let out = outputs(required(
                    out.db_parameter_group(),
                    &format!("CreateDBParameterGroup {name}"),
                )?)?;
                apply_parameters(&rds, &out.name, &r.spec.parameters, &BTreeSet::new()).await?;
                Ok(out)
            }
            // Made by an earlier attempt: brought in line.
            Made::Existing(group) => {
                let prior = Recorded::adopted(r, outputs(&group)?);
                self.update(c, &prior, r, Changed::ALL).await
            }
        }
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<DbParameterGroupSpec>,
        r: &Desired<DbParameterGroupSpec>,
        changed: Changed<'_>,
    ) -> Result<DbParameterGroupOutputs, ProviderError> {
        let rds = c.rds(&r.region);
        if changed.has("parameters") {
            let before: BTreeSet<String> = prior.spec.parameters.keys().cloned().collect();
            apply_parameters(&rds, &prior.outputs.name, &r.spec.parameters, &before).await?;
        }
        if changed.has("tags") {
            let arn = &prior.outputs.arn;
            let want = r.owned_tags();
            tags::sync(&rds, arn, &want, &prior.tags, changed.everything()).await?;
        }
        Ok(prior.outputs.clone())
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<DbParameterGroupSpec>,
    ) -> Result<(), ProviderError> {
        let rds = c.rds(&prior.region);
        let name = &prior.outputs.name;
        let deleted = rds
            .delete_db_parameter_group()
            .db_parameter_group_name(name)
            .send()
            .await
            .map_err(|e| {
                let err = classify(&format!("DeleteDBParameterGroup {name}"), e);
                if err.has_code(&["InvalidDBParameterGroupState"]) {
                    err.reclassified(
                        ErrorClass::Retryable,
                        "instances still use it; they are being deleted or moved first",
                    )
                } else {
                    err
                }
            })
            .or_absent()?;
        if deleted.is_none() {
            return Ok(());
        }
        wait::gone(
            &format!("DB parameter group `{name}`"),
            GONE_DEADLINE,
            || async { Ok(describe(&rds, name).await?.map(|_| "present".to_string())) },
        )
        .await
    }
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

/// Sets the parameters of `want` whose value differs from the group's, and resets
/// the ones the group sets (or `before` named) that `want` no longer names.
async fn apply_parameters(
    rds: &Client,
    name: &str,
    want: &BTreeMap<String, String>,
    before: &BTreeSet<String>,
) -> Result<(), ProviderError> {
    let live = parameters(rds, name).await?;
    // What the group sets now: the values a user set, and what the spec set before
    // (whatever the listing now says of its source) when the spec no longer names it.
    let current: BTreeMap<String, String> = live
        .iter()
        .filter_map(|(k, l)| match l.source.as_deref() {
            Some("user") => Some((k.clone(), l.value.clone().unwrap_or_default())),
            _ if before.contains(k) && !want.contains_key(k) => Some((k.clone(), String::new())),
            _ => None,
        })
        .collect();
    let (set, reset) = parameter_changes(&current, want);
    let set: Vec<Parameter> = set
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_name(k)
                .parameter_value(v)
                .apply_method(apply_method(live.get(k)))
                .build()
        })
        .collect();
    let reset: Vec<Parameter> = reset
        .iter()
        .map(|k| {
            Parameter::builder()
                .parameter_name(k)
                .apply_method(apply_method(live.get(k)))
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
