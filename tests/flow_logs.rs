//! VPC flow logs against the emulator named by `AWS_ENDPOINT_URL` (started by
//! `scripts/test`): a VPC, a log group, the delivery role and the flow log are
//! applied through `glinfra::Session`, read back through the AWS SDK, changed in
//! place (the group's retention), re-planned to no changes, and destroyed. Nothing
//! here skips: without an endpoint, the test fails.

mod common;

use aws_sdk_cloudwatchlogs::types::LogGroup;
use aws_sdk_ec2::types::FlowLog;
use common::{nonce, sdk, Run, REGION};
use glinfra::spec::ec2::{FlowLogSpec, FlowLogTraffic, VpcSpec};
use glinfra::spec::iam::IamRoleSpec;
use glinfra::spec::logs::LogGroupSpec;
use glinfra::Stack;
use std::collections::BTreeMap;

/// The small stack: a VPC whose flow log goes to a group keeping `retention_days`.
fn stack(name: &str, group_name: &str, role_name: &str, retention_days: i32) -> Stack {
    let mut stack = Stack::new(name, REGION);
    stack.tag("purpose", "flow-logs-it");
    let vpc = stack.add("vpc", VpcSpec::new("10.80.0.0/16"));
    let group = stack.add("logs", LogGroupSpec::new(group_name, retention_days));
    let mut role = IamRoleSpec::for_service(role_name, "vpc-flow-logs.amazonaws.com");
    role.inline_policies.insert(
        "deliver".into(),
        greenlang_agent_factory::flow_logs::delivery_policy(&group),
    );
    let role = stack.add("role", role);
    stack.add(
        "flow",
        FlowLogSpec {
            vpc_id: vpc.id(),
            traffic_type: FlowLogTraffic::All,
            log_group_arn: group.arn(),
            delivery_role_arn: role.arn(),
            max_aggregation_interval: 600,
        },
    );
    stack
}

/// The flow logs with id `id` (none once it is deleted).
async fn flow_logs(ec2: &aws_sdk_ec2::Client, id: &str) -> Vec<FlowLog> {
    let call = ec2.describe_flow_logs().flow_log_ids(id);
    call.send().await.unwrap().flow_logs().to_vec()
}

/// The log groups whose name starts with `prefix`.
async fn log_groups(logs: &aws_sdk_cloudwatchlogs::Client, prefix: &str) -> Vec<LogGroup> {
    let call = logs.describe_log_groups().log_group_name_prefix(prefix);
    call.send().await.unwrap().log_groups().to_vec()
}

/// The retention of the group named `name`, as CloudWatch Logs reports it.
async fn retention(logs: &aws_sdk_cloudwatchlogs::Client, name: &str) -> Option<i32> {
    let groups = log_groups(logs, name).await;
    let group = groups
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .unwrap_or_else(|| panic!("log group {name} not found"));
    group.retention_in_days()
}

#[tokio::test(flavor = "multi_thread")]
async fn flow_log_applies_reads_back_changes_retention_replans_empty_and_destroys() {
    let nonce = nonce();
    let name = format!("it-flow-{nonce}");
    let group_name = format!("/glinfra-it/{name}/vpc-flow-logs");
    let role_name = format!("glinfra-it-{nonce}-flow-logs");
    let stack30 = stack(&name, &group_name, &role_name, 30);
    let run = Run::new().await;

    let (plan, _) = run.up(&stack30).await;
    assert_eq!(plan.summary.create, 4);
    let out = run.outputs(&stack30);
    let (vpc_id, flow_id) = (&out["vpc.id"], &out["flow.id"]);
    let (group_arn, role_arn) = (&out["logs.arn"], &out["role.arn"]);
    assert!(flow_id.starts_with("fl-"), "{flow_id}");
    assert_eq!(out["logs.name"], group_name);
    assert!(!group_arn.ends_with(":*"), "{group_arn}");

    // The flow log and the group, read back through the AWS SDK.
    let config = sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let flow = &flow_logs(&ec2, flow_id).await[0];
    assert_eq!(flow.resource_id(), Some(vpc_id.as_str()));
    assert_eq!(flow.traffic_type().map(|t| t.as_str()), Some("ALL"));
    assert_eq!(
        flow.log_destination_type().map(|t| t.as_str()),
        Some("cloud-watch-logs")
    );
    assert_eq!(flow.log_destination(), Some(group_arn.as_str()));
    assert_eq!(flow.deliver_logs_permission_arn(), Some(role_arn.as_str()));
    assert_eq!(flow.max_aggregation_interval(), Some(600));
    let flow_tags: BTreeMap<&str, &str> = flow
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value()?)))
        .collect();
    assert_eq!(flow_tags.get("glinfra:stack"), Some(&name.as_str()));
    assert_eq!(flow_tags.get("glinfra:logical-id"), Some(&"flow"));
    assert_eq!(flow_tags.get("purpose"), Some(&"flow-logs-it"));
    assert_eq!(retention(&logs, &group_name).await, Some(30));
    let group_tags = logs
        .list_tags_for_resource()
        .resource_arn(group_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        group_tags.tags().and_then(|t| t.get("glinfra:logical-id")),
        Some(&"logs".to_string())
    );
    let role = iam.get_role().role_name(&role_name).send().await.unwrap();
    assert!(
        role.role()
            .unwrap()
            .assume_role_policy_document()
            .unwrap_or_default()
            .contains("vpc-flow-logs.amazonaws.com"),
        "{role:?}"
    );

    // Nothing changed: nothing to do.
    let plan = run.plan(&stack30);
    assert!(plan.is_empty(), "{}", glinfra::render::text(&plan));

    // The retention changes in place; the flow log is not touched.
    let stack90 = stack(&name, &group_name, &role_name, 90);
    let (plan, _) = run.up(&stack90).await;
    assert_eq!(
        (
            plan.summary.update,
            plan.summary.replace,
            plan.summary.create
        ),
        (1, 0, 0),
        "{}",
        glinfra::render::text(&plan)
    );
    assert_eq!(retention(&logs, &group_name).await, Some(90));
    assert_eq!(run.outputs(&stack90)["flow.id"], *flow_id);
    let plan = run.plan(&stack90);
    assert!(plan.is_empty(), "{}", glinfra::render::text(&plan));

    // Destroy: the flow log, the group and the role are gone.
    run.destroy(&stack90).await;
    let flows = flow_logs(&ec2, flow_id).await;
    assert!(flows.is_empty(), "{flows:?}");
    let groups = log_groups(&logs, &group_name).await;
    assert!(groups.is_empty(), "{groups:?}");
    assert!(iam.get_role().role_name(&role_name).send().await.is_err());
    let vpcs = ec2.describe_vpcs().vpc_ids(vpc_id).send().await;
    assert!(
        vpcs.map(|v| v.vpcs().is_empty()).unwrap_or(true),
        "the VPC is gone"
    );
}
