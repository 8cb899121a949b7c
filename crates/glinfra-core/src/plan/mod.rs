//! The diff between a validated stack and recorded state, as a [`Plan`] value.
//!
//! | action    | before              | after                          |
//! |-----------|---------------------|--------------------------------|
//! | `Create`  | absent (or a create interrupted by a crash) | the desired spec |
//! | `Update`  | the recorded spec   | the desired spec, same resource |
//! | `Replace` | the recorded spec   | the desired spec, new resource ([`ReplaceOrder`]) |
//! | `Delete`  | the recorded spec   | absent                         |
//!
//! A value that depends on a resource created or replaced in the same plan is
//! "known after apply". When such a value feeds a field that forces replacement,
//! the dependent is replaced too: changing a VPC's CIDR replaces everything in it.

use crate::graph::ResourceGraph;
use crate::input::{contains_unknown, resolve_refs, unknown};
use crate::kind::{ChangeRule, FieldValues, Kind};
use crate::lifecycle::Lifecycle;
use crate::props::Props;
pub use crate::replace::{replace_order, DeleteFirst, ReplaceOrder};
use crate::stack::{Declaration, ResourceId};
use crate::state::{Mutation, ResourceState, State};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
pub use step::Step;

mod step;

/// The identifier of the plan JSON format; bumped on any incompatible change.
pub const PLAN_SCHEMA: &str = "glinfra.plan/v3";

/// What a step does to its resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `+` make a new resource.
    Create,
    /// `~` change the existing resource in place.
    Update,
    /// `-/+` delete the resource, then create its replacement.
    Replace,
    /// `-` delete the resource.
    Delete,
}

impl Action {
    /// The symbol used in the rendered plan.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

/// One field's change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Field name (a top-level spec field, `tags` or `region`).
    pub field: String,
    /// Recorded value; `None` when absent.
    pub before: Option<Value>,
    /// Planned value; `None` when absent or not known until apply.
    pub after: Option<Value>,
    /// True when the planned value is not known until apply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_unknown: bool,
    /// True when this change alone forces replacement.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
    /// Set when AWS can make this change neither in place nor by a replacement
    /// worth planning: why, and what to do instead. A plan with such a change is
    /// refused as a whole ([`crate::safety::refusals`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Why a step is planned when its field changes alone do not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A create that was interrupted before it was recorded is resumed.
    ResumeCreate,
    /// An update that was interrupted before it was recorded is resumed.
    ResumeUpdate,
    /// A replacement that was interrupted during its delete is resumed.
    ResumeReplace,
    /// The resource's kind changed.
    KindChanged,
    /// It was deleted outside glinfra: it is created again.
    DeletedOutside,
    /// It was changed outside glinfra: it is brought back to the program.
    ChangedOutside,
    /// It carries this stack's tags but state did not know it: it is adopted.
    Unmanaged,
    /// It carries this stack's tags, state did not know it, and the program does
    /// not declare it: it is deleted.
    UnmanagedUndeclared,
    /// Its replacement was asked for (`--replace`).
    ReplaceRequested,
    /// The old resource of a create-first replacement that was interrupted before
    /// it was deleted: it is deleted now.
    Superseded,
}

impl Reason {
    /// What it means, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::ResumeCreate => "resuming a create interrupted before it was recorded; an existing resource carrying this stack's tags is adopted",
            Reason::ResumeUpdate => "resuming an update interrupted before it was recorded",
            Reason::ResumeReplace => "resuming a replacement interrupted during its delete",
            Reason::KindChanged => "the resource kind changed",
            Reason::DeletedOutside => "deleted outside glinfra; created again",
            Reason::ChangedOutside => "changed outside glinfra; brought back to the program",
            Reason::Unmanaged => "carries this stack's tags but was not in state; adopted and brought in line",
            Reason::UnmanagedUndeclared => "carries this stack's tags but is not declared; deleted",
            Reason::ReplaceRequested => "replacement asked for (--replace)",
            Reason::Superseded => "the old resource of a replacement interrupted before its delete; deleted now",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// Counts of steps by action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Resources to create.
    pub create: usize,
    /// Resources to update in place.
    pub update: usize,
    /// Resources to replace.
    pub replace: usize,
    /// Resources to delete.
    pub delete: usize,
    /// Resources left unchanged.
    pub unchanged: usize,
}

