//! Request-shape tests for the ElastiCache drivers, against SDK mocks.
//!
//! The mock clients run in sequential mode: every request must match the next rule
//! (a panic otherwise), so a test also fails when a driver makes a call it should
//! not, or makes its calls in another order. `all_used` checks none was left out.

use super::*;
use crate::test_support::{meta, mock_clients, recorder};
use aws_sdk_elasticache::config::retry::RetryConfig;
use aws_sdk_elasticache::operation::add_tags_to_resource::{
    AddTagsToResourceInput, AddTagsToResourceOutput,
};
use aws_sdk_elasticache::operation::create_cache_parameter_group::{
    CreateCacheParameterGroupInput, CreateCacheParameterGroupOutput,
};
use aws_sdk_elasticache::operation::create_cache_subnet_group::{
    CreateCacheSubnetGroupError, CreateCacheSubnetGroupInput, CreateCacheSubnetGroupOutput,
};
use aws_sdk_elasticache::operation::create_replication_group::{
    CreateReplicationGroupError, CreateReplicationGroupInput, CreateReplicationGroupOutput,
};
use aws_sdk_elasticache::operation::decrease_replica_count::{
    DecreaseReplicaCountInput, DecreaseReplicaCountOutput,
};
use aws_sdk_elasticache::operation::delete_cache_parameter_group::{
    DeleteCacheParameterGroupError, DeleteCacheParameterGroupOutput,
};
use aws_sdk_elasticache::operation::delete_cache_subnet_group::{
    DeleteCacheSubnetGroupError, DeleteCacheSubnetGroupOutput,
};
use aws_sdk_elasticache::operation::delete_replication_group::{
    DeleteReplicationGroupInput, DeleteReplicationGroupOutput,
};
use aws_sdk_elasticache::operation::describe_cache_clusters::DescribeCacheClustersOutput;
use aws_sdk_elasticache::operation::describe_cache_parameter_groups::{
    DescribeCacheParameterGroupsError, DescribeCacheParameterGroupsOutput,
};
use aws_sdk_elasticache::operation::describe_cache_parameters::DescribeCacheParametersOutput;
use aws_sdk_elasticache::operation::describe_cache_subnet_groups::{
    DescribeCacheSubnetGroupsError, DescribeCacheSubnetGroupsOutput,
};
use aws_sdk_elasticache::operation::describe_replication_groups::{
    DescribeReplicationGroupsError, DescribeReplicationGroupsOutput,
};
use aws_sdk_elasticache::operation::increase_replica_count::{
    IncreaseReplicaCountInput, IncreaseReplicaCountOutput,
};
use aws_sdk_elasticache::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_elasticache::operation::modify_cache_parameter_group::{
    ModifyCacheParameterGroupInput, ModifyCacheParameterGroupOutput,
};
use aws_sdk_elasticache::operation::modify_cache_subnet_group::{
    ModifyCacheSubnetGroupInput, ModifyCacheSubnetGroupOutput,
};
use aws_sdk_elasticache::operation::modify_replication_group::{
    ModifyReplicationGroupInput, ModifyReplicationGroupOutput,
};
use aws_sdk_elasticache::operation::modify_replication_group_shard_configuration::{
    ModifyReplicationGroupShardConfigurationError, ModifyReplicationGroupShardConfigurationInput,
    ModifyReplicationGroupShardConfigurationOutput,
};
use aws_sdk_elasticache::operation::remove_tags_from_resource::{
    RemoveTagsFromResourceInput, RemoveTagsFromResourceOutput,
};
use aws_sdk_elasticache::operation::reset_cache_parameter_group::{
    ResetCacheParameterGroupInput, ResetCacheParameterGroupOutput,
};
use aws_sdk_elasticache::types::{
    AutomaticFailoverStatus, CacheCluster, CacheParameterGroup, CacheParameterGroupStatus,
    CacheSubnetGroup, ClusterMode, Endpoint, MultiAzStatus, NodeGroup, NodeGroupMember, Parameter,
    ReplicationGroup, SecurityGroupMembership,
};
use aws_sdk_elasticache::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use glinfra_core::spec::elasticache::{
    CacheParameterGroupSpec, CacheSubnetGroupSpec, ReplicationGroupSpec,
};
use serde_json::json;
use std::sync::{Arc, Mutex};

const REGION: &str = "us-east-1";
const STACK: &str = "prod";

fn clients(rules: &[Rule]) -> Clients {
    let rules: Vec<&Rule> = rules.iter().collect();
    mock_clients!(
        aws_sdk_elasticache,
        "elasticache",
        REGION,
        RuleMode::Sequential,
        &rules,
        retry_config(RetryConfig::disabled())
    )
}

