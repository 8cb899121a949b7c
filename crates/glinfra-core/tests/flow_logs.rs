//! The log group and flow log kinds: their declarations and their validation.

use glinfra_core::spec::ec2::{FlowLogSpec, FlowLogTraffic, VpcSpec};
use glinfra_core::spec::iam::IamRoleSpec;
use glinfra_core::spec::logs::{LogGroupSpec, RETENTION_DAYS};
use glinfra_core::{Declared, Kind, ResourceGraph, Stack, UpdateBehavior};

/// The problems `stack` has, as `resource.field: message` lines.
fn problems(stack: &Stack) -> Vec<String> {
    match ResourceGraph::build(stack) {
        Ok(_) => Vec::new(),
        Err(d) => {
            d.0.iter()
                .map(|d| {
                    format!(
                        "{}.{}: {}",
                        d.resource.as_deref().unwrap_or("-"),
                        d.field.as_deref().unwrap_or("-"),
                        d.message
                    )
                })
                .collect()
        }
    }
}

/// A VPC with a log group, a delivery role and a flow log, in us-east-1.
fn stack(group: LogGroupSpec, interval: i32) -> Stack {
    let mut stack = Stack::new("s", "us-east-1");
    let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    let group = stack.add("logs", group);
    let role = stack.add(
        "role",
        IamRoleSpec::for_service("flow-logs", "vpc-flow-logs.amazonaws.com"),
    );
    let mut flow = FlowLogSpec::all_traffic(vpc.id(), group.arn(), role.arn());
    flow.max_aggregation_interval = interval;
    stack.add("flow", flow);
    stack
}

#[test]
fn both_kinds_are_declared_and_listed() {
    assert_eq!(
        Kind::from_name("aws:logs/log-group"),
        Some(LogGroupSpec::KIND)
    );
    assert_eq!(Kind::from_name("aws:ec2/flow-log"), Some(FlowLogSpec::KIND));
    assert!(LogGroupSpec::KIND.taggable() && FlowLogSpec::KIND.taggable());
    assert_eq!(
        LogGroupSpec::KIND.outputs().collect::<Vec<_>>(),
        ["name", "arn"]
    );
    assert_eq!(FlowLogSpec::KIND.outputs().collect::<Vec<_>>(), ["id"]);
}

#[test]
fn a_flow_log_cannot_be_modified_and_a_log_group_only_keeps_its_name() {
    for field in [
        "vpc_id",
        "traffic_type",
        "log_group_arn",
        "delivery_role_arn",
        "max_aggregation_interval",
    ] {
        assert_eq!(
            FlowLogSpec::KIND.field_behavior(field),
            UpdateBehavior::Replace,
            "{field}"
        );
    }
    assert_eq!(
        LogGroupSpec::KIND.field_behavior("name"),
        UpdateBehavior::Replace
    );
    for field in ["retention_days", "kms_key_arn", "tags"] {
        assert_eq!(
            LogGroupSpec::KIND.field_behavior(field),
            UpdateBehavior::InPlace,
            "{field}"
        );
    }
}

#[test]
fn traffic_type_serialises_as_the_aws_spelling() {
    for (traffic, text) in [
        (FlowLogTraffic::All, "ALL"),
        (FlowLogTraffic::Accept, "ACCEPT"),
        (FlowLogTraffic::Reject, "REJECT"),
    ] {
        assert_eq!(serde_json::to_value(traffic).unwrap(), text);
        assert_eq!(traffic.as_str(), text);
        assert_eq!(
            serde_json::from_value::<FlowLogTraffic>(text.into()).unwrap(),
            traffic
        );
    }
    assert!(serde_json::from_value::<FlowLogTraffic>("all".into()).is_err());
}

#[test]
fn a_valid_stack_has_no_problems() {
    for days in RETENTION_DAYS {
        let group = LogGroupSpec::new("/greenlang/prod/vpc-flow-logs", *days);
        assert_eq!(problems(&stack(group, 600)), Vec::<String>::new());
    }
    let mut group = LogGroupSpec::new("/aws-like/but.fine_#1", 1);
    group.retention_days = None;
    assert_eq!(problems(&stack(group, 60)), Vec::<String>::new());
}

#[test]
fn retention_must_be_a_value_cloudwatch_logs_accepts() {
    for days in [0, 2, 31, 366, 3650, -1] {
        let p = problems(&stack(LogGroupSpec::new("g", days), 600));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("logs.retention_days: ")
                && p[0].contains(&format!("not {days}"))
                && p[0].contains("3653"),
            "{p:?}"
        );
    }
}

#[test]
fn log_group_names_follow_cloudwatch_rules() {
    for bad in ["", "aws/vpc", "has space", "star*", &"x".repeat(513)] {
        let p = problems(&stack(LogGroupSpec::new(bad, 30), 600));
        assert_eq!(p.len(), 1, "{bad}: {p:?}");
        assert!(p[0].starts_with("logs.name: "), "{p:?}");
    }
    let mut group = LogGroupSpec::new("g", 30);
    group.kms_key_arn = Some("alias/mine".into());
    let p = problems(&stack(group, 600));
    assert!(
        p.len() == 1 && p[0].starts_with("logs.kms_key_arn: "),
        "{p:?}"
    );
}

#[test]
fn aggregation_interval_is_60_or_600() {
    for interval in [0, 1, 59, 61, 300, 601, 3600] {
        let p = problems(&stack(LogGroupSpec::new("g", 30), interval));
        assert_eq!(
            p,
            [format!(
                "flow.max_aggregation_interval: must be 60 or 600 seconds, got {interval}"
            )]
        );
    }
}

#[test]
fn a_flow_log_needs_a_vpc_and_a_log_group_of_its_own_region() {
    let mut stack = Stack::new("s", "us-east-1");
    let vpc = stack.add_in("eu-west-1", "vpc", VpcSpec::new("10.0.0.0/16"));
    let group = stack.add_in("eu-west-1", "logs", LogGroupSpec::new("g", 30));
    let role = stack.add(
        "role",
        IamRoleSpec::for_service("flow-logs", "vpc-flow-logs.amazonaws.com"),
    );
    stack.add(
        "flow",
        FlowLogSpec::all_traffic(vpc.id(), group.arn(), role.arn()),
    );
    assert_eq!(
        problems(&stack),
        [
            "flow.log_group_arn: `logs` is in eu-west-1; a flow log in us-east-1 needs it in us-east-1",
            "flow.vpc_id: `vpc` is in eu-west-1; a flow log in us-east-1 needs it in us-east-1",
        ]
    );

    let mut stack = Stack::new("s", "us-east-1");
    let group = stack.add("logs", LogGroupSpec::new("g", 30));
    stack.add(
        "flow",
        FlowLogSpec::all_traffic(
            group.name(),
            "arn:aws:s3:::bucket".into(),
            "arn:aws:iam::1:role/r".into(),
        ),
    );
    let p = problems(&stack);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p.iter()
            .any(|p| p.starts_with("flow.vpc_id: `logs` (aws:logs/log-group) is not a VPC")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| p
                .starts_with("flow.log_group_arn: `arn:aws:s3:::bucket` is not a log group ARN")),
        "{p:?}"
    );
}
