//! DB subnet groups: CreateDBSubnetGroup with tags, ModifyDBSubnetGroup for the
//! description and subnets, tags on the group's ARN, DeleteDBSubnetGroup.
//!
//! A subnet group has no lifecycle states: it is usable as soon as the create
//! returns, and gone as soon as the delete returns (checked once by a Describe).

use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::tags::{self, ensure_ours};
use crate::kit::{
    create_or_existing, required, resolved_all, wait, Absent, Changed, Desired, Made, Recorded,
};
use async_trait::async_trait;
use aws_sdk_rds::types::DbSubnetGroup;
use aws_sdk_rds::Client;
use glinfra_core::spec::rds::{DbSubnetGroupOutputs, DbSubnetGroupSpec};
use glinfra_engine::{ErrorClass, ProviderError};
use std::time::Duration;

/// How long a deleted group may stay visible.
const GONE_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// The driver of `aws:rds/db-subnet-group`.
pub(crate) struct DbSubnetGroupDriver;

fn outputs(g: &DbSubnetGroup) -> Result<DbSubnetGroupOutputs, ProviderError> {
    Ok(DbSubnetGroupOutputs {
        name: required(g.db_subnet_group_name(), "DBSubnetGroup name")?.to_string(),
        arn: required(g.db_subnet_group_arn(), "DBSubnetGroup ARN")?.to_string(),
    })
}

/// The group named `name`, if there is one.
async fn describe(rds: &Client, name: &str) -> Result<Option<DbSubnetGroup>, ProviderError> {
    let out = rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(name)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeDBSubnetGroups {name}"), e))
        .or_absent()?;
    Ok(out.and_then(|o| o.db_subnet_groups().first().cloned()))
}

/// The group `r` names when it is `r`'s (an AlreadyExists error when it is someone else's).
async fn lookup(
    rds: &Client,
    r: &Desired<DbSubnetGroupSpec>,
) -> Result<Option<DbSubnetGroup>, ProviderError> {
    let name = &r.spec.name;
    let Some(group) = describe(rds, name).await? else {
        return Ok(None);
    };
    let arn = required(group.db_subnet_group_arn(), "DBSubnetGroup ARN")?;
    ensure_ours(rds, &format!("DB subnet group `{name}`"), arn, r).await?;
    Ok(Some(group))
}

#[async_trait]
impl Driver for DbSubnetGroupDriver {
    type Spec = DbSubnetGroupSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<DbSubnetGroupSpec>,
    ) -> Result<Option<DbSubnetGroupOutputs>, ProviderError> {
        lookup(&c.rds(&r.region), r)
            .await?
            .as_ref()
            .map(outputs)
            .transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<DbSubnetGroupSpec>,
    ) -> Result<DbSubnetGroupOutputs, ProviderError> {
        let rds = c.rds(&r.region);
        let name = &r.spec.name;
        let sent = rds
            .create_db_subnet_group()
            .db_subnet_group_name(name)
            .db_subnet_group_description(&r.spec.description)
            .set_subnet_ids(Some(resolved_all(&r.spec.subnet_ids, "subnet_ids")?))
            .set_tags(Some(tags::to_sdk(&r.owned_tags())?))
            .send();
        let made = create_or_existing(
            &format!("DB subnet group `{name}`"),
            async {
                sent.await
                    .map_err(|e| classify(&format!("CreateDBSubnetGroup {name}"), e))
            },
            || lookup(&rds, r),
        )
        .await?;
        match made {
            Made::Created(out) => outputs(required(
                out.db_subnet_group(),
                &format!("CreateDBSubnetGroup {name}"),
            )?),
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
        prior: &Recorded<DbSubnetGroupSpec>,
    ) -> Result<(), ProviderError> {
        let rds = c.rds(&prior.region);
        let name = &prior.outputs.name;
        let deleted = rds
            .delete_db_subnet_group()
            .db_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| {
                let err = classify(&format!("DeleteDBSubnetGroup {name}"), e);
                if err.has_code(&["InvalidDBSubnetGroupStateFault"]) {
                    err.reclassified(
                        ErrorClass::Retryable,
                        "instances still use it; they are being deleted first",
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
            &format!("DB subnet group `{name}`"),
            GONE_DEADLINE,
            || async {
                Ok(describe(&rds, name)
                    .await?
                    .map(|g| g.subnet_group_status().unwrap_or("present").to_string()))
            },
        )
        .await
    }
}
