//! What the pure-core tests share: a graph from a stack, and what an apply would
//! record, computed without a cloud.
#![allow(dead_code)]

use glinfra_core::input::resolve_refs;
use glinfra_core::plan::plan;
use glinfra_core::state::{ResourceState, State};
use glinfra_core::{Action, Plan, ResourceGraph, Stack};
use serde_json::Value;

pub fn graph(stack: &Stack) -> ResourceGraph {
    ResourceGraph::build(stack).expect("valid stack")
}

/// What apply would record, computed without a cloud: every created resource
/// gets fresh outputs named after it and a generation counter.
pub fn simulate_apply(p: &Plan, mut state: State) -> State {
    let mut generation = state.serial;
    for step in &p.steps {
        generation += 1;
        match step.action {
            Action::Delete => {
                state.resources.remove(&step.resource);
            }
            Action::Create | Action::Replace | Action::Update => {
                let decl = step.desired.as_ref().unwrap();
                let props = resolve_refs(&decl.props, &mut |r| {
                    state.resources[&r.resource].outputs[&r.output].clone()
                });
                let outputs = match (step.action, state.resources.get(&step.resource)) {
                    (Action::Update, Some(prior)) => prior.outputs.clone(),
                    _ => decl
                        .kind
                        .outputs()
                        .map(|o| {
                            (
                                o.to_string(),
                                Value::String(format!("{}-{o}-{generation}", decl.id)),
                            )
                        })
                        .collect(),
                };
                state.resources.insert(
                    decl.id.clone(),
                    ResourceState {
                        kind: decl.kind,
                        region: decl.region.clone(),
                        props,
                        tags: decl.tags.clone(),
                        outputs,
                        dependencies: decl.dependencies(),
                        pending: None,
                        lifecycle: decl.lifecycle.clone(),
                    },
                );
            }
        }
    }
    state.serial = generation;
    state
}

pub fn applied(stack: &Stack) -> State {
    let p = plan(&graph(stack), &State::empty("test"));
    simulate_apply(&p, State::empty("test"))
}
