//! How glinfra may treat a resource over its life: Pulumi's resource options and
//! Terraform's `lifecycle` block, declared per resource and recorded in state (so a
//! protected resource stays protected after its declaration is removed).

use crate::kind::Kind;
use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

/// A resource's lifecycle options. The default is none of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// No plan may delete or replace it, directly or through what it depends on;
    /// such a plan is refused as a whole before any change. Unprotect it first (and
    /// apply) to delete it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub protect: bool,
    /// Deleting it (from the program, a destroy, or the old half of a replacement)
    /// removes it from state and leaves it in AWS.
    #[serde(default, skip_serializing_if = "is_false")]
    pub retain_on_delete: bool,
    /// Fields whose changes, in the program or in the cloud, are ignored after the
    /// create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_changes: Vec<String>,
    /// Fields whose changes force a replacement even where AWS could update in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_on_changes: Vec<String>,
    /// A replacement deletes the old resource before creating the new one, even
    /// where AWS would let both exist at once (the default is to create first).
    #[serde(default, skip_serializing_if = "is_false")]
    pub delete_before_replace: bool,
    /// Longest time each operation may take, waiters included.
    #[serde(default, skip_serializing_if = "Timeouts::is_empty")]
    pub timeouts: Timeouts,
}

/// Per-operation time limits, in seconds; unset is the driver's own deadlines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// Create (and adopt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<u64>,
    /// Update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<u64>,
    /// Delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<u64>,
}

impl Timeouts {
    /// True when none is set.
    pub fn is_empty(&self) -> bool {
        *self == Timeouts::default()
    }
}

impl Lifecycle {
    /// True when no option is set.
    pub fn is_default(&self) -> bool {
        *self == Lifecycle::default()
    }

    /// Protected from deletion and replacement.
    pub fn protected() -> Lifecycle {
        Lifecycle {
            protect: true,
            ..Lifecycle::default()
        }
    }

    /// True when a change of `field` is ignored.
    pub fn ignores(&self, field: &str) -> bool {
        self.ignore_changes.iter().any(|f| f == field)
    }

    /// True when a change of `field` forces replacement.
    pub fn replaces_on(&self, field: &str) -> bool {
        self.replace_on_changes.iter().any(|f| f == field)
    }

    /// What is wrong with these options for a resource of `kind`: each named field
    /// must be one of its spec's fields (or `tags`).
    pub fn problems(&self, kind: Kind) -> Vec<(String, String)> {
        let known = |f: &str| f == "tags" || kind.info().fields.contains(&f);
        let mut out = Vec::new();
        for (option, fields) in [
            ("ignore_changes", &self.ignore_changes),
            ("replace_on_changes", &self.replace_on_changes),
        ] {
            for f in fields.iter().filter(|f| !known(f)) {
                out.push((
                    format!("lifecycle.{option}"),
                    format!(
                        "`{f}` is not a field of {kind} (fields: {})",
                        kind.info().fields.join(", ")
                    ),
                ));
            }
        }
        for (op, secs) in [
            ("create", self.timeouts.create),
            ("update", self.timeouts.update),
            ("delete", self.timeouts.delete),
        ] {
            if secs == Some(0) {
                out.push((
                    format!("lifecycle.timeouts.{op}"),
                    "a timeout of 0 seconds cannot succeed".into(),
                ));
            }
        }
        out
    }
}
