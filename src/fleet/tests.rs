//! Stack references and fleets over the in-memory fake cloud, with local and
//! in-memory S3 backends.

use super::*;
use glinfra_core::spec::ec2::{SubnetSpec, VpcSpec};
use glinfra_core::spec::s3::BucketSpec;
use glinfra_core::Action;
use glinfra_engine::backend::object::MemoryStore;
use glinfra_engine::fake::{FakeCloud, FakeOp};
use glinfra_engine::{ErrorClass, ObjectBackend};
use std::time::Duration;

/// `net`: a VPC exporting its id (`cidr` chooses the VPC: another forces a new one).
fn net(cidr: &str) -> (Stack, ResourceGraph) {
    let mut stack = Stack::new("net", "us-east-1");
    let vpc = stack.add("vpc", VpcSpec::new(cidr));
    stack.export("vpc_id", vpc.id());
    let graph = ResourceGraph::build(&stack).unwrap();
    (stack, graph)
}

/// `app`: a subnet in `net`'s VPC, read through a stack reference.
fn app(cidr: &str) -> (Stack, ResourceGraph) {
    let mut stack = Stack::new("app", "us-east-1");
    let net = stack.reference("net");
    stack.add(
        "app-subnet",
        SubnetSpec::new(net.output("vpc_id"), cidr, "us-east-1a"),
    );
    let graph = ResourceGraph::build(&stack).unwrap();
    (stack, graph)
}

/// `other`: a bucket, independent of both.
fn other() -> (Stack, ResourceGraph) {
    let mut stack = Stack::new("other", "us-east-1");
    stack.add("other-bucket", BucketSpec::new("other-bucket-fleet"));
    let graph = ResourceGraph::build(&stack).unwrap();
    (stack, graph)
}

fn local(cloud: &Arc<FakeCloud>, dir: &tempfile::TempDir) -> Session {
    Session::with_provider(cloud.clone(), dir.path())
}

fn remote(cloud: &Arc<FakeCloud>, store: &MemoryStore) -> Session {
    Session::with_backend(
        cloud.clone(),
        Arc::new(ObjectBackend::new(Arc::new(store.connection()))),
    )
}

fn fake_id(cloud: &FakeCloud, logical_id: &str) -> serde_json::Value {
    cloud
        .resources()
        .into_iter()
        .find(|r| r.logical_id == logical_id)
        .map(|r| r.outputs["id"].clone())
        .unwrap_or_else(|| panic!("no `{logical_id}` in the cloud"))
}

async fn references_resolve_and_a_changed_output_shows(session: Session, cloud: &FakeCloud) {
    let (app_stack, _) = app("10.0.0.0/24");
    // Nothing applied yet: the reference names both stacks and the output.
    let err = session.resolve(&app_stack).await.unwrap_err();
    assert!(
        matches!(&err, Error::Reference(ReferenceError::NotApplied { stack, referenced, output })
            if stack == "app" && referenced == "net" && output == "vpc_id"),
        "{err}"
    );
    let fleet = Fleet::new([net("10.0.0.0/16")]).unwrap();
    assert!(fleet.apply(&session, false, &Unobserved).await.is_success());
    let vpc_id = fake_id(cloud, "vpc");
    let typed: String = session
        .stack_output(
            "app",
            &Stack::new("x", "us-east-1").reference("net"),
            "vpc_id",
        )
        .await
        .unwrap();
    assert_eq!(serde_json::Value::String(typed), vpc_id);
    let wrong = session
        .stack_output::<i64>(
            "app",
            &Stack::new("x", "us-east-1").reference("net"),
            "vpc_id",
        )
        .await
        .unwrap_err();
    assert!(matches!(wrong, Error::OutputType { .. }), "{wrong}");
    let missing = session
        .stack_output::<String>(
            "app",
            &Stack::new("x", "us-east-1").reference("net"),
            "db_arn",
        )
        .await
        .unwrap_err();
    assert!(
        missing.to_string().contains("it records: vpc_id"),
        "{missing}"
    );

    // The reference is a known value at plan time.
    let (_, graph) = session.resolve(&app_stack).await.unwrap();
    let subnet: SubnetSpec = graph.get("app-subnet").unwrap().spec().unwrap();
    assert_eq!(subnet.vpc_id.value().map(|v| v.as_str()), vpc_id.as_str());
    let fleet = Fleet::new([app("10.0.0.0/24")]).unwrap();
    assert!(fleet.apply(&session, false, &Unobserved).await.is_success());

    // The referenced stack's output changes: the dependent's plan shows it.
    let fleet = Fleet::new([net("10.1.0.0/16")]).unwrap();
    assert!(fleet.apply(&session, false, &Unobserved).await.is_success());
    assert_ne!(fake_id(cloud, "vpc"), vpc_id);
    let plans = Fleet::new([app("10.1.0.0/24")])
        .unwrap()
        .plan(&session, false)
        .await;
    let StackPlan::Planned(plan) = &plans[0].1 else {
        panic!("{:?}", plans[0].1)
    };
    let step = plan
        .steps
        .iter()
        .find(|s| s.resource == "app-subnet")
        .unwrap();
    assert_eq!(step.action, Action::Replace);
    assert!(
        step.changes.iter().any(|c| c.field == "vpc_id"),
        "{:?}",
        step.changes
    );
}

