//! A held remote lock: the stack's state and journal read and written under it,
//! and the background task that renews its lease.
//!
//! Renewal is a write of the lock `If-Match` its ETag. When the store refuses it
//! because the lock is someone else's now (taken over after the lease ran out, or
//! removed with `force-unlock`), the lease is lost for good and every later `begin`
//! journal record is refused, so the run starts no further AWS call. A renewal that
//! fails for another reason is retried; once the lease is within its margin of
//! running out, `begin` records are refused until a renewal gets through.

use super::error::StoreError;
use super::lease::{renewal_refused, Clock, Lease, LeaseConfig};
use super::lock::{LockEvent, LockInfo};
use super::object::{Condition, ObjectError, ObjectStore};
use super::remote::{fetch, remote, retry, Keys, StateObject, STATE_HISTORY_LIMIT};
use super::LockedStack;
use crate::journal::{replay, JournalRecord};
use async_trait::async_trait;
use glinfra_core::state::State;
use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The snapshot this run last read or wrote, with what it journaled since.
#[derive(Debug)]
struct Snapshot {
    state: State,
    etag: Option<String>,
    generation: u64,
    history: Vec<crate::backend::LockEvent>,
    /// Journal keys to delete once folded into a written snapshot.
    journal: Vec<String>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
    keys: Keys,
    lock_id: String,
    /// The lock as written, and its ETag.
    current: Mutex<(LockInfo, String)>,
    lease: Mutex<Lease>,
    cache: tokio::sync::Mutex<Option<Snapshot>>,
    /// A takeover not yet recorded in the state's history.
    unrecorded: Mutex<Option<LockEvent>>,
    seq: AtomicU64,
    stop: Notify,
    renewal: Mutex<Option<JoinHandle<()>>>,
    released: AtomicBool,
}

/// A held lock of an [`ObjectBackend`](super::ObjectBackend).
#[derive(Debug)]
pub(crate) struct RemoteLock {
    inner: Arc<Inner>,
}

impl RemoteLock {
    /// The lock `info`, just written with `etag`: starts renewing its lease.
    pub fn start(
        store: Arc<dyn ObjectStore>,
        clock: Arc<dyn Clock>,
        config: LeaseConfig,
        keys: Keys,
        info: LockInfo,
        etag: String,
    ) -> Self {
        let expires = info.expires_at.unwrap_or_else(|| clock.now());
        let inner = Arc::new(Inner {
            store,
            clock,
            keys,
            lock_id: info.lock_id.clone(),
            unrecorded: Mutex::new(info.took_over.as_deref().cloned()),
            current: Mutex::new((info, etag)),
            lease: Mutex::new(Lease::new(config, expires)),
            cache: tokio::sync::Mutex::new(None),
            seq: AtomicU64::new(0),
            stop: Notify::new(),
            renewal: Mutex::new(None),
            released: AtomicBool::new(false),
        });
        // The first renewal is due one interval after the lock was written.
        let first = tokio::time::Instant::now() + config.renew_every;
        let task = tokio::spawn(renew(inner.clone(), first));
        *inner.renewal.lock().expect("renewal lock") = Some(task);
        RemoteLock { inner }
    }

    /// Loads the state now (folding the journal, recording a takeover).
    pub async fn load_now(&self) -> Result<State, StoreError> {
        self.inner.load().await
    }
}

impl Drop for RemoteLock {
    fn drop(&mut self) {
        if self.inner.released.load(Ordering::SeqCst) {
            return;
        }
        // Released as soon as the runtime can; if it cannot (the process is
        // exiting), the lease runs out and the next run takes the lock over.
        self.inner.stop.notify_one();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let inner = self.inner.clone();
            runtime.spawn(async move {
                if let Err(e) = inner.release().await {
                    tracing::warn!("{e}");
                }
            });
        }
    }
}

/// Renews the lease until stopped or lost.
async fn renew(inner: Arc<Inner>, first: tokio::time::Instant) {
    let mut due = first;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(due) => {}
            () = inner.stop.notified() => return,
        }
        let now = inner.clock.now();
        let (info, etag) = inner.current.lock().expect("lock info").clone();
        let config = *inner.lease.lock().expect("lease lock").config();
        let renewed = info.renewed(now, config.lease);
        let bytes = serde_json::to_vec_pretty(&renewed).expect("locks serialise");
        let mut failed = true;
        match inner
            .store
            .put(&inner.keys.lock, bytes, Condition::Matches(etag))
            .await
        {
            Ok(etag) => {
                let expires = renewed.expires_at.expect("a renewed lock has a lease");
                *inner.current.lock().expect("lock info") = (renewed, etag);
                inner.lease.lock().expect("lease lock").renewed(expires);
                failed = false;
            }
            Err(ObjectError::Changed(_)) => match inner.store.get(&inner.keys.lock).await {
                Ok(found) => {
                    let found = found.and_then(|o| {
                        serde_json::from_slice::<LockInfo>(&o.bytes)
                            .ok()
                            .map(|i| (i, o.etag))
                    });
                    match renewal_refused(found.as_ref().map(|(i, _)| i), &inner.lock_id) {
                        // Ours: an earlier renewal whose answer was lost landed.
                        None => {
                            *inner.current.lock().expect("lock info") = found.expect("ours");
                        }
                        Some(reason) => {
                            tracing::warn!(
                                "the lock of stack `{}` is lost: {reason}; starting nothing more",
                                inner.keys.stack
                            );
                            inner.lease.lock().expect("lease lock").lose(reason);
                            return;
                        }
                    }
                }
                Err(e) => tracing::warn!(
                    "could not read the lock of stack `{}`: {e}",
                    inner.keys.stack
                ),
            },
            Err(e) => tracing::warn!(
                "could not renew the lock of stack `{}`: {e}; retrying",
                inner.keys.stack
            ),
        }
        let delay = inner
            .lease
            .lock()
            .expect("lease lock")
            .next_renewal_in(inner.clock.now(), failed);
        due = tokio::time::Instant::now() + delay;
    }
}

