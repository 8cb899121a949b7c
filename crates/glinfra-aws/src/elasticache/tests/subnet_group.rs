//! Cache subnet groups.

use super::*;
use crate::elasticache::CacheSubnetGroupDriver;
use crate::test_support::{delete_found, ok_rule};
use aws_sdk_elasticache::operation::add_tags_to_resource::{
    AddTagsToResourceInput, AddTagsToResourceOutput,
};
use aws_sdk_elasticache::operation::create_cache_subnet_group::{
    CreateCacheSubnetGroupError, CreateCacheSubnetGroupInput, CreateCacheSubnetGroupOutput,
};
use aws_sdk_elasticache::operation::delete_cache_subnet_group::{
    DeleteCacheSubnetGroupError, DeleteCacheSubnetGroupOutput,
};
use aws_sdk_elasticache::operation::describe_cache_subnet_groups::{
    DescribeCacheSubnetGroupsError, DescribeCacheSubnetGroupsOutput,
};
use aws_sdk_elasticache::operation::modify_cache_subnet_group::{
    ModifyCacheSubnetGroupInput, ModifyCacheSubnetGroupOutput,
};
use aws_sdk_elasticache::operation::remove_tags_from_resource::{
    RemoveTagsFromResourceInput, RemoveTagsFromResourceOutput,
};
use aws_sdk_elasticache::types::CacheSubnetGroup;
use glinfra_core::spec::elasticache::{CacheSubnetGroupOutputs, CacheSubnetGroupSpec};

const DRIVER: CacheSubnetGroupDriver = CacheSubnetGroupDriver;
const VPC_ID: &str = "vpc-0a1b2c";
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

fn subnet_resource(spec: &CacheSubnetGroupSpec) -> Desired<CacheSubnetGroupSpec> {
    resource("subnets", spec)
}

/// The group of `spec` as state recorded it.
fn subnet_state(spec: &CacheSubnetGroupSpec) -> Recorded<CacheSubnetGroupSpec> {
    recorded(&subnet_resource(spec), name_outputs("cache-subnets"))
}

fn subnet_group() -> CacheSubnetGroup {
    CacheSubnetGroup::builder()
        .cache_subnet_group_name("cache-subnets")
        .cache_subnet_group_description("Redis subnets")
        .arn(SUBNET_GROUP_ARN)
        .vpc_id(VPC_ID)
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

fn name_outputs(name: &str) -> CacheSubnetGroupOutputs {
    CacheSubnetGroupOutputs {
        name: name.into(),
        vpc_id: VPC_ID.into(),
    }
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

    let out = DRIVER.create(&c, &r).await.unwrap();

    assert_eq!(out, name_outputs("cache-subnets"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].cache_subnet_group_name(), Some("cache-subnets"));
    assert_eq!(
        seen[0].cache_subnet_group_description(),
        Some("Redis subnets")
    );
    assert_eq!(seen[0].subnet_ids(), ["subnet-a", "subnet-b"]);
    assert_eq!(tags::from_sdk(seen[0].tags()), owner_tags("subnets"));
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

    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), None);
    assert_eq!(
        DRIVER.find(&c, &r).await.unwrap(),
        Some(name_outputs("cache-subnets"))
    );
    let err = DRIVER.find(&c, &r).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "stack `staging`");
    let err = DRIVER.find(&c, &r).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "no glinfra ownership tags");
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
        ok_rule!(Client::add_tags_to_resource(see_added) -> AddTagsToResourceOutput),
        ok_rule!(Client::remove_tags_from_resource(see_removed) -> RemoveTagsFromResourceOutput),
    ];
    let c = clients(&rules);

    let out = DRIVER
        .create(&c, &subnet_resource(&subnet_spec()))
        .await
        .unwrap();

    assert_eq!(out, name_outputs("cache-subnets"));
    let modified = modified.lock().unwrap();
    assert_eq!(
        modified[0].cache_subnet_group_description(),
        Some("Redis subnets")
    );
    assert_eq!(modified[0].subnet_ids(), ["subnet-a", "subnet-b"]);
    // Only the missing tag is set, and only the foreign one removed.
    assert_eq!(
        tags::from_sdk(added.lock().unwrap()[0].tags()),
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
    let rules = [ok_rule!(Client::modify_cache_subnet_group(see) -> ModifyCacheSubnetGroupOutput)];
    let c = clients(&rules);
    let prior = subnet_state(&before);

    DRIVER
        .update(
            &c,
            &prior,
            &subnet_resource(&after),
            Changed(&changed(&["description"])),
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
    let mut prior = subnet_state(&subnet_spec());
    prior.tags.insert("old".into(), "1".into());
    let (seen, see) = recorder::<ModifyCacheSubnetGroupInput>();
    let (added, [add, remove]) = retag(SUBNET_GROUP_ARN);
    let rules = [
        ok_rule!(Client::modify_cache_subnet_group(see) -> ModifyCacheSubnetGroupOutput),
        // The modify returned no group: its ARN is described.
        describe_subnet_group_rule(),
        add,
        remove,
    ];
    let c = clients(&rules);

    DRIVER
        .update(
            &c,
            &prior,
            &subnet_resource(&after),
            Changed(&changed(&["subnet_ids", "tags"])),
        )
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].subnet_ids(), ["subnet-c"]);
    assert_eq!(seen[0].cache_subnet_group_description(), None);
    assert_retagged(&added.lock().unwrap(), SUBNET_GROUP_ARN, "subnets");
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
    let prior = subnet_state(&subnet_spec());

    let err = DRIVER.delete(&c, &prior).await.unwrap_err();
    assert_error(&err, ErrorClass::Retryable, "CacheSubnetGroupInUse");
    DRIVER.delete(&c, &prior).await.unwrap();
    DRIVER.delete(&c, &prior).await.unwrap();
    all_used(&rules);
}

