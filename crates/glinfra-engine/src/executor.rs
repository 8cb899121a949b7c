//! The executor: walks a plan's operations on tokio, starting each one the moment
//! the operations it waits for have succeeded, under a concurrency limit.
//!
//! A failed operation stops only the operations that (transitively) wait for it;
//! independent branches run to the end. Throttled and retryable errors are retried
//! with exponential backoff and jitter. Every mutating call is journaled before and
//! after; the snapshot is written atomically at the end.

use crate::journal::{replay, JournalRecord};
use crate::provider::{ErrorClass, Outputs, Provider, ProviderError, ResolvedResource};
pub use crate::report::{ApplyReport, Event, NoObserver, Observer, OpOutcome, OpStatus};
use crate::store::{StackLock, StoreError};
use glinfra_core::safety::{refusals, Refusal};
use glinfra_core::schedule::{OpPhase, Schedule};
use glinfra_core::state::{Mutation, ResourceState, State};
use glinfra_core::{Lifecycle, Plan, ResourceId, Step};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Errors that stop an apply before it starts, or the state store failing under it.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The state changed since the plan was made.
    #[error("the state of stack `{stack}` changed since this plan was made (plan from serial {planned}, state now at serial {current}); plan again")]
    StalePlan {
        /// The stack.
        stack: String,
        /// The plan's base serial.
        planned: u64,
        /// The state's serial.
        current: u64,
    },
    /// The plan is for another stack.
    #[error("this plan is for stack `{plan}`, not `{locked}`")]
    WrongStack {
        /// The plan's stack.
        plan: String,
        /// The locked stack.
        locked: String,
    },
    /// The plan deletes or replaces protected resources, or makes a change AWS
    /// cannot make; nothing was done.
    #[error("{}", glinfra_core::safety::message(refusals))]
    Protected {
        /// Each protected resource reached, with its chain.
        refusals: Vec<Refusal>,
    },
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How failed calls are retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time.
    pub base_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// How long to wait before retry number `attempt` (1 for the first retry):
    /// exponential, capped, with full jitter so throttled callers do not return in step.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        exp.mul_f64(rand::random::<f64>().max(0.1))
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

/// Executor settings.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Operations in flight at once.
    pub concurrency: usize,
    /// Retry policy for throttled and retryable errors.
    pub retry: RetryPolicy,
    /// An id for this run, recorded in pending operations.
    pub run_id: String,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 16,
            retry: RetryPolicy::default(),
            run_id: format!(
                "run-{}-{}",
                std::process::id(),
                chrono::Utc::now().format("%Y%m%dT%H%M%S")
            ),
        }
    }
}

/// A finished operation: its index, attempts made or the error with attempts, wall time.
type Finished = (usize, Result<u32, (u32, OpError)>, Duration);

struct Shared {
    provider: Arc<dyn Provider>,
    lock: Arc<StackLock>,
    state: Mutex<State>,
    observer: Arc<dyn Observer>,
    options: ApplyOptions,
    stack: String,
}

impl Shared {
    fn record(&self, record: JournalRecord) -> Result<(), StoreError> {
        self.lock.append(&record)?;
        replay(&mut self.state.lock().expect("state lock"), &record);
        Ok(())
    }

    fn now() -> String {
        chrono::Utc::now().to_rfc3339()
    }
}

