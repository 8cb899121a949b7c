use super::*;
use crate::driver::Driver;
use crate::logs::LogGroupDriver;
use crate::test_support::{all_used, desired, meta, ok_rule, owner_tags, recorded, recorder};
use aws_sdk_cloudwatchlogs::operation::associate_kms_key::{
    AssociateKmsKeyInput, AssociateKmsKeyOutput,
};
use aws_sdk_cloudwatchlogs::operation::create_log_group::{
    CreateLogGroupError, CreateLogGroupInput, CreateLogGroupOutput,
};
use aws_sdk_cloudwatchlogs::operation::delete_log_group::{
    DeleteLogGroupError, DeleteLogGroupInput, DeleteLogGroupOutput,
};
use aws_sdk_cloudwatchlogs::operation::delete_retention_policy::{
    DeleteRetentionPolicyInput, DeleteRetentionPolicyOutput,
};
use aws_sdk_cloudwatchlogs::operation::describe_log_groups::{
    DescribeLogGroupsInput, DescribeLogGroupsOutput,
};
use aws_sdk_cloudwatchlogs::operation::disassociate_kms_key::{
    DisassociateKmsKeyInput, DisassociateKmsKeyOutput,
};
use aws_sdk_cloudwatchlogs::operation::list_tags_for_resource::{
    ListTagsForResourceInput, ListTagsForResourceOutput,
};
use aws_sdk_cloudwatchlogs::operation::put_retention_policy::{
    PutRetentionPolicyInput, PutRetentionPolicyOutput,
};
use aws_sdk_cloudwatchlogs::operation::tag_resource::{TagResourceInput, TagResourceOutput};
use aws_sdk_cloudwatchlogs::operation::untag_resource::{UntagResourceInput, UntagResourceOutput};
use aws_sdk_cloudwatchlogs::types::LogGroup;
use aws_sdk_cloudwatchlogs::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::logs::{LogGroupOutputs, LogGroupSpec};
use glinfra_engine::ErrorClass;
use std::collections::HashMap;

const ID: &str = "logs-vpc-flow";
const NAME: &str = "/greenlang/prod/vpc-flow-logs";
const ARN: &str = "arn:aws:logs:eu-west-1:111122223333:log-group:/greenlang/prod/vpc-flow-logs";
const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd";

fn spec(retention: Option<i32>) -> LogGroupSpec {
    LogGroupSpec {
        name: NAME.into(),
        retention_days: retention,
        kms_key_arn: None,
    }
}

fn r(spec: LogGroupSpec) -> crate::kit::Desired<LogGroupSpec> {
    desired(STACK, ID, REGION, spec)
}

fn outputs() -> LogGroupOutputs {
    LogGroupOutputs {
        name: NAME.into(),
        arn: ARN.into(),
    }
}

/// The group as DescribeLogGroups lists it: both ARNs, `arn` with the `:*` suffix.
fn group(name: &str, key: Option<&str>) -> LogGroup {
    LogGroup::builder()
        .log_group_name(name)
        .arn(format!(
            "arn:aws:logs:eu-west-1:111122223333:log-group:{name}:*"
        ))
        .log_group_arn(format!(
            "arn:aws:logs:eu-west-1:111122223333:log-group:{name}"
        ))
        .retention_in_days(365)
        .set_kms_key_id(key.map(str::to_string))
        .build()
}

fn describe(groups: Vec<LogGroup>) -> Rule {
    mock!(Client::describe_log_groups)
        .match_requests(|req| req.log_group_name_prefix() == Some(NAME))
        .then_output(move || {
            DescribeLogGroupsOutput::builder()
                .set_log_groups(Some(groups.clone()))
                .build()
        })
}

fn tags_rule(tags: BTreeMap<String, String>) -> Rule {
    mock!(Client::list_tags_for_resource)
        .match_requests(|req| req.resource_arn() == Some(ARN))
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .set_tags(Some(tags.clone().into_iter().collect()))
                .build()
        })
}

fn sorted(tags: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    tags.cloned().unwrap_or_default().into_iter().collect()
}

