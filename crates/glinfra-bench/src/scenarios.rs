//! Applies in the simulated AWS account, measured against their bound.
//!
//! A scenario is one or more plans (stacks) applied together in one account,
//! from nothing. Each draw (a seed) fixes every latency; both executors apply
//! the same draw, each on a fresh paused-clock runtime and a fresh account. A
//! run's bound is the larger of two lower bounds on its makespan:
//!
//! - the critical path: the longest path through each plan's schedule with
//!   that draw's latencies ([`Schedule::critical_path`]), the longest of the plans;
//! - the rate bound: for each request bucket of the account, the calls the
//!   plans cannot do without (one mutating call per operation, one read per
//!   create: the look-up that makes a create idempotent) beyond the bucket's
//!   burst, over its refill rate.

use glinfra_core::plan::plan;
use glinfra_core::{Plan, ResourceGraph, Schedule, Stack, State};
use glinfra_engine::sim::{Count, SimStats};
use glinfra_engine::sim::{SimCloud, SimConfig};
use glinfra_engine::timing::{op_profiles, CallClass, Change, Service};
use glinfra_engine::{
    apply, ApplyOptions, LocalStateStore, NoObserver, OpStatus, Pace, Scheduler, Timeline,
};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The executor a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Executor {
    /// The executor before the critical-path scheduler ([`Scheduler::Baseline`]).
    Baseline,
    /// The critical-path scheduler, one pacing shared by the scenario's stacks,
    /// and waits of one kind and region sharing one describe a poll.
    Current,
    /// [`Executor::Current`] with one describe per wait (before shared polling).
    Unshared,
}

impl Executor {
    /// Its name in the benchmark's output.
    pub fn name(self) -> &'static str {
        match self {
            Executor::Baseline => "baseline",
            Executor::Current => "current",
            Executor::Unshared => "current-unshared",
        }
    }
}

/// Plans applied together, and how many draws to measure.
pub struct Scenario {
    /// `stack`, `fleet-5`, `copies-20`, `bulk-2000`.
    pub name: &'static str,
    /// The plans, from nothing.
    pub plans: Vec<Arc<Plan>>,
    /// Draws to measure by default.
    pub draws: usize,
}

/// What one run of one draw measured.
#[derive(Clone, Debug)]
pub struct Run {
    /// Seconds from the start until the last stack's apply ended.
    pub makespan: f64,
    /// The critical-path bound, seconds.
    pub critical_path: f64,
    /// The rate bound, seconds.
    pub rate_bound: f64,
    /// Requests made.
    pub calls: u64,
    /// Requests throttled.
    pub throttled: u64,
    /// Operations that did not succeed.
    pub failed: usize,
    /// Requests by service and class.
    pub by_service: BTreeMap<(Service, CallClass), Count>,
}

impl Run {
    /// The larger bound.
    pub fn bound(&self) -> f64 {
        self.critical_path.max(self.rate_bound)
    }

    /// The makespan over the bound.
    pub fn ratio(&self) -> f64 {
        self.makespan / self.bound()
    }
}

fn from_nothing(stack: &Stack) -> Result<Arc<Plan>, String> {
    let graph = ResourceGraph::build(stack).map_err(|d| format!("{}: {d}", stack.name()))?;
    Ok(Arc::new(plan(&graph, &State::empty(stack.name()))))
}

fn environment(root: &Path, name: &str) -> Result<greenlang_agent_factory::Environment, String> {
    greenlang_agent_factory::load(&root.join("environments").join(format!("{name}.toml")))
        .map_err(|d| d.to_string())
}

fn declared(env: &greenlang_agent_factory::Environment) -> Result<Arc<Plan>, String> {
    let (stack, _) = greenlang_agent_factory::stack_for(env).map_err(|d| d.to_string())?;
    // Stack references: what the regional stacks read once prod-us-east-1 is
    // applied (its primary's ARN, so their replicas are cross-region ones).
    let recorded = stack
        .referenced_stacks()
        .iter()
        .map(|name| {
            let outputs = [
                (
                    "db_primary_arn",
                    "arn:aws:rds:us-east-1:000000000000:db:greenlang-prod-primary",
                ),
                ("zone_id", "ZSIMULATED"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(v)))
            .collect();
            (name.clone(), Some(outputs))
        })
        .collect();
    let stack = stack
        .resolve_references(&recorded)
        .map_err(|e| e.to_string())?;
    from_nothing(&stack)
}

/// The four scenarios, from the environment files under `root`.
pub fn scenarios(root: &Path) -> Result<Vec<Scenario>, String> {
    let prod = environment(root, "prod-us-east-1")?;
    let mut fleet = Vec::new();
    for name in greenlang_agent_factory::ENVIRONMENTS {
        fleet.push(declared(&environment(root, name)?)?);
    }
    let mut copies = Vec::new();
    for i in 0..20 {
        let mut env = prod.clone();
        env.stack.name = format!("prod-us-east-1-c{i:02}");
        copies.push(declared(&env)?);
    }
    Ok(vec![
        Scenario {
            name: "stack",
            plans: vec![declared(&prod)?],
            draws: 300,
        },
        Scenario {
            name: "fleet-5",
            plans: fleet,
            draws: 100,
        },
        Scenario {
            name: "copies-20",
            plans: copies,
            draws: 30,
        },
        Scenario {
            name: "bulk-2000",
            plans: vec![from_nothing(&crate::synthetic::bulk_security_groups(2000))?],
            draws: 30,
        },
    ])
}

