//! VPC flow logs (infrastructure requirements 8.1, `vpc_flow_logs: true`): for every
//! VPC the stack declares, a CloudWatch Logs group keeping the records for the
//! environment's retention, the IAM role the flow logs service delivers through,
//! and the flow log itself.

use crate::config::Environment;
use glinfra_core::spec::ec2::{FlowLogSpec, FlowLogTraffic, VpcSpec};
use glinfra_core::spec::iam::IamRoleSpec;
use glinfra_core::spec::logs::LogGroupSpec;
use glinfra_core::{Declared, Input, Resource, Stack};
use serde_json::json;

/// The principal that delivers flow logs.
const FLOW_LOGS_SERVICE: &str = "vpc-flow-logs.amazonaws.com";

/// The policy that lets the flow logs service deliver into `group` (the group and
/// its log streams, nothing else).
pub fn delivery_policy(group: &Resource<LogGroupSpec>) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams"
            ],
            "Resource": [group.arn().to_json(), group.arn().format("{}:*").to_json()]
        }]
    })
}

/// Declares the flow logs of every VPC in `stack`, in the VPC's region, when the
/// environment asks for them (`[security] vpc_flow_logs`).
pub(crate) fn declare(env: &Environment, stack: &mut Stack) {
    let security = &env.security;
    if !security.vpc_flow_logs {
        return;
    }
    declare_with(
        stack,
        &env.stack.environment,
        &Settings {
            retention_days: security.flow_log_retention_days,
            traffic: security.flow_log_traffic,
            max_aggregation_seconds: security.flow_log_max_aggregation_seconds,
        },
    );
}

/// How flow logs are kept (the `flow_log_*` keys of an environment's `[security]`).
pub(crate) struct Settings {
    /// Days the log group keeps records.
    pub retention_days: i32,
    /// The traffic recorded.
    pub traffic: FlowLogTraffic,
    /// Seconds over which records are aggregated.
    pub max_aggregation_seconds: i32,
}

/// Declares the flow logs of every VPC in `stack` with `settings`.
pub(crate) fn declare_with(stack: &mut Stack, envname: &str, settings: &Settings) {
    let vpcs: Vec<(String, String)> = stack
        .declarations()
        .iter()
        .filter(|d| d.kind == VpcSpec::KIND)
        .map(|d| (d.id.clone(), d.region.clone()))
        .collect();
    for (vpc, region) in vpcs {
        let name = format!("/greenlang/{envname}/{vpc}-flow-logs");
        let group = stack.add_in(
            &region,
            format!("logs-{vpc}-flow"),
            LogGroupSpec::new(&name, settings.retention_days),
        );
        let mut role = IamRoleSpec::for_service(
            format!("greenlang-{envname}-{vpc}-flow-logs"),
            FLOW_LOGS_SERVICE,
        );
        role.description = format!("Delivers the flow logs of `{vpc}` to {name}");
        role.inline_policies
            .insert("deliver".into(), delivery_policy(&group));
        let role = stack.add(format!("iam-{vpc}-flow-logs"), role);
        stack.add_in(
            &region,
            format!("flow-log-{vpc}"),
            FlowLogSpec {
                vpc_id: Input::output(&vpc, "id"),
                traffic_type: settings.traffic,
                log_group_arn: group.arn(),
                delivery_role_arn: role.arn(),
                max_aggregation_interval: settings.max_aggregation_seconds,
            },
        );
    }
}
