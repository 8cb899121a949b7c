//! Redis replication groups in cluster mode.
//!
//! - create: CreateReplicationGroup with every spec field and the tags
//!   (`ClusterMode=enabled`, valid on AWS, stated explicitly), then a wait until
//!   `available`.
//! - update, in this order, each step waiting until the group is `available` again:
//!   ModifyReplicationGroupShardConfiguration for the shard count (a decrease removes
//!   the highest-numbered shards), IncreaseReplicaCount, one ModifyReplicationGroup
//!   (`ApplyImmediately`) for description, node type, engine version, parameter
//!   group, security groups, automatic failover, Multi-AZ and snapshot retention,
//!   in-transit encryption (Redis 7.0.5 and later: ModifyReplicationGroup in AWS's
//!   steps through `preferred`, see `transit.rs`), DecreaseReplicaCount (after
//!   failover could be turned off), then tags. Replicas
//!   are added before and removed after the modification because automatic failover
//!   needs a replica per shard. Each call is made only when the group differs from
//!   the spec in a wanted field: AWS rejects a shard or replica change to the
//!   current count (NoOperationFault). The engine version, parameter group and
//!   security groups are read from a member cache cluster (the ReplicationGroup
//!   shape does not carry them).
//! - delete: DeleteReplicationGroup, with a final snapshot `<id>-final-<UTC time>`
//!   when the recorded spec keeps snapshots (retention > 0), then a wait until gone.
//! - observe (refresh): DescribeReplicationGroups and DescribeCacheClusters, each
//!   one call per page for the whole region (the member clusters carry the engine
//!   version, parameter group, subnet group and security groups), and the tags of
//!   each group state recorded (ListTagsForResource: the listing carries none).

use super::{unless_busy, BUSY};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::read::{self, filled};
use crate::kit::tags::{self, ensure_ours, Tagging};
use crate::kit::{
    required, resolved_all, resolved_opt, resolved_str, Absent, Changed, Desired, Recorded,
};
use async_trait::async_trait;
use aws_sdk_elasticache::types::{
    AutomaticFailoverStatus, CacheCluster, ClusterMode, MultiAzStatus, ReplicationGroup,
};
use aws_sdk_elasticache::Client;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use glinfra_core::spec::elasticache::{ReplicationGroupOutputs, ReplicationGroupSpec};
use glinfra_core::Input;
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

mod observed;
mod transit;
mod waits;
use observed::live_spec;
use waits::{settle, status, wait_available, wait_created, wait_gone, CREATE_FAILED};

const WHAT: &str = "replication group";

/// How long a replication group may take to be created, modified or deleted.
const DEADLINE: Duration = Duration::from_secs(90 * 60);

/// The driver of `aws:elasticache/replication-group`.
pub(crate) struct ReplicationGroupDriver;

fn arn_of(rg: &ReplicationGroup) -> Result<&str, ProviderError> {
    required(rg.arn(), "ReplicationGroup ARN")
}

fn rg_outputs(rg: &ReplicationGroup) -> Result<ReplicationGroupOutputs, ProviderError> {
    let id = rg.replication_group_id().unwrap_or_default();
    let endpoint = rg
        .configuration_endpoint()
        .and_then(|e| e.address())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Fatal,
                format!("ElastiCache {WHAT} `{id}` has no configuration endpoint (is cluster mode enabled?)"),
            )
        })?;
    Ok(ReplicationGroupOutputs {
        id: id.to_string(),
        arn: arn_of(rg)?.to_string(),
        configuration_endpoint: endpoint.to_string(),
    })
}

/// Ok when the (available) group carries `r`'s ownership tags.
async fn check_ours(
    ec: &Client,
    rg: &ReplicationGroup,
    r: &Desired<ReplicationGroupSpec>,
) -> Result<(), ProviderError> {
    let id = rg.replication_group_id().unwrap_or_default();
    ensure_ours(ec, &format!("ElastiCache {WHAT} `{id}`"), arn_of(rg)?, r).await
}

