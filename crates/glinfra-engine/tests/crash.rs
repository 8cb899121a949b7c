//! Crash and interrupt hardening, against the in-memory fake cloud: a run
//! stopped (Ctrl-C, its time limit) drains what is in flight and starts nothing
//! more; an operation past its lifecycle timeout fails and is resumed; a process
//! killed during an update, a delete or either half of a replacement, or a create
//! whose reply was lost, converges on the next run with no duplicate; a create
//! refused with AlreadyExists leaves no placeholder; the journal survives a torn
//! write and the state files are private.

mod support;

use glinfra_core::plan::{plan, plan_destroy};
use glinfra_core::spec::ec2::*;
use glinfra_core::spec::s3::BucketSpec;
use glinfra_core::{Action, Mutation, Plan, ResourceGraph, Stack};
use glinfra_engine::fake::FakeOp;
use glinfra_engine::LocalLock;
use glinfra_engine::{
    apply, ApplyError, ApplyOptions, ApplyReport, ErrorClass, Event, Observer, OpStatus,
    RetryPolicy, StackLock, Stop, StopReason,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{fast_options, World};

/// vpc ← rt, subnet-0/1 ← rta-0/1; bucket on its own.
fn stack() -> Stack {
    with_bucket(BucketSpec::new("life-bucket"))
}

/// [`stack`] with the bucket declared as `bucket`.
fn with_bucket(bucket: BucketSpec) -> Stack {
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
    stack.add("bucket", bucket);
    stack
}

/// Records events; stops `stop` when the operation on `stop_at` starts.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<Event>>,
    stop_at: Option<(String, Stop)>,
}

impl Observer for Recorder {
    fn event(&self, event: &Event) {
        if let (Event::Started { resource, .. }, Some((at, stop))) = (event, &self.stop_at) {
            if resource == at {
                stop.stop(StopReason::Interrupted);
            }
        }
        self.events.lock().unwrap().push(event.clone());
    }
}

