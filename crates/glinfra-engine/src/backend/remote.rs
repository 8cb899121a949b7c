//! [`ObjectBackend`]: stacks in an object store with conditional writes (S3).
//!
//! Under the backend's prefix, each stack has:
//!
//! - `STACK/state.json`: the snapshot ([`StateObject`]: the state, a generation
//!   bumped by every write, and the history of lock takeovers), always written
//!   `If-Match` the ETag this run read (`If-None-Match: *` for the first write), so a
//!   lost update is impossible: a writer whose read is stale gets
//!   [`StoreError::Conflict`] and overwrites nothing;
//! - `STACK/journal/GENERATION/LOCKID-SEQ.json`: one object per journal record
//!   (S3 has no append), written `If-None-Match: *` and acknowledged before the call
//!   it announces is made. Records of the snapshot's generation are pending; a write
//!   of the snapshot folds them in (the next generation), after which they are
//!   deleted, and records of another generation are ignored (left by a crash
//!   between the two);
//! - `STACK/lock.json`: the lock ([`LockInfo`]), written `If-None-Match: *`, renewed
//!   `If-Match` its ETag, taken over `If-Match` the expired lock's ETag, released
//!   with a delete `If-Match` its ETag ([`super::remote_lock`]).

use super::error::StoreError;
use super::lease::{judge, Clock, LeaseConfig, SystemClock, Verdict};
use super::lock::{LockEvent, LockEventKind, LockInfo, Released};
use super::object::{Condition, ObjectError, ObjectStore};
use super::remote_lock::RemoteLock;
use super::{Backend, StackLock, StackRead};
use crate::journal::{replay, JournalRecord};
use async_trait::async_trait;
use glinfra_core::state::{State, STATE_SCHEMA_VERSION};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How many lock events a state object keeps (the newest).
pub const STATE_HISTORY_LIMIT: usize = 20;

/// The state object of a stack.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StateObject {
    /// Bumped by every write; pending journal records carry the generation they
    /// were written on top of.
    pub generation: u64,
    /// The state.
    pub state: State,
    /// Lock takeovers, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<LockEvent>,
}

/// The keys of one stack.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    pub stack: String,
    pub state: String,
    pub lock: String,
    pub journal: String,
}

impl Keys {
    pub fn of(stack: &str) -> Self {
        Keys {
            stack: stack.to_string(),
            state: format!("{stack}/state.json"),
            lock: format!("{stack}/lock.json"),
            journal: format!("{stack}/journal/"),
        }
    }

    /// The key of record `seq` of lock `lock_id`, written on top of `generation`.
    pub fn record(&self, generation: u64, lock_id: &str, seq: u64) -> String {
        format!("{}{generation:012}/{lock_id}-{seq:08}.json", self.journal)
    }

    fn generation_of(&self, key: &str) -> Option<u64> {
        key.strip_prefix(&self.journal)?
            .split('/')
            .next()?
            .parse()
            .ok()
    }
}

/// Calls `call` again after transient failures (4 retries, backoff with jitter
/// from 200 ms): the store is not under the executor's retry layer.
pub(crate) async fn retry<T, F, Fut>(mut call: F) -> Result<T, ObjectError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ObjectError>>,
{
    let mut attempt = 0u32;
    loop {
        match call().await {
            Err(ObjectError::Transient(message)) if attempt < 4 => {
                attempt += 1;
                let delay = Duration::from_millis(100 << attempt);
                tracing::debug!("state backend: {message}; retry {attempt} in {delay:?}");
                tokio::time::sleep(delay.mul_f64(0.5 + rand::random::<f64>() / 2.0)).await;
            }
            other => return other,
        }
    }
}

/// A store failure as a [`StoreError`], naming the object.
pub(crate) fn remote(store: &dyn ObjectStore, key: &str, error: ObjectError) -> StoreError {
    StoreError::Remote {
        location: store.location(key),
        message: error.to_string(),
    }
}

pub(crate) fn corrupt(store: &dyn ObjectStore, key: &str, message: impl ToString) -> StoreError {
    StoreError::Corrupt {
        path: PathBuf::from(store.location(key)),
        message: message.to_string(),
    }
}

/// A stack as read: the snapshot, and the journal beside it.
pub(crate) struct Fetched {
    pub object: Option<StateObject>,
    pub etag: Option<String>,
    /// Records of the snapshot's generation, in order, with their keys.
    pub pending: Vec<(String, JournalRecord)>,
    /// Records of other generations: already folded in.
    pub stale: Vec<String>,
}

impl Fetched {
    /// The state with the pending records replayed.
    pub fn state(&self, stack: &str) -> State {
        let mut state = self
            .object
            .as_ref()
            .map(|o| o.state.clone())
            .unwrap_or_else(|| State::empty(stack));
        for (_, record) in &self.pending {
            replay(&mut state, record);
        }
        state
    }

