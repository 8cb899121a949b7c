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
    let plan = run.import(&stack, "vpc", &vpc_id).await.unwrap();
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
    let err = run.import(&other, "vpc", &vpc_id).await.unwrap_err();
    assert!(err.to_string().contains("belongs to stack"), "{err}");
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
        .await
        .unwrap()
        .forget("subnet-b")
        .await
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

/// The seven out-of-band changes of issue 8, made through the AWS APIs on an
/// applied prod-us-east-1: each is shown as drift, repaired by the next apply, and
/// read back repaired; then the plan is quiet again.
#[tokio::test(flavor = "multi_thread")]
async fn seven_changes_behind_our_back_on_the_platform_are_seen_and_repaired() {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let env = common::environment_from("prod-us-east-1", "seven");
    let (stack, _) = greenlang_agent_factory::stack_for(&env).unwrap();
    let run = Run::new().await;
    run.up(&stack).await;
    let quiet = run.plan_live(&stack).await;
    assert!(quiet.is_empty(), "{}", glinfra::render::text(&quiet));
    let out = run.outputs(&stack);
    let conf = sdk().await;
    let (ec2, s3) = (
        aws_sdk_ec2::Client::new(&conf),
        aws_sdk_s3::Client::new(&conf),
    );
    let (r53, eks) = (
        aws_sdk_route53::Client::new(&conf),
        aws_sdk_eks::Client::new(&conf),
    );
    let rds = aws_sdk_rds::Client::new(&conf);

    // 1. Versioning suspended on a bucket.
    let packs = out["bucket-agent-packs.name"].clone();
    s3.put_bucket_versioning()
        .bucket(&packs)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // 2. A public access block removed.
    let reports = out["bucket-reports.name"].clone();
    s3.delete_public_access_block()
        .bucket(&reports)
        .send()
        .await
        .unwrap();
    // 3. Public IPs turned on in an app subnet.
    ec2.modify_subnet_attribute()
        .subnet_id(&out["subnet-app-a.id"])
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    // 4. A NAT gateway deleted.
    ec2.delete_nat_gateway()
        .nat_gateway_id(&out["nat-a.id"])
        .send()
        .await
        .unwrap();
    // 5. A DNS record deleted.
    let zone = out["zone.zone_id"].clone();
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    let api = sets
        .resource_record_sets()
        .iter()
        .find(|r| r.name().starts_with("api.") && r.set_identifier() == Some("us-east-1"))
        .expect("the api record of us-east-1")
        .clone();
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .changes(
                    aws_sdk_route53::types::Change::builder()
                        .action(aws_sdk_route53::types::ChangeAction::Delete)
                        .resource_record_set(api)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // 6. A node group shrunk.
    let cluster = out["eks.name"].clone();
    let ng = out["ng-system.name"].clone();
    let before = eks
        .describe_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(&ng)
        .send()
        .await
        .unwrap();
    let scaling = before
        .nodegroup()
        .unwrap()
        .scaling_config()
        .unwrap()
        .clone();
    eks.update_nodegroup_config()
        .cluster_name(&cluster)
        .nodegroup_name(&ng)
        .scaling_config(
            aws_sdk_eks::types::NodegroupScalingConfig::builder()
                .min_size(1)
                .desired_size(1)
                .max_size(scaling.max_size().unwrap())
                .build(),
        )
        .send()
        .await
        .unwrap();
    // As on AWS, the new sizes show once the update is done.
    for _ in 0..120 {
        let ng_now = eks
            .describe_nodegroup()
            .cluster_name(&cluster)
            .nodegroup_name(&ng)
            .send()
            .await
            .unwrap();
        if ng_now.nodegroup().and_then(|n| n.status())
            == Some(&aws_sdk_eks::types::NodegroupStatus::Active)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // 7. RDS backup retention cut.
    let db = out["db-primary.identifier"].clone();
    rds.modify_db_instance()
        .db_instance_identifier(&db)
        .backup_retention_period(1)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();

    let plan = run.plan_live(&stack).await;
    let text = glinfra::render::text(&plan);
    let drifted: Vec<&str> = plan.drift.iter().map(|d| d.resource.as_str()).collect();
    for id in [
        "bucket-agent-packs",
        "bucket-reports",
        "subnet-app-a",
        "nat-a",
        "record-api-us-east-1",
        "ng-system",
        "db-primary",
    ] {
        assert!(drifted.contains(&id), "{id} not in the drift:\n{text}");
    }
    assert_eq!(plan.drift.len(), 7, "{text}");

    run.up(&stack).await;
    let out = run.outputs(&stack);
    let v = s3
        .get_bucket_versioning()
        .bucket(&packs)
        .send()
        .await
        .unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    assert!(s3
        .get_public_access_block()
        .bucket(&reports)
        .send()
        .await
        .is_ok());
    let subnet = ec2
        .describe_subnets()
        .subnet_ids(&out["subnet-app-a.id"])
        .send()
        .await
        .unwrap();
    assert_eq!(subnet.subnets()[0].map_public_ip_on_launch(), Some(false));
    let nat = ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&out["nat-a.id"])
        .send()
        .await
        .unwrap();
    assert_eq!(
        nat.nat_gateways()[0].state(),
        Some(&aws_sdk_ec2::types::NatGatewayState::Available)
    );
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    assert!(sets
        .resource_record_sets()
        .iter()
        .any(|r| r.name().starts_with("api.") && r.set_identifier() == Some("us-east-1")));
    let after = eks
        .describe_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(&ng)
        .send()
        .await
        .unwrap();
    assert_eq!(after.nodegroup().unwrap().scaling_config(), Some(&scaling));
    let live = rds
        .describe_db_instances()
        .db_instance_identifier(&db)
        .send()
        .await
        .unwrap();
    assert_eq!(
        live.db_instances()[0].backup_retention_period(),
        Some(env.database.as_ref().unwrap().backup_retention_days)
    );
    let again = run.plan_live(&stack).await;
    assert!(again.is_empty(), "{}", glinfra::render::text(&again));
    run.destroy(&stack).await;
}

#[tokio::test]
async fn after_state_is_lost_the_next_run_adopts_and_a_stray_tagged_subnet_is_deleted() {
    let stack = network("lost");
    let first = Run::new().await;
    first.up(&stack).await;
    let vpc_id = first.outputs(&stack)["vpc.id"].clone();
    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    // Something carrying this stack's tags that the program does not declare.
    let stray = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.40.9.0/24")
        .availability_zone("us-east-1c")
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Subnet)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("glinfra:stack")
                        .value(stack.name())
                        .build(),
                )
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("glinfra:logical-id")
                        .value("stray")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_string();
    // A new machine: no state at all.
    let second = Run::new().await;
    let plan = second.plan_live(&stack).await;
    let text = glinfra::render::text(&plan);
    assert_eq!(plan.summary.create, 3, "{text}");
    assert!(
        plan.steps
            .iter()
            .filter(|s| s.action == Action::Create)
            .all(|s| s.reason == Some(Reason::Unmanaged)),
        "{text}"
    );
    assert_eq!(
        plan.step("stray").map(|s| (s.action, s.reason)),
        Some((Action::Delete, Some(Reason::UnmanagedUndeclared))),
        "{text}"
    );
    second.up(&stack).await;
    assert_eq!(
        second.outputs(&stack)["vpc.id"],
        vpc_id,
        "adopted, not duplicated"
    );
    let vpcs = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:glinfra:stack")
                .values(stack.name())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);
    let gone = ec2.describe_subnets().subnet_ids(&stray).send().await;
    assert!(
        gone.map(|o| o.subnets().is_empty()).unwrap_or(true),
        "the stray subnet is deleted"
    );
    assert!(second.plan_live(&stack).await.is_empty());
    second.destroy(&stack).await;
}