async fn send_create(ec: &Client, r: &Desired<ReplicationGroupSpec>) -> Result<(), ProviderError> {
    let spec = &r.spec;
    ec.create_replication_group()
        .replication_group_id(&spec.id)
        .replication_group_description(&spec.description)
        .engine("redis")
        .engine_version(&spec.engine_version)
        .cache_node_type(&spec.node_type)
        .cluster_mode(ClusterMode::Enabled)
        .num_node_groups(spec.num_node_groups)
        .replicas_per_node_group(spec.replicas_per_node_group)
        .cache_subnet_group_name(resolved_str(
            &spec.cache_subnet_group_name,
            "cache_subnet_group_name",
        )?)
        .cache_parameter_group_name(resolved_str(
            &spec.cache_parameter_group_name,
            "cache_parameter_group_name",
        )?)
        .set_security_group_ids(Some(resolved_all(
            &spec.security_group_ids,
            "security_group_ids",
        )?))
        .at_rest_encryption_enabled(spec.at_rest_encryption)
        .set_kms_key_id(resolved_opt(spec.kms_key_id.as_ref(), "kms_key_id")?)
        .transit_encryption_enabled(spec.transit_encryption)
        .set_transit_encryption_mode(
            spec.transit_encryption_mode
                .filter(|_| spec.transit_encryption)
                .map(|m| m.as_str().into()),
        )
        .automatic_failover_enabled(spec.automatic_failover)
        .multi_az_enabled(spec.multi_az)
        .snapshot_retention_limit(spec.snapshot_retention_days)
        .port(spec.port)
        .set_tags(Some(tags::to_sdk(&r.owned_tags())?))
        .send()
        .await
        .map_err(|e| classify(&format!("CreateReplicationGroup {}", spec.id), e))?;
    Ok(())
}

/// Replicas per shard, as the group reports its members (primary first).
fn replica_counts(rg: &ReplicationGroup) -> Vec<i32> {
    rg.node_groups()
        .iter()
        .map(|ng| (ng.node_group_members().len() as i32 - 1).max(0))
        .collect()
}

/// True when the reported engine version is the wanted one: equal, or a patch
/// release of it (`7.0` wanted, `7.0.7` reported; `6.x` wanted, `6.2.6` reported).
pub(super) fn version_matches(reported: &str, wanted: &str) -> bool {
    let prefix = wanted.strip_suffix('x').unwrap_or(wanted);
    reported == wanted
        || (prefix.ends_with('.') && reported.starts_with(prefix))
        || reported.starts_with(&format!("{wanted}."))
}

/// A member cache cluster of the group (where AWS reports its engine version,
/// parameter group and security groups), if one can be read.
async fn member(ec: &Client, rg: &ReplicationGroup) -> Result<Option<CacheCluster>, ProviderError> {
    let Some(cluster_id) = rg.member_clusters().first() else {
        return Ok(None);
    };
    let found = ec
        .describe_cache_clusters()
        .cache_cluster_id(cluster_id)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeCacheClusters {cluster_id}"), e))
        .or_absent()?;
    Ok(found.and_then(|out| out.cache_clusters().first().cloned()))
}

/// ModifyReplicationGroupShardConfiguration to `target` shards; a decrease removes
/// the highest-numbered shards.
async fn reshard(ec: &Client, rg: &ReplicationGroup, target: i32) -> Result<(), ProviderError> {
    let id = rg.replication_group_id().unwrap_or_default();
    let mut ids: Vec<&str> = rg
        .node_groups()
        .iter()
        .filter_map(|ng| ng.node_group_id())
        .collect();
    ids.sort_by_key(|s| (s.parse::<u64>().unwrap_or(u64::MAX), s.to_string()));
    let remove: Option<Vec<String>> = (ids.len() > target as usize).then(|| {
        ids[target.max(0) as usize..]
            .iter()
            .map(|s| s.to_string())
            .collect()
    });
    let sent = ec
        .modify_replication_group_shard_configuration()
        .replication_group_id(id)
        .node_group_count(target)
        .apply_immediately(true)
        .set_node_groups_to_remove(remove)
        .send()
        .await;
    no_operation_ok(
        sent,
        &format!("ModifyReplicationGroupShardConfiguration {id}"),
    )
}

