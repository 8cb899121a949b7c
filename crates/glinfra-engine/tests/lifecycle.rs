//! Engine lifecycle scenarios against the in-memory fake cloud: each builds a
//! state, runs an apply with injected faults, and checks the cloud and the journal.

mod support;

use glinfra_core::plan::{plan, plan_destroy};
use glinfra_core::spec::ec2::*;
use glinfra_core::spec::s3::BucketSpec;
use glinfra_core::{Plan, ResourceGraph, Stack};
use glinfra_engine::fake::FakeOp;
use glinfra_engine::LocalLock;
use glinfra_engine::{
    apply, ApplyError, ApplyReport, ErrorClass, Event, LocalStateStore, Observer, OpStatus,
    StackLock, StoreError,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{begin_create, fast_options, World};

fn stack() -> Stack {
    let mut stack = Stack::new("life", "us-east-1");
    let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    let rt = stack.add("rt", RouteTableSpec { vpc_id: vpc.id() });
    for (i, cidr) in ["10.0.0.0/20", "10.0.16.0/20"].iter().enumerate() {
        let subnet = stack.add(
            format!("subnet-{i}"),
            SubnetSpec::new(vpc.id(), *cidr, format!("us-east-1{}", ['a', 'b'][i])),
        );
        stack.add(
            format!("rta-{i}"),
            RouteTableAssociationSpec {
                route_table_id: rt.id(),
                subnet_id: subnet.id(),
            },
        );
    }
    stack.add("bucket", BucketSpec::new("life-bucket"));
    stack
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Event>>);

impl Observer for Recorder {
    fn event(&self, event: &Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Recorder {
    fn retries(&self) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, Event::Retrying { .. }))
            .count()
    }
    fn adopted(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Event::Adopted { resource } => Some(resource.clone()),
                _ => None,
            })
            .collect()
    }
}

impl World {
    fn new() -> World {
        World::of("life")
    }

    async fn plan(&self, lock: &StackLock, stack: &Stack) -> Plan {
        plan(
            &ResourceGraph::build(stack).unwrap(),
            &lock.load().await.unwrap(),
        )
    }

    async fn apply(
        &self,
        lock: Arc<StackLock>,
        plan: &Plan,
        recorder: Arc<Recorder>,
    ) -> ApplyReport {
        apply(self.cloud.clone(), lock, plan, fast_options(), recorder)
            .await
            .unwrap()
    }

    async fn up(&self, stack: &Stack) -> (ApplyReport, Arc<Recorder>) {
        let lock = self.lock();
        let p = self.plan(&lock, stack).await;
        let recorder = Arc::new(Recorder::default());
        (self.apply(lock, &p, recorder.clone()).await, recorder)
    }
}

#[tokio::test]
async fn apply_then_replan_is_empty_and_makes_no_calls() {
    let world = World::new();
    let (report, _) = world.up(&stack()).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.succeeded(), 7);
    assert_eq!(world.cloud.resources().len(), 7);
    let calls_before = world.cloud.calls().len();

    let lock = world.lock();
    let again = world.plan(&lock, &stack()).await;
    assert!(again.is_empty());
    let report = world
        .apply(lock, &again, Arc::new(Recorder::default()))
        .await;
    assert_eq!(report.outcomes.len(), 0);
    assert_eq!(
        world.cloud.calls().len(),
        calls_before,
        "a no-op apply calls nothing"
    );
}

#[tokio::test]
async fn a_failure_stops_only_its_dependents() {
    let world = World::new();
    world
        .cloud
        .fail("subnet-0", FakeOp::Create, ErrorClass::Invalid, 1);
    let (report, _) = world.up(&stack()).await;
    assert_eq!(report.failed(), 1);
    assert_eq!(report.skipped(), 1, "only rta-0 waits for subnet-0");
    let skipped: Vec<&str> = report
        .outcomes
        .iter()
        .filter(|o| o.status == OpStatus::Skipped)
        .map(|o| o.resource.as_str())
        .collect();
    assert_eq!(skipped, ["rta-0"]);
    assert_eq!(
        report.succeeded(),
        5,
        "independent branches finish: {report:?}"
    );

    // Running again finishes the job without duplicates.
    let (report, _) = world.up(&stack()).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.succeeded(), 2);
    assert_eq!(world.cloud.resources().len(), 7);
    for id in ["vpc", "subnet-0", "rta-0", "bucket"] {
        assert_eq!(world.cloud.count("life", id), 1, "{id}");
    }
}

