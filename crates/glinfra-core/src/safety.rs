//! Pre-flight: a plan is refused as a whole, before any change, when its deletes or
//! replacements reach a protected resource (naming the chain that leads there), or
//! when it changes a field in a way AWS cannot (a primary made a replica, object
//! lock turned off, an engine downgraded: the field's change rule says why, and the
//! refusal names the file, the resource and the field).

use crate::plan::{Action, Plan, Step};
use crate::stack::ResourceId;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// Why a plan is refused: it would delete or replace a protected resource, or
/// change a field in a way AWS cannot.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refusal {
    /// The protected resource, or the one whose field cannot change so.
    pub resource: ResourceId,
    /// What the plan would do to it.
    pub action: Action,
    /// How the plan gets there: the resource whose own change starts it first,
    /// each replacement it forces next, the protected resource last. For a change
    /// AWS cannot make, the resource alone.
    pub chain: Vec<(ResourceId, Action)>,
    /// Set when the refusal is of a change AWS cannot make rather than of a
    /// protected resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impossible: Option<Impossible>,
}

/// A field change AWS cannot make, as its kind's change rule refuses it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Impossible {
    /// The file the resource's values came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The field.
    pub field: String,
    /// Why, and what to do instead.
    pub why: String,
}

impl Refusal {
    /// True when the refusal is of a protected resource.
    pub fn is_protection(&self) -> bool {
        self.impossible.is_none()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = &self.impossible {
            if let Some(origin) = &i.origin {
                write!(f, "{origin}: ")?;
            }
            return write!(f, "`{}` field `{}`: {}", self.resource, i.field, i.why);
        }
        let verb = |a: Action| match a {
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Create => "create",
            Action::Update => "update",
        };
        let links: Vec<String> = self
            .chain
            .iter()
            .map(|(id, a)| format!("`{id}` {}", verb(*a)))
            .collect();
        write!(f, "{}: `{}` is protected", links.join(" → "), self.resource)
    }
}

/// Protected by the program, or, for a resource it no longer declares, by the record.
fn protected(step: &Step) -> bool {
    match (&step.desired, &step.prior) {
        (Some(d), _) => d.lifecycle.protect,
        (None, Some(p)) => p.lifecycle.protect,
        (None, None) => false,
    }
}

/// Every change of `plan` AWS cannot make (as its field's change rule refuses it),
/// then every protected resource it would delete or replace, with its chain.
/// Empty when the plan may run.
pub fn refusals(plan: &Plan) -> Vec<Refusal> {
    let by_id: HashMap<&str, &Step> = plan
        .steps
        .iter()
        .filter(|s| !s.is_superseded_delete())
        .map(|s| (s.resource.as_str(), s))
        .collect();
    let impossible = plan.steps.iter().flat_map(|s| {
        // A create's fields are never refused: only the recorded changes are read.
        s.changes.iter().filter_map(move |c| {
            let why = c.refused.as_ref()?;
            Some(Refusal {
                resource: s.resource.clone(),
                action: s.action,
                chain: vec![(s.resource.clone(), s.action)],
                impossible: Some(Impossible {
                    origin: s.desired.as_ref().and_then(|d| d.origin.clone()),
                    field: c.field.clone(),
                    why: why.clone(),
                }),
            })
        })
    });
    let protected = plan
        .steps
        .iter()
        // The old resource a create-first replacement left is not the protected one:
        // its replacement was allowed when it began.
        .filter(|s| {
            matches!(s.action, Action::Delete | Action::Replace)
                && protected(s)
                && !s.is_superseded_delete()
        })
        .map(|s| Refusal {
            resource: s.resource.clone(),
            action: s.action,
            chain: chain(s, &by_id),
            impossible: None,
        });
    impossible.chain(protected).collect()
}

/// The message of a refused plan: what is refused, one line each, and what to do.
pub fn message(refusals: &[Refusal]) -> String {
    let (impossible, protected): (Vec<&Refusal>, Vec<&Refusal>) =
        refusals.iter().partition(|r| r.impossible.is_some());
    let mut parts = Vec::new();
    if !impossible.is_empty() {
        let lines: Vec<String> = impossible.iter().map(|r| format!("  {r}")).collect();
        parts.push(format!(
            "refused: this plan makes changes AWS cannot make:\n{}",
            lines.join("\n")
        ));
    }
    if !protected.is_empty() {
        let lines: Vec<String> = protected.iter().map(|r| format!("  {r}")).collect();
        parts.push(format!(
            "refused: this plan would delete or replace protected resources:\n{}\nUnprotect them first (lifecycle.protect = false, then apply), or change the program so they are kept",
            lines.join("\n")
        ));
    }
    parts.join("\n")
}

/// How `step` comes to be replaced or deleted: follow, back to where it starts, a
/// dependency that is itself made anew by the plan.
fn chain(step: &Step, by_id: &HashMap<&str, &Step>) -> Vec<(ResourceId, Action)> {
    let mut links = vec![(step.resource.clone(), step.action)];
    let mut seen = BTreeSet::from([step.resource.clone()]);
    let mut at = step;
    while at.action == Action::Replace {
        let Some(decl) = &at.desired else { break };
        let cause = decl.dependencies().into_iter().find_map(|dep| {
            by_id
                .get(dep.as_str())
                .filter(|d| matches!(d.action, Action::Replace | Action::Create))
                .copied()
        });
        match cause {
            Some(c) if seen.insert(c.resource.clone()) => {
                links.push((c.resource.clone(), c.action));
                at = c;
            }
            _ => break,
        }
    }
    links.reverse();
    links
}
