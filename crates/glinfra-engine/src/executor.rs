//! The executor: walks a plan's operations on tokio, starting each one the moment
//! the operations it waits for have succeeded, under a concurrency limit.
//!
//! A failed operation stops only the operations that (transitively) wait for it;
//! independent branches run to the end. Throttled and retryable errors are retried
//! with exponential backoff and jitter. Every mutating call is journaled before and
//! after ([`operation`](crate::operation)); the snapshot is written atomically at the end.
//!
//! Two schedulers ([`Scheduler`]): the critical-path scheduler (the default) starts
//! the ready operation with the longest expected remaining path first, counts its
//! concurrency limit in calls in flight (a waiting operation holds no slot) and
//! paces calls by per-service token buckets ([`pace`](crate::pace)); the baseline
//! is the executor as it was before, kept to measure against.
//!
//! A run can be stopped ([`Stop`]: Ctrl-C, `--timeout`): from then on it starts
//! nothing, lets the operations in flight finish, saves the state and reports the
//! operations it did not start as cancelled.

use crate::journal::{replay, JournalRecord};
use crate::operation::{run_operation, OpError};
use crate::pace::{OpContext, Pace, Paced};
use crate::provider::Provider;
pub use crate::report::{ApplyReport, Event, NoObserver, Observer, OpOutcome, OpStatus};
pub use crate::stop::{Stop, StopReason};
use crate::store::{StackLock, StoreError};
use crate::timeline::Timeline;
use glinfra_core::safety::{refusals, Refusal};
use glinfra_core::schedule::{OpPhase, Schedule};
use glinfra_core::state::State;
use glinfra_core::{Plan, Step};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

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
    /// The stack's policies found mandatory violations in the plan; nothing was done.
    #[error("{message}")]
    Policy {
        /// Every violation, each naming its resource, field and rule.
        message: String,
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

/// How the executor orders ready operations and what its concurrency limit counts.
#[derive(Clone, Debug)]
pub enum Scheduler {
    /// The executor as it was before the critical-path scheduler, kept to measure
    /// against: ready operations last-in-first-out in declaration order, a slot
    /// held for an operation's whole life (its waits included), no rate limits.
    Baseline,
    /// Ready operations by longest expected remaining path first; the limit counts
    /// calls in flight; calls paced by per-service token buckets. Several runs at
    /// once in one account share their pacing when given the same [`Pace`] (its
    /// concurrency then applies to them together); `None` makes one for the run.
    CriticalPath(Option<Arc<Pace>>),
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler::CriticalPath(None)
    }
}

/// Executor settings.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Calls in flight at once (with [`Scheduler::Baseline`], operations in flight).
    pub concurrency: usize,
    /// How ready operations are ordered and paced.
    pub scheduler: Scheduler,
    /// Records when each operation ran and waited (`apply --timeline`).
    pub timeline: Option<Arc<Timeline>>,
    /// Retry policy for throttled and retryable errors.
    pub retry: RetryPolicy,
    /// An id for this run, recorded in pending operations.
    pub run_id: String,
    /// Stops the run early (Ctrl-C, a time limit): nothing more is started, the
    /// operations in flight finish, and the state is saved.
    pub stop: Stop,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 16,
            scheduler: Scheduler::default(),
            timeline: None,
            retry: RetryPolicy::default(),
            run_id: format!(
                "run-{}-{}",
                std::process::id(),
                chrono::Utc::now().format("%Y%m%dT%H%M%S")
            ),
            stop: Stop::new(),
        }
    }
}

/// A finished operation: its index, attempts made or the error with attempts
/// (`None`: stopped before it started), wall time.
type Finished = (usize, Option<Result<u32, (u32, OpError)>>, Duration);

/// What every operation of a run shares.
pub(crate) struct Shared {
    pub(crate) provider: Arc<dyn Provider>,
    lock: Arc<StackLock>,
    pub(crate) state: Mutex<State>,
    pub(crate) observer: Arc<dyn Observer>,
    pub(crate) options: ApplyOptions,
    pub(crate) stack: String,
}

