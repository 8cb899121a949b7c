//! One step of a plan, and how it is read, compared and written: a create planned
//! from a declaration keeps its fields as that declaration ([`Step::field_changes`]).

use super::{all_fields_of, fields_of, Action, FieldChange, Reason, ReplaceOrder};
use crate::input::{resolve_refs, unknown};
use crate::kind::Kind;
use crate::props::Props;
use crate::stack::{Declaration, ResourceId};
use crate::state::ResourceState;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

/// One step of a plan.
///
/// Serialised, and compared, by its [`Step::field_changes`]: the plan JSON lists
/// a create's fields whichever form the step keeps them in.
#[derive(Clone, Debug, Deserialize)]
pub struct Step {
    /// Logical id.
    pub resource: ResourceId,
    /// Kind (the desired kind; the recorded one for a delete).
    pub kind: Kind,
    /// Region.
    pub region: String,
    /// What is done.
    pub action: Action,
    /// Field-level changes. Empty for a create planned from a declaration: its
    /// changes are all its fields, derived from `desired` (and `resolved`) when
    /// asked for, so a large plan does not hold each spec twice. Read
    /// [`Step::field_changes`], which covers both.
    pub changes: Vec<FieldChange>,
    /// For a create whose spec refers to outputs of resources that already exist:
    /// the spec with those references resolved to their recorded values (the
    /// others unknown until apply). `None` when no reference resolved.
    #[serde(skip)]
    pub resolved: Option<Props>,
    /// Why, when it is not plain from the changes (resuming after a crash, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// The desired declaration (create, update, replace), shared with the stack
    /// and graph it was planned from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<Arc<Declaration>>,
    /// The recorded state (update, replace, delete, resumed create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<Box<ResourceState>>,
    /// The delete (of a delete, or the old half of a replacement) only forgets the
    /// resource: it is retained in AWS (`retain_on_delete`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retain: bool,
    /// For a replacement: which half runs first, and why when it is the delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_order: Option<ReplaceOrder>,
}

impl Step {
    /// True when this step deletes what a create-first replacement left behind
    /// ([`Reason::Superseded`]) rather than the resource itself.
    pub fn is_superseded_delete(&self) -> bool {
        self.reason == Some(Reason::Superseded)
    }

    /// The symbol in the rendered plan: the action's, and `+/-` for a replacement
    /// that creates first.
    pub fn symbol(&self) -> &'static str {
        if self.creates_first() {
            "+/-"
        } else {
            self.action.symbol()
        }
    }

    /// True for a replacement that creates the new resource first.
    pub fn creates_first(&self) -> bool {
        self.action == Action::Replace
            && self
                .replace_order
                .as_ref()
                .is_some_and(ReplaceOrder::is_create_first)
    }

    /// The field-level changes: the recorded ones, or for a create planned from a
    /// declaration, each of its fields as it will be created (values that depend
    /// on resources not made yet are unknown until apply).
    pub fn field_changes(&self) -> Cow<'_, [FieldChange]> {
        match (&self.desired, self.action) {
            (Some(desired), Action::Create) if self.changes.is_empty() => {
                let props = match &self.resolved {
                    Some(resolved) => resolved.value(),
                    None => resolve_refs(&desired.props.value(), &mut |_| unknown()),
                };
                let after = fields_of(props, &desired.region, &desired.tags);
                Cow::Owned(all_fields_of(after, true))
            }
            _ => Cow::Borrowed(&self.changes),
        }
    }

    /// Names of the changed spec fields (and `tags`), as drivers receive them for an
    /// update; `region` never reaches a driver (a region change replaces).
    pub fn changed_fields(&self) -> Vec<String> {
        self.field_changes()
            .iter()
            .map(|c| c.field.clone())
            .filter(|f| f != "region")
            .collect()
    }
}

impl PartialEq for Step {
    fn eq(&self, other: &Step) -> bool {
        self.resource == other.resource
            && self.kind == other.kind
            && self.region == other.region
            && self.action == other.action
            && self.reason == other.reason
            && self.desired == other.desired
            && self.prior == other.prior
            && self.retain == other.retain
            && self.replace_order == other.replace_order
            && self.field_changes() == other.field_changes()
    }
}

impl Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The step as the plan JSON has it (the fields of [`Step`], in order).
        #[derive(Serialize)]
        struct AsJson<'a> {
            resource: &'a ResourceId,
            kind: Kind,
            region: &'a str,
            action: Action,
            changes: Cow<'a, [FieldChange]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            reason: Option<Reason>,
            #[serde(skip_serializing_if = "Option::is_none")]
            desired: Option<&'a Declaration>,
            #[serde(skip_serializing_if = "Option::is_none")]
            prior: Option<&'a ResourceState>,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            retain: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            replace_order: Option<&'a ReplaceOrder>,
        }
        AsJson {
            resource: &self.resource,
            kind: self.kind,
            region: &self.region,
            action: self.action,
            changes: self.field_changes(),
            reason: self.reason,
            desired: self.desired.as_deref(),
            prior: self.prior.as_deref(),
            retain: self.retain,
            replace_order: self.replace_order.as_ref(),
        }
        .serialize(serializer)
    }
}
