//! The object store a remote backend keeps stacks in (S3 in `glinfra-aws`): whole
//! objects read with their ETag and written conditionally on it.

use async_trait::async_trait;

/// An object's bytes and its ETag (the version a conditional write names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// The content.
    pub bytes: Vec<u8>,
    /// Its ETag, as the store gave it.
    pub etag: String,
}

/// The condition a write or delete is made under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Whatever is there (used for nothing that matters: see the callers).
    Always,
    /// Only if no object exists at the key (`If-None-Match: *`).
    Absent,
    /// Only if the object's ETag is this one (`If-Match`).
    Matches(String),
}

/// How an object-store call failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The condition did not hold: the object exists (for `Absent`), or is not the
    /// version named or is gone (for `Matches`). (S3: 412 PreconditionFailed, or 404
    /// NoSuchKey for an `If-Match` on a missing key.)
    #[error("the object changed: {0}")]
    Changed(String),
    /// Worth trying again: throttling, a timeout, a 5xx, or S3's 409
    /// ConditionalRequestConflict (a concurrent conditional write in flight).
    #[error("{0}")]
    Transient(String),
    /// Not worth trying again: permissions, no such bucket, a bad request.
    #[error("{0}")]
    Failed(String),
}

/// A key-value store of whole objects with conditional writes.
#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// Where `key` lives, for messages (`s3://bucket/prefix/key`).
    fn location(&self, key: &str) -> String;
    /// The object at `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<Object>, ObjectError>;
    /// Writes `bytes` at `key` under `condition`; the new ETag.
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> Result<String, ObjectError>;
    /// Deletes `key` under `condition` (`Always`: deleting nothing succeeds).
    async fn delete(&self, key: &str, condition: Condition) -> Result<(), ObjectError>;
    /// Deletes every key of `keys` (unconditionally; missing ones are fine).
    async fn delete_many(&self, keys: &[String]) -> Result<(), ObjectError>;
    /// The keys under `prefix`, in order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError>;
}

/// An in-memory [`ObjectStore`] with S3's conditional semantics, for tests. Each
/// [`MemoryStore::connection`] shares the objects and call counts and can be cut
/// (every call then fails as a network failure would), which is how a test kills
/// a process.
#[cfg(any(test, feature = "test-util"))]
pub use memory::MemoryStore;

#[cfg(any(test, feature = "test-util"))]
mod memory {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    #[derive(Debug, Default)]
    struct Shared {
        objects: Mutex<BTreeMap<String, Object>>,
        calls: Mutex<BTreeMap<&'static str, u64>>,
        next: AtomicU64,
        lose: AtomicU64,
    }

    /// See [`super::MemoryStore`].
    #[derive(Clone, Debug, Default)]
    pub struct MemoryStore {
        shared: Arc<Shared>,
        cut: Arc<AtomicBool>,
    }

    impl MemoryStore {
        /// An empty store.
        pub fn new() -> Self {
            Self::default()
        }

        /// Another connection to the same objects, with its own [`MemoryStore::cut`].
        pub fn connection(&self) -> Self {
            MemoryStore {
                shared: self.shared.clone(),
                cut: Arc::new(AtomicBool::new(false)),
            }
        }

        /// From now on every call of this connection fails (a killed process).
        pub fn cut(&self) {
            self.cut.store(true, Ordering::SeqCst);
        }

        /// Connected again (a process that was only stalled).
        pub fn restore(&self) {
            self.cut.store(false, Ordering::SeqCst);
        }

        /// The next `n` writes (puts) take effect and then fail as if their answer
        /// was lost (a timeout after the store applied them).
        pub fn lose_answers(&self, n: u64) {
            self.shared.lose.store(n, Ordering::SeqCst);
        }

        /// Calls so far, by operation (`get`, `put`, `delete`, `delete_many`, `list`).
        pub fn calls(&self) -> BTreeMap<&'static str, u64> {
            self.shared.calls.lock().unwrap().clone()
        }

        /// Every key stored.
        pub fn keys(&self) -> Vec<String> {
            self.shared
                .objects
                .lock()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        }

        /// The object at `key`, bypassing counts and cuts.
        pub fn peek(&self, key: &str) -> Option<Object> {
            self.shared.objects.lock().unwrap().get(key).cloned()
        }

        /// Writes `key` directly, as another tool would.
        pub fn poke(&self, key: &str, bytes: Vec<u8>) {
            let etag = self.etag();
            self.shared
                .objects
                .lock()
                .unwrap()
                .insert(key.to_string(), Object { bytes, etag });
        }

        fn etag(&self) -> String {
            format!("\"{}\"", self.shared.next.fetch_add(1, Ordering::SeqCst))
        }

        fn call(&self, op: &'static str) -> Result<(), ObjectError> {
            *self.shared.calls.lock().unwrap().entry(op).or_default() += 1;
            if self.cut.load(Ordering::SeqCst) {
                return Err(ObjectError::Transient("connection cut".into()));
            }
            Ok(())
        }

        fn holds(found: Option<&Object>, condition: &Condition) -> Result<(), ObjectError> {
            match (condition, found) {
                (Condition::Always, _) => Ok(()),
                (Condition::Absent, None) => Ok(()),
                (Condition::Absent, Some(_)) => Err(ObjectError::Changed(
                    "PreconditionFailed (If-None-Match)".into(),
                )),
                (Condition::Matches(e), Some(o)) if &o.etag == e => Ok(()),
                (Condition::Matches(_), Some(_)) => {
                    Err(ObjectError::Changed("PreconditionFailed (If-Match)".into()))
                }
                (Condition::Matches(_), None) => Err(ObjectError::Changed("NoSuchKey".into())),
            }
        }
    }

    #[async_trait]
    impl ObjectStore for MemoryStore {
        fn location(&self, key: &str) -> String {
            format!("memory://{key}")
        }

        async fn get(&self, key: &str) -> Result<Option<Object>, ObjectError> {
            self.call("get")?;
            Ok(self.shared.objects.lock().unwrap().get(key).cloned())
        }

        async fn put(
            &self,
            key: &str,
            bytes: Vec<u8>,
            condition: Condition,
        ) -> Result<String, ObjectError> {
            self.call("put")?;
            let mut objects = self.shared.objects.lock().unwrap();
            Self::holds(objects.get(key), &condition)?;
            let etag = self.etag();
            objects.insert(
                key.to_string(),
                Object {
                    bytes,
                    etag: etag.clone(),
                },
            );
            let lose = &self.shared.lose;
            if lose
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(ObjectError::Transient("answer lost (timeout)".into()));
            }
            Ok(etag)
        }

        async fn delete(&self, key: &str, condition: Condition) -> Result<(), ObjectError> {
            self.call("delete")?;
            let mut objects = self.shared.objects.lock().unwrap();
            Self::holds(objects.get(key), &condition)?;
            objects.remove(key);
            Ok(())
        }

        async fn delete_many(&self, keys: &[String]) -> Result<(), ObjectError> {
            self.call("delete_many")?;
            let mut objects = self.shared.objects.lock().unwrap();
            for key in keys {
                objects.remove(key);
            }
            Ok(())
        }

        async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError> {
            self.call("list")?;
            Ok(self
                .shared
                .objects
                .lock()
                .unwrap()
                .keys()
                .filter(|k| k.starts_with(prefix))
                .cloned()
                .collect())
        }
    }
}
