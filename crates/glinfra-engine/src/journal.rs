//! Journal records: small entries written before and after every mutating call.
//!
//! `Begin` is written before the call, so a crash leaves evidence of what may
//! exist; the matching end record (`Recorded`, `Removed` or `Failed`) after it.
//! Replaying the journal over the last snapshot gives the state as of the crash.

use glinfra_core::state::{Mutation, PendingOperation, ResourceState, State};
use glinfra_core::{Kind, Lifecycle, ResourceId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One journal entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum JournalRecord {
    /// A mutating call is about to be made.
    Begin {
        /// The resource.
        resource: ResourceId,
        /// Which call.
        operation: Mutation,
        /// The run.
        run_id: String,
        /// When.
        at: String,
        /// Kind (for a create, so a placeholder can be recorded).
        kind: Kind,
        /// Region.
        region: String,
        /// The resolved spec being applied.
        props: Value,
        /// Tags being applied.
        tags: BTreeMap<String, String>,
        /// Dependencies.
        dependencies: BTreeSet<ResourceId>,
        /// Lifecycle options (so a crash mid-create keeps a protection).
        #[serde(default, skip_serializing_if = "Lifecycle::is_default")]
        lifecycle: Lifecycle,
        /// For a create: the serial its idempotency token is derived from
        /// ([`PendingOperation::since_serial`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since_serial: Option<u64>,
    },
    /// The call succeeded; this is the resource now.
    Recorded {
        /// The resource.
        resource: ResourceId,
        /// Its state.
        state: ResourceState,
    },
    /// The resource was deleted.
    Removed {
        /// The resource.
        resource: ResourceId,
    },
    /// A create-first replacement is about to create the new resource: the
    /// recorded one moves to [`State::superseded`] until it is deleted.
    Superseded {
        /// The resource.
        resource: ResourceId,
    },
    /// An old resource of a create-first replacement was deleted (or retained).
    SupersededRemoved {
        /// The resource.
        resource: ResourceId,
        /// The old resource's outputs, which tell it from any other old one.
        outputs: BTreeMap<String, Value>,
    },
    /// The call failed; the resource is as before (a create's outcome is unknown,
    /// unless `made_nothing`).
    Failed {
        /// The resource.
        resource: ResourceId,
        /// Which call.
        operation: Mutation,
        /// The error.
        error: String,
        /// The failure shows nothing of ours was made: a create refused because
        /// the name belongs to someone else (AlreadyExists, and no resource with
        /// our ownership tags found). Its placeholder is dropped, so it cannot
        /// hold up later runs (a destroy, or a protection recorded with it).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        made_nothing: bool,
    },
}

/// Applies one record to `state`.
pub fn replay(state: &mut State, record: &JournalRecord) {
    match record {
        JournalRecord::Begin {
            resource,
            operation,
            run_id,
            at,
            kind,
            region,
            props,
            tags,
            dependencies,
            lifecycle,
            since_serial,
        } => {
            let pending = PendingOperation {
                operation: *operation,
                run_id: run_id.clone(),
                started_at: at.clone(),
                since_serial: *since_serial,
            };
            match state.resources.get_mut(resource) {
                Some(existing) if existing.exists() => existing.pending = Some(pending),
                _ => {
                    // Nothing recorded yet (or only a placeholder): remember what may now exist.
                    state.resources.insert(
                        resource.clone(),
                        ResourceState {
                            kind: *kind,
                            region: region.clone(),
                            props: props.clone(),
                            tags: tags.clone(),
                            outputs: BTreeMap::new(),
                            dependencies: dependencies.clone(),
                            pending: Some(pending),
                            lifecycle: lifecycle.clone(),
                        },
                    );
                }
            }
        }
        JournalRecord::Recorded {
            resource,
            state: rs,
        } => {
            state.resources.insert(resource.clone(), rs.clone());
            state.serial += 1;
        }
        JournalRecord::Removed { resource } => {
            state.resources.remove(resource);
            state.serial += 1;
        }
        JournalRecord::Superseded { resource } => {
            if let Some(old) = state.resources.remove(resource) {
                state
                    .superseded
                    .entry(resource.clone())
                    .or_default()
                    .push(old);
            }
            state.serial += 1;
        }
        JournalRecord::SupersededRemoved { resource, outputs } => {
            if let Some(copies) = state.superseded.get_mut(resource) {
                copies.retain(|c| c.outputs != *outputs);
                if copies.is_empty() {
                    state.superseded.remove(resource);
                }
            }
            state.serial += 1;
        }
        JournalRecord::Failed {
            resource,
            operation,
            made_nothing,
            ..
        } => {
            // A failed create may have left something behind: keep the placeholder
            // and its pending mark so the next run looks for it, unless the failure
            // shows nothing was made. Others are unchanged.
            match state.resources.get_mut(resource) {
                Some(existing) if existing.exists() || *operation != Mutation::Create => {
                    existing.pending = None;
                }
                Some(_) if *made_nothing => {
                    state.resources.remove(resource);
                }
                _ => {}
            }
            state.serial += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn begin(operation: Mutation) -> JournalRecord {
        JournalRecord::Begin {
            resource: "bucket".into(),
            operation,
            run_id: "r".into(),
            at: "t".into(),
            kind: Kind::all()[0],
            region: "us-east-1".into(),
            props: Value::Null,
            tags: BTreeMap::new(),
            dependencies: BTreeSet::new(),
            lifecycle: Lifecycle::protected(),
            since_serial: None,
        }
    }

    fn failed(operation: Mutation, made_nothing: bool) -> JournalRecord {
        JournalRecord::Failed {
            resource: "bucket".into(),
            operation,
            error: "AlreadyExists: taken".into(),
            made_nothing,
        }
    }

    #[test]
    fn a_failed_create_keeps_its_placeholder_unless_it_made_nothing() {
        let mut state = State::empty("s");
        replay(&mut state, &begin(Mutation::Create));
        replay(&mut state, &failed(Mutation::Create, false));
        assert!(state.resources["bucket"].pending.is_some(), "kept, pending");
        replay(&mut state, &begin(Mutation::Create));
        replay(&mut state, &failed(Mutation::Create, true));
        assert!(!state.resources.contains_key("bucket"), "dropped");
        assert_eq!(state.serial, 2);
    }

    #[test]
    fn made_nothing_is_written_only_when_true_and_read_when_absent() {
        let line = serde_json::to_string(&failed(Mutation::Create, false)).unwrap();
        assert!(!line.contains("made_nothing"), "{line}");
        let old = r#"{"record":"failed","resource":"b","operation":"create","error":"x"}"#;
        let JournalRecord::Failed { made_nothing, .. } = serde_json::from_str(old).unwrap() else {
            panic!()
        };
        assert!(!made_nothing);
        let line = serde_json::to_string(&failed(Mutation::Create, true)).unwrap();
        assert!(line.contains("\"made_nothing\":true"), "{line}");
    }
}
