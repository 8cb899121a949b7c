//! CloudWatch Logs: log groups.

use crate::input::Input;
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};

/// The retention periods, in days, that PutRetentionPolicy accepts (any other
/// value is an InvalidParameterException).
pub const RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// A CloudWatch Logs log group.
///
/// Its name is its key (unique per account and region) and cannot change. The
/// retention policy (PutRetentionPolicy / DeleteRetentionPolicy), the KMS key
/// (AssociateKmsKey / DisassociateKmsKey) and the tags change in place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(
    kind = "aws:logs/log-group",
    outputs(
        name: String,
        /// The log group's ARN, without the `:*` suffix (what CreateFlowLogs and
        /// the tagging calls take).
        arn: String
    )
)]
pub struct LogGroupSpec {
    #[resource(replace, unique)]
    /// Name (`/greenlang/prod/vpc-flow-logs`). Forces replacement.
    pub name: String,
    /// Days events are kept, one of [`RETENTION_DAYS`]; none keeps them forever
    /// (PutRetentionPolicy / DeleteRetentionPolicy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<i32>,
    /// The KMS key (ARN) that encrypts the group's data; its policy must let the
    /// `logs.<region>.amazonaws.com` principal use it (AssociateKmsKey /
    /// DisassociateKmsKey).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<Input<String>>,
}

impl LogGroupSpec {
    /// A log group named `name` keeping events `retention_days` days, not encrypted
    /// with a key of ours.
    pub fn new(name: impl Into<String>, retention_days: i32) -> Self {
        LogGroupSpec {
            name: name.into(),
            retention_days: Some(retention_days),
            kms_key_arn: None,
        }
    }
}

/// Whether `name` is a log group name CloudWatch Logs accepts
/// ([`crate::names::LOG_GROUP`]): 1 to 512 of `[A-Za-z0-9_-/.#]`, not in the `aws/`
/// namespace AWS services reserve.
pub fn is_valid_log_group_name(name: &str) -> bool {
    crate::names::LOG_GROUP.problem(name).is_none()
}

impl ResourceSpec for LogGroupSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        crate::names::LOG_GROUP.check(cx, "name", &self.name);
        if let Some(days) = self.retention_days {
            if !RETENTION_DAYS.contains(&days) {
                let allowed: Vec<String> = RETENTION_DAYS.iter().map(i32::to_string).collect();
                cx.error(
                    "retention_days",
                    format!(
                        "CloudWatch Logs keeps events 1, 3, 5, ... days only, not {days} (one of {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
        if let Some(Input::Value(arn)) = &self.kms_key_arn {
            if !arn.starts_with("arn:") || !arn.contains(":key/") {
                cx.error(
                    "kms_key_arn",
                    format!(
                        "`{arn}` is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"
                    ),
                );
            }
        }
    }
}
