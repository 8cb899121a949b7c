use super::*;
use crate::driver::Driver;
use crate::rds::DbSubnetGroupDriver;
use crate::test_support::{all_used, delete_found, meta, recorder, update};
use aws_sdk_rds::operation::create_db_subnet_group::{
    CreateDBSubnetGroupError, CreateDbSubnetGroupInput, CreateDbSubnetGroupOutput,
};
use aws_sdk_rds::operation::delete_db_subnet_group::{
    DeleteDBSubnetGroupError, DeleteDbSubnetGroupOutput,
};
use aws_sdk_rds::operation::describe_db_subnet_groups::{
    DescribeDBSubnetGroupsError, DescribeDbSubnetGroupsOutput,
};
use aws_sdk_rds::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_rds::operation::modify_db_subnet_group::{
    ModifyDbSubnetGroupInput, ModifyDbSubnetGroupOutput,
};
use aws_sdk_rds::types::{DbSubnetGroup, Subnet};
use aws_sdk_rds::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::rds::{DbSubnetGroupOutputs, DbSubnetGroupSpec};
use glinfra_engine::ErrorClass;

const NAME: &str = "greenlang-prod-data";
const ARN: &str = "arn:aws:rds:eu-west-1:111122223333:subgrp:greenlang-prod-data";

fn spec() -> DbSubnetGroupSpec {
    DbSubnetGroupSpec {
        vpc_id: None,
        name: NAME.into(),
        description: "GreenLang prod data subnets".into(),
        subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
    }
}

const DRIVER: DbSubnetGroupDriver = DbSubnetGroupDriver;

fn r(spec: &DbSubnetGroupSpec) -> Desired<DbSubnetGroupSpec> {
    resource("db-subnets", spec)
}

fn group_outputs() -> DbSubnetGroupOutputs {
    DbSubnetGroupOutputs {
        name: NAME.into(),
        arn: ARN.into(),
    }
}

fn recorded(spec: &DbSubnetGroupSpec) -> Recorded<DbSubnetGroupSpec> {
    state("db-subnets", spec, group_outputs())
}

fn group() -> DbSubnetGroup {
    DbSubnetGroup::builder()
        .db_subnet_group_name(NAME)
        .db_subnet_group_arn(ARN)
        .db_subnet_group_description("GreenLang prod data subnets")
        .subnet_group_status("Complete")
        .subnets(Subnet::builder().subnet_identifier("subnet-a").build())
        .subnets(Subnet::builder().subnet_identifier("subnet-b").build())
        .build()
}

fn describe_ok() -> Rule {
    mock!(Client::describe_db_subnet_groups)
        .match_requests(|r| r.db_subnet_group_name() == Some(NAME))
        .then_output(|| {
            DescribeDbSubnetGroupsOutput::builder()
                .db_subnet_groups(group())
                .build()
        })
}

fn describe_missing() -> Rule {
    mock!(Client::describe_db_subnet_groups)
        .match_requests(|r| r.db_subnet_group_name() == Some(NAME))
        .then_error(|| DescribeDBSubnetGroupsError::generic(meta("DBSubnetGroupNotFoundFault")))
}

fn tags_rule(tags: Vec<Tag>) -> Rule {
    mock!(Client::list_tags_for_resource)
        .match_requests(|r| r.resource_name() == Some(ARN))
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .set_tag_list(Some(tags.clone()))
                .build()
        })
}

#[tokio::test]
async fn create_passes_name_description_subnets_and_every_tag() {
    let (seen, see) = recorder::<CreateDbSubnetGroupInput>();
    let rules = [mock!(Client::create_db_subnet_group)
        .match_requests(see)
        .then_output(|| {
            CreateDbSubnetGroupOutput::builder()
                .db_subnet_group(group())
                .build()
        })];
    let c = mock_rds(&rules);

    let out = DRIVER.create(&c, &r(&spec())).await.unwrap();

    assert_eq!(out, group_outputs());
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].db_subnet_group_name(), Some(NAME));
    assert_eq!(
        seen[0].db_subnet_group_description(),
        Some("GreenLang prod data subnets")
    );
    assert_eq!(seen[0].subnet_ids(), ["subnet-a", "subnet-b"]);
    assert_eq!(tag_map(seen[0].tags()), owner_tags("db-subnets"));
    all_used(&rules);
}

