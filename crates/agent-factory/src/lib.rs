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
pub mod security;
pub mod topology;
pub mod workloads;

pub use config::{load, parse, Environment};
pub use topology::build;

use glinfra_core::{Diagnostics, ResourceGraph, Stack};
use std::path::Path;

/// Loads `path`, declares its stack and validates it, returning every problem at once.
pub fn load_stack(path: &Path) -> Result<(Environment, Stack, ResourceGraph), Diagnostics> {
    let env = load(path).map_err(|d| Diagnostics(vec![d]))?;
    let file = path.display().to_string();
    let stack = build(&env, Some(&file)).map_err(Diagnostics)?;
    let graph = ResourceGraph::build(&stack)?;
    Ok((env, stack, graph))
}

/// Declares and validates an already-loaded environment (tests change values in code).
pub fn stack_for(env: &Environment) -> Result<(Stack, ResourceGraph), Diagnostics> {
    let stack = build(env, None).map_err(Diagnostics)?;
    let graph = ResourceGraph::build(&stack)?;
    Ok((stack, graph))
}
