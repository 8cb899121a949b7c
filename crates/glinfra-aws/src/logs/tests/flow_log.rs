use super::*;
use crate::driver::Driver;
use crate::kit::Changed;
use crate::logs::FlowLogDriver;
use crate::test_support::{all_used, desired, meta, ok_rule, owner_tags, recorded, recorder};
use aws_sdk_ec2::operation::create_flow_logs::{CreateFlowLogsInput, CreateFlowLogsOutput};
use aws_sdk_ec2::operation::create_tags::{CreateTagsInput, CreateTagsOutput};
use aws_sdk_ec2::operation::delete_flow_logs::{
    DeleteFlowLogsError, DeleteFlowLogsInput, DeleteFlowLogsOutput,
};
use aws_sdk_ec2::operation::delete_tags::{DeleteTagsInput, DeleteTagsOutput};
use aws_sdk_ec2::operation::describe_flow_logs::{DescribeFlowLogsInput, DescribeFlowLogsOutput};
use aws_sdk_ec2::types::{
    FlowLog, FlowLogsResourceType, LogDestinationType, ResourceType, Tag, TrafficType,
    UnsuccessfulItem, UnsuccessfulItemError,
};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::ec2::{FlowLogOutputs, FlowLogSpec, FlowLogTraffic};
use glinfra_engine::ErrorClass;

const ID: &str = "flow-log-vpc";
const VPC: &str = "vpc-0a1b2c3d";
const FLOW: &str = "fl-0123456789abcdef0";
const GROUP: &str = "arn:aws:logs:eu-west-1:111122223333:log-group:/greenlang/prod/vpc-flow-logs";
const ROLE: &str = "arn:aws:iam::111122223333:role/greenlang-prod-vpc-flow-logs";

fn spec() -> FlowLogSpec {
    FlowLogSpec::all_traffic(VPC.into(), GROUP.into(), ROLE.into())
}

fn r() -> crate::kit::Desired<FlowLogSpec> {
    desired(STACK, ID, REGION, spec())
}

