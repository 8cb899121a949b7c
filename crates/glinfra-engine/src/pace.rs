//! Pacing a run's AWS calls (the critical-path scheduler of
//! [`Scheduler::CriticalPath`](crate::Scheduler)).
//!
//! - A concurrency slot is held only while a call is in flight: an operation
//!   waiting for AWS (a create polling until its resource is usable, a retry's
//!   backoff) holds none, so an RDS create does not keep a slot for fifteen minutes.
//! - Before each call a token is taken from the bucket of its service, region and
//!   class ([`Service::bucket`](crate::timing::Service::bucket)); a throttled answer halves that bucket's
//!   rate, which then recovers over [`RECOVERY`].
//! - Among operations waiting for a slot or a token, the one with the longest
//!   expected remaining path to the end of the plan goes first.
//!
//! Providers see this through three hooks, all no-ops outside a paced operation:
//! [`waiting`] (gives the slot back while a wait runs), [`call`] (one paced call,
//! used for each poll of a wait) and [`window`] (when the operation's resource is
//! expected to be ready). The kit's one polling helper and the simulated cloud use
//! them through [`crate::wait::poll`].

use crate::provider::{ErrorClass, Outputs, Provider, ProviderError, ResolvedResource};
use crate::timing::{CallClass, Rate, Service};
use crate::wait::Window;
use async_trait::async_trait;
use glinfra_core::{Kind, Observed, ResourceId, ResourceState};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// How long a throttled bucket takes to recover its nominal rate.
pub const RECOVERY: Duration = Duration::from_secs(30);

/// The lowest share of its nominal rate a bucket slows down to.
const MIN_FACTOR: f64 = 1.0 / 16.0;

/// The longest a call may take from its token to the service (the slot it then
/// waits for, its round trip): the client's bucket holds this many seconds of
/// refill less than the service's, so that calls arriving late do not arrive
/// together with those that follow.
const SLACK: f64 = 0.5;

/// Added to the priority of an operation holding a token, for its slot: a call
/// with its token goes before any without, so a token is spent at once.
const HOLDS_TOKEN: f64 = 1e12;

/// A token bucket's arithmetic: `rate.burst` tokens at most, refilled
/// continuously at a rate given at each refill. Used by the pacer (whose rate
/// adapts) and by the simulated cloud's limits (whose rate does not).
#[derive(Clone, Debug)]
pub struct TokenBucket {
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens at `now`.
    pub fn full(capacity: f64, now: Instant) -> Self {
        TokenBucket {
            capacity,
            tokens: capacity,
            last: now,
        }
    }

    /// Adds what `per_second` refills between the last refill and `now`.
    pub fn refill(&mut self, now: Instant, per_second: f64) {
        let added = now.saturating_duration_since(self.last).as_secs_f64() * per_second;
        self.tokens = (self.tokens + added).min(self.capacity);
        self.last = now;
    }

    /// Takes a token if there is one (refill first).
    pub fn try_take(&mut self) -> bool {
        let ok = self.tokens >= 1.0;
        if ok {
            self.tokens -= 1.0;
        }
        ok
    }

    /// Tokens now (after the last refill).
    pub fn tokens(&self) -> f64 {
        self.tokens
    }

    /// Empties the bucket.
    pub fn drain(&mut self) {
        self.tokens = self.tokens.min(0.0);
    }

    /// How long until one token is there, at `per_second`.
    pub fn until_one(&self, per_second: f64) -> Duration {
        Duration::from_secs_f64(((1.0 - self.tokens).max(0.0) / per_second).max(1e-3))
    }
}

/// One waiter of a priority queue: the highest priority first, then the earliest.
struct Waiter<T> {
    priority: f64,
    seq: u64,
    tx: oneshot::Sender<T>,
}

impl<T> PartialEq for Waiter<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T> Eq for Waiter<T> {}
impl<T> PartialOrd for Waiter<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Waiter<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .total_cmp(&other.priority)
            .then(other.seq.cmp(&self.seq))
    }
}

