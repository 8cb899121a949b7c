//! The object-store backend (what S3 does, in memory with S3's conditional
//! semantics) under a paused clock: a second run refused at once naming the holder,
//! the lease renewed while the holder runs, a killed holder taken over after its
//! lease with its journal folded and the takeover recorded, a holder whose lock was
//! taken over starting nothing more, lost updates refused, `force-unlock`, and what
//! each operation costs in store calls.

mod support;

use glinfra_core::plan::plan;
use glinfra_core::spec::ec2::*;
use glinfra_core::{ResourceGraph, Stack, State};
use glinfra_engine::backend::object::MemoryStore;
use glinfra_engine::backend::{LockEventKind, TokioClock};
use glinfra_engine::fake::{FakeCloud, FakeOp};
use glinfra_engine::journal::JournalRecord;
use glinfra_engine::{
    apply, ApplyError, ApplyOptions, Backend, LeaseConfig, NoObserver, ObjectBackend, RetryPolicy,
    StackLock, StoreError,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::advance;

const LEASE: Duration = Duration::from_secs(6);

/// One store, and a backend per "process" (each its own connection, one clock).
struct World {
    store: MemoryStore,
    clock: Arc<TokioClock>,
}

impl World {
    fn new() -> Self {
        World {
            store: MemoryStore::new(),
            clock: Arc::new(TokioClock::new()),
        }
    }

    /// A process: its connection to the store, and a backend over it.
    fn process(&self) -> (MemoryStore, ObjectBackend) {
        let connection = self.store.connection();
        let backend = ObjectBackend::new(Arc::new(connection.clone()))
            .with_lease(LeaseConfig::new(LEASE))
            .with_clock(self.clock.clone());
        (connection, backend)
    }

    fn calls(&self) -> BTreeMap<&'static str, u64> {
        self.store.calls()
    }

    fn state_object(&self, stack: &str) -> serde_json::Value {
        let o = self.store.peek(&format!("{stack}/state.json")).unwrap();
        serde_json::from_slice(&o.bytes).unwrap()
    }

    fn journal_keys(&self, stack: &str) -> Vec<String> {
        let prefix = format!("{stack}/journal/");
        self.store
            .keys()
            .into_iter()
            .filter(|k| k.starts_with(&prefix))
            .collect()
    }
}

/// Lets the renewal task run through `d` of paused time, a second at a time.
async fn pass(d: Duration) {
    let mut left = d;
    while !left.is_zero() {
        let step = left.min(Duration::from_secs(1));
        advance(step).await;
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
        left -= step;
    }
}

fn begin(resource: &str) -> JournalRecord {
    let stack = stack();
    support::begin_create(stack.get(resource).unwrap(), "run-a", None)
}

fn stack() -> Stack {
    let mut stack = Stack::new("app", "us-east-1");
    let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
    for (i, cidr) in ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"]
        .iter()
        .enumerate()
    {
        stack.add(
            format!("subnet-{i}"),
            SubnetSpec::new(vpc.id(), *cidr, "us-east-1a"),
        );
    }
    stack
}

