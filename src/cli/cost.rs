//! `cost`: the monthly estimate of the declared stack (no AWS, no state), of what
//! the state records (`--recorded`), or of a saved plan's change (`cost FILE`),
//! from the price table of `glinfra_core::cost`.

use super::Args;
use crate::session::Session;
use glinfra_core::cost::{self, money, PlanCost};
use glinfra_core::{ResourceGraph, Stack};
use std::path::Path;
use std::process::ExitCode;

/// Prints `value` as JSON, or `text`.
fn print<T: serde::Serialize>(args: &Args, value: &T, text: impl FnOnce() -> String) {
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).expect("estimates serialise")
        );
    } else {
        print!("{}", text());
    }
}

/// The estimate of the declared stack: no AWS call, no state read.
pub(super) fn declared(args: &Args, stack: &Stack, graph: &ResourceGraph) -> ExitCode {
    let estimate = cost::of_graph(graph, stack.cost_settings());
    print(args, &estimate, || cost::text(&estimate));
    ExitCode::SUCCESS
}

/// The estimate of the resources the state records.
pub(super) async fn recorded(
    args: &Args,
    session: &Session,
    stack: &Stack,
) -> Result<ExitCode, String> {
    let state = session
        .read(stack.name())
        .await
        .map_err(|e| e.to_string())?
        .state;
    let estimate = cost::of_state(&state, stack.cost_settings());
    print(args, &estimate, || cost::text(&estimate));
    Ok(ExitCode::SUCCESS)
}

/// The monthly difference of a plan saved with `plan --out`: each step's line
/// before and after it.
pub(super) fn saved(
    args: &Args,
    stack: &Stack,
    graph: &ResourceGraph,
    path: &Path,
) -> Result<ExitCode, String> {
    let plan = crate::saved::read(path, graph).map_err(|e| e.to_string())?;
    let change = cost::of_plan(&plan, stack.cost_settings());
    print(args, &change, || change_text(path, &change));
    Ok(ExitCode::SUCCESS)
}

/// A plan's change, step by step.
fn change_text(path: &Path, change: &PlanCost) -> String {
    let mut out = format!(
        "Monthly cost of the change in {} (on-demand prices as of {}):\n\n",
        path.display(),
        change.prices_as_of
    );
    let or_none = |v: Option<f64>| v.map_or_else(|| "-".to_string(), money);
    for s in &change.steps {
        out.push_str(&format!(
            "  {:<2} {:<32} {:>12} -> {:<12} {:>12} on-demand {:>12} optimised\n",
            s.action.symbol(),
            s.resource,
            or_none(s.before),
            or_none(s.after),
            signed(s.on_demand),
            signed(s.optimised),
        ));
    }
    out.push_str(&format!("\n{}\n", cost::change_line(change)));
    out
}

fn signed(v: f64) -> String {
    if v < 0.0 {
        money(v)
    } else {
        format!("+{}", money(v))
    }
}