#[track_caller]
fn all_used(rules: &[Rule]) {
    for (i, rule) in rules.iter().enumerate() {
        assert_eq!(rule.num_calls(), 1, "rule {i} was not used exactly once");
    }
}

fn owner_tags(id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_STACK.to_string(), STACK.to_string()),
        (TAG_LOGICAL_ID.to_string(), id.to_string()),
        ("team".to_string(), "platform".to_string()),
    ])
}

fn resource(kind: Kind, id: &str, props: Value) -> ResolvedResource {
    ResolvedResource {
        stack: STACK.to_string(),
        id: id.to_string(),
        kind,
        region: REGION.to_string(),
        props,
        tags: owner_tags(id),
    }
}

fn recorded(r: &ResolvedResource, outputs: Outputs) -> ResourceState {
    ResourceState {
        kind: r.kind,
        region: r.region.clone(),
        props: r.props.clone(),
        tags: r.tags.clone(),
        outputs,
        dependencies: Default::default(),
        pending: None,
    }
}

fn changed(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| f.to_string()).collect()
}

fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect()
}

fn list_tags_rule(arn: &'static str, tags: Vec<Tag>) -> Rule {
    mock!(Client::list_tags_for_resource)
        .match_requests(move |r| r.resource_name() == Some(arn))
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .set_tag_list(Some(tags.clone()))
                .build()
        })
}

/// A matcher recording every request into `seen` (for rules that share one list).
fn record<T: Clone + Send + 'static>(
    seen: &Arc<Mutex<Vec<T>>>,
) -> impl Fn(&T) -> bool + Send + Sync + 'static {
    let sink = seen.clone();
    move |req: &T| {
        sink.lock().unwrap().push(req.clone());
        true
    }
}

fn ours(id: &str) -> Vec<Tag> {
    ec_tags(&owner_tags(id))
}

// ------------------------------------------------------------------ subnet groups

const SUBNET_GROUP_ARN: &str =
    "arn:aws:elasticache:us-east-1:123456789012:subnetgroup:cache-subnets";

fn subnet_spec() -> CacheSubnetGroupSpec {
    CacheSubnetGroupSpec {
        vpc_id: None,
        name: "cache-subnets".into(),
        description: "Redis subnets".into(),
        subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
    }
}

fn subnet_resource(spec: &CacheSubnetGroupSpec) -> ResolvedResource {
    resource(
        Kind::CacheSubnetGroup,
        "subnets",
        serde_json::to_value(spec).unwrap(),
    )
}

fn subnet_group() -> CacheSubnetGroup {
    CacheSubnetGroup::builder()
        .cache_subnet_group_name("cache-subnets")
        .cache_subnet_group_description("Redis subnets")
        .arn(SUBNET_GROUP_ARN)
        .build()
}

fn describe_subnet_group_rule() -> Rule {
    mock!(Client::describe_cache_subnet_groups)
        .match_requests(|r| r.cache_subnet_group_name() == Some("cache-subnets"))
        .then_output(|| {
            DescribeCacheSubnetGroupsOutput::builder()
                .cache_subnet_groups(subnet_group())
                .build()
        })
}

fn name_outputs(name: &str) -> Outputs {
    Outputs::from([("name".to_string(), json!(name))])
}

#[tokio::test]
async fn subnet_group_create_sends_name_description_subnets_and_tags() {
    let (seen, see) = recorder::<CreateCacheSubnetGroupInput>();
    let rules = [mock!(Client::create_cache_subnet_group)
        .match_requests(see)
        .then_output(|| {
            CreateCacheSubnetGroupOutput::builder()
                .cache_subnet_group(subnet_group())
                .build()
        })];
    let c = clients(&rules);
    let r = subnet_resource(&subnet_spec());

    let out = create(&c, &r).await.unwrap();

    assert_eq!(out, name_outputs("cache-subnets"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].cache_subnet_group_name(), Some("cache-subnets"));
    assert_eq!(
        seen[0].cache_subnet_group_description(),
        Some("Redis subnets")
    );
    assert_eq!(seen[0].subnet_ids(), ["subnet-a", "subnet-b"]);
    assert_eq!(tags_of(seen[0].tags()), owner_tags("subnets"));
    all_used(&rules);
}

