//! [`Fleet`]: several stacks in one run, in the order their stack references make.
//!
//! Each stack keeps its own lock and state; all of them share one executor budget
//! (one [`Pace`]: concurrency slots and per-service rate buckets), so independent
//! stacks proceed at once and a dependent stack starts the moment the stacks it
//! references are applied (its references are read then). A stack that fails
//! stops its dependents, never an independent stack. A destroy runs the other way:
//! a stack is destroyed once every stack that references it is.

use crate::session::{Error, Session};
use futures::stream::{FuturesUnordered, StreamExt};
use glinfra_core::{Plan, ReferenceError, ResourceGraph, Stack};
use glinfra_engine::{ApplyReport, NoObserver, Observer, Pace, Scheduler};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A fleet that cannot be run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FleetError {
    /// Two stacks of the fleet have one name (one state, one lock).
    #[error("stack `{0}` appears twice in the fleet")]
    Duplicate(String),
    /// Two stacks declare a resource AWS allows one of per account (and region),
    /// where the fleet, run with one set of credentials, is one account.
    #[error(
        "stacks `{first}` and `{second}` both declare a {kind} {place}, and AWS allows {limit}: a fleet runs in one account, so the second could only fail; declare it in one stack (switch it off in the other's environment file)"
    )]
    OnePerAccount {
        /// The kind's type name.
        kind: String,
        /// Where (`in us-east-1`, `in the account`).
        place: String,
        /// The limit in words.
        limit: &'static str,
        /// The stack declaring it first (in the fleet's order of declaration).
        first: String,
        /// The stack declaring it again.
        second: String,
    },
    /// The stacks reference each other in a cycle: none can be applied first.
    #[error("the fleet's stacks reference each other in a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

/// What a stack's plan in a fleet came to ([`Fleet::plan`]).
#[derive(Debug)]
pub enum StackPlan {
    /// Its plan.
    Planned(Plan),
    /// It reads an output a stack of the fleet has not recorded yet: it is
    /// planned once that stack is applied (in the same run, by [`Fleet::apply`]).
    Waits {
        /// The stacks of the fleet it waits for.
        on: Vec<String>,
        /// The reference that cannot be read yet.
        reason: ReferenceError,
    },
    /// It could not be planned.
    Failed(String),
}

/// How one stack of a fleet run ended.
#[derive(Debug)]
pub enum StackOutcome {
    /// Its plan was applied (the report says whether every operation succeeded).
    Applied {
        /// The plan applied.
        plan: Box<Plan>,
        /// The executor's report.
        report: ApplyReport,
    },
    /// Nothing to change.
    Unchanged,
    /// It could not be planned or applied (lock held, reference missing, consent
    /// refused...).
    Failed(String),
    /// Not started: a stack it needs failed.
    Skipped {
        /// The stack that failed.
        because: String,
    },
}

impl StackOutcome {
    /// True when the stack is where its program says (applied in full, or unchanged).
    pub fn is_success(&self) -> bool {
        match self {
            StackOutcome::Applied { report, .. } => report.is_success(),
            StackOutcome::Unchanged => true,
            StackOutcome::Failed(_) | StackOutcome::Skipped { .. } => false,
        }
    }
}

/// One stack's part of a fleet run, timed from the run's start.
#[derive(Debug)]
pub struct StackRun {
    /// The stack.
    pub stack: String,
    /// How it ended.
    pub outcome: StackOutcome,
    /// When it started (its lock taken), after the run's start.
    pub started: Duration,
    /// When it ended, after the run's start.
    pub ended: Duration,
}

impl StackRun {
    /// Its own wall time.
    pub fn elapsed(&self) -> Duration {
        self.ended.saturating_sub(self.started)
    }
}

/// The report of a fleet run: each stack's part, in the fleet's order.
#[derive(Debug)]
pub struct FleetReport {
    /// Each stack's run.
    pub runs: Vec<StackRun>,
    /// The run's wall time.
    pub elapsed: Duration,
}

impl FleetReport {
    /// True when every stack succeeded.
    pub fn is_success(&self) -> bool {
        self.runs.iter().all(|r| r.outcome.is_success())
    }

