//! Waiting for a replication group: until it settles, until it is available, or
//! until it is gone. The wait after a create and the wait after a delete go through
//! the shared poll of their region (one DescribeReplicationGroups a poll answers
//! every group waited for); a wait around a modification reads its group alone.

use super::{DEADLINE, WHAT};
use crate::clients::Clients;
use crate::error::classify;
use crate::kit::wait::{self, Poll, POLL};
use crate::kit::Absent;
use aws_sdk_elasticache::types::ReplicationGroup;
use aws_sdk_elasticache::Client;
use glinfra_core::spec::elasticache::ReplicationGroupSpec;
use glinfra_core::Declared;
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::HashMap;

/// Statuses a replication group passes through on its way to a settled one.
const TRANSITIONAL: &[&str] = &["creating", "modifying", "snapshotting", "deleting"];

pub(super) const AVAILABLE: &str = "available";
pub(super) const CREATE_FAILED: &str = "create-failed";

pub(super) fn status(rg: &ReplicationGroup) -> &str {
    rg.status().unwrap_or("unknown")
}

/// The replication group `id`, if there is one.
pub(super) async fn describe(
    ec: &Client,
    id: &str,
) -> Result<Option<ReplicationGroup>, ProviderError> {
    let found = ec
        .describe_replication_groups()
        .replication_group_id(id)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeReplicationGroups {id}"), e))
        .or_absent()?;
    Ok(found.and_then(|out| {
        out.replication_groups()
            .iter()
            .find(|g| g.replication_group_id() == Some(id))
            .cloned()
    }))
}

/// The groups of `ids` ElastiCache knows, by id, in one round of a shared poll:
/// DescribeReplicationGroups of one id, or of none (every group of the region, all
/// pages, 100 a page) for several ([`wait::one_or_all`]).
async fn describe_ids(
    ec: &Client,
    ids: Vec<String>,
) -> Result<HashMap<String, ReplicationGroup>, ProviderError> {
    wait::one_or_all(
        ids,
        ReplicationGroup::replication_group_id,
        |id| async move { describe(ec, &id).await },
        || async {
            crate::kit::all_items!(
                ec.describe_replication_groups(),
                "DescribeReplicationGroups"
            )
        },
    )
    .await
}

/// Polls the group `id` of `region` through the shared describe of the region's
/// groups ([`describe_ids`]).
async fn wait_shared<T>(
    c: &Clients,
    region: &str,
    id: &str,
    what: &str,
    check: impl Fn(Option<ReplicationGroup>) -> Result<Poll<T>, ProviderError>,
) -> Result<T, ProviderError> {
    let ec = c.elasticache(region);
    let describe = |ids| describe_ids(&ec, ids);
    let place = (ReplicationGroupSpec::KIND, region, id);
    wait::until_shared(c, place, what, DEADLINE, describe, check).await
}

/// The group once it is in no transitional state; `None` once it is gone (a group
/// being deleted is waited out).
pub(super) async fn settle(
    ec: &Client,
    id: &str,
) -> Result<Option<ReplicationGroup>, ProviderError> {
    wait::until(
        &format!("ElastiCache {WHAT} `{id}` to settle"),
        DEADLINE,
        POLL,
        move || async move {
            Ok(match describe(ec, id).await? {
                None => Poll::Ready(None),
                Some(rg) if TRANSITIONAL.contains(&status(&rg)) => {
                    Poll::Pending(status(&rg).to_string())
                }
                Some(rg) => Poll::Ready(Some(rg)),
            })
        },
    )
    .await
}

/// Waits until a group just created is `available`, through the shared poll of its
/// region; a group not visible yet is waited for.
pub(super) async fn wait_created(
    c: &Clients,
    region: &str,
    id: &str,
) -> Result<ReplicationGroup, ProviderError> {
    let what = available_what(id);
    wait_shared(c, region, id, &what, |rg| judge_available(rg, id, true)).await
}

/// Waits until the existing group `id` is `available` (its absence is NotFound).
pub(super) async fn wait_available(
    ec: &Client,
    id: &str,
) -> Result<ReplicationGroup, ProviderError> {
    wait::until(&available_what(id), DEADLINE, POLL, move || async move {
        judge_available(describe(ec, id).await?, id, false)
    })
    .await
}

fn available_what(id: &str) -> String {
    format!("ElastiCache {WHAT} `{id}` to become available")
}

/// One poll of a wait until available: what the describe answered (`None`: no such
/// group) read as ready, not yet, or an end. Right after a create (`just_created`)
/// a group not visible yet is not yet there; otherwise its absence is NotFound.
fn judge_available(
    rg: Option<ReplicationGroup>,
    id: &str,
    just_created: bool,
) -> Result<Poll<ReplicationGroup>, ProviderError> {
    let Some(rg) = rg else {
        if just_created {
            return Ok(Poll::Pending("not visible yet".into()));
        }
        return Err(ProviderError::new(
            ErrorClass::NotFound,
            format!("ElastiCache {WHAT} `{id}` not found"),
        ));
    };
    match status(&rg) {
        AVAILABLE => Ok(match in_progress(&rg) {
            Some(seen) => Poll::Pending(seen),
            None => Poll::Ready(rg),
        }),
        CREATE_FAILED => Err(ProviderError::new(
            ErrorClass::Fatal,
            format!("ElastiCache {WHAT} `{id}`: creation failed (status create-failed)"),
        )),
        "deleting" => Err(ProviderError::new(
            ErrorClass::Fatal,
            format!("ElastiCache {WHAT} `{id}` is being deleted"),
        )),
        other => Ok(Poll::Pending(other.to_string())),
    }
}

/// What an `available` group still has in progress: a shard not `available`, a
/// resharding or a change of automatic failover (each started by an immediate change).
fn in_progress(rg: &ReplicationGroup) -> Option<String> {
    if let Some(ng) = rg
        .node_groups()
        .iter()
        .find(|ng| ng.status().is_some_and(|s| s != AVAILABLE))
    {
        return Some(format!(
            "available, shard {} {}",
            ng.node_group_id().unwrap_or("?"),
            ng.status().unwrap_or_default()
        ));
    }
    let pending = rg.pending_modified_values()?;
    if pending.resharding().is_some() {
        return Some("available, resharding".into());
    }
    pending
        .automatic_failover_status()
        .map(|s| format!("available, automatic failover pending {}", s.as_str()))
}

/// Waits until the group is gone, through the shared poll of its region.
pub(super) async fn wait_gone(c: &Clients, region: &str, id: &str) -> Result<(), ProviderError> {
    let what = format!("ElastiCache {WHAT} `{id}` deletion");
    wait_shared(c, region, id, &what, |rg| {
        Ok(match rg {
            None => Poll::Ready(()),
            Some(rg) => Poll::Pending(status(&rg).to_string()),
        })
    })
    .await
}
