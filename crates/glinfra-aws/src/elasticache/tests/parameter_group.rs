//! Cache parameter groups.

use super::*;
use crate::elasticache::CacheParameterGroupDriver;
use crate::test_support::{ok_rule, Seen};
use aws_sdk_elasticache::operation::create_cache_parameter_group::{
    CreateCacheParameterGroupInput, CreateCacheParameterGroupOutput,
};
use aws_sdk_elasticache::operation::delete_cache_parameter_group::{
    DeleteCacheParameterGroupError, DeleteCacheParameterGroupOutput,
};
use aws_sdk_elasticache::operation::describe_cache_parameter_groups::{
    DescribeCacheParameterGroupsError, DescribeCacheParameterGroupsOutput,
};
use aws_sdk_elasticache::operation::describe_cache_parameters::DescribeCacheParametersOutput;
use aws_sdk_elasticache::operation::modify_cache_parameter_group::{
    ModifyCacheParameterGroupInput, ModifyCacheParameterGroupOutput,
};
use aws_sdk_elasticache::operation::reset_cache_parameter_group::{
    ResetCacheParameterGroupInput, ResetCacheParameterGroupOutput,
};
use aws_sdk_elasticache::types::{CacheParameterGroup, Parameter};
use glinfra_core::spec::elasticache::{CacheParameterGroupOutputs, CacheParameterGroupSpec};
use std::sync::{Arc, Mutex};

const DRIVER: CacheParameterGroupDriver = CacheParameterGroupDriver;

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

fn parameter_resource(spec: &CacheParameterGroupSpec) -> Desired<CacheParameterGroupSpec> {
    resource("params", spec)
}

fn name_outputs(name: &str) -> CacheParameterGroupOutputs {
    CacheParameterGroupOutputs { name: name.into() }
}

/// The group of `spec` as state recorded it.
fn parameter_state(spec: &CacheParameterGroupSpec) -> Recorded<CacheParameterGroupSpec> {
    recorded(&parameter_resource(spec), name_outputs("redis7-tuned"))
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

    let out = DRIVER.create(&c, &parameter_resource(&spec)).await.unwrap();

    assert_eq!(out, name_outputs("redis7-tuned"));
    let created = created.lock().unwrap();
    assert_eq!(
        created[0].cache_parameter_group_name(),
        Some("redis7-tuned")
    );
    assert_eq!(created[0].cache_parameter_group_family(), Some("redis7"));
    assert_eq!(created[0].description(), Some("tuned"));
    assert_eq!(tags::from_sdk(created[0].tags()), owner_tags("params"));
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

/// The calls that bring the parameters in line, each request recorded: a modify of
/// what is set, then a reset of what is removed.
fn modify_and_reset() -> (
    (
        Seen<ModifyCacheParameterGroupInput>,
        Seen<ResetCacheParameterGroupInput>,
    ),
    [Rule; 2],
) {
    let (modified, see_modified) = recorder::<ModifyCacheParameterGroupInput>();
    let (reset, see_reset) = recorder::<ResetCacheParameterGroupInput>();
    let rules = [
        mock!(Client::modify_cache_parameter_group)
            .match_requests(see_modified)
            .then_output(|| ModifyCacheParameterGroupOutput::builder().build()),
        ok_rule!(Client::reset_cache_parameter_group(see_reset) -> ResetCacheParameterGroupOutput),
    ];
    ((modified, reset), rules)
}

#[tokio::test]
async fn parameter_group_update_sets_changed_and_resets_removed_parameters() {
    let before = parameter_spec(&[("a", "1"), ("b", "2"), ("c", "3")]);
    let after = parameter_spec(&[("a", "1"), ("b", "9"), ("d", "4")]);
    let ((modified, reset), [modify, reset_rule]) = modify_and_reset();
    let rules = [modify, reset_rule];
    let c = clients(&rules);
    let prior = parameter_state(&before);

    let out = DRIVER
        .update(
            &c,
            &prior,
            &parameter_resource(&after),
            Changed(&changed(&["parameters"])),
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
    let ((modified, reset), [modify, reset_rule]) = modify_and_reset();
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
        modify,
        reset_rule,
        describe_parameter_group_rule(),
        // Tags already in line: nothing is set or removed.
        list_tags_rule(PARAMETER_GROUP_ARN, ours("params")),
    ];
    let c = clients(&rules);
    let r = parameter_resource(&spec);

    DRIVER
        .update(
            &c,
            &recorded(&r, name_outputs("redis7-tuned")),
            &r,
            Changed::ALL,
        )
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

    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), None);
    assert_eq!(
        DRIVER.find(&c, &r).await.unwrap(),
        Some(name_outputs("redis7-tuned"))
    );
    let err = DRIVER.find(&c, &r).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "redis7-tuned");
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
    let prior = parameter_state(&parameter_spec(&[]));

    let err = DRIVER.delete(&c, &prior).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    DRIVER.delete(&c, &prior).await.unwrap();
    DRIVER.delete(&c, &prior).await.unwrap();
    all_used(&rules);
}