#[tokio::test]
async fn an_untagged_bucket_is_imported_then_brought_in_line() {
    use glinfra::spec::s3::BucketSpec;
    let run = Run::new().await;
    let s3 = aws_sdk_s3::Client::new(&sdk().await);
    let name = format!("drift-import-{}", nonce());
    s3.create_bucket().bucket(&name).send().await.unwrap();
    let mut stack = Stack::new(format!("drift-bucket-{}", nonce()), common::REGION);
    let mut spec = BucketSpec::new(&name);
    spec.versioning = true;
    spec.force_destroy = true;
    stack.add("bucket", spec);
    let plan = run.import(&stack, "bucket", &name).await.unwrap();
    // A new bucket is unversioned (and, since April 2023, blocks public access): the
    // diff to the program is versioning alone.
    let step = plan.step("bucket").expect("a diff to review");
    assert_eq!(step.action, Action::Update);
    assert_eq!(step.changed_fields(), vec!["versioning"]);
    let tags = s3.get_bucket_tagging().bucket(&name).send().await.unwrap();
    assert!(tags
        .tag_set()
        .iter()
        .any(|t| t.key() == "glinfra:logical-id" && t.value() == "bucket"));
    run.up(&stack).await;
    let v = s3
        .get_bucket_versioning()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        v.status(),
        Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled)
    );
    assert!(run.plan_live(&stack).await.is_empty());
    run.destroy(&stack).await;
}