impl Recorder {
    fn started(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Event::Started { resource, .. } => Some(resource.clone()),
                _ => None,
            })
            .collect()
    }
    /// The operations reported not started, as JSON events.
    fn cancelled(&self) -> Vec<serde_json::Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, Event::Cancelled { .. }))
            .map(|e| serde_json::to_value(e).unwrap())
            .collect()
    }
    fn adopted(&self) -> Vec<String> {
        self.events
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

fn options(stop: &Stop) -> ApplyOptions {
    ApplyOptions {
        stop: stop.clone(),
        ..fast_options()
    }
}

impl World {
    fn new() -> World {
        World::of("life")
    }

    /// The lock, once a killed run's tasks are gone (the runtime aborts a dropped
    /// run's tasks asynchronously; a dead process holds nothing).
    async fn lock_after_kill(&self) -> Arc<StackLock> {
        for _ in 0..200 {
            if let Ok(l) = self.store.lock("life") {
                return Arc::new(l);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the killed run's lock is released");
    }

    async fn plan(&self, lock: &StackLock, stack: &Stack) -> Plan {
        plan(
            &ResourceGraph::build(stack).unwrap(),
            &lock.load().await.unwrap(),
        )
    }

    async fn run(&self, lock: Arc<StackLock>, plan: &Plan, stop: &Stop) -> ApplyReport {
        apply(
            self.cloud.clone(),
            lock,
            plan,
            options(stop),
            Arc::new(Recorder::default()),
        )
        .await
        .unwrap()
    }

    async fn up(&self, stack: &Stack) -> ApplyReport {
        let lock = self.lock();
        let p = self.plan(&lock, stack).await;
        self.run(lock, &p, &Stop::new()).await
    }

    /// Applies `plan` and kills the run (drops it, as `kill -9` ends a process)
    /// the moment a call set to hang has taken effect in the cloud.
    async fn kill_when_hung(&self, plan: &Plan) {
        let lock = self.lock();
        let stop = Stop::new();
        let run = self.run(lock, plan, &stop);
        tokio::select! {
            report = run => panic!("the run ended: {report:?}"),
            () = self.cloud.hung() => {}
        }
    }

    /// Every logical id the cloud holds for stack `life`, with how many of each.
    fn census(&self) -> Vec<(String, usize)> {
        let mut ids: Vec<String> = self
            .cloud
            .resources()
            .into_iter()
            .filter(|r| r.stack == "life")
            .map(|r| r.logical_id)
            .collect();
        ids.sort();
        let mut out: Vec<(String, usize)> = Vec::new();
        for id in ids {
            match out.last_mut() {
                Some((last, n)) if *last == id => *n += 1,
                _ => out.push((id, 1)),
            }
        }
        out
    }

    /// Applies `stack` until it converges: the run succeeds, every declared
    /// resource exists exactly once, and planning again is empty.
    async fn converges(&self, stack: &Stack) -> ApplyReport {
        let report = self.up(stack).await;
        assert!(report.is_success(), "{report:?}");
        let census = self.census();
        assert!(
            census.iter().all(|(_, n)| *n == 1),
            "duplicates: {census:?}"
        );
        assert_eq!(census.len(), stack.declarations().len(), "{census:?}");
        let lock = self.lock();
        let again = self.plan(&lock, stack).await;
        assert!(again.is_empty(), "{again:?}");
        assert!(lock
            .load()
            .await
            .unwrap()
            .resources
            .values()
            .all(|r| r.pending.is_none()));
        report
    }
}

fn outcome<'a>(report: &'a ApplyReport, id: &str) -> &'a glinfra_engine::OpOutcome {
    report
        .outcomes
        .iter()
        .find(|o| o.resource == id)
        .unwrap_or_else(|| panic!("no outcome for {id}: {report:?}"))
}

/// Ctrl-C as the vpc and the bucket are being created: both finish and are
/// recorded, nothing else starts (no call at all for the five waiting), the
/// state is saved, and the report says the rest was cancelled. The next run
/// finishes the job without a duplicate.
#[tokio::test]
async fn an_interrupt_drains_the_operations_in_flight_and_starts_nothing_more() {
    let world = World::new();
    world.cloud.set_latency(Duration::from_millis(50));
    let lock = world.lock();
    let p = world.plan(&lock, &stack()).await;
    let stop = Stop::new();
    let recorder = Arc::new(Recorder {
        stop_at: Some(("vpc".into(), stop.clone())),
        ..Recorder::default()
    });
    let report = apply(
        world.cloud.clone(),
        lock,
        &p,
        options(&stop),
        recorder.clone(),
    )
    .await
    .unwrap();

    assert_eq!(report.stopped, Some(StopReason::Interrupted));
    assert!(!report.is_success());
    // The vpc, and the bucket if it started with it (the critical-path scheduler
    // starts the vpc alone first: its remaining path is the longest).
    let mut started = recorder.started();
    started.sort();
    assert!(
        started == ["vpc"] || started == ["bucket", "vpc"],
        "only what was in flight ran: {started:?}"
    );
    for id in &started {
        assert_eq!(outcome(&report, id).status, OpStatus::Succeeded);
    }
    let ran = started.len();
    assert_eq!((report.succeeded(), report.cancelled()), (ran, 7 - ran));
    for o in report
        .outcomes
        .iter()
        .filter(|o| o.status == OpStatus::Cancelled)
    {
        assert_eq!(o.detail.as_deref(), Some("not started: interrupted"));
        assert_eq!(o.attempts, 0);
    }
    // Each is reported to the observer too, once the run has drained.
    let mut cancelled: Vec<String> = recorder
        .cancelled()
        .iter()
        .map(|e| {
            assert_eq!(e["event"], "cancelled", "{e}");
            assert_eq!(e["phase"], "create", "{e}");
            assert_eq!(e["reason"], "interrupted", "{e}");
            e["resource"].as_str().unwrap().to_string()
        })
        .collect();
    cancelled.sort();
    let not_started: Vec<&str> = ["bucket", "rt", "rta-0", "rta-1", "subnet-0", "subnet-1"]
        .into_iter()
        .filter(|id| !started.iter().any(|s| s == id))
        .collect();
    assert_eq!(cancelled, not_started);
    let called: Vec<String> = world.cloud.calls().into_iter().map(|(_, id)| id).collect();
    assert!(
        called.iter().all(|id| started.contains(id)),
        "a call for an operation not started: {called:?}"
    );

    // Saved: what ran recorded, nothing pending, and the journal folded into the state.
    let lock = world.lock();
    assert!(!lock
        .downcast::<LocalLock>()
        .unwrap()
        .journal_path()
        .exists());
    let state = lock.load().await.unwrap();
    assert_eq!(state.resources.len(), ran);
    assert!(state
        .resources
        .values()
        .all(|r| r.exists() && r.pending.is_none()));
    drop(lock);

    let report = world.converges(&stack()).await;
    assert_eq!(report.succeeded(), 7 - ran);
}

/// A stop that comes before the run starts anything: nothing is called, every
/// operation is reported cancelled, and the state is left as it was.
#[tokio::test]
async fn a_run_stopped_before_it_starts_calls_nothing() {
    let world = World::new();
    let lock = world.lock();
    let p = world.plan(&lock, &stack()).await;
    let stop = Stop::new();
    stop.stop(StopReason::TimedOut { seconds: 5 });
    let report = world.run(lock, &p, &stop).await;
    assert_eq!(report.cancelled(), 7);
    assert_eq!(
        outcome(&report, "vpc").detail.as_deref(),
        Some("not started: the run's time limit of 5s was reached")
    );
    assert!(world.cloud.calls().is_empty());
    assert!(world.lock().load().await.unwrap().resources.is_empty());
}

/// The run's time limit (`--timeout`) works as Ctrl-C does: it stops scheduling
/// and lets the operations in flight finish (they are not cut off).
#[tokio::test]
async fn the_runs_time_limit_stops_scheduling_and_lets_in_flight_operations_finish() {
    let world = World::new();
    world.cloud.set_latency(Duration::from_millis(100));
    let lock = world.lock();
    let p = world.plan(&lock, &stack()).await;
    let stop = Stop::new();
    stop.stop_after(Duration::from_millis(120));
    let report = world.run(lock, &p, &stop).await;
    assert!(matches!(report.stopped, Some(StopReason::TimedOut { .. })));
    // The vpc and bucket creates (a find and a create, 200 ms) outlive the limit
    // and finish; nothing that waits for the vpc starts.
    assert_eq!(outcome(&report, "vpc").status, OpStatus::Succeeded);
    assert_eq!(outcome(&report, "bucket").status, OpStatus::Succeeded);
    assert_eq!(report.cancelled(), 5);
    assert_eq!(world.cloud.resources().len(), 2);
    world.converges(&stack()).await;
}

/// An operation waiting to retry when the run is stopped does not retry: it
/// fails at once with its last error, and says why.
#[tokio::test]
async fn a_stop_cuts_short_a_retry_backoff() {
    let world = World::new();
    world
        .cloud
        .fail("bucket", FakeOp::Create, ErrorClass::Throttled, 1);
    let lock = world.lock();
    let p = world.plan(&lock, &stack()).await;
    let stop = Stop::new();
    let mut opts = options(&stop);
    opts.retry = RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_secs(30),
        max_delay: Duration::from_secs(30),
    };
    stop.stop_after(Duration::from_millis(100));
    let began = Instant::now();
    let report = apply(
        world.cloud.clone(),
        lock,
        &p,
        opts,
        Arc::new(Recorder::default()),
    )
    .await
    .unwrap();
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "waited out a backoff"
    );
    let bucket = outcome(&report, "bucket");
    assert_eq!(bucket.status, OpStatus::Failed);
    assert!(
        bucket
            .detail
            .as_deref()
            .unwrap()
            .contains("not retried: the run's time limit"),
        "{bucket:?}"
    );
    world.converges(&stack()).await;
}

