//! Resource kinds. A kind is declared once, on its spec, with `#[derive(Resource)]`:
//! its type name, typed outputs, the fields that force replacement (marked on the
//! fields themselves), whether it takes tags, and its validation. [`Kind`] is a
//! handle to that declaration; [`crate::spec::ALL`] lists every kind.
//!
//! Which fields force replacement follows what the AWS modify/put calls can change:
//! a field no update call can change is marked `#[resource(replace)]`. Where the
//! answer depends on the values (a replica promoted in place but a primary never
//! made a replica; encryption added in place but its key never changed), the field
//! names its one rule instead, `#[resource(change_rule = path::to::fn)]`: a
//! [`ChangeRuleFn`] that says, from the recorded and planned values, whether the
//! change is made in place, replaces the resource, or is refused with the reason.

use crate::diagnostics::Diagnostic;
use crate::stack::{Declaration, Stack, SubnetIndex};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Whether changing a field can be done in place or needs a new resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateBehavior {
    /// An AWS update call changes the field on the existing resource.
    InPlace,
    /// No AWS call can change it: the resource is deleted and created again.
    Replace,
    /// The field's change rule decides from the values (see [`ChangeRule`]).
    DependsOnValues,
}

/// What changing one field from its recorded to its planned value does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeRule {
    /// An AWS update call makes it on the existing resource.
    InPlace,
    /// Only a new resource has it: delete, then create.
    Replace,
    /// AWS can make it neither in place nor by a replacement worth planning: the
    /// plan is refused, and this says why and what to do instead.
    Refuse(String),
}

/// One field's change as a [`ChangeRuleFn`] sees it.
#[derive(Clone, Copy, Debug)]
pub struct FieldValues<'a> {
    /// The field's name.
    pub field: &'a str,
    /// Its recorded value; `None` when absent.
    pub before: Option<&'a Value>,
    /// Its planned value; `None` when absent or not known until apply.
    pub after: Option<&'a Value>,
    /// True when the planned value is not known until apply.
    pub after_unknown: bool,
    /// Every recorded field of the resource (nulls left out).
    pub before_all: &'a Map<String, Value>,
    /// Every planned field of the resource (nulls left out).
    pub after_all: &'a Map<String, Value>,
}

impl FieldValues<'_> {
    /// The recorded value of another field of the resource.
    pub fn before_of(&self, field: &str) -> Option<&Value> {
        self.before_all.get(field).filter(|v| !v.is_null())
    }

    /// The planned value of another field of the resource (when not known until
    /// apply, the marker that says so: see [`FieldValues::known_after_of`]).
    pub fn after_of(&self, field: &str) -> Option<&Value> {
        self.after_all.get(field).filter(|v| !v.is_null())
    }

    /// The planned value of another field of the resource, when it is known now.
    pub fn known_after_of(&self, field: &str) -> Option<&Value> {
        self.after_of(field)
            .filter(|v| !crate::input::contains_unknown(v))
    }

    /// True when the planned value of another field is not known until apply (it
    /// comes from a resource made, or made again, by this plan).
    pub fn unknown_after_of(&self, field: &str) -> bool {
        self.after_of(field)
            .is_some_and(crate::input::contains_unknown)
    }
}

/// A field's value-dependent change rule, named on the field with
/// `#[resource(change_rule = path::to::fn)]`.
pub type ChangeRuleFn = fn(&FieldValues<'_>) -> ChangeRule;

/// One output of a kind: its name and Rust type (for docs and error messages).
#[derive(Debug)]
pub struct OutputInfo {
    /// The output's name (`id`, `arn`, ...).
    pub name: &'static str,
    /// Its type as written in the declaration (`String`, `Vec<String>`, `i64`).
    pub ty: &'static str,
}

/// Validates a declaration of one kind, pushing every problem found.
pub type CheckFn = fn(&Stack, &Declaration, &mut Vec<Diagnostic>, &SubnetIndex);

/// How many resources of a kind AWS allows in one place (`#[resource(one_per = ...)]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnePer {
    /// As many as quotas allow (most kinds).
    Many,
    /// One per account and region: a GuardDuty detector, Security Hub, Inspector's
    /// account status. A second declaration in the same region, in the stack or in
    /// another stack run with the same credentials, could only fail.
    AccountRegion,
    /// One per account, in every region (a Shield Advanced subscription).
    Account,
}

