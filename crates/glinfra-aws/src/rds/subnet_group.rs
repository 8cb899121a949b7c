//! DB subnet groups: CreateDBSubnetGroup with tags, ModifyDBSubnetGroup for the
//! description and subnets, tags on the group's ARN, DeleteDBSubnetGroup.
//!
//! A subnet group has no lifecycle states: it is usable as soon as the create
//! returns, and gone as soon as the delete returns (checked once by a Describe).
//!
//! A refresh reads every field: DescribeDBSubnetGroups carries the description, the
//! subnets and the VPC.

use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::named::{self, named, Named};
use crate::kit::read::{self, filled};
use crate::kit::{required, resolved_all, tags, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_rds::types::DbSubnetGroup;
use aws_sdk_rds::Client;
use glinfra_core::spec::rds::{DbSubnetGroupOutputs, DbSubnetGroupSpec};
use glinfra_core::Input;
use glinfra_engine::ProviderError;
use std::time::Duration;

/// How long a deleted group may stay visible.
const GONE_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// The driver of `aws:rds/db-subnet-group`.
pub(crate) struct DbSubnetGroupDriver;

fn outputs(g: &DbSubnetGroup) -> Result<DbSubnetGroupOutputs, ProviderError> {
    Ok(DbSubnetGroupOutputs {
        name: required(g.db_subnet_group_name(), "DBSubnetGroup name")?.to_string(),
        arn: DbSubnetGroupDriver::arn(g)?.to_string(),
    })
}

named!(DbSubnetGroupDriver {
    client: rds -> Client,
    what: "DB subnet group",
    describe: describe_db_subnet_groups(db_subnet_group_name) -> db_subnet_groups,
        "DescribeDBSubnetGroups",
    group: DbSubnetGroup, name: db_subnet_group_name, arn: db_subnet_group_arn "DBSubnetGroup ARN",
    outputs: outputs,
});

#[async_trait]
impl Driver for DbSubnetGroupDriver {
    type Spec = DbSubnetGroupSpec;
    const TAGGING: Option<&'static str> = Some("rds");

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<DbSubnetGroupSpec>,
    ) -> Result<Option<DbSubnetGroupOutputs>, ProviderError> {
        named::find::<Self>(c, r).await
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<DbSubnetGroupSpec>,
    ) -> Result<DbSubnetGroupOutputs, ProviderError> {
        let name = &r.spec.name;
        let sent = c
            .rds(&r.region)
            .create_db_subnet_group()
            .db_subnet_group_name(name)
            .db_subnet_group_description(&r.spec.description)
            .set_subnet_ids(Some(resolved_all(&r.spec.subnet_ids, "subnet_ids")?))
            .set_tags(Some(tags::to_sdk(&r.owned_tags())?))
            .send();
        let operation = &format!("CreateDBSubnetGroup {name}");
        named::create(self, c, r, operation, sent, |out| async move {
            outputs(required(out.db_subnet_group(), operation)?)
        })
        .await
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<DbSubnetGroupSpec>,
        r: &Desired<DbSubnetGroupSpec>,
        changed: Changed<'_>,
    ) -> Result<DbSubnetGroupOutputs, ProviderError> {
        let rds = c.rds(&r.region);
        let name = &r.spec.name;
        if changed.any(&["description", "subnet_ids"]) {
            // ModifyDBSubnetGroup takes the description and the subnets at once.
            rds.modify_db_subnet_group()
                .db_subnet_group_name(name)
                .db_subnet_group_description(&r.spec.description)
                .set_subnet_ids(Some(resolved_all(&r.spec.subnet_ids, "subnet_ids")?))
                .send()
                .await
                .map_err(|e| classify(&format!("ModifyDBSubnetGroup {name}"), e))?;
        }
        tags::update(&rds, &prior.outputs.arn, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// DescribeDBSubnetGroups (one call per page), then ListTagsForResource of each
    /// group state recorded ([`named::observe`]); groups state does not know are not read.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<DbSubnetGroupSpec>,
    ) -> Result<Option<Vec<Live<DbSubnetGroupSpec>>>, ProviderError> {
        let mut live = Vec::new();
        for s in named::observe::<Self>(c, scope).await? {
            let (g, recorded) = (&s.group, &s.recorded.spec);
            let spec = DbSubnetGroupSpec {
                vpc_id: filled(Some(&recorded.vpc_id), |_| {
                    g.vpc_id().map(|v| Input::Value(v.to_string()))
                }),
                // AWS keeps the name in lower case; the record keeps the spec's spelling.
                name: recorded.name.clone(),
                description: g.db_subnet_group_description().unwrap_or("").to_string(),
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
        prior: &Recorded<DbSubnetGroupSpec>,
    ) -> Result<(), ProviderError> {
        let rds = c.rds(&prior.region);
        let name = &prior.outputs.name;
        let sent = rds
            .delete_db_subnet_group()
            .db_subnet_group_name(name)
            .send();
        let operation = &format!("DeleteDBSubnetGroup {name}");
        let busy = "instances still use it; they are being deleted first";
        if named::delete(operation, sent, &["InvalidDBSubnetGroupStateFault"], busy).await? {
            named::gone::<Self>(&rds, name, GONE_DEADLINE, |g| {
                g.subnet_group_status().unwrap_or("present").to_string()
            })
            .await?;
        }
        Ok(())
    }
}