#[tokio::test]
async fn subnet_group_find_adopts_only_a_group_with_our_tags() {
    let rules = [
        mock!(Client::describe_cache_subnet_groups).then_error(|| {
            DescribeCacheSubnetGroupsError::generic(meta("CacheSubnetGroupNotFoundFault"))
        }),
        describe_subnet_group_rule(),
        list_tags_rule(SUBNET_GROUP_ARN, ours("subnets")),
        describe_subnet_group_rule(),
        list_tags_rule(
            SUBNET_GROUP_ARN,
            tags(&[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "subnets")]),
        ),
        describe_subnet_group_rule(),
        list_tags_rule(SUBNET_GROUP_ARN, tags(&[("owner", "someone")])),
    ];
    let c = clients(&rules);
    let r = subnet_resource(&subnet_spec());

    assert_eq!(find(&c, &r).await.unwrap(), None);
    assert_eq!(
        find(&c, &r).await.unwrap(),
        Some(name_outputs("cache-subnets"))
    );
    let err = find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
    let err = find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(
        err.message.contains("not managed by glinfra"),
        "{}",
        err.message
    );
    all_used(&rules);
}

#[tokio::test]
async fn subnet_group_create_meeting_our_group_adopts_and_reconciles_it() {
    let (modified, see_modified) = recorder::<ModifyCacheSubnetGroupInput>();
    let (added, see_added) = recorder::<AddTagsToResourceInput>();
    let (removed, see_removed) = recorder::<RemoveTagsFromResourceInput>();
    let mut current = ours("subnets");
    current.retain(|t| t.key() != Some("team"));
    current.push(Tag::builder().key("stale").value("x").build());
    let rules = [
        mock!(Client::create_cache_subnet_group).then_error(|| {
            CreateCacheSubnetGroupError::generic(meta("CacheSubnetGroupAlreadyExists"))
        }),
        describe_subnet_group_rule(),
        list_tags_rule(SUBNET_GROUP_ARN, ours("subnets")),
        mock!(Client::modify_cache_subnet_group)
            .match_requests(see_modified)
            .then_output(|| {
                ModifyCacheSubnetGroupOutput::builder()
                    .cache_subnet_group(subnet_group())
                    .build()
            }),
        list_tags_rule(SUBNET_GROUP_ARN, current),
        mock!(Client::add_tags_to_resource)
            .match_requests(see_added)
            .then_output(|| AddTagsToResourceOutput::builder().build()),
        mock!(Client::remove_tags_from_resource)
            .match_requests(see_removed)
            .then_output(|| RemoveTagsFromResourceOutput::builder().build()),
    ];
    let c = clients(&rules);

    let out = create(&c, &subnet_resource(&subnet_spec())).await.unwrap();

    assert_eq!(out, name_outputs("cache-subnets"));
    let modified = modified.lock().unwrap();
    assert_eq!(
        modified[0].cache_subnet_group_description(),
        Some("Redis subnets")
    );
    assert_eq!(modified[0].subnet_ids(), ["subnet-a", "subnet-b"]);
    // Only the missing tag is set, and only the foreign one removed.
    assert_eq!(
        tags_of(added.lock().unwrap()[0].tags()),
        BTreeMap::from([("team".to_string(), "platform".to_string())])
    );
    assert_eq!(removed.lock().unwrap()[0].tag_keys(), ["stale"]);
    all_used(&rules);
}

#[tokio::test]
async fn subnet_group_update_of_the_description_sends_only_the_description() {
    let before = subnet_spec();
    let mut after = subnet_spec();
    after.description = "new".into();
    let (seen, see) = recorder::<ModifyCacheSubnetGroupInput>();
    let rules = [mock!(Client::modify_cache_subnet_group)
        .match_requests(see)
        .then_output(|| ModifyCacheSubnetGroupOutput::builder().build())];
    let c = clients(&rules);
    let prior = recorded(&subnet_resource(&before), name_outputs("cache-subnets"));

    update(
        &c,
        &prior,
        &subnet_resource(&after),
        &changed(&["description"]),
    )
    .await
    .unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].cache_subnet_group_name(), Some("cache-subnets"));
    assert_eq!(seen[0].cache_subnet_group_description(), Some("new"));
    assert!(seen[0].subnet_ids.is_none());
    all_used(&rules);
}

#[tokio::test]
async fn subnet_group_update_of_subnets_and_tags() {
    let mut after = subnet_spec();
    after.subnet_ids = vec!["subnet-c".into()];
    let mut prior = recorded(
        &subnet_resource(&subnet_spec()),
        name_outputs("cache-subnets"),
    );
    prior.tags.insert("old".into(), "1".into());
    let (seen, see) = recorder::<ModifyCacheSubnetGroupInput>();
    let (added, see_added) = recorder::<AddTagsToResourceInput>();
    let rules = [
        mock!(Client::modify_cache_subnet_group)
            .match_requests(see)
            .then_output(|| ModifyCacheSubnetGroupOutput::builder().build()),
        // The modify returned no group: its ARN is described.
        describe_subnet_group_rule(),
        mock!(Client::add_tags_to_resource)
            .match_requests(see_added)
            .then_output(|| AddTagsToResourceOutput::builder().build()),
        mock!(Client::remove_tags_from_resource)
            .match_requests(|r| {
                r.resource_name() == Some(SUBNET_GROUP_ARN) && r.tag_keys() == ["old"]
            })
            .then_output(|| RemoveTagsFromResourceOutput::builder().build()),
    ];
    let c = clients(&rules);

    update(
        &c,
        &prior,
        &subnet_resource(&after),
        &changed(&["subnet_ids", "tags"]),
    )
    .await
    .unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].subnet_ids(), ["subnet-c"]);
    assert_eq!(seen[0].cache_subnet_group_description(), None);
    let added = added.lock().unwrap();
    assert_eq!(added[0].resource_name(), Some(SUBNET_GROUP_ARN));
    assert_eq!(tags_of(added[0].tags()), owner_tags("subnets"));
    all_used(&rules);
}