    pub fn generation(&self) -> u64 {
        self.object.as_ref().map_or(0, |o| o.generation)
    }
}

/// Reads a stack's snapshot and journal (a GET, a LIST, and a GET per pending record).
pub(crate) async fn fetch(store: &dyn ObjectStore, keys: &Keys) -> Result<Fetched, StoreError> {
    // A record can vanish between the list and its read when the holder folds the
    // journal meanwhile: read everything again.
    for _ in 0..3 {
        let found = retry(|| store.get(&keys.state))
            .await
            .map_err(|e| remote(store, &keys.state, e))?;
        let listed = retry(|| store.list(&keys.journal))
            .await
            .map_err(|e| remote(store, &keys.journal, e))?;
        let (object, etag) = match found {
            None => (None, None),
            Some(o) => {
                let object: StateObject =
                    serde_json::from_slice(&o.bytes).map_err(|e| corrupt(store, &keys.state, e))?;
                if object.state.schema_version != STATE_SCHEMA_VERSION {
                    return Err(corrupt(
                        store,
                        &keys.state,
                        format!(
                            "schema version {} (this glinfra reads {STATE_SCHEMA_VERSION})",
                            object.state.schema_version
                        ),
                    ));
                }
                (Some(object), Some(o.etag))
            }
        };
        let generation = object.as_ref().map_or(0, |o| o.generation);
        let mut fetched = Fetched {
            object,
            etag,
            pending: Vec::new(),
            stale: Vec::new(),
        };
        let mut vanished = false;
        for key in listed {
            if keys.generation_of(&key) != Some(generation) {
                fetched.stale.push(key);
                continue;
            }
            match retry(|| store.get(&key))
                .await
                .map_err(|e| remote(store, &key, e))?
            {
                Some(o) => {
                    let record =
                        serde_json::from_slice(&o.bytes).map_err(|e| corrupt(store, &key, e))?;
                    fetched.pending.push((key, record));
                }
                None => {
                    vanished = true;
                    break;
                }
            }
        }
        if !vanished {
            return Ok(fetched);
        }
    }
    Err(StoreError::Remote {
        location: store.location(&keys.journal),
        message: "the journal kept changing while it was read; try again".into(),
    })
}

/// Stacks in an [`ObjectStore`]: state, journal and lock objects written
/// conditionally, locks with a renewed lease.
#[derive(Clone, Debug)]
pub struct ObjectBackend {
    store: Arc<dyn ObjectStore>,
    lease: LeaseConfig,
    clock: Arc<dyn Clock>,
}