/// IncreaseReplicaCount / DecreaseReplicaCount to `count` replicas in every shard.
async fn change_replicas(
    ec: &Client,
    id: &str,
    count: i32,
    increase: bool,
) -> Result<(), ProviderError> {
    if increase {
        let sent = ec
            .increase_replica_count()
            .replication_group_id(id)
            .new_replica_count(count)
            .apply_immediately(true)
            .send()
            .await;
        no_operation_ok(sent, &format!("IncreaseReplicaCount {id}"))
    } else {
        let sent = ec
            .decrease_replica_count()
            .replication_group_id(id)
            .new_replica_count(count)
            .apply_immediately(true)
            .send()
            .await;
        no_operation_ok(sent, &format!("DecreaseReplicaCount {id}"))
    }
}

/// Success also when AWS says the change is already in effect (NoOperationFault).
fn no_operation_ok<T, E, R>(
    sent: Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>,
    what: &str,
) -> Result<(), ProviderError>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match sent.map_err(|e| classify(what, e)) {
        Ok(_) => Ok(()),
        Err(e) if e.has_code(&["NoOperationFault"]) => Ok(()),
        Err(e) => Err(unless_busy(e)),
    }
}

/// One ModifyReplicationGroup for the wanted fields in which the group differs from
/// the spec; false when there were none.
async fn modify(
    ec: &Client,
    spec: &ReplicationGroupSpec,
    rg: &ReplicationGroup,
    changed: Changed<'_>,
) -> Result<bool, ProviderError> {
    let id = spec.id.as_str();
    let mut call = ec
        .modify_replication_group()
        .replication_group_id(id)
        .apply_immediately(true);
    let mut any = false;

    if changed.has("description") && rg.description() != Some(spec.description.as_str()) {
        call = call.replication_group_description(&spec.description);
        any = true;
    }
    if changed.has("node_type") && rg.cache_node_type() != Some(spec.node_type.as_str()) {
        call = call.cache_node_type(&spec.node_type);
        any = true;
    }
    let per_cluster = [
        "engine_version",
        "cache_parameter_group_name",
        "security_group_ids",
    ];
    let cluster = if changed.any(&per_cluster) {
        member(ec, rg).await?
    } else {
        None
    };
    // What a member cluster does not report (or no member could be read) is sent.
    if changed.has("engine_version")
        && !cluster
            .as_ref()
            .and_then(|c| c.engine_version())
            .is_some_and(|v| version_matches(v, &spec.engine_version))
    {
        call = call.engine_version(&spec.engine_version);
        any = true;
    }
    if changed.has("cache_parameter_group_name") {
        let wanted = resolved_str(
            &spec.cache_parameter_group_name,
            "cache_parameter_group_name",
        )?;
        let current = cluster
            .as_ref()
            .and_then(|c| c.cache_parameter_group())
            .and_then(|p| p.cache_parameter_group_name());
        if current != Some(wanted) {
            call = call.cache_parameter_group_name(wanted);
            any = true;
        }
    }
    if changed.has("security_group_ids") {
        let wanted = resolved_all(&spec.security_group_ids, "security_group_ids")?;
        let current: BTreeSet<&str> = cluster
            .as_ref()
            .map(|c| {
                c.security_groups()
                    .iter()
                    .filter_map(|g| g.security_group_id())
                    .collect()
            })
            .unwrap_or_default();
        if current != wanted.iter().map(String::as_str).collect() {
            call = call.set_security_group_ids(Some(wanted));
            any = true;
        }
    }
    if changed.has("automatic_failover") {
        let current = matches!(
            rg.automatic_failover(),
            Some(AutomaticFailoverStatus::Enabled | AutomaticFailoverStatus::Enabling)
        );
        if current != spec.automatic_failover {
            call = call.automatic_failover_enabled(spec.automatic_failover);
            any = true;
        }
    }
    if changed.has("multi_az") {
        let current = matches!(rg.multi_az(), Some(MultiAzStatus::Enabled));
        if current != spec.multi_az {
            call = call.multi_az_enabled(spec.multi_az);
            any = true;
        }
    }
    if changed.has("snapshot_retention_days")
        && rg.snapshot_retention_limit().unwrap_or(0) != spec.snapshot_retention_days
    {
        call = call.snapshot_retention_limit(spec.snapshot_retention_days);
        any = true;
    }
    if !any {
        return Ok(false);
    }
    match call.send().await {
        Ok(_) => Ok(true),
        Err(e) => {
            let err = classify(&format!("ModifyReplicationGroup {id}"), e);
            // Already as asked (changed meanwhile): nothing to wait for.
            if err.has_code(&["InvalidParameterCombination"])
                && err.message.contains("No modifications were requested")
            {
                return Ok(false);
            }
            Err(unless_busy(err))
        }
    }
}