impl OnePer {
    /// Where the one resource lives: the region, or `None` for the whole account;
    /// `None` too for [`OnePer::Many`] (see [`OnePer::is_single`]).
    pub fn scope(self, region: &str) -> Option<&str> {
        match self {
            OnePer::AccountRegion => Some(region),
            OnePer::Account | OnePer::Many => None,
        }
    }

    /// Where the one resource lives, in words: `in us-east-1`, `in the account`.
    pub fn place(self, region: &str) -> String {
        self.scope(region)
            .map_or_else(|| "in the account".to_string(), |r| format!("in {r}"))
    }

    /// True when AWS allows one resource of the kind per scope.
    pub fn is_single(self) -> bool {
        self != OnePer::Many
    }

    /// What the scope is called in messages.
    pub fn describe(self) -> &'static str {
        match self {
            OnePer::Many => "no limit",
            OnePer::AccountRegion => "one per account and region",
            OnePer::Account => "one per account",
        }
    }
}

/// Everything glinfra knows about a kind, generated by `#[derive(Resource)]`.
#[derive(Debug)]
pub struct KindInfo {
    /// The type name used in plans and state (`aws:ec2/vpc`).
    pub type_name: &'static str,
    /// The outputs a resource of this kind has once created.
    pub outputs: &'static [OutputInfo],
    /// Every field of the spec.
    pub fields: &'static [&'static str],
    /// The fields that no AWS update call can change (besides `region`).
    pub replace_fields: &'static [&'static str],
    /// The fields AWS allows one resource per value of (`#[resource(unique)]`): a
    /// replacement that changes none of them must delete the old resource first.
    pub unique_fields: &'static [&'static str],
    /// The fields whose change depends on the values, each with its rule.
    pub change_rules: &'static [(&'static str, ChangeRuleFn)],
    /// Whether the kind carries tags (and can be found by them).
    pub taggable: bool,
    /// How many resources of the kind AWS allows per account (and region).
    pub one_per: OnePer,
    /// The kind's validation.
    pub check: CheckFn,
}

/// A resource kind: a handle to its one declaration. Compared, ordered and
/// serialised by its type name.
#[derive(Clone, Copy)]
pub struct Kind(&'static KindInfo);

impl Kind {
    /// The kind declared by `info` (used by the derive).
    pub const fn declare(info: &'static KindInfo) -> Kind {
        Kind(info)
    }

    /// Every kind glinfra knows, in a stable order.
    pub fn all() -> &'static [Kind] {
        crate::spec::ALL
    }

    /// The kind with type name `name`, if glinfra knows it.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::all().iter().copied().find(|k| k.type_name() == name)
    }

    /// The declaration.
    pub fn info(self) -> &'static KindInfo {
        self.0
    }

    /// The type name used in plans and state (`aws:ec2/vpc`).
    pub fn type_name(self) -> &'static str {
        self.0.type_name
    }

    /// The names of the outputs a resource of this kind has once created.
    pub fn outputs(self) -> impl Iterator<Item = &'static str> {
        self.0.outputs.iter().map(|o| o.name)
    }

    /// True when the kind has an output named `name`.
    pub fn has_output(self, name: &str) -> bool {
        self.outputs().any(|o| o == name)
    }

    /// How many resources of this kind AWS allows per account (and region).
    pub fn one_per(self) -> OnePer {
        self.0.one_per
    }

    /// The spec fields that no AWS update call can change (besides `region`).
    pub fn replace_fields(self) -> &'static [&'static str] {
        self.0.replace_fields
    }

    /// The fields AWS allows one resource per value of (`#[resource(unique)]`).
    pub fn unique_fields(self) -> &'static [&'static str] {
        self.0.unique_fields
    }

    /// The fields whose change depends on the values, each with its rule.
    pub fn change_rules(self) -> &'static [(&'static str, ChangeRuleFn)] {
        self.0.change_rules
    }

    /// Whether changing `field` can be done in place, whatever the values (or
    /// whether its change rule decides from them).
    pub fn field_behavior(self, field: &str) -> UpdateBehavior {
        if field == "region" || self.replace_fields().contains(&field) {
            UpdateBehavior::Replace
        } else if self.change_rules().iter().any(|(f, _)| *f == field) {
            UpdateBehavior::DependsOnValues
        } else {
            UpdateBehavior::InPlace
        }
    }

    /// What changing `change.field` between its values does: the field's change
    /// rule when it has one, otherwise its declaration (replace or in place).
    pub fn change_rule(self, change: &FieldValues<'_>) -> ChangeRule {
        if let Some((_, rule)) = self.change_rules().iter().find(|(f, _)| *f == change.field) {
            return rule(change);
        }
        match self.field_behavior(change.field) {
            UpdateBehavior::Replace => ChangeRule::Replace,
            _ => ChangeRule::InPlace,
        }
    }

    /// Whether resources of this kind carry tags (and can be found by them).
    pub fn taggable(self) -> bool {
        self.0.taggable
    }
}

