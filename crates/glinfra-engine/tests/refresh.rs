//! Refresh against the in-memory fake cloud: resources changed, deleted or left
//! behind outside glinfra are seen, planned for, and repaired; another stack's
//! resources are never touched; a refresh that cannot read refuses to conclude.

use glinfra_core::plan::{plan, plan_destroy};
use glinfra_core::refresh::annotate;
use glinfra_core::spec::ec2::*;
use glinfra_core::spec::s3::BucketSpec;
use glinfra_core::{Action, DriftKind, Fate, Plan, Reason, Refreshed, ResourceGraph, Stack};
use glinfra_engine::fake::{FakeCloud, FakeOp};
use glinfra_engine::{
    apply, refresh, ApplyOptions, ErrorClass, LocalStateStore, NoObserver, Program, RefreshOptions,
    RetryPolicy, StackLock,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn stack(name: &str) -> Stack {
    let mut stack = Stack::new(name, "us-east-1");
    let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    let rt = stack.add("rt", RouteTableSpec { vpc_id: vpc.id() });
    let subnet = stack.add(
        "subnet",
        SubnetSpec::new(vpc.id(), "10.0.0.0/20", "us-east-1a"),
    );
    stack.add(
        "rta",
        RouteTableAssociationSpec {
            route_table_id: rt.id(),
            subnet_id: subnet.id(),
        },
    );
    let mut bucket = BucketSpec::new(format!("{name}-bucket"));
    bucket.versioning = true;
    stack.add("bucket", bucket);
    stack
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    }
}

struct World {
    dir: tempfile::TempDir,
    cloud: Arc<FakeCloud>,
}

impl World {
    fn new() -> World {
        World {
            dir: tempfile::tempdir().unwrap(),
            cloud: Arc::new(FakeCloud::new()),
        }
    }

    fn lock(&self, name: &str) -> Arc<StackLock> {
        Arc::new(LocalStateStore::new(self.dir.path()).lock(name).unwrap())
    }

    /// Refreshes against the program `stack` (`keep` false: for a destroy).
    async fn refresh(&self, lock: &StackLock, stack: &Stack, keep: bool) -> Refreshed {
        let graph = ResourceGraph::build(stack).unwrap();
        let program = Program::of(
            graph.in_order().map(|d| (&d.id, d.kind, d.region.as_str())),
            keep,
        );
        let options = RefreshOptions {
            concurrency: 4,
            retry: retry(),
        };
        let (r, _) = refresh(
            self.cloud.clone(),
            &lock.load().await.unwrap(),
            &program,
            &options,
        )
        .await
        .unwrap();
        r
    }

    /// What `apply` does: refresh, record it, plan from it, apply. Returns the plan.
    async fn up(&self, stack: &Stack) -> Plan {
        self.converge(stack, true).await
    }

    async fn destroy(&self, stack: &Stack) -> Plan {
        self.converge(stack, false).await
    }

    async fn converge(&self, stack: &Stack, keep: bool) -> Plan {
        let lock = self.lock(stack.name());
        let r = self.refresh(&lock, stack, keep).await;
        lock.save(&r.state).await.unwrap();
        let mut p = if keep {
            plan(&ResourceGraph::build(stack).unwrap(), &r.state)
        } else {
            plan_destroy(&r.state)
        };
        annotate(&mut p, &r.drift);
        let options = ApplyOptions {
            retry: retry(),
            ..ApplyOptions::default()
        };
        let report = apply(self.cloud.clone(), lock, &p, options, Arc::new(NoObserver))
            .await
            .unwrap();
        assert!(report.is_success(), "{report:?}");
        p
    }

    fn live(&self, id: &str) -> serde_json::Value {
        let found: Vec<_> = self
            .cloud
            .resources()
            .into_iter()
            .filter(|r| r.logical_id == id)
            .collect();
        assert_eq!(found.len(), 1, "{id}: {found:?}");
        found[0].props.clone()
    }
}

