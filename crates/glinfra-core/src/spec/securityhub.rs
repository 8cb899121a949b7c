//! AWS Security Hub: the hub of an account and region and its standards
//! subscriptions (seed 8.1, `security_hub: true`, `cis_benchmark: true`).

use super::closed_set;
use crate::input::Input;
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};

closed_set! {
    /// How Security Hub generates control findings (`ControlFindingGenerator`).
    ControlFindingGenerator, "control finding generator" {
        /// One finding per control, across standards (consolidated control findings).
        SecurityControl = "SECURITY_CONTROL",
        /// One finding per control per standard.
        StandardControl = "STANDARD_CONTROL",
    }
}

/// Security Hub enabled in the stack's account and region (EnableSecurityHub,
/// always with `EnableDefaultStandards = false`: the standards are declared, one
/// [`StandardsSubscriptionSpec`] each). The hub is tagged (TagResource on its ARN);
/// there is one per account and region, so a create that meets an enabled hub
/// adopts it when it carries this resource's tags and is refused otherwise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:securityhub/account", one_per = "account-region", outputs(hub_arn: String))]
pub struct SecurityHubAccountSpec {
    /// Whether controls of newly enabled standards are enabled automatically
    /// (UpdateSecurityHubConfiguration).
    pub auto_enable_controls: bool,
    /// How control findings are generated (UpdateSecurityHubConfiguration).
    pub control_finding_generator: ControlFindingGenerator,
}

impl ResourceSpec for SecurityHubAccountSpec {}

/// The ARN of the CIS AWS Foundations Benchmark standard of `version` in
/// `region`, as BatchEnableStandards takes it: 1.2.0 is a global ruleset
/// (`arn:aws:securityhub:::ruleset/...`); later versions are regional standards
/// (`arn:aws:securityhub:REGION::standards/...`) (Security Hub User Guide, "CIS AWS
/// Foundations Benchmark").
pub fn cis_standards_arn(region: &str, version: &str) -> String {
    if version == "1.2.0" {
        "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0".to_string()
    } else {
        format!("arn:aws:securityhub:{region}::standards/cis-aws-foundations-benchmark/v/{version}")
    }
}

/// The versions of the CIS AWS Foundations Benchmark Security Hub offers.
pub const CIS_VERSIONS: &[&str] = &["1.2.0", "1.4.0", "3.0.0", "5.0.0"];

/// A standard enabled in Security Hub (BatchEnableStandards). Subscriptions take no
/// tags: one per standard, account and region, found by its standard's ARN
/// (GetEnabledStandards) and adopted when it is there already.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:securityhub/standards-subscription", outputs(subscription_arn: String))]
#[resource(untagged)]
pub struct StandardsSubscriptionSpec {
    #[resource(replace)]
    /// The hub's ARN (the account resource's output): a subscription needs the hub.
    pub hub_arn: Input<String>,
    #[resource(replace, unique)]
    /// The standard's ARN ([`cis_standards_arn`]).
    pub standards_arn: String,
}

impl ResourceSpec for StandardsSubscriptionSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        let arn = &self.standards_arn;
        let ok = arn.starts_with("arn:aws")
            && arn.contains(":securityhub:")
            && (arn.contains(":ruleset/") || arn.contains(":standards/"));
        if !ok {
            cx.error(
                "standards_arn",
                format!("`{arn}` is not a Security Hub standard's ARN (`arn:aws:securityhub:REGION::standards/NAME/v/VERSION`)"),
            );
        }
        if let Some(version) = cis_version(arn) {
            if !CIS_VERSIONS.contains(&version) {
                cx.error(
                    "standards_arn",
                    format!(
                        "CIS AWS Foundations Benchmark version `{version}` is not one Security Hub offers (known: {})",
                        CIS_VERSIONS.join(", ")
                    ),
                );
            }
        }
        if arn.contains(":standards/") && !arn.contains(&format!(":{}::", cx.region())) {
            cx.error(
                "standards_arn",
                format!(
                    "`{arn}` names another region than the resource's ({})",
                    cx.region()
                ),
            );
        }
    }
}

/// The version in a CIS AWS Foundations Benchmark standard's ARN.
fn cis_version(arn: &str) -> Option<&str> {
    arn.split_once("/cis-aws-foundations-benchmark/v/")
        .map(|(_, v)| v)
}