#[tokio::test]
async fn references_resolve_from_a_local_backend() {
    let cloud = Arc::new(FakeCloud::new());
    let dir = tempfile::tempdir().unwrap();
    references_resolve_and_a_changed_output_shows(local(&cloud, &dir), &cloud).await;
}

#[tokio::test]
async fn references_resolve_from_an_s3_backend() {
    let cloud = Arc::new(FakeCloud::new());
    let store = MemoryStore::new();
    references_resolve_and_a_changed_output_shows(remote(&cloud, &store), &cloud).await;
}

#[test]
fn a_fleet_is_ordered_by_its_references_and_refuses_cycles_and_duplicates() {
    let fleet = Fleet::new([app("10.0.0.0/24"), other(), net("10.0.0.0/16")]).unwrap();
    assert_eq!(fleet.order(), ["other", "net", "app"]);
    assert_eq!(fleet.needs("app"), ["net"]);
    assert_eq!(
        Fleet::new([net("10.0.0.0/16"), net("10.0.0.0/16")]).err(),
        Some(FleetError::Duplicate("net".into()))
    );
    let mut a = Stack::new("a", "us-east-1");
    a.reference("b");
    let mut b = Stack::new("b", "us-east-1");
    b.reference("a");
    let ga = ResourceGraph::build(&a).unwrap();
    let gb = ResourceGraph::build(&b).unwrap();
    assert_eq!(
        Fleet::new([(a, ga), (b, gb)]).err(),
        Some(FleetError::Cycle(vec!["a".into(), "b".into(), "a".into()]))
    );
}

#[tokio::test]
async fn a_fleet_applies_in_order_with_independent_stacks_at_once_and_destroys_in_reverse() {
    let cloud = Arc::new(FakeCloud::new());
    cloud.set_latency(Duration::from_millis(40));
    let store = MemoryStore::new();
    let session = remote(&cloud, &store);
    let fleet = Fleet::new([app("10.0.0.0/24"), other(), net("10.0.0.0/16")]).unwrap();

    // Before anything exists, `app` waits for `net`.
    let plans = fleet.plan(&session, true).await;
    let names: Vec<&str> = plans.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["other", "net", "app"]);
    assert!(
        matches!(&plans[2].1, StackPlan::Waits { on, .. } if on == &["net".to_string()]),
        "{:?}",
        plans[2].1
    );

    let report = fleet.apply(&session, true, &Unobserved).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.counts(), (3, 0, 0, 0));
    let (net_run, app_run, other_run) = (
        report.run("net").unwrap(),
        report.run("app").unwrap(),
        report.run("other").unwrap(),
    );
    assert!(app_run.started >= net_run.ended, "{report:?}");
    assert!(
        other_run.started < net_run.ended && net_run.started < other_run.ended,
        "independent stacks overlap: {report:?}"
    );
    assert!(report.elapsed < net_run.elapsed() + app_run.elapsed() + other_run.elapsed());

    // Re-planned: nothing to change anywhere.
    for (name, plan) in fleet.plan(&session, true).await {
        assert!(
            matches!(&plan, StackPlan::Planned(p) if p.is_empty()),
            "{name}: {plan:?}"
        );
    }
    let again = fleet.apply(&session, true, &Unobserved).await;
    assert_eq!(again.counts(), (0, 3, 0, 0));

    let destroyed = fleet.destroy(&session, true, &Unobserved).await;
    assert!(destroyed.is_success(), "{destroyed:?}");
    assert!(destroyed.run("net").unwrap().started >= destroyed.run("app").unwrap().ended);
    assert!(cloud.resources().is_empty(), "{:?}", cloud.resources());
    assert_eq!(
        session.recorded_outputs("net").await.unwrap(),
        Some(BTreeMap::new())
    );
}

