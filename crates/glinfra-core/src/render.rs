//! Renderings of a plan: text for a reviewer, JSON for machines, Graphviz DOT.

use crate::plan::{Action, FieldChange, Plan, ReplaceOrder};
use crate::refresh::{Drift, DriftKind, Fate};
use crate::schedule::{OpPhase, Schedule};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

fn show(v: &Value) -> String {
    serde_json::to_string(v).expect("JSON values serialise")
}

/// How the text plan is drawn: with ANSI colours (a terminal, `NO_COLOR` unset) or plain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// Colour the symbols and the lines of nested diffs.
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn for_symbol(self, symbol: &str) -> String {
        let code = match symbol {
            "+" => "32",
            "~" => "33",
            "-" => "31",
            _ => "35",
        };
        self.paint(code, symbol)
    }
}

/// Tags every step of `plan` carries with the same value (the stack-wide tags),
/// glinfra's ownership tags aside: shown once, above the steps.
fn common_tags(plan: &Plan) -> BTreeMap<String, String> {
    let mut common: Option<BTreeMap<String, String>> = None;
    for step in &plan.steps {
        let tags = match (&step.desired, &step.prior) {
            (Some(d), _) => &d.tags,
            (None, Some(p)) => &p.tags,
            (None, None) => continue,
        };
        if !step.kind.taggable() {
            continue;
        }
        let mine: BTreeMap<String, String> = tags
            .iter()
            .filter(|(k, _)| !k.starts_with("glinfra:"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        common = Some(match common {
            None => mine,
            Some(c) => c
                .into_iter()
                .filter(|(k, v)| mine.get(k) == Some(v))
                .collect(),
        });
    }
    common.unwrap_or_default()
}

/// `tags` without glinfra's ownership tags and the tags every step shares.
fn own_tags(tags: &Value, common: &BTreeMap<String, String>) -> Value {
    match tags {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, v)| {
                    !k.starts_with("glinfra:") && common.get(*k).map(String::as_str) != v.as_str()
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_nested(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => a.iter().any(|x| x.is_object() || x.is_array()) || a.len() > 4,
        _ => false,
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("JSON values serialise")
}

/// A nested value written out, one line each, under its field.
fn block(out: &mut String, field: &str, v: &Value, mark: &str, style: Style, code: &str) {
    let _ = writeln!(out, "        {field} =");
    for line in pretty(v).lines() {
        let _ = writeln!(
            out,
            "{}",
            style.paint(code, &format!("          {mark} {line}"))
        );
    }
}

/// A nested value's change, diffed line by line (`-` before, `+` after).
fn line_diff(
    out: &mut String,
    field: &str,
    before: &Value,
    after: &Value,
    note: &str,
    style: Style,
) {
    let _ = writeln!(out, "        {field}:{note}");
    let (b, a) = (pretty(before), pretty(after));
    let diff = similar::TextDiff::from_lines(&b, &a);
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches('\n');
        let (mark, code) = match change.tag() {
            similar::ChangeTag::Delete => ("-", "31"),
            similar::ChangeTag::Insert => ("+", "32"),
            similar::ChangeTag::Equal => (" ", "0"),
        };
        let text = format!("          {mark} {line}");
        let _ = writeln!(
            out,
            "{}",
            if mark == " " {
                text
            } else {
                style.paint(code, &text)
            }
        );
    }
}

fn render_change(
    out: &mut String,
    action: Action,
    c: &FieldChange,
    common: &BTreeMap<String, String>,
    style: Style,
) {
    let tidy = |v: &Value| {
        if c.field == "tags" {
            own_tags(v, common)
        } else {
            v.clone()
        }
    };
    let before = c.before.as_ref().map(tidy);
    let after = c.after.as_ref().map(tidy);
    if c.field == "tags" && before == after && !c.after_unknown {
        return;
    }
    if c.field == "tags"
        && matches!(action, Action::Create | Action::Delete)
        && before
            .iter()
            .chain(after.iter())
            .all(|t| t.as_object().is_some_and(|m| m.is_empty()))
    {
        return;
    }
    let after_text = if c.after_unknown {
        "(known after apply)".to_string()
    } else {
        after.as_ref().map(show).unwrap_or_else(|| "null".into())
    };
    let note = if c.refused.is_some() {
        "   # refused: AWS cannot make this change"
    } else if c.forces_replacement && action == Action::Replace {
        "   # forces replacement"
    } else {
        ""
    };
    match action {
        Action::Create => match &after {
            Some(v) if !c.after_unknown && is_nested(v) => {
                block(out, &c.field, v, "+", style, "32")
            }
            _ => {
                let _ = writeln!(out, "        {} = {after_text}", c.field);
            }
        },
        Action::Delete => match &before {
            Some(v) if is_nested(v) => block(out, &c.field, v, "-", style, "31"),
            _ => {
                let b = before.as_ref().map(show).unwrap_or_default();
                let _ = writeln!(out, "        {} = {b}", c.field);
            }
        },
        Action::Update | Action::Replace => match (&before, &after) {
            (Some(b), Some(a)) if !c.after_unknown && (is_nested(b) || is_nested(a)) => {
                line_diff(out, &c.field, b, a, note, style)
            }
            _ => {
                let b = before.as_ref().map(show).unwrap_or_else(|| "null".into());
                let _ = writeln!(out, "        {}: {b} -> {after_text}{note}", c.field);
            }
        },
    }
}

/// The plan as plain text ([`text_styled`] without colour).
pub fn text(plan: &Plan) -> String {
    text_styled(plan, Style::default())
}

/// The plan as text for a reviewer: the drift first, the tags every resource
/// carries once, then one block per step (`+`, `~`, `+/-` or `-/+`, `-`) with its
/// fields (nested values written out, and their changes diffed line by line;
/// the region only where it changes; tags only where they differ from the
/// stack's), and a closing summary line.
pub fn text_styled(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    drift(&mut out, &plan.drift, style);
    for v in &plan.policy {
        let _ = writeln!(out, "{v}");
    }
    if !plan.policy.is_empty() {
        let _ = writeln!(out);
    }
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
        "Plan for stack `{}` (state serial {}, {} resources unchanged):",
        plan.stack, plan.base_serial, plan.summary.unchanged
    );
    let common = common_tags(plan);
    if !common.is_empty() {
        let list: Vec<String> = common.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
        let _ = writeln!(out, "Tags on every resource: {}", list.join(", "));
    }
    let _ = writeln!(out);
    for step in &plan.steps {
        let _ = writeln!(
            out,
            "  {} {} `{}` ({})",
            style.for_symbol(step.symbol()) + &" ".repeat(3 - step.symbol().len()),
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
        for c in step.field_changes().iter() {
            if c.field == "region" && matches!(step.action, Action::Create | Action::Delete) {
                continue;
            }
            render_change(&mut out, step.action, c, &common, style);
        }
    }
    let s = &plan.summary;
    let _ = writeln!(
        out,
        "\nPlan: {} to add, {} to change, {} to replace, {} to destroy.",
        s.create, s.update, s.replace, s.delete
    );
    if let Some(cost) = &plan.cost {
        let _ = writeln!(out, "{}", crate::cost::change_line(cost));
    }
    out
}

/// The drift a refresh found, as text (what `refresh` prints).
pub fn drift_text(drift: &[Drift]) -> String {
    let mut out = String::new();
    self::drift(&mut out, drift, Style::default());
    out
}

/// The drift a refresh found, one block per resource, before the plan's steps.
/// Nested values (policies, rules) are diffed line by line, as in the steps.
fn drift(out: &mut String, drift: &[Drift], style: Style) {
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
                    if let (Some(b), Some(a)) = (&c.before, &c.after) {
                        if is_nested(b) || is_nested(a) {
                            line_diff(out, &c.field, b, a, " recorded → live", style);
                            continue;
                        }
                    }
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

/// The plan as pretty JSON (schema `glinfra.plan/v3`, documented in `docs/plan-json.md`).
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
