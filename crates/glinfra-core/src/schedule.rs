//! The operations a plan runs and the order constraints between them.
//!
//! A replace is two operations. Delete-first: the old resource's delete, then the
//! new one's create. Create-first: the new one's create, then the old one's
//! delete, which also waits for every update and replacement of what used it (so
//! nothing still points at it when it goes). Creates wait for the creates of what
//! they depend on; deletes wait for the deletes of what depended on them (a VPC
//! cannot be deleted while subnets remain), and a plain delete also waits for the
//! updates that stop using it.

use crate::plan::{Action, Plan};
use serde::Serialize;
use std::collections::HashMap;

/// Which half of a step an operation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpPhase {
    /// Create a new resource.
    Create,
    /// Update a resource in place.
    Update,
    /// Delete a resource that is no longer declared.
    Delete,
    /// Delete the old resource of a replace.
    ReplaceDelete,
    /// Create the new resource of a replace.
    ReplaceCreate,
    /// Delete the old resource of a create-first replace once its replacement
    /// exists (or, resuming, the old resources an interrupted one left).
    DeleteReplaced,
}

impl OpPhase {
    /// True for the phases that remove a resource.
    pub fn is_delete(self) -> bool {
        matches!(
            self,
            OpPhase::Delete | OpPhase::ReplaceDelete | OpPhase::DeleteReplaced
        )
    }
}

/// One unit of work for the executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// Index of the plan step it belongs to.
    pub step: usize,
    /// Which half.
    pub phase: OpPhase,
}

/// The operations of a plan and, for each, the operations it waits for.
#[derive(Clone, Debug, Serialize)]
pub struct Schedule {
    /// Operations.
    pub ops: Vec<Operation>,
    /// `waits_for[i]`: indices into `ops` that must succeed before `ops[i]` starts.
    pub waits_for: Vec<Vec<usize>>,
}

impl Schedule {
    /// Derives the operations and their order constraints from `plan`.
    pub fn from_plan(plan: &Plan) -> Schedule {
        let mut ops = Vec::new();
        for (i, step) in plan.steps.iter().enumerate() {
            let phases: &[OpPhase] = match step.action {
                Action::Create => &[OpPhase::Create],
                Action::Update => &[OpPhase::Update],
                Action::Delete if step.is_superseded_delete() => &[OpPhase::DeleteReplaced],
                Action::Delete => &[OpPhase::Delete],
                Action::Replace if step.creates_first() => {
                    &[OpPhase::ReplaceCreate, OpPhase::DeleteReplaced]
                }
                Action::Replace => &[OpPhase::ReplaceDelete, OpPhase::ReplaceCreate],
            };
            ops.extend(phases.iter().map(|&phase| Operation { step: i, phase }));
        }
        let mut producer: HashMap<&str, usize> = HashMap::new();
        let mut removers: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut updater: HashMap<&str, usize> = HashMap::new();
        for (o, op) in ops.iter().enumerate() {
            let id = plan.steps[op.step].resource.as_str();
            match op.phase {
                OpPhase::Create | OpPhase::ReplaceCreate => {
                    producer.insert(id, o);
                }
                OpPhase::Update => {
                    producer.insert(id, o);
                    updater.insert(id, o);
                }
                OpPhase::Delete | OpPhase::ReplaceDelete | OpPhase::DeleteReplaced => {
                    removers.entry(id).or_default().push(o);
                }
            }
        }
        // Who depended on each resource, as recorded: computed once for every delete.
        let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
        for step in &plan.steps {
            if let Some(prior) = &step.prior {
                for dep in &prior.dependencies {
                    if *dep != step.resource {
                        dependents
                            .entry(dep.as_str())
                            .or_default()
                            .push(step.resource.as_str());
                    }
                }
            }
        }
        let mut waits_for = vec![Vec::new(); ops.len()];
        for (o, op) in ops.iter().enumerate() {
            let step = &plan.steps[op.step];
            let me = step.resource.as_str();
            match op.phase {
                OpPhase::Create | OpPhase::Update | OpPhase::ReplaceCreate => {
                    if let Some(decl) = &step.desired {
                        let mut wait = |dep: &str| {
                            if let Some(&p) = producer.get(dep) {
                                waits_for[o].push(p);
                            }
                        };
                        decl.for_each_dependency(&mut wait);
                        decl.depends_on.iter().for_each(|d| wait(d));
                    }
                    if op.phase == OpPhase::ReplaceCreate && !step.creates_first() {
                        // Delete-first: the old resource goes before the new one comes.
                        waits_for[o].extend(
                            removers[me]
                                .iter()
                                .filter(|&&r| ops[r].phase == OpPhase::ReplaceDelete),
                        );
                    }
                }
                OpPhase::Delete | OpPhase::ReplaceDelete | OpPhase::DeleteReplaced => {
                    if op.phase == OpPhase::DeleteReplaced {
                        // The old resource goes once its replacement exists.
                        waits_for[o].extend(producer.get(me));
                    }
                    for &other in dependents.get(me).map(Vec::as_slice).unwrap_or_default() {
                        if let Some(rs) = removers.get(other) {
                            waits_for[o].extend(rs);
                        }
                        // What stops using it: not for a delete-first replacement,
                        // whose dependents' updates wait for its new resource.
                        if op.phase != OpPhase::ReplaceDelete {
                            if let Some(&u) = updater.get(other) {
                                waits_for[o].push(u);
                            }
                            if op.phase == OpPhase::DeleteReplaced {
                                // A dependent replaced delete-first now uses the new one.
                                waits_for[o].extend(producer.get(other));
                            }
                        }
                    }
                }
            }
            waits_for[o].sort_unstable();
            waits_for[o].dedup();
        }
        Schedule { ops, waits_for }
    }

