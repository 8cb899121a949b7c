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
                        for dep in decl.dependencies() {
                            if let Some(&p) = producer.get(dep.as_str()) {
                                waits_for[o].push(p);
                            }
                        }
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

    /// The number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}
