//! Scaffolding the engine's lifecycle tests share (`mod support;` in each): a local
//! state store in a temporary directory beside a fake cloud, retries fast enough for
//! a test, and the `begin` record a killed create leaves in the journal. Each test
//! adds the methods of its own to [`World`].
#![allow(dead_code)]

use glinfra_core::{Declaration, Mutation};
use glinfra_engine::fake::FakeCloud;
use glinfra_engine::journal::JournalRecord;
use glinfra_engine::{ApplyOptions, LocalStateStore, RetryPolicy, StackLock};
use std::sync::Arc;
use std::time::Duration;

/// One stack's local state store (in a directory removed with it) and a fake cloud.
pub struct World {
    _dir: tempfile::TempDir,
    /// The stack whose lock [`World::lock`] takes.
    pub stack: &'static str,
    pub store: LocalStateStore,
    pub cloud: Arc<FakeCloud>,
}

impl World {
    /// An empty store for the stack `stack` and an empty cloud.
    pub fn of(stack: &'static str) -> World {
        let dir = tempfile::tempdir().unwrap();
        World {
            store: LocalStateStore::new(dir.path().join("state")),
            _dir: dir,
            stack,
            cloud: Arc::new(FakeCloud::new()),
        }
    }

    /// The stack's lock (free: an earlier run finished or was dropped).
    pub fn lock(&self) -> Arc<StackLock> {
        Arc::new(self.store.lock(self.stack).unwrap())
    }
}

/// Apply options retrying five times, a few milliseconds apart.
pub fn fast_options() -> ApplyOptions {
    ApplyOptions {
        retry: RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        ..ApplyOptions::default()
    }
}

/// The `begin` record of a create of `decl` by the run `run_id` (first begun at the
/// state serial `since_serial`), as a run killed during the call leaves it.
pub fn begin_create(decl: &Declaration, run_id: &str, since_serial: Option<u64>) -> JournalRecord {
    JournalRecord::Begin {
        resource: decl.id.clone(),
        operation: Mutation::Create,
        run_id: run_id.into(),
        at: "t".into(),
        kind: decl.kind,
        region: decl.region.clone(),
        props: decl.props.value(),
        tags: decl.tags.clone(),
        dependencies: Default::default(),
        lifecycle: Default::default(),
        since_serial,
    }
}