/// `lifecycle.timeouts.update`: an update that does not finish in time fails, is
/// not retried, and its journal `begin` stays, so the state records it pending
/// and the next run updates again.
#[tokio::test]
async fn an_operation_past_its_lifecycle_timeout_fails_and_the_next_run_resumes_it() {
    let world = World::new();
    world.up(&stack()).await;
    let mut bucket = BucketSpec::new("life-bucket");
    bucket.versioning = true;
    let mut changed = with_bucket(bucket);
    changed.lifecycle_mut("bucket").unwrap().timeouts.update = Some(1);
    world.cloud.hang_after_update("bucket");

    let lock = world.lock();
    let p = world.plan(&lock, &changed).await;
    let began = Instant::now();
    let report = world.run(lock, &p, &Stop::new()).await;
    assert!(began.elapsed() < Duration::from_secs(5));
    let o = outcome(&report, "bucket");
    assert_eq!((o.status, o.attempts), (OpStatus::Failed, 1), "{o:?}");
    assert_eq!(
        o.detail.as_deref(),
        Some("the update did not finish within its limit of 1s (lifecycle.timeouts.update); it may still finish in AWS: run again to resume")
    );
    let lock = world.lock();
    let state = lock.load().await.unwrap();
    let pending = state.resources["bucket"].pending.as_ref().expect("pending");
    assert_eq!(pending.operation, Mutation::Update);
    let again = world.plan(&lock, &changed).await;
    assert_eq!(again.step("bucket").unwrap().action, Action::Update);
    drop(lock);
    world.converges(&changed).await;
}