    /// The stack that took longest.
    pub fn slowest(&self) -> Option<&StackRun> {
        self.runs.iter().max_by_key(|r| r.elapsed())
    }

    /// The stack's run.
    pub fn run(&self, stack: &str) -> Option<&StackRun> {
        self.runs.iter().find(|r| r.stack == stack)
    }

    /// `applied, unchanged, failed, skipped` stack counts.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for r in &self.runs {
            match &r.outcome {
                StackOutcome::Applied { report, .. } if report.is_success() => c.0 += 1,
                StackOutcome::Unchanged => c.1 += 1,
                StackOutcome::Applied { .. } | StackOutcome::Failed(_) => c.2 += 1,
                StackOutcome::Skipped { .. } => c.3 += 1,
            }
        }
        c
    }
}

/// What a fleet run tells its caller, and asks it.
pub trait FleetObserver: Sync {
    /// Whether `plan` may be applied to `stack` (the command line asks for
    /// consent to deletes here). An error fails the stack and skips its dependents.
    fn approve(&self, _stack: &Stack, _plan: &Plan, _destroy: bool) -> Result<(), String> {
        Ok(())
    }
    /// `stack` was planned (before `approve`).
    fn planned(&self, _stack: &str, _plan: &Plan) {}
    /// A stack's run ended (or was skipped).
    fn finished(&self, _run: &StackRun) {}
    /// The executor's observer for `stack`'s apply.
    fn executor(&self, _stack: &str) -> Arc<dyn Observer> {
        Arc::new(NoObserver)
    }
}

/// Observes nothing and approves every plan the engine accepts.
pub struct Unobserved;
impl FleetObserver for Unobserved {}

struct Member {
    stack: Stack,
    graph: ResourceGraph,
    /// The members it references.
    needs: Vec<usize>,
}

/// Several stacks, run together in the order their references make.
pub struct Fleet {
    members: Vec<Member>,
    order: Vec<usize>,
}

impl Fleet {
    /// A fleet of declared, validated stacks. A reference to a stack outside the
    /// fleet is read from the backend as it is; one to a stack inside orders the two.
    pub fn new(
        stacks: impl IntoIterator<Item = (Stack, ResourceGraph)>,
    ) -> Result<Fleet, FleetError> {
        let stacks: Vec<(Stack, ResourceGraph)> = stacks.into_iter().collect();
        let mut index = BTreeMap::new();
        for (i, (stack, _)) in stacks.iter().enumerate() {
            if index.insert(stack.name().to_string(), i).is_some() {
                return Err(FleetError::Duplicate(stack.name().to_string()));
            }
        }
        let members: Vec<Member> = stacks
            .into_iter()
            .map(|(stack, graph)| Member {
                needs: stack
                    .referenced_stacks()
                    .iter()
                    .filter_map(|name| index.get(name).copied())
                    .collect(),
                stack,
                graph,
            })
            .collect();
        let declared = members
            .iter()
            .flat_map(|m| m.stack.declarations().iter().map(move |d| (m, &**d)));
        if let Some((second, decl, first, _)) =
            glinfra_core::graph::second_singletons(declared).next()
        {
            let one_per = decl.kind.one_per();
            return Err(FleetError::OnePerAccount {
                kind: decl.kind.to_string(),
                place: one_per.place(&decl.region),
                limit: one_per.describe(),
                first: first.stack.name().to_string(),
                second: second.stack.name().to_string(),
            });
        }
        let order = topological(&members)?;
        Ok(Fleet { members, order })
    }

    /// The stacks' names in dependency order (each after the stacks it references).
    pub fn order(&self) -> Vec<&str> {
        self.order
            .iter()
            .map(|&i| self.members[i].stack.name())
            .collect()
    }

