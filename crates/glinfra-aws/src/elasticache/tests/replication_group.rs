//! Redis replication groups in cluster mode.

use super::*;
use crate::elasticache::ReplicationGroupDriver;
use crate::test_support;
use crate::test_support::ok_rule;
use aws_sdk_elasticache::operation::create_replication_group::{
    CreateReplicationGroupError, CreateReplicationGroupInput, CreateReplicationGroupOutput,
};
use aws_sdk_elasticache::operation::decrease_replica_count::{
    DecreaseReplicaCountInput, DecreaseReplicaCountOutput,
};
use aws_sdk_elasticache::operation::delete_replication_group::{
    DeleteReplicationGroupInput, DeleteReplicationGroupOutput,
};
use aws_sdk_elasticache::operation::describe_cache_clusters::DescribeCacheClustersOutput;
use aws_sdk_elasticache::operation::describe_replication_groups::{
    DescribeReplicationGroupsError, DescribeReplicationGroupsOutput,
};
use aws_sdk_elasticache::operation::increase_replica_count::{
    IncreaseReplicaCountInput, IncreaseReplicaCountOutput,
};
use aws_sdk_elasticache::operation::modify_replication_group::{
    ModifyReplicationGroupInput, ModifyReplicationGroupOutput,
};
use aws_sdk_elasticache::operation::modify_replication_group_shard_configuration::{
    ModifyReplicationGroupShardConfigurationError, ModifyReplicationGroupShardConfigurationInput,
    ModifyReplicationGroupShardConfigurationOutput,
};
use aws_sdk_elasticache::types::TransitEncryptionMode;
use aws_sdk_elasticache::types::{
    AutomaticFailoverStatus, CacheCluster, CacheParameterGroupStatus, ClusterMode, Endpoint,
    MultiAzStatus, NodeGroup, NodeGroupMember, ReplicationGroup, SecurityGroupMembership,
};
use glinfra_core::spec::elasticache::{
    ReplicationGroupOutputs, ReplicationGroupSpec, TransitEncryptionMode as CoreMode,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DRIVER: ReplicationGroupDriver = ReplicationGroupDriver;

const RG_ID: &str = "sessions";
const RG_ARN: &str = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:sessions";
const RG_ENDPOINT: &str = "clustercfg.sessions.abc123.use1.cache.amazonaws.com";

fn rg_spec() -> ReplicationGroupSpec {
    ReplicationGroupSpec {
        id: RG_ID.into(),
        description: "session store".into(),
        engine_version: "7.0".into(),
        node_type: "cache.r6g.large".into(),
        num_node_groups: 2,
        replicas_per_node_group: 1,
        cache_subnet_group_name: "cache-subnets".into(),
        cache_parameter_group_name: "redis7-tuned".into(),
        security_group_ids: vec!["sg-1".into(), "sg-2".into()],
        at_rest_encryption: true,
        kms_key_id: Some("arn:aws:kms:us-east-1:123456789012:key/k".into()),
        transit_encryption: true,
        transit_encryption_mode: None,
        automatic_failover: true,
        multi_az: true,
        snapshot_retention_days: 0,
        port: 6380,
    }
}

fn rg_resource(spec: &ReplicationGroupSpec) -> Desired<ReplicationGroupSpec> {
    resource("cache", spec)
}

fn rg_outputs_expected() -> ReplicationGroupOutputs {
    ReplicationGroupOutputs {
        id: RG_ID.into(),
        arn: RG_ARN.into(),
        configuration_endpoint: RG_ENDPOINT.into(),
    }
}

/// The group of `spec` as state recorded it.
fn rg_state(spec: &ReplicationGroupSpec) -> Recorded<ReplicationGroupSpec> {
    recorded(&rg_resource(spec), rg_outputs_expected())
}

/// Creates the group of `spec`.
async fn create(
    c: &Clients,
    spec: &ReplicationGroupSpec,
) -> Result<ReplicationGroupOutputs, ProviderError> {
    DRIVER.create(c, &rg_resource(spec)).await
}

/// Updates the group recorded as `from` to `to`, naming `fields` as changed.
async fn update(
    c: &Clients,
    from: &ReplicationGroupSpec,
    to: &ReplicationGroupSpec,
    fields: &[&str],
) -> Result<ReplicationGroupOutputs, ProviderError> {
    let (prior, r) = (rg_state(from), rg_resource(to));
    test_support::update(&DRIVER, c, &prior, &r, fields).await
}

/// Deletes the group recorded as `spec`.
async fn delete(c: &Clients, spec: &ReplicationGroupSpec) -> Result<(), ProviderError> {
    DRIVER.delete(c, &rg_state(spec)).await
}

/// A group as AWS reports it, in line with [`rg_spec`] but for the shape given.
fn rg(status: &str, shards: usize, replicas: usize) -> ReplicationGroup {
    let spec = rg_spec();
    let mut b = ReplicationGroup::builder()
        .replication_group_id(RG_ID)
        .status(status)
        .arn(RG_ARN)
        .description(spec.description)
        .cache_node_type(spec.node_type)
        .cluster_enabled(true)
        .cluster_mode(ClusterMode::Enabled)
        .automatic_failover(AutomaticFailoverStatus::Enabled)
        .multi_az(MultiAzStatus::Enabled)
        .snapshot_retention_limit(0)
        .transit_encryption_enabled(spec.transit_encryption)
        .set_transit_encryption_mode(
            spec.transit_encryption
                .then_some(TransitEncryptionMode::Required),
        )
        .configuration_endpoint(Endpoint::builder().address(RG_ENDPOINT).port(6380).build());
    for shard in 1..=shards {
        let mut ng = NodeGroup::builder()
            .node_group_id(format!("{shard:04}"))
            .status("available");
        for member in 1..=replicas + 1 {
            let cluster = format!("{RG_ID}-{shard:04}-{member:03}");
            b = b.member_clusters(cluster.clone());
            ng =
                ng.node_group_members(NodeGroupMember::builder().cache_cluster_id(cluster).build());
        }
        b = b.node_groups(ng.build());
    }
    b.build()
}

fn describe_rg_rule(group: ReplicationGroup) -> Rule {
    mock!(Client::describe_replication_groups)
        .match_requests(|r| r.replication_group_id() == Some(RG_ID))
        .then_output(move || {
            DescribeReplicationGroupsOutput::builder()
                .replication_groups(group.clone())
                .build()
        })
}

fn rg_not_found_rule() -> Rule {
    mock!(Client::describe_replication_groups)
        .match_requests(|r| r.replication_group_id() == Some(RG_ID))
        .then_error(|| {
            DescribeReplicationGroupsError::generic(meta("ReplicationGroupNotFoundFault"))
        })
}

/// A member cache cluster reporting `version`, `parameter_group` and `security_groups`.
fn member_rule(version: &str, parameter_group: &str, security_groups: &[&str]) -> Rule {
    let cluster = CacheCluster::builder()
        .cache_cluster_id(format!("{RG_ID}-0001-001"))
        .engine_version(version)
        .cache_parameter_group(
            CacheParameterGroupStatus::builder()
                .cache_parameter_group_name(parameter_group)
                .parameter_apply_status("in-sync")
                .build(),
        )
        .set_security_groups(Some(
            security_groups
                .iter()
                .map(|g| {
                    SecurityGroupMembership::builder()
                        .security_group_id(*g)
                        .status("active")
                        .build()
                })
                .collect(),
        ))
        .build();
    mock!(Client::describe_cache_clusters)
        .match_requests(|r| r.cache_cluster_id() == Some("sessions-0001-001"))
        .then_output(move || {
            DescribeCacheClustersOutput::builder()
                .cache_clusters(cluster.clone())
                .build()
        })
}

#[tokio::test]
async fn replication_group_create_maps_every_field_and_waits_until_available() {
    let (seen, see) = recorder::<CreateReplicationGroupInput>();
    let rules = [
        ok_rule!(Client::create_replication_group(see) -> CreateReplicationGroupOutput),
        // Not visible at first, then creating, then available.
        rg_not_found_rule(),
        describe_rg_rule(rg("creating", 2, 1)),
        describe_rg_rule(rg("creating", 2, 1)),
        describe_rg_rule(rg("available", 2, 1)),
    ];
    let c = clients(&rules);

    let out = create(&c, &rg_spec()).await.unwrap();

    assert_eq!(out, rg_outputs_expected());
    let seen = seen.lock().unwrap();
    let req = &seen[0];
    assert_eq!(req.replication_group_id(), Some(RG_ID));
    assert_eq!(req.replication_group_description(), Some("session store"));
    assert_eq!(req.engine(), Some("redis"));
    assert_eq!(req.engine_version(), Some("7.0"));
    assert_eq!(req.cache_node_type(), Some("cache.r6g.large"));
    assert_eq!(req.cluster_mode(), Some(&ClusterMode::Enabled));
    assert_eq!(req.num_node_groups(), Some(2));
    assert_eq!(req.replicas_per_node_group(), Some(1));
    assert_eq!(req.cache_subnet_group_name(), Some("cache-subnets"));
    assert_eq!(req.cache_parameter_group_name(), Some("redis7-tuned"));
    assert_eq!(req.security_group_ids(), ["sg-1", "sg-2"]);
    assert_eq!(req.at_rest_encryption_enabled(), Some(true));
    assert_eq!(
        req.kms_key_id(),
        Some("arn:aws:kms:us-east-1:123456789012:key/k")
    );
    assert_eq!(req.transit_encryption_enabled(), Some(true));
    assert_eq!(req.automatic_failover_enabled(), Some(true));
    assert_eq!(req.multi_az_enabled(), Some(true));
    assert_eq!(req.snapshot_retention_limit(), Some(0));
    assert_eq!(req.port(), Some(6380));
    assert_eq!(tags::from_sdk(req.tags()), owner_tags("cache"));
    // Nothing else: no cluster-mode-disabled sizing, no auth token.
    assert!(req.num_cache_clusters().is_none() && req.auth_token().is_none());
    all_used(&rules);
}

// A paused clock: the round's gathering ends only once both creates wait, however
// slow the machine (on a real clock a busy machine can close it before the second).
#[tokio::test(start_paused = true)]
async fn creates_waiting_together_share_one_listing_a_poll() {
    let mut second = rg_spec();
    second.id = "carts".into();
    let mut carts = rg("available", 2, 1);
    carts.replication_group_id = Some("carts".into());
    carts.arn = Some(RG_ARN.replace("sessions", "carts"));
    // A group of the region that nobody waits for is listed too, and left out.
    let mut other = rg("creating", 2, 1);
    other.replication_group_id = Some("someone-elses".into());
    let listed = [rg("available", 2, 1), carts, other];
    let rules = [
        ok_rule!(Client::create_replication_group(|_| true) -> CreateReplicationGroupOutput),
        ok_rule!(Client::create_replication_group(|_| true) -> CreateReplicationGroupOutput),
        // In sequence: a wait polling alone describes its group by id, which this
        // rule does not match, and fails the test.
        mock!(Client::describe_replication_groups)
            .match_requests(|r| r.replication_group_id().is_none())
            .then_output(move || {
                DescribeReplicationGroupsOutput::builder()
                    .set_replication_groups(Some(listed.to_vec()))
                    .build()
            }),
    ];
    let c = clients(&rules);

    let first = rg_spec();
    let (a, b) = tokio::join!(create(&c, &first), create(&c, &second));

    assert_eq!(a.unwrap(), rg_outputs_expected());
    assert_eq!(b.unwrap().id, "carts");
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_create_failure_while_creating_is_fatal_and_named() {
    let rules = [
        mock!(Client::create_replication_group)
            .then_output(|| CreateReplicationGroupOutput::builder().build()),
        describe_rg_rule(rg("creating", 2, 1)),
        describe_rg_rule(rg("create-failed", 2, 1)),
    ];
    let c = clients(&rules);
    let err = create(&c, &rg_spec()).await.unwrap_err();
    assert_error(&err, ErrorClass::Fatal, "create-failed");
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_create_replaces_our_own_failed_creation() {
    let (deleted, see_deleted) = recorder::<DeleteReplicationGroupInput>();
    let rules = [
        mock!(Client::create_replication_group).then_error(|| {
            CreateReplicationGroupError::generic(meta("ReplicationGroupAlreadyExists"))
        }),
        describe_rg_rule(rg("create-failed", 2, 1)),
        list_tags_rule(RG_ARN, ours("cache")),
        ok_rule!(Client::delete_replication_group(see_deleted) -> DeleteReplicationGroupOutput),
        describe_rg_rule(rg("deleting", 2, 1)),
        rg_not_found_rule(),
        mock!(Client::create_replication_group)
            .match_requests(|r| r.replication_group_id() == Some(RG_ID))
            .then_output(|| CreateReplicationGroupOutput::builder().build()),
        describe_rg_rule(rg("creating", 2, 1)),
        describe_rg_rule(rg("available", 2, 1)),
    ];
    let c = clients(&rules);

    let out = create(&c, &rg_spec()).await.unwrap();

    assert_eq!(out, rg_outputs_expected());
    // Nothing to snapshot in a failed group.
    assert_eq!(deleted.lock().unwrap()[0].final_snapshot_identifier(), None);
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_create_meeting_a_foreign_group_is_already_exists() {
    let rules = [
        mock!(Client::create_replication_group).then_error(|| {
            CreateReplicationGroupError::generic(meta("ReplicationGroupAlreadyExists"))
        }),
        describe_rg_rule(rg("available", 2, 1)),
        list_tags_rule(RG_ARN, vec![]),
    ];
    let c = clients(&rules);
    let err = create(&c, &rg_spec()).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "`sessions`");
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_modification_refused_while_busy_is_retryable() {
    let mut after = rg_spec();
    after.description = "new".into();
    let rules = [
        describe_rg_rule(rg("available", 2, 1)),
        mock!(Client::modify_replication_group).then_error(|| {
            aws_sdk_elasticache::operation::modify_replication_group::ModifyReplicationGroupError::generic(
                meta("InvalidReplicationGroupState"),
            )
        }),
    ];
    let c = clients(&rules);
    let err = update(&c, &rg_spec(), &after, &["description"])
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_find_adopts_only_ours_and_waits_out_transitions() {
    let rules = [
        // 1: nothing.
        rg_not_found_rule(),
        // 2: still creating, then available and ours.
        describe_rg_rule(rg("creating", 2, 1)),
        describe_rg_rule(rg("available", 2, 1)),
        list_tags_rule(RG_ARN, ours("cache")),
        // 3: someone else's.
        describe_rg_rule(rg("available", 2, 1)),
        list_tags_rule(
            RG_ARN,
            tags(&[(TAG_STACK, "other"), (TAG_LOGICAL_ID, "cache")]),
        ),
        // 4: being deleted: waited out until gone.
        describe_rg_rule(rg("deleting", 2, 1)),
        describe_rg_rule(rg("deleting", 2, 1)),
        rg_not_found_rule(),
        // 5: a failed creation is not adopted.
        describe_rg_rule(rg("create-failed", 2, 1)),
    ];
    let c = clients(&rules);
    let r = rg_resource(&rg_spec());

    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), None);
    assert_eq!(
        DRIVER.find(&c, &r).await.unwrap(),
        Some(rg_outputs_expected())
    );
    let err = DRIVER.find(&c, &r).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "stack `other`");
    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), None);
    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), None);
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_create_meeting_our_group_adopts_it_and_reconciles_every_field() {
    // The group found has one replica per shard too few and an old description;
    // everything else is in line (the member reports a patch release of 7.0).
    let mut found = rg("available", 2, 0);
    found.description = Some("old".into());
    found.automatic_failover = Some(AutomaticFailoverStatus::Enabled);
    let (modified, see_modified) = recorder::<ModifyReplicationGroupInput>();
    let (increased, see_increased) = recorder::<IncreaseReplicaCountInput>();
    let rules = [
        mock!(Client::create_replication_group).then_error(|| {
            CreateReplicationGroupError::generic(meta("ReplicationGroupAlreadyExists"))
        }),
        describe_rg_rule(found.clone()),
        list_tags_rule(RG_ARN, ours("cache")),
        // The full update.
        describe_rg_rule(found.clone()),
        ok_rule!(Client::increase_replica_count(see_increased) -> IncreaseReplicaCountOutput),
        describe_rg_rule({
            let mut g = rg("available", 2, 1);
            g.description = Some("old".into());
            g
        }),
        member_rule("7.0.7", "redis7-tuned", &["sg-2", "sg-1"]),
        ok_rule!(Client::modify_replication_group(see_modified) -> ModifyReplicationGroupOutput),
        describe_rg_rule(rg("available", 2, 1)),
        list_tags_rule(RG_ARN, ours("cache")),
    ];
    let c = clients(&rules);

    let out = create(&c, &rg_spec()).await.unwrap();

    assert_eq!(out, rg_outputs_expected());
    let increased = increased.lock().unwrap();
    assert_eq!(increased[0].new_replica_count(), Some(1));
    assert_eq!(increased[0].apply_immediately(), Some(true));
    let modified = modified.lock().unwrap();
    let m = &modified[0];
    assert_eq!(m.replication_group_description(), Some("session store"));
    assert_eq!(m.apply_immediately(), Some(true));
    // Only what differs is sent.
    assert!(m.engine_version().is_none());
    assert!(m.cache_node_type().is_none());
    assert!(m.cache_parameter_group_name().is_none());
    assert!(m.security_group_ids.is_none());
    assert!(m.automatic_failover_enabled().is_none());
    assert!(m.multi_az_enabled().is_none());
    assert!(m.snapshot_retention_limit().is_none());
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_full_update_of_a_group_in_line_makes_no_mutating_call() {
    let rules = [
        describe_rg_rule(rg("available", 2, 1)),
        member_rule("7.0.7", "redis7-tuned", &["sg-1", "sg-2"]),
        list_tags_rule(RG_ARN, ours("cache")),
    ];
    let c = clients(&rules);
    let r = rg_resource(&rg_spec());

    let out = DRIVER
        .update(&c, &recorded(&r, rg_outputs_expected()), &r, Changed::ALL)
        .await
        .unwrap();

    assert_eq!(out, rg_outputs_expected());
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_update_sends_each_modifiable_field_in_one_modify_call() {
    let before = rg_spec();
    let mut after = rg_spec();
    after.description = "new description".into();
    after.node_type = "cache.r6g.xlarge".into();
    after.engine_version = "7.1".into();
    after.cache_parameter_group_name = "redis7-other".into();
    after.security_group_ids = vec!["sg-3".into()];
    after.snapshot_retention_days = 7;
    let (seen, see) = recorder::<ModifyReplicationGroupInput>();
    let rules = [
        // A change still in progress is waited for first.
        describe_rg_rule(rg("modifying", 2, 1)),
        describe_rg_rule(rg("available", 2, 1)),
        member_rule("7.0.7", "redis7-tuned", &["sg-1", "sg-2"]),
        ok_rule!(Client::modify_replication_group(see) -> ModifyReplicationGroupOutput),
        describe_rg_rule(rg("modifying", 2, 1)),
        describe_rg_rule(rg("available", 2, 1)),
    ];
    let c = clients(&rules);
    let fields = changed(&[
        "description",
        "node_type",
        "engine_version",
        "cache_parameter_group_name",
        "security_group_ids",
        "snapshot_retention_days",
    ]);

    let out = DRIVER
        .update(
            &c,
            &rg_state(&before),
            &rg_resource(&after),
            Changed(&fields),
        )
        .await
        .unwrap();

    assert_eq!(out, rg_outputs_expected());
    let seen = seen.lock().unwrap();
    let m = &seen[0];
    assert_eq!(m.replication_group_id(), Some(RG_ID));
    assert_eq!(m.apply_immediately(), Some(true));
    assert_eq!(m.replication_group_description(), Some("new description"));
    assert_eq!(m.cache_node_type(), Some("cache.r6g.xlarge"));
    assert_eq!(m.engine_version(), Some("7.1"));
    assert_eq!(m.cache_parameter_group_name(), Some("redis7-other"));
    assert_eq!(m.security_group_ids(), ["sg-3"]);
    assert_eq!(m.snapshot_retention_limit(), Some(7));
    // Fields not named are not sent.
    assert!(m.automatic_failover_enabled().is_none() && m.multi_az_enabled().is_none());
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_turning_failover_off_precedes_removing_the_last_replicas() {
    let mut after = rg_spec();
    after.replicas_per_node_group = 0;
    after.automatic_failover = false;
    after.multi_az = false;
    let (modified, see_modified) = recorder::<ModifyReplicationGroupInput>();
    let (decreased, see_decreased) = recorder::<DecreaseReplicaCountInput>();
    let rules = [
        describe_rg_rule(rg("available", 2, 1)),
        ok_rule!(Client::modify_replication_group(see_modified) -> ModifyReplicationGroupOutput),
        describe_rg_rule(rg("available", 2, 1)),
        ok_rule!(Client::decrease_replica_count(see_decreased) -> DecreaseReplicaCountOutput),
        describe_rg_rule(rg("modifying", 2, 0)),
        describe_rg_rule(rg("available", 2, 0)),
    ];
    let c = clients(&rules);

    update(
        &c,
        &rg_spec(),
        &after,
        &["replicas_per_node_group", "automatic_failover", "multi_az"],
    )
    .await
    .unwrap();

    let modified = modified.lock().unwrap();
    assert_eq!(modified[0].automatic_failover_enabled(), Some(false));
    assert_eq!(modified[0].multi_az_enabled(), Some(false));
    let decreased = decreased.lock().unwrap();
    assert_eq!(decreased[0].replication_group_id(), Some(RG_ID));
    assert_eq!(decreased[0].new_replica_count(), Some(0));
    assert_eq!(decreased[0].apply_immediately(), Some(true));
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_shard_increase_and_decrease() {
    let seen = Arc::new(Mutex::new(Vec::<
        ModifyReplicationGroupShardConfigurationInput,
    >::new()));
    let shard_rule = || {
        mock!(Client::modify_replication_group_shard_configuration)
            .match_requests(record(&seen))
            .then_output(|| ModifyReplicationGroupShardConfigurationOutput::builder().build())
    };
    let rules = [
        // 2 -> 3 shards.
        describe_rg_rule(rg("available", 2, 1)),
        shard_rule(),
        describe_rg_rule(rg("modifying", 3, 1)),
        describe_rg_rule(rg("available", 3, 1)),
        // 3 -> 1 shard: the highest-numbered are removed.
        describe_rg_rule(rg("available", 3, 1)),
        shard_rule(),
        describe_rg_rule(rg("available", 1, 1)),
    ];
    let c = clients(&rules);
    let prior = rg_state(&rg_spec());
    let fields = changed(&["num_node_groups"]);

    let mut three = rg_spec();
    three.num_node_groups = 3;
    DRIVER
        .update(&c, &prior, &rg_resource(&three), Changed(&fields))
        .await
        .unwrap();
    let mut one = rg_spec();
    one.num_node_groups = 1;
    DRIVER
        .update(&c, &prior, &rg_resource(&one), Changed(&fields))
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].replication_group_id(), Some(RG_ID));
    assert_eq!(seen[0].node_group_count(), Some(3));
    assert_eq!(seen[0].apply_immediately(), Some(true));
    assert!(seen[0].node_groups_to_remove.is_none());
    assert_eq!(seen[1].node_group_count(), Some(1));
    assert_eq!(seen[1].node_groups_to_remove(), ["0002", "0003"]);
    all_used(&rules);
}

/// Grows the group of `rg_spec()` from 2 to 3 shards: the shard call is answered by
/// `shard_call`, the group's state after it by `then`.
async fn grow_to_three_shards(shard_call: Rule, then: Vec<Rule>) {
    let mut rules = vec![describe_rg_rule(rg("available", 2, 1)), shard_call];
    rules.extend(then);
    let c = clients(&rules);
    let mut three = rg_spec();
    three.num_node_groups = 3;
    update(&c, &rg_spec(), &three, &["num_node_groups"])
        .await
        .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_shard_change_already_made_counts_as_done() {
    let shard_call = mock!(Client::modify_replication_group_shard_configuration).then_error(|| {
        ModifyReplicationGroupShardConfigurationError::generic(meta("NoOperationFault"))
    });
    grow_to_three_shards(shard_call, vec![describe_rg_rule(rg("available", 3, 1))]).await;
}

#[tokio::test]
async fn replication_group_tags_are_synced_on_its_arn() {
    let mut prior = rg_state(&rg_spec());
    prior.tags.insert("old".into(), "1".into());
    let (added, [add, remove]) = retag(RG_ARN);
    let rules = [describe_rg_rule(rg("available", 2, 1)), add, remove];
    let c = clients(&rules);

    DRIVER
        .update(
            &c,
            &prior,
            &rg_resource(&rg_spec()),
            Changed(&changed(&["tags"])),
        )
        .await
        .unwrap();

    assert_retagged(&added.lock().unwrap(), RG_ARN, "cache");
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_delete_waits_until_gone_without_a_snapshot_when_none_are_kept() {
    let (seen, see) = recorder::<DeleteReplicationGroupInput>();
    let rules = [
        describe_rg_rule(rg("available", 2, 1)),
        ok_rule!(Client::delete_replication_group(see) -> DeleteReplicationGroupOutput),
        describe_rg_rule(rg("deleting", 2, 1)),
        describe_rg_rule(rg("deleting", 2, 1)),
        rg_not_found_rule(),
    ];
    let c = clients(&rules);
    let prior = rg_state(&rg_spec());

    DRIVER.delete(&c, &prior).await.unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].replication_group_id(), Some(RG_ID));
    assert_eq!(seen[0].final_snapshot_identifier(), None);
    all_used(&rules);
}

/// Deletes a group keeping 7 days of snapshots that AWS reports `status` (and gone
/// after the delete call); returns the delete request.
async fn delete_keeping_snapshots(status: &str) -> DeleteReplicationGroupInput {
    let mut spec = rg_spec();
    spec.snapshot_retention_days = 7;
    let (seen, see) = recorder::<DeleteReplicationGroupInput>();
    let rules = [
        describe_rg_rule(rg(status, 2, 1)),
        ok_rule!(Client::delete_replication_group(see) -> DeleteReplicationGroupOutput),
        rg_not_found_rule(),
    ];
    let c = clients(&rules);

    delete(&c, &spec).await.unwrap();

    all_used(&rules);
    let seen = seen.lock().unwrap();
    seen[0].clone()
}

#[tokio::test]
async fn replication_group_delete_takes_a_final_snapshot_when_snapshots_are_kept() {
    let req = delete_keeping_snapshots("available").await;
    let name = req.final_snapshot_identifier().unwrap();
    let stamp = name.strip_prefix("sessions-final-").unwrap();
    assert!(
        stamp.len() == 14 && stamp.chars().all(|c| c.is_ascii_digit()),
        "{name}"
    );
}

#[tokio::test]
async fn replication_group_delete_of_a_group_gone_or_going_is_success() {
    let rules = [
        rg_not_found_rule(),
        // Already being deleted (a retried delete): waited for, no second delete call.
        describe_rg_rule(rg("deleting", 2, 1)),
        rg_not_found_rule(),
    ];
    let c = clients(&rules);
    let prior = rg_state(&rg_spec());

    DRIVER.delete(&c, &prior).await.unwrap();
    DRIVER.delete(&c, &prior).await.unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_wait_covers_shards_and_resharding_still_in_progress() {
    let mut shard_busy = rg("available", 2, 1);
    shard_busy.node_groups.as_mut().unwrap()[1].status = Some("modifying".into());
    let resharding = ReplicationGroup::builder()
        .pending_modified_values(
            aws_sdk_elasticache::types::ReplicationGroupPendingModifiedValues::builder()
                .resharding(
                    aws_sdk_elasticache::types::ReshardingStatus::builder()
                        .slot_migration(
                            aws_sdk_elasticache::types::SlotMigration::builder()
                                .progress_percentage(40.0)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build();
    let mut resharding_rg = rg("available", 3, 1);
    resharding_rg.pending_modified_values = resharding.pending_modified_values;
    let shard_call = mock!(Client::modify_replication_group_shard_configuration)
        .then_output(|| ModifyReplicationGroupShardConfigurationOutput::builder().build());
    let then = vec![
        describe_rg_rule(shard_busy),
        describe_rg_rule(resharding_rg),
        describe_rg_rule(rg("available", 3, 1)),
    ];
    grow_to_three_shards(shard_call, then).await;
}

/// A group whose creation failed keeps no snapshots: there is nothing to snapshot.
#[tokio::test]
async fn replication_group_delete_of_our_failed_creation_takes_no_final_snapshot() {
    // Settled: failed, so deleted without a snapshot, then waited for.
    let req = delete_keeping_snapshots("create-failed").await;
    assert_eq!(req.replication_group_id(), Some(RG_ID));
    assert_eq!(req.final_snapshot_identifier(), None);
}

#[test]
fn final_snapshot_names_carry_the_utc_time() {
    let t = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(
        crate::elasticache::replication_group::final_snapshot_name("sessions", t),
        "sessions-final-20231114221320"
    );
}

#[test]
fn engine_versions_match_their_patch_releases() {
    use crate::elasticache::replication_group::version_matches;
    assert!(version_matches("7.0", "7.0"));
    assert!(version_matches("7.0.7", "7.0"));
    assert!(version_matches("6.2.6", "6.x"));
    assert!(!version_matches("7.1.0", "7.0"));
    assert!(!version_matches("7.10.1", "7.1"));
}

/// The group of `rg_spec()` as DescribeReplicationGroups lists it, every field set.
fn rg_listed() -> ReplicationGroup {
    let mut g = rg("available", 2, 1);
    g.at_rest_encryption_enabled = Some(true);
    g.transit_encryption_enabled = Some(true);
    g.kms_key_id = rg_spec().kms_key_id.map(|k| k.value().unwrap().clone());
    g
}

/// A member cache cluster of group `group`, as DescribeCacheClusters lists it:
/// `version`, the parameter and subnet groups of `rg_spec()`, the security groups
/// in another order.
fn member_of(group: &str, version: &str) -> CacheCluster {
    CacheCluster::builder()
        .cache_cluster_id(format!("{group}-0001-001"))
        .replication_group_id(group)
        .engine_version(version)
        .cache_subnet_group_name("cache-subnets")
        .cache_parameter_group(
            CacheParameterGroupStatus::builder()
                .cache_parameter_group_name("redis7-tuned")
                .build(),
        )
        .security_groups(
            SecurityGroupMembership::builder()
                .security_group_id("sg-2")
                .build(),
        )
        .security_groups(
            SecurityGroupMembership::builder()
                .security_group_id("sg-1")
                .build(),
        )
        .build()
}

type ListGroupsInput =
    aws_sdk_elasticache::operation::describe_replication_groups::DescribeReplicationGroupsInput;
type ListClustersInput =
    aws_sdk_elasticache::operation::describe_cache_clusters::DescribeCacheClustersInput;

/// The two listings of the region: every group (answering `groups`), then every
/// cache cluster (answering `clusters`); each request recorded.
fn listings(
    groups: Vec<ReplicationGroup>,
    clusters: Vec<CacheCluster>,
) -> (Seen<ListGroupsInput>, Seen<ListClustersInput>, [Rule; 2]) {
    let (seen_groups, see_groups) = recorder::<ListGroupsInput>();
    let (seen_clusters, see_clusters) = recorder::<ListClustersInput>();
    let rules = [
        mock!(Client::describe_replication_groups)
            .match_requests(see_groups)
            .then_output(move || {
                DescribeReplicationGroupsOutput::builder()
                    .set_replication_groups(Some(groups.clone()))
                    .build()
            }),
        mock!(Client::describe_cache_clusters)
            .match_requests(see_clusters)
            .then_output(move || {
                DescribeCacheClustersOutput::builder()
                    .set_cache_clusters(Some(clusters.clone()))
                    .build()
            }),
    ];
    (seen_groups, seen_clusters, rules)
}

/// Recorded: ours (`cache`) and `old-cache`, whose group now carries another
/// stack's tags. Listed too: a group state does not know (its tags are not read)
/// and a recorded group being deleted.
#[tokio::test]
async fn replication_group_observe_reads_the_region_in_two_listings_and_the_tags_of_ours() {
    const OLD_ARN: &str = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:old";
    let mut ours_now = rg_listed();
    ours_now.snapshot_retention_limit = Some(5);
    let mut old = rg_listed();
    old.replication_group_id = Some("old".into());
    old.arn = Some(OLD_ARN.into());
    let mut stranger = rg_listed();
    stranger.replication_group_id = Some("stranger".into());
    let mut going = rg_listed();
    going.replication_group_id = Some("going".into());
    going.status = Some("deleting".into());
    let (groups_asked, clusters_asked, [list_groups, list_clusters]) = listings(
        vec![ours_now, stranger, old, going],
        vec![
            member_of("stranger", "6.2.6"),
            // A patch release of the recorded `7.0`: not drift.
            member_of(RG_ID, "7.0.7"),
            member_of("old", "7.0.7"),
        ],
    );
    let rules = [
        list_groups,
        list_clusters,
        list_tags_rule(RG_ARN, ours("cache")),
        list_tags_rule(
            OLD_ARN,
            tags(&[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "old-cache")]),
        ),
    ];
    let c = clients(&rules);
    let record = |id: &str, logical: &str| {
        let mut spec = rg_spec();
        spec.id = id.into();
        let mut out = rg_outputs_expected();
        out.id = id.into();
        recorded(&resource(logical, &spec), out)
    };
    let scope = test_support::scope(
        STACK,
        REGION,
        vec![
            rg_state(&rg_spec()),
            record("old", "old-cache"),
            record("going", "going-cache"),
        ],
    );

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(groups_asked.lock().unwrap()[0].replication_group_id(), None);
    assert_eq!(clusters_asked.lock().unwrap()[0].cache_cluster_id(), None);
    assert_eq!(
        live.len(),
        1,
        "the other stack's and the deleting group dropped"
    );
    assert_eq!(live[0].id, "cache");
    assert_eq!(live[0].outputs, rg_outputs_expected());
    assert_eq!(live[0].tags, owner_tags("cache"));
    let mut expected = rg_spec();
    expected.snapshot_retention_days = 5;
    assert_eq!(live[0].spec.as_ref().unwrap(), &expected, "the live value");
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_observe_of_an_unchanged_group_reads_exactly_the_recorded_spec() {
    let (_, _, [list_groups, list_clusters]) =
        listings(vec![rg_listed()], vec![member_of(RG_ID, "7.0.7")]);
    let rules = [
        list_groups,
        list_clusters,
        list_tags_rule(RG_ARN, ours("cache")),
    ];
    let c = clients(&rules);
    let scope = test_support::scope(STACK, REGION, vec![rg_state(&rg_spec())]);

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(rg_spec()).unwrap()
    );
    all_used(&rules);
}

/// AWS reads the tags of an available group only: a group busy with a change keeps
/// its recorded tags, and what cannot be read without a member (none listed) stays
/// as recorded.
#[tokio::test]
async fn replication_group_observe_of_a_busy_group_keeps_its_recorded_tags() {
    let mut busy = rg_listed();
    busy.status = Some("modifying".into());
    busy.cache_node_type = Some("cache.r6g.xlarge".into());
    let (_, _, [list_groups, list_clusters]) = listings(vec![busy], vec![]);
    let rules = [
        list_groups,
        list_clusters,
        mock!(Client::list_tags_for_resource).then_error(|| {
            aws_sdk_elasticache::operation::list_tags_for_resource::ListTagsForResourceError::generic(
                meta("InvalidReplicationGroupState"),
            )
        }),
    ];
    let c = clients(&rules);
    let scope = test_support::scope(STACK, REGION, vec![rg_state(&rg_spec())]);

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(live[0].id, "cache");
    assert_eq!(live[0].tags, owner_tags("cache"));
    let read = live[0].spec.as_ref().unwrap();
    assert_eq!(read.node_type, "cache.r6g.xlarge", "the live value");
    assert_eq!(read.engine_version, "7.0", "no member listed: as recorded");
    assert_eq!(read.security_group_ids, rg_spec().security_group_ids);
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_observe_with_nothing_recorded_makes_no_call() {
    let c = clients(&[]);
    let scope = test_support::scope::<ReplicationGroupSpec>(STACK, REGION, vec![]);
    assert!(DRIVER
        .observe(&c, &scope)
        .await
        .unwrap()
        .unwrap()
        .is_empty());
}

/// The group of [`rg`], available, with in-transit encryption `mode` (`None`: off).
fn rg_transit(mode: Option<TransitEncryptionMode>) -> ReplicationGroup {
    let mut group = rg("available", 2, 1);
    group.transit_encryption_enabled = Some(mode.is_some());
    group.transit_encryption_mode = mode;
    group
}

/// Runs an update of the in-transit encryption from `live` to `after`; the
/// ModifyReplicationGroup requests sent, as (TransitEncryptionEnabled, mode).
async fn transit_steps(
    live: Vec<Option<TransitEncryptionMode>>,
    after: ReplicationGroupSpec,
) -> Vec<(Option<bool>, Option<TransitEncryptionMode>)> {
    let (seen, see) = recorder::<ModifyReplicationGroupInput>();
    let see = Arc::new(see);
    let mut rules = vec![describe_rg_rule(rg_transit(live[0].clone()))];
    for state in &live[1..] {
        let see = see.clone();
        rules.push(
            ok_rule!(Client::modify_replication_group(move |r| see(r)) -> ModifyReplicationGroupOutput),
        );
        rules.push(describe_rg_rule(rg_transit(state.clone())));
    }
    let c = clients(&rules);
    let out = update(
        &c,
        &rg_spec(),
        &after,
        &["transit_encryption", "transit_encryption_mode"],
    )
    .await
    .unwrap();
    assert_eq!(out, rg_outputs_expected());
    all_used(&rules);
    let sent = seen.lock().unwrap();
    for m in sent.iter() {
        assert_eq!(m.replication_group_id(), Some(RG_ID));
        assert_eq!(m.apply_immediately(), Some(true));
        // Nothing else travels with the encryption.
        assert!(m.engine_version().is_none() && m.cache_node_type().is_none());
    }
    sent.iter()
        .map(|m| {
            (
                m.transit_encryption_enabled(),
                m.transit_encryption_mode().cloned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn transit_encryption_turns_on_in_place_through_preferred_then_required() {
    use TransitEncryptionMode::{Preferred, Required};
    let on = rg_spec();
    let steps = transit_steps(vec![None, Some(Preferred), Some(Required)], on.clone()).await;
    assert_eq!(
        steps,
        [(Some(true), Some(Preferred)), (None, Some(Required))]
    );
    // Preferred asked: one step, which stops there.
    let preferred = ReplicationGroupSpec {
        transit_encryption_mode: Some(CoreMode::Preferred),
        ..on.clone()
    };
    let steps = transit_steps(vec![None, Some(Preferred)], preferred).await;
    assert_eq!(steps, [(Some(true), Some(Preferred))]);
    // Resumed after the first step: only the second is left.
    let steps = transit_steps(vec![Some(Preferred), Some(Required)], on).await;
    assert_eq!(steps, [(None, Some(Required))]);
}

#[tokio::test]
async fn transit_encryption_turns_off_in_place_through_preferred() {
    use TransitEncryptionMode::{Preferred, Required};
    let off = ReplicationGroupSpec {
        transit_encryption: false,
        ..rg_spec()
    };
    let steps = transit_steps(vec![Some(Required), Some(Preferred), None], off.clone()).await;
    assert_eq!(steps, [(None, Some(Preferred)), (Some(false), None)]);
    // Already off: nothing is sent.
    assert!(transit_steps(vec![None], off).await.is_empty());
}