/// A parameter the group sets (Source `user`).
fn user_param(name: &str, value: &str) -> Parameter {
    Parameter::builder()
        .parameter_name(name)
        .parameter_value(value)
        .source("user")
        .build()
}

/// The listing of every group (no name), answering `groups`.
fn groups_rule(
    seen: &Arc<Mutex<Vec<aws_sdk_elasticache::operation::describe_cache_parameter_groups::DescribeCacheParameterGroupsInput>>>,
    groups: Vec<CacheParameterGroup>,
) -> Rule {
    mock!(Client::describe_cache_parameter_groups)
        .match_requests(record(seen))
        .then_output(move || {
            DescribeCacheParameterGroupsOutput::builder()
                .set_cache_parameter_groups(Some(groups.clone()))
                .build()
        })
}

fn listed_group(name: &str, arn: &str, description: &str) -> CacheParameterGroup {
    CacheParameterGroup::builder()
        .cache_parameter_group_name(name)
        .cache_parameter_group_family("redis7")
        .description(description)
        .arn(arn)
        .build()
}

/// DescribeCacheParameters of `redis7-tuned` with `Source=user`, answering `params`.
fn user_params_rule(params: Vec<Parameter>) -> Rule {
    mock!(Client::describe_cache_parameters)
        .match_requests(|r| {
            r.cache_parameter_group_name() == Some("redis7-tuned") && r.source() == Some("user")
        })
        .then_output(move || {
            DescribeCacheParametersOutput::builder()
                .set_parameters(Some(params.clone()))
                .build()
        })
}

/// Recorded: ours (`params`) and `old-params`, whose group now carries another
/// stack's tags. Listed too: a group state does not know, whose tags are not read.
#[tokio::test]
async fn parameter_group_observe_lists_every_group_once_and_reads_the_user_parameters_of_ours() {
    const OLD_ARN: &str = "arn:aws:elasticache:us-east-1:123456789012:parametergroup:old";
    let listed = Arc::new(Mutex::new(Vec::new()));
    let rules = [
        groups_rule(
            &listed,
            vec![
                listed_group("redis7-tuned", PARAMETER_GROUP_ARN, "tuned"),
                listed_group(
                    "default.redis7",
                    "arn:aws:elasticache:us-east-1:123456789012:parametergroup:default.redis7",
                    "default",
                ),
                listed_group("old", OLD_ARN, "old"),
            ],
        ),
        list_tags_rule(PARAMETER_GROUP_ARN, ours("params")),
        list_tags_rule(
            OLD_ARN,
            tags(&[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "old-params")]),
        ),
        // maxmemory-policy changed by hand; timeout reset; notify set outside glinfra.
        user_params_rule(vec![
            user_param("maxmemory-policy", "allkeys-lru"),
            user_param("notify-keyspace-events", "Ex"),
        ]),
    ];
    let c = clients(&rules);
    let spec = parameter_spec(&[("maxmemory-policy", "volatile-lru"), ("timeout", "300")]);
    let mut old = parameter_spec(&[]);
    old.name = "old".into();
    let scope = crate::test_support::scope(
        STACK,
        REGION,
        vec![
            parameter_state(&spec),
            recorded(&resource("old-params", &old), name_outputs("old")),
        ],
    );

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(listed.lock().unwrap()[0].cache_parameter_group_name(), None);
    assert_eq!(live.len(), 1, "the other stack's group is dropped");
    assert_eq!(live[0].id, "params");
    assert_eq!(live[0].outputs, name_outputs("redis7-tuned"));
    assert_eq!(
        live[0].spec.as_ref().unwrap().parameters,
        BTreeMap::from([("maxmemory-policy".to_string(), "allkeys-lru".to_string())]),
        "the live values of the parameters the spec sets"
    );
    all_used(&rules);
}

#[tokio::test]
async fn parameter_group_observe_of_an_unchanged_group_reads_exactly_the_recorded_spec() {
    let spec = parameter_spec(&[("maxmemory-policy", "volatile-lru")]);
    let listed = Arc::new(Mutex::new(Vec::new()));
    let rules = [
        groups_rule(
            &listed,
            vec![listed_group("redis7-tuned", PARAMETER_GROUP_ARN, "tuned")],
        ),
        list_tags_rule(PARAMETER_GROUP_ARN, ours("params")),
        user_params_rule(vec![user_param("maxmemory-policy", "volatile-lru")]),
    ];
    let c = clients(&rules);
    let scope = crate::test_support::scope(STACK, REGION, vec![parameter_state(&spec)]);

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&spec).unwrap()
    );
    all_used(&rules);
}