#[tokio::test]
async fn create_passes_name_and_every_tag_then_sets_the_retention() {
    let (created, see_create) = recorder::<CreateLogGroupInput>();
    let (retention, see_retention) = recorder::<PutRetentionPolicyInput>();
    let (described, see_describe) = recorder::<DescribeLogGroupsInput>();
    let rules = [
        ok_rule!(Client::create_log_group(see_create) -> CreateLogGroupOutput),
        ok_rule!(Client::put_retention_policy(see_retention) -> PutRetentionPolicyOutput),
        mock!(Client::describe_log_groups)
            .match_requests(see_describe)
            .then_output(|| {
                DescribeLogGroupsOutput::builder()
                    .log_groups(group(NAME, None))
                    .build()
            }),
    ];
    let c = mock_logs(&rules);

    let out = LogGroupDriver
        .create(&c, &r(spec(Some(365))))
        .await
        .unwrap();

    assert_eq!(out, outputs());
    let created = &created.lock().unwrap()[0];
    assert_eq!(created.log_group_name(), Some(NAME));
    assert_eq!(created.kms_key_id(), None);
    assert_eq!(sorted(created.tags()), owner_tags(STACK, ID));
    let retention = &retention.lock().unwrap()[0];
    assert_eq!(retention.log_group_name(), Some(NAME));
    assert_eq!(retention.retention_in_days(), Some(365));
    assert_eq!(
        described.lock().unwrap()[0].log_group_name_prefix(),
        Some(NAME)
    );
    all_used(&rules);
}

#[tokio::test]
async fn create_without_retention_passes_the_key_and_waits_until_listed() {
    let (created, see_create) = recorder::<CreateLogGroupInput>();
    let rules = [
        ok_rule!(Client::create_log_group(see_create) -> CreateLogGroupOutput),
        describe(Vec::new()),
        describe(vec![group(NAME, Some(KEY))]),
    ];
    let c = mock_logs(&rules);
    let mut spec = spec(None);
    spec.kms_key_arn = Some(KEY.into());

    let out = LogGroupDriver.create(&c, &r(spec)).await.unwrap();

    assert_eq!(out, outputs());
    assert_eq!(created.lock().unwrap()[0].kms_key_id(), Some(KEY));
    all_used(&rules);
}

#[tokio::test]
async fn create_meeting_a_group_of_that_name_is_already_exists() {
    let rules = [mock!(Client::create_log_group)
        .then_error(|| CreateLogGroupError::generic(meta("ResourceAlreadyExistsException")))];
    let c = mock_logs(&rules);

    let err = LogGroupDriver
        .create(&c, &r(spec(Some(365))))
        .await
        .unwrap_err();

    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(err.has_code(&["ResourceAlreadyExistsException"]));
    assert_eq!(err.operation.as_deref(), Some("CreateLogGroup"));
    all_used(&rules);
}

#[tokio::test]
async fn find_matches_the_exact_name_over_pages_and_adopts_only_our_group() {
    let (pages, see_page) = recorder::<DescribeLogGroupsInput>();
    let see_page = std::sync::Arc::new(see_page);
    let see_first = see_page.clone();
    let rules = [
        // The prefix also matches a longer name; the exact one is on the second page.
        mock!(Client::describe_log_groups)
            .match_requests(move |req| see_first(req))
            .then_output(|| {
                DescribeLogGroupsOutput::builder()
                    .log_groups(group(&format!("{NAME}-old"), None))
                    .next_token("page-2")
                    .build()
            }),
        mock!(Client::describe_log_groups)
            .match_requests(move |req| see_page(req))
            .then_output(|| {
                DescribeLogGroupsOutput::builder()
                    .log_groups(group(NAME, None))
                    .build()
            }),
        tags_rule(owner_tags(STACK, ID)),
        describe(vec![group(NAME, None)]),
        tags_rule(owners("staging", ID)),
        describe(vec![group(NAME, None)]),
        tags_rule(BTreeMap::new()),
        describe(vec![group(&format!("{NAME}-old"), None)]),
    ];
    let c = mock_logs(&rules);
    let r = r(spec(Some(365)));

    assert_eq!(LogGroupDriver.find(&c, &r).await.unwrap(), Some(outputs()));
    let err = LogGroupDriver.find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
    let err = LogGroupDriver.find(&c, &r).await.unwrap_err();
    assert!(
        err.message.contains("no glinfra ownership tags"),
        "{}",
        err.message
    );
    assert_eq!(LogGroupDriver.find(&c, &r).await.unwrap(), None);
    let pages = pages.lock().unwrap();
    assert_eq!(pages[0].next_token(), None);
    assert_eq!(pages[1].next_token(), Some("page-2"));
    all_used(&rules);
}