/// `lifecycle.timeouts.create` on a create whose reply never comes: the create
/// fails, what depends on it is skipped, and the next run adopts what the cloud
/// made instead of making another.
#[tokio::test]
async fn a_create_past_its_timeout_is_adopted_by_the_next_run() {
    let world = World::new();
    let mut s = stack();
    s.lifecycle_mut("subnet-1").unwrap().timeouts.create = Some(1);
    world.cloud.hang_after_create("subnet-1");
    let report = world.up(&s).await;
    assert_eq!(outcome(&report, "subnet-1").status, OpStatus::Failed);
    assert_eq!(outcome(&report, "rta-1").status, OpStatus::Skipped);
    assert_eq!(world.cloud.count("life", "subnet-1"), 1);

    let lock = world.lock();
    let p = world.plan(&lock, &s).await;
    let recorder = Arc::new(Recorder::default());
    let report = apply(
        world.cloud.clone(),
        lock,
        &p,
        options(&Stop::new()),
        recorder.clone(),
    )
    .await
    .unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(recorder.adopted(), ["subnet-1"]);
    world.converges(&s).await;
}

/// A create that succeeded in the cloud but whose reply was lost (a reset
/// connection, the SDK's attempt timeout) is retried as a find first: the
/// resource is adopted, never made twice.
#[tokio::test]
async fn a_lost_create_response_does_not_make_a_duplicate() {
    let world = World::new();
    world.cloud.lose_reply(FakeOp::Create, "subnet-1");
    let lock = world.lock();
    let p = world.plan(&lock, &stack()).await;
    let recorder = Arc::new(Recorder::default());
    let report = apply(
        world.cloud.clone(),
        lock,
        &p,
        options(&Stop::new()),
        recorder.clone(),
    )
    .await
    .unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(recorder.adopted(), ["subnet-1"]);
    let creates = world
        .cloud
        .calls()
        .iter()
        .filter(|c| *c == &(FakeOp::Create, "subnet-1".to_string()))
        .count();
    assert_eq!(creates, 1, "created once");
    world.converges(&stack()).await;
}

/// Killed after the cloud applied an update, before it was recorded: the state
/// records the update pending, and the next run updates again (idempotent).
#[tokio::test]
async fn a_kill_during_an_update_converges() {
    let world = World::new();
    world.up(&stack()).await;
    let mut bucket = BucketSpec::new("life-bucket");
    bucket.versioning = true;
    let changed = with_bucket(bucket);
    world.cloud.hang_after_update("bucket");
    let p = world.plan(&world.lock(), &changed).await;
    world.kill_when_hung(&p).await;

    let lock = world.lock_after_kill().await;
    let state = lock.load().await.unwrap();
    assert_eq!(
        state.resources["bucket"]
            .pending
            .as_ref()
            .unwrap()
            .operation,
        Mutation::Update
    );
    drop(lock);
    world.converges(&changed).await;
    let live = world.cloud.resources();
    let b = live.iter().find(|r| r.logical_id == "bucket").unwrap();
    assert_eq!(b.props["versioning"], serde_json::json!(true));
}

/// Killed after the cloud deleted a resource, before it was recorded: the next
/// destroy deletes it again (gone is success) and ends with nothing.
#[tokio::test]
async fn a_kill_during_a_delete_converges() {
    let world = World::new();
    world.up(&stack()).await;
    world.cloud.hang_after_delete("bucket");
    let p = plan_destroy(&world.lock().load().await.unwrap());
    world.kill_when_hung(&p).await;

    let lock = world.lock_after_kill().await;
    assert_eq!(world.cloud.count("life", "bucket"), 0);
    let state = lock.load().await.unwrap();
    assert_eq!(
        state.resources["bucket"]
            .pending
            .as_ref()
            .unwrap()
            .operation,
        Mutation::Delete
    );
    let p = plan_destroy(&state);
    let report = world.run(lock, &p, &Stop::new()).await;
    assert!(report.is_success(), "{report:?}");
    assert!(world.cloud.resources().is_empty());
    assert!(world.lock().load().await.unwrap().resources.is_empty());
}

