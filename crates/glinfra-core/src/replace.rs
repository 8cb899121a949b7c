//! The order of a replacement's two halves: create the new resource first
//! (Terraform's `create_before_destroy`, glinfra's default), or delete the old
//! one first where AWS cannot hold both at once.

use crate::kind::Kind;
use crate::lifecycle::Lifecycle;
use crate::plan::FieldChange;
use crate::stack::ResourceId;
use serde::{Deserialize, Serialize};

/// In which order the two halves of a replacement run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "order", rename_all = "snake_case")]
pub enum ReplaceOrder {
    /// The new resource is created, what used the old one is updated to use it,
    /// and then the old one is deleted (Terraform's `create_before_destroy`): no
    /// gap, and a failed create leaves the old resource in service.
    CreateFirst,
    /// The old resource is deleted before the new one is created, for the reason given.
    DeleteFirst(DeleteFirst),
}

/// Why a replacement deletes the old resource first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "because", rename_all = "snake_case")]
pub enum DeleteFirst {
    /// The resource's `lifecycle.delete_before_replace` asks for it.
    Asked,
    /// AWS allows one resource with these fields' values (a name, one per VPC),
    /// and the replacement keeps them.
    Unique {
        /// The kind's unique fields.
        fields: Vec<String>,
    },
    /// The kind takes no tags, so the old and the new resource could not be told
    /// apart if the run were interrupted between the two.
    Untagged,
    /// The resource's kind changed.
    KindChanged,
    /// Resuming a replacement that was interrupted during its delete.
    Resumed,
    /// It depends on `resource`, replaced delete-first: its own old resource must
    /// go before that one can.
    Follows {
        /// The dependency replaced delete-first.
        resource: ResourceId,
    },
}

impl DeleteFirst {
    /// Why, for people.
    pub fn describe(&self) -> String {
        match self {
            DeleteFirst::Asked => "lifecycle.delete_before_replace".into(),
            DeleteFirst::Unique { fields } => format!(
                "AWS allows one with the same {}",
                fields
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            DeleteFirst::Untagged => {
                "its kind takes no tags, so old and new cannot be told apart".into()
            }
            DeleteFirst::KindChanged => "its kind changed".into(),
            DeleteFirst::Resumed => "resuming an interrupted delete".into(),
            DeleteFirst::Follows { resource } => {
                format!("it depends on `{resource}`, which is replaced delete-first")
            }
        }
    }
}

impl ReplaceOrder {
    /// True for [`ReplaceOrder::CreateFirst`].
    pub fn is_create_first(&self) -> bool {
        matches!(self, ReplaceOrder::CreateFirst)
    }
}

/// The order of a replacement of a `kind` resource with `lifecycle`, whose field
/// `changes` force it: create first unless the options, the kind's tags or its
/// unique fields (kept by the replacement) forbid two at once.
pub fn replace_order(kind: Kind, lifecycle: &Lifecycle, changes: &[FieldChange]) -> ReplaceOrder {
    let unique = kind.unique_fields();
    let because = if lifecycle.delete_before_replace {
        Some(DeleteFirst::Asked)
    } else if !kind.taggable() {
        Some(DeleteFirst::Untagged)
    } else if !unique.is_empty()
        && !changes
            .iter()
            .any(|c| unique.contains(&c.field.as_str()) && c.field != "region")
    {
        Some(DeleteFirst::Unique {
            fields: unique.iter().map(|f| f.to_string()).collect(),
        })
    } else {
        None
    };
    match because {
        Some(b) => ReplaceOrder::DeleteFirst(b),
        None => ReplaceOrder::CreateFirst,
    }
}