/// The concurrency slots: calls in flight at once, handed out by priority.
pub(crate) struct Slots {
    inner: Mutex<SlotsInner>,
}

struct SlotsInner {
    free: usize,
    waiting: BinaryHeap<Waiter<Permit>>,
    seq: u64,
}

/// A held slot; dropping it hands it to the first waiter.
pub(crate) struct Permit {
    slots: Arc<Slots>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.slots.release();
    }
}

impl Slots {
    fn new(n: usize) -> Arc<Slots> {
        Arc::new(Slots {
            inner: Mutex::new(SlotsInner {
                free: n.max(1),
                waiting: BinaryHeap::new(),
                seq: 0,
            }),
        })
    }

    async fn acquire(self: &Arc<Self>, priority: f64) -> Permit {
        let rx = {
            let mut inner = self.inner.lock().expect("slots");
            if inner.free > 0 && inner.waiting.is_empty() {
                inner.free -= 1;
                return Permit {
                    slots: self.clone(),
                };
            }
            let (tx, rx) = oneshot::channel();
            inner.seq += 1;
            let seq = inner.seq;
            inner.waiting.push(Waiter { priority, seq, tx });
            rx
        };
        // A permit sent to a waiter that went away is dropped with its channel,
        // which releases it again.
        rx.await.expect("slots outlive their waiters")
    }

    fn release(self: &Arc<Self>) {
        let mut inner = self.inner.lock().expect("slots");
        while let Some(w) = inner.waiting.pop() {
            match w.tx.send(Permit {
                slots: self.clone(),
            }) {
                Ok(()) => return,
                // The waiter is gone: do not release (we hold the lock), try the next.
                Err(permit) => std::mem::forget(permit),
            }
        }
        inner.free += 1;
    }
}

/// A client-side bucket: tokens handed out by priority, slowed on throttling.
pub(crate) struct Bucket {
    nominal: f64,
    inner: Mutex<BucketInner>,
}

struct BucketInner {
    bucket: TokenBucket,
    /// The share of the nominal rate just after the last throttle, and when.
    throttled: Option<(f64, Instant)>,
    waiting: BinaryHeap<Waiter<()>>,
    seq: u64,
    dispatching: bool,
}

impl BucketInner {
    fn factor(&self, now: Instant) -> f64 {
        match self.throttled {
            None => 1.0,
            Some((f, at)) => {
                let recovered =
                    now.saturating_duration_since(at).as_secs_f64() / RECOVERY.as_secs_f64();
                (f + recovered * (1.0 - f)).min(1.0)
            }
        }
    }
}

impl Bucket {
    fn new(rate: Rate) -> Arc<Bucket> {
        // Short of the service's bucket by what refills in SLACK (one token at least).
        let capacity = (rate.burst - (rate.per_second * SLACK).max(1.0)).max(1.0);
        Arc::new(Bucket {
            nominal: rate.per_second,
            inner: Mutex::new(BucketInner {
                bucket: TokenBucket::full(capacity, Instant::now()),
                throttled: None,
                waiting: BinaryHeap::new(),
                seq: 0,
                dispatching: false,
            }),
        })
    }

    fn refill(&self, inner: &mut BucketInner, now: Instant) -> f64 {
        let per_second = self.nominal * inner.factor(now);
        inner.bucket.refill(now, per_second);
        per_second
    }

    async fn take(self: &Arc<Self>, priority: f64) {
        let rx = {
            let mut inner = self.inner.lock().expect("bucket");
            self.refill(&mut inner, Instant::now());
            if inner.waiting.is_empty() && inner.bucket.try_take() {
                return;
            }
            let (tx, rx) = oneshot::channel();
            inner.seq += 1;
            let seq = inner.seq;
            inner.waiting.push(Waiter { priority, seq, tx });
            if !inner.dispatching {
                inner.dispatching = true;
                tokio::spawn(self.clone().dispatch());
            }
            rx
        };
        let _ = rx.await;
    }