#[tokio::test]
async fn retention_changes_put_a_policy_or_delete_it() {
    let (put, see_put) = recorder::<PutRetentionPolicyInput>();
    let (deleted, see_delete) = recorder::<DeleteRetentionPolicyInput>();
    let rules = [
        ok_rule!(Client::put_retention_policy(see_put) -> PutRetentionPolicyOutput),
        ok_rule!(Client::delete_retention_policy(see_delete) -> DeleteRetentionPolicyOutput),
    ];
    let c = mock_logs(&rules);
    let changed = ["retention_days".to_string()];

    let thirty = r(spec(Some(30)));
    let prior = recorded(&r(spec(Some(365))), outputs());
    let out = LogGroupDriver
        .update(&c, &prior, &thirty, crate::kit::Changed(&changed))
        .await
        .unwrap();
    assert_eq!(out, outputs());
    let forever = r(spec(None));
    LogGroupDriver
        .update(&c, &prior, &forever, crate::kit::Changed(&changed))
        .await
        .unwrap();

    assert_eq!(put.lock().unwrap()[0].retention_in_days(), Some(30));
    assert_eq!(put.lock().unwrap()[0].log_group_name(), Some(NAME));
    assert_eq!(deleted.lock().unwrap()[0].log_group_name(), Some(NAME));
    all_used(&rules);
}

#[tokio::test]
async fn key_changes_associate_or_disassociate_only_a_present_key() {
    let (associated, see_associate) = recorder::<AssociateKmsKeyInput>();
    let (dissociated, see_dissociate) = recorder::<DisassociateKmsKeyInput>();
    let rules = [
        ok_rule!(Client::associate_kms_key(see_associate) -> AssociateKmsKeyOutput),
        describe(vec![group(NAME, Some(KEY))]),
        ok_rule!(Client::disassociate_kms_key(see_dissociate) -> DisassociateKmsKeyOutput),
        // No key on the group: nothing to disassociate.
        describe(vec![group(NAME, None)]),
    ];
    let c = mock_logs(&rules);
    let changed = ["kms_key_arn".to_string()];
    let mut keyed = spec(Some(365));
    keyed.kms_key_arn = Some(KEY.into());
    let prior = recorded(&r(spec(Some(365))), outputs());

    LogGroupDriver
        .update(&c, &prior, &r(keyed), crate::kit::Changed(&changed))
        .await
        .unwrap();
    for _ in 0..2 {
        LogGroupDriver
            .update(
                &c,
                &prior,
                &r(spec(Some(365))),
                crate::kit::Changed(&changed),
            )
            .await
            .unwrap();
    }

    let associated = &associated.lock().unwrap()[0];
    assert_eq!(
        (associated.log_group_name(), associated.kms_key_id()),
        (Some(NAME), Some(KEY))
    );
    assert_eq!(dissociated.lock().unwrap()[0].log_group_name(), Some(NAME));
    all_used(&rules);
}

