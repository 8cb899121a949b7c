//! The failover drill on the emulator (seed 5.2, 5.3): a primary stack and the
//! disaster-recovery stack of `environments/prod-us-west-2.toml` (renamed for the
//! test), failed over to us-west-2: the standby is a standalone primary, the writer
//! record names it, and a re-plan of the new layout is clean. Prints the drill's wall
//! time and API calls. Nothing here skips: without an emulator this fails.

mod common;

use common::{nonce, sdk, Run};
use glinfra::core::policy::Rule;
use glinfra::core::Severity;
use glinfra::engine::NoObserver;
use glinfra::spec::ec2::{SubnetSpec, VpcSpec};
use glinfra::spec::kms::KmsKeySpec;
use glinfra::spec::rds::{DbEngine, DbInstanceSpec, DbSubnetGroupSpec, StorageType};
use glinfra::spec::route53::HostedZoneSpec;
use glinfra::{Error, FailoverError, Input, ResourceGraph, Session, Stack};
use greenlang_agent_factory::recovery::{self, RecoveryEnvironment, STANDBY, WRITER_RECORD};
use std::sync::Arc;
use std::time::Instant;

const DR_REGION: &str = "us-west-2";

/// The primary's side, small: a VPC, a subnet group, an encrypted PostgreSQL 15
/// primary with backups, and the zone; exporting what the DR stack reads.
fn primary(name: &str, zone: &str) -> Stack {
    let mut stack = Stack::new(name, common::REGION);
    let vpc = stack.add("vpc", VpcSpec::new("10.44.0.0/16"));
    let subnets: Vec<Input<String>> = ["us-east-1a", "us-east-1b"]
        .iter()
        .enumerate()
        .map(|(i, z)| {
            stack
                .add(
                    format!("subnet-{i}"),
                    SubnetSpec::new(vpc.id(), format!("10.44.{i}.0/24"), *z),
                )
                .id()
        })
        .collect();
    let group = stack.add(
        "db-subnets",
        DbSubnetGroupSpec {
            vpc_id: Some(vpc.id()),
            name: format!("{name}-db"),
            description: "primary".into(),
            subnet_ids: subnets,
        },
    );
    let key = stack.add("kms-data", KmsKeySpec::new(format!("{name}-data"), "data"));
    let db = stack.add(
        "db-primary",
        DbInstanceSpec {
            identifier: format!("{name}-primary"),
            engine: DbEngine::Postgres,
            engine_version: "15".into(),
            instance_class: "db.r6g.large".into(),
            allocated_storage: 100,
            storage_type: StorageType::Gp3,
            iops: None,
            storage_encrypted: true,
            kms_key_id: Some(key.arn()),
            multi_az: false,
            availability_zone: None,
            backup_retention_days: 7,
            maintenance_window: "sun:03:00-sun:04:00".into(),
            deletion_protection: false,
            vpc_id: Some(vpc.id()),
            db_subnet_group_name: Some(group.name()),
            parameter_group_name: None,
            vpc_security_group_ids: Vec::new(),
            master_username: Some("greenlang".into()),
            manage_master_user_password: false,
            replicate_from: None,
        },
    );
    let zone = stack.add(
        "zone",
        HostedZoneSpec {
            name: zone.into(),
            comment: "failover drill".into(),
        },
    );
    stack.export("db_primary_arn", db.arn());
    stack.export("db_primary_endpoint", db.endpoint());
    stack.export("zone_id", zone.zone_id());
    stack
}

/// The shipped DR environment, renamed for this run, its storage the primary's,
/// deletable.
fn recovery_env(primary: &str, nonce: &str, zone: &str) -> RecoveryEnvironment {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/prod-us-west-2.toml");
    let mut env = recovery::load(&path).unwrap();
    assert_eq!(env.stack.region, DR_REGION);
    env.stack.name = format!("it-dr-{nonce}");
    env.stack.environment = format!("itdr-{nonce}");
    env.stack.protect = false;
    common::account_services_off(&mut env.security_services);
    env.standby.primary_stack = primary.into();
    env.standby.instance_class = "db.r6g.large".into();
    env.standby.storage_type = StorageType::Gp3;
    env.standby.allocated_storage_gb = 100;
    env.standby.iops = None;
    env.standby.deletion_protection = false;
    env.policy
        .rules
        .insert(Rule::DatabaseDeletionProtection, Severity::Advisory);
    env.dns.zone = zone.into();
    env
}

async fn resolved(session: &Session, env: &RecoveryEnvironment) -> (Stack, ResourceGraph) {
    session
        .resolve(&recovery::build(env, None).unwrap())
        .await
        .unwrap()
}

