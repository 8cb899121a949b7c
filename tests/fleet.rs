//! Stack references and fleets against the emulator: the five environments and
//! the disaster-recovery stack as one fleet over an S3 backend (each regional stack's read replica in its own VPC,
//! made from the primary's ARN read through a stack reference), applied in
//! dependency order, re-planned to no changes, and destroyed in reverse order.
//! Nothing here skips: without an endpoint, it fails.

mod common;

use glinfra::aws::backend::{init, S3Location};
use glinfra::engine::LeaseConfig;
use glinfra::fleet::{Fleet, StackOutcome, StackPlan, StackRun, Unobserved};
use glinfra::{BackendUrl, Session};
use greenlang_agent_factory::config::Environment;
use greenlang_agent_factory::recovery;
use std::time::Instant;

/// The five environments renamed for this test; the regional stacks reference the
/// renamed prod-us-east-1.
fn environments() -> Vec<Environment> {
    let primary = common::environment_from("prod-us-east-1", "fleet");
    let mut envs = vec![primary.clone()];
    for file in [
        "prod-eu-west-1",
        "prod-ap-southeast-1",
        "staging-us-east-1",
        "dev-us-east-1",
    ] {
        let mut env = common::environment_from(file, "fleet");
        if let Some(p) = env.primary.as_mut() {
            p.stack = primary.stack.name.clone();
        }
        envs.push(env);
    }
    envs
}

/// The disaster-recovery environment renamed for this test, reading `primary`.
fn recovery_env(primary: &str) -> recovery::RecoveryEnvironment {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/prod-us-west-2.toml");
    let mut env = recovery::load(&path).unwrap();
    let nonce = common::nonce();
    env.stack.name = format!("it-fleet-dr-{nonce}");
    env.stack.environment = format!("itflt-dr-{nonce}");
    env.stack.protect = false;
    common::account_services_off(&mut env.security_services);
    env.standby.primary_stack = primary.to_string();
    env.standby.deletion_protection = false;
    env.policy.rules.insert(
        glinfra::core::policy::Rule::DatabaseDeletionProtection,
        glinfra::core::Severity::Advisory,
    );
    env
}

