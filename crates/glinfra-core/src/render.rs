//! Renderings of a plan: text for a reviewer, JSON for machines, Graphviz DOT.

use crate::plan::{Action, FieldChange, Plan, ReplaceOrder};
use crate::refresh::{Drift, DriftKind, Fate};
use crate::schedule::{OpPhase, Schedule};
use serde_json::Value;
use std::fmt::Write;

fn show(v: &Value) -> String {
    serde_json::to_string(v).expect("JSON values serialise")
}

fn render_change(out: &mut String, action: Action, c: &FieldChange) {
    let after = if c.after_unknown {
        "(known after apply)".to_string()
    } else {
        c.after.as_ref().map(show).unwrap_or_else(|| "null".into())
    };
    let note = if c.refused.is_some() {
        "   # refused: AWS cannot make this change"
    } else if c.forces_replacement && action == Action::Replace {
        "   # forces replacement"
    } else {
        ""
    };
    match action {
        Action::Create => {
            let _ = writeln!(out, "        {} = {after}", c.field);
        }
        Action::Delete => {
            let before = c.before.as_ref().map(show).unwrap_or_default();
            let _ = writeln!(out, "        {} = {before}", c.field);
        }
        Action::Update | Action::Replace => {
            let before = c.before.as_ref().map(show).unwrap_or_else(|| "null".into());
            let _ = writeln!(out, "        {}: {before} -> {after}{note}", c.field);
        }
    }
}

/// The plan as text: one block per step (`+`, `~`, `+/-` or `-/+`, `-`) with per-field
/// before and after, then a summary line.
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    drift(&mut out, &plan.drift);
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "No changes. Stack `{}` matches its {} recorded resources.",
            plan.stack, plan.summary.unchanged
        );
        return out;
    }
    let _ = writeln!(
        out,
        "Plan for stack `{}` (state serial {}):\n",
        plan.stack, plan.base_serial
    );
    for step in &plan.steps {
        let _ = writeln!(
            out,
            "  {:<3} {} `{}` ({})",
            step.symbol(),
            step.kind,
            step.resource,
            step.region
        );
        if let Some(reason) = &step.reason {
            let _ = writeln!(out, "        # {reason}");
        }
        match &step.replace_order {
            Some(ReplaceOrder::CreateFirst) => {
                let _ = writeln!(
                    out,
                    "        # the new one is created first; the old one is deleted once nothing uses it"
                );
            }
            Some(ReplaceOrder::DeleteFirst(why)) => {
                let _ = writeln!(
                    out,
                    "        # the old one is deleted first: {}",
                    why.describe()
                );
            }
            None => {}
        }
        for c in &step.changes {
            render_change(&mut out, step.action, c);
        }
    }
    let s = &plan.summary;
    let _ = writeln!(
        out,
        "\nPlan: {} to create, {} to update, {} to replace, {} to delete, {} unchanged.",
        s.create, s.update, s.replace, s.delete, s.unchanged
    );
    out
}

/// The drift a refresh found, as text (what `refresh` prints).
pub fn drift_text(drift: &[Drift]) -> String {
    let mut out = String::new();
    self::drift(&mut out, drift);
    out
}

/// The drift a refresh found, one block per resource, before the plan's steps.
fn drift(out: &mut String, drift: &[Drift]) {
    if drift.is_empty() {
        return;
    }
    let _ = writeln!(out, "Changed outside glinfra since the last run:\n");
    for d in drift {
        let head = |out: &mut String, what: &str| {
            let _ = writeln!(out, "  {} `{}` ({}): {what}", d.kind, d.resource, d.region);
        };
        match &d.what {
            DriftKind::Changed { changes } => {
                head(out, "changed");
                for c in changes {
                    let before = c.before.as_ref().map(show).unwrap_or_else(|| "null".into());
                    let after = c.after.as_ref().map(show).unwrap_or_else(|| "null".into());
                    let _ = writeln!(out, "        {}: {before} → {after}", c.field);
                }
            }
            DriftKind::Deleted => head(out, "deleted"),
            DriftKind::Unmanaged { outputs, fate } => {
                let aws_id = outputs.get("id").or_else(|| outputs.get("arn"));
                let aws_id = aws_id.map(show).unwrap_or_default();
                let fate = match fate {
                    Fate::Adopt => "adopted by this plan",
                    Fate::Delete => "not declared: deleted by this plan",
                    Fate::LeftAlone => {
                        "not declared and not readable whole: left alone (import it or delete it by hand)"
                    }
                };
                head(
                    out,
                    &format!("carries this stack's tags but was not in state {aws_id}; {fate}"),
                );
            }
        }
    }
    let _ = writeln!(out);
}

/// The plan as pretty JSON (schema `glinfra.plan/v2`, documented in `docs/plan-json.md`).
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("plans serialise")
}

/// The plan's operations and their order as a Graphviz digraph; an edge runs
/// from an operation to one that waits for it.
pub fn dot(plan: &Plan) -> String {
    let schedule = Schedule::from_plan(plan);
    let mut out = String::from(
        "digraph plan {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for (i, op) in schedule.ops.iter().enumerate() {
        let step = &plan.steps[op.step];
        let (symbol, color) = match op.phase {
            OpPhase::Create => ("+", "darkgreen"),
            OpPhase::ReplaceCreate => ("+ (replacement)", "darkgreen"),
            OpPhase::Update => ("~", "darkorange"),
            OpPhase::Delete => ("-", "red"),
            OpPhase::ReplaceDelete => ("- (replaced)", "red"),
            OpPhase::DeleteReplaced => ("- (old, after its replacement)", "red"),
        };
        let _ = writeln!(
            out,
            "  op{i} [label=\"{symbol} {}\\n{}\", color={color}];",
            step.resource, step.kind
        );
    }
    for (i, waits) in schedule.waits_for.iter().enumerate() {
        for w in waits {
            let _ = writeln!(out, "  op{w} -> op{i};");
        }
    }
    out.push_str("}\n");
    out
}