/// Applies `plan` to the stack held by `lock`, through `provider`.
///
/// Refuses a plan made from another state serial. Returns the report even when
/// operations failed; an `Err` means the plan was refused or the state store failed.
pub async fn apply(
    provider: Arc<dyn Provider>,
    lock: Arc<StackLock>,
    plan: &Plan,
    options: ApplyOptions,
    observer: Arc<dyn Observer>,
) -> Result<ApplyReport, ApplyError> {
    if plan.stack != lock.stack() {
        return Err(ApplyError::WrongStack {
            plan: plan.stack.clone(),
            locked: lock.stack().to_string(),
        });
    }
    let refusals = refusals(plan);
    if !refusals.is_empty() {
        return Err(ApplyError::Protected { refusals });
    }
    let state = lock.load()?;
    if state.serial != plan.base_serial {
        return Err(ApplyError::StalePlan {
            stack: plan.stack.clone(),
            planned: plan.base_serial,
            current: state.serial,
        });
    }
    let start = Instant::now();
    let schedule = Schedule::from_plan(plan);
    let shared = Arc::new(Shared {
        provider,
        lock: lock.clone(),
        state: Mutex::new(state),
        observer,
        options: options.clone(),
        stack: plan.stack.clone(),
    });
    let steps: Arc<Vec<Step>> = Arc::new(plan.steps.clone());
    let n = schedule.ops.len();
    let mut waiting: Vec<usize> = schedule.waits_for.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (o, waits) in schedule.waits_for.iter().enumerate() {
        for &w in waits {
            dependents[w].push(o);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&o| waiting[o] == 0).rev().collect();
    let mut settled = vec![false; n];
    let mut outcomes = Vec::new();
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    let mut store_error: Option<StoreError> = None;
    let concurrency = options.concurrency.max(1);

    loop {
        while tasks.len() < concurrency && store_error.is_none() {
            let Some(o) = ready.pop() else { break };
            let op = schedule.ops[o];
            let shared = shared.clone();
            let steps = steps.clone();
            tasks.spawn(async move {
                let began = Instant::now();
                let result = run_operation(&shared, &steps[op.step], op.phase).await;
                (o, result, began.elapsed())
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (o, result, elapsed) = joined.expect("operation tasks do not panic");
        let op = schedule.ops[o];
        let resource = steps[op.step].resource.clone();
        settled[o] = true;
        match result {
            Ok(attempts) => {
                shared.observer.event(&Event::Succeeded {
                    resource: resource.clone(),
                    phase: op.phase,
                    elapsed_ms: elapsed.as_millis() as u64,
                });
                outcomes.push(OpOutcome {
                    resource,
                    phase: op.phase,
                    status: OpStatus::Succeeded,
                    detail: None,
                    attempts,
                    elapsed_ms: elapsed.as_millis() as u64,
                });
                for &d in &dependents[o] {
                    waiting[d] -= 1;
                    if waiting[d] == 0 && !settled[d] {
                        ready.push(d);
                    }
                }
            }
            Err((attempts, error)) => {
                if let OpError::Store(store) = &error {
                    store_error.get_or_insert(StoreError::Corrupt {
                        path: shared.lock.journal_path().to_path_buf(),
                        message: store.to_string(),
                    });
                }
                shared.observer.event(&Event::Failed {
                    resource: resource.clone(),
                    phase: op.phase,
                    error: error.to_string(),
                });
                outcomes.push(OpOutcome {
                    resource: resource.clone(),
                    phase: op.phase,
                    status: OpStatus::Failed,
                    detail: Some(error.to_string()),
                    attempts,
                    elapsed_ms: elapsed.as_millis() as u64,
                });
                // Everything that waits on this, transitively, is skipped.
                let mut stack: Vec<usize> = dependents[o].clone();
                while let Some(d) = stack.pop() {
                    if settled[d] {
                        continue;
                    }
                    settled[d] = true;
                    let dop = schedule.ops[d];
                    let skipped = steps[dop.step].resource.clone();
                    shared.observer.event(&Event::Skipped {
                        resource: skipped.clone(),
                        phase: dop.phase,
                        blocked_by: resource.clone(),
                    });
                    outcomes.push(OpOutcome {
                        resource: skipped,
                        phase: dop.phase,
                        status: OpStatus::Skipped,
                        detail: Some(format!("`{resource}` failed")),
                        attempts: 0,
                        elapsed_ms: 0,
                    });
                    stack.extend(dependents[d].iter().copied());
                }
            }
        }
    }
    if let Some(e) = store_error {
        return Err(e.into());
    }
    let final_state = shared.state.lock().expect("state lock").clone();
    lock.save(&final_state)?;
    Ok(ApplyReport {
        outcomes,
        elapsed_ms: start.elapsed().as_millis() as u64,
        serial: final_state.serial,
    })
}

/// Resolves `step`'s desired spec against the outputs recorded so far.
fn resolve(shared: &Shared, step: &Step) -> Result<ResolvedResource, ProviderError> {
    let decl = step.desired.as_ref().ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!("step `{}` has no desired spec", step.resource),
        )
    })?;
    let state = shared.state.lock().expect("state lock");
    ResolvedResource::resolve(&shared.stack, decl, &state)
}

/// What `step`'s declaration depends on (nothing, for a step without one).
fn dependencies(step: &Step) -> BTreeSet<ResourceId> {
    step.desired
        .as_ref()
        .map(|d| d.dependencies())
        .unwrap_or_default()
}

/// Calls `call` until it succeeds or fails with an error that is not retryable.
async fn with_retry<T, F, Fut>(
    shared: &Shared,
    resource: &str,
    phase: OpPhase,
    attempts: &mut u32,
    mut call: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let policy = &shared.options.retry;
    loop {
        *attempts += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if e.class.is_retryable() && *attempts < policy.max_attempts => {
                let delay = policy.delay(*attempts);
                shared.observer.event(&Event::Retrying {
                    resource: resource.to_string(),
                    phase,
                    attempt: *attempts,
                    delay_ms: delay.as_millis() as u64,
                    error: e.to_string(),
                });
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Why an operation failed: the cloud refused, or the state store could not
/// record (which stops the whole run: nothing more may be done unrecorded).
#[derive(Debug, thiserror::Error)]
enum OpError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

async fn run_operation(
    shared: &Shared,
    step: &Step,
    phase: OpPhase,
) -> Result<u32, (u32, OpError)> {
    let mut attempts = 0;
    shared.observer.event(&Event::Started {
        resource: step.resource.clone(),
        phase,
    });
    let result = match phase {
        OpPhase::Create | OpPhase::ReplaceCreate => {
            create(shared, step, phase, &mut attempts).await
        }
        OpPhase::Update => update(shared, step, &mut attempts).await,
        OpPhase::Delete | OpPhase::ReplaceDelete => {
            delete(shared, step, phase, &mut attempts).await
        }
    };
    result.map(|()| attempts).map_err(|e| (attempts, e))
}

/// The lifecycle options `step` applies with: the declaration's, else the record's.
fn lifecycle_of(step: &Step) -> Lifecycle {
    match (&step.desired, &step.prior) {
        (Some(d), _) => d.lifecycle.clone(),
        (None, Some(p)) => p.lifecycle.clone(),
        (None, None) => Lifecycle::default(),
    }
}

fn begin(
    shared: &Shared,
    step: &Step,
    resource: &ResolvedResource,
    operation: Mutation,
    deps: BTreeSet<ResourceId>,
) -> Result<(), OpError> {
    shared
        .record(JournalRecord::Begin {
            resource: resource.id.clone(),
            operation,
            run_id: shared.options.run_id.clone(),
            at: Shared::now(),
            kind: resource.kind,
            region: resource.region.clone(),
            props: resource.props.clone(),
            tags: resource.tags.clone(),
            dependencies: deps,
            lifecycle: lifecycle_of(step),
        })
        .map_err(OpError::Store)
}

fn fail(shared: &Shared, resource: &str, operation: Mutation, error: ProviderError) -> OpError {
    match shared.record(JournalRecord::Failed {
        resource: resource.to_string(),
        operation,
        error: error.to_string(),
    }) {
        Ok(()) => OpError::Provider(error),
        Err(e) => OpError::Store(e),
    }
}

fn recorded(
    shared: &Shared,
    step: &Step,
    resource: &ResolvedResource,
    deps: BTreeSet<ResourceId>,
    outputs: Outputs,
) -> Result<(), OpError> {
    shared
        .record(JournalRecord::Recorded {
            resource: resource.id.clone(),
            state: ResourceState {
                kind: resource.kind,
                region: resource.region.clone(),
                props: resource.props.clone(),
                tags: resource.tags.clone(),
                outputs,
                dependencies: deps,
                pending: None,
                lifecycle: lifecycle_of(step),
            },
        })
        .map_err(OpError::Store)
}

async fn create(
    shared: &Shared,
    step: &Step,
    phase: OpPhase,
    attempts: &mut u32,
) -> Result<(), OpError> {
    let resource = resolve(shared, step)?;
    let deps = dependencies(step);
    begin(shared, step, &resource, Mutation::Create, deps.clone())?;
    let provider = shared.provider.clone();
    let adopted = AtomicBool::new(false);
    let result = with_retry(shared, &resource.id, phase, attempts, || {
        let provider = provider.clone();
        let resource = &resource;
        let adopted = &adopted;
        async move {
            // Look first: a run that crashed after creating, or a create that failed
            // after the resource was made, must not make a second one.
            if let Some(outputs) = provider.find(resource).await? {
                adopted.store(true, Ordering::Relaxed);
                return Ok(outputs);
            }
            match provider.create(resource).await {
                Err(e) if e.class == ErrorClass::AlreadyExists => {
                    match provider.find(resource).await? {
                        Some(outputs) => {
                            adopted.store(true, Ordering::Relaxed);
                            Ok(outputs)
                        }
                        None => Err(e),
                    }
                }
                other => other,
            }
        }
    })
    .await;
    let result = match result {
        Ok(outputs) if adopted.load(Ordering::Relaxed) => {
            shared.observer.event(&Event::Adopted {
                resource: resource.id.clone(),
            });
            // What was found may be half made (a crash between the create call and the
            // calls that configure it): bring every field in line before recording it.
            let found = ResourceState {
                kind: resource.kind,
                region: resource.region.clone(),
                props: resource.props.clone(),
                tags: resource.tags.clone(),
                outputs,
                dependencies: deps.clone(),
                pending: None,
                lifecycle: lifecycle_of(step),
            };
            with_retry(shared, &resource.id, phase, attempts, || {
                shared.provider.update(&found, &resource, &[])
            })
            .await
            .map(|o| {
                if o.is_empty() {
                    found.outputs.clone()
                } else {
                    o
                }
            })
        }
        other => other,
    };
    match result {
        Ok(outputs) => recorded(shared, step, &resource, deps, outputs),
        Err(e) => Err(fail(shared, &resource.id, Mutation::Create, e)),
    }
}

fn current(shared: &Shared, id: &str) -> Option<ResourceState> {
    shared
        .state
        .lock()
        .expect("state lock")
        .resources
        .get(id)
        .cloned()
}

async fn update(shared: &Shared, step: &Step, attempts: &mut u32) -> Result<(), OpError> {
    let resource = resolve(shared, step)?;
    let deps = dependencies(step);
    let prior = current(shared, &step.resource).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!("`{}` is not in state", step.resource),
        )
    })?;
    begin(shared, step, &resource, Mutation::Update, deps.clone())?;
    let changed = step.changed_fields();
    let provider = shared.provider.clone();
    let result = with_retry(shared, &resource.id, OpPhase::Update, attempts, || {
        provider.update(&prior, &resource, &changed)
    })
    .await;
    match result {
        Ok(mut outputs) => {
            if outputs.is_empty() {
                outputs = prior.outputs.clone();
            }
            recorded(shared, step, &resource, deps, outputs)
        }
        Err(e) => Err(fail(shared, &resource.id, Mutation::Update, e)),
    }
}

async fn delete(
    shared: &Shared,
    step: &Step,
    phase: OpPhase,
    attempts: &mut u32,
) -> Result<(), OpError> {
    let Some(mut prior) = current(shared, &step.resource) else {
        return Ok(());
    };
    if step.retain {
        // Retained on delete: forgotten by state, left in AWS. No call is made.
        return shared
            .record(JournalRecord::Removed {
                resource: step.resource.clone(),
            })
            .map_err(OpError::Store);
    }
    let as_recorded = ResolvedResource::from_state(&shared.stack, &step.resource, &prior);
    begin(
        shared,
        step,
        &as_recorded,
        Mutation::Delete,
        prior.dependencies.clone(),
    )?;
    let provider = shared.provider.clone();
    if !prior.exists() {
        // Its create never got recorded: delete what carries its tags, if anything.
        let found = with_retry(shared, &step.resource, phase, attempts, || {
            let provider = provider.clone();
            let as_recorded = &as_recorded;
            async move {
                match provider.find(as_recorded).await {
                    // A same-named resource owned by someone else is not ours to delete.
                    Err(e) if e.class == ErrorClass::AlreadyExists => Ok(None),
                    other => other,
                }
            }
        })
        .await;
        match found {
            Ok(Some(outputs)) => prior.outputs = outputs,
            Ok(None) => {
                return shared
                    .record(JournalRecord::Removed {
                        resource: step.resource.clone(),
                    })
                    .map_err(OpError::Store)
            }
            Err(e) => return Err(fail(shared, &step.resource, Mutation::Delete, e)),
        }
    }
    let prior = prior;
    let result = with_retry(shared, &step.resource, phase, attempts, || {
        let provider = provider.clone();
        let prior = &prior;
        let id = &as_recorded.id;
        async move {
            match provider.delete(id, prior).await {
                Err(e) if e.class == ErrorClass::NotFound => Ok(()),
                other => other,
            }
        }
    })
    .await;
    match result {
        Ok(()) => shared
            .record(JournalRecord::Removed {
                resource: step.resource.clone(),
            })
            .map_err(OpError::Store),
        Err(e) => Err(fail(shared, &step.resource, Mutation::Delete, e)),
    }
}