fn options() -> ApplyOptions {
    ApplyOptions {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        ..ApplyOptions::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_second_run_is_refused_at_once_naming_the_holder_while_the_lease_is_renewed() {
    let world = World::new();
    let (_, a) = world.process();
    let (_, b) = world.process();
    let held = a.lock("app", "run-a").await.unwrap();
    // Well past the lease: the holder's renewals keep it.
    pass(LEASE * 5).await;
    let err = b.lock("app", "run-b").await.unwrap_err();
    let StoreError::Locked { holder, advice, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(holder.run_id, "run-a");
    assert_eq!(holder.lock_id, held.info().lock_id);
    assert!(
        advice.contains(&format!("force-unlock {}", holder.lock_id)),
        "{advice}"
    );
    assert!(err.to_string().contains("run run-a"), "{err}");
    assert!(
        held.info().renewed_at.is_some(),
        "renewed: {:?}",
        held.info()
    );
    // Reads need no lock, and say who holds it.
    assert_eq!(b.holder("app").await.unwrap().unwrap().run_id, "run-a");
    assert_eq!(b.read("app").await.unwrap().state, State::empty("app"));
    held.release().await.unwrap();
    assert_eq!(b.holder("app").await.unwrap(), None);
    b.lock("app", "run-b").await.expect("free once released");
}

#[tokio::test(start_paused = true)]
async fn a_killed_holder_is_taken_over_after_its_lease_with_its_journal_folded_and_recorded() {
    let world = World::new();
    let (a_conn, a) = world.process();
    let (_, b) = world.process();
    let held = a.lock("app", "run-a").await.unwrap();
    held.load().await.unwrap();
    held.append(&begin("vpc")).await.unwrap();
    assert_eq!(world.journal_keys("app").len(), 1, "one object per record");
    // kill -9: nothing more from that process, not even a release.
    a_conn.cut();
    drop(held);
    let err = b.lock("app", "run-b").await.unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    pass(LEASE).await;
    assert!(
        b.lock("app", "run-b").await.is_err(),
        "not before the margin has passed too"
    );
    pass(LeaseConfig::new(LEASE).margin).await;
    let lock = b.lock("app", "run-b").await.unwrap();
    let event = lock.took_over().expect("a takeover");
    assert_eq!(event.kind, LockEventKind::LeaseExpired);
    assert_eq!(event.previous.run_id, "run-a");
    assert!(event.to_string().contains("its lease expired"), "{event}");
    // Folded: the killed run's begin is a pending placeholder, in the state object;
    // the takeover is in its history; the journal is empty.
    let state = lock.load().await.unwrap();
    assert!(state.resources["vpc"].pending.is_some());
    let object = world.state_object("app");
    assert_eq!(object["history"][0]["kind"], "lease_expired");
    assert_eq!(object["history"][0]["previous"]["run_id"], "run-a");
    assert_eq!(object["generation"], 1);
    assert!(world.journal_keys("app").is_empty());
    let lock_object = world.store.peek("app/lock.json").unwrap();
    let lock_object: serde_json::Value = serde_json::from_slice(&lock_object.bytes).unwrap();
    assert_eq!(lock_object["took_over"]["previous"]["run_id"], "run-a");
    assert_eq!(b.read("app").await.unwrap().history.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_holder_whose_lock_was_taken_over_starts_nothing_more_and_cannot_save() {
    let world = World::new();
    let (a_conn, a) = world.process();
    let (_, b) = world.process();
    let stalled = a.lock("app", "run-a").await.unwrap();
    stalled.load().await.unwrap();
    // Stalled (a network partition, a suspended laptop) past its lease: taken over.
    a_conn.cut();
    pass(LEASE + Duration::from_secs(2)).await;
    let err = stalled.append(&begin("vpc")).await.unwrap_err();
    assert!(matches!(err, StoreError::LockLost { .. }), "{err}");
    let successor = b.lock("app", "run-b").await.unwrap();
    a_conn.restore();
    pass(LeaseConfig::new(LEASE).renew_every).await;
    // Its renewal found the lock someone else's: lost for good.
    let err = stalled.append(&begin("vpc")).await.unwrap_err();
    let StoreError::LockLost { reason, .. } = &err else {
        panic!("{err}")
    };
    assert!(reason.starts_with("taken over by "), "{reason}");
    assert!(reason.contains("run run-b"), "{reason}");
    // Its state write is refused too.
    let err = stalled.save(&State::empty("app")).await.unwrap_err();
    assert!(matches!(err, StoreError::LockLost { .. }), "{err}");
    // Releasing deletes nothing of the successor's.
    stalled.release().await.unwrap();
    assert_eq!(
        b.holder("app").await.unwrap().unwrap().lock_id,
        successor.info().lock_id
    );
}

#[tokio::test(start_paused = true)]
async fn a_state_write_after_someone_elses_write_is_rejected() {
    let world = World::new();
    let (_, a) = world.process();
    let lock = a.lock("app", "run-a").await.unwrap();
    let mut state = lock.load().await.unwrap();
    state.serial = 1;
    lock.save(&state).await.unwrap();
    // Someone writes the object behind the lock's back (another tool, a stale copy).
    let current = world.store.peek("app/state.json").unwrap();
    world.store.poke("app/state.json", current.bytes);
    state.serial = 2;
    let err = lock.save(&state).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains("nothing was overwritten"), "{err}");
    assert_eq!(world.state_object("app")["state"]["serial"], 1);
}

#[tokio::test(start_paused = true)]
async fn force_unlock_needs_the_lock_id_says_what_it_overrode_and_the_next_run_records_it() {
    let world = World::new();
    let (_, a) = world.process();
    let (_, ops) = world.process();
    let held = a.lock("app", "run-a").await.unwrap();
    let id = held.info().lock_id;
    let err = ops
        .force_unlock("app", "0123456789abcdef")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotTheLock { .. }), "{err}");
    assert!(err.to_string().contains("run run-a"), "{err}");
    let overrode = ops.force_unlock("app", &id).await.unwrap();
    assert_eq!(overrode.run_id, "run-a");
    assert_eq!(ops.holder("app").await.unwrap(), None);
    let err = ops.force_unlock("app", &id).await.unwrap_err();
    assert!(err.to_string().contains("already released"), "{err}");
    // The holder finds out at its next renewal.
    pass(LeaseConfig::new(LEASE).renew_every).await;
    let err = held.append(&begin("vpc")).await.unwrap_err();
    assert!(err.to_string().contains("force-unlock"), "{err}");
    let next = ops.lock("app", "run-c").await.unwrap();
    let event = next.took_over().unwrap();
    assert_eq!(event.kind, LockEventKind::ForceUnlocked);
    assert!(event.to_string().contains("force-unlocked by"), "{event}");
    assert_eq!(
        world.state_object("app")["history"][0]["kind"],
        "force_unlocked"
    );
}

/// Between a force-unlock and its next renewal, a holder still believes in its
/// lease; a state write checks the lock first, so it cannot overwrite the next run's.
#[tokio::test(start_paused = true)]
async fn a_state_write_checks_the_lock_before_writing() {
    let world = World::new();
    let (_, a) = world.process();
    let (_, ops) = world.process();
    let held = a.lock("app", "run-a").await.unwrap();
    ops.force_unlock("app", &held.info().lock_id).await.unwrap();
    let next = ops.lock("app", "run-b").await.unwrap();
    let err = held.save(&State::empty("app")).await.unwrap_err();
    let StoreError::LockLost { reason, .. } = &err else {
        panic!("{err}")
    };
    assert!(reason.contains("run run-b"), "{reason}");
    assert_eq!(
        world.state_object("app")["history"][0]["kind"],
        "force_unlocked"
    );
    next.release().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn writes_whose_answer_was_lost_are_recognised_as_this_runs() {
    let world = World::new();
    let (conn, a) = world.process();
    conn.lose_answers(1);
    let lock = a.lock("app", "run-a").await.expect("its own lock, found");
    conn.lose_answers(1);
    lock.append(&begin("vpc"))
        .await
        .expect("its own record, found");
    let mut state = lock.load().await.unwrap();
    state.serial = 7;
    conn.lose_answers(1);
    lock.save(&state).await.expect("its own write, found");
    conn.lose_answers(1);
    pass(LeaseConfig::new(LEASE).renew_every * 3).await;
    lock.append(&begin("vpc")).await.expect("still its lock");
    lock.release().await.unwrap();
    assert!(world.store.peek("app/lock.json").is_none());
}

/// What each step costs, in store calls (S3 requests).
#[tokio::test(start_paused = true)]
async fn each_step_costs_a_few_calls() {
    let world = World::new();
    let (_, a) = world.process();
    let count = |before: &BTreeMap<&'static str, u64>| -> BTreeMap<&'static str, u64> {
        world
            .calls()
            .into_iter()
            .map(|(k, v)| (k, v - before.get(k).copied().unwrap_or(0)))
            .filter(|(_, v)| *v > 0)
            .collect()
    };
    let before = world.calls();
    let lock = a.lock("app", "run-a").await.unwrap();
    assert_eq!(count(&before), BTreeMap::from([("put", 1)]), "lock");
    let before = world.calls();
    let mut state = lock.load().await.unwrap();
    lock.load().await.unwrap();
    assert_eq!(
        count(&before),
        BTreeMap::from([("get", 1), ("list", 1)]),
        "read"
    );
    let before = world.calls();
    lock.append(&begin("vpc")).await.unwrap();
    assert_eq!(
        count(&before),
        BTreeMap::from([("put", 1)]),
        "journal record"
    );
    let before = world.calls();
    state.serial = 1;
    lock.save(&state).await.unwrap();
    assert_eq!(
        count(&before),
        BTreeMap::from([("get", 1), ("put", 1), ("delete_many", 1)]),
        "write: the lock checked, the state written, the journal folded away"
    );
    let before = world.calls();
    lock.release().await.unwrap();
    assert_eq!(count(&before), BTreeMap::from([("delete", 1)]), "release");
    let (_, b) = world.process();
    let before = world.calls();
    b.read("app").await.unwrap();
    assert_eq!(
        count(&before),
        BTreeMap::from([("get", 1), ("list", 1)]),
        "unlocked read"
    );
}

/// The executor over the object backend: a run killed mid-apply (its connection cut,
/// a create made but unrecorded), then another process takes over after the lease
/// and converges with no duplicate.
#[tokio::test(start_paused = true)]
async fn an_apply_killed_midway_is_taken_over_and_converges_without_duplicates() {
    let world = World::new();
    let cloud = Arc::new(FakeCloud::new());
    cloud.set_latency(Duration::from_millis(20));
    let stack = stack();
    let graph = ResourceGraph::build(&stack).unwrap();
    let (a_conn, a) = world.process();
    let lock: Arc<StackLock> = Arc::new(a.lock("app", "run-a").await.unwrap());
    let p = plan(&graph, &lock.load().await.unwrap());
    cloud.hang_after(FakeOp::Create, "subnet-1");
    let run = apply(cloud.clone(), lock, &p, options(), Arc::new(NoObserver));
    tokio::select! {
        report = run => panic!("the run ended: {report:?}"),
        () = cloud.hung() => {}
    }
    a_conn.cut(); // killed: the run is gone, nothing more reaches the store
    assert_eq!(cloud.count("app", "subnet-1"), 1);
    assert!(!world.journal_keys("app").is_empty());

    let (_, b) = world.process();
    assert!(matches!(
        b.lock("app", "run-b").await,
        Err(StoreError::Locked { .. })
    ));
    pass(LEASE + Duration::from_secs(2)).await;
    let lock = Arc::new(b.lock("app", "run-b").await.unwrap());
    assert!(lock.took_over().is_some());
    let state = lock.load().await.unwrap();
    assert!(state.resources["subnet-1"].pending.is_some(), "{state:?}");
    let p = plan(&graph, &state);
    let report = apply(
        cloud.clone(),
        lock.clone(),
        &p,
        options(),
        Arc::new(NoObserver),
    )
    .await
    .unwrap();
    assert!(report.is_success(), "{report:?}");
    for id in ["vpc", "subnet-0", "subnet-1", "subnet-2"] {
        assert_eq!(cloud.count("app", id), 1, "{id}");
    }
    assert!(plan(&graph, &lock.load().await.unwrap()).is_empty());
    assert!(world.journal_keys("app").is_empty());
    lock.release().await.unwrap();
}

/// A run whose lock is taken over mid-apply starts nothing more and saves nothing.
#[tokio::test(start_paused = true)]
async fn an_apply_whose_lock_is_force_unlocked_stops_before_its_next_call() {
    let world = World::new();
    let cloud = Arc::new(FakeCloud::new());
    cloud.set_latency(Duration::from_secs(3));
    let stack = stack();
    let graph = ResourceGraph::build(&stack).unwrap();
    let (_, a) = world.process();
    let lock: Arc<StackLock> = Arc::new(a.lock("app", "run-a").await.unwrap());
    let id = lock.info().lock_id;
    let p = plan(&graph, &lock.load().await.unwrap());
    let (_, ops) = world.process();
    let run = apply(
        cloud.clone(),
        lock,
        &p,
        ApplyOptions {
            concurrency: 1,
            ..options()
        },
        Arc::new(NoObserver),
    );
    let unlock = async {
        // While the vpc is being created (3 s): removed; renewal notices at 2 s.
        tokio::time::sleep(Duration::from_millis(500)).await;
        ops.force_unlock("app", &id).await.unwrap();
    };
    let (result, ()) = tokio::join!(run, unlock);
    let err = result.unwrap_err();
    assert!(
        matches!(err, ApplyError::Store(StoreError::LockLost { .. })),
        "{err}"
    );
    assert_eq!(cloud.count("app", "vpc"), 1, "the call in flight finished");
    for id in ["subnet-0", "subnet-1", "subnet-2"] {
        assert_eq!(cloud.count("app", id), 0, "{id} never started");
    }
    assert!(
        world.store.peek("app/state.json").is_none(),
        "nothing saved"
    );
}

/// The local store behind the same interface: unlocked reads see the journal,
/// the holder is named while the OS lock is held, and force-unlock explains why
/// an OS lock needs none.
#[tokio::test]
async fn the_local_store_reads_without_its_lock_and_names_its_holder() {
    let dir = tempfile::tempdir().unwrap();
    let store = glinfra_engine::LocalStateStore::new(dir.path());
    let backend: &dyn Backend = &store;
    assert_eq!(backend.holder("app").await.unwrap(), None);
    let held = backend.lock("app", "run-a").await.unwrap();
    held.load().await.unwrap();
    held.append(&begin("vpc")).await.unwrap();
    let holder = backend.holder("app").await.unwrap().expect("held");
    assert_eq!(holder.run_id, "run-a");
    assert_eq!(holder.expires_at, None, "an OS lock has no lease");
    let read = backend.read("app").await.unwrap();
    assert!(read.state.resources["vpc"].pending.is_some());
    let err = backend
        .force_unlock("app", &holder.lock_id)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unsupported(_)), "{err}");
    assert!(
        err.to_string().contains("releases when that process exits"),
        "{err}"
    );
    drop(held);
    assert_eq!(backend.holder("app").await.unwrap(), None);
}
