//! How long an apply has left: each operation's expected latency (the engine's
//! table of how long AWS takes) less what it has already run, along the longest
//! remaining path of the schedule. Pure over the instants it is given.

use glinfra_core::schedule::OpPhase;
use glinfra_core::{Plan, Schedule};
use glinfra_engine::timing::{op_latencies, Latency};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Where one operation is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum OpState {
    Pending,
    Running(Instant),
    Finished,
}

/// The operations of one apply, what each is expected to take, and where each is.
pub struct Estimate {
    schedule: Schedule,
    latency: Vec<Latency>,
    index: HashMap<(String, OpPhase), usize>,
    state: Vec<OpState>,
}

/// One operation in flight, for display.
#[derive(Clone, Debug, PartialEq)]
pub struct InFlight {
    /// The resource.
    pub resource: String,
    /// What it does.
    pub phase: OpPhase,
    /// How long it has run.
    pub elapsed: Duration,
    /// What the kind typically takes.
    pub typical: Latency,
}

impl Estimate {
    /// The estimate of an apply of `plan`, nothing started.
    pub fn new(plan: &Plan) -> Estimate {
        let schedule = Schedule::from_plan(plan);
        Estimate::with_latencies(plan, op_latencies(plan, &schedule), schedule)
    }

    fn with_latencies(plan: &Plan, latency: Vec<Latency>, schedule: Schedule) -> Estimate {
        let index = schedule
            .ops
            .iter()
            .enumerate()
            .map(|(o, op)| ((plan.steps[op.step].resource.clone(), op.phase), o))
            .collect();
        let state = vec![OpState::Pending; schedule.len()];
        Estimate {
            schedule,
            latency,
            index,
            state,
        }
    }

    /// Operations in the plan.
    pub fn len(&self) -> usize {
        self.schedule.len()
    }

    /// Whether the plan has no operations.
    pub fn is_empty(&self) -> bool {
        self.schedule.len() == 0
    }

    /// Marks an operation started at `at`; returns what it typically takes.
    pub fn started(&mut self, resource: &str, phase: OpPhase, at: Instant) -> Option<Latency> {
        let o = *self.index.get(&(resource.to_string(), phase))?;
        self.state[o] = OpState::Running(at);
        Some(self.latency[o])
    }

    /// Marks an operation over (succeeded, failed, skipped or not started).
    pub fn finished(&mut self, resource: &str, phase: OpPhase) {
        if let Some(&o) = self.index.get(&(resource.to_string(), phase)) {
            self.state[o] = OpState::Finished;
        }
    }

    /// The operations in flight at `now`, longest running first.
    pub fn in_flight(&self, now: Instant) -> Vec<InFlight> {
        let mut running: Vec<InFlight> = self
            .schedule
            .ops
            .iter()
            .enumerate()
            .filter_map(|(o, _)| match self.state[o] {
                OpState::Running(since) => Some(InFlight {
                    resource: self.resource_of(o).to_string(),
                    phase: self.schedule.ops[o].phase,
                    elapsed: now.saturating_duration_since(since),
                    typical: self.latency[o],
                }),
                _ => None,
            })
            .collect();
        running.sort_by(|a, b| b.elapsed.cmp(&a.elapsed).then(a.resource.cmp(&b.resource)));
        running
    }

    fn resource_of(&self, o: usize) -> &str {
        self.index
            .iter()
            .find(|(_, &i)| i == o)
            .map(|((r, _), _)| r.as_str())
            .unwrap_or("")
    }

    /// The expected time left at `now`: the longest path through what is not
    /// finished, an operation in flight counting what it is expected to take
    /// less what it has run (never below zero). `None` when everything finished.
    pub fn time_left(&self, now: Instant) -> Option<Duration> {
        if self.state.iter().all(|s| *s == OpState::Finished) {
            return None;
        }
        let weight = |o: usize| match self.state[o] {
            OpState::Finished => 0.0,
            OpState::Pending => self.latency[o].expected(),
            OpState::Running(since) => (self.latency[o].expected()
                - now.saturating_duration_since(since).as_secs_f64())
            .max(0.0),
        };
        let remaining = self.schedule.remaining(weight);
        let left = remaining
            .iter()
            .enumerate()
            .filter(|(o, _)| self.state[*o] != OpState::Finished)
            .map(|(_, r)| *r)
            .fold(0.0f64, f64::max);
        Some(Duration::from_secs_f64(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glinfra_core::spec::ec2::{SubnetSpec, VpcSpec};
    use glinfra_core::{plan::plan, ResourceGraph, Stack, State};

    /// A VPC and a subnet in it: two creates, the subnet waiting for the VPC.
    fn two_step_plan() -> Plan {
        let mut stack = Stack::new("progress", "us-east-1");
        let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
        stack.add(
            "subnet",
            SubnetSpec::new(vpc.id(), "10.0.1.0/24", "us-east-1a"),
        );
        let graph = ResourceGraph::build(&stack).expect("valid stack");
        plan(&graph, &State::empty("progress"))
    }

    fn secs(min: f64, max: f64) -> Latency {
        Latency { min, max }
    }

    fn estimate(plan: &Plan) -> Estimate {
        let schedule = Schedule::from_plan(plan);
        let latencies = vec![secs(8.0, 12.0); schedule.len()];
        Estimate::with_latencies(plan, latencies, schedule)
    }

    #[test]
    fn time_left_is_the_remaining_path_less_what_has_run() {
        let plan = two_step_plan();
        let mut e = estimate(&plan);
        let t0 = Instant::now();
        // Nothing started: the chain of two 10-second operations.
        assert_eq!(e.time_left(t0), Some(Duration::from_secs(20)));
        e.started("vpc", OpPhase::Create, t0);
        assert_eq!(
            e.time_left(t0 + Duration::from_secs(4)),
            Some(Duration::from_secs(16))
        );
        // Running past its expectation counts as nothing left for it, not less.
        assert_eq!(
            e.time_left(t0 + Duration::from_secs(30)),
            Some(Duration::from_secs(10))
        );
        e.finished("vpc", OpPhase::Create);
        e.started("subnet", OpPhase::Create, t0 + Duration::from_secs(30));
        let flying = e.in_flight(t0 + Duration::from_secs(33));
        assert_eq!(flying.len(), 1);
        assert_eq!(flying[0].resource, "subnet");
        assert_eq!(flying[0].elapsed, Duration::from_secs(3));
        assert_eq!(
            e.time_left(t0 + Duration::from_secs(33)),
            Some(Duration::from_secs(7))
        );
        e.finished("subnet", OpPhase::Create);
        assert_eq!(e.time_left(t0 + Duration::from_secs(40)), None);
    }

    #[test]
    fn expected_latencies_come_from_the_engine_table() {
        let plan = two_step_plan();
        let mut e = Estimate::new(&plan);
        assert_eq!(e.len(), 2);
        let typical = e.started("vpc", OpPhase::Create, Instant::now()).unwrap();
        assert!(typical.min > 0.0 && typical.max < 60.0, "{typical:?}");
        assert_eq!(e.started("nothing", OpPhase::Create, Instant::now()), None);
    }
}