#[tokio::test]
async fn tag_changes_set_the_changed_and_remove_the_stale_on_the_bare_arn() {
    let (tagged, see_tag) = recorder::<TagResourceInput>();
    let (untagged, see_untag) = recorder::<UntagResourceInput>();
    let (listed, see_list) = recorder::<ListTagsForResourceInput>();
    let mut live = owner_tags(STACK, ID);
    live.insert("team".into(), "data".into());
    live.insert("stale".into(), "x".into());
    let rules = [
        mock!(Client::list_tags_for_resource)
            .match_requests(see_list)
            .then_output(move || {
                ListTagsForResourceOutput::builder()
                    .set_tags(Some(live.clone().into_iter().collect()))
                    .build()
            }),
        ok_rule!(Client::tag_resource(see_tag) -> TagResourceOutput),
        ok_rule!(Client::untag_resource(see_untag) -> UntagResourceOutput),
    ];
    let c = mock_logs(&rules);
    let r = r(spec(Some(365)));
    let prior = recorded(&r, outputs());
    let changed = ["tags".to_string()];

    LogGroupDriver
        .update(&c, &prior, &r, crate::kit::Changed(&changed))
        .await
        .unwrap();

    assert_eq!(listed.lock().unwrap()[0].resource_arn(), Some(ARN));
    let tagged = &tagged.lock().unwrap()[0];
    assert_eq!(tagged.resource_arn(), Some(ARN));
    assert_eq!(sorted(tagged.tags()), map(&[("team", "platform")]));
    let untagged = &untagged.lock().unwrap()[0];
    assert_eq!(untagged.resource_arn(), Some(ARN));
    assert_eq!(untagged.tag_keys(), ["stale"]);
    all_used(&rules);
}

#[tokio::test]
async fn an_adopted_group_is_brought_in_line_field_by_field() {
    let (put, see_put) = recorder::<PutRetentionPolicyInput>();
    let rules = [
        ok_rule!(Client::put_retention_policy(see_put) -> PutRetentionPolicyOutput),
        describe(vec![group(NAME, None)]),
        tags_rule(owner_tags(STACK, ID)),
    ];
    let c = mock_logs(&rules);
    let r = r(spec(Some(90)));
    let prior = recorded(&r, outputs());

    let out = LogGroupDriver
        .update(&c, &prior, &r, crate::kit::Changed(&[]))
        .await
        .unwrap();

    assert_eq!(out, outputs());
    assert_eq!(put.lock().unwrap()[0].retention_in_days(), Some(90));
    all_used(&rules);
}

#[tokio::test]
async fn delete_waits_until_gone_and_gone_already_is_success() {
    let (deleted, see_delete) = recorder::<DeleteLogGroupInput>();
    let rules = [
        ok_rule!(Client::delete_log_group(see_delete) -> DeleteLogGroupOutput),
        describe(vec![group(NAME, None)]),
        describe(Vec::new()),
        mock!(Client::delete_log_group)
            .then_error(|| DeleteLogGroupError::generic(meta("ResourceNotFoundException"))),
        describe(Vec::new()),
    ];
    let c = mock_logs(&rules);
    let prior = recorded(&r(spec(Some(365))), outputs());

    LogGroupDriver.delete(&c, &prior).await.unwrap();
    LogGroupDriver.delete(&c, &prior).await.unwrap();

    assert_eq!(deleted.lock().unwrap()[0].log_group_name(), Some(NAME));
    all_used(&rules);
}

#[tokio::test]
async fn a_concurrent_operation_on_the_group_is_retryable() {
    let rules = [mock!(Client::delete_log_group)
        .then_error(|| DeleteLogGroupError::generic(meta("OperationAbortedException")))];
    let c = mock_logs(&rules);
    let prior = recorded(&r(spec(Some(365))), outputs());

    let err = LogGroupDriver.delete(&c, &prior).await.unwrap_err();

    assert_eq!(err.class, ErrorClass::Retryable);
    assert!(err.message.contains("in progress"), "{}", err.message);
    all_used(&rules);
}

/// ListTagsForResource of the group named `name`, answering `tags`.
fn tags_of(name: &str, tags: BTreeMap<String, String>) -> Rule {
    let arn = format!("arn:aws:logs:eu-west-1:111122223333:log-group:{name}");
    mock!(Client::list_tags_for_resource)
        .match_requests(move |req| req.resource_arn() == Some(arn.as_str()))
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .set_tags(Some(tags.clone().into_iter().collect()))
                .build()
        })
}

