//! Shared polling: waits for many resources of one kind in one region share one
//! describe per poll instead of making one each.
//!
//! A wait that polls through a [`Batcher`] joins the round of its (kind, region)
//! that is gathering ids, if one is; otherwise it opens one and leads it. The
//! leader gathers for a short while (the batcher's `gather`, a fraction of a
//! poll interval), takes its paced token ([`pace::call`]), closes the round and
//! makes one describe of every id gathered meanwhile; each waiter reads its own id's
//! answer from it. Followers make no request and take no token. A kind whose API
//! describes one resource at a time polls alone ([`Batcher::observe`] with a
//! limit of one id), as every wait did before.

use crate::pace;
use crate::provider::{ErrorClass, ProviderError};
use crate::timing::CallClass;
use glinfra_core::Kind;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// What one describe of many ids answered: each id's state (an id the answer
/// lacks is absent), or the describe's error.
type Answer<T> = Arc<Result<HashMap<String, T>, ProviderError>>;

/// The (kind, region) of a round.
type Key = (Kind, String);

struct Round<T> {
    number: u64,
    ids: Vec<String>,
    answer: watch::Receiver<Option<Answer<T>>>,
}

/// The rounds of shared polling of one provider, by kind and region.
pub struct Batcher<T> {
    open: Mutex<HashMap<Key, Round<T>>>,
    rounds: AtomicU64,
    gather: Duration,
}

impl<T> Batcher<T> {
    /// A batcher whose rounds gather ids for `gather` before their describe.
    pub fn new(gather: Duration) -> Self {
        Batcher {
            open: Mutex::new(HashMap::new()),
            rounds: AtomicU64::new(0),
            gather,
        }
    }
}

/// Closes a round when its leader stops before closing it (a dropped wait).
struct Closing<'a, T> {
    batcher: &'a Batcher<T>,
    key: &'a Key,
    number: u64,
}

impl<T> Closing<'_, T> {
    /// Takes the round's ids, ending its gathering.
    fn close(&self) -> Vec<String> {
        let mut open = self.batcher.open.lock().expect("rounds");
        match open.get(self.key) {
            Some(r) if r.number == self.number => open.remove(self.key).map(|r| r.ids),
            _ => None,
        }
        .unwrap_or_default()
    }
}

impl<T> Drop for Closing<'_, T> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<T: Clone + Send + Sync> Batcher<T> {
    /// How many rounds have been led (describes made through this batcher).
    pub fn rounds(&self) -> u64 {
        self.rounds.load(Ordering::Relaxed)
    }

    /// One poll of `id` (of `kind` in `region`): its state as a describe of up
    /// to `limit` ids at once saw it (`None`: absent). `describe` is called, by
    /// whichever waiter leads the round, with every id of the round; the leader's
    /// call is paced as a read, the others wait for its answer.
    pub async fn observe<F, Fut>(
        &self,
        kind: Kind,
        region: &str,
        id: &str,
        limit: usize,
        describe: F,
    ) -> Result<Option<T>, ProviderError>
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = Result<HashMap<String, T>, ProviderError>>,
    {
        let key = (kind, region.to_string());
        // Decided under the lock, acted on after it is released: a guard is never
        // held across an await (the future stays Send).
        enum Part<T> {
            Join(watch::Receiver<Option<T>>),
            Lead(u64, watch::Sender<Option<T>>),
            Alone,
        }
        let part = {
            let mut open = self.open.lock().expect("rounds");
            match open.get_mut(&key) {
                Some(round) if round.ids.len() < limit => {
                    round.ids.push(id.to_string());
                    Part::Join(round.answer.clone())
                }
                Some(_) => Part::Alone,
                None if limit > 1 => {
                    let (tx, rx) = watch::channel(None);
                    let number = self.rounds.fetch_add(1, Ordering::Relaxed);
                    open.insert(
                        key.clone(),
                        Round {
                            number,
                            ids: vec![id.to_string()],
                            answer: rx,
                        },
                    );
                    Part::Lead(number, tx)
                }
                None => Part::Alone,
            }
        };
        let joined = match part {
            Part::Join(answer) => Some(answer),
            Part::Lead(number, tx) => return self.lead(&key, number, id, tx, describe).await,
            Part::Alone => None,
        };
        match joined {
            Some(mut answer) => match answer.wait_for(Option::is_some).await {
                Ok(a) => mine(a.as_ref().expect("answered"), id),
                Err(_) => Err(ProviderError::new(
                    ErrorClass::Retryable,
                    "the shared poll was dropped before it answered",
                )),
            },
            // A full round, or a kind described one at a time: poll alone.
            None => {
                self.rounds.fetch_add(1, Ordering::Relaxed);
                let answer = pace::call(CallClass::Describe, describe(vec![id.to_string()])).await;
                answer.map(|mut m| m.remove(id))
            }
        }
    }

    async fn lead<F, Fut>(
        &self,
        key: &Key,
        number: u64,
        id: &str,
        tx: watch::Sender<Option<Answer<T>>>,
        describe: F,
    ) -> Result<Option<T>, ProviderError>
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = Result<HashMap<String, T>, ProviderError>>,
    {
        let closing = Closing {
            batcher: self,
            key,
            number,
        };
        // The round gathers ids for a moment, and until the leader has its token.
        tokio::time::sleep(self.gather).await;
        let answer = pace::call(CallClass::Describe, async {
            let ids = closing.close();
            describe(ids).await
        })
        .await;
        let answer = Arc::new(answer);
        let _ = tx.send(Some(answer.clone()));
        mine(&answer, id)
    }
}