/// A create cut short before its outputs were recorded: the executor finds what
/// carries our tags (nothing, or ours) and deletes it from the outputs found.
#[tokio::test]
async fn delete_without_outputs_deletes_only_what_find_finds() {
    let rules = [
        // Nothing there: nothing to delete.
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
    let r = subnet_resource(&subnet_spec());

    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), None);
    delete_found(&DRIVER, &c, &r).await;
    all_used(&rules);
}

/// The group `name` as DescribeCacheSubnetGroups lists it: with `description` and
/// the subnets of `subnet_spec()` in another order.
fn listed_group(name: &str, arn: &str, description: &str) -> CacheSubnetGroup {
    CacheSubnetGroup::builder()
        .cache_subnet_group_name(name)
        .cache_subnet_group_description(description)
        .arn(arn)
        .vpc_id(VPC_ID)
        .subnets(
            aws_sdk_elasticache::types::Subnet::builder()
                .subnet_identifier("subnet-b")
                .build(),
        )
        .subnets(
            aws_sdk_elasticache::types::Subnet::builder()
                .subnet_identifier("subnet-a")
                .build(),
        )
        .build()
}

/// Recorded: ours (`subnets`) and `old-subnets`, whose group now carries another
/// stack's tags. Listed too: a group state does not know, whose tags are not read.
#[tokio::test]
async fn subnet_group_observe_lists_every_group_once_and_reads_the_tags_of_the_recorded_ones() {
    const OLD_ARN: &str = "arn:aws:elasticache:us-east-1:123456789012:subnetgroup:old";
    let (listed, see) = recorder::<
        aws_sdk_elasticache::operation::describe_cache_subnet_groups::DescribeCacheSubnetGroupsInput,
    >();
    let rules = [
        mock!(Client::describe_cache_subnet_groups)
            .match_requests(see)
            .then_output(|| {
                DescribeCacheSubnetGroupsOutput::builder()
                    .cache_subnet_groups(listed_group("cache-subnets", SUBNET_GROUP_ARN, "edited"))
                    .cache_subnet_groups(listed_group(
                        "default",
                        "arn:aws:elasticache:us-east-1:123456789012:subnetgroup:default",
                        "default",
                    ))
                    .cache_subnet_groups(listed_group("old", OLD_ARN, "old"))
                    .build()
            }),
        list_tags_rule(SUBNET_GROUP_ARN, ours("subnets")),
        list_tags_rule(
            OLD_ARN,
            tags(&[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "old-subnets")]),
        ),
    ];
    let c = clients(&rules);
    let mut old = subnet_spec();
    old.name = "old".into();
    let scope = crate::test_support::scope(
        STACK,
        REGION,
        vec![
            subnet_state(&subnet_spec()),
            recorded(&resource("old-subnets", &old), name_outputs("old")),
        ],
    );

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(listed.lock().unwrap()[0].cache_subnet_group_name(), None);
    assert_eq!(live.len(), 1, "the other stack's group is dropped");
    assert_eq!(live[0].id, "subnets");
    assert_eq!(live[0].outputs, name_outputs("cache-subnets"));
    assert_eq!(live[0].tags, owner_tags("subnets"));
    let spec = live[0].spec.as_ref().unwrap();
    assert_eq!(spec.description, "edited", "the live value");
    assert_eq!(spec.vpc_id, None, "a VPC the spec does not set stays unset");
    assert_eq!(
        spec.subnet_ids,
        subnet_spec().subnet_ids,
        "the recorded order"
    );
    all_used(&rules);
}

#[tokio::test]
async fn subnet_group_observe_of_an_unchanged_group_reads_exactly_the_recorded_spec() {
    let mut spec = subnet_spec();
    spec.vpc_id = Some(VPC_ID.into());
    let rules = [
        mock!(Client::describe_cache_subnet_groups).then_output(|| {
            DescribeCacheSubnetGroupsOutput::builder()
                .cache_subnet_groups(listed_group(
                    "cache-subnets",
                    SUBNET_GROUP_ARN,
                    "Redis subnets",
                ))
                .build()
        }),
        list_tags_rule(SUBNET_GROUP_ARN, ours("subnets")),
    ];
    let c = clients(&rules);
    let scope = crate::test_support::scope(STACK, REGION, vec![subnet_state(&spec)]);

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&spec).unwrap()
    );
    all_used(&rules);
}
