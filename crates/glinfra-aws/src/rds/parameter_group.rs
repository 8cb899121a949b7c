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
//!
//! A refresh reads the family and description from DescribeDBParameterGroups and
//! the values of the parameters the spec sets from DescribeDBParameters
//! (`Source=user`): a parameter set outside glinfra that the spec does not name is
//! not compared.

use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::named::{self, named, Named};
use crate::kit::{parameter_changes, required, tags, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_rds::types::{ApplyMethod, DbParameterGroup, Parameter};
use aws_sdk_rds::Client;
use glinfra_core::spec::rds::{DbParameterGroupOutputs, DbParameterGroupSpec};
use glinfra_engine::ProviderError;
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
        arn: DbParameterGroupDriver::arn(g)?.to_string(),
    })
}

named!(DbParameterGroupDriver {
    client: rds -> Client,
    what: "DB parameter group",
    describe: describe_db_parameter_groups(db_parameter_group_name) -> db_parameter_groups,
        "DescribeDBParameterGroups",
    group: DbParameterGroup, name: db_parameter_group_name,
        arn: db_parameter_group_arn "DBParameterGroup ARN",
    outputs: outputs,
});

#[async_trait]
impl Driver for DbParameterGroupDriver {
    type Spec = DbParameterGroupSpec;
    const TAGGING: Option<&'static str> = Some("rds");

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<DbParameterGroupSpec>,
    ) -> Result<Option<DbParameterGroupOutputs>, ProviderError> {
        named::find::<Self>(c, r).await
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
        let operation = &format!("CreateDBParameterGroup {name}");
        named::create(self, c, r, operation, sent, |created| async move {
            let out = outputs(required(created.db_parameter_group(), operation)?)?;
            apply_parameters(&rds, &out.name, &r.spec.parameters, &BTreeSet::new()).await?;
            Ok(out)
        })
        .await
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
        tags::update(&rds, &prior.outputs.arn, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// DescribeDBParameterGroups (one call per page), then, for each group state
    /// recorded, ListTagsForResource ([`named::observe`]) and DescribeDBParameters
    /// with `Source=user` (one call per page); groups state does not know are not read.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<DbParameterGroupSpec>,
    ) -> Result<Option<Vec<Live<DbParameterGroupSpec>>>, ProviderError> {
        let rds = c.rds(&scope.region);
        let mut live = Vec::new();
        for s in named::observe::<Self>(c, scope).await? {
            let (g, recorded) = (&s.group, &s.recorded.spec);
            let out = outputs(g)?;
            let set = parameters(&rds, &out.name, Some("user")).await?;
            let spec = DbParameterGroupSpec {
                // AWS keeps the name in lower case; the record keeps the spec's spelling.
                name: recorded.name.clone(),
                family: g.db_parameter_group_family().unwrap_or("").to_string(),
                description: g.description().unwrap_or("").to_string(),
                parameters: recorded
                    .parameters
                    .keys()
                    .filter_map(|k| {
                        let p = set.get(k)?;
                        // The filter is not trusted: a default is not set by the group.
                        if p.source.as_deref().is_some_and(|s| s != "user") {
                            return None;
                        }
                        Some((k.clone(), p.value.clone().unwrap_or_default()))
                    })
                    .collect(),
            };
            live.push(s.live(spec)?);
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<DbParameterGroupSpec>,
    ) -> Result<(), ProviderError> {
        let rds = c.rds(&prior.region);
        let name = &prior.outputs.name;
        let sent = rds
            .delete_db_parameter_group()
            .db_parameter_group_name(name)
            .send();
        let operation = &format!("DeleteDBParameterGroup {name}");
        let busy = "instances still use it; they are being deleted or moved first";
        if named::delete(operation, sent, &["InvalidDBParameterGroupState"], busy).await? {
            named::gone::<Self>(&rds, name, GONE_DEADLINE, |_| "present".to_string()).await?;
        }
        Ok(())
    }
}

/// One parameter as DescribeDBParameters reports it.
struct Param {
    apply_type: Option<String>,
    source: Option<String>,
    value: Option<String>,
}

/// Every parameter of the group (all pages), or those of `source` (`user`: the
/// ones the group sets).
async fn parameters(
    rds: &Client,
    name: &str,
    source: Option<&str>,
) -> Result<BTreeMap<String, Param>, ProviderError> {
    let mut all = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = rds
            .describe_db_parameters()
            .db_parameter_group_name(name)
            .set_source(source.map(str::to_owned))
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeDBParameters {name}"), e))?;
        for p in page.parameters() {
            if let Some(n) = p.parameter_name() {
                all.insert(
                    n.to_string(),
                    Param {
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
fn apply_method(live: Option<&Param>) -> ApplyMethod {
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
    let live = parameters(rds, name, None).await?;
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