#[tokio::test]
async fn a_run_killed_after_create_is_resumed_by_adoption_without_duplicates() {
    let world = World::new();
    world.cloud.hang_after_create("subnet-1");
    {
        let lock = world.lock();
        let p = world.plan(&lock, &stack()).await;
        let run = apply(
            world.cloud.clone(),
            lock,
            &p,
            fast_options(),
            Arc::new(Recorder::default()),
        );
        // The process "dies" while subnet-1's create is in flight: the future is dropped.
        assert!(tokio::time::timeout(Duration::from_millis(300), run)
            .await
            .is_err());
    }
    assert_eq!(
        world.cloud.count("life", "subnet-1"),
        1,
        "the cloud made it"
    );

    // The runtime aborts the dropped run's tasks asynchronously; a dead process holds nothing.
    let mut lock = None;
    for _ in 0..200 {
        match world.store.lock("life") {
            Ok(l) => {
                lock = Some(Arc::new(l));
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    let lock = lock.expect("the killed run's lock is released");
    let state = lock.load().await.unwrap();
    let rec = &state.resources["subnet-1"];
    assert!(
        !rec.exists() && rec.pending.as_ref().unwrap().operation == glinfra_core::Mutation::Create
    );
    let p = world.plan(&lock, &stack()).await;
    assert_eq!(
        p.step("subnet-1").unwrap().action,
        glinfra_core::Action::Create
    );

    let recorder = Arc::new(Recorder::default());
    let report = world.apply(lock, &p, recorder.clone()).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(recorder.adopted(), ["subnet-1"]);
    assert_eq!(world.cloud.count("life", "subnet-1"), 1, "no duplicate");
    let calls = world.cloud.calls();
    let tail: Vec<&(FakeOp, String)> = calls.iter().filter(|(_, id)| id == "subnet-1").collect();
    assert_eq!(
        tail.iter()
            .rev()
            .take(2)
            .map(|(op, _)| *op)
            .collect::<Vec<_>>(),
        [FakeOp::Update, FakeOp::Find],
        "the adopted resource is found, then brought fully in line (never created twice)"
    );
    assert_eq!(world.cloud.resources().len(), 7);
    let lock = world.lock();
    assert!(world.plan(&lock, &stack()).await.is_empty());
}

#[tokio::test]
async fn throttling_is_retried_with_backoff() {
    let world = World::new();
    world
        .cloud
        .fail("vpc", FakeOp::Create, ErrorClass::Throttled, 3);
    world
        .cloud
        .fail("bucket", FakeOp::Find, ErrorClass::Retryable, 2);
    let (report, recorder) = world.up(&stack()).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(recorder.retries(), 5);
    let vpc = report
        .outcomes
        .iter()
        .find(|o| o.resource == "vpc")
        .unwrap();
    assert_eq!(vpc.attempts, 4);
    assert_eq!(world.cloud.count("life", "vpc"), 1);
}

#[tokio::test]
async fn retries_give_up_after_the_policy_limit() {
    let world = World::new();
    world
        .cloud
        .fail("bucket", FakeOp::Create, ErrorClass::Throttled, 100);
    let (report, _) = world.up(&stack()).await;
    let bucket = report
        .outcomes
        .iter()
        .find(|o| o.resource == "bucket")
        .unwrap();
    assert_eq!((bucket.status, bucket.attempts), (OpStatus::Failed, 5));
}

#[tokio::test]
async fn destroy_deletes_dependents_first_and_leaves_nothing() {
    let world = World::new();
    world.up(&stack()).await;
    let lock = world.lock();
    let p = plan_destroy(&lock.load().await.unwrap());
    let recorder = Arc::new(Recorder::default());
    let report = world.apply(lock, &p, recorder.clone()).await;
    assert!(report.is_success(), "{report:?}");
    // The fake refuses to delete anything still in use (DependencyViolation, retryable):
    // no retry means the order was right the first time.
    assert_eq!(recorder.retries(), 0);
    assert!(world.cloud.resources().is_empty());
    let deletes: Vec<String> = world
        .cloud
        .calls()
        .into_iter()
        .filter(|(op, _)| *op == FakeOp::Delete)
        .map(|(_, id)| id)
        .collect();
    let pos = |id: &str| deletes.iter().position(|d| d == id).unwrap();
    assert!(
        pos("rta-0") < pos("subnet-0") && pos("subnet-0") < pos("vpc") && pos("rt") < pos("vpc")
    );
    assert!(world.lock().load().await.unwrap().resources.is_empty());
}

#[tokio::test]
async fn deleting_what_is_already_gone_succeeds() {
    let world = World::new();
    world.up(&stack()).await;
    world
        .cloud
        .fail("bucket", FakeOp::Delete, ErrorClass::NotFound, 1);
    let lock = world.lock();
    let p = plan_destroy(&lock.load().await.unwrap());
    let report = world.apply(lock, &p, Arc::new(Recorder::default())).await;
    assert!(report.is_success(), "{report:?}");
}

#[tokio::test]
async fn a_stale_plan_is_refused() {
    let world = World::new();
    let lock = world.lock();
    let stale = world.plan(&lock, &stack()).await;
    world
        .apply(lock.clone(), &stale, Arc::new(Recorder::default()))
        .await;
    let err = apply(
        world.cloud.clone(),
        lock,
        &stale,
        fast_options(),
        Arc::new(Recorder::default()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ApplyError::StalePlan { planned: 0, .. }),
        "{err}"
    );
}

#[test]
fn a_second_run_on_a_locked_stack_fails_at_once_naming_the_holder() {
    let world = World::new();
    let _held = world.lock();
    let err = world.store.lock("life").unwrap_err();
    let StoreError::Locked { holder, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(holder.pid, std::process::id());
    let message = err.to_string();
    assert!(
        message.contains(&format!("process {}", std::process::id())),
        "{message}"
    );
    assert!(
        message.contains(&format!("@{} (", holder.host)),
        "{message}"
    );
    assert!(message.contains(&holder.lock_id), "{message}");
    drop(_held);
    world.store.lock("life").expect("released with its holder");
}

#[tokio::test]
async fn state_survives_a_torn_journal_line_and_is_written_atomically() {
    let world = World::new();
    world.up(&stack()).await;
    let lock = world.lock();
    let serial = lock.load().await.unwrap().serial;
    std::fs::write(
        lock.downcast::<LocalLock>().unwrap().journal_path(),
        b"{\"record\":\"begin\",\"resou",
    )
    .unwrap();
    let state = lock.load().await.unwrap();
    assert_eq!(state.serial, serial);
    assert_eq!(state.resources.len(), 7);
    let leftovers: Vec<_> = std::fs::read_dir(world.store.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

/// A stack name that is a path is refused before any file is touched: nothing is
/// written outside (or inside) the state directory.
#[test]
fn a_stack_name_that_is_a_path_never_reaches_the_filesystem() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    let store = LocalStateStore::new(&state);
    for name in ["../../evil", "../evil", "a/b", "/abs", ".."] {
        let err = store.lock(name).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidStackName { .. }),
            "{name}: {err}"
        );
    }
    assert!(!state.exists(), "the state directory was created");
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    assert!(store.lock("prod-us-east-1").is_ok());
}

/// A destroy meets a create that was never recorded, and the only resource of
/// that name belongs to someone else (the find answers AlreadyExists): nothing of
/// ours exists, so the placeholder leaves state and nothing is deleted.
#[tokio::test]
async fn destroy_never_deletes_a_same_named_resource_of_someone_else() {
    let world = World::new();
    let lock = world.lock();
    let mut stack = Stack::new("life", "us-east-1");
    stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    let decl = stack.get("vpc").unwrap().clone();
    lock.append(&begin_create(&decl, "killed", None))
        .await
        .unwrap();
    world
        .cloud
        .fail("vpc", FakeOp::Find, ErrorClass::AlreadyExists, 1);
    let p = plan_destroy(&lock.load().await.unwrap());
    let report = world.apply(lock, &p, Arc::new(Recorder::default())).await;
    assert!(report.is_success(), "{report:?}");
    assert!(!world
        .lock()
        .load()
        .await
        .unwrap()
        .resources
        .contains_key("vpc"));
    assert!(
        !world
            .cloud
            .calls()
            .iter()
            .any(|(op, _)| *op == FakeOp::Delete),
        "nothing was deleted"
    );
}