fn outputs(id: &str) -> FlowLogOutputs {
    FlowLogOutputs { id: id.into() }
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap().to_string(),
                t.value().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn flow_log(id: &str, tags: &BTreeMap<String, String>) -> FlowLog {
    FlowLog::builder()
        .flow_log_id(id)
        .resource_id(VPC)
        .flow_log_status("ACTIVE")
        .traffic_type(TrafficType::All)
        .log_destination_type(LogDestinationType::CloudWatchLogs)
        .log_destination(GROUP)
        .deliver_logs_permission_arn(ROLE)
        .max_aggregation_interval(600)
        .set_tags(Some(sdk_tags(tags)))
        .build()
}

fn describe_ids(flow_logs: Vec<FlowLog>) -> Rule {
    mock!(Client::describe_flow_logs)
        .match_requests(|req| req.flow_log_ids() == [FLOW])
        .then_output(move || {
            DescribeFlowLogsOutput::builder()
                .set_flow_logs(Some(flow_logs.clone()))
                .build()
        })
}

fn failed(code: &str) -> UnsuccessfulItem {
    UnsuccessfulItem::builder()
        .resource_id(VPC)
        .error(
            UnsuccessfulItemError::builder()
                .code(code)
                .message(format!("{code} (test)"))
                .build(),
        )
        .build()
}

#[tokio::test]
async fn create_records_all_traffic_of_the_vpc_into_the_group_with_every_tag() {
    let (seen, see) = recorder::<CreateFlowLogsInput>();
    let rules = [mock!(Client::create_flow_logs)
        .match_requests(see)
        .then_output(|| CreateFlowLogsOutput::builder().flow_log_ids(FLOW).build())];
    let c = mock_ec2(&rules);

    let out = FlowLogDriver.create(&c, &r()).await.unwrap();

    assert_eq!(out, outputs(FLOW));
    let seen = &seen.lock().unwrap()[0];
    assert_eq!(seen.resource_type(), Some(&FlowLogsResourceType::Vpc));
    assert_eq!(seen.resource_ids(), [VPC]);
    assert_eq!(seen.traffic_type(), Some(&TrafficType::All));
    assert_eq!(
        seen.log_destination_type(),
        Some(&LogDestinationType::CloudWatchLogs)
    );
    assert_eq!(seen.log_destination(), Some(GROUP));
    assert_eq!(seen.log_group_name(), None);
    assert_eq!(seen.deliver_logs_permission_arn(), Some(ROLE));
    assert_eq!(seen.max_aggregation_interval(), Some(600));
    let spec = &seen.tag_specifications()[0];
    assert_eq!(spec.resource_type(), Some(&ResourceType::VpcFlowLog));
    assert_eq!(tag_map(spec.tags()), owner_tags(STACK, ID));
    all_used(&rules);
}

/// CreateFlowLogs takes no token unless given one; the engine's goes with every
/// try, so a retried create after a lost response makes no second flow log.
#[tokio::test]
async fn create_sends_the_engines_client_token_on_every_try() {
    let (seen, see) = recorder::<CreateFlowLogsInput>();
    let rules = [mock!(Client::create_flow_logs)
        .match_requests(see)
        .sequence()
        .output(|| CreateFlowLogsOutput::builder().flow_log_ids(FLOW).build())
        .times(2)
        .build()];
    let c = mock_ec2(&rules);
    let r = crate::test_support::with_token(r(), 5);

    FlowLogDriver.create(&c, &r).await.unwrap();
    FlowLogDriver.create(&c, &r).await.unwrap();

    let seen = seen.lock().unwrap();
    let sent: Vec<_> = seen.iter().map(|s| s.client_token()).collect();
    assert_eq!(sent, vec![r.token().as_deref(); 2]);
    assert!(sent[0].is_some());
}

#[tokio::test]
async fn create_sends_the_traffic_type_and_interval_of_the_spec() {
    let (seen, see) = recorder::<CreateFlowLogsInput>();
    let rules = [mock!(Client::create_flow_logs)
        .match_requests(see)
        .then_output(|| CreateFlowLogsOutput::builder().flow_log_ids(FLOW).build())];
    let c = mock_ec2(&rules);
    let mut spec = spec();
    spec.traffic_type = FlowLogTraffic::Reject;
    spec.max_aggregation_interval = 60;

    FlowLogDriver
        .create(&c, &desired(STACK, ID, REGION, spec))
        .await
        .unwrap();

    let seen = &seen.lock().unwrap()[0];
    assert_eq!(seen.traffic_type(), Some(&TrafficType::Reject));
    assert_eq!(seen.max_aggregation_interval(), Some(60));
    all_used(&rules);
}

#[tokio::test]
async fn create_failures_listed_as_unsuccessful_are_classified_by_code() {
    let rules = [
        mock!(Client::create_flow_logs).then_output(|| {
            CreateFlowLogsOutput::builder()
                .unsuccessful(failed("FlowLogAlreadyExists"))
                .build()
        }),
        mock!(Client::create_flow_logs).then_output(|| {
            CreateFlowLogsOutput::builder()
                .unsuccessful(failed("InvalidParameter"))
                .build()
        }),
    ];
    let c = mock_ec2(&rules);

    let err = FlowLogDriver.create(&c, &r()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(err.has_code(&["FlowLogAlreadyExists"]));
    assert_eq!(err.operation.as_deref(), Some("CreateFlowLogs"));
    assert!(err.message.contains(VPC), "{}", err.message);
    let err = FlowLogDriver.create(&c, &r()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid);
    all_used(&rules);
}

#[tokio::test]
async fn find_filters_by_the_ownership_tags_and_checks_them_again() {
    let (seen, see) = recorder::<DescribeFlowLogsInput>();
    let see = std::sync::Arc::new(see);
    let see_first = see.clone();
    let rules = [
        // A service that ignores the filter answers another stack's flow log too,
        // and the one that is ours on the second page.
        mock!(Client::describe_flow_logs)
            .match_requests(move |req| see_first(req))
            .then_output(|| {
                DescribeFlowLogsOutput::builder()
                    .flow_logs(flow_log("fl-0000000000000000a", &owners("staging", ID)))
                    .next_token("page-2")
                    .build()
            }),
        mock!(Client::describe_flow_logs)
            .match_requests(move |req| see(req))
            .then_output(|| {
                DescribeFlowLogsOutput::builder()
                    .flow_logs(flow_log(FLOW, &owner_tags(STACK, ID)))
                    .build()
            }),
        mock!(Client::describe_flow_logs).then_output(|| DescribeFlowLogsOutput::builder().build()),
    ];
    let c = mock_ec2(&rules);

    assert_eq!(
        FlowLogDriver.find(&c, &r()).await.unwrap(),
        Some(outputs(FLOW))
    );
    assert_eq!(FlowLogDriver.find(&c, &r()).await.unwrap(), None);

    let seen = seen.lock().unwrap();
    let filters: BTreeMap<String, Vec<String>> = seen[0]
        .filter()
        .iter()
        .map(|f| (f.name().unwrap().to_string(), f.values().to_vec()))
        .collect();
    assert_eq!(
        filters,
        BTreeMap::from([
            ("tag:glinfra:logical-id".to_string(), vec![ID.to_string()]),
            ("tag:glinfra:stack".to_string(), vec![STACK.to_string()]),
        ])
    );
    assert!(seen[0].flow_log_ids().is_empty());
    assert_eq!(seen[1].next_token(), Some("page-2"));
    all_used(&rules);
}

#[tokio::test]
async fn update_changes_tags_only() {
    let (created, see_create) = recorder::<CreateTagsInput>();
    let (deleted, see_delete) = recorder::<DeleteTagsInput>();
    let mut live = owner_tags(STACK, ID);
    live.insert("team".into(), "data".into());
    live.insert("stale".into(), "x".into());
    let rules = [
        describe_ids(vec![flow_log(FLOW, &live)]),
        ok_rule!(Client::create_tags(see_create) -> CreateTagsOutput),
        ok_rule!(Client::delete_tags(see_delete) -> DeleteTagsOutput),
        // An adopted flow log whose tags match: one read, no change.
        describe_ids(vec![flow_log(FLOW, &owner_tags(STACK, ID))]),
    ];
    let c = mock_ec2(&rules);
    let prior = recorded(&r(), outputs(FLOW));

    // A change of a field AWS cannot modify never reaches update (it replaces): no call.
    let out = FlowLogDriver
        .update(&c, &prior, &r(), Changed(&["traffic_type".to_string()]))
        .await
        .unwrap();
    assert_eq!(out, outputs(FLOW));
    FlowLogDriver
        .update(&c, &prior, &r(), Changed(&["tags".to_string()]))
        .await
        .unwrap();
    FlowLogDriver
        .update(&c, &prior, &r(), Changed(&[]))
        .await
        .unwrap();

    let created = &created.lock().unwrap()[0];
    assert_eq!(created.resources(), [FLOW]);
    assert_eq!(tag_map(created.tags()), map(&[("team", "platform")]));
    let deleted = &deleted.lock().unwrap()[0];
    assert_eq!(deleted.resources(), [FLOW]);
    assert_eq!(deleted.tags().len(), 1);
    assert_eq!(deleted.tags()[0].key(), Some("stale"));
    assert_eq!(deleted.tags()[0].value(), None);
    all_used(&rules);
}

#[tokio::test]
async fn update_of_a_flow_log_that_is_gone_is_not_found() {
    let rules = [describe_ids(Vec::new())];
    let c = mock_ec2(&rules);
    let prior = recorded(&r(), outputs(FLOW));

    let err = FlowLogDriver
        .update(&c, &prior, &r(), Changed(&[]))
        .await
        .unwrap_err();

    assert_eq!(err.class, ErrorClass::NotFound);
    all_used(&rules);
}

#[tokio::test]
async fn delete_waits_until_gone_and_gone_already_is_success() {
    let (seen, see) = recorder::<DeleteFlowLogsInput>();
    let rules = [
        ok_rule!(Client::delete_flow_logs(see) -> DeleteFlowLogsOutput),
        describe_ids(vec![flow_log(FLOW, &owner_tags(STACK, ID))]),
        describe_ids(Vec::new()),
        // Gone already, as an Unsuccessful item...
        mock!(Client::delete_flow_logs).then_output(|| {
            DeleteFlowLogsOutput::builder()
                .unsuccessful(failed("InvalidFlowLogId.NotFound"))
                .build()
        }),
        describe_ids(Vec::new()),
        // ...or as an error.
        mock!(Client::delete_flow_logs)
            .then_error(|| DeleteFlowLogsError::generic(meta("InvalidFlowLogId.NotFound"))),
        describe_ids(Vec::new()),
    ];
    let c = mock_ec2(&rules);
    let prior = recorded(&r(), outputs(FLOW));

    for _ in 0..3 {
        FlowLogDriver.delete(&c, &prior).await.unwrap();
    }

    assert_eq!(seen.lock().unwrap()[0].flow_log_ids(), [FLOW]);
    all_used(&rules);
}

#[tokio::test]
async fn delete_failures_listed_as_unsuccessful_are_errors() {
    let rules = [mock!(Client::delete_flow_logs).then_output(|| {
        DeleteFlowLogsOutput::builder()
            .unsuccessful(failed("UnauthorizedOperation"))
            .build()
    })];
    let c = mock_ec2(&rules);
    let prior = recorded(&r(), outputs(FLOW));

    let err = FlowLogDriver.delete(&c, &prior).await.unwrap_err();

    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.has_code(&["UnauthorizedOperation"]));
    all_used(&rules);
}

#[tokio::test]
async fn observe_reads_every_flow_log_of_the_stack_in_one_paginated_call() {
    let (seen, see) = recorder::<DescribeFlowLogsInput>();
    let see = std::sync::Arc::new(see);
    let see_first = see.clone();
    // AWS names the destination group with the `:*` of its streams.
    let ours = FlowLog::builder()
        .flow_log_id(FLOW)
        .resource_id(VPC)
        .flow_log_status("ACTIVE")
        .traffic_type(TrafficType::All)
        .log_destination(format!("{GROUP}:*"))
        .deliver_logs_permission_arn(ROLE)
        .max_aggregation_interval(600)
        .set_tags(Some(sdk_tags(&owner_tags(STACK, ID))))
        .build();
    // Aggregated over a minute now, and without the role in the answer.
    let changed = FlowLog::builder()
        .flow_log_id("fl-0000000000000000b")
        .resource_id(VPC)
        .traffic_type(TrafficType::Reject)
        .log_destination(GROUP)
        .max_aggregation_interval(60)
        .set_tags(Some(sdk_tags(&owners(STACK, "flow-log-b"))))
        .build();
    let rules = [
        mock!(Client::describe_flow_logs)
            .match_requests(move |req| see_first(req))
            .then_output(move || {
                DescribeFlowLogsOutput::builder()
                    .flow_logs(ours.clone())
                    // A service that ignores the filter answers another stack's too.
                    .flow_logs(flow_log("fl-0000000000000000c", &owners("staging", ID)))
                    .next_token("page-2")
                    .build()
            }),
        mock!(Client::describe_flow_logs)
            .match_requests(move |req| see(req))
            .then_output(move || {
                DescribeFlowLogsOutput::builder()
                    .flow_logs(changed.clone())
                    .build()
            }),
    ];
    let c = mock_ec2(&rules);
    let mut b_spec = spec();
    b_spec.traffic_type = FlowLogTraffic::Reject;
    let b = desired(STACK, "flow-log-b", REGION, b_spec.clone());
    let recorded = vec![
        recorded(&r(), outputs(FLOW)),
        recorded(&b, outputs("fl-0000000000000000b")),
    ];

    let live = FlowLogDriver
        .observe(&c, &crate::test_support::scope(STACK, REGION, recorded))
        .await
        .unwrap()
        .unwrap();

    all_used(&rules);
    let seen = seen.lock().unwrap();
    let filters: Vec<(String, Vec<String>)> = seen[0]
        .filter()
        .iter()
        .map(|f| (f.name().unwrap().to_string(), f.values().to_vec()))
        .collect();
    assert_eq!(
        filters,
        [("tag:glinfra:stack".to_string(), vec![STACK.to_string()])]
    );
    assert_eq!(seen[1].next_token(), Some("page-2"));
    assert_eq!(live.len(), 2, "another stack's flow log is dropped");
    assert_eq!(live[0].id, ID);
    assert_eq!(live[0].outputs, outputs(FLOW));
    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(spec()).unwrap(),
        "unchanged, it reads as recorded (the group's ARN as recorded, without `:*`)"
    );
    assert_eq!(live[1].id, "flow-log-b");
    let b_live = live[1].spec.as_ref().unwrap();
    assert_eq!(b_live.max_aggregation_interval, 60, "the live value");
    assert_eq!(
        b_live.delivery_role_arn, b_spec.delivery_role_arn,
        "not in the answer: as recorded"
    );
    assert_eq!(b_live.traffic_type, FlowLogTraffic::Reject);
}
