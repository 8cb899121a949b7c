//! KMS keys.

use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};

/// A symmetric encryption KMS key with an alias.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:kms/key", outputs(key_id: String, arn: String))]
pub struct KmsKeySpec {
    /// Description (UpdateKeyDescription changes it in place).
    pub description: String,
    /// Whether automatic rotation is on.
    pub enable_key_rotation: bool,
    /// Days between automatic rotations, 90 to 2560 (EnableKeyRotation,
    /// `RotationPeriodInDays`); unset, AWS's default of 365. Needs rotation on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_period_days: Option<i32>,
    #[resource(unique)]
    /// Alias name without the `alias/` prefix; unique per account and region.
    pub alias: String,
    /// Waiting period before deletion, 7 to 30 days.
    pub deletion_window_days: i32,
}

impl KmsKeySpec {
    /// A rotating key with the given alias.
    pub fn new(alias: impl Into<String>, description: impl Into<String>) -> Self {
        KmsKeySpec {
            description: description.into(),
            enable_key_rotation: true,
            rotation_period_days: None,
            alias: alias.into(),
            deletion_window_days: 30,
        }
    }
}

/// The rotation periods KMS takes (EnableKeyRotation, `RotationPeriodInDays`).
pub const ROTATION_PERIOD_DAYS: std::ops::RangeInclusive<i32> = 90..=2560;

impl ResourceSpec for KmsKeySpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        if let Some(days) = self.rotation_period_days {
            if !ROTATION_PERIOD_DAYS.contains(&days) {
                cx.error(
                    "rotation_period_days",
                    format!("must be 90 to 2560 days (EnableKeyRotation, RotationPeriodInDays), got {days}"),
                );
            }
            if !self.enable_key_rotation {
                cx.error(
                    "rotation_period_days",
                    "a rotation period needs `enable_key_rotation = true`",
                );
            }
        }
        if !(7..=30).contains(&self.deletion_window_days) {
            cx.error(
                "deletion_window_days",
                format!("must be 7 to 30, got {}", self.deletion_window_days),
            );
        }
        // The spec holds the name after `alias/`; the driver adds the prefix.
        if self.alias.starts_with("alias/") {
            cx.error(
                "alias",
                format!(
                    "`{}`: give the alias without its `alias/` prefix, which glinfra adds (this would make `alias/{}`). AWS (CreateAlias, AliasName): \"This value must begin with alias/ followed by a name, such as alias/ExampleAlias.\"",
                    self.alias, self.alias
                ),
            );
        } else {
            crate::names::KMS_ALIAS.check(cx, "alias", &format!("alias/{}", self.alias));
        }
    }
}