/// A plan: the steps that take recorded state to the declared stack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_SCHEMA`].
    pub schema: String,
    /// The stack.
    pub stack: String,
    /// The state serial the plan was computed from; apply refuses any other.
    pub base_serial: u64,
    /// Steps: creates, updates and replaces in dependency order, then deletes in reverse order.
    pub steps: Vec<Step>,
    /// Counts by action.
    pub summary: PlanSummary,
    /// What the refresh before the plan found changed outside glinfra (empty when
    /// nothing was, or when the plan was made without a refresh).
    #[serde(default)]
    pub drift: Vec<crate::refresh::Drift>,
    /// The digest of the program the plan was made from
    /// ([`ResourceGraph::digest`]; none for a destroy): a saved plan is applied
    /// only to the same program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// The monthly difference the plan makes (`cost::of_plan`), when the program
    /// computed it; optional, so plans without it read unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::cost::PlanCost>,
    /// What the stack's policies found, run with this plan: advisory violations
    /// to show, and mandatory ones, with which the engine refuses to apply it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy: Vec<crate::policy::Violation>,
}

impl Plan {
    /// True when the plan changes nothing (drift it would repair is a change).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The step for `resource`.
    pub fn step(&self, resource: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.resource == resource)
    }
}

fn is_absent(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// The comparable fields of a resource: its spec's top-level fields plus `region` and `tags`.
fn fields(kind_props: &Value, region: &str, tags: &BTreeMap<String, String>) -> Map<String, Value> {
    fields_of(kind_props.clone(), region, tags)
}

/// [`fields`] of props already owned (the resolved props of a declaration).
fn fields_of(props: Value, region: &str, tags: &BTreeMap<String, String>) -> Map<String, Value> {
    let mut m = match props {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.retain(|_, v| !v.is_null());
    m.insert("region".into(), Value::String(region.to_string()));
    if !tags.is_empty() {
        m.insert(
            "tags".into(),
            serde_json::to_value(tags).expect("tags serialise"),
        );
    }
    m
}

fn diff_fields(
    kind: Kind,
    lifecycle: &Lifecycle,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<FieldChange> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut changes = Vec::new();
    for key in keys {
        if lifecycle.ignores(key) {
            continue;
        }
        let b = before.get(key);
        let a = after.get(key);
        let unknown = a.is_some_and(contains_unknown);
        if !unknown && (a == b || (is_absent(a) && is_absent(b))) {
            continue;
        }
        let rule = kind.change_rule(&FieldValues {
            field: key,
            before: b.filter(|v| !v.is_null()),
            after: if unknown {
                None
            } else {
                a.filter(|v| !v.is_null())
            },
            after_unknown: unknown,
            before_all: before,
            after_all: after,
        });
        let (replaces, refused) = match rule {
            ChangeRule::InPlace => (false, None),
            ChangeRule::Replace => (true, None),
            ChangeRule::Refuse(why) => (false, Some(why)),
        };
        changes.push(FieldChange {
            field: key.clone(),
            before: b.cloned(),
            after: if unknown { None } else { a.cloned() },
            after_unknown: unknown,
            forces_replacement: replaces || lifecycle.replaces_on(key),
            refused,
        });
    }
    changes
}

/// Every field of `map` as a change (its value the `after`, or with `after` false
/// the `before`), the values moved into the changes.
fn all_fields_of(map: Map<String, Value>, after: bool) -> Vec<FieldChange> {
    map.into_iter()
        .map(|(k, v)| {
            let unknown = after && contains_unknown(&v);
            let (before, after) = match (after, unknown) {
                (false, _) => (Some(v), None),
                (true, false) => (None, Some(v)),
                (true, true) => (None, None),
            };
            FieldChange {
                field: k,
                before,
                after,
                after_unknown: unknown,
                forces_replacement: false,
                refused: None,
            }
        })
        .collect()
}

/// Plans the changes that take `state` to the stack declared in `graph`.
pub fn plan(graph: &ResourceGraph, state: &State) -> Plan {
    plan_replacing(graph, state, &BTreeSet::new())
}

/// [`plan`], replacing the resources in `replace` even where nothing forces it
/// (`--replace`); what depends on their outputs follows as usual.
pub fn plan_replacing(
    graph: &ResourceGraph,
    state: &State,
    replace: &BTreeSet<ResourceId>,
) -> Plan {
    let mut steps = Vec::new();
    let mut actions: HashMap<&str, Option<Action>> = HashMap::new();
    // Resources replaced delete-first so far (dependencies come first).
    let mut deleted_first: BTreeSet<&str> = BTreeSet::new();
    let mut unchanged = 0;
    for shared in graph.in_order_shared() {
        let decl: &Declaration = shared;
        let prior = state.resources.get(&decl.id);
        // Outputs of resources made in this plan are not known until apply.
        let recorded = |resource: &str, output: &str| {
            let fresh = matches!(
                actions.get(resource),
                Some(Some(Action::Create | Action::Replace))
            );
            match state.resources.get(resource) {
                Some(s) if !fresh => s.outputs.get(output),
                _ => None,
            }
        };
        let resolve = || {
            resolve_refs(&decl.props.value(), &mut |r| {
                recorded(&r.resource, &r.output)
                    .cloned()
                    .unwrap_or_else(unknown)
            })
        };
        let step = match prior {
            None => {
                // A create keeps its fields as the declaration it shares with the
                // graph, and its resolved spec only when a reference resolved.
                let mut any_recorded = false;
                decl.props.for_each_output_ref(&mut |resource, output| {
                    any_recorded |= recorded(resource, output).is_some();
                });
                Some(Step {
                    resource: decl.id.clone(),
                    kind: decl.kind,
                    region: decl.region.clone(),
                    action: Action::Create,
                    changes: Vec::new(),
                    resolved: any_recorded.then(|| Props::of(&resolve())),
                    reason: None,
                    desired: Some(shared.clone()),
                    prior: None,
                    retain: false,
                    replace_order: None,
                })
            }
            Some(prior) => {
                let after = fields_of(resolve(), &decl.region, &decl.tags);
                plan_existing(shared, prior, after, replace.contains(&decl.id))
            }
        };
        let mut step = step;
        if let Some(s) = step.as_mut().filter(|s| s.creates_first()) {
            // A dependency replaced delete-first waits for this one's old resource
            // to go: this one cannot keep its old resource until its new one exists.
            let follows = decl
                .dependencies()
                .into_iter()
                .find(|d| deleted_first.contains(d.as_str()));
            if let Some(resource) = follows {
                s.replace_order =
                    Some(ReplaceOrder::DeleteFirst(DeleteFirst::Follows { resource }));
            }
        }
        if step
            .as_ref()
            .is_some_and(|s| s.action == Action::Replace && !s.creates_first())
        {
            deleted_first.insert(&decl.id);
        }
        actions.insert(&decl.id, step.as_ref().map(|s| s.action));
        match step {
            Some(s) => steps.push(s),
            None => unchanged += 1,
        }
    }
    let doomed: Vec<&ResourceId> = state
        .resources
        .keys()
        .filter(|id| graph.get(id).is_none())
        .collect();
    for id in delete_order(state, &doomed) {
        let prior = &state.resources[id];
        steps.push(delete_step(id, prior));
    }
    superseded_steps(state, &mut steps);
    let mut plan = finish(graph.stack_name(), state, steps, unchanged);
    plan.program = Some(graph.digest());
    plan.policy = graph.policies().evaluate(graph.declarations(), Some(&plan));
    plan
}

/// A delete step for the old resources that interrupted create-first replacements
/// left (recorded in [`State::superseded`]), unless a create-first replacement of
/// the same resource in `steps` deletes them anyway.
fn superseded_steps(state: &State, steps: &mut Vec<Step>) {
    for (id, copies) in &state.superseded {
        let Some(old) = copies.last() else { continue };
        if steps.iter().any(|s| s.resource == *id && s.creates_first()) {
            continue;
        }
        let mut step = delete_step(id, old);
        step.reason = Some(Reason::Superseded);
        steps.push(step);
    }
}

fn plan_existing(
    decl: &Arc<Declaration>,
    prior: &ResourceState,
    after: Map<String, Value>,
    force_replace: bool,
) -> Option<Step> {
    let before = fields(&prior.props, &prior.region, &prior.tags);
    let step = |action, changes: Vec<FieldChange>, reason: Option<Reason>| Step {
        resource: decl.id.clone(),
        kind: decl.kind,
        region: decl.region.clone(),
        action,
        resolved: None,
        replace_order: (action == Action::Replace).then(|| match reason {
            Some(Reason::KindChanged) => ReplaceOrder::DeleteFirst(DeleteFirst::KindChanged),
            Some(Reason::ResumeReplace) => ReplaceOrder::DeleteFirst(DeleteFirst::Resumed),
            _ => replace_order(decl.kind, &decl.lifecycle, &changes),
        }),
        changes,
        reason,
        desired: Some(decl.clone()),
        prior: Some(Box::new(prior.clone())),
        retain: action == Action::Replace
            && (decl.lifecycle.retain_on_delete || prior.lifecycle.retain_on_delete),
    };
    let pending = prior.pending.as_ref().map(|p| p.operation);
    if !prior.exists() {
        return Some(step(
            Action::Create,
            all_fields_of(after, true),
            Some(Reason::ResumeCreate),
        ));
    }
    if prior.kind != decl.kind {
        let mut changes = diff_fields(decl.kind, &Lifecycle::default(), &before, &after);
        changes.iter_mut().for_each(|c| {
            c.forces_replacement = true;
            c.refused = None;
        });
        return Some(step(Action::Replace, changes, Some(Reason::KindChanged)));
    }
    let changes = diff_fields(decl.kind, &decl.lifecycle, &before, &after);
    if pending == Some(Mutation::Delete) {
        return Some(step(Action::Replace, changes, Some(Reason::ResumeReplace)));
    }
    if changes.iter().any(|c| c.forces_replacement) {
        return Some(step(Action::Replace, changes, None));
    }
    if force_replace {
        return Some(step(
            Action::Replace,
            changes,
            Some(Reason::ReplaceRequested),
        ));
    }
    if !changes.is_empty() {
        return Some(step(Action::Update, changes, None));
    }
    if pending == Some(Mutation::Update) {
        return Some(step(Action::Update, changes, Some(Reason::ResumeUpdate)));
    }
    None
}

fn delete_step(id: &ResourceId, prior: &ResourceState) -> Step {
    let before = fields(&prior.props, &prior.region, &prior.tags);
    Step {
        resource: id.clone(),
        kind: prior.kind,
        region: prior.region.clone(),
        action: Action::Delete,
        changes: all_fields_of(before, false),
        resolved: None,
        reason: None,
        desired: None,
        prior: Some(Box::new(prior.clone())),
        retain: prior.lifecycle.retain_on_delete,
        replace_order: None,
    }
}

/// `ids` ordered so that every resource comes before the resources it depends on
/// (Kahn's algorithm over the recorded dependencies, ties in name order).
fn delete_order<'a>(state: &'a State, ids: &[&'a ResourceId]) -> Vec<&'a ResourceId> {
    let set: BTreeSet<&ResourceId> = ids.iter().copied().collect();
    // How many resources of the set still depend on each one.
    let mut users: BTreeMap<&ResourceId, usize> = set.iter().map(|id| (*id, 0)).collect();
    for id in &set {
        for dep in &state.resources[*id].dependencies {
            if dep != *id {
                if let Some(n) = users.get_mut(dep) {
                    *n += 1;
                }
            }
        }
    }
    let mut ready: BTreeSet<&ResourceId> = users
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(id, _)| *id)
        .collect();
    let mut order = Vec::with_capacity(set.len());
    while let Some(id) = ready.pop_first() {
        order.push(id);
        for dep in &state.resources[id].dependencies {
            if let Some(n) = users.get_mut(dep) {
                if dep != id {
                    *n -= 1;
                    if *n == 0 {
                        ready.insert(dep);
                    }
                }
            }
        }
    }
    // Recorded state is acyclic; should it not be, take the rest in name order.
    if order.len() < set.len() {
        let placed: BTreeSet<&ResourceId> = order.iter().copied().collect();
        order.extend(set.iter().copied().filter(|id| !placed.contains(id)));
    }
    order
}

/// Plans deleting every resource recorded in `state`, dependents first.
pub fn plan_destroy(state: &State) -> Plan {
    let ids: Vec<&ResourceId> = state.resources.keys().collect();
    let mut steps = delete_order(state, &ids)
        .into_iter()
        .map(|id| delete_step(id, &state.resources[id]))
        .collect();
    superseded_steps(state, &mut steps);
    finish(&state.stack, state, steps, 0)
}

/// Why a plan cannot be restricted to targets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is neither declared nor recorded (check the logical id: `state list` shows recorded ones)")]
pub struct UnknownTarget(pub ResourceId);

/// Restricts `plan` to `targets` and what they depend on (when any is given), then
/// drops `excludes` and what depends on them. Dependencies are the program's, and,
/// for resources it no longer declares, the recorded ones.
pub fn restrict(
    plan: &mut Plan,
    graph: &ResourceGraph,
    state: &State,
    targets: &[ResourceId],
    excludes: &[ResourceId],
) -> Result<(), UnknownTarget> {
    let deps = |id: &str| -> BTreeSet<ResourceId> {
        match graph.get(id) {
            Some(d) => d.dependencies(),
            None => state
                .resources
                .get(id)
                .map(|r| r.dependencies.clone())
                .unwrap_or_default(),
        }
    };
    let known = |id: &ResourceId| graph.get(id).is_some() || state.resources.contains_key(id);
    if let Some(bad) = targets.iter().chain(excludes).find(|id| !known(id)) {
        return Err(UnknownTarget(bad.clone()));
    }
    let mut keep: Option<BTreeSet<ResourceId>> = None;
    if !targets.is_empty() {
        let mut set = BTreeSet::new();
        let mut todo: Vec<ResourceId> = targets.to_vec();
        while let Some(id) = todo.pop() {
            if set.insert(id.clone()) {
                todo.extend(deps(&id));
            }
        }
        keep = Some(set);
    }
    // What depends on an excluded resource, transitively.
    let all: BTreeSet<ResourceId> = graph
        .in_order()
        .map(|d| d.id.clone())
        .chain(state.resources.keys().cloned())
        .collect();
    let mut dropped: BTreeSet<ResourceId> = excludes.iter().cloned().collect();
    loop {
        let more: Vec<ResourceId> = all
            .iter()
            .filter(|id| !dropped.contains(*id) && deps(id).iter().any(|d| dropped.contains(d)))
            .cloned()
            .collect();
        if more.is_empty() {
            break;
        }
        dropped.extend(more);
    }
    plan.steps.retain(|s| {
        keep.as_ref().is_none_or(|k| k.contains(&s.resource)) && !dropped.contains(&s.resource)
    });
    plan.summary = summarise(&plan.steps, plan.summary.unchanged);
    Ok(())
}

fn summarise(steps: &[Step], unchanged: usize) -> PlanSummary {
    let mut summary = PlanSummary {
        unchanged,
        ..Default::default()
    };
    for s in steps {
        match s.action {
            Action::Create => summary.create += 1,
            Action::Update => summary.update += 1,
            Action::Replace => summary.replace += 1,
            Action::Delete => summary.delete += 1,
        }
    }
    summary
}

fn finish(stack: &str, state: &State, steps: Vec<Step>, unchanged: usize) -> Plan {
    let summary = summarise(&steps, unchanged);
    Plan {
        schema: PLAN_SCHEMA.to_string(),
        stack: stack.to_string(),
        base_serial: state.serial,
        steps,
        summary,
        drift: Vec::new(),
        program: None,
        cost: None,
        policy: Vec::new(),
    }
}