    /// The stacks of the fleet that `stack` references.
    pub fn needs(&self, stack: &str) -> Vec<&str> {
        self.members
            .iter()
            .find(|m| m.stack.name() == stack)
            .map(|m| {
                m.needs
                    .iter()
                    .map(|&j| self.members[j].stack.name())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every stack's plan, in dependency order, read without locks (reads run at
    /// once). A stack whose references read a stack of the fleet that has not
    /// recorded them yet [`StackPlan::Waits`] for it.
    pub async fn plan(&self, session: &Session, refresh: bool) -> Vec<(String, StackPlan)> {
        let plans = futures::future::join_all(self.order.iter().map(|&i| async move {
            let m = &self.members[i];
            let plan = match self.plan_one(session, m, refresh).await {
                Ok(plan) => StackPlan::Planned(plan),
                Err(Error::Reference(reason)) => {
                    let on: Vec<String> = self
                        .needs(m.stack.name())
                        .into_iter()
                        .filter(|n| reference_names(&reason) == Some(n))
                        .map(str::to_string)
                        .collect();
                    if on.is_empty() {
                        StackPlan::Failed(reason.to_string())
                    } else {
                        StackPlan::Waits { on, reason }
                    }
                }
                Err(e) => StackPlan::Failed(e.to_string()),
            };
            (m.stack.name().to_string(), plan)
        }))
        .await;
        plans
    }

    async fn plan_one(&self, session: &Session, m: &Member, refresh: bool) -> Result<Plan, Error> {
        let (_, graph) = session.resolve(&m.stack).await?;
        let state = session.read(m.stack.name()).await?.state;
        if !refresh {
            return Ok(glinfra_core::plan::plan(&graph, &state));
        }
        let (refreshed, _) = session.refresh_state(&state, &graph, false).await?;
        Ok(session.plan_refreshed(Some(&graph), &refreshed))
    }

    /// Applies every stack, each once the stacks it references are applied,
    /// sharing one executor budget.
    pub async fn apply(
        &self,
        session: &Session,
        refresh: bool,
        observer: &dyn FleetObserver,
    ) -> FleetReport {
        let needs: Vec<Vec<usize>> = self.members.iter().map(|m| m.needs.clone()).collect();
        self.run(session, refresh, false, needs, observer).await
    }

    /// Destroys every stack, each once every stack that references it is destroyed.
    pub async fn destroy(
        &self,
        session: &Session,
        refresh: bool,
        observer: &dyn FleetObserver,
    ) -> FleetReport {
        let mut dependents = vec![Vec::new(); self.members.len()];
        for (i, m) in self.members.iter().enumerate() {
            for &j in &m.needs {
                dependents[j].push(i);
            }
        }
        self.run(session, refresh, true, dependents, observer).await
    }

    async fn run(
        &self,
        session: &Session,
        refresh: bool,
        destroy: bool,
        after: Vec<Vec<usize>>,
        observer: &dyn FleetObserver,
    ) -> FleetReport {
        let start = Instant::now();
        let mut options = session.options().clone();
        if let Scheduler::CriticalPath(None) = options.scheduler {
            options.scheduler = Scheduler::CriticalPath(Some(Pace::new(options.concurrency)));
        }
        let order: Vec<usize> = if destroy {
            self.order.iter().rev().copied().collect()
        } else {
            self.order.clone()
        };
        let n = self.members.len();
        let mut ok: Vec<Option<bool>> = vec![None; n];
        let mut started = vec![false; n];
        let mut runs: Vec<Option<StackRun>> = (0..n).map(|_| None).collect();
        let mut running = FuturesUnordered::new();
        loop {
            for &i in &order {
                if started[i] {
                    continue;
                }
                let failed = after[i].iter().find(|&&j| ok[j] == Some(false));
                let stopped = options.stop.reason().is_some();
                if let Some(&j) = failed {
                    let at = start.elapsed();
                    let run = StackRun {
                        stack: self.members[i].stack.name().to_string(),
                        outcome: StackOutcome::Skipped {
                            because: self.members[j].stack.name().to_string(),
                        },
                        started: at,
                        ended: at,
                    };
                    observer.finished(&run);
                    (started[i], ok[i], runs[i]) = (true, Some(false), Some(run));
                } else if after[i].iter().all(|&j| ok[j] == Some(true)) && !stopped {
                    started[i] = true;
                    let options = options.clone();
                    running.push(async move {
                        let began = start.elapsed();
                        let outcome = self
                            .run_one(session, i, refresh, destroy, options, observer)
                            .await
                            .unwrap_or_else(StackOutcome::Failed);
                        let run = StackRun {
                            stack: self.members[i].stack.name().to_string(),
                            outcome,
                            started: began,
                            ended: start.elapsed(),
                        };
                        (i, run)
                    });
                }
            }
            // A skip can make more skips: loop again before waiting.
            if order
                .iter()
                .any(|&i| !started[i] && after[i].iter().any(|&j| ok[j] == Some(false)))
            {
                continue;
            }
            match running.next().await {
                Some((i, run)) => {
                    observer.finished(&run);
                    ok[i] = Some(run.outcome.is_success());
                    runs[i] = Some(run);
                }
                None => break,
            }
        }
        FleetReport {
            runs: self.order.iter().filter_map(|&i| runs[i].take()).collect(),
            elapsed: start.elapsed(),
        }
    }

    /// One stack: its lock, its references read, a refresh, its plan, consent,
    /// the apply, its outputs recorded; the lock released whatever happened.
    async fn run_one(
        &self,
        session: &Session,
        i: usize,
        refresh: bool,
        destroy: bool,
        options: glinfra_engine::ApplyOptions,
        observer: &dyn FleetObserver,
    ) -> Result<StackOutcome, String> {
        let m = &self.members[i];
        let name = m.stack.name();
        let lock = session.lock(name).await.map_err(|e| e.to_string())?;
        let result = async {
            let (stack, graph) = if destroy {
                (m.stack.clone(), m.graph.clone())
            } else {
                session.resolve(&m.stack).await?
            };
            let recorded = session.state(&lock).await?;
            let (state, drift) = if refresh {
                let (refreshed, _) = session.refresh_state(&recorded, &graph, destroy).await?;
                session.save(&lock, &refreshed.state).await?;
                (refreshed.state, refreshed.drift)
            } else {
                (recorded, Vec::new())
            };
            let target = (!destroy).then_some(&graph);
            let plan =
                glinfra_core::refresh::plan_refreshed(target, &state, &drift, &Default::default());
            observer.planned(name, &plan);
            if plan.is_empty() {
                session.record_outputs(&lock, &stack).await?;
                return Ok(StackOutcome::Unchanged);
            }
            if let Err(refused) = observer.approve(&stack, &plan, destroy) {
                return Ok(StackOutcome::Failed(refused));
            }
            let report = glinfra_engine::apply(
                session.provider.clone(),
                lock.clone(),
                &plan,
                options,
                observer.executor(name),
            )
            .await?;
            session.record_outputs(&lock, &stack).await?;
            Ok::<_, Error>(StackOutcome::Applied {
                plan: Box::new(plan),
                report,
            })
        }
        .await;
        if let Err(e) = lock.release().await {
            tracing::warn!("releasing the lock of `{name}`: {e}");
        }
        result.map_err(|e| e.to_string())
    }
}

/// The stack a reference error names as the one read.
fn reference_names(e: &ReferenceError) -> Option<&str> {
    match e {
        ReferenceError::NotApplied { referenced, .. }
        | ReferenceError::MissingOutput { referenced, .. } => Some(referenced),
        ReferenceError::SelfReference(_) => None,
    }
}

/// Kahn's order over the references, stable in the fleet's order; a cycle named.
fn topological(members: &[Member]) -> Result<Vec<usize>, FleetError> {
    let n = members.len();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let next = (0..n).find(|&i| !done[i] && members[i].needs.iter().all(|&j| done[j]));
        match next {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => {
                // Walk needs from a blocked stack until one repeats: the cycle.
                let mut path = vec![(0..n).find(|&i| !done[i]).expect("a blocked stack")];
                loop {
                    let last = *path.last().expect("non-empty");
                    let j = *members[last]
                        .needs
                        .iter()
                        .find(|&&j| !done[j])
                        .expect("a blocked stack needs a blocked stack");
                    if let Some(at) = path.iter().position(|&p| p == j) {
                        let mut cycle: Vec<String> = path[at..]
                            .iter()
                            .map(|&p| members[p].stack.name().to_string())
                            .collect();
                        cycle.push(members[j].stack.name().to_string());
                        return Err(FleetError::Cycle(cycle));
                    }
                    path.push(j);
                }
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests;