    /// For each operation, what waits for it (the reverse of `waits_for`).
    pub fn dependents(&self) -> Vec<Vec<usize>> {
        let mut dependents = vec![Vec::new(); self.ops.len()];
        for (o, waits) in self.waits_for.iter().enumerate() {
            for &w in waits {
                dependents[w].push(o);
            }
        }
        dependents
    }

    /// For each operation, the longest path from its start to the end of the plan
    /// when operation `o` takes `weight(o)`: its own weight plus the longest
    /// remaining path of what waits for it. The executor starts the operation with
    /// the longest expected remaining path first; with the latencies of a run,
    /// the largest value is the run's critical-path bound.
    pub fn remaining(&self, weight: impl Fn(usize) -> f64) -> Vec<f64> {
        let weight = &weight;
        let dependents = self.dependents();
        let mut unsettled: Vec<usize> = dependents.iter().map(Vec::len).collect();
        let mut remaining: Vec<f64> = (0..self.ops.len()).map(&weight).collect();
        let mut ready: Vec<usize> = (0..self.ops.len()).filter(|&o| unsettled[o] == 0).collect();
        // Reverse topological order: an operation is settled once all that waits for it is.
        while let Some(o) = ready.pop() {
            let longest = dependents[o]
                .iter()
                .map(|&d| remaining[d])
                .fold(0.0, f64::max);
            remaining[o] = weight(o) + longest;
            for &w in &self.waits_for[o] {
                unsettled[w] -= 1;
                if unsettled[w] == 0 {
                    ready.push(w);
                }
            }
        }
        remaining
    }

    /// For each operation, the longest path through it (from the start of the
    /// plan to its end) when operation `o` takes `weight(o)`. The longest of
    /// these less an operation's own is how long it can be late without making
    /// the plan later: its slack.
    pub fn through(&self, weight: impl Fn(usize) -> f64) -> Vec<f64> {
        let remaining = self.remaining(&weight);
        let dependents = self.dependents();
        // The longest path before each operation starts, in topological order.
        let mut head = vec![0.0f64; self.ops.len()];
        let mut unsettled: Vec<usize> = self.waits_for.iter().map(Vec::len).collect();
        let mut ready: Vec<usize> = (0..self.ops.len()).filter(|&o| unsettled[o] == 0).collect();
        while let Some(o) = ready.pop() {
            let end = head[o] + weight(o);
            for &d in &dependents[o] {
                head[d] = head[d].max(end);
                unsettled[d] -= 1;
                if unsettled[d] == 0 {
                    ready.push(d);
                }
            }
        }
        head.iter().zip(&remaining).map(|(h, r)| h + r).collect()
    }

    /// The operations of the longest path when operation `o` takes `weight(o)`, in
    /// order, and its length (0 for an empty schedule).
    pub fn critical_path(&self, weight: impl Fn(usize) -> f64) -> (Vec<usize>, f64) {
        let remaining = self.remaining(weight);
        let dependents = self.dependents();
        let longest = |ops: &mut dyn Iterator<Item = usize>| {
            ops.max_by(|&a, &b| remaining[a].total_cmp(&remaining[b]).then(b.cmp(&a)))
        };
        let mut path = Vec::new();
        let mut next = longest(&mut (0..self.ops.len()));
        while let Some(o) = next {
            path.push(o);
            next = longest(&mut dependents[o].iter().copied());
        }
        let length = path.first().map_or(0.0, |&o| remaining[o]);
        (path, length)
    }

    /// The number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}