#[tokio::test]
async fn a_no_op_refresh_reads_each_kind_and_region_once_and_finds_nothing() {
    let world = World::new();
    let s = stack("one");
    world.up(&s).await;
    let before = world.cloud.calls().len();
    let lock = world.lock("one");
    let r = world.refresh(&lock, &s, true).await;
    assert!(r.drift.is_empty(), "{:?}", r.drift);
    let calls = &world.cloud.calls()[before..];
    // vpc, route table, subnet, association, bucket: five kinds in one region.
    assert_eq!(calls.len(), 5, "{calls:?}");
    assert!(calls.iter().all(|(op, _)| *op == FakeOp::Observe));
    assert_eq!(r.state, lock.load().await.unwrap(), "nothing to record");
}

#[tokio::test]
async fn a_field_changed_outside_is_shown_and_put_back() {
    let world = World::new();
    let s = stack("one");
    world.up(&s).await;
    world.cloud.tamper("bucket", "versioning", json!(false));
    let p = world.up(&s).await;
    assert_eq!(p.drift.len(), 1);
    assert!(
        matches!(&p.drift[0].what, DriftKind::Changed { changes } if changes[0].field == "versioning")
    );
    let step = p.step("bucket").unwrap();
    assert_eq!(
        (step.action, step.reason),
        (Action::Update, Some(Reason::ChangedOutside))
    );
    assert_eq!(world.live("bucket")["versioning"], json!(true));
    assert!(world.up(&s).await.is_empty(), "converged");
}

#[tokio::test]
async fn a_resource_deleted_outside_is_created_again_with_its_dependents() {
    let world = World::new();
    let s = stack("one");
    world.up(&s).await;
    let old_subnet = world
        .cloud
        .resources()
        .into_iter()
        .find(|r| r.logical_id == "subnet")
        .unwrap();
    world.cloud.delete_behind("subnet");
    let p = world.up(&s).await;
    assert_eq!(p.drift.len(), 1);
    assert_eq!(p.drift[0].what, DriftKind::Deleted);
    let subnet = p.step("subnet").unwrap();
    assert_eq!(
        (subnet.action, subnet.reason),
        (Action::Create, Some(Reason::DeletedOutside))
    );
    // The association named the old subnet: it cannot move, so it is replaced.
    assert_eq!(p.step("rta").unwrap().action, Action::Replace);
    let new_subnet = world
        .cloud
        .resources()
        .into_iter()
        .find(|r| r.logical_id == "subnet")
        .unwrap();
    assert_ne!(new_subnet.outputs, old_subnet.outputs);
    assert_eq!(world.live("rta")["subnet_id"], new_subnet.outputs["id"]);
    assert!(world.up(&s).await.is_empty(), "converged");
}

#[tokio::test]
async fn after_the_cloud_forgets_everything_the_next_run_converges() {
    let world = World::new();
    let s = stack("one");
    world.up(&s).await;
    world.cloud.wipe();
    let p = world.up(&s).await;
    assert_eq!(p.drift.len(), 5);
    assert_eq!(p.summary.create, 5, "{}", glinfra_core::render::text(&p));
    assert_eq!(world.cloud.resources().len(), 5);
    assert!(world.up(&s).await.is_empty());
}

#[tokio::test]
async fn after_state_is_lost_what_carries_the_tags_is_adopted_not_duplicated() {
    let world = World::new();
    let s = stack("one");
    world.up(&s).await;
    let lock = world.lock("one");
    lock.save(&glinfra_core::State::empty("one")).await.unwrap();
    drop(lock);
    let p = world.up(&s).await;
    assert_eq!(p.drift.len(), 5);
    assert!(p.drift.iter().all(|d| matches!(
        d.what,
        DriftKind::Unmanaged {
            fate: Fate::Adopt,
            ..
        }
    )));
    assert!(p
        .steps
        .iter()
        .all(|st| st.reason == Some(Reason::Unmanaged)));
    assert_eq!(
        world.cloud.resources().len(),
        5,
        "adopted, not created again"
    );
    assert!(world.up(&s).await.is_empty());
}