/// The final snapshot's name: `<id>-final-<UTC time as YYYYMMDDhhmmss>`.
pub(super) fn final_snapshot_name(id: &str, now: SystemTime) -> String {
    let secs = DateTime::from(now).secs();
    let stamp: String = DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| secs.to_string())
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    format!("{id}-final-{stamp}")
}

/// DeleteReplicationGroup (with `snapshot` as the final snapshot) and a wait until gone.
async fn delete_now(
    c: &Clients,
    region: &str,
    id: &str,
    snapshot: Option<String>,
) -> Result<(), ProviderError> {
    let ec = c.elasticache(region);
    let sent = ec
        .delete_replication_group()
        .replication_group_id(id)
        .set_final_snapshot_identifier(snapshot)
        .send()
        .await
        .map_err(|e| unless_busy(classify(&format!("DeleteReplicationGroup {id}"), e)))
        .or_absent()?;
    if sent.is_none() {
        return Ok(());
    }
    wait_gone(c, region, id).await
}

#[async_trait]
impl Driver for ReplicationGroupDriver {
    type Spec = ReplicationGroupSpec;
    const TAGGING: Option<&'static str> = Some("elasticache");

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<ReplicationGroupSpec>,
    ) -> Result<Option<ReplicationGroupOutputs>, ProviderError> {
        let ec = c.elasticache(&r.region);
        match settle(&ec, &r.spec.id).await? {
            None => Ok(None),
            // A failed creation is not adopted (create deletes it when it is ours).
            Some(rg) if status(&rg) == CREATE_FAILED => Ok(None),
            Some(rg) => {
                check_ours(&ec, &rg, r).await?;
                rg_outputs(&rg).map(Some)
            }
        }
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<ReplicationGroupSpec>,
    ) -> Result<ReplicationGroupOutputs, ProviderError> {
        let ec = c.elasticache(&r.region);
        let id = r.spec.id.as_str();
        if let Err(err) = send_create(&ec, r).await {
            if err.class != ErrorClass::AlreadyExists {
                return Err(err);
            }
            // An earlier attempt made it, or someone else did.
            match settle(&ec, id).await? {
                // It was being deleted, and now is gone.
                None => send_create(&ec, r).await?,
                Some(rg) if status(&rg) == CREATE_FAILED => {
                    // Ours, failed: delete it and try again. (Someone else's: AlreadyExists.)
                    check_ours(&ec, &rg, r).await?;
                    delete_now(c, &r.region, id, None).await?;
                    send_create(&ec, r).await?;
                }
                Some(rg) => {
                    check_ours(&ec, &rg, r).await?;
                    return self.adopt(c, r, rg_outputs(&rg)?).await;
                }
            }
        }
        let rg = wait_created(c, &r.region, id).await?;
        rg_outputs(&rg)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<ReplicationGroupSpec>,
        r: &Desired<ReplicationGroupSpec>,
        changed: Changed<'_>,
    ) -> Result<ReplicationGroupOutputs, ProviderError> {
        let ec = c.elasticache(&r.region);
        let spec = &r.spec;
        let id = prior.outputs.id.as_str();
        // An earlier change (ours, interrupted, or a maintenance action) may still run.
        let mut rg = wait_available(&ec, id).await?;

        if changed.has("num_node_groups") && rg.node_groups().len() as i32 != spec.num_node_groups {
            reshard(&ec, &rg, spec.num_node_groups).await?;
            rg = wait_available(&ec, id).await?;
        }

        let replicas = changed.has("replicas_per_node_group");
        let wanted = spec.replicas_per_node_group;
        if replicas && replica_counts(&rg).iter().any(|&n| n < wanted) {
            change_replicas(&ec, id, wanted, true).await?;
            rg = wait_available(&ec, id).await?;
        }

        if modify(&ec, spec, &rg, changed).await? {
            rg = wait_available(&ec, id).await?;
        }

        // After an engine upgrade: the encryption changes in place from 7.0.5 on.
        if changed.any(&["transit_encryption", "transit_encryption_mode"]) {
            rg = transit::change(&ec, spec, rg).await?;
        }

        if replicas && replica_counts(&rg).iter().any(|&n| n > wanted) {
            change_replicas(&ec, id, wanted, false).await?;
            rg = wait_available(&ec, id).await?;
        }

        if changed.has("tags") {
            tags::update(&ec, arn_of(&rg)?, prior, r, changed).await?;
        }
        rg_outputs(&rg)
    }

    /// DescribeReplicationGroups (one call per page); when it lists a group state
    /// recorded, DescribeCacheClusters (one call per page, every cluster of the
    /// region: no filter by group) and ListTagsForResource of each such group. Groups
    /// state does not know are not read: telling which are ours would take a tag
    /// read of every group in the region.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<ReplicationGroupSpec>,
    ) -> Result<Option<Vec<Live<ReplicationGroupSpec>>>, ProviderError> {
        if scope.recorded.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let ec = c.elasticache(&scope.region);
        let groups: Vec<ReplicationGroup> = crate::kit::all_items!(
            ec.describe_replication_groups(),
            "DescribeReplicationGroups"
        )?;
        let groups: Vec<_> = groups
            .into_iter()
            .filter(|rg| !matches!(status(rg), "deleting" | CREATE_FAILED))
            .filter_map(|rg| {
                let id = rg.replication_group_id()?;
                let recorded = scope.recorded.iter().find(|r| r.outputs.id == id)?;
                Some((rg, recorded))
            })
            .collect();
        if groups.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let clusters: Vec<CacheCluster> =
            crate::kit::all_items!(ec.describe_cache_clusters(), "DescribeCacheClusters")?;
        let mut members: BTreeMap<&str, &CacheCluster> = BTreeMap::new();
        for cc in &clusters {
            if let Some(group) = cc.replication_group_id() {
                members.entry(group).or_insert(cc);
            }
        }
        let mut live = Vec::new();
        for (rg, recorded) in groups {
            let arn = arn_of(&rg)?;
            let read = match scope.listed_tags(arn).await {
                Some(tags) => Ok(tags),
                None => ec.list(arn).await,
            };
            let (id, tags) = match read {
                Ok(tags) => match scope.owned(&tags) {
                    Some(id) => (id, tags),
                    None => continue,
                },
                Err(e) if e.class == ErrorClass::NotFound => continue,
                // AWS reads the tags of an available group only: a busy one keeps its record.
                Err(e) if e.has_code(BUSY) => (recorded.id.clone(), recorded.tags.clone()),
                Err(e) => return Err(e),
            };
            let cc = members
                .get(rg.replication_group_id().unwrap_or(""))
                .copied();
            live.push(Live {
                id,
                // Being created: no endpoint yet, the record's outputs stand.
                outputs: rg_outputs(&rg).unwrap_or_else(|_| recorded.outputs.clone()),
                spec: Some(live_spec(&rg, cc, &recorded.spec)),
                tags,
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<ReplicationGroupSpec>,
    ) -> Result<(), ProviderError> {
        let ec = c.elasticache(&prior.region);
        let id = prior.outputs.id.as_str();
        // Wait out a change in progress (AWS refuses to delete a group that is not
        // available); a group already being deleted is waited for until gone.
        let Some(rg) = settle(&ec, id).await? else {
            return Ok(());
        };
        // A group whose creation failed has nothing to snapshot.
        let snapshot = (prior.spec.snapshot_retention_days > 0 && status(&rg) != CREATE_FAILED)
            .then(|| final_snapshot_name(id, SystemTime::now()));
        delete_now(c, &prior.region, id, snapshot).await
    }
}
