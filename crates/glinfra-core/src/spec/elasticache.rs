//! ElastiCache for Redis: subnet groups, parameter groups and cluster-mode replication groups.

use super::closed_set;
use crate::input::Input;
use crate::kind::{ChangeRule, FieldValues};
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A cache subnet group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:elasticache/subnet-group", outputs(name: String, vpc_id: String))]
pub struct CacheSubnetGroupSpec {
    #[resource(replace)]
    /// The VPC its subnets are in. Not sent to AWS: a subnet group cannot move
    /// between VPCs, so a new VPC means a new group (forces replacement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<Input<String>>,
    #[resource(replace, unique)]
    /// Name. Forces replacement.
    pub name: String,
    /// Description (ModifyCacheSubnetGroup).
    pub description: String,
    /// Subnets (ModifyCacheSubnetGroup).
    pub subnet_ids: Vec<Input<String>>,
}

impl ResourceSpec for CacheSubnetGroupSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        crate::names::ELASTICACHE_SUBNET_GROUP.check(cx, "name", &self.name);
    }
}

/// A cache parameter group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:elasticache/parameter-group", outputs(name: String))]
pub struct CacheParameterGroupSpec {
    #[resource(replace, unique)]
    /// Name. Forces replacement.
    pub name: String,
    #[resource(replace)]
    /// Family (`redis7`). Forces replacement.
    pub family: String,
    #[resource(replace)]
    /// Description. Forces replacement.
    pub description: String,
    /// Parameters (ModifyCacheParameterGroup).
    pub parameters: BTreeMap<String, String>,
}

impl ResourceSpec for CacheParameterGroupSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        crate::names::ELASTICACHE_PARAMETER_GROUP.check(cx, "name", &self.name);
    }
}

/// Shards, replicas and nodes of a cluster-mode replication group, as the
/// ElastiCache API Reference (CreateReplicationGroup) puts them: "A Valkey or Redis
/// OSS cluster-mode enabled cluster is comprised of from 1 to 90 shards (API/CLI:
/// node groups). Each shard has a primary node and up to 5 read-only replica nodes."
/// "The node or shard limit can be increased to a maximum of 500 per cluster if the
/// Valkey or Redis OSS engine version is 5.0.6 or higher. For example, you can
/// choose to configure a 500 node cluster that ranges between 83 shards (one primary
/// and 5 replicas per shard) and 500 shards (single primary and no replicas)."
///
/// 500 is the ceiling no quota increase passes; the default quota of 90 nodes per
/// cluster is the account's, left to AWS (NodeQuotaForClusterExceeded then says to
/// ask for an increase).
const MAX_SHARDS: i32 = 500;
const MAX_REPLICAS: i32 = 5;
const MAX_NODES: i32 = 500;

impl ReplicationGroupSpec {
    fn check_shape(&self, cx: &mut SpecCheck<'_>) {
        let (shards, replicas) = (self.num_node_groups, self.replicas_per_node_group);
        if !(1..=MAX_SHARDS).contains(&shards) {
            cx.error(
                "num_node_groups",
                format!("{shards} shards: a cluster-mode replication group has 1 to {MAX_SHARDS} (ElastiCache, CreateReplicationGroup: \"The node or shard limit can be increased to a maximum of 500 per cluster\")"),
            );
        }
        if !(0..=MAX_REPLICAS).contains(&replicas) {
            cx.error(
                "replicas_per_node_group",
                format!("{replicas} replicas per shard: a shard has 0 to {MAX_REPLICAS} (ElastiCache, CreateReplicationGroup: \"Each shard has a primary node and up to 5 read-only replica nodes.\")"),
            );
        }
        let nodes = i64::from(shards) * (i64::from(replicas) + 1);
        if shards >= 1 && replicas >= 0 && nodes > i64::from(MAX_NODES) {
            cx.error(
                "num_node_groups",
                format!("{shards} shards of 1 primary and {replicas} replicas make {nodes} nodes, more than {MAX_NODES} (ElastiCache, CreateReplicationGroup: \"you can choose to configure a 500 node cluster that ranges between 83 shards (one primary and 5 replicas per shard) and 500 shards (single primary and no replicas)\")"),
            );
        }
    }
}