#[tokio::test]
async fn a_tagged_resource_the_program_no_longer_declares_is_deleted_and_only_that_one() {
    let world = World::new();
    let s = stack("one");
    world.up(&s).await;
    world.up(&stack("two")).await;
    // State of `one` lost after the bucket was dropped from the program.
    let lock = world.lock("one");
    lock.save(&glinfra_core::State::empty("one")).await.unwrap();
    drop(lock);
    // The program kept the VPC and a new bucket; the old bucket is not declared.
    let mut smaller = Stack::new("one", "us-east-1");
    smaller.add("vpc", VpcSpec::new("10.0.0.0/16"));
    smaller.add("bucket-2", BucketSpec::new("one-bucket-2"));
    let p = world.up(&smaller).await;
    let bucket = p.step("bucket").unwrap();
    assert_eq!(
        (bucket.action, bucket.reason),
        (Action::Delete, Some(Reason::UnmanagedUndeclared))
    );
    // What protects the rest of the account: only this stack's tags are ever read.
    let two: Vec<_> = world
        .cloud
        .resources()
        .into_iter()
        .filter(|r| r.stack == "two")
        .collect();
    assert_eq!(two.len(), 5, "stack two is untouched");
    assert_eq!(world.cloud.count("one", "bucket"), 0);
}

#[tokio::test]
async fn destroy_after_a_crash_deletes_what_carries_the_tags_and_nothing_else() {
    let world = World::new();
    world.up(&stack("one")).await;
    world.up(&stack("two")).await;
    let lock = world.lock("one");
    lock.save(&glinfra_core::State::empty("one")).await.unwrap();
    drop(lock);
    let p = world.destroy(&stack("one")).await;
    assert_eq!(p.summary.delete, 5, "{}", glinfra_core::render::text(&p));
    assert!(world.cloud.resources().iter().all(|r| r.stack == "two"));
    assert_eq!(world.cloud.resources().len(), 5);
}

#[tokio::test]
async fn a_released_resource_is_neither_reported_nor_deleted() {
    let world = World::new();
    let s = stack("one");
    world.up(&s).await;
    world.lock("one").forget("bucket").await.unwrap();
    // The program no longer declares it, but still has buckets.
    let mut smaller = Stack::new("one", "us-east-1");
    smaller.add("vpc", VpcSpec::new("10.0.0.0/16"));
    smaller.add("bucket-2", BucketSpec::new("one-bucket-2"));
    let lock = world.lock("one");
    let r = world.refresh(&lock, &smaller, true).await;
    assert!(
        r.drift.iter().all(|d| d.resource != "bucket"),
        "{:?}",
        r.drift
    );
    drop(lock);
    world.up(&smaller).await;
    assert_eq!(
        world.cloud.count("one", "bucket"),
        1,
        "released, still in the cloud"
    );
}

#[tokio::test]
async fn a_read_that_fails_concludes_nothing() {
    let world = World::new();
    let s = stack("one");
    world.up(&s).await;
    world
        .cloud
        .fail("aws:s3/bucket", FakeOp::Observe, ErrorClass::Fatal, 1);
    let lock = world.lock("one");
    let graph = ResourceGraph::build(&s).unwrap();
    let program = Program::of(
        graph.in_order().map(|d| (&d.id, d.kind, d.region.as_str())),
        true,
    );
    let err = refresh(
        world.cloud.clone(),
        &lock.load().await.unwrap(),
        &program,
        &RefreshOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.failures.len(), 1);
    assert!(
        err.to_string().contains("aws:s3/bucket in us-east-1"),
        "{err}"
    );
    // A throttled read is retried.
    world
        .cloud
        .fail("aws:s3/bucket", FakeOp::Observe, ErrorClass::Throttled, 2);
    let r = world.refresh(&lock, &s, true).await;
    assert!(r.drift.is_empty());
}
