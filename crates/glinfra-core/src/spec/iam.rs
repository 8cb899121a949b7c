//! IAM roles.

use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// An IAM role with its trust policy, managed policies and inline policies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:iam/role", outputs(arn: String, name: String))]
pub struct IamRoleSpec {
    #[resource(replace, unique)]
    /// Role name. Forces replacement.
    pub name: String,
    #[resource(replace)]
    /// Path. Forces replacement.
    #[serde(default = "default_path")]
    pub path: String,
    /// The trust policy document (UpdateAssumeRolePolicy changes it in place).
    pub assume_role_policy: Value,
    /// A description.
    #[serde(default)]
    pub description: String,
    /// ARNs of attached managed policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_policy_arns: Vec<String>,
    /// Inline policies by name; documents may refer to other resources' outputs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inline_policies: BTreeMap<String, Value>,
}

fn default_path() -> String {
    "/".to_string()
}

impl IamRoleSpec {
    /// A role that `service` (`s3.amazonaws.com`, ...) may assume.
    pub fn for_service(name: impl Into<String>, service: &str) -> Self {
        IamRoleSpec {
            name: name.into(),
            path: default_path(),
            assume_role_policy: serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole"
                }]
            }),
            description: String::new(),
            managed_policy_arns: Vec::new(),
            inline_policies: BTreeMap::new(),
        }
    }
}

impl ResourceSpec for IamRoleSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        crate::names::IAM_ROLE.check(cx, "name", &self.name);
        crate::names::IAM_PATH.check(cx, "path", &self.path);
        if !self.assume_role_policy.is_object() {
            cx.error("assume_role_policy", "must be a JSON policy document");
        }
    }
}