impl PartialEq for Kind {
    fn eq(&self, other: &Self) -> bool {
        self.type_name() == other.type_name()
    }
}

impl Eq for Kind {}

impl PartialOrd for Kind {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kind {
    fn cmp(&self, other: &Self) -> Ordering {
        self.type_name().cmp(other.type_name())
    }
}

impl Hash for Kind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.type_name().hash(state);
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kind({})", self.type_name())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.type_name())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Kind::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown resource kind `{name}` (this glinfra knows: {})",
                Kind::all()
                    .iter()
                    .map(|k| k.type_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ec2::SubnetSpec;
    use crate::spec::s3::BucketSpec;
    use crate::stack::Declared;
    use std::collections::BTreeSet;

    #[test]
    fn kinds_round_trip_through_their_type_names() {
        let mut names = BTreeSet::new();
        for kind in Kind::all() {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json.as_str(), Some(kind.type_name()));
            assert_eq!(serde_json::from_value::<Kind>(json).unwrap(), *kind);
            assert!(names.insert(kind.type_name()), "{kind} is listed twice");
        }
        let err = serde_json::from_value::<Kind>(serde_json::json!("aws:sqs/queue")).unwrap_err();
        assert!(err
            .to_string()
            .contains("unknown resource kind `aws:sqs/queue`"));
    }

    #[test]
    fn every_replace_field_and_output_is_declared_once() {
        for kind in Kind::all() {
            let info = kind.info();
            for field in info.replace_fields {
                assert!(
                    info.fields.contains(field),
                    "{kind}: replace field `{field}` is not a field of its spec"
                );
            }
            for (field, _) in info.change_rules {
                assert!(
                    info.fields.contains(field) && !info.replace_fields.contains(field),
                    "{kind}: change-rule field `{field}` is not a field of its spec, or is also marked replace"
                );
            }
            let outputs: BTreeSet<_> = kind.outputs().collect();
            assert_eq!(
                outputs.len(),
                info.outputs.len(),
                "{kind}: an output is declared twice"
            );
            assert!(!outputs.is_empty(), "{kind} declares no outputs");
        }
    }

    #[test]
    fn subnet_cidr_replaces_and_map_public_ip_is_in_place() {
        for (kind, field, behavior) in [
            (SubnetSpec::KIND, "cidr_block", UpdateBehavior::Replace),
            (
                SubnetSpec::KIND,
                "map_public_ip_on_launch",
                UpdateBehavior::InPlace,
            ),
            (BucketSpec::KIND, "lifecycle_rules", UpdateBehavior::InPlace),
            (BucketSpec::KIND, "region", UpdateBehavior::Replace),
        ] {
            assert_eq!(kind.field_behavior(field), behavior, "{kind}.{field}");
        }
    }
}