/// A Redis replication group in cluster mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:elasticache/replication-group", outputs(id: String, arn: String, configuration_endpoint: String))]
pub struct ReplicationGroupSpec {
    #[resource(replace, unique)]
    /// Id. Forces replacement.
    pub id: String,
    /// Description (ModifyReplicationGroup).
    pub description: String,
    #[resource(change_rule = crate::spec::rules::upgrade_only)]
    /// Engine version (`7.0`) (ModifyReplicationGroup, upgrades only: a downgrade is
    /// refused in the plan).
    pub engine_version: String,
    /// Node type (`cache.r6g.xlarge`) (ModifyReplicationGroup).
    pub node_type: String,
    /// Shards (ModifyReplicationGroupShardConfiguration).
    pub num_node_groups: i32,
    /// Replicas per shard (Increase/DecreaseReplicaCount).
    pub replicas_per_node_group: i32,
    #[resource(replace)]
    /// The subnet group. Forces replacement.
    pub cache_subnet_group_name: Input<String>,
    /// The parameter group (ModifyReplicationGroup).
    pub cache_parameter_group_name: Input<String>,
    /// Security groups (ModifyReplicationGroup).
    pub security_group_ids: Vec<Input<String>>,
    #[resource(replace)]
    /// Encryption at rest. Forces replacement.
    pub at_rest_encryption: bool,
    #[resource(replace)]
    /// KMS key for encryption at rest. Forces replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Input<String>>,
    #[resource(change_rule = transit_encryption_change)]
    /// TLS in transit. On Redis 7.0.5 and later, turned on or off in place
    /// (ModifyReplicationGroup, in AWS's two steps through `preferred`); on earlier
    /// versions it forces replacement.
    pub transit_encryption: bool,
    /// With `transit_encryption`: `preferred` (TLS and plain connections, while
    /// clients move to TLS) or `required` (TLS only; the default when unset).
    /// Redis 7.0.5 and later (ModifyReplicationGroup `TransitEncryptionMode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption_mode: Option<TransitEncryptionMode>,
    /// Automatic failover (ModifyReplicationGroup).
    pub automatic_failover: bool,
    /// Multi-AZ (ModifyReplicationGroup).
    pub multi_az: bool,
    /// Days of snapshots kept (ModifyReplicationGroup).
    pub snapshot_retention_days: i32,
    #[resource(replace)]
    /// Port. Forces replacement.
    pub port: i32,
}

closed_set! {
    /// Which connections a replication group with in-transit encryption takes
    /// (`TransitEncryptionMode`, AWS spelling).
    TransitEncryptionMode, "transit encryption mode" {
        /// TLS and plain connections both.
        Preferred = "preferred",
        /// TLS connections only.
        Required = "required",
    }
}

/// The first Redis release whose in-transit encryption can be turned on and off on
/// a running group ("Enabling in-transit encryption on an existing cluster",
/// ElastiCache User Guide).
pub const TRANSIT_IN_PLACE_FROM: &str = "7.0.5";

/// True when Redis `version` changes its in-transit encryption in place: 7.0.5 or
/// later, comparing the components `version` names (`7.0` names ElastiCache's
/// current 7.0 release, 7.0.7; `7.1`, `8` are later; `6.2` is not).
pub fn transit_in_place(version: &str) -> bool {
    !crate::spec::rules::is_downgrade(TRANSIT_IN_PLACE_FROM, version)
}

/// `transit_encryption`: in place when the group runs Redis 7.0.5 or later once
/// its engine is upgraded (the driver upgrades first, then changes the encryption in
/// AWS's steps: `preferred`, then `required`; off goes through `preferred` too);
/// on earlier versions, which cannot change it, a replacement.
pub fn transit_encryption_change(c: &FieldValues<'_>) -> ChangeRule {
    let version = c
        .known_after_of("engine_version")
        .or(c.before_of("engine_version"))
        .and_then(serde_json::Value::as_str);
    match version {
        Some(v) if transit_in_place(v) => ChangeRule::InPlace,
        _ => ChangeRule::Replace,
    }
}

impl ResourceSpec for ReplicationGroupSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        crate::names::ELASTICACHE_GROUP.check(cx, "id", &self.id);
        // ElastiCache User Guide, "Supported engines and versions"; the parameter
        // group's family must match the engine version.
        let redis = &crate::offers::offers().elasticache.redis;
        if !redis.offers(&self.engine_version) {
            cx.error(
                "engine_version",
                crate::offers::not_offered("Redis version", &self.engine_version, &redis.versions),
            );
        } else if let (Some(group), Some(family)) = (
            cx.referenced(&self.cache_parameter_group_name)
                .and_then(|d| d.spec::<CacheParameterGroupSpec>().ok()),
            redis.family_of(&self.engine_version),
        ) {
            if group.family != family {
                cx.error(
                    "cache_parameter_group_name",
                    format!(
                        "the parameter group has family `{}`, but Redis {} needs `{family}`",
                        group.family, self.engine_version
                    ),
                );
            }
        }
        self.check_shape(cx);
        if (self.automatic_failover || self.multi_az) && self.replicas_per_node_group < 1 {
            cx.error(
                "automatic_failover",
                "automatic failover and multi-AZ need at least one replica per shard",
            );
        }
        if !self.automatic_failover {
            cx.error(
                "automatic_failover",
                "a Redis replication group in cluster mode needs automatic failover (and so a replica per shard)",
            );
        }
        if self.multi_az && !self.automatic_failover {
            cx.error("multi_az", "multi-AZ needs automatic failover");
        }
        if !self.node_type.starts_with("cache.") {
            cx.error(
                "node_type",
                format!("unknown node type `{}`", self.node_type),
            );
        }
        if let Some(mode) = self.transit_encryption_mode {
            if !self.transit_encryption {
                cx.error(
                    "transit_encryption_mode",
                    format!("`{mode}` needs `transit_encryption = true`"),
                );
            } else if !transit_in_place(&self.engine_version) {
                cx.error(
                    "transit_encryption_mode",
                    format!(
                        "Redis {} has no transit encryption mode (it always requires TLS when on): the mode needs Redis {TRANSIT_IN_PLACE_FROM} or later",
                        self.engine_version
                    ),
                );
            }
        }
        if !(0..=35).contains(&self.snapshot_retention_days) {
            cx.error(
                "snapshot_retention_days",
                format!("must be 0 to 35, got {}", self.snapshot_retention_days),
            );
        }
    }
}
