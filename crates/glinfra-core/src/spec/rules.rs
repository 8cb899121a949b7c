//! Change rules shared by several kinds (see [`crate::kind::ChangeRule`]); the rules
//! particular to one kind live with its spec.

use crate::kind::{ChangeRule, FieldValues};
use serde_json::Value;
use std::cmp::Ordering;

/// The numeric components of a version (`7.0.5` -> [7, 0, 5]); `None` when one is
/// not a number (`6.x`).
fn parts(v: &str) -> Option<Vec<u64>> {
    v.split('.').map(|p| p.parse().ok()).collect()
}

/// True when `after` is an older version than `before`, compared on the components
/// both name (`15` is not older than `15.5`: it names the same major version).
pub fn is_downgrade(before: &str, after: &str) -> bool {
    match (parts(before), parts(after)) {
        (Some(b), Some(a)) => {
            let n = a.len().min(b.len());
            a[..n].cmp(&b[..n]) == Ordering::Less
        }
        _ => false,
    }
}

/// An engine version: raised in place; lowered, refused (no AWS modify call
/// downgrades an engine, and a replacement would start with no data).
pub fn upgrade_only(c: &FieldValues<'_>) -> ChangeRule {
    match (c.before.and_then(Value::as_str), c.after.and_then(Value::as_str)) {
        (Some(before), Some(after)) if is_downgrade(before, after) => ChangeRule::Refuse(format!(
            "`{after}` is older than the running `{before}`: AWS upgrades an engine in place but never downgrades one, and a replacement would start with no data. Keep `{before}` (or a newer version); to run `{after}`, declare a new resource beside this one (another logical id and name) and move the data to it"
        )),
        _ => ChangeRule::InPlace,
    }
}

/// A setting AWS chooses when it is left unset, and no call changes afterwards (an
/// instance's zone, a node group's AMI type): another value replaces the resource;
/// set to what it is (the driver checks it is), or unset, changes nothing in AWS.
pub fn chosen_once(c: &FieldValues<'_>) -> ChangeRule {
    match (c.before, c.after) {
        (Some(b), Some(a)) if a != b => ChangeRule::Replace,
        _ if c.after_unknown => ChangeRule::Replace,
        _ => ChangeRule::InPlace,
    }
}

/// A reference to what the resource is attached to, moved: in place when the new
/// target exists already (its value is known); a replacement when it is made by
/// this plan (not known until apply). The plan cannot tell a new target from the
/// replacement of the current one, and a delete-then-create replacement of the
/// current target cannot happen while this resource stays attached to it (AWS
/// refuses to delete a VPC with a gateway attached, a route table with a subnet
/// associated): replacing this resource too is what lets it go first.
pub fn moved_in_place_to_what_exists(c: &FieldValues<'_>) -> ChangeRule {
    if c.after_unknown {
        ChangeRule::Replace
    } else {
        ChangeRule::InPlace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downgrades_compare_the_components_both_versions_name() {
        for (before, after, down) in [
            ("7.1", "7.0", true),
            ("3.6.0", "3.5.1", true),
            ("15", "14", true),
            ("15.5", "15", false),
            ("15", "15.5", false),
            ("7.0", "7.1", false),
            ("6.x", "6.2", false),
            ("3.6.0", "3.6.0", false),
        ] {
            assert_eq!(is_downgrade(before, after), down, "{before} -> {after}");
        }
    }
}
