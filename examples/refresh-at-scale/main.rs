//! Refresh at scale, measured: a stack of many subnets, security groups and DNS
//! records is applied on the emulator, then refreshed the glinfra way (one batched
//! read per kind and region) and the way Terraform and Pulumi do it (one read per
//! resource, 10 at a time like `terraform -parallelism=10`), in the same run.
//!
//! `cargo run --example refresh-at-scale -- [SUBNETS GROUPS RECORDS]` (default 300
//! 300 1000), or `-- prod` for the whole prod-us-east-1 platform (100 resources in
//! four regions). Needs `AWS_ENDPOINT_URL` (`eval "$(localstack/up)"`). Prints calls
//! and seconds of each and their ratios; destroys what it made.

use glinfra::engine::NoObserver;
use glinfra::spec::ec2::{IpProtocol, SecurityGroupRule, SecurityGroupSpec, SubnetSpec, VpcSpec};
use glinfra::spec::route53::{HostedZoneSpec, RecordSetSpec, RecordType};
use glinfra::{ResourceGraph, Session, Stack};
use std::sync::Arc;
use std::time::Instant;

fn stack(name: &str, subnets: usize, groups: usize, records: usize) -> Stack {
    let mut stack = Stack::new(name, "us-east-1");
    stack.tag("purpose", "refresh-at-scale");
    let vpc = stack.add("vpc", VpcSpec::new("10.60.0.0/16"));
    for i in 0..subnets {
        // /26 subnets: 1,024 fit in the /16.
        let cidr = format!("10.60.{}.{}/26", i / 4, (i % 4) * 64);
        let zone = ["us-east-1a", "us-east-1b", "us-east-1c"][i % 3];
        stack.add(format!("subnet-{i}"), SubnetSpec::new(vpc.id(), cidr, zone));
    }
    for i in 0..groups {
        stack.add(
            format!("sg-{i}"),
            SecurityGroupSpec {
                vpc_id: vpc.id(),
                name: format!("{name}-sg-{i}"),
                description: format!("group {i}"),
                ingress: vec![SecurityGroupRule {
                    protocol: IpProtocol::Tcp,
                    from_port: 443,
                    to_port: 443,
                    cidr_blocks: vec!["10.60.0.0/16".into()],
                    description: "https".into(),
                }],
                egress: vec![],
            },
        );
    }
    let zone_name = format!("{name}.example.com");
    let zone = stack.add(
        "zone",
        HostedZoneSpec {
            name: zone_name.clone(),
            comment: "refresh at scale".into(),
        },
    );
    for i in 0..records {
        stack.add(
            format!("record-{i}"),
            RecordSetSpec {
                zone_id: zone.zone_id(),
                name: format!("host-{i}.{zone_name}"),
                record_type: RecordType::A,
                ttl: 300,
                records: vec![format!("10.60.{}.{}", i / 250, i % 250 + 1).into()],
                set_identifier: None,
                latency_region: None,
                health_check_id: None,
            },
        );
    }
    stack
}

fn count(arg: Option<String>, default: usize) -> usize {
    arg.and_then(|a| a.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "set AWS_ENDPOINT_URL to the emulator: eval \"$(localstack/up)\""
    );
    let mut args = std::env::args().skip(1).peekable();
    let name = format!("scale-{}", std::process::id());
    let prod = args.peek().map(String::as_str) == Some("prod");
    // For the platform, each resource read whole (as a refresh compares it); at scale,
    // the one Describe per subnet, group or record that returns every field.
    let how = if prod {
        glinfra::aws::ReadEach::FullRead
    } else {
        glinfra::aws::ReadEach::Lookup
    };
    let (stack, what) = if prod {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("environments/prod-us-east-1.toml");
        let mut env = greenlang_agent_factory::load(&path).expect("the prod environment");
        env.stack.name = name.clone();
        env.stack.environment = format!("scale{}", std::process::id());
        env.stack.protect = false;
        env.storage.force_destroy = true;
        if let Some(db) = env.database.as_mut() {
            db.deletion_protection = false;
        }
        // A throwaway copy, destroyed at the end: its policy says so, as a user's would.
        env.policy.rules.insert(
            glinfra::core::policy::Rule::DatabaseDeletionProtection,
            glinfra::core::Severity::Advisory,
        );
        let (stack, _) = greenlang_agent_factory::stack_for(&env)
            .unwrap_or_else(|d| panic!("the prod platform, made deletable, is refused:\n{d}"));
        (stack, "the prod-us-east-1 platform".to_string())
    } else {
        let (subnets, groups, records) = (
            count(args.next(), 300),
            count(args.next(), 300),
            count(args.next(), 1000),
        );
        (
            stack(&name, subnets, groups, records),
            format!("{subnets} subnets, {groups} security groups, {records} records"),
        )
    };
    let graph = ResourceGraph::build(&stack).expect("a valid stack");
    let dir = tempfile::tempdir().unwrap();
    let session = Session::aws(dir.path()).await;
    let calls = || session.aws_provider().unwrap().api_calls().total;
    let lock = session.lock(&name).await.unwrap();

    let started = Instant::now();
    let plan = session.plan(&lock, &graph).await.unwrap();
    let report = session
        .apply(lock.clone(), &plan, Arc::new(NoObserver))
        .await
        .unwrap();
    assert!(report.is_success(), "apply failed: {report:?}");
    let n = stack.declarations().len();
    println!(
        "applied {n} resources ({what}) in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let before = calls();
    let started = Instant::now();
    let (refreshed, stats) = session.refresh(&lock, &graph, false).await.unwrap();
    let batched = (calls() - before, started.elapsed().as_secs_f64());
    assert!(
        refreshed.drift.is_empty(),
        "drift on a fresh apply: {:?}",
        refreshed.drift
    );
    assert_eq!(stats.observed, n, "every resource observed");

    println!(
        "  batched (glinfra):         {:>5} calls  {:>6.2}s",
        batched.0, batched.1
    );
    let before = calls();
    let started = Instant::now();
    let state = session.state(&lock).await.unwrap();
    let per_resource = glinfra::aws::read_each(session.aws_provider().unwrap(), &state, 10, how)
        .await
        .unwrap();
    let one_by_one = (calls() - before, started.elapsed().as_secs_f64());
    assert_eq!(per_resource, n);

    println!("refresh of {n} resources, same run: see the batched line above");
    println!(
        "  one read per resource:     {:>5} calls  {:>6.2}s  (10 in flight, {how:?})",
        one_by_one.0, one_by_one.1
    );
    println!(
        "  ratio: {:.1}x fewer calls, {:.1}x less time",
        one_by_one.0 as f64 / batched.0.max(1) as f64,
        one_by_one.1 / batched.1.max(1e-9)
    );

    let destroy = session.plan_destroy(&lock).await.unwrap();
    let report = session
        .apply(lock, &destroy, Arc::new(NoObserver))
        .await
        .unwrap();
    assert!(report.is_success(), "destroy failed");
}