#[tokio::test]
async fn create_meeting_a_foreign_group_fails_naming_its_owner() {
    let rules = [
        mock!(Client::create_db_subnet_group)
            .then_error(|| CreateDBSubnetGroupError::generic(meta("DBSubnetGroupAlreadyExists"))),
        describe_ok(),
        tags_rule(theirs("db-subnets")),
    ];
    let c = mock_rds(&rules);

    let err = DRIVER.create(&c, &r(&spec())).await.unwrap_err();

    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
    all_used(&rules);
}

#[tokio::test]
async fn find_adopts_only_our_group() {
    let rules = [
        describe_ok(),
        tags_rule(ours("db-subnets")),
        describe_ok(),
        tags_rule(theirs("db-subnets")),
        describe_ok(),
        tags_rule(Vec::new()),
        describe_missing(),
    ];
    let c = mock_rds(&rules);
    let r = r(&spec());

    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), Some(group_outputs()));
    let err = DRIVER.find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(
        err.message
            .contains("stack `staging`, resource `db-subnets`"),
        "{}",
        err.message
    );
    let err = DRIVER.find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(
        err.message.contains("no glinfra ownership tags"),
        "{}",
        err.message
    );
    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), None);
    all_used(&rules);
}

#[tokio::test]
async fn update_of_description_or_subnets_sends_modify_with_both() {
    let mut after = spec();
    after.description = "data tier".into();
    after.subnet_ids.push("subnet-c".into());
    let (seen, see) = recorder::<ModifyDbSubnetGroupInput>();
    let rules = [mock!(Client::modify_db_subnet_group)
        .match_requests(see)
        .then_output(|| {
            ModifyDbSubnetGroupOutput::builder()
                .db_subnet_group(group())
                .build()
        })];
    let c = mock_rds(&rules);

    let out = update(&DRIVER, &c, &recorded(&spec()), &r(&after), &["subnet_ids"])
        .await
        .unwrap();

    assert_eq!(out, recorded(&spec()).outputs);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].db_subnet_group_name(), Some(NAME));
    assert_eq!(seen[0].db_subnet_group_description(), Some("data tier"));
    assert_eq!(seen[0].subnet_ids(), ["subnet-a", "subnet-b", "subnet-c"]);
    all_used(&rules);
}

#[tokio::test]
async fn update_of_tags_adds_the_wanted_and_removes_the_recorded_ones_no_longer_wanted() {
    let mut prior = recorded(&spec());
    prior.tags.insert("cost-centre".into(), "42".into());
    let ((added, removed), [add, remove]) = tag_calls();
    let rules = [add, remove];
    let c = mock_rds(&rules);

    update(&DRIVER, &c, &prior, &r(&spec()), &["tags"])
        .await
        .unwrap();

    let added = added.lock().unwrap();
    assert_eq!(added[0].resource_name(), Some(ARN));
    assert_eq!(tag_map(added[0].tags()), owner_tags("db-subnets"));
    let removed = removed.lock().unwrap();
    assert_eq!(removed[0].resource_name(), Some(ARN));
    assert_eq!(removed[0].tag_keys(), ["cost-centre"]);
    all_used(&rules);
}

#[tokio::test]
async fn full_update_modifies_and_reconciles_tags_against_the_live_ones() {
    let ((added, removed), [add, remove]) = tag_calls();
    let rules = [
        mock!(Client::modify_db_subnet_group).then_output(|| {
            ModifyDbSubnetGroupOutput::builder()
                .db_subnet_group(group())
                .build()
        }),
        tags_rule(tag_list(&[
            (TAG_STACK, "prod"),
            (TAG_LOGICAL_ID, "db-subnets"),
            ("team", "old"),
            ("stray", "x"),
        ])),
        add,
        remove,
    ];
    let c = mock_rds(&rules);

    update(&DRIVER, &c, &recorded(&spec()), &r(&spec()), &[])
        .await
        .unwrap();

    assert_eq!(
        tag_map(added.lock().unwrap()[0].tags()),
        BTreeMap::from([("team".to_string(), "platform".to_string())])
    );
    assert_eq!(removed.lock().unwrap()[0].tag_keys(), ["stray"]);
    all_used(&rules);
}

