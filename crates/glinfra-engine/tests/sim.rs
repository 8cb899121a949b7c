//! The simulated AWS account: latencies on tokio's paused clock, its services'
//! rate limits answered with their own throttling errors, eventual consistency;
//! and the critical-path scheduler's order measured in it.

use glinfra_core::spec::ec2::{SecurityGroupSpec, SubnetSpec, VpcSpec};
use glinfra_core::spec::msk::MskConfigurationSpec;
use glinfra_core::spec::rds::{DbEngine, DbInstanceSpec, DbSubnetGroupSpec, StorageType};
use glinfra_core::spec::s3::BucketSpec;
use glinfra_core::{plan::plan, ResourceGraph, Stack, State, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::sim::{SimCloud, SimConfig};
use glinfra_engine::timing::{latency, CallClass, Change, Latency, Profile, Service, Variant};
use glinfra_engine::{
    apply, ApplyOptions, ErrorClass, Event, LocalStateStore, Observer, Provider, ResolvedResource,
    Scheduler,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

fn resource(kind: &str, id: &str, region: &str, props: serde_json::Value) -> ResolvedResource {
    ResolvedResource {
        stack: "s".into(),
        id: id.into(),
        kind: glinfra_core::Kind::from_name(kind).unwrap(),
        region: region.into(),
        props,
        tags: BTreeMap::from([
            (TAG_STACK.to_string(), "s".to_string()),
            (TAG_LOGICAL_ID.to_string(), id.to_string()),
        ]),
        superseded: BTreeSet::new(),
        token: None,
    }
}

fn quiet() -> SimConfig {
    SimConfig {
        seed: 7,
        visibility: Latency { min: 0.0, max: 0.0 },
        round_trip: Latency { min: 0.0, max: 0.0 },
        ..SimConfig::default()
    }
}

/// An MSK cluster takes its twenty to forty minutes of simulated time, in
/// milliseconds of real time, and is found once made.
#[tokio::test(start_paused = true)]
async fn a_create_takes_its_drawn_latency_on_the_paused_clock() {
    let sim = SimCloud::new(quiet());
    let msk = resource("aws:msk/cluster", "kafka", "us-east-1", json!({}));
    let profile = Profile {
        kind: msk.kind,
        change: Change::Create,
        variant: Variant::Plain,
    };
    let drawn = sim.latency("s", "kafka", profile);
    assert!(
        (1200.0..=2400.0).contains(&drawn.as_secs_f64()),
        "{drawn:?}"
    );
    let real = std::time::Instant::now();
    let t0 = Instant::now();
    assert_eq!(sim.find(&msk).await.unwrap(), None);
    sim.create(&msk).await.unwrap();
    let took = t0.elapsed();
    assert!(
        took >= drawn && took <= drawn + Duration::from_secs(10),
        "ready at {drawn:?}, noticed at {took:?} (polls at most 10 s apart)"
    );
    assert!(
        real.elapsed() < Duration::from_secs(5),
        "{:?}",
        real.elapsed()
    );
    assert!(sim.find(&msk).await.unwrap().is_some());
    // The same draw again: the same latency; another seed: another.
    let again = SimCloud::new(quiet());
    assert_eq!(again.latency("s", "kafka", profile), drawn);
    let other = SimCloud::new(SimConfig { seed: 8, ..quiet() });
    assert_ne!(other.latency("s", "kafka", profile), drawn);
}

/// A new resource is not found by a describe for a short while: a find racing
/// the create misses it, and the create's own wait lasts until it is visible.
#[tokio::test(start_paused = true)]
async fn a_new_resource_is_invisible_for_a_while() {
    let sim = Arc::new(SimCloud::new(SimConfig {
        visibility: Latency { min: 8.0, max: 8.0 },
        ..quiet()
    }));
    let sg = resource("aws:ec2/security-group", "sg", "us-east-1", json!({}));
    let t0 = Instant::now();
    let creating = tokio::spawn({
        let (sim, sg) = (sim.clone(), sg.clone());
        async move { sim.create(&sg).await }
    });
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(sim.resources(), 1, "made");
    assert_eq!(sim.find(&sg).await.unwrap(), None, "but not visible yet");
    creating.await.unwrap().unwrap();
    assert!(t0.elapsed() >= Duration::from_secs(8), "{:?}", t0.elapsed());
    assert!(sim.find(&sg).await.unwrap().is_some());
}

/// Past its bucket, each service answers with its own throttling code,
/// classified Throttled, and counts it.
#[tokio::test(start_paused = true)]
async fn throttled_requests_get_the_services_own_error() {
    let sim = Arc::new(SimCloud::new(quiet()));
    let mut tasks = Vec::new();
    for i in 0..60 {
        let sim = sim.clone();
        let sg = resource(
            "aws:ec2/security-group",
            &format!("sg-{i}"),
            "us-east-1",
            json!({}),
        );
        tasks.push(tokio::spawn(async move { sim.create(&sg).await }));
    }
    let mut throttled = 0;
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            assert_eq!(e.class, ErrorClass::Throttled);
            assert_eq!(e.code.as_deref(), Some("RequestLimitExceeded"));
            assert_eq!(e.operation.as_deref(), Some("CreateSecurityGroup"));
            throttled += 1;
        }
    }
    assert_eq!(throttled, 10, "EC2's mutating bucket holds 50");
    let ec2 = sim.stats().by_service[&(Service::Ec2, CallClass::Mutate)];
    assert_eq!((ec2.calls, ec2.throttled), (60, 10));

    let mut errors = Vec::new();
    for i in 0..6 {
        let zone = resource(
            "aws:route53/hosted-zone",
            &format!("z{i}"),
            "us-east-1",
            json!({}),
        );
        if let Err(e) = sim.find(&zone).await {
            errors.push(e);
        }
    }
    assert_eq!(errors.len(), 1, "Route 53: five a second");
    assert_eq!(errors[0].code.as_deref(), Some("Throttling"));
    assert_eq!(sim.stats().total().throttled, 11);
}