impl ObjectBackend {
    /// A backend over `store`, with the default lease (60 s, renewed every 20 s).
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        ObjectBackend {
            store,
            lease: LeaseConfig::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same with locks leased as `lease` says.
    pub fn with_lease(mut self, lease: LeaseConfig) -> Self {
        self.lease = lease;
        self
    }

    /// The same judging leases by `clock` (tests pause time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The lease locks are taken with.
    pub fn lease(&self) -> &LeaseConfig {
        &self.lease
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    fn keys(stack: &str) -> Result<Keys, StoreError> {
        match glinfra_core::names::stack_name_problem(stack) {
            Some(problem) => Err(StoreError::InvalidStackName { problem }),
            None => Ok(Keys::of(stack)),
        }
    }

    async fn read_lock(&self, keys: &Keys) -> Result<Option<(LockInfo, String)>, StoreError> {
        let store = &*self.store;
        match retry(|| store.get(&keys.lock))
            .await
            .map_err(|e| remote(store, &keys.lock, e))?
        {
            None => Ok(None),
            Some(o) => {
                let info = serde_json::from_slice(&o.bytes).map_err(|e| {
                    corrupt(
                        store,
                        &keys.lock,
                        format!("{e}: the lock object is not glinfra's; delete it by hand once no run holds the stack"),
                    )
                })?;
                Ok(Some((info, o.etag)))
            }
        }
    }

    async fn acquired(
        &self,
        keys: Keys,
        info: LockInfo,
        etag: String,
    ) -> Result<StackLock, StoreError> {
        let took_over = info.took_over.is_some();
        let lock = RemoteLock::start(
            self.store.clone(),
            self.clock.clone(),
            self.lease,
            keys,
            info,
            etag,
        );
        if took_over {
            // Fold what the previous holder journaled and record the takeover in
            // the state's history now, before anything else happens.
            lock.load_now().await?;
        }
        Ok(StackLock::new(lock))
    }
}

fn held_advice(holder: &LockInfo, takeover_in: Duration) -> String {
    if takeover_in == Duration::MAX {
        return format!(
            "its lock has no lease: once sure that run is gone, remove it with `force-unlock {}`",
            holder.lock_id
        );
    }
    format!(
        "wait for that run to finish. If it was killed, its lease runs out and the next run takes the lock over in {} s; to remove it now, once sure it is gone: `force-unlock {}`",
        takeover_in.as_secs().max(1),
        holder.lock_id
    )
}

#[async_trait]
impl Backend for ObjectBackend {
    fn location(&self) -> String {
        self.store.location("")
    }

    async fn lock(&self, stack: &str, run_id: &str) -> Result<StackLock, StoreError> {
        let keys = Self::keys(stack)?;
        let store = &*self.store;
        let mut mine = LockInfo::mine(stack, run_id, self.clock.now(), Some(self.lease.lease));
        for _ in 0..5 {
            let now = self.clock.now();
            mine.acquired_at = now;
            mine.expires_at =
                Some(now + chrono::Duration::from_std(self.lease.lease).unwrap_or_default());
            mine.took_over = None;
            let bytes = serde_json::to_vec_pretty(&mine).expect("locks serialise");
            match retry(|| store.put(&keys.lock, bytes.clone(), Condition::Absent)).await {
                Ok(etag) => return self.acquired(keys, mine, etag).await,
                Err(ObjectError::Changed(_)) => {}
                Err(e) => return Err(remote(store, &keys.lock, e)),
            }
            let Some((found, etag)) = self.read_lock(&keys).await? else {
                continue; // released meanwhile
            };
            let kind = match judge(&found, &mine.lock_id, now, &self.lease) {
                Verdict::Mine => return self.acquired(keys, mine, etag).await,
                Verdict::Held { takeover_in } => {
                    return Err(StoreError::Locked {
                        stack: stack.to_string(),
                        advice: held_advice(&found, takeover_in),
                        holder: Box::new(found),
                    })
                }
                Verdict::Expired { .. } => LockEventKind::LeaseExpired,
                Verdict::Released => LockEventKind::ForceUnlocked,
            };
            let mut previous = found;
            previous.took_over = None;
            mine.took_over = Some(Box::new(LockEvent {
                kind,
                at: now,
                by: mine.who(),
                previous,
            }));
            let bytes = serde_json::to_vec_pretty(&mine).expect("locks serialise");
            let condition = Condition::Matches(etag);
            match retry(|| store.put(&keys.lock, bytes.clone(), condition.clone())).await {
                Ok(etag) => return self.acquired(keys, mine, etag).await,
                Err(ObjectError::Changed(_)) => {} // another run took it first: look again
                Err(e) => return Err(remote(store, &keys.lock, e)),
            }
        }
        Err(StoreError::Remote {
            location: store.location(&keys.lock),
            message: "the lock kept changing while this run tried to take it; try again".into(),
        })
    }

    async fn read(&self, stack: &str) -> Result<StackRead, StoreError> {
        let keys = Self::keys(stack)?;
        let fetched = fetch(&*self.store, &keys).await?;
        Ok(StackRead {
            state: fetched.state(stack),
            version: fetched.etag.clone(),
            history: fetched.object.map(|o| o.history).unwrap_or_default(),
        })
    }

    async fn holder(&self, stack: &str) -> Result<Option<LockInfo>, StoreError> {
        let keys = Self::keys(stack)?;
        Ok(self
            .read_lock(&keys)
            .await?
            .map(|(info, _)| info)
            .filter(|info| info.released.is_none()))
    }

    async fn force_unlock(&self, stack: &str, lock_id: &str) -> Result<LockInfo, StoreError> {
        let keys = Self::keys(stack)?;
        let store = &*self.store;
        for _ in 0..5 {
            let Some((found, etag)) = self.read_lock(&keys).await? else {
                return Err(StoreError::NotTheLock {
                    stack: stack.to_string(),
                    found: "no lock is held".into(),
                });
            };
            if let Some(r) = &found.released {
                return Err(StoreError::NotTheLock {
                    stack: stack.to_string(),
                    found: format!(
                        "lock {} was already released by {} at {}",
                        found.lock_id,
                        r.by,
                        r.at.to_rfc3339()
                    ),
                });
            }
            if found.lock_id != lock_id {
                return Err(StoreError::NotTheLock {
                    stack: stack.to_string(),
                    found: format!("the current lock is held by {found}"),
                });
            }
            // A tombstone, not a delete: the next run that takes the stack records
            // whose lock was removed, by whom.
            let me = LockInfo::mine(stack, "", self.clock.now(), None);
            let tombstone = LockInfo {
                released: Some(Released {
                    by: me.who(),
                    at: me.acquired_at,
                }),
                ..found.clone()
            };
            let bytes = serde_json::to_vec_pretty(&tombstone).expect("locks serialise");
            let condition = Condition::Matches(etag);
            match retry(|| store.put(&keys.lock, bytes.clone(), condition.clone())).await {
                Ok(_) => return Ok(found),
                Err(ObjectError::Changed(_)) => {} // renewed meanwhile: look again
                Err(e) => return Err(remote(store, &keys.lock, e)),
            }
        }
        Err(StoreError::Remote {
            location: store.location(&keys.lock),
            message: "the lock kept changing; try again".into(),
        })
    }
}