#[tokio::test]
async fn observe_lists_the_recorded_groups_by_their_shared_prefix_then_reads_their_tags() {
    const OTHER: &str = "/greenlang/prod/b-flow-logs";
    let (described, see) = recorder::<DescribeLogGroupsInput>();
    let mut changed = group(OTHER, None);
    changed.retention_in_days = Some(7);
    let rules = [
        mock!(Client::describe_log_groups)
            .match_requests(see)
            .then_output(move || {
                DescribeLogGroupsOutput::builder()
                    .log_groups(group(NAME, Some(KEY)))
                    .log_groups(changed.clone())
                    // Under the prefix, not recorded: its tags are not read.
                    .log_groups(group("/greenlang/prod/unrelated", None))
                    .build()
            }),
        tags_of(NAME, owner_tags(STACK, ID)),
        tags_of(OTHER, owners(STACK, "logs-b")),
    ];
    let c = mock_logs(&rules);
    let mut ours = spec(Some(365));
    ours.kms_key_arn = Some(KEY.into());
    let b_spec = LogGroupSpec {
        name: OTHER.into(),
        retention_days: Some(30),
        kms_key_arn: None,
    };
    let b_outputs = LogGroupOutputs {
        name: OTHER.into(),
        arn: format!("arn:aws:logs:eu-west-1:111122223333:log-group:{OTHER}"),
    };
    let recorded = vec![
        recorded(&r(ours.clone()), outputs()),
        recorded(&desired(STACK, "logs-b", REGION, b_spec), b_outputs.clone()),
    ];

    let live = LogGroupDriver
        .observe(&c, &crate::test_support::scope(STACK, REGION, recorded))
        .await
        .unwrap()
        .unwrap();

    all_used(&rules);
    let req = &described.lock().unwrap()[0];
    assert_eq!(req.log_group_name_prefix(), Some("/greenlang/prod/"));
    assert!(req.log_group_identifiers().is_empty());
    assert_eq!(live.len(), 2);
    assert_eq!(live[0].id, ID);
    assert_eq!(live[0].outputs, outputs());
    assert_eq!(live[0].tags, owner_tags(STACK, ID));
    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&ours).unwrap(),
        "unchanged, it reads as recorded"
    );
    assert_eq!(live[1].id, "logs-b");
    assert_eq!(live[1].outputs, b_outputs);
    assert_eq!(
        live[1].spec.as_ref().unwrap().retention_days,
        Some(7),
        "the live value"
    );
}

#[tokio::test]
async fn observe_lists_groups_sharing_no_prefix_by_name_and_drops_what_is_not_ours() {
    let (described, see) = recorder::<DescribeLogGroupsInput>();
    let rules = [
        mock!(Client::describe_log_groups)
            .match_requests(see)
            .then_output(|| {
                DescribeLogGroupsOutput::builder()
                    .log_groups(group("/x/one", None))
                    .build()
            }),
        // Deleted and made again by someone else: not the recorded group.
        tags_of("/x/one", owners("staging", "one")),
    ];
    let c = mock_logs(&rules);
    let of = |id: &str, name: &str| {
        let spec = LogGroupSpec {
            name: name.into(),
            retention_days: Some(365),
            kms_key_arn: None,
        };
        let out = LogGroupOutputs {
            name: name.into(),
            arn: format!("arn:aws:logs:eu-west-1:111122223333:log-group:{name}"),
        };
        recorded(&desired(STACK, id, REGION, spec), out)
    };
    let recorded = vec![of("one", "/x/one"), of("two", "/y/two")];

    let live = LogGroupDriver
        .observe(&c, &crate::test_support::scope(STACK, REGION, recorded))
        .await
        .unwrap()
        .unwrap();

    all_used(&rules);
    let req = &described.lock().unwrap()[0];
    assert_eq!(req.log_group_name_prefix(), None);
    assert_eq!(req.log_group_identifiers(), ["/x/one", "/y/two"]);
    assert!(live.is_empty());
}

#[tokio::test]
async fn observe_with_no_recorded_group_makes_no_call() {
    let c = mock_logs(&[]);
    let live = LogGroupDriver
        .observe(&c, &crate::test_support::scope(STACK, REGION, vec![]))
        .await
        .unwrap()
        .unwrap();
    assert!(live.is_empty());
}