fn say(verb: &str, run: &StackRun) {
    println!(
        "{verb} {}: {} from {:.1}s to {:.1}s ({:.1}s)",
        run.stack,
        match &run.outcome {
            StackOutcome::Applied { report, .. } => format!("{} operations", report.outcomes.len()),
            other => format!("{other:?}"),
        },
        run.started.as_secs_f64(),
        run.ended.as_secs_f64(),
        run.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_six_environments_as_one_fleet() {
    common::require_emulator();
    let started = Instant::now();
    let location: S3Location = format!("s3://gl-state-fleet-{}/fleet", common::nonce())
        .parse()
        .unwrap();
    let aws = glinfra::aws::AwsProvider::from_env().await;
    Box::pin(init(aws.clients(), &location, true, None))
        .await
        .unwrap();
    let session = Session::aws_with(&BackendUrl::S3(location), LeaseConfig::default()).await;
    let envs = environments();
    let names: Vec<String> = envs.iter().map(|e| e.stack.name.clone()).collect();
    let (primary, eu) = (names[0].clone(), names[1].clone());
    // And the disaster-recovery stack (prod-us-west-2.toml): the failover standby.
    let dr = recovery_env(&primary);
    let stacks = envs
        .iter()
        .map(|e| greenlang_agent_factory::stack_for(e).unwrap())
        .chain(std::iter::once({
            let stack = recovery::build(&dr, None).unwrap();
            let graph = glinfra::ResourceGraph::build(&stack).unwrap();
            (stack, graph)
        }));
    let fleet = Fleet::new(stacks).unwrap();
    assert_eq!(fleet.needs(&dr.stack.name), [primary.as_str()]);
    let order = fleet.order();
    let at = |n: &str| order.iter().position(|o| *o == n).unwrap();
    assert!(
        at(&primary) < at(&eu) && at(&primary) < at(&names[2]),
        "{order:?}"
    );
    assert_eq!(fleet.needs(&eu), [primary.as_str()]);

    // Before anything exists, the regional stacks wait for the primary's.
    let plans = fleet.plan(&session, true).await;
    for (name, plan) in &plans {
        match plan {
            StackPlan::Waits { on, .. } => assert_eq!(on, std::slice::from_ref(&primary), "{name}"),
            StackPlan::Planned(p) => assert!(!p.is_empty(), "{name}"),
            StackPlan::Failed(e) => panic!("{name}: {e}"),
        }
    }
    assert_eq!(
        plans
            .iter()
            .filter(|(_, p)| matches!(p, StackPlan::Waits { .. }))
            .count(),
        3
    );

    let report = fleet.apply(&session, true, &Unobserved).await;
    for run in &report.runs {
        say("applied", run);
    }
    assert!(report.is_success(), "{report:#?}");
    let first = report.run(&primary).unwrap();
    for regional in &names[1..3] {
        assert!(
            report.run(regional).unwrap().started >= first.ended,
            "{regional} after {primary}"
        );
    }
    let slowest = report.slowest().unwrap();
    println!(
        "fleet apply: {:.1}s for 6 stacks; slowest stack {} {:.1}s; sum of stacks {:.1}s",
        report.elapsed.as_secs_f64(),
        slowest.stack,
        slowest.elapsed().as_secs_f64(),
        report
            .runs
            .iter()
            .map(|r| r.elapsed().as_secs_f64())
            .sum::<f64>()
    );

    // eu-west-1's replica: in its own VPC's data subnets, behind its own security
    // group, with its own key, replicating the ARN prod-us-east-1 recorded.
    let primary_arn = session.recorded_outputs(&primary).await.unwrap().unwrap()["db_primary_arn"]
        .as_str()
        .unwrap()
        .to_string();
    let regional = session.read(&eu).await.unwrap().state;
    let out = |id: &str, o: &str| {
        regional.resources[id].outputs[o]
            .as_str()
            .unwrap()
            .to_string()
    };
    let rds = aws_sdk_rds::Client::from_conf(
        aws_sdk_rds::config::Builder::from(&common::sdk().await)
            .region(aws_sdk_rds::config::Region::new("eu-west-1"))
            .build(),
    );
    let replica = rds
        .describe_db_instances()
        .db_instance_identifier(out("db-replica", "identifier"))
        .send()
        .await
        .unwrap()
        .db_instances()[0]
        .clone();
    assert_eq!(
        replica.read_replica_source_db_instance_identifier(),
        Some(primary_arn.as_str())
    );
    let group = replica.db_subnet_group().unwrap();
    assert_eq!(
        group.db_subnet_group_name(),
        Some(out("db-subnets", "name").as_str())
    );
    assert_eq!(group.vpc_id(), Some(out("vpc", "id").as_str()));
    let sgs: Vec<&str> = replica
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .collect();
    assert_eq!(sgs, [out("sg-postgres", "id").as_str()]);
    assert_eq!(replica.kms_key_id(), Some(out("kms-data", "arn").as_str()));

    // The failover standby: a cross-region replica of the primary in its own VPC,
    // and the writer record naming the primary's endpoint.
    let standby_state = session.read(&dr.stack.name).await.unwrap().state;
    let dr_out = |id: &str, o: &str| {
        standby_state.resources[id].outputs[o]
            .as_str()
            .unwrap()
            .to_string()
    };
    let rds_west = aws_sdk_rds::Client::from_conf(
        aws_sdk_rds::config::Builder::from(&common::sdk().await)
            .region(aws_sdk_rds::config::Region::new("us-west-2"))
            .build(),
    );
    let standby = rds_west
        .describe_db_instances()
        .db_instance_identifier(dr_out(recovery::STANDBY, "identifier"))
        .send()
        .await
        .unwrap()
        .db_instances()[0]
        .clone();
    assert_eq!(
        standby.read_replica_source_db_instance_identifier(),
        Some(primary_arn.as_str())
    );
    assert_eq!(
        standby.db_subnet_group().and_then(|g| g.vpc_id()),
        Some(dr_out("vpc", "id").as_str())
    );
    assert_eq!(
        standby.kms_key_id(),
        Some(dr_out("kms-data", "arn").as_str())
    );
    assert_eq!(standby.backup_retention_period(), Some(0));

    // The latency records of every region in prod-us-east-1's zone, each region's
    // made by its own stack (in that zone through a stack reference).
    let zone = session.recorded_outputs(&primary).await.unwrap().unwrap()["zone_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r53 = aws_sdk_route53::Client::new(&common::sdk().await);
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    for (name, region) in [
        (&names[0], "us-east-1"),
        (&names[1], "eu-west-1"),
        (&names[2], "ap-southeast-1"),
    ] {
        let state = session.read(name).await.unwrap().state;
        let record = sets
            .resource_record_sets()
            .iter()
            .find(|r| r.name() == "api.greenlang.ai." && r.set_identifier() == Some(region))
            .unwrap_or_else(|| panic!("no api record for {region}"));
        assert_eq!(
            record.resource_records()[0].value(),
            format!("api.{region}.ingress.greenlang.ai")
        );
        assert_eq!(
            record.health_check_id(),
            state.resources[&format!("health-api-{region}")].outputs["id"].as_str()
        );
    }

    // Re-planned: nothing to change in any stack.
    let t = Instant::now();
    for (name, plan) in fleet.plan(&session, true).await {
        assert!(
            matches!(&plan, StackPlan::Planned(p) if p.is_empty()),
            "{name}: {plan:?}"
        );
    }
    println!("fleet re-plan: {:.1}s", t.elapsed().as_secs_f64());

    let destroyed = fleet.destroy(&session, true, &Unobserved).await;
    for run in &destroyed.runs {
        say("destroyed", run);
    }
    assert!(destroyed.is_success(), "{destroyed:#?}");
    let last = destroyed.run(&primary).unwrap();
    for regional in &names[1..3] {
        assert!(
            last.started >= destroyed.run(regional).unwrap().ended,
            "{primary} after {regional}"
        );
    }
    for name in &names {
        assert!(
            session.read(name).await.unwrap().state.resources.is_empty(),
            "{name}"
        );
    }
    println!(
        "fleet destroy: {:.1}s; whole test {:.1}s",
        destroyed.elapsed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