/// `stack` with the bucket renamed, replaced delete-first (`lifecycle.delete_before_replace`).
fn renamed_delete_first() -> Stack {
    let mut stack = with_bucket(BucketSpec::new("life-bucket-2"));
    stack.lifecycle_mut("bucket").unwrap().delete_before_replace = true;
    stack
}

/// Killed during the first half of a delete-first replacement (the old bucket
/// deleted, not yet recorded): the next run resumes the replacement, and one
/// bucket, the new one, remains.
#[tokio::test]
async fn a_kill_during_the_delete_half_of_a_replacement_converges() {
    let world = World::new();
    world.up(&stack()).await;
    let renamed = renamed_delete_first();
    let p = world.plan(&world.lock(), &renamed).await;
    assert_eq!(p.step("bucket").unwrap().action, Action::Replace);
    world.cloud.hang_after_delete("bucket");
    world.kill_when_hung(&p).await;

    let lock = world.lock_after_kill().await;
    assert_eq!(
        world.cloud.count("life", "bucket"),
        0,
        "the old one is gone"
    );
    let p = world.plan(&lock, &renamed).await;
    assert_eq!(p.step("bucket").unwrap().action, Action::Replace);
    drop(lock);
    world.converges(&renamed).await;
    let live = world.cloud.resources();
    let b = live.iter().find(|r| r.logical_id == "bucket").unwrap();
    assert_eq!(b.props["bucket"], "life-bucket-2");
}

/// Killed during the second half of a delete-first replacement (the new bucket
/// made, not yet recorded): the next run adopts it instead of making another.
#[tokio::test]
async fn a_kill_during_the_create_half_of_a_replacement_converges() {
    let world = World::new();
    world.up(&stack()).await;
    let renamed = renamed_delete_first();
    let p = world.plan(&world.lock(), &renamed).await;
    world.cloud.hang_after_create("bucket");
    world.kill_when_hung(&p).await;

    let lock = world.lock_after_kill().await;
    assert_eq!(world.cloud.count("life", "bucket"), 1, "the new one");
    let state = lock.load().await.unwrap();
    let rec = &state.resources["bucket"];
    assert!(!rec.exists());
    assert_eq!(rec.pending.as_ref().unwrap().operation, Mutation::Create);
    let p = world.plan(&lock, &renamed).await;
    let recorder = Arc::new(Recorder::default());
    let report = apply(
        world.cloud.clone(),
        lock,
        &p,
        options(&Stop::new()),
        recorder.clone(),
    )
    .await
    .unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(recorder.adopted(), ["bucket"]);
    world.converges(&renamed).await;
    let live = world.cloud.resources();
    let b = live.iter().find(|r| r.logical_id == "bucket").unwrap();
    assert_eq!(b.props["bucket"], "life-bucket-2");
}

/// A create refused because the name is someone else's (AlreadyExists, nothing
/// with our tags found) made nothing of ours: no placeholder is left, so a later
/// destroy is neither refused (the bucket was protected) nor held up.
#[tokio::test]
async fn a_create_refused_as_already_existing_leaves_no_placeholder() {
    for (op, class) in [
        (FakeOp::Create, ErrorClass::AlreadyExists),
        (FakeOp::Find, ErrorClass::AlreadyExists),
    ] {
        let world = World::new();
        let mut s = stack();
        s.lifecycle_mut("bucket").unwrap().protect = true;
        world.cloud.fail("bucket", op, class, 1);
        let report = world.up(&s).await;
        let bucket = outcome(&report, "bucket");
        assert_eq!((bucket.status, bucket.attempts), (OpStatus::Failed, 1));

        let lock = world.lock();
        let state = lock.load().await.unwrap();
        assert!(
            !state.resources.contains_key("bucket"),
            "{op:?}: a placeholder"
        );
        let p = plan_destroy(&state);
        let report = world.run(lock, &p, &Stop::new()).await;
        assert!(report.is_success(), "{report:?}");
        assert!(world.cloud.resources().is_empty());
    }

    // Any other failure of a create keeps the placeholder: something may exist.
    let world = World::new();
    let mut s = stack();
    s.lifecycle_mut("bucket").unwrap().protect = true;
    world
        .cloud
        .fail("bucket", FakeOp::Create, ErrorClass::Fatal, 1);
    world.up(&s).await;
    let lock = world.lock();
    let state = lock.load().await.unwrap();
    assert!(state.resources["bucket"].pending.is_some());
    let err = apply(
        world.cloud.clone(),
        lock,
        &plan_destroy(&state),
        options(&Stop::new()),
        Arc::new(Recorder::default()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ApplyError::Protected { .. }), "{err}");
}