async fn record_outputs(run: &Run, stack: &Stack) {
    let lock = run.session.lock(stack.name()).await.unwrap();
    run.session.record_outputs(&lock, stack).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn failover_promotes_the_standby_moves_dns_and_replans_clean() {
    let nonce = nonce();
    let zone = format!("drill-{nonce}.example.com");
    let run = Run::new().await;
    let primary = primary(&format!("it-primary-{nonce}"), &zone);
    run.up(&primary).await;
    record_outputs(&run, &primary).await;
    let env = recovery_env(primary.name(), &nonce, &zone);
    let (dr, _) = resolved(&run.session, &env).await;
    run.up(&dr).await;
    record_outputs(&run, &dr).await;
    let conf = sdk().await;
    let rds_west = aws_sdk_rds::Client::from_conf(
        aws_sdk_rds::config::Builder::from(&conf)
            .region(aws_sdk_rds::config::Region::new(DR_REGION))
            .build(),
    );
    let rds_east = aws_sdk_rds::Client::new(&conf);
    let standby_id = format!("greenlang-{}-standby", env.stack.environment);
    let describe = |client: aws_sdk_rds::Client, id: String| async move {
        client
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .unwrap()
            .db_instances()[0]
            .clone()
    };
    let before = describe(rds_west.clone(), standby_id.clone()).await;
    assert!(before
        .read_replica_source_db_instance_identifier()
        .is_some_and(|s| s.contains(&format!("{}-primary", primary.name()))));

    // The drill: plan the failed-over layout, refuse it unconfirmed, apply it confirmed.
    let started = Instant::now();
    let (calls0, mutating0) = run.calls();
    let failed_over = env.failed_over_to(DR_REGION).unwrap();
    let (_, graph) = resolved(&run.session, &failed_over).await;
    let lock = run.session.lock(&env.stack.name).await.unwrap();
    let failover = run.session.plan_failover(&lock, &graph).await.unwrap();
    assert_eq!(failover.promotions, [STANDBY]);
    assert_eq!(
        failover
            .records
            .iter()
            .map(|r| r.0.as_str())
            .collect::<Vec<_>>(),
        [WRITER_RECORD]
    );
    let (_, mutating) = run.calls();
    let refused = run
        .session
        .failover(lock.clone(), &failover, None, Arc::new(NoObserver))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::Failover(FailoverError::NotConfirmed { .. })),
        "{refused}"
    );
    let refused = run
        .session
        .failover(
            lock.clone(),
            &failover,
            Some("prod-us-east-1"),
            Arc::new(NoObserver),
        )
        .await
        .unwrap_err();
    assert!(refused
        .to_string()
        .contains(&format!("--confirm {}", env.stack.name)));
    assert_eq!(run.calls().1, mutating, "a refused failover makes no call");
    let report = run
        .session
        .failover(lock, &failover, Some(&env.stack.name), Arc::new(NoObserver))
        .await
        .unwrap();
    assert!(report.is_success(), "{report:?}");
    let wall = started.elapsed();
    let (calls1, mutating1) = run.calls();
    println!(
        "failover drill: {:.1}s wall, {} AWS API calls ({} mutating), plan to promoted primary and moved record",
        wall.as_secs_f64(),
        calls1 - calls0,
        mutating1 - mutating0
    );

    // Read back through the AWS APIs: a standalone primary, the record on it.
    let after = describe(rds_west.clone(), standby_id.clone()).await;
    assert_eq!(after.read_replica_source_db_instance_identifier(), None);
    assert_eq!(after.backup_retention_period(), Some(30));
    assert_eq!(after.db_instance_status(), Some("available"));
    assert_eq!(after.db_instance_arn(), before.db_instance_arn());
    let source = describe(rds_east, format!("{}-primary", primary.name())).await;
    assert!(!source
        .read_replica_db_instance_identifiers()
        .iter()
        .any(|r| r.contains(&standby_id)));
    let endpoint = after
        .endpoint()
        .and_then(|e| e.address())
        .unwrap()
        .to_string();
    let r53 = aws_sdk_route53::Client::new(&conf);
    let zone_id = run.outputs(&primary)["zone.zone_id"].clone();
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .send()
        .await
        .unwrap();
    let writer = sets
        .resource_record_sets()
        .iter()
        .find(|s| s.name().trim_end_matches('.') == format!("db.{zone}"))
        .expect("the writer record");
    let values: Vec<&str> = writer
        .resource_records()
        .iter()
        .map(|r| r.value())
        .collect();
    assert_eq!(values, [endpoint.as_str()]);

    // The program changed as the verb says (`primary_region = "us-west-2"`): clean.
    let (new_layout, _) = resolved(&run.session, &failed_over).await;
    let replan = run.plan_live(&new_layout).await;
    assert!(replan.is_empty(), "{}", glinfra::render::text(&replan));
    // Not changed: refused (a primary never becomes a replica again), not applied.
    let (old_layout, _) = resolved(&run.session, &env).await;
    let stale = run.plan_live(&old_layout).await;
    let refused = glinfra::core::safety::refusals(&stale);
    assert!(
        refused.iter().any(|r| r.resource == STANDBY),
        "{}",
        glinfra::render::text(&stale)
    );

    run.destroy(&new_layout).await;
    run.destroy(&primary).await;
}
