//! Waiting for an instance: until it is usable for a stage of its create or
//! modification, or until it is gone. Creates and deletes wait through the shared
//! poll of their region (one DescribeDBInstances a poll for every instance waited
//! for); a wait around a modification reads its instance alone.

use super::{describe, is_failed, pending, reflects, status, DEADLINE};
use crate::clients::Clients;
use crate::error::classify;
use crate::kit::wait::{self, Poll, POLL};
use crate::kit::Absent;
use aws_sdk_rds::types::{DbInstance, Filter};
use aws_sdk_rds::Client;
use glinfra_core::spec::rds::DbInstanceSpec;
use glinfra_core::Declared;
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::HashMap;

/// What a wait is for: which states count as done.
#[derive(Clone, Copy)]
pub(super) enum Stage<'a> {
    /// After a create: available (the instance may not be visible at first).
    Create,
    /// Before a modification: a state in which ModifyDBInstance is accepted.
    BeforeModify,
    /// After a modification of these spec fields: available, none of them pending,
    /// and each showing the wanted value (RDS may report `available` with nothing
    /// pending for a moment before a modification starts, so both are checked).
    AfterModify(&'a [&'a str], &'a DbInstanceSpec),
    /// After PromoteReadReplica: available and no longer a replica.
    Promotion,
}

/// Waits until the instance `id` is usable for `stage`; fails at once in a state
/// that cannot get there by itself.
pub(super) async fn wait_usable(
    rds: &Client,
    id: &str,
    stage: Stage<'_>,
) -> Result<DbInstance, ProviderError> {
    let what = stage_what(id, &stage);
    wait::until(&what, DEADLINE, POLL, || async {
        judge(describe(rds, id).await?, &stage, &what)
    })
    .await
}

/// [`wait_usable`] after a create, through the shared poll of the region's
/// instances: one DescribeDBInstances a poll answers every instance of the region
/// being waited for.
pub(super) async fn wait_created(
    c: &Clients,
    region: &str,
    id: &str,
) -> Result<DbInstance, ProviderError> {
    let what = stage_what(id, &Stage::Create);
    wait_shared(c, region, id, &what, |db| judge(db, &Stage::Create, &what)).await
}

/// Waits until the instance `id` is gone, through the shared poll of the region's
/// instances.
pub(super) async fn wait_gone(c: &Clients, region: &str, id: &str) -> Result<(), ProviderError> {
    let what = format!("RDS instance `{id}` deletion");
    wait_shared(c, region, id, &what, |db| {
        Ok(match db {
            None => Poll::Ready(()),
            Some(db) => Poll::Pending(status(&db).to_string()),
        })
    })
    .await
}

/// Polls `id` of `region` through the shared describe of the region's instances
/// ([`describe_ids`]); RDS keeps identifiers in lower case.
async fn wait_shared<T>(
    c: &Clients,
    region: &str,
    id: &str,
    what: &str,
    check: impl Fn(Option<DbInstance>) -> Result<Poll<T>, ProviderError>,
) -> Result<T, ProviderError> {
    let rds = c.rds(region);
    let key = id.to_ascii_lowercase();
    let describe = |ids| describe_ids(&rds, ids);
    let place = (DbInstanceSpec::KIND, region, key.as_str());
    wait::until_shared(c, place, what, DEADLINE, describe, check).await
}

/// The instances of `ids` RDS knows, by identifier: one DescribeDBInstances (all
/// pages) with the `db-instance-id` filter. Unlike `DBInstanceIdentifier`, the
/// filter answers without the instances it does not know (yet, or any more)
/// instead of failing with DBInstanceNotFound (a NotFound answer is read the same
/// way: none of them is there).
async fn describe_ids(
    rds: &Client,
    ids: Vec<String>,
) -> Result<HashMap<String, DbInstance>, ProviderError> {
    let by_id = Filter::builder()
        .name("db-instance-id")
        .set_values(Some(ids))
        .build();
    let found: Vec<DbInstance> = rds
        .describe_db_instances()
        .filters(by_id)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("DescribeDBInstances", e))
        .or_absent()?
        .unwrap_or_default();
    Ok(found
        .into_iter()
        .filter_map(|db| Some((db.db_instance_identifier()?.to_ascii_lowercase(), db)))
        .collect())
}

/// What a wait at `stage` is for, in its messages.
fn stage_what(id: &str, stage: &Stage<'_>) -> String {
    match stage {
        Stage::Create => format!("RDS instance `{id}` creation"),
        Stage::BeforeModify => format!("RDS instance `{id}` before modifying it"),
        Stage::AfterModify(..) => format!("RDS instance `{id}` modification"),
        Stage::Promotion => format!("RDS instance `{id}` promotion"),
    }
}

/// One poll of a wait at `stage`: what the describe answered (`None`: no such
/// instance) read as ready, not yet, or an end.
fn judge(
    db: Option<DbInstance>,
    stage: &Stage<'_>,
    what: &str,
) -> Result<Poll<DbInstance>, ProviderError> {
    let Some(db) = db else {
        if let Stage::Create = stage {
            return Ok(Poll::Pending("not visible yet".into()));
        }
        return Err(ProviderError::new(
            ErrorClass::NotFound,
            format!("{what}: the instance is gone"),
        ));
    };
    let s = status(&db);
    let done = match stage {
        Stage::Create => s == "available",
        // Storage can be added to a full instance: that is how it is repaired.
        Stage::BeforeModify => {
            matches!(s, "available" | "storage-optimization" | "storage-full")
        }
        // Storage optimization runs for hours after a storage change, while the
        // instance serves normally.
        Stage::AfterModify(fields, spec) => {
            matches!(s, "available" | "storage-optimization")
                && !pending(&db, fields)
                && reflects(&db, spec, fields)
        }
        Stage::Promotion => {
            s == "available" && db.read_replica_source_db_instance_identifier().is_none()
        }
    };
    if done {
        return Ok(Poll::Ready(db));
    }
    if is_failed(s) || matches!(s, "stopped" | "stopping" | "deleting") {
        return Err(ProviderError::new(
            ErrorClass::Fatal,
            format!("{what}: the instance is `{s}` and will not become available by itself"),
        ));
    }
    Ok(Poll::Pending(s.to_string()))
}
