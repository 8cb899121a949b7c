//! Changes AWS makes in place, applied on the emulator: the resource keeps its
//! identity (ARN, endpoint, creation time). Nothing here skips: without an emulator
//! (`AWS_ENDPOINT_URL`), these fail.

mod common;

use common::{nonce, sdk, Run};
use glinfra::spec::ec2::{SubnetSpec, VpcSpec};
use glinfra::spec::rds::{DbEngine, DbInstanceSpec, DbSubnetGroupSpec, StorageType};
use glinfra::{Action, Input, Stack};

/// A VPC with two subnets in two zones, named for one test; the subnets' ids.
fn network(stack: &mut Stack, cidr16: u8) -> Vec<Input<String>> {
    let vpc = stack.add("vpc", VpcSpec::new(format!("10.{cidr16}.0.0/16")));
    ["us-east-1a", "us-east-1b"]
        .iter()
        .enumerate()
        .map(|(i, zone)| {
            stack
                .add(
                    format!("subnet-{i}"),
                    SubnetSpec::new(vpc.id(), format!("10.{cidr16}.{i}.0/24"), *zone),
                )
                .id()
        })
        .collect()
}

fn db(identifier: &str, subnet_group: Input<String>) -> DbInstanceSpec {
    DbInstanceSpec {
        identifier: identifier.into(),
        engine: DbEngine::Postgres,
        engine_version: "15".into(),
        instance_class: "db.r6g.large".into(),
        allocated_storage: 200,
        storage_type: StorageType::Gp3,
        iops: None,
        storage_encrypted: false,
        kms_key_id: None,
        multi_az: false,
        backup_retention_days: 7,
        maintenance_window: "sun:03:00-sun:04:00".into(),
        deletion_protection: false,
        db_subnet_group_name: Some(subnet_group),
        parameter_group_name: None,
        vpc_security_group_ids: Vec::new(),
        master_username: Some("greenlang".into()),
        manage_master_user_password: true,
        replicate_from: None,
    }
}

/// A primary and its read replica; `promoted`: the replica promoted.
fn databases(name: &str, promoted: bool) -> Stack {
    let mut stack = Stack::new(name, common::REGION);
    let subnets = network(&mut stack, 42);
    let group = stack.add(
        "db-subnets",
        DbSubnetGroupSpec {
            vpc_id: None,
            name: format!("{name}-db"),
            description: "databases".into(),
            subnet_ids: subnets,
        },
    );
    let primary = stack.add("db-primary", db(&format!("{name}-primary"), group.name()));
    let mut replica = db(&format!("{name}-replica"), group.name());
    if !promoted {
        replica.replicate_from = Some(primary.arn());
        replica.master_username = None;
        replica.backup_retention_days = 0;
    }
    stack.add("db-replica", replica);
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_replica_is_promoted_in_place() {
    let name = format!("promote-{}", nonce());
    let run = Run::new().await;
    run.up(&databases(&name, false)).await;
    let rds = aws_sdk_rds::Client::new(&sdk().await);
    let describe = |id: String| {
        let rds = rds.clone();
        async move {
            rds.describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
                .unwrap()
                .db_instances()[0]
                .clone()
        }
    };
    let replica_id = format!("{name}-replica");
    let before = describe(replica_id.clone()).await;
    assert!(before.read_replica_source_db_instance_identifier().is_some());

    let promoted = databases(&name, true);
    let (plan, _) = run.up(&promoted).await;
    let actions: Vec<(String, Action)> = plan
        .steps
        .iter()
        .map(|s| (s.resource.clone(), s.action))
        .collect();
    assert_eq!(actions, [("db-replica".to_string(), Action::Update)]);
    let after = describe(replica_id).await;
    assert_eq!(after.read_replica_source_db_instance_identifier(), None);
    assert_eq!(after.backup_retention_period(), Some(7));
    assert_eq!(after.db_instance_arn(), before.db_instance_arn());
    assert_eq!(after.instance_create_time(), before.instance_create_time());
    assert_eq!(
        after.endpoint().and_then(|e| e.address()),
        before.endpoint().and_then(|e| e.address())
    );
    let source = describe(format!("{name}-primary")).await;
    assert!(source.read_replica_db_instance_identifiers().is_empty());
    assert!(run.plan(&promoted).is_empty());

    // And back: a primary is never made a replica; refused before any call.
    let (_, mutating) = run.calls();
    let err = run
        .attempt(&databases(&name, false), false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`db-replica` field `replicate_from`: a primary cannot become a read replica"),
        "{err}"
    );
    assert_eq!(run.calls().1, mutating, "no mutating call");
    run.destroy(&promoted).await;
}