impl Shared {
    /// Journals `record` (synced to disk) and applies it to the run's state.
    pub(crate) async fn record(&self, record: JournalRecord) -> Result<(), StoreError> {
        self.lock.append(&record).await?;
        replay(&mut self.state.lock().expect("state lock"), &record);
        Ok(())
    }

    pub(crate) fn now() -> String {
        chrono::Utc::now().to_rfc3339()
    }
}

/// Applies `plan` to the stack held by `lock`, through `provider`.
///
/// Refuses a plan made from another state serial. Returns the report even when
/// operations failed or the run was stopped (`options.stop`); an `Err` means the
/// plan was refused or the state store failed.
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
    if let Some(message) = glinfra_core::policy::refusal(&plan.policy) {
        return Err(ApplyError::Policy { message });
    }
    let state = lock.load().await?;
    if state.serial != plan.base_serial {
        return Err(ApplyError::StalePlan {
            stack: plan.stack.clone(),
            planned: plan.base_serial,
            current: state.serial,
        });
    }
    let start = Instant::now();
    if let Some(timeline) = &options.timeline {
        timeline.begin();
    }
    let schedule = Schedule::from_plan(plan);
    let concurrency = options.concurrency.max(1);
    let paced = match &options.scheduler {
        Scheduler::Baseline => None,
        Scheduler::CriticalPath(pace) => Some(Pacing::new(
            pace.clone().unwrap_or_else(|| Pace::new(concurrency)),
            plan,
            &schedule,
        )),
    };
    let provider: Arc<dyn Provider> = match paced {
        Some(_) => Arc::new(Paced(provider)),
        None => provider,
    };
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
    let dependents = schedule.dependents();
    let mut ready: Vec<usize> = (0..n).filter(|&o| waiting[o] == 0).rev().collect();
    let mut settled = vec![false; n];
    let mut outcomes = Vec::new();
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    let mut store_error: Option<StoreError> = None;
    let mut stopped = options.stop.reason();

    loop {
        if let Some(p) = &paced {
            // The highest priority last, to be popped (and admitted) first.
            ready.sort_by(|&a, &b| p.priority[a].total_cmp(&p.priority[b]).then(b.cmp(&a)));
        }
        while stopped.is_none()
            && (paced.is_some() || tasks.len() < concurrency)
            && store_error.is_none()
        {
            let Some(o) = ready.pop() else { break };
            let op = schedule.ops[o];
            let shared = shared.clone();
            let steps = steps.clone();
            let timeline = options.timeline.clone();
            match &paced {
                None => tasks.spawn(async move {
                    let began = Instant::now();
                    let step = &steps[op.step];
                    let result = traced(timeline, o, step, op.phase, async {
                        run_operation(&shared, step, op.phase).await
                    })
                    .await;
                    (o, Some(result), began.elapsed())
                }),
                Some(p) => {
                    let step = &steps[op.step];
                    let context = OpContext::new(
                        p.pace.clone(),
                        p.priority[o],
                        step.kind,
                        &step.region,
                        crate::wait::Window {
                            latency: p.latency[o],
                            slack: p.slack[o],
                        },
                    );
                    let stop = options.stop.clone();
                    tasks.spawn(context.clone().scope(async move {
                        // Started once it has a token and a slot; a stop before that
                        // leaves it not started.
                        tokio::select! {
                            biased;
                            _ = stop.stopped() => return (o, None, Duration::ZERO),
                            () = context.admit(first_call(op.phase)) => {}
                        }
                        let began = Instant::now();
                        let step = &steps[op.step];
                        let result = traced(timeline, o, step, op.phase, async {
                            run_operation(&shared, step, op.phase).await
                        })
                        .await;
                        context.let_go();
                        (o, Some(result), began.elapsed())
                    }))
                }
            };
        }
        let joined = tokio::select! {
            biased;
            joined = tasks.join_next() => joined,
            reason = options.stop.stopped(), if stopped.is_none() => {
                // Start nothing more; what is in flight finishes below.
                stopped = Some(reason);
                continue;
            }
        };
        let Some(joined) = joined else {
            break;
        };
        let (o, result, elapsed) = joined.expect("operation tasks do not panic");
        let Some(result) = result else {
            // Never started: reported cancelled below.
            continue;
        };
        if let Some(timeline) = &options.timeline {
            let status = match &result {
                Ok(_) => OpStatus::Succeeded,
                Err(_) => OpStatus::Failed,
            };
            timeline.ended(o, status);
        }
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
                let detail = error.to_string();
                if let OpError::Store(store) = error {
                    // The run stops: its first store error (the lock lost, say) is its error.
                    store_error.get_or_insert(store);
                }
                shared.observer.event(&Event::Failed {
                    resource: resource.clone(),
                    phase: op.phase,
                    error: detail.clone(),
                });
                outcomes.push(OpOutcome {
                    resource: resource.clone(),
                    phase: op.phase,
                    status: OpStatus::Failed,
                    detail: Some(detail),
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
    // Every task was joined: what is not settled was never started.
    if let Some(reason) = stopped {
        for (_, op) in schedule
            .ops
            .iter()
            .enumerate()
            .filter(|(o, _)| !settled[*o])
        {
            shared.observer.event(&Event::Cancelled {
                resource: steps[op.step].resource.clone(),
                phase: op.phase,
                reason,
            });
            outcomes.push(OpOutcome {
                resource: steps[op.step].resource.clone(),
                phase: op.phase,
                status: OpStatus::Cancelled,
                detail: Some(format!("not started: {reason}")),
                attempts: 0,
                elapsed_ms: 0,
            });
        }
    }
    let final_state = shared.state.lock().expect("state lock").clone();
    lock.save(&final_state).await?;
    Ok(ApplyReport {
        outcomes,
        elapsed_ms: start.elapsed().as_millis() as u64,
        serial: final_state.serial,
        stopped,
    })
}

/// What the critical-path scheduler knows of a run's operations.
struct Pacing {
    pace: Arc<Pace>,
    /// Each operation's expected remaining path, in seconds.
    priority: Vec<f64>,
    /// Each operation's latency range, from the table.
    latency: Vec<crate::timing::Latency>,
    /// How late each operation can be without making the plan later, expected.
    slack: Vec<Duration>,
}

impl Pacing {
    fn new(pace: Arc<Pace>, plan: &Plan, schedule: &Schedule) -> Pacing {
        let latency = crate::timing::op_latencies(plan, schedule);
        let expected = |o: usize| latency[o].expected();
        let priority = schedule.remaining(expected);
        let through = schedule.through(expected);
        let longest = through.iter().copied().fold(0.0, f64::max);
        let slack = through
            .iter()
            .map(|t| Duration::from_secs_f64((longest - t).max(0.0)))
            .collect();
        Pacing {
            pace,
            priority,
            latency,
            slack,
        }
    }
}

/// The class of an operation's first call: a create looks its resource up first.
fn first_call(phase: OpPhase) -> crate::timing::CallClass {
    match phase {
        OpPhase::Create | OpPhase::ReplaceCreate => crate::timing::CallClass::Describe,
        _ => crate::timing::CallClass::Mutate,
    }
}

/// Runs operation `o` (`step`'s `phase`), recorded on `timeline` when there is one.
async fn traced<F: std::future::Future>(
    timeline: Option<Arc<Timeline>>,
    o: usize,
    step: &Step,
    phase: OpPhase,
    run: F,
) -> F::Output {
    match timeline {
        Some(t) => {
            t.started(o, &step.resource, phase);
            t.recording(o, run).await
        }
        None => run.await,
    }
}