    /// Hands out tokens as they come, to the first waiter each, until none waits.
    async fn dispatch(self: Arc<Self>) {
        loop {
            let wait = {
                let mut inner = self.inner.lock().expect("bucket");
                let per_second = self.refill(&mut inner, Instant::now());
                while inner.bucket.tokens() >= 1.0 {
                    let Some(w) = inner.waiting.pop() else { break };
                    if w.tx.send(()).is_ok() {
                        inner.bucket.try_take();
                    }
                }
                if inner.waiting.is_empty() {
                    inner.dispatching = false;
                    return;
                }
                inner.bucket.until_one(per_second)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a token if one is there now, ahead of any waiter (for a call whose
    /// token went stale waiting for its slot).
    fn try_take_now(&self) -> bool {
        let mut inner = self.inner.lock().expect("bucket");
        self.refill(&mut inner, Instant::now());
        inner.bucket.try_take()
    }

    fn throttled(&self) {
        let mut inner = self.inner.lock().expect("bucket");
        let now = Instant::now();
        self.refill(&mut inner, now);
        let factor = (inner.factor(now) / 2.0).max(MIN_FACTOR);
        inner.throttled = Some((factor, now));
        inner.bucket.drain();
    }
}

/// A request bucket: its service, scope (region, or `global`) and name.
pub(crate) type BucketKey = (Service, String, &'static str);

/// The pacing shared by the operations of a run, or of several runs at once in
/// one process and one account (a fleet applied together): the slots and the
/// token buckets.
pub struct Pace {
    slots: Arc<Slots>,
    buckets: Mutex<HashMap<BucketKey, Arc<Bucket>>>,
}

impl Pace {
    /// Pacing with `concurrency` calls in flight at most.
    pub fn new(concurrency: usize) -> Arc<Pace> {
        Arc::new(Pace {
            slots: Slots::new(concurrency),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    fn bucket(&self, service: Service, region: &str, class: CallClass) -> Arc<Bucket> {
        let (name, rate) = service.bucket(class);
        self.buckets
            .lock()
            .expect("buckets")
            .entry((service, service.scope(region).to_string(), name))
            .or_insert_with(|| Bucket::new(rate))
            .clone()
    }
}

impl std::fmt::Debug for Pace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pace").finish_non_exhaustive()
    }
}

/// One paced operation: what its calls are paced by.
pub(crate) struct OpContext {
    pace: Arc<Pace>,
    priority: f64,
    service: Service,
    region: String,
    window: Mutex<Option<Window>>,
    held: Mutex<Option<Permit>>,
    /// A token taken at admission for the first call of this class, and when.
    prepaid: Mutex<Option<(CallClass, Instant)>>,
}

tokio::task_local! {
    static OPERATION: Arc<OpContext>;
}

impl OpContext {
    pub(crate) fn new(
        pace: Arc<Pace>,
        priority: f64,
        kind: Kind,
        region: &str,
        window: Window,
    ) -> Arc<OpContext> {
        Arc::new(OpContext {
            pace,
            priority,
            service: Service::of(kind),
            region: region.to_string(),
            window: Mutex::new(Some(window)),
            held: Mutex::new(None),
            prepaid: Mutex::new(None),
        })
    }

    /// Waits for a token for the operation's first call (of `class`) and a slot,
    /// by priority: the operation starts once it has both.
    pub(crate) async fn admit(&self, class: CallClass) {
        let took = self.token(class).await;
        *self.prepaid.lock().expect("prepaid") = Some((class, took));
        self.hold(self.priority + HOLDS_TOKEN).await;
    }

    /// Gives back the slot, if held.
    pub(crate) fn let_go(&self) -> bool {
        self.held.lock().expect("held").take().is_some()
    }

    async fn hold(&self, priority: f64) {
        if self.held.lock().expect("held").is_none() {
            let permit = self.pace.slots.acquire(priority).await;
            *self.held.lock().expect("held") = Some(permit);
        }
    }

    /// Takes a token for a call of `class` (or the one prepaid at admission);
    /// when it was taken.
    async fn token(&self, class: CallClass) -> Instant {
        let prepaid = {
            let mut p = self.prepaid.lock().expect("prepaid");
            match *p {
                Some((c, at)) if c == class => {
                    *p = None;
                    Some(at)
                }
                _ => None,
            }
        };
        match prepaid {
            Some(at) => at,
            None => {
                let bucket = self.pace.bucket(self.service, &self.region, class);
                bucket.take(self.priority).await;
                Instant::now()
            }
        }
    }

    /// Takes a token and then a slot for a call of `class`. A token that waited
    /// longer than [`SLACK`] for its slot is stale (the service would see the
    /// call later than its bucket allowed for): another is taken if there is one
    /// now, else the slot is given back and the call waits for a token again.
    async fn ready_to_call(&self, class: CallClass) {
        let mut took = self.token(class).await;
        loop {
            self.hold(self.priority + HOLDS_TOKEN).await;
            if took.elapsed().as_secs_f64() <= SLACK
                || self
                    .pace
                    .bucket(self.service, &self.region, class)
                    .try_take_now()
            {
                return;
            }
            self.let_go();
            took = self.token(class).await;
        }
    }

    fn throttled(&self, class: CallClass) {
        self.pace
            .bucket(self.service, &self.region, class)
            .throttled();
    }

    /// Runs `f` in this operation's context (the hooks below see it).
    pub(crate) async fn scope<F: Future>(self: Arc<Self>, f: F) -> F::Output {
        OPERATION.scope(self, f).await
    }
}

fn current() -> Option<Arc<OpContext>> {
    OPERATION.try_with(Arc::clone).ok()
}

/// Runs one AWS call of `class`: takes a token (no slot is held meanwhile),
/// then a slot (before any operation without a token, so the token is spent at
/// once), makes the call, gives the slot back; a throttled answer slows the
/// bucket down. Outside a paced operation, just makes the call.
pub async fn call<T, F>(class: CallClass, f: F) -> Result<T, ProviderError>
where
    F: Future<Output = Result<T, ProviderError>>,
{
    let Some(op) = current() else {
        return f.await;
    };
    op.let_go();
    op.ready_to_call(class).await;
    let result = f.await;
    op.let_go();
    if let Err(e) = &result {
        if e.class == ErrorClass::Throttled {
            op.throttled(class);
        }
    }
    result
}

/// Runs `wait` (a wait for AWS, a backoff) without the operation's slot, and
/// takes one again after it if one was held. Outside a paced operation, just
/// runs it.
pub async fn waiting<F: Future>(wait: F) -> F::Output {
    let Some(op) = current() else {
        return wait.await;
    };
    let held = op.let_go();
    let out = wait.await;
    if held {
        op.hold(op.priority).await;
    }
    out
}

/// When the current operation's resource is expected to be ready, counted from
/// its call (the table's latency range), and the operation's slack. Given once
/// per operation (to its first wait); `None` outside a paced operation.
pub fn window() -> Option<Window> {
    current().and_then(|op| op.window.lock().expect("window").take())
}

/// A provider whose every call is paced ([`call`]): finds and observes as
/// reads, creates, updates and deletes as mutations (their waits inside give
/// the slot back through [`waiting`]).
pub(crate) struct Paced(pub(crate) Arc<dyn Provider>);

#[async_trait]
impl Provider for Paced {
    async fn find(&self, resource: &ResolvedResource) -> Result<Option<Outputs>, ProviderError> {
        call(CallClass::Describe, self.0.find(resource)).await
    }

    async fn create(&self, resource: &ResolvedResource) -> Result<Outputs, ProviderError> {
        call(CallClass::Mutate, self.0.create(resource)).await
    }

    async fn update(
        &self,
        prior: &ResourceState,
        resource: &ResolvedResource,
        changed: &[String],
    ) -> Result<Outputs, ProviderError> {
        call(CallClass::Mutate, self.0.update(prior, resource, changed)).await
    }

    async fn delete(&self, id: &str, prior: &ResourceState) -> Result<(), ProviderError> {
        call(CallClass::Mutate, self.0.delete(id, prior)).await
    }

    async fn observe(
        &self,
        stack: &str,
        kind: Kind,
        region: &str,
        recorded: &[(ResourceId, ResourceState)],
    ) -> Result<Option<Vec<Observed>>, ProviderError> {
        call(
            CallClass::Describe,
            self.0.observe(stack, kind, region, recorded),
        )
        .await
    }

    async fn import(
        &self,
        resource: &ResolvedResource,
        aws_id: &str,
    ) -> Result<Option<Observed>, ProviderError> {
        call(CallClass::Mutate, self.0.import(resource, aws_id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_refills_at_its_rate_up_to_its_capacity() {
        let start = Instant::now();
        let mut b = TokenBucket::full(3.0, start);
        assert!(b.try_take() && b.try_take() && b.try_take());
        assert!(!b.try_take(), "empty");
        b.refill(start + Duration::from_millis(500), 2.0);
        assert!(b.try_take(), "one token after half a second at 2/s");
        assert!(!b.try_take());
        b.refill(start + Duration::from_secs(60), 2.0);
        assert_eq!(b.tokens(), 3.0, "never above capacity");
    }

    #[tokio::test(start_paused = true)]
    async fn slots_go_to_the_highest_priority_waiter_first() {
        let slots = Slots::new(1);
        let first = slots.acquire(0.0).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [("low", 1.0), ("high", 9.0), ("mid", 5.0), ("mid2", 5.0)] {
            let slots = slots.clone();
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                let _p = slots.acquire(priority).await;
                order.lock().unwrap().push(name);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }));
            tokio::task::yield_now().await;
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["high", "mid", "mid2", "low"],
            "by priority, then first come"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_given_to_a_waiter_that_left_goes_to_the_next() {
        let slots = Slots::new(1);
        let held = slots.acquire(0.0).await;
        let gone = tokio::spawn({
            let slots = slots.clone();
            async move { slots.acquire(5.0).await }
        });
        tokio::task::yield_now().await;
        gone.abort();
        let _ = gone.await;
        drop(held);
        tokio::time::timeout(Duration::from_secs(1), slots.acquire(1.0))
            .await
            .expect("the slot was not lost");
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_are_paced_at_the_rate_and_slowed_by_throttling() {
        let bucket = Bucket::new(Rate {
            burst: 3.0,
            per_second: 2.0,
        });
        let start = Instant::now();
        for _ in 0..2 {
            bucket.take(0.0).await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the burst, short of what refills in SLACK, at once"
        );
        for _ in 0..4 {
            bucket.take(0.0).await;
        }
        let paced = start.elapsed().as_secs_f64();
        assert!((paced - 2.0).abs() < 0.01, "4 more at 2/s: {paced}");
        bucket.throttled();
        let t = Instant::now();
        bucket.take(0.0).await;
        let slowed = t.elapsed().as_secs_f64();
        assert!(
            (0.9..1.1).contains(&slowed),
            "half the rate after a throttle: {slowed}"
        );
        tokio::time::sleep(RECOVERY).await;
        let t = Instant::now();
        bucket.take(0.0).await;
        bucket.take(0.0).await;
        bucket.take(0.0).await;
        assert!(
            t.elapsed() <= Duration::from_millis(600),
            "recovered: {:?}",
            t.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_tokens_go_by_priority() {
        let bucket = Bucket::new(Rate {
            burst: 2.0,
            per_second: 1.0,
        });
        bucket.take(0.0).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [("low", 1.0), ("high", 3.0), ("mid", 2.0)] {
            let bucket = bucket.clone();
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                bucket.take(priority).await;
                order.lock().unwrap().push(name);
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["high", "mid", "low"]);
    }
}