#[tokio::test]
async fn delete_of_a_gone_group_is_success() {
    let rules = [mock!(Client::delete_db_subnet_group)
        .match_requests(|r| r.db_subnet_group_name() == Some(NAME))
        .then_error(|| DeleteDBSubnetGroupError::generic(meta("DBSubnetGroupNotFoundFault")))];
    let c = mock_rds(&rules);
    DRIVER.delete(&c, &recorded(&spec())).await.unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn delete_while_instances_use_the_group_is_retryable() {
    let rules = [mock!(Client::delete_db_subnet_group)
        .then_error(|| DeleteDBSubnetGroupError::generic(meta("InvalidDBSubnetGroupStateFault")))];
    let c = mock_rds(&rules);
    let err = DRIVER.delete(&c, &recorded(&spec())).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    assert!(
        err.message.contains("InvalidDBSubnetGroupStateFault"),
        "{}",
        err.message
    );
    all_used(&rules);
}

#[tokio::test]
async fn delete_waits_until_the_group_is_gone() {
    let rules = [
        mock!(Client::delete_db_subnet_group)
            .then_output(|| DeleteDbSubnetGroupOutput::builder().build()),
        describe_ok(),
        describe_missing(),
    ];
    let c = mock_rds(&rules);
    DRIVER.delete(&c, &recorded(&spec())).await.unwrap();
    all_used(&rules);
}

/// A create cut short before its outputs were recorded: the executor finds what
/// carries our tags and deletes it from the outputs found; someone else's same-named
/// group is never ours to delete.
#[tokio::test]
async fn an_unrecorded_group_is_deleted_only_when_it_carries_our_tags() {
    let rules = [
        // Ours: found, then deleted.
        describe_ok(),
        tags_rule(ours("db-subnets")),
        mock!(Client::delete_db_subnet_group)
            .match_requests(|r| r.db_subnet_group_name() == Some(NAME))
            .then_output(|| DeleteDbSubnetGroupOutput::builder().build()),
        describe_missing(),
        // Someone else's: not ours to delete.
        describe_ok(),
        tags_rule(theirs("db-subnets")),
        // Nothing: nothing to delete.
        describe_missing(),
    ];
    let c = mock_rds(&rules);
    let r = r(&spec());
    delete_found(&DRIVER, &c, &r).await;
    let err = DRIVER.find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), None);
    all_used(&rules);
}

/// A group of `name` as DescribeDBSubnetGroups lists it: in VPC `vpc-1`, with
/// `description` and the subnets of `spec()` in another order.
fn listed(name: &str, description: &str) -> DbSubnetGroup {
    DbSubnetGroup::builder()
        .db_subnet_group_name(name)
        .db_subnet_group_arn(format!("arn:aws:rds:eu-west-1:{ACCOUNT}:subgrp:{name}"))
        .db_subnet_group_description(description)
        .vpc_id("vpc-1")
        .subnets(Subnet::builder().subnet_identifier("subnet-b").build())
        .subnets(Subnet::builder().subnet_identifier("subnet-a").build())
        .build()
}

/// The listing of every group (no name), answering `groups`; each request is recorded.
fn list_rule(
    groups: Vec<DbSubnetGroup>,
) -> (
    Seen<aws_sdk_rds::operation::describe_db_subnet_groups::DescribeDbSubnetGroupsInput>,
    Rule,
) {
    let (seen, see) = recorder();
    let rule = mock!(Client::describe_db_subnet_groups)
        .match_requests(see)
        .then_output(move || {
            DescribeDbSubnetGroupsOutput::builder()
                .set_db_subnet_groups(Some(groups.clone()))
                .build()
        });
    (seen, rule)
}