/// The simulated account of draw `seed`.
pub fn account(seed: u64) -> SimCloud {
    account_for(seed, Executor::Current)
}

/// The simulated account of draw `seed` as `executor` meets it: polls shared
/// only by the current executor (the baseline is the executor before it).
fn account_for(seed: u64, executor: Executor) -> SimCloud {
    SimCloud::new(SimConfig {
        seed,
        shared_polls: executor == Executor::Current,
        ..SimConfig::default()
    })
}

/// The longest path through `plan`'s schedule in draw `seed`: each operation on
/// it (resource and seconds), and its length in seconds.
pub fn longest_path(plan: &Plan, seed: u64) -> (Vec<(String, f64)>, f64) {
    let sim = account(seed);
    let schedule = Schedule::from_plan(plan);
    let profiles = op_profiles(plan, &schedule);
    let took: Vec<f64> = schedule
        .ops
        .iter()
        .zip(&profiles)
        .map(|(op, profile)| {
            sim.latency(&plan.stack, &plan.steps[op.step].resource, *profile)
                .as_secs_f64()
        })
        .collect();
    let (path, length) = schedule.critical_path(|o| took[o]);
    let named = path
        .into_iter()
        .map(|o| (plan.steps[schedule.ops[o].step].resource.clone(), took[o]))
        .collect();
    (named, length)
}

/// The critical-path bound of `plans` in draw `seed`, in seconds.
pub fn critical_path(plans: &[Arc<Plan>], seed: u64) -> f64 {
    plans
        .iter()
        .map(|plan| longest_path(plan, seed).1)
        .fold(0.0, f64::max)
}

/// The rate bound of `plans` applied together in one account, in seconds.
pub fn rate_bound(plans: &[Arc<Plan>]) -> f64 {
    let mut needed: HashMap<(Service, String, &'static str), (f64, glinfra_engine::timing::Rate)> =
        HashMap::new();
    for plan in plans {
        let schedule = Schedule::from_plan(plan);
        for (op, profile) in schedule.ops.iter().zip(op_profiles(plan, &schedule)) {
            let service = Service::of(profile.kind);
            let region = &plan.steps[op.step].region;
            let mut calls = vec![CallClass::Mutate];
            if profile.change == Change::Create {
                calls.push(CallClass::Describe);
            }
            for class in calls {
                let (name, rate) = service.bucket(class);
                needed
                    .entry((service, service.scope(region).to_string(), name))
                    .or_insert((0.0, rate))
                    .0 += 1.0;
            }
        }
    }
    needed
        .values()
        .map(|(calls, rate)| ((calls - rate.burst) / rate.per_second).max(0.0))
        .fold(0.0, f64::max)
}

/// Applies `plans` together with `executor` in draw `seed`, on a paused clock.
pub fn run(plans: &[Arc<Plan>], executor: Executor, seed: u64) -> Run {
    run_recorded(plans, executor, seed, false).0
}

/// [`run`], and with `chart` the timeline of the first plan's apply as an SVG.
pub fn run_recorded(
    plans: &[Arc<Plan>],
    executor: Executor,
    seed: u64,
    chart: bool,
) -> (Run, Option<String>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let (makespan, stats, failed, svg) = runtime.block_on(apply_all(plans, executor, seed, chart));
    let total = stats.total();
    let run = Run {
        makespan,
        critical_path: critical_path(plans, seed),
        rate_bound: rate_bound(plans),
        calls: total.calls,
        throttled: total.throttled,
        failed,
        by_service: stats.by_service,
    };
    (run, svg)
}

/// A directory for the state files: in memory where there is one (the journal
/// syncs every record, which a disk would make the benchmark's cost).
fn state_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("glinfra-sim")
            .tempdir_in(shm)
        {
            return dir;
        }
    }
    tempfile::tempdir().expect("a temporary directory")
}

async fn apply_all(
    plans: &[Arc<Plan>],
    executor: Executor,
    seed: u64,
    chart: bool,
) -> (f64, SimStats, usize, Option<String>) {
    let sim = Arc::new(account_for(seed, executor));
    let dir = state_dir();
    let store = LocalStateStore::new(dir.path());
    let pace = Pace::new(16);
    let timeline = chart.then(Timeline::new);
    let start = Instant::now();
    let mut runs = JoinSet::new();
    for (i, plan) in plans.iter().enumerate() {
        let lock = Arc::new(store.lock(&plan.stack).expect("the stack's lock"));
        let scheduler = match executor {
            Executor::Baseline => Scheduler::Baseline,
            Executor::Current | Executor::Unshared => Scheduler::CriticalPath(Some(pace.clone())),
        };
        let options = ApplyOptions {
            concurrency: 16,
            scheduler,
            run_id: format!("sim-{seed}"),
            timeline: timeline.clone().filter(|_| i == 0),
            ..ApplyOptions::default()
        };
        let (sim, plan) = (sim.clone(), plan.clone());
        runs.spawn(async move {
            apply(sim, lock, &plan, options, Arc::new(NoObserver))
                .await
                .expect("the plan applies")
        });
    }
    let mut failed = 0;
    while let Some(report) = runs.join_next().await {
        let report = report.expect("an apply does not panic");
        failed += report
            .outcomes
            .iter()
            .filter(|o| o.status != OpStatus::Succeeded)
            .count();
    }
    let makespan = start.elapsed().as_secs_f64();
    let svg = timeline.map(|t| t.svg(&plans[0]));
    (makespan, sim.stats(), failed, svg)
}
