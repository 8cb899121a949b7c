//! Pre-flight: a plan whose deletes or replacements reach a protected resource is
//! refused as a whole, before any change, naming the chain that leads there.

use crate::plan::{Action, Plan, Step};
use crate::stack::ResourceId;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// Why a plan is refused: it would delete or replace a protected resource.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refusal {
    /// The protected resource.
    pub resource: ResourceId,
    /// What the plan would do to it (delete or replace).
    pub action: Action,
    /// How the plan gets there: the resource whose own change starts it first,
    /// each replacement it forces next, the protected resource last.
    pub chain: Vec<(ResourceId, Action)>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// Every protected resource `plan` would delete or replace, with its chain.
/// Empty when the plan may run.
pub fn refusals(plan: &Plan) -> Vec<Refusal> {
    let by_id: HashMap<&str, &Step> = plan
        .steps
        .iter()
        .map(|s| (s.resource.as_str(), s))
        .collect();
    plan.steps
        .iter()
        .filter(|s| matches!(s.action, Action::Delete | Action::Replace) && protected(s))
        .map(|s| Refusal {
            resource: s.resource.clone(),
            action: s.action,
            chain: chain(s, &by_id),
        })
        .collect()
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