/// A torn last journal line (the write a crash interrupted) is cut off when the
/// state is loaded, so the next record appended starts a line of its own.
#[tokio::test]
async fn a_torn_journal_line_is_cut_off_before_anything_is_appended() {
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
    assert_eq!(
        std::fs::read(lock.downcast::<LocalLock>().unwrap().journal_path()).unwrap(),
        b""
    );

    // The next run journals after it; its records read back whole.
    drop(lock);
    let mut bucket = BucketSpec::new("life-bucket");
    bucket.versioning = true;
    world.cloud.hang_after_update("bucket");
    let changed = with_bucket(bucket);
    let p = world.plan(&world.lock(), &changed).await;
    world.kill_when_hung(&p).await;
    let lock = world.lock_after_kill().await;
    let journal =
        std::fs::read_to_string(lock.downcast::<LocalLock>().unwrap().journal_path()).unwrap();
    assert!(journal.starts_with("{\"record\":\"begin\""), "{journal}");
    let state = lock.load().await.unwrap();
    assert!(state.resources["bucket"].pending.is_some());

    // A torn line before the last is corruption, not a crash: refused.
    std::fs::write(
        lock.downcast::<LocalLock>().unwrap().journal_path(),
        b"{\"record\":\n{\"record\":\"removed\",\"resource\":\"x\"}\n",
    )
    .unwrap();
    assert!(lock.load().await.is_err());
}

/// The state, journal and lock files are readable by their owner only, and so
/// is the state directory.
#[cfg(unix)]
#[tokio::test]
async fn state_journal_and_lock_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let world = World::new();
    world.cloud.hang_after_create("bucket");
    let p = world.plan(&world.lock(), &stack()).await;
    world.kill_when_hung(&p).await;
    let lock = world.lock_after_kill().await;
    assert_eq!(
        mode(lock.downcast::<LocalLock>().unwrap().journal_path()),
        0o600
    );
    assert_eq!(mode(&world.store.dir().join("life.lock")), 0o600);
    assert_eq!(mode(world.store.dir()), 0o700);
    lock.load().await.unwrap();
    assert_eq!(
        mode(lock.downcast::<LocalLock>().unwrap().state_path()),
        0o600
    );
    assert!(!lock
        .downcast::<LocalLock>()
        .unwrap()
        .journal_path()
        .exists());
}

/// The position of the first call `op` on `id` in the cloud's call log.
fn call_at(world: &World, op: FakeOp, id: &str) -> usize {
    world
        .cloud
        .calls()
        .iter()
        .position(|(o, r)| *o == op && r == id)
        .unwrap_or_else(|| panic!("no {op:?} of {id}: {:?}", world.cloud.calls()))
}

