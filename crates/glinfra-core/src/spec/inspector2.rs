//! Amazon Inspector (inspector2): scanning enabled for an account and region
//! (seed 8.1, `inspector: true`).

use super::closed_set;
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};

closed_set! {
    /// A resource type Inspector scans (`ResourceScanType`).
    ScanType, "Inspector resource type" {
        /// EC2 instances.
        Ec2 = "EC2",
        /// ECR container images.
        Ecr = "ECR",
        /// Lambda functions (packages).
        Lambda = "LAMBDA",
        /// Lambda functions (code).
        LambdaCode = "LAMBDA_CODE",
    }
}

/// Inspector scanning of `resource_types` in the stack's account and region
/// (Enable; Disable of the types removed; BatchGetAccountStatus reads it).
/// Inspector takes no tags on an account's status, and there is one per account
/// and region: a create that finds the types enabled already adopts them (Enable
/// of what is enabled changes nothing), and a refresh reads the account's status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:inspector2/enabler", one_per = "account-region", outputs(account_id: String))]
#[resource(untagged)]
pub struct InspectorEnablerSpec {
    /// The resource types scanned.
    pub resource_types: Vec<ScanType>,
}

impl ResourceSpec for InspectorEnablerSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        if self.resource_types.is_empty() {
            cx.error(
                "resource_types",
                "give at least one resource type (EC2, ECR, LAMBDA, LAMBDA_CODE)",
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in &self.resource_types {
            if !seen.insert(*t) {
                cx.error("resource_types", format!("`{t}` is listed twice"));
            }
        }
        if seen.contains(&ScanType::LambdaCode) && !seen.contains(&ScanType::Lambda) {
            cx.error(
                "resource_types",
                "`LAMBDA_CODE` scanning needs `LAMBDA` (Inspector User Guide, \"Scanning Lambda functions\")",
            );
        }
    }
}