#[tokio::test]
async fn subnet_group_delete_in_use_is_retryable_and_gone_is_success() {
    let rules = [
        mock!(Client::delete_cache_subnet_group)
            .match_requests(|r| r.cache_subnet_group_name() == Some("cache-subnets"))
            .then_error(|| DeleteCacheSubnetGroupError::generic(meta("CacheSubnetGroupInUse"))),
        mock!(Client::delete_cache_subnet_group).then_error(|| {
            DeleteCacheSubnetGroupError::generic(meta("CacheSubnetGroupNotFoundFault"))
        }),
        mock!(Client::delete_cache_subnet_group)
            .then_output(|| DeleteCacheSubnetGroupOutput::builder().build()),
    ];
    let c = clients(&rules);
    let prior = recorded(
        &subnet_resource(&subnet_spec()),
        name_outputs("cache-subnets"),
    );

    let err = delete(&c, "subnets", &prior).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    assert!(
        err.message.contains("CacheSubnetGroupInUse"),
        "{}",
        err.message
    );
    delete(&c, "subnets", &prior).await.unwrap();
    delete(&c, "subnets", &prior).await.unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn delete_without_outputs_deletes_only_what_find_finds() {
    let rules = [
        // Nothing there: success without a delete call.
        mock!(Client::describe_cache_subnet_groups).then_error(|| {
            DescribeCacheSubnetGroupsError::generic(meta("CacheSubnetGroupNotFoundFault"))
        }),
        // Ours: deleted.
        describe_subnet_group_rule(),
        list_tags_rule(SUBNET_GROUP_ARN, ours("subnets")),
        mock!(Client::delete_cache_subnet_group)
            .match_requests(|r| r.cache_subnet_group_name() == Some("cache-subnets"))
            .then_output(|| DeleteCacheSubnetGroupOutput::builder().build()),
    ];
    let c = clients(&rules);
    let prior = recorded(&subnet_resource(&subnet_spec()), Outputs::new());

    delete(&c, "subnets", &prior).await.unwrap();
    delete(&c, "subnets", &prior).await.unwrap();
    all_used(&rules);
}

// ------------------------------------------------------------------ parameter groups

const PARAMETER_GROUP_ARN: &str =
    "arn:aws:elasticache:us-east-1:123456789012:parametergroup:redis7-tuned";

fn parameter_spec(parameters: &[(&str, &str)]) -> CacheParameterGroupSpec {
    CacheParameterGroupSpec {
        name: "redis7-tuned".into(),
        family: "redis7".into(),
        description: "tuned".into(),
        parameters: parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn parameter_resource(spec: &CacheParameterGroupSpec) -> ResolvedResource {
    resource(
        Kind::CacheParameterGroup,
        "params",
        serde_json::to_value(spec).unwrap(),
    )
}

fn describe_parameter_group_rule() -> Rule {
    mock!(Client::describe_cache_parameter_groups)
        .match_requests(|r| r.cache_parameter_group_name() == Some("redis7-tuned"))
        .then_output(|| {
            DescribeCacheParameterGroupsOutput::builder()
                .cache_parameter_groups(
                    CacheParameterGroup::builder()
                        .cache_parameter_group_name("redis7-tuned")
                        .cache_parameter_group_family("redis7")
                        .arn(PARAMETER_GROUP_ARN)
                        .build(),
                )
                .build()
        })
}

fn pairs(values: &[aws_sdk_elasticache::types::ParameterNameValue]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|p| {
            (
                p.parameter_name().unwrap_or_default().to_string(),
                p.parameter_value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn parameter_group_create_sends_family_description_tags_then_parameters_in_batches_of_20() {
    let names: Vec<String> = (0..25).map(|i| format!("p{i:02}")).collect();
    let params: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    let spec = parameter_spec(&params);
    let (created, see_created) = recorder::<CreateCacheParameterGroupInput>();
    let modified = Arc::new(Mutex::new(Vec::<ModifyCacheParameterGroupInput>::new()));
    let modify_rule = || {
        mock!(Client::modify_cache_parameter_group)
            .match_requests(record(&modified))
            .then_output(|| ModifyCacheParameterGroupOutput::builder().build())
    };
    let rules = [
        mock!(Client::create_cache_parameter_group)
            .match_requests(see_created)
            .then_output(|| CreateCacheParameterGroupOutput::builder().build()),
        modify_rule(),
        modify_rule(),
    ];
    let c = clients(&rules);

    let out = create(&c, &parameter_resource(&spec)).await.unwrap();

    assert_eq!(out, name_outputs("redis7-tuned"));
    let created = created.lock().unwrap();
    assert_eq!(
        created[0].cache_parameter_group_name(),
        Some("redis7-tuned")
    );
    assert_eq!(created[0].cache_parameter_group_family(), Some("redis7"));
    assert_eq!(created[0].description(), Some("tuned"));
    assert_eq!(tags_of(created[0].tags()), owner_tags("params"));
    let modified = modified.lock().unwrap();
    assert_eq!(modified.len(), 2);
    assert_eq!(modified[0].parameter_name_values().len(), 20);
    assert_eq!(modified[1].parameter_name_values().len(), 5);
    let sent: BTreeMap<String, String> = modified
        .iter()
        .flat_map(|m| pairs(m.parameter_name_values()))
        .collect();
    assert_eq!(sent, spec.parameters);
    all_used(&rules);
}

#[tokio::test]
async fn parameter_group_update_sets_changed_and_resets_removed_parameters() {
    let before = parameter_spec(&[("a", "1"), ("b", "2"), ("c", "3")]);
    let after = parameter_spec(&[("a", "1"), ("b", "9"), ("d", "4")]);
    let (modified, see_modified) = recorder::<ModifyCacheParameterGroupInput>();
    let (reset, see_reset) = recorder::<ResetCacheParameterGroupInput>();
    let rules = [
        mock!(Client::modify_cache_parameter_group)
            .match_requests(see_modified)
            .then_output(|| ModifyCacheParameterGroupOutput::builder().build()),
        mock!(Client::reset_cache_parameter_group)
            .match_requests(see_reset)
            .then_output(|| ResetCacheParameterGroupOutput::builder().build()),
    ];
    let c = clients(&rules);
    let prior = recorded(&parameter_resource(&before), name_outputs("redis7-tuned"));

    let out = update(
        &c,
        &prior,
        &parameter_resource(&after),
        &changed(&["parameters"]),
    )
    .await
    .unwrap();

    assert_eq!(out, name_outputs("redis7-tuned"));
    assert_eq!(
        pairs(modified.lock().unwrap()[0].parameter_name_values()),
        [("b".into(), "9".into()), ("d".into(), "4".into())]
    );
    let reset = reset.lock().unwrap();
    assert_eq!(reset[0].cache_parameter_group_name(), Some("redis7-tuned"));
    assert_eq!(reset[0].reset_all_parameters(), Some(false));
    assert_eq!(
        pairs(reset[0].parameter_name_values()),
        [("c".into(), "".into())]
    );
    all_used(&rules);
}

#[tokio::test]
async fn parameter_group_full_update_reads_the_user_parameters_and_tags_of_the_group() {
    let spec = parameter_spec(&[("a", "1"), ("b", "2")]);
    let param = |name: &str, value: &str| {
        Parameter::builder()
            .parameter_name(name)
            .parameter_value(value)
            .source("user")
            .build()
    };
    let (modified, see_modified) = recorder::<ModifyCacheParameterGroupInput>();
    let (reset, see_reset) = recorder::<ResetCacheParameterGroupInput>();
    let rules = [
        mock!(Client::describe_cache_parameters)
            .match_requests(|r| {
                r.cache_parameter_group_name() == Some("redis7-tuned")
                    && r.source() == Some("user")
                    && r.marker().is_none()
            })
            .then_output(move || {
                DescribeCacheParametersOutput::builder()
                    .parameters(param("a", "1"))
                    .marker("page-2")
                    .build()
            }),
        mock!(Client::describe_cache_parameters)
            .match_requests(|r| r.marker() == Some("page-2"))
            .then_output(move || {
                DescribeCacheParametersOutput::builder()
                    .parameters(param("x", "yes"))
                    .build()
            }),
        mock!(Client::modify_cache_parameter_group)
            .match_requests(see_modified)
            .then_output(|| ModifyCacheParameterGroupOutput::builder().build()),
        mock!(Client::reset_cache_parameter_group)
            .match_requests(see_reset)
            .then_output(|| ResetCacheParameterGroupOutput::builder().build()),
        describe_parameter_group_rule(),
        // Tags already in line: nothing is set or removed.
        list_tags_rule(PARAMETER_GROUP_ARN, ours("params")),
    ];
    let c = clients(&rules);
    let r = parameter_resource(&spec);

    update(&c, &recorded(&r, name_outputs("redis7-tuned")), &r, &[])
        .await
        .unwrap();

    assert_eq!(
        pairs(modified.lock().unwrap()[0].parameter_name_values()),
        [("b".into(), "2".into())]
    );
    assert_eq!(
        pairs(reset.lock().unwrap()[0].parameter_name_values()),
        [("x".into(), "".into())]
    );
    all_used(&rules);
}

#[tokio::test]
async fn parameter_group_find_rejects_a_foreign_group() {
    let rules = [
        mock!(Client::describe_cache_parameter_groups).then_error(|| {
            DescribeCacheParameterGroupsError::generic(meta("CacheParameterGroupNotFound"))
        }),
        describe_parameter_group_rule(),
        list_tags_rule(PARAMETER_GROUP_ARN, ours("params")),
        describe_parameter_group_rule(),
        list_tags_rule(PARAMETER_GROUP_ARN, vec![]),
    ];
    let c = clients(&rules);
    let r = parameter_resource(&parameter_spec(&[]));

    assert_eq!(find(&c, &r).await.unwrap(), None);
    assert_eq!(
        find(&c, &r).await.unwrap(),
        Some(name_outputs("redis7-tuned"))
    );
    let err = find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(err.message.contains("redis7-tuned"), "{}", err.message);
    all_used(&rules);
}

#[tokio::test]
async fn parameter_group_delete_in_use_is_retryable_and_gone_is_success() {
    let rules = [
        mock!(Client::delete_cache_parameter_group)
            .match_requests(|r| r.cache_parameter_group_name() == Some("redis7-tuned"))
            .then_error(|| {
                DeleteCacheParameterGroupError::generic(meta("InvalidCacheParameterGroupState"))
            }),
        mock!(Client::delete_cache_parameter_group).then_error(|| {
            DeleteCacheParameterGroupError::generic(meta("CacheParameterGroupNotFound"))
        }),
        mock!(Client::delete_cache_parameter_group)
            .then_output(|| DeleteCacheParameterGroupOutput::builder().build()),
    ];
    let c = clients(&rules);
    let prior = recorded(
        &parameter_resource(&parameter_spec(&[])),
        name_outputs("redis7-tuned"),
    );

    let err = delete(&c, "params", &prior).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    delete(&c, "params", &prior).await.unwrap();
    delete(&c, "params", &prior).await.unwrap();
    all_used(&rules);
}

// ------------------------------------------------------------------ replication groups

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
        automatic_failover: true,
        multi_az: true,
        snapshot_retention_days: 0,
        port: 6380,
    }
}

fn rg_resource(spec: &ReplicationGroupSpec) -> ResolvedResource {
    resource(
        Kind::ReplicationGroup,
        "cache",
        serde_json::to_value(spec).unwrap(),
    )
}

fn rg_outputs_expected() -> Outputs {
    Outputs::from([
        ("id".to_string(), json!(RG_ID)),
        ("arn".to_string(), json!(RG_ARN)),
        ("configuration_endpoint".to_string(), json!(RG_ENDPOINT)),
    ])
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
        mock!(Client::create_replication_group)
            .match_requests(see)
            .then_output(|| CreateReplicationGroupOutput::builder().build()),
        // Not visible at first, then creating, then available.
        rg_not_found_rule(),
        describe_rg_rule(rg("creating", 2, 1)),
        describe_rg_rule(rg("creating", 2, 1)),
        describe_rg_rule(rg("available", 2, 1)),
    ];
    let c = clients(&rules);

    let out = create(&c, &rg_resource(&rg_spec())).await.unwrap();

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
    assert_eq!(tags_of(req.tags()), owner_tags("cache"));
    // Nothing else: no cluster-mode-disabled sizing, no auth token.
    assert!(req.num_cache_clusters().is_none() && req.auth_token().is_none());
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
    let err = create(&c, &rg_resource(&rg_spec())).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("create-failed"), "{}", err.message);
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
        mock!(Client::delete_replication_group)
            .match_requests(see_deleted)
            .then_output(|| DeleteReplicationGroupOutput::builder().build()),
        describe_rg_rule(rg("deleting", 2, 1)),
        rg_not_found_rule(),
        mock!(Client::create_replication_group)
            .match_requests(|r| r.replication_group_id() == Some(RG_ID))
            .then_output(|| CreateReplicationGroupOutput::builder().build()),
        describe_rg_rule(rg("creating", 2, 1)),
        describe_rg_rule(rg("available", 2, 1)),
    ];
    let c = clients(&rules);

    let out = create(&c, &rg_resource(&rg_spec())).await.unwrap();

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
    let err = create(&c, &rg_resource(&rg_spec())).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(err.message.contains("`sessions`"), "{}", err.message);
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
    let err = update(
        &c,
        &recorded(&rg_resource(&rg_spec()), rg_outputs_expected()),
        &rg_resource(&after),
        &changed(&["description"]),
    )
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

    assert_eq!(find(&c, &r).await.unwrap(), None);
    assert_eq!(find(&c, &r).await.unwrap(), Some(rg_outputs_expected()));
    let err = find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(err.message.contains("stack `other`"), "{}", err.message);
    assert_eq!(find(&c, &r).await.unwrap(), None);
    assert_eq!(find(&c, &r).await.unwrap(), None);
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
        mock!(Client::increase_replica_count)
            .match_requests(see_increased)
            .then_output(|| IncreaseReplicaCountOutput::builder().build()),
        describe_rg_rule({
            let mut g = rg("available", 2, 1);
            g.description = Some("old".into());
            g
        }),
        member_rule("7.0.7", "redis7-tuned", &["sg-2", "sg-1"]),
        mock!(Client::modify_replication_group)
            .match_requests(see_modified)
            .then_output(|| ModifyReplicationGroupOutput::builder().build()),
        describe_rg_rule(rg("available", 2, 1)),
        list_tags_rule(RG_ARN, ours("cache")),
    ];
    let c = clients(&rules);

    let out = create(&c, &rg_resource(&rg_spec())).await.unwrap();

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

    let out = update(&c, &recorded(&r, rg_outputs_expected()), &r, &[])
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
        mock!(Client::modify_replication_group)
            .match_requests(see)
            .then_output(|| ModifyReplicationGroupOutput::builder().build()),
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

    let out = update(
        &c,
        &recorded(&rg_resource(&before), rg_outputs_expected()),
        &rg_resource(&after),
        &fields,
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
        mock!(Client::modify_replication_group)
            .match_requests(see_modified)
            .then_output(|| ModifyReplicationGroupOutput::builder().build()),
        describe_rg_rule(rg("available", 2, 1)),
        mock!(Client::decrease_replica_count)
            .match_requests(see_decreased)
            .then_output(|| DecreaseReplicaCountOutput::builder().build()),
        describe_rg_rule(rg("modifying", 2, 0)),
        describe_rg_rule(rg("available", 2, 0)),
    ];
    let c = clients(&rules);

    update(
        &c,
        &recorded(&rg_resource(&rg_spec()), rg_outputs_expected()),
        &rg_resource(&after),
        &changed(&["replicas_per_node_group", "automatic_failover", "multi_az"]),
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
    let prior = recorded(&rg_resource(&rg_spec()), rg_outputs_expected());
    let fields = changed(&["num_node_groups"]);

    let mut three = rg_spec();
    three.num_node_groups = 3;
    update(&c, &prior, &rg_resource(&three), &fields)
        .await
        .unwrap();
    let mut one = rg_spec();
    one.num_node_groups = 1;
    update(&c, &prior, &rg_resource(&one), &fields)
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

#[tokio::test]
async fn replication_group_shard_change_already_made_counts_as_done() {
    let rules = [
        describe_rg_rule(rg("available", 2, 1)),
        mock!(Client::modify_replication_group_shard_configuration).then_error(|| {
            ModifyReplicationGroupShardConfigurationError::generic(meta("NoOperationFault"))
        }),
        describe_rg_rule(rg("available", 3, 1)),
    ];
    let c = clients(&rules);
    let mut three = rg_spec();
    three.num_node_groups = 3;
    update(
        &c,
        &recorded(&rg_resource(&rg_spec()), rg_outputs_expected()),
        &rg_resource(&three),
        &changed(&["num_node_groups"]),
    )
    .await
    .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_tags_are_synced_on_its_arn() {
    let mut prior = recorded(&rg_resource(&rg_spec()), rg_outputs_expected());
    prior.tags.insert("old".into(), "1".into());
    let (added, see_added) = recorder::<AddTagsToResourceInput>();
    let rules = [
        describe_rg_rule(rg("available", 2, 1)),
        mock!(Client::add_tags_to_resource)
            .match_requests(see_added)
            .then_output(|| AddTagsToResourceOutput::builder().build()),
        mock!(Client::remove_tags_from_resource)
            .match_requests(|r| r.resource_name() == Some(RG_ARN) && r.tag_keys() == ["old"])
            .then_output(|| RemoveTagsFromResourceOutput::builder().build()),
    ];
    let c = clients(&rules);

    update(&c, &prior, &rg_resource(&rg_spec()), &changed(&["tags"]))
        .await
        .unwrap();

    let added = added.lock().unwrap();
    assert_eq!(added[0].resource_name(), Some(RG_ARN));
    assert_eq!(tags_of(added[0].tags()), owner_tags("cache"));
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_delete_waits_until_gone_without_a_snapshot_when_none_are_kept() {
    let (seen, see) = recorder::<DeleteReplicationGroupInput>();
    let rules = [
        describe_rg_rule(rg("available", 2, 1)),
        mock!(Client::delete_replication_group)
            .match_requests(see)
            .then_output(|| DeleteReplicationGroupOutput::builder().build()),
        describe_rg_rule(rg("deleting", 2, 1)),
        describe_rg_rule(rg("deleting", 2, 1)),
        rg_not_found_rule(),
    ];
    let c = clients(&rules);
    let prior = recorded(&rg_resource(&rg_spec()), rg_outputs_expected());

    delete(&c, "cache", &prior).await.unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].replication_group_id(), Some(RG_ID));
    assert_eq!(seen[0].final_snapshot_identifier(), None);
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_delete_takes_a_final_snapshot_when_snapshots_are_kept() {
    let mut spec = rg_spec();
    spec.snapshot_retention_days = 7;
    let (seen, see) = recorder::<DeleteReplicationGroupInput>();
    let rules = [
        describe_rg_rule(rg("available", 2, 1)),
        mock!(Client::delete_replication_group)
            .match_requests(see)
            .then_output(|| DeleteReplicationGroupOutput::builder().build()),
        rg_not_found_rule(),
    ];
    let c = clients(&rules);

    delete(
        &c,
        "cache",
        &recorded(&rg_resource(&spec), rg_outputs_expected()),
    )
    .await
    .unwrap();

    let seen = seen.lock().unwrap();
    let name = seen[0].final_snapshot_identifier().unwrap();
    let stamp = name.strip_prefix("sessions-final-").unwrap();
    assert!(
        stamp.len() == 14 && stamp.chars().all(|c| c.is_ascii_digit()),
        "{name}"
    );
    all_used(&rules);
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
    let prior = recorded(&rg_resource(&rg_spec()), rg_outputs_expected());

    delete(&c, "cache", &prior).await.unwrap();
    delete(&c, "cache", &prior).await.unwrap();
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
    let rules = [
        describe_rg_rule(rg("available", 2, 1)),
        mock!(Client::modify_replication_group_shard_configuration)
            .then_output(|| ModifyReplicationGroupShardConfigurationOutput::builder().build()),
        describe_rg_rule(shard_busy),
        describe_rg_rule(resharding_rg),
        describe_rg_rule(rg("available", 3, 1)),
    ];
    let c = clients(&rules);
    let mut three = rg_spec();
    three.num_node_groups = 3;
    update(
        &c,
        &recorded(&rg_resource(&rg_spec()), rg_outputs_expected()),
        &rg_resource(&three),
        &changed(&["num_node_groups"]),
    )
    .await
    .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn replication_group_delete_without_outputs_removes_our_failed_creation() {
    let mut spec = rg_spec();
    spec.snapshot_retention_days = 7;
    let (seen, see) = recorder::<DeleteReplicationGroupInput>();
    let rules = [
        // Looked up by id and ownership tags.
        describe_rg_rule(rg("create-failed", 2, 1)),
        list_tags_rule(RG_ARN, ours("cache")),
        // Deleted (nothing to snapshot), waited for.
        describe_rg_rule(rg("create-failed", 2, 1)),
        mock!(Client::delete_replication_group)
            .match_requests(see)
            .then_output(|| DeleteReplicationGroupOutput::builder().build()),
        rg_not_found_rule(),
    ];
    let c = clients(&rules);

    delete(&c, "cache", &recorded(&rg_resource(&spec), Outputs::new()))
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].replication_group_id(), Some(RG_ID));
    assert_eq!(seen[0].final_snapshot_identifier(), None);
    all_used(&rules);
}

#[test]
fn final_snapshot_names_carry_the_utc_time() {
    let t = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(
        replication_group::final_snapshot_name("sessions", t),
        "sessions-final-20231114221320"
    );
}

#[test]
fn engine_versions_match_their_patch_releases() {
    use replication_group::version_matches;
    assert!(version_matches("7.0", "7.0"));
    assert!(version_matches("7.0.7", "7.0"));
    assert!(version_matches("6.2.6", "6.x"));
    assert!(!version_matches("7.1.0", "7.0"));
    assert!(!version_matches("7.10.1", "7.1"));
}