impl Inner {
    fn lost(&self, reason: String) -> StoreError {
        StoreError::LockLost {
            stack: self.keys.stack.clone(),
            reason,
        }
    }

    async fn load(&self) -> Result<State, StoreError> {
        let mut cache = self.cache.lock().await;
        self.ensure_loaded(&mut cache).await?;
        Ok(cache.as_ref().expect("loaded").state.clone())
    }

    /// Reads the snapshot and journal once; folds pending records (and records a
    /// takeover) into a new snapshot.
    async fn ensure_loaded(&self, cache: &mut Option<Snapshot>) -> Result<(), StoreError> {
        if cache.is_some() {
            return Ok(());
        }
        let fetched = fetch(&*self.store, &self.keys).await?;
        let state = fetched.state(&self.keys.stack);
        let mut journal: Vec<String> = fetched.pending.iter().map(|(k, _)| k.clone()).collect();
        let fold = !journal.is_empty() || self.unrecorded.lock().expect("event").is_some();
        journal.extend(fetched.stale.iter().cloned());
        let snapshot = cache.insert(Snapshot {
            state: state.clone(),
            etag: fetched.etag.clone(),
            generation: fetched.generation(),
            history: fetched.object.map(|o| o.history).unwrap_or_default(),
            journal,
        });
        if fold {
            self.write(snapshot, state).await
        } else {
            self.clear_journal(snapshot).await;
            Ok(())
        }
    }

    /// Deletes the journal records folded into the snapshot. Best effort: records
    /// of an older generation are ignored anyway.
    async fn clear_journal(&self, snapshot: &mut Snapshot) {
        let keys = std::mem::take(&mut snapshot.journal);
        if keys.is_empty() {
            return;
        }
        let store = &*self.store;
        if let Err(e) = retry(|| store.delete_many(&keys)).await {
            tracing::warn!(
                "could not delete {} folded journal records under {}: {e} (they are ignored)",
                keys.len(),
                store.location(&self.keys.journal)
            );
        }
    }

    /// Reads the lock object: refuses once it is someone else's (taken over, or
    /// removed with force-unlock since the last renewal).
    async fn verify_held(&self) -> Result<(), StoreError> {
        let store = &*self.store;
        let key = &self.keys.lock;
        let found = retry(|| store.get(key))
            .await
            .map_err(|e| remote(store, key, e))?
            .and_then(|o| {
                serde_json::from_slice::<LockInfo>(&o.bytes)
                    .ok()
                    .map(|i| (i, o.etag))
            });
        match renewal_refused(found.as_ref().map(|(i, _)| i), &self.lock_id) {
            None => {
                *self.current.lock().expect("lock info") = found.expect("ours");
                Ok(())
            }
            Some(reason) => {
                self.lease.lock().expect("lease lock").lose(reason.clone());
                Err(self.lost(reason))
            }
        }
    }

    /// Writes `state` as the next generation, conditionally on the version read,
    /// once the lock is checked to be still this run's.
    async fn write(&self, snapshot: &mut Snapshot, state: State) -> Result<(), StoreError> {
        if let Some(reason) = self.lease.lock().expect("lease lock").lost_reason() {
            return Err(self.lost(reason));
        }
        self.verify_held().await?;
        let event = self.unrecorded.lock().expect("event").clone();
        let mut history = snapshot.history.clone();
        if let Some(e) = &event {
            history.push(e.clone());
            let over = history.len().saturating_sub(STATE_HISTORY_LIMIT);
            history.drain(..over);
        }
        let object = StateObject {
            generation: snapshot.generation + 1,
            state,
            history,
        };
        let bytes = serde_json::to_vec_pretty(&object).expect("state serialises");
        let condition = match &snapshot.etag {
            Some(etag) => Condition::Matches(etag.clone()),
            None => Condition::Absent,
        };
        let store = &*self.store;
        let key = &self.keys.state;
        let etag = match retry(|| store.put(key, bytes.clone(), condition.clone())).await {
            Ok(etag) => etag,
            Err(ObjectError::Changed(detail)) => {
                // A retried write whose first attempt landed finds its own bytes.
                match retry(|| store.get(key)).await {
                    Ok(Some(o)) if o.bytes == bytes => o.etag,
                    _ => return Err(self.conflict(&snapshot.etag, &detail).await),
                }
            }
            Err(e) => return Err(remote(store, key, e)),
        };
        if event.is_some() {
            self.unrecorded.lock().expect("event").take();
        }
        snapshot.etag = Some(etag);
        snapshot.generation = object.generation;
        snapshot.history = object.history;
        snapshot.state = object.state;
        self.clear_journal(snapshot).await;
        Ok(())
    }

