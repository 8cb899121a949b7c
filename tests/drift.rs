//! Refresh against the emulator: changes made behind glinfra's back through the AWS
//! APIs are seen in the plan and repaired by the next apply; import and `state rm`.
//! Nothing here skips: without an emulator (`AWS_ENDPOINT_URL`), these fail.

mod common;

use aws_sdk_ec2::types::AttributeBooleanValue;
use common::{nonce, sdk, Run};
use glinfra::spec::ec2::{SubnetSpec, VpcSpec};
use glinfra::{Action, DriftKind, Reason, Stack};

/// A VPC with two subnets, named for one test.
fn network(test: &str) -> Stack {
    let mut stack = Stack::new(format!("drift-{test}-{}", nonce()), common::REGION);
    stack.tag("environment", "drift-test");
    let vpc = stack.add("vpc", VpcSpec::new("10.40.0.0/16"));
    stack.add(
        "subnet-a",
        SubnetSpec::new(vpc.id(), "10.40.0.0/24", "us-east-1a"),
    );
    stack.add(
        "subnet-b",
        SubnetSpec::new(vpc.id(), "10.40.1.0/24", "us-east-1b"),
    );
    stack
}

#[tokio::test]
async fn a_no_op_plan_with_refresh_finds_nothing_and_reads_once_per_kind() {
    let run = Run::new().await;
    let stack = network("noop");
    run.up(&stack).await;
    let (before, _) = run.calls();
    let plan = run.plan_live(&stack).await;
    let (after, mutating) = run.calls();
    assert!(plan.is_empty(), "{}", glinfra::render::text(&plan));
    assert!(plan.drift.is_empty());
    // DescribeVpcs + two DescribeVpcAttribute for the VPC, one DescribeSubnets.
    assert_eq!(after - before, 4, "calls of the refresh");
    let _ = mutating;
    run.destroy(&stack).await;
}