/// A VPC whose CIDR changes is replaced create-first with what is in it: every
/// new resource is made before any old one is deleted (what takes no tags, the
/// associations, excepted: they go first), and the old VPC goes last.
#[tokio::test]
async fn a_create_first_replacement_makes_the_new_resources_before_deleting_the_old() {
    let world = World::new();
    world.up(&stack()).await;
    let before: Vec<_> = world.cloud.resources();
    let moved = {
        let mut s = Stack::new("life", "us-east-1");
        let vpc = s.add("vpc", VpcSpec::new("10.9.0.0/16"));
        let rt = s.add("rt", RouteTableSpec { vpc_id: vpc.id() });
        for (i, cidr) in ["10.9.0.0/20", "10.9.16.0/20"].iter().enumerate() {
            let subnet = s.add(
                format!("subnet-{i}"),
                SubnetSpec::new(vpc.id(), *cidr, format!("us-east-1{}", ['a', 'b'][i])),
            );
            s.add(
                format!("rta-{i}"),
                RouteTableAssociationSpec {
                    route_table_id: rt.id(),
                    subnet_id: subnet.id(),
                },
            );
        }
        s.add("bucket", BucketSpec::new("life-bucket"));
        s
    };
    let p = world.plan(&world.lock(), &moved).await;
    for id in ["vpc", "rt", "subnet-0", "subnet-1"] {
        assert!(p.step(id).unwrap().creates_first(), "{id}");
    }
    let report = world.up(&moved).await;
    assert!(report.is_success(), "{report:?}");
    let old_vpc_deleted = call_at(&world, FakeOp::Delete, "vpc");
    for id in ["rt", "subnet-0", "subnet-1"] {
        assert!(call_at(&world, FakeOp::Create, id) < call_at(&world, FakeOp::Delete, id));
        assert!(
            call_at(&world, FakeOp::Delete, id) < old_vpc_deleted,
            "{id}"
        );
    }
    assert!(call_at(&world, FakeOp::Create, "vpc") < call_at(&world, FakeOp::Create, "rt"));
    // New ids everywhere; the state has nothing superseded left.
    let after = world.cloud.resources();
    let vpc_of = |rs: &[glinfra_engine::fake::FakeResource]| {
        rs.iter().find(|r| r.logical_id == "vpc").unwrap().outputs["id"].clone()
    };
    assert_ne!(vpc_of(&before), vpc_of(&after));
    assert!(world.lock().load().await.unwrap().superseded.is_empty());
    world.converges(&moved).await;
}

/// Killed after a create-first replacement made the new bucket and before it was
/// recorded: both buckets carry the logical id `bucket`. The next run adopts the
/// new one (never the old one, recorded as superseded) and deletes the old one.
#[tokio::test]
async fn a_kill_after_the_create_of_a_create_first_replacement_converges() {
    let world = World::new();
    world.up(&stack()).await;
    let renamed = with_bucket(BucketSpec::new("life-bucket-2"));
    let p = world.plan(&world.lock(), &renamed).await;
    assert!(p.step("bucket").unwrap().creates_first());
    world.cloud.hang_after_create("bucket");
    world.kill_when_hung(&p).await;

    let lock = world.lock_after_kill().await;
    assert_eq!(world.cloud.count("life", "bucket"), 2, "old and new");
    let state = lock.load().await.unwrap();
    assert_eq!(
        state.superseded["bucket"].len(),
        1,
        "the old one is recorded"
    );
    let p = world.plan(&lock, &renamed).await;
    let reasons: Vec<_> = p
        .steps
        .iter()
        .filter(|s| s.resource == "bucket")
        .map(|s| (s.action, s.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (Action::Create, Some(glinfra_core::Reason::ResumeCreate)),
            (Action::Delete, Some(glinfra_core::Reason::Superseded))
        ]
    );
    drop(lock);
    world.converges(&renamed).await;
    let live = world.cloud.resources();
    let b = live.iter().find(|r| r.logical_id == "bucket").unwrap();
    assert_eq!(b.props["bucket"], "life-bucket-2");
    assert!(world.lock().load().await.unwrap().superseded.is_empty());
}

/// Killed as the old bucket of a create-first replacement was deleted, before that
/// was recorded: the next run deletes it again (gone: success) and records it.
#[tokio::test]
async fn a_kill_during_the_delete_of_the_old_resource_converges() {
    let world = World::new();
    world.up(&stack()).await;
    let renamed = with_bucket(BucketSpec::new("life-bucket-2"));
    let p = world.plan(&world.lock(), &renamed).await;
    world.cloud.hang_after_delete("bucket");
    world.kill_when_hung(&p).await;

    let lock = world.lock_after_kill().await;
    assert_eq!(world.cloud.count("life", "bucket"), 1, "the new one");
    let state = lock.load().await.unwrap();
    assert!(state.resources["bucket"].exists());
    assert_eq!(state.superseded["bucket"].len(), 1);
    drop(lock);
    world.converges(&renamed).await;
    assert!(world.lock().load().await.unwrap().superseded.is_empty());
}
