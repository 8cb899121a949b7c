//! State backends: where each stack's state, journal and lock live.
//!
//! A [`Backend`] hands out [`StackLock`]s (the only way to change a stack's state),
//! reads a stack's state without its lock (plans, and later other stacks' outputs),
//! says who holds a lock, and removes a stuck one (`force-unlock`). Two exist:
//!
//! - [`LocalStateStore`](crate::store::LocalStateStore), the default: a directory,
//!   an `flock` per stack, an fsynced journal file;
//! - [`ObjectBackend`] over any [`ObjectStore`] with conditional writes (S3, in
//!   `glinfra-aws`): one state object per stack written `If-Match` the ETag it read,
//!   one object per journal record, and a lock object written `If-None-Match: *`
//!   holding a lease its holder renews ([`lease`]).

pub mod error;
pub mod lease;
pub mod lock;
pub mod object;
mod remote;
mod remote_lock;

pub use error::StoreError;
pub use lease::{Clock, LeaseConfig, SystemClock, TokioClock};
pub use lock::{LockEvent, LockEventKind, LockInfo, Released};
pub use object::{Condition, Object, ObjectError, ObjectStore};
pub use remote::{ObjectBackend, STATE_HISTORY_LIMIT};

use crate::journal::JournalRecord;
use async_trait::async_trait;
use glinfra_core::state::State;
use std::any::Any;

/// A stack's state read without its lock.
#[derive(Clone, Debug, PartialEq)]
pub struct StackRead {
    /// The state: the last snapshot with the journal's records replayed (nothing
    /// is written back).
    pub state: State,
    /// The snapshot's version (the ETag of a remote state object), if any.
    pub version: Option<String>,
    /// The lock events recorded in the state's history (takeovers), oldest first.
    pub history: Vec<LockEvent>,
}

/// Where stacks' state lives.
#[async_trait]
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Where, for messages: a directory, `s3://bucket/prefix`.
    fn location(&self) -> String;

    /// Takes `stack`'s lock for run `run_id` at once, or fails naming its holder
    /// ([`StoreError::Locked`]). A remote lock whose lease has expired is taken over,
    /// and the takeover recorded ([`StackLock::took_over`]).
    async fn lock(&self, stack: &str, run_id: &str) -> Result<StackLock, StoreError>;

    /// Reads `stack`'s state without its lock; writes nothing.
    async fn read(&self, stack: &str) -> Result<StackRead, StoreError>;

    /// Who holds `stack`'s lock now, if anyone.
    async fn holder(&self, stack: &str) -> Result<Option<LockInfo>, StoreError>;

    /// Removes `stack`'s lock when its id is `lock_id` (so that no one removes a lock
    /// by accident); returns the lock it overrode. The run that held it finds out at
    /// its next renewal and starts nothing more.
    async fn force_unlock(&self, stack: &str, lock_id: &str) -> Result<LockInfo, StoreError>;
}

/// A held stack lock, as one backend implements it.
#[async_trait]
pub trait LockedStack: Send + Sync + std::fmt::Debug + Any {
    /// The stack.
    fn stack(&self) -> &str;
    /// The lock as written now.
    fn info(&self) -> LockInfo;
    /// Where the journal lives, for messages.
    fn journal_location(&self) -> String;
    /// The state: the snapshot with every journal record since replayed on top.
    async fn load(&self) -> Result<State, StoreError>;
    /// Makes `record` durable before returning. A `begin` record is refused once
    /// the lock is no longer this run's.
    async fn append(&self, record: &JournalRecord) -> Result<(), StoreError>;
    /// Writes `state` as the new snapshot (conditionally on the version read, for a
    /// remote backend) and empties the journal.
    async fn save(&self, state: &State) -> Result<(), StoreError>;
    /// Releases the lock (idempotent).
    async fn release(&self) -> Result<(), StoreError>;
    /// For downcasting to the backend's own type.
    fn as_any(&self) -> &dyn Any;
}

/// A held stack lock: the only way to read or write the stack's state under its lock.
#[derive(Debug)]
pub struct StackLock {
    inner: Box<dyn LockedStack>,
}

impl StackLock {
    /// Wraps a backend's lock.
    pub fn new(inner: impl LockedStack + 'static) -> Self {
        StackLock {
            inner: Box::new(inner),
        }
    }

    /// The stack's name.
    pub fn stack(&self) -> &str {
        self.inner.stack()
    }

    /// The lock as written now (id, holder, lease).
    pub fn info(&self) -> LockInfo {
        self.inner.info()
    }

    /// The lock this one took over (its lease had expired, or it was force-unlocked).
    pub fn took_over(&self) -> Option<LockEvent> {
        self.inner.info().took_over.map(|e| *e)
    }

    /// Where the journal lives.
    pub fn journal_location(&self) -> String {
        self.inner.journal_location()
    }

    /// Loads the state: the last snapshot with every journal record since replayed.
    pub async fn load(&self) -> Result<State, StoreError> {
        self.inner.load().await
    }

    /// Appends a journal record, durable before this returns.
    pub async fn append(&self, record: &JournalRecord) -> Result<(), StoreError> {
        self.inner.append(record).await
    }

    /// Writes `state` as the new snapshot and empties the journal.
    pub async fn save(&self, state: &State) -> Result<(), StoreError> {
        self.inner.save(state).await
    }

    /// Releases the lock now (dropping it releases it too, as soon as it can).
    pub async fn release(&self) -> Result<(), StoreError> {
        self.inner.release().await
    }

    /// Forgets resource `id` without deleting it (`state rm`): it stays in AWS,
    /// no longer managed by this stack, and refresh neither reports it nor plans
    /// its deletion (it is recorded as released). It keeps its ownership tags, so a
    /// program that still declares `id` adopts it back on its next apply.
    pub async fn forget(&self, id: &str) -> Result<(), StoreError> {
        let mut state = self.load().await?;
        let Some(gone) = state.resources.remove(id) else {
            return Err(StoreError::NotRecorded {
                stack: state.stack,
                id: id.to_string(),
            });
        };
        state.released.insert(id.to_string(), gone.outputs);
        state.serial += 1;
        self.save(&state).await
    }

    /// The backend's own lock type (`LocalLock`, say), for its particular methods.
    pub fn downcast<T: LockedStack>(&self) -> Option<&T> {
        self.inner.as_any().downcast_ref()
    }
}
