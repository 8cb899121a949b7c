//! The simulated account's resources, with their timing: when each becomes
//! visible to a describe (eventual consistency: a new resource is not found for
//! a short while after the call that made it), when it is ready (usable after a
//! create, changed after an update), and when it is gone after a delete.

use crate::provider::Outputs;
use crate::timing::Service;
use glinfra_core::{Kind, Observed, TAG_LOGICAL_ID, TAG_STACK};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use tokio::time::Instant;

/// The account id of simulated ARNs.
pub const ACCOUNT: &str = "123456789012";

/// A resource of the simulated account.
#[derive(Clone, Debug)]
pub(super) struct SimResource {
    pub(super) stack: String,
    pub(super) logical_id: String,
    pub(super) kind: Kind,
    pub(super) region: String,
    pub(super) props: Value,
    pub(super) tags: BTreeMap<String, String>,
    pub(super) outputs: Outputs,
    /// Not found by a describe before this.
    pub(super) visible_at: Instant,
    /// Creating or modifying until this.
    pub(super) busy_until: Instant,
    /// Deleting: gone at this.
    pub(super) gone_at: Option<Instant>,
}

/// What a describe of one resource sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Seen {
    /// Not (or not yet) there: NotFound.
    Absent,
    /// There, in a transitional state (`creating`, `modifying`, `deleting`).
    Busy(&'static str),
    /// There and usable.
    Ready,
}

#[derive(Default)]
pub(super) struct World {
    /// By physical id (the first output's value).
    resources: BTreeMap<String, SimResource>,
    next: u64,
}

impl World {
    /// Records a resource made at `now`; its physical id and outputs.
    pub(super) fn insert(&mut self, mut r: SimResource) -> (String, Outputs) {
        self.next += 1;
        let n = self.next;
        let service = Service::of(r.kind);
        let short = r.kind.type_name().rsplit('/').next().unwrap_or("r");
        r.outputs = r
            .kind
            .outputs()
            .map(|o| {
                let v = match o {
                    "arn" => format!("arn:aws:{service}:{}:{ACCOUNT}:{short}/{n}", r.region),
                    "id" => format!("{short}-{n:08x}"),
                    other => format!("sim-{other}-{n}"),
                };
                (o.to_string(), Value::String(v))
            })
            .collect();
        let id = physical_id(&r.outputs).unwrap_or_else(|| format!("sim-{n}"));
        let outputs = r.outputs.clone();
        self.resources.insert(id.clone(), r);
        (id, outputs)
    }

    /// A describe of `id` at `now`. A resource whose delete finished is removed.
    pub(super) fn describe(&mut self, id: &str, now: Instant) -> Seen {
        let Some(r) = self.resources.get(id) else {
            return Seen::Absent;
        };
        match r.gone_at {
            Some(at) if at <= now => {
                self.resources.remove(id);
                return Seen::Absent;
            }
            Some(_) => return Seen::Busy("deleting"),
            None => {}
        }
        if r.visible_at > now {
            Seen::Absent
        } else if r.busy_until > now {
            Seen::Busy("pending")
        } else {
            Seen::Ready
        }
    }

    /// The visible resource carrying `stack`'s and `logical_id`'s ownership tags
    /// (not one of `superseded`), as a find by tags sees it at `now`.
    pub(super) fn find(
        &self,
        stack: &str,
        logical_id: &str,
        kind: Kind,
        superseded: &BTreeSet<String>,
        now: Instant,
    ) -> Option<Outputs> {
        self.resources
            .values()
            .find(|r| {
                r.stack == stack
                    && r.logical_id == logical_id
                    && r.kind == kind
                    && r.visible_at <= now
                    && !matches!(r.gone_at, Some(at) if at <= now)
                    && !r
                        .outputs
                        .values()
                        .any(|v| v.as_str().is_some_and(|v| superseded.contains(v)))
            })
            .map(|r| r.outputs.clone())
    }

    /// The resource `id`, to change.
    pub(super) fn get_mut(&mut self, id: &str) -> Option<&mut SimResource> {
        self.resources.get_mut(id).filter(|r| r.gone_at.is_none())
    }

    /// What a batched read of `stack`'s `kind` in `region` sees at `now`.
    pub(super) fn observe(
        &self,
        stack: &str,
        kind: Kind,
        region: &str,
        now: Instant,
    ) -> Vec<Observed> {
        self.resources
            .values()
            .filter(|r| {
                r.stack == stack
                    && r.kind == kind
                    && r.region == region
                    && r.visible_at <= now
                    && !matches!(r.gone_at, Some(at) if at <= now)
            })
            .map(|r| Observed {
                id: r.logical_id.clone(),
                kind,
                region: r.region.clone(),
                props: Some(r.props.clone()),
                tags: r.tags.clone(),
                outputs: r.outputs.clone(),
            })
            .collect()
    }

    /// How many resources exist (deleting ones included).
    pub(super) fn len(&self) -> usize {
        self.resources.len()
    }
}

/// The physical id recorded in `outputs`: the first output's value.
pub(super) fn physical_id(outputs: &Outputs) -> Option<String> {
    outputs
        .values()
        .next()
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The owning stack and logical id of a resource about to be made: its
/// ownership tags, or (untaggable kinds) the resolved resource's own.
pub(super) fn owner(tags: &BTreeMap<String, String>, stack: &str, id: &str) -> (String, String) {
    (
        tags.get(TAG_STACK)
            .cloned()
            .unwrap_or_else(|| stack.to_string()),
        tags.get(TAG_LOGICAL_ID)
            .cloned()
            .unwrap_or_else(|| id.to_string()),
    )
}
