//! The GreenLang Agent Factory's AWS infrastructure, declared with glinfra.
//!
//! [`config`] reads an environment file (`environments/<name>.toml`);
//! [`topology::build`] declares the stack from it. Both are pure: no AWS call.

pub mod config;
pub mod cost;
pub mod cross_stack;
mod data_services;
pub mod flow_logs;
pub mod policy;
pub mod postgres;
pub mod recovery;
pub mod replication;
pub mod security;
pub mod topology;
pub mod workloads;

pub use config::{load, parse, Environment};
pub use topology::build;

use glinfra_core::{Diagnostics, ResourceGraph, Stack};
use std::path::Path;

/// The five environments of the seed (sections 2.1 and 3.1), by the name of their
/// file in `environments/` and of their stack: the three production regions, then
/// staging and development. The failover standby ([`STANDBY_ENVIRONMENT`]) is apart.
pub const ENVIRONMENTS: [&str; 5] = [
    "prod-us-east-1",
    "prod-eu-west-1",
    "prod-ap-southeast-1",
    "staging-us-east-1",
    "dev-us-east-1",
];

/// The failover standby's environment (seed 5.2): a stack of its own in us-west-2.
pub const STANDBY_ENVIRONMENT: &str = "prod-us-west-2";

/// Loads `path`, declares its stack and validates it, returning every problem at once.
pub fn load_stack(path: &Path) -> Result<(Environment, Stack, ResourceGraph), Diagnostics> {
    let env = load(path).map_err(|d| Diagnostics(vec![d]))?;
    let file = path.display().to_string();
    let stack = build(&env, Some(&file)).map_err(Diagnostics)?;
    let graph = ResourceGraph::build(&stack)?;
    Ok((env, stack, graph))
}

/// Loads any environment file, full or disaster-recovery (one with `[standby]`,
/// see [`recovery`]), and declares and validates its stack. `failover_to`: the
/// layout with the database primary in that region (what `failover --to` applies).
pub fn load_any(
    path: &Path,
    failover_to: Option<&str>,
) -> Result<(Stack, ResourceGraph), Diagnostics> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    if !recovery::is_recovery(&text) {
        if let Some(region) = failover_to {
            let d = glinfra_core::Diagnostic::new(format!(
                "this environment holds no failover standby (no `[standby]`); fail over to {region} with the file of the stack that does"
            ))
            .file(&file);
            return Err(Diagnostics(vec![d]));
        }
        return load_stack(path).map(|(_, stack, graph)| (stack, graph));
    }
    let mut env = recovery::load(path).map_err(|d| Diagnostics(vec![d]))?;
    if let Some(region) = failover_to {
        env = env.failed_over_to(region).map_err(|m| {
            Diagnostics(vec![glinfra_core::Diagnostic::new(m)
                .file(&file)
                .field("standby.primary_region")])
        })?;
    }
    let stack = recovery::build(&env, Some(&file)).map_err(Diagnostics)?;
    let graph = ResourceGraph::build(&stack)?;
    Ok((stack, graph))
}

/// Declares and validates an already-loaded environment (tests change values in code).
pub fn stack_for(env: &Environment) -> Result<(Stack, ResourceGraph), Diagnostics> {
    let stack = build(env, None).map_err(Diagnostics)?;
    let graph = ResourceGraph::build(&stack)?;
    Ok((stack, graph))
}