#[tokio::test]
async fn a_failed_stack_stops_its_dependents_and_not_independent_stacks() {
    let cloud = Arc::new(FakeCloud::new());
    let dir = tempfile::tempdir().unwrap();
    let session = local(&cloud, &dir);
    cloud.fail("vpc", FakeOp::Create, ErrorClass::Fatal, 1);
    let fleet = Fleet::new([net("10.0.0.0/16"), app("10.0.0.0/24"), other()]).unwrap();
    let report = fleet.apply(&session, false, &Unobserved).await;
    assert!(!report.is_success());
    assert!(!report.run("net").unwrap().outcome.is_success());
    assert!(
        matches!(&report.run("app").unwrap().outcome, StackOutcome::Skipped { because } if because == "net"),
        "{report:?}"
    );
    assert!(report.run("other").unwrap().outcome.is_success());
    assert_eq!(report.counts(), (1, 0, 1, 1));
    assert_eq!(cloud.count("app", "app-subnet"), 0);

    // A refused consent is a failure too, with the same isolation.
    struct Refuse;
    impl FleetObserver for Refuse {
        fn approve(&self, stack: &Stack, _: &Plan, _: bool) -> Result<(), String> {
            if stack.name() == "net" {
                Err("no".into())
            } else {
                Ok(())
            }
        }
    }
    let report = fleet.apply(&session, false, &Refuse).await;
    assert!(matches!(&report.run("net").unwrap().outcome, StackOutcome::Failed(m) if m == "no"));
    assert!(matches!(
        report.run("app").unwrap().outcome,
        StackOutcome::Skipped { .. }
    ));
}

/// `name`: GuardDuty's detector in `region` (one per account and region).
fn detector(name: &str, region: &str) -> (Stack, ResourceGraph) {
    use glinfra_core::spec::guardduty::{FindingFrequency, GuardDutyDetectorSpec};
    let mut stack = Stack::new(name, region);
    stack.add(
        "guardduty",
        GuardDutyDetectorSpec {
            enable: true,
            finding_publishing_frequency: FindingFrequency::SixHours,
            features: vec![],
        },
    );
    let graph = ResourceGraph::build(&stack).unwrap();
    (stack, graph)
}

#[test]
fn a_fleet_refuses_two_stacks_claiming_what_aws_allows_once_per_account_and_region() {
    // Two regions: one detector each, as AWS allows.
    assert!(Fleet::new([detector("prod", "us-east-1"), detector("dr", "us-west-2")]).is_ok());
    // One region: the fleet runs with one set of credentials, so one account; the
    // second create could only fail. Refused before anything runs, naming both.
    let err = Fleet::new([
        detector("prod", "us-east-1"),
        net("10.0.0.0/16"),
        detector("staging", "us-east-1"),
    ])
    .err()
    .unwrap();
    assert_eq!(
        err,
        FleetError::OnePerAccount {
            kind: "aws:guardduty/detector".into(),
            place: "in us-east-1".into(),
            limit: "one per account and region",
            first: "prod".into(),
            second: "staging".into(),
        }
    );
    assert!(err.to_string().contains("switch it off"), "{err}");
}
