//! What the pure-core tests share: a graph from a stack, and what an apply would
//! record, computed without a cloud.
#![allow(dead_code)]

use glinfra_core::input::resolve_refs;
use glinfra_core::plan::plan;
use glinfra_core::spec::rds::{DbEngine, DbInstanceSpec, StorageType};
use glinfra_core::state::{ResourceState, State};
use glinfra_core::{Action, Input, Plan, ResourceGraph, Stack};
use serde_json::Value;

pub fn graph(stack: &Stack) -> ResourceGraph {
    ResourceGraph::build(stack).expect("valid stack")
}

/// A valid PostgreSQL 15 primary `identifier` (db.r6g.large, 200 GiB gp3, managed
/// master password) in the DB subnet group `subnet_group`.
pub fn postgres_primary(identifier: &str, subnet_group: Input<String>) -> DbInstanceSpec {
    DbInstanceSpec {
        identifier: identifier.into(),
        engine: DbEngine::Postgres,
        engine_version: "15".into(),
        instance_class: "db.r6g.large".into(),
        allocated_storage: 200,
        storage_type: StorageType::Gp3,
        iops: None,
        storage_encrypted: false,
        kms_key_id: None,
        multi_az: false,
        availability_zone: None,
        backup_retention_days: 7,
        maintenance_window: "sun:03:00-sun:04:00".into(),
        deletion_protection: false,
        vpc_id: None,
        db_subnet_group_name: Some(subnet_group),
        parameter_group_name: None,
        vpc_security_group_ids: Vec::new(),
        master_username: Some("greenlang".into()),
        manage_master_user_password: true,
        replicate_from: None,
    }
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
                let props = resolve_refs(&decl.props.value(), &mut |r| {
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
