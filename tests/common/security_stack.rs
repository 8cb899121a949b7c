//! The focused stack of the security-services emulator tests (tests/security_services.rs,
//! tests/security_drift.rs): a KMS key rotating every 90 days, the GuardDuty detector,
//! Security Hub with the CIS standard, Inspector and the regional web ACL, in a region
//! no other test uses (these services are one per account and region).

use glinfra::spec::guardduty::{DetectorFeature, FindingFrequency, GuardDutyDetectorSpec};
use glinfra::spec::inspector2::{InspectorEnablerSpec, ScanType};
use glinfra::spec::kms::KmsKeySpec;
use glinfra::spec::securityhub::{
    cis_standards_arn, ControlFindingGenerator, SecurityHubAccountSpec, StandardsSubscriptionSpec,
};
use glinfra::spec::wafv2::{
    ManagedRuleGroup, OverrideAction, WafAction, WafScope, WafVisibility, WebAclSpec,
};
use glinfra::Stack;

/// The region of the stack.
pub const REGION: &str = "us-east-2";
/// The web ACL's AWS managed rule groups, at priorities 10, 20 and 30.
pub const GROUPS: [&str; 3] = [
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
];

/// The stack `name`, tagged `purpose = <label>-it`; `changed` moves one setting of
/// each kind that changes in place. Shield Advanced (account-wide, never ended) is
/// the caller's to add.
pub fn services(name: &str, label: &str, changed: bool) -> Stack {
    let mut stack = Stack::new(name, REGION);
    stack.tag("purpose", format!("{label}-it"));
    let mut key = KmsKeySpec::new(format!("{name}-data"), format!("{label} test"));
    key.rotation_period_days = Some(if changed { 180 } else { 90 });
    key.deletion_window_days = 7;
    stack.add("kms", key);
    stack.add(
        "guardduty",
        GuardDutyDetectorSpec {
            enable: true,
            finding_publishing_frequency: if changed {
                FindingFrequency::OneHour
            } else {
                FindingFrequency::FifteenMinutes
            },
            features: vec![DetectorFeature::S3DataEvents, DetectorFeature::EksAuditLogs],
        },
    );
    let hub = stack.add(
        "securityhub",
        SecurityHubAccountSpec {
            auto_enable_controls: !changed,
            control_finding_generator: ControlFindingGenerator::SecurityControl,
        },
    );
    stack.add(
        "securityhub-cis",
        StandardsSubscriptionSpec {
            hub_arn: hub.hub_arn(),
            standards_arn: cis_standards_arn(REGION, "3.0.0"),
        },
    );
    stack.add(
        "inspector",
        InspectorEnablerSpec {
            resource_types: if changed {
                vec![ScanType::Ecr]
            } else {
                vec![ScanType::Ec2, ScanType::Ecr]
            },
        },
    );
    stack.add(
        "waf",
        WebAclSpec {
            name: format!("{name}-regional"),
            scope: WafScope::Regional,
            default_action: WafAction::Allow,
            description: Some(format!("{label} test")),
            rules: GROUPS
                .iter()
                .zip([10, 20, 30])
                .map(|(g, priority)| ManagedRuleGroup {
                    name: g.to_string(),
                    vendor: "AWS".into(),
                    priority,
                    override_action: if changed && priority == 20 {
                        OverrideAction::Count
                    } else {
                        OverrideAction::None
                    },
                })
                .collect(),
            visibility: WafVisibility {
                sampled_requests: true,
                cloudwatch_metrics: true,
                metric_name: format!("{name}-regional"),
            },
        },
    );
    stack
}