/// ListTagsForResource of the group `name`, answering `tags`.
fn tags_of(name: &'static str, tags: Vec<Tag>) -> Rule {
    mock!(Client::list_tags_for_resource)
        .match_requests(move |r| {
            r.resource_name() == Some(&format!("arn:aws:rds:eu-west-1:{ACCOUNT}:subgrp:{name}"))
        })
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .set_tag_list(Some(tags.clone()))
                .build()
        })
}

/// Recorded: ours (`db-subnets`) and `old-subnets`, whose group now carries another
/// stack's tags. Listed too: a group state does not know, whose tags are not read.
#[tokio::test]
async fn observe_lists_every_group_once_and_reads_the_tags_of_the_recorded_ones() {
    let (listed_requests, list) = list_rule(vec![
        listed(NAME, "changed by hand"),
        listed("someone-elses", "not ours"),
        listed("greenlang-prod-old", "old"),
    ]);
    let rules = [
        list,
        tags_of(NAME, ours("db-subnets")),
        tags_of("greenlang-prod-old", theirs("old-subnets")),
    ];
    let c = mock_rds(&rules);
    let mut old = spec();
    old.name = "greenlang-prod-old".into();
    let scope = crate::test_support::scope(
        STACK,
        REGION,
        vec![
            recorded(&spec()),
            state("old-subnets", &old, group_outputs()),
        ],
    );

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(
        listed_requests.lock().unwrap()[0].db_subnet_group_name(),
        None,
        "one listing of every group"
    );
    assert_eq!(live.len(), 1, "the other stack's group is dropped");
    assert_eq!(live[0].id, "db-subnets");
    assert_eq!(live[0].outputs, group_outputs());
    assert_eq!(live[0].tags, owner_tags("db-subnets"));
    let spec = live[0].spec.as_ref().unwrap();
    assert_eq!(spec.description, "changed by hand", "the live value");
    assert_eq!(spec.vpc_id, None, "a VPC the spec does not set stays unset");
    all_used(&rules);
}

#[tokio::test]
async fn observe_of_an_unchanged_group_reads_exactly_the_recorded_spec() {
    let mut with_vpc = spec();
    with_vpc.vpc_id = Some("vpc-1".into());
    let (_, list) = list_rule(vec![listed(NAME, "GreenLang prod data subnets")]);
    let rules = [list, tags_of(NAME, ours("db-subnets"))];
    let c = mock_rds(&rules);
    let scope = crate::test_support::scope(STACK, REGION, vec![recorded(&with_vpc)]);

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&with_vpc).unwrap()
    );
    all_used(&rules);
}

/// The bulk tag read listed ours (`Scope::tagged`): no ListTagsForResource for it
/// (in sequence, no rule answers one); `old-subnets`, not listed (its stack tag
/// names another stack now), has its tags read on its own.
#[tokio::test]
async fn observe_reads_only_the_tags_the_bulk_read_did_not_list() {
    let (_, list) = list_rule(vec![
        listed(NAME, "GreenLang prod data subnets"),
        listed("greenlang-prod-old", "old"),
    ]);
    let rules = [list, tags_of("greenlang-prod-old", theirs("old-subnets"))];
    let c = mock_rds(&rules);
    let mut old = spec();
    old.name = "greenlang-prod-old".into();
    let mut scope = crate::test_support::scope(
        STACK,
        REGION,
        vec![
            recorded(&spec()),
            state("old-subnets", &old, group_outputs()),
        ],
    );
    let arn = format!("arn:aws:rds:eu-west-1:{ACCOUNT}:subgrp:{NAME}");
    scope.tagged = Some(crate::kit::tagged::Pending::ready(
        [(arn, owner_tags("db-subnets"))].into(),
    ));

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, "db-subnets");
    assert_eq!(live[0].tags, owner_tags("db-subnets"));
    all_used(&rules);
}

#[tokio::test]
async fn observe_with_nothing_recorded_makes_no_call() {
    let c = mock_rds(&[]);
    let scope = crate::test_support::scope::<DbSubnetGroupSpec>(STACK, REGION, vec![]);
    assert!(DRIVER
        .observe(&c, &scope)
        .await
        .unwrap()
        .unwrap()
        .is_empty());
}
