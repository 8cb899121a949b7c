//! Refresh: what the live cloud says, reconciled with recorded state, as drift.
//!
//! The engine reads every resource of each (kind, region) of a stack in a few
//! batched calls and hands what it saw to [`reconcile`], which is pure:
//!
//! | live                                  | recorded          | drift                | state after       |
//! |---------------------------------------|-------------------|----------------------|-------------------|
//! | a declared field differs              | yes               | [`DriftKind::Changed`] | the live value  |
//! | absent                                | yes               | [`DriftKind::Deleted`] | forgotten       |
//! | carries the stack's tags, declared    | no                | [`DriftKind::Unmanaged`] (adopted by the create) | unchanged |
//! | carries the stack's tags, undeclared  | no                | [`DriftKind::Unmanaged`] (deleted) | recorded as read |
//!
//! Only fields the program set are compared: a field recorded as absent (`null`)
//! is one AWS fills in (a default key, a server-side value) and is never drift.
//! Tags AWS reserves (`aws:` keys) are not compared either. The plan made from the
//! reconciled state repairs the drift by its usual rules: a changed field is
//! updated back (or the resource replaced, by the field's rule), a deleted one is
//! created again.

use crate::kind::Kind;
use crate::plan::{Action, FieldChange, Plan, Reason};
use crate::stack::ResourceId;
use crate::state::{ResourceState, State};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One live resource as a driver read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// Its logical id (from its `glinfra:logical-id` tag, or the recorded one for
    /// kinds read through their parent).
    pub id: ResourceId,
    /// Kind.
    pub kind: Kind,
    /// Region.
    pub region: String,
    /// What it is, as a spec: for a recorded resource, the recorded spec with every
    /// field the driver can read replaced by its live value; for one state does not
    /// know, the spec read from it, or `None` when it cannot be read whole.
    pub props: Option<Value>,
    /// Its live tags.
    pub tags: BTreeMap<String, String>,
    /// Its live outputs.
    pub outputs: BTreeMap<String, Value>,
}

/// A (kind, region) whose resources were read.
pub type Scope = (Kind, String);

/// How a resource differs from what state recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "drift", rename_all = "snake_case")]
pub enum DriftKind {
    /// Changed outside glinfra: `field: recorded → live` for each field.
    Changed {
        /// The fields that differ (`before` recorded, `after` live).
        changes: Vec<FieldChange>,
    },
    /// Deleted outside glinfra.
    Deleted,
    /// Carries this stack's ownership tags but state does not know it.
    Unmanaged {
        /// Its live outputs (its AWS id).
        outputs: BTreeMap<String, Value>,
        /// What happens to it: adopted (the program declares it), deleted (it does
        /// not), or left alone (it cannot be read whole, so it cannot be deleted
        /// safely: import it or delete it by hand).
        fate: Fate,
    },
}

/// What the plan does with a resource carrying the stack's tags that state did not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// The program declares it: the create adopts it and brings it in line.
    Adopt,
    /// The program does not declare it: it is deleted.
    Delete,
    /// Not declared and not readable whole: reported, left alone.
    LeftAlone,
}

/// One resource's drift.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Logical id.
    pub resource: ResourceId,
    /// Kind.
    pub kind: Kind,
    /// Region.
    pub region: String,
    /// What differs.
    #[serde(flatten)]
    pub what: DriftKind,
}

/// The outcome of a refresh: state as the cloud has it, and how it differs.
#[derive(Clone, Debug, PartialEq)]
pub struct Refreshed {
    /// Recorded state brought in line with the cloud (serial increased when it changed).
    pub state: State,
    /// Every difference, in logical-id order.
    pub drift: Vec<Drift>,
    /// Recorded resources that were not read (their kind cannot be read, or has a
    /// pending operation that the plan resumes).
    pub unread: Vec<ResourceId>,
}