/// Records which operations started, in order.
#[derive(Default)]
struct Starts(Mutex<Vec<String>>);

impl Observer for Starts {
    fn event(&self, event: &Event) {
        if let Event::Started { resource, .. } = event {
            self.0.lock().unwrap().push(resource.clone());
        }
    }
}

/// Quick resources declared first, then the long chain VPC → subnet → DB
/// subnet group → RDS instance. One call in flight at a time: the critical-path
/// scheduler starts the chain first and, holding no slot while the instance
/// creates, finishes near the chain's length; the baseline starts in
/// declaration order and holds its one slot through the instance's wait.
#[tokio::test(start_paused = true)]
async fn the_longest_remaining_path_starts_first() {
    let mut stack = Stack::new("s", "us-east-1");
    for i in 0..5 {
        stack.add(
            format!("bucket-{i}"),
            BucketSpec::new(format!("glinfra-sim-bucket-{i}")),
        );
        stack.add(
            format!("kafka-config-{i}"),
            MskConfigurationSpec {
                name: format!("c{i}"),
                kafka_versions: vec!["3.5.1".into()],
                server_properties: BTreeMap::new(),
            },
        );
    }
    let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    let a = stack.add(
        "subnet-a",
        SubnetSpec::new(vpc.id(), "10.0.0.0/20", "us-east-1a"),
    );
    let b = stack.add(
        "subnet-b",
        SubnetSpec::new(vpc.id(), "10.0.16.0/20", "us-east-1b"),
    );
    let group = stack.add(
        "db-subnets",
        DbSubnetGroupSpec {
            vpc_id: Some(vpc.id()),
            name: "db".into(),
            description: "db".into(),
            subnet_ids: vec![a.id(), b.id()],
        },
    );
    stack.add(
        "sg",
        SecurityGroupSpec {
            vpc_id: vpc.id(),
            name: "sg".into(),
            description: "a group".into(),
            ingress: vec![],
            egress: vec![],
        },
    );
    stack.add(
        "db",
        DbInstanceSpec {
            identifier: "db".into(),
            engine: DbEngine::Postgres,
            engine_version: "15".into(),
            instance_class: "db.r6g.large".into(),
            allocated_storage: 100,
            storage_type: StorageType::Gp3,
            iops: None,
            storage_encrypted: true,
            kms_key_id: None,
            multi_az: true,
            backup_retention_days: 7,
            maintenance_window: "sun:03:00-sun:04:00".into(),
            deletion_protection: false,
            db_subnet_group_name: Some(group.name()),
            parameter_group_name: None,
            vpc_security_group_ids: vec![],
            master_username: Some("admin_user".into()),
            manage_master_user_password: true,
            replicate_from: None,
            availability_zone: None,
            vpc_id: Some(vpc.id()),
        },
    );
    let graph = ResourceGraph::build(&stack).unwrap();
    let rds = latency(
        glinfra_core::Kind::from_name("aws:rds/db-instance").unwrap(),
        Change::Create,
        Variant::Plain,
    );

    let mut makespans = Vec::new();
    for scheduler in [Scheduler::default(), Scheduler::Baseline] {
        let dir = tempfile::tempdir().unwrap();
        let lock = Arc::new(LocalStateStore::new(dir.path()).lock("s").unwrap());
        let p = plan(&graph, &State::empty("s"));
        let sim = Arc::new(SimCloud::new(quiet()));
        let starts = Arc::new(Starts::default());
        let timeline = glinfra_engine::Timeline::new();
        let t0 = Instant::now();
        let report = apply(
            sim.clone(),
            lock,
            &p,
            ApplyOptions {
                concurrency: 1,
                scheduler: scheduler.clone(),
                timeline: Some(timeline.clone()),
                ..ApplyOptions::default()
            },
            starts.clone(),
        )
        .await
        .unwrap();
        assert!(report
            .outcomes
            .iter()
            .all(|o| o.status == glinfra_engine::OpStatus::Succeeded));
        let order = starts.0.lock().unwrap().clone();
        match scheduler {
            Scheduler::Baseline => assert_eq!(order[0], "bucket-0", "{order:?}"),
            // The rest start while the vpc is being made (a wait holds no slot).
            Scheduler::CriticalPath(_) => assert_eq!(order[0], "vpc", "{order:?}"),
        }
        makespans.push(t0.elapsed());
        // The timeline: every operation, the instance's wait, the chain as the critical path.
        let bars = timeline.bars();
        assert_eq!(bars.len(), p.steps.len());
        let db = bars.iter().find(|b| b.resource == "db").unwrap();
        let waited: f64 = db.waits.iter().map(|(a, b)| b - a).sum();
        assert!(waited >= rds.min, "{db:?}");
        let svg = timeline.svg(&p);
        assert!(
            svg.contains("critical path (red): vpc → subnet-")
                && svg.contains("→ db-subnets → db<"),
            "{}",
            svg.lines().nth(1).unwrap_or_default()
        );
        assert!(svg.matches("<rect").count() >= p.steps.len());
    }
    let (current, baseline) = (makespans[0].as_secs_f64(), makespans[1].as_secs_f64());
    assert!(
        current < rds.max + 20.0,
        "the critical path and a little: {current}"
    );
    assert!(
        baseline > current + 10.0,
        "baseline {baseline} vs {current}"
    );
}