#[tokio::test]
async fn public_ips_turned_on_behind_our_back_are_turned_off_again() {
    let run = Run::new().await;
    let stack = network("pubip");
    run.up(&stack).await;
    let subnet_id = run.outputs(&stack)["subnet-a.id"].clone();
    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    ec2.modify_subnet_attribute()
        .subnet_id(&subnet_id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();

    let plan = run.plan_live(&stack).await;
    let text = glinfra::render::text(&plan);
    assert_eq!(plan.drift.len(), 1, "{text}");
    let DriftKind::Changed { changes } = &plan.drift[0].what else {
        panic!("{text}")
    };
    assert_eq!(changes[0].field, "map_public_ip_on_launch");
    assert!(
        text.contains("map_public_ip_on_launch: false → true"),
        "{text}"
    );
    let step = plan.step("subnet-a").unwrap();
    assert_eq!(
        (step.action, step.reason),
        (Action::Update, Some(Reason::ChangedOutside))
    );

    run.up(&stack).await;
    let live = ec2
        .describe_subnets()
        .subnet_ids(&subnet_id)
        .send()
        .await
        .unwrap();
    assert_eq!(live.subnets()[0].map_public_ip_on_launch(), Some(false));
    assert!(run.plan_live(&stack).await.is_empty(), "converged");
    run.destroy(&stack).await;
}

#[tokio::test]
async fn a_subnet_deleted_behind_our_back_is_created_again() {
    let run = Run::new().await;
    let stack = network("gone");
    run.up(&stack).await;
    let old = run.outputs(&stack)["subnet-b.id"].clone();
    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    ec2.delete_subnet().subnet_id(&old).send().await.unwrap();

    let (plan, _) = run.up(&stack).await;
    assert_eq!(plan.drift.len(), 1, "{}", glinfra::render::text(&plan));
    assert_eq!(plan.drift[0].what, DriftKind::Deleted);
    assert_eq!(
        plan.step("subnet-b").map(|s| (s.action, s.reason)),
        Some((Action::Create, Some(Reason::DeletedOutside)))
    );
    let new = run.outputs(&stack)["subnet-b.id"].clone();
    assert_ne!(new, old);
    assert!(run.plan_live(&stack).await.is_empty(), "converged");
    run.destroy(&stack).await;
}

#[tokio::test]
async fn when_everything_is_gone_the_next_run_converges_without_advice() {
    // What an emulator restart does: every resource vanishes, state remains.
    let run = Run::new().await;
    let stack = network("restart");
    run.up(&stack).await;
    let out = run.outputs(&stack);
    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    for s in ["subnet-a.id", "subnet-b.id"] {
        ec2.delete_subnet().subnet_id(&out[s]).send().await.unwrap();
    }
    ec2.delete_vpc()
        .vpc_id(&out["vpc.id"])
        .send()
        .await
        .unwrap();

    let (plan, _) = run.up(&stack).await;
    assert_eq!(plan.summary.create, 3, "{}", glinfra::render::text(&plan));
    assert!(run.plan_live(&stack).await.is_empty());
    run.destroy(&stack).await;
}

#[tokio::test]
async fn an_untagged_vpc_is_imported_then_brought_in_line() {
    let run = Run::new().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    let made = ec2
        .create_vpc()
        .cidr_block("10.41.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = made.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut stack = Stack::new(format!("drift-import-{}", nonce()), common::REGION);
    let mut spec = VpcSpec::new("10.41.0.0/16");
    spec.enable_dns_hostnames = true;
    stack.add("vpc", spec);
    let graph = glinfra::ResourceGraph::build(&stack).unwrap();
    let lock = run.session.lock(stack.name()).unwrap();
    let plan = run
        .session
        .import(&lock, &graph, "vpc", &vpc_id)
        .await
        .unwrap();
    drop(lock);
    // A new VPC has DNS host names off: the diff to the program says so.
    let step = plan.step("vpc").expect("a diff to review");
    assert_eq!(step.action, Action::Update);
    assert_eq!(step.changed_fields(), vec!["enable_dns_hostnames"]);
    let tags = ec2
        .describe_vpcs()
        .vpc_ids(&vpc_id)
        .send()
        .await
        .unwrap()
        .vpcs()[0]
        .tags()
        .to_vec();
    assert!(tags
        .iter()
        .any(|t| t.key() == Some("glinfra:stack") && t.value() == Some(stack.name())));

    run.up(&stack).await;
    assert_eq!(
        run.outputs(&stack)["vpc.id"],
        vpc_id,
        "the same VPC, not a new one"
    );
    assert!(run.plan_live(&stack).await.is_empty());
    // Importing it into another stack is refused: it is this stack's now.
    let mut other = Stack::new(format!("drift-other-{}", nonce()), common::REGION);
    other.add("vpc", VpcSpec::new("10.41.0.0/16"));
    let graph = glinfra::ResourceGraph::build(&other).unwrap();
    let lock = run.session.lock(other.name()).unwrap();
    let err = run
        .session
        .import(&lock, &graph, "vpc", &vpc_id)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("belongs to stack"), "{err}");
    drop(lock);
    run.destroy(&stack).await;
}

#[tokio::test]
async fn state_rm_forgets_without_deleting() {
    let run = Run::new().await;
    let stack = network("forget");
    run.up(&stack).await;
    let subnet_id = run.outputs(&stack)["subnet-b.id"].clone();
    run.session
        .lock(stack.name())
        .unwrap()
        .forget("subnet-b")
        .unwrap();
    // The program no longer declares it either: refresh neither reports nor deletes it.
    let mut smaller = Stack::new(stack.name(), common::REGION);
    smaller.tag("environment", "drift-test");
    let vpc = smaller.add("vpc", VpcSpec::new("10.40.0.0/16"));
    smaller.add(
        "subnet-a",
        SubnetSpec::new(vpc.id(), "10.40.0.0/24", "us-east-1a"),
    );
    let plan = run.plan_live(&smaller).await;
    assert!(plan.is_empty(), "{}", glinfra::render::text(&plan));
    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    let live = ec2
        .describe_subnets()
        .subnet_ids(&subnet_id)
        .send()
        .await
        .unwrap();
    assert_eq!(live.subnets().len(), 1, "still in AWS");
    ec2.delete_subnet()
        .subnet_id(&subnet_id)
        .send()
        .await
        .unwrap();
    run.destroy(&smaller).await;
}