fn comparable(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

fn user_tags(tags: &BTreeMap<String, String>) -> BTreeMap<&String, &String> {
    tags.iter()
        .filter(|(k, _)| !k.starts_with("aws:"))
        .collect()
}

/// The declared fields of `recorded` that differ in `live`, and the recorded
/// resource with those fields, its tags and its outputs as the cloud has them.
fn compare(recorded: &ResourceState, live: &Observed) -> (Vec<FieldChange>, ResourceState) {
    let mut changes = Vec::new();
    let mut now = recorded.clone();
    if let (Value::Object(before), Some(Value::Object(after))) =
        (&recorded.props, live.props.as_ref())
    {
        let mut props: Map<String, Value> = before.clone();
        for (field, was) in before {
            let Some(was) = comparable(Some(was)) else {
                continue;
            };
            let is = after.get(field).cloned().unwrap_or(Value::Null);
            if *was != is {
                changes.push(FieldChange {
                    field: field.clone(),
                    before: Some(was.clone()),
                    after: comparable(Some(&is)).cloned(),
                    after_unknown: false,
                    forces_replacement: recorded.kind.change_rule(&crate::kind::FieldValues {
                        field,
                        before: Some(was),
                        after: comparable(Some(&is)),
                        after_unknown: false,
                        before_all: before,
                        after_all: after,
                    }) == crate::kind::ChangeRule::Replace,
                    refused: None,
                });
                props.insert(field.clone(), is);
            }
        }
        now.props = Value::Object(props);
    }
    if !recorded.tags.is_empty() && user_tags(&recorded.tags) != user_tags(&live.tags) {
        changes.push(FieldChange {
            field: "tags".into(),
            before: Some(serde_json::to_value(&recorded.tags).expect("tags serialise")),
            after: Some(serde_json::to_value(&live.tags).expect("tags serialise")),
            after_unknown: false,
            forces_replacement: false,
            refused: None,
        });
        now.tags = live
            .tags
            .iter()
            .filter(|(k, _)| !k.starts_with("aws:"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    }
    for (k, v) in &live.outputs {
        now.outputs.insert(k.clone(), v.clone());
    }
    (changes, now)
}

/// The output that names a resource in AWS (its ARN, else its id), to tell an
/// old resource of a replacement from the new one.
fn identity(outputs: &BTreeMap<String, Value>) -> Option<&Value> {
    [
        "arn",
        "id",
        "allocation_id",
        "key_id",
        "zone_id",
        "identifier",
        "fqdn",
    ]
    .iter()
    .find_map(|k| outputs.get(*k))
    .filter(|v| !v.is_null())
}

/// Reconciles `state` with what was `observed` in `scopes` (the (kind, region)
/// pairs read completely). `declared` are the logical ids the program declares.
/// A recorded resource of a scope that was read and not observed was deleted
/// outside glinfra; one of a scope not read is left as recorded.
pub fn reconcile(
    state: &State,
    declared: &BTreeSet<ResourceId>,
    scopes: &BTreeSet<Scope>,
    observed: Vec<Observed>,
) -> Refreshed {
    // The old resources of create-first replacements carry the same logical id as
    // their replacements: told apart by their AWS identity, kept while they live.
    let mut alive: BTreeSet<(ResourceId, String)> = BTreeSet::new();
    let observed: Vec<Observed> = observed
        .into_iter()
        .filter(|o| {
            let old = state.superseded.get(&o.id).into_iter().flatten();
            let seen = old
                .filter_map(|c| identity(&c.outputs))
                .find(|i| Some(*i) == identity(&o.outputs));
            match seen {
                Some(i) => {
                    alive.insert((o.id.clone(), i.to_string()));
                    false
                }
                None => true,
            }
        })
        .collect();
    // A global kind (a hosted zone, a health check) is seen from every region it is
    // read in: keep the sighting in the region state records (else the first).
    let mut live: BTreeMap<ResourceId, Observed> = BTreeMap::new();
    for o in observed {
        let recorded_here = |x: &Observed| {
            state
                .resources
                .get(&x.id)
                .is_some_and(|r| r.region == x.region && r.kind == x.kind)
        };
        match live.get(&o.id) {
            Some(kept) if recorded_here(kept) || !recorded_here(&o) => {}
            _ => {
                live.insert(o.id.clone(), o);
            }
        }
    }
    let mut next = state.clone();
    let mut drift = Vec::new();
    let mut unread = Vec::new();
    for (id, recorded) in &state.resources {
        let scope = (recorded.kind, recorded.region.clone());
        if recorded.pending.is_some() || !recorded.exists() || !scopes.contains(&scope) {
            unread.push(id.clone());
            live.remove(id);
            continue;
        }
        let entry = |what| Drift {
            resource: id.clone(),
            kind: recorded.kind,
            region: recorded.region.clone(),
            what,
        };
        match live.remove(id) {
            None => {
                drift.push(entry(DriftKind::Deleted));
                next.resources.remove(id);
            }
            Some(o) if o.kind != recorded.kind || o.region != recorded.region => {
                // Another kind under the same logical id: the recorded one is gone.
                drift.push(entry(DriftKind::Deleted));
                next.resources.remove(id);
                live.insert(id.clone(), o);
            }
            Some(o) => {
                let (changes, now) = compare(recorded, &o);
                if !changes.is_empty() {
                    drift.push(entry(DriftKind::Changed { changes }));
                }
                next.resources.insert(id.clone(), now);
            }
        }
    }
    for (id, o) in live {
        if state.resources.contains_key(&id) && next.resources.contains_key(&id) {
            continue;
        }
        if state.released.get(&id).is_some_and(|out| *out == o.outputs) {
            continue;
        }
        let fate = if declared.contains(&id) {
            Fate::Adopt
        } else if o.props.is_some() {
            Fate::Delete
        } else {
            Fate::LeftAlone
        };
        if fate == Fate::Delete {
            next.resources.insert(
                id.clone(),
                ResourceState {
                    kind: o.kind,
                    region: o.region.clone(),
                    props: o.props.clone().unwrap_or(Value::Null),
                    tags: o.tags.clone(),
                    outputs: o.outputs.clone(),
                    dependencies: BTreeSet::new(),
                    pending: None,
                    lifecycle: Default::default(),
                },
            );
        }
        drift.push(Drift {
            resource: id,
            kind: o.kind,
            region: o.region,
            what: DriftKind::Unmanaged {
                outputs: o.outputs,
                fate,
            },
        });
    }
    // An old resource no longer seen where it was read is gone: nothing to delete.
    for (id, copies) in next.superseded.iter_mut() {
        copies.retain(|c| {
            !scopes.contains(&(c.kind, c.region.clone()))
                || identity(&c.outputs)
                    .is_some_and(|i| alive.contains(&(id.clone(), i.to_string())))
        });
    }
    next.superseded.retain(|_, copies| !copies.is_empty());
    drift.sort_by(|a, b| a.resource.cmp(&b.resource));
    if next.resources != state.resources || next.superseded != state.superseded {
        next.serial = state.serial + 1;
    }
    Refreshed {
        state: next,
        drift,
        unread,
    }
}

/// Attaches `drift` to `plan`, and says why the creates it causes are planned:
/// a resource deleted outside glinfra is created again, one carrying the stack's
/// tags that state did not know is adopted.
pub fn annotate(plan: &mut Plan, drift: &[Drift]) {
    for d in drift {
        let reason = match d.what {
            DriftKind::Deleted => Reason::DeletedOutside,
            DriftKind::Unmanaged {
                fate: Fate::Adopt, ..
            } => Reason::Unmanaged,
            DriftKind::Unmanaged { .. } => Reason::UnmanagedUndeclared,
            DriftKind::Changed { .. } => Reason::ChangedOutside,
        };
        if let Some(step) = plan.steps.iter_mut().find(|s| s.resource == d.resource) {
            let expected = match reason {
                Reason::DeletedOutside | Reason::Unmanaged => Action::Create,
                Reason::UnmanagedUndeclared => Action::Delete,
                _ => step.action,
            };
            if step.action == expected && step.reason.is_none() {
                step.reason = Some(reason);
            }
        }
    }
    plan.drift = drift.to_vec();
}

/// The plan from `refreshed` state with its `drift`: to `graph` (replacing the
/// resources in `replace` too), or, with no graph, deleting everything. The one
/// place a plan is made from a refresh.
pub fn plan_refreshed(
    graph: Option<&crate::graph::ResourceGraph>,
    refreshed: &State,
    drift: &[Drift],
    replace: &BTreeSet<ResourceId>,
) -> Plan {
    let mut plan = match graph {
        Some(g) => crate::plan::plan_replacing(g, refreshed, replace),
        None => crate::plan::plan_destroy(refreshed),
    };
    annotate(&mut plan, drift);
    plan
}
