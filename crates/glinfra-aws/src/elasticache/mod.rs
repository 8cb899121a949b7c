//! Drivers for the ElastiCache kinds: cache subnet groups, cache parameter groups
//! and Redis replication groups in cluster mode.
//!
//! How every driver here keeps the [`Driver`](crate::driver::Driver) contract:
//!
//! - **find** describes the resource by its deterministic name and adopts it only
//!   when `ListTagsForResource` shows our ownership tags; a same-named resource of
//!   someone else is an AlreadyExists error. A replication group that is being
//!   created or modified is waited for first (AWS answers ListTagsForResource only
//!   for an available group), one being deleted is waited out (then `None`), and one
//!   whose creation failed is not adopted.
//! - **create** passes every tag to the create call itself. A create that meets an
//!   existing resource adopts it when it is ours and brings it in line (a full
//!   update), so a retried create converges instead of failing.
//! - **update** changes only the fields named (all in-place fields when none are).
//!   The replication group's calls are chosen by comparing the wanted fields with
//!   what the group reports, because AWS rejects modifications that change nothing
//!   (resharding or replica changes to the current count): this keeps a retried or
//!   resumed update idempotent.
//! - **delete** works from the recorded outputs, treats a resource already gone as
//!   success, and waits until it is gone.
//!
//! Errors go through [`crate::error::classify`] once; a few ElastiCache codes that
//! mean "busy, try again" (a group still in use by a cluster being deleted, a
//! replication group in a transitional state) are made Retryable where they are read.

mod parameter_group;
mod replication_group;
mod subnet_group;
#[cfg(test)]
mod tests;

pub(crate) use parameter_group::CacheParameterGroupDriver;
pub(crate) use replication_group::ReplicationGroupDriver;
pub(crate) use subnet_group::CacheSubnetGroupDriver;

use glinfra_engine::ProviderError;

/// Codes meaning a replication group (or one of its clusters) is busy with another
/// change: try again once it is done.
const BUSY: &[&str] = &["InvalidReplicationGroupState", "InvalidCacheClusterState"];

/// `err`, Retryable when its code is one of [`BUSY`].
fn unless_busy(err: ProviderError) -> ProviderError {
    crate::kit::retryable_when(BUSY, "busy with another change")(err)
}

// ElastiCache tags by ARN (ListTagsForResource, AddTagsToResource,
// RemoveTagsFromResource). AWS answers ListTagsForResource only for a replication
// group that is available: a busy one is Retryable.
crate::kit::tags::tagging!(aws_sdk_elasticache::Client, by_name, unless_busy);
