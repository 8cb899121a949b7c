//! Replacements on the emulator: create-first where AWS allows two at once (the
//! new resources exist before the old ones are deleted), delete-first where a
//! unique value is kept. Nothing here skips: without an emulator
//! (`AWS_ENDPOINT_URL`), these fail.

mod common;

use aws_sdk_ec2::types::Filter;
use common::{nonce, sdk, Run};
use glinfra::spec::ec2::{
    RouteTableAssociationSpec, RouteTableSpec, SecurityGroupSpec, SubnetSpec, VpcSpec,
};
use glinfra::{Action, Stack};

/// A VPC at `10.{b}.0.0/16` with a subnet, a route table and its association,
/// and a security group.
fn network(name: &str, b: u8) -> Stack {
    let mut stack = Stack::new(name, common::REGION);
    let vpc = stack.add("vpc", VpcSpec::new(format!("10.{b}.0.0/16")));
    let subnet = stack.add(
        "subnet",
        SubnetSpec::new(vpc.id(), format!("10.{b}.0.0/24"), "us-east-1a"),
    );
    let rt = stack.add("rt", RouteTableSpec { vpc_id: vpc.id() });
    stack.add(
        "rta",
        RouteTableAssociationSpec {
            route_table_id: rt.id(),
            subnet_id: subnet.id(),
        },
    );
    stack.add(
        "sg",
        SecurityGroupSpec {
            vpc_id: vpc.id(),
            name: format!("{name}-app"),
            description: "app".into(),
            ingress: Vec::new(),
            egress: Vec::new(),
        },
    );
    stack
}

/// The ids of the stack's live resources of one EC2 type, found by the stack's tag.
async fn tagged(ec2: &aws_sdk_ec2::Client, stack: &str, what: &str) -> Vec<String> {
    let tag = Filter::builder()
        .name("tag:glinfra:stack")
        .values(stack)
        .build();
    match what {
        "vpc" => ec2
            .describe_vpcs()
            .filters(tag)
            .send()
            .await
            .unwrap()
            .vpcs()
            .iter()
            .filter_map(|v| v.vpc_id().map(String::from))
            .collect(),
        "subnet" => ec2
            .describe_subnets()
            .filters(tag)
            .send()
            .await
            .unwrap()
            .subnets()
            .iter()
            .filter_map(|v| v.subnet_id().map(String::from))
            .collect(),
        "sg" => ec2
            .describe_security_groups()
            .filters(tag)
            .send()
            .await
            .unwrap()
            .security_groups()
            .iter()
            .filter_map(|v| v.group_id().map(String::from))
            .collect(),
        _ => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vpc_cidr_change_creates_the_new_network_before_deleting_the_old() {
    let name = format!("cbd-{}", nonce());
    let run = Run::new().await;
    run.up(&network(&name, 61)).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    let old_vpc = tagged(&ec2, &name, "vpc").await;
    assert_eq!(old_vpc.len(), 1);

    let moved = network(&name, 62);
    let (plan, report) = run.up(&moved).await;
    let orders: Vec<(String, &str)> = plan
        .steps
        .iter()
        .map(|s| (s.resource.clone(), s.symbol()))
        .collect();
    assert_eq!(
        orders,
        [
            ("vpc".to_string(), "+/-"),
            ("subnet".to_string(), "+/-"),
            ("rt".to_string(), "+/-"),
            ("rta".to_string(), "-/+"),
            ("sg".to_string(), "+/-"),
        ]
    );
    assert!(plan.steps.iter().all(|s| s.action == Action::Replace));
    // Every new resource succeeded before the old VPC was deleted (the outcomes are
    // in completion order).
    let done: Vec<(String, glinfra::OpPhase)> = report
        .outcomes
        .iter()
        .map(|o| (o.resource.clone(), o.phase))
        .collect();
    let at = |id: &str, phase| done.iter().position(|d| d.0 == id && d.1 == phase).unwrap();
    let old_vpc_gone = at("vpc", glinfra::OpPhase::DeleteReplaced);
    for id in ["vpc", "subnet", "rt", "sg"] {
        assert!(
            at(id, glinfra::OpPhase::ReplaceCreate) < old_vpc_gone,
            "{id}"
        );
    }
    // One of each in AWS, the new ones; nothing superseded left; planning again is quiet.
    let new_vpc = tagged(&ec2, &name, "vpc").await;
    assert_eq!(new_vpc.len(), 1);
    assert_ne!(new_vpc, old_vpc);
    assert_eq!(tagged(&ec2, &name, "subnet").await.len(), 1);
    assert_eq!(tagged(&ec2, &name, "sg").await.len(), 1);
    let lock = run.session.lock(&name).await.unwrap();
    assert!(run
        .session
        .state(&lock)
        .await
        .unwrap()
        .superseded
        .is_empty());
    drop(lock);
    assert!(run.plan_live(&moved).await.is_empty());
    run.destroy(&moved).await;
    assert!(tagged(&ec2, &name, "vpc").await.is_empty());
}