/// `id`'s part of an answer (an error copied for each waiter).
fn mine<T: Clone>(
    answer: &Result<HashMap<String, T>, ProviderError>,
    id: &str,
) -> Result<Option<T>, ProviderError> {
    match answer {
        Ok(m) => Ok(m.get(id).cloned()),
        Err(e) => {
            let mut copy = ProviderError::new(e.class, e.message.clone());
            copy.operation.clone_from(&e.operation);
            copy.code.clone_from(&e.code);
            Err(copy)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn kind() -> Kind {
        *Kind::all().first().expect("a kind")
    }

    #[tokio::test(start_paused = true)]
    async fn waits_in_one_round_share_one_describe() {
        let batcher = Batcher::<u32>::new(Duration::from_millis(500));
        let calls = AtomicUsize::new(0);
        let describe = |ids: Vec<String>| {
            calls.fetch_add(1, Ordering::Relaxed);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                Ok(ids.iter().map(|i| (i.clone(), i.len() as u32)).collect())
            }
        };
        let polls = (0..5).map(|n| {
            let id = "x".repeat(n + 1);
            let b = &batcher;
            async move { b.observe(kind(), "us-east-1", &id, 100, describe).await }
        });
        let seen = futures_join(polls).await;
        let seen: Vec<Option<u32>> = seen.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(seen, [Some(1), Some(2), Some(3), Some(4), Some(5)]);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert_eq!(batcher.rounds(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_kind_described_one_at_a_time_polls_alone() {
        let batcher = Batcher::<u32>::new(Duration::from_millis(500));
        let calls = AtomicUsize::new(0);
        let describe = |ids: Vec<String>| {
            calls.fetch_add(1, Ordering::Relaxed);
            async move {
                assert_eq!(ids.len(), 1);
                Ok(HashMap::new())
            }
        };
        let polls = (0..3).map(|n| {
            let id = format!("r{n}");
            let b = &batcher;
            async move { b.observe(kind(), "us-east-1", &id, 1, describe).await }
        });
        let seen = futures_join(polls).await;
        assert!(seen.iter().all(|r| matches!(r, Ok(None))));
        assert_eq!(calls.load(Ordering::Relaxed), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn every_waiter_of_a_failed_round_sees_its_error() {
        let batcher = Batcher::<u32>::new(Duration::from_millis(500));
        let describe = |_ids: Vec<String>| async move {
            tokio::task::yield_now().await;
            Err::<HashMap<String, u32>, _>(
                ProviderError::new(ErrorClass::Throttled, "Rate exceeded").code("Throttling"),
            )
        };
        let polls = (0..3).map(|n| {
            let id = format!("r{n}");
            let b = &batcher;
            async move { b.observe(kind(), "us-east-1", &id, 100, describe).await }
        });
        let seen = futures_join(polls).await;
        for r in seen {
            let e = r.unwrap_err();
            assert_eq!(
                (e.class, e.code.as_deref()),
                (ErrorClass::Throttled, Some("Throttling"))
            );
        }
        assert_eq!(batcher.rounds(), 1);
    }

    /// Runs the futures concurrently on this task, in order.
    async fn futures_join<F: Future>(fs: impl Iterator<Item = F>) -> Vec<F::Output> {
        let mut set = Vec::new();
        for f in fs {
            set.push(Box::pin(f));
        }
        let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut done = true;
            for (i, f) in set.iter_mut().enumerate() {
                if out[i].is_none() {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => out[i] = Some(v),
                        std::task::Poll::Pending => done = false,
                    }
                }
            }
            if done {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        out.into_iter().map(|o| o.expect("done")).collect()
    }
}