    /// The conflict error, naming who holds the lock now if anyone else does.
    async fn conflict(&self, read: &Option<String>, detail: &str) -> StoreError {
        let store = &*self.store;
        let holder = match store.get(&self.keys.lock).await {
            Ok(Some(o)) => serde_json::from_slice::<LockInfo>(&o.bytes)
                .ok()
                .filter(|i| i.lock_id != self.lock_id && i.released.is_none())
                .map(|i| format!("; its lock is now held by {}", i.who()))
                .unwrap_or_default(),
            _ => String::new(),
        };
        StoreError::Conflict {
            stack: self.keys.stack.clone(),
            location: store.location(&self.keys.state),
            detail: format!(
                "this run read version {}, the store answered {detail}{holder}",
                read.as_deref().unwrap_or("(none: a new stack)")
            ),
        }
    }

    async fn release(&self) -> Result<(), StoreError> {
        if self.released.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.stop.notify_one();
        let task = self.renewal.lock().expect("renewal lock").take();
        if let Some(task) = task {
            let _ = task.await;
        }
        if self.lease.lock().expect("lease lock").is_lost() {
            return Ok(()); // someone else's now: nothing of ours to delete
        }
        let store = &*self.store;
        let key = &self.keys.lock;
        for _ in 0..3 {
            let etag = self.current.lock().expect("lock info").1.clone();
            let condition = Condition::Matches(etag);
            match retry(|| store.delete(key, condition.clone())).await {
                Ok(()) => return Ok(()),
                Err(ObjectError::Changed(_)) => {
                    // Ours under another ETag (a renewal's lost answer), or not ours.
                    let found = retry(|| store.get(key))
                        .await
                        .map_err(|e| remote(store, key, e))?
                        .and_then(|o| {
                            serde_json::from_slice::<LockInfo>(&o.bytes)
                                .ok()
                                .map(|i| (i, o.etag))
                        });
                    match found {
                        Some((info, etag))
                            if renewal_refused(Some(&info), &self.lock_id).is_none() =>
                        {
                            *self.current.lock().expect("lock info") = (info, etag);
                        }
                        _ => return Ok(()),
                    }
                }
                Err(e) => return Err(remote(store, key, e)),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl LockedStack for RemoteLock {
    fn stack(&self) -> &str {
        &self.inner.keys.stack
    }

    fn info(&self) -> LockInfo {
        self.inner.current.lock().expect("lock info").0.clone()
    }

    fn journal_location(&self) -> String {
        self.inner.store.location(&self.inner.keys.journal)
    }

    async fn load(&self) -> Result<State, StoreError> {
        self.inner.load().await
    }

    async fn append(&self, record: &JournalRecord) -> Result<(), StoreError> {
        let inner = &*self.inner;
        if let JournalRecord::Begin { .. } = record {
            // Before every mutating call: is the lock still ours?
            let now = inner.clock.now();
            let checked = inner.lease.lock().expect("lease lock").check(now);
            checked.map_err(|reason| inner.lost(reason))?;
        }
        let key = {
            let mut cache = inner.cache.lock().await;
            inner.ensure_loaded(&mut cache).await?;
            let generation = cache.as_ref().expect("loaded").generation;
            let seq = inner.seq.fetch_add(1, Ordering::SeqCst);
            inner.keys.record(generation, &inner.lock_id, seq)
        };
        let bytes = serde_json::to_vec(record).expect("records serialise");
        let store = &*inner.store;
        match retry(|| store.put(&key, bytes.clone(), Condition::Absent)).await {
            Ok(_) => {}
            Err(ObjectError::Changed(detail)) => match retry(|| store.get(&key)).await {
                // A retried write whose first attempt landed.
                Ok(Some(o)) if o.bytes == bytes => {}
                _ => {
                    return Err(StoreError::Remote {
                        location: store.location(&key),
                        message: format!("the journal record exists already ({detail})"),
                    })
                }
            },
            Err(e) => return Err(remote(store, &key, e)),
        }
        let mut cache = inner.cache.lock().await;
        if let Some(snapshot) = cache.as_mut() {
            snapshot.journal.push(key);
            replay(&mut snapshot.state, record);
        }
        Ok(())
    }

    async fn save(&self, state: &State) -> Result<(), StoreError> {
        let inner = &*self.inner;
        let mut cache = inner.cache.lock().await;
        inner.ensure_loaded(&mut cache).await?;
        inner
            .write(cache.as_mut().expect("loaded"), state.clone())
            .await
    }

    async fn release(&self) -> Result<(), StoreError> {
        self.inner.release().await
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
