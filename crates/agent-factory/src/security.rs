//! Security services (infrastructure requirements 8.1, `compliance` and
//! `network.waf_enabled`, `network.ddos_protection`, `access.key_rotation`), from
//! the environment file's `[security_services]`: the GuardDuty detector, Security
//! Hub with the CIS AWS Foundations Benchmark subscribed, Inspector scanning, the
//! regional WAF web ACL the load balancers of 3.4 take (exported as
//! `waf_web_acl_arn`), Shield Advanced when the file says so, and the KMS
//! rotation period of every key.
//!
//! GuardDuty, Security Hub, Inspector and Shield are one per account and region
//! (Shield: per account): each stack declares its own, and the drivers adopt what
//! is there when it is theirs (see each kind's documentation).

use crate::config::Environment;
use glinfra_core::spec::guardduty::{DetectorFeature, FindingFrequency, GuardDutyDetectorSpec};
use glinfra_core::spec::inspector2::{InspectorEnablerSpec, ScanType};
use glinfra_core::spec::securityhub::{
    cis_standards_arn, ControlFindingGenerator, SecurityHubAccountSpec, StandardsSubscriptionSpec,
};
use glinfra_core::spec::shield::{AutoRenew, ShieldSubscriptionSpec};
use glinfra_core::spec::wafv2::{
    ManagedRuleGroup, OverrideAction, WafAction, WafScope, WafVisibility, WebAclSpec,
};
use glinfra_core::{Lifecycle, ResourceOptions, Stack};
use serde::Deserialize;

/// `[security_services]` (seed 8.1).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecurityServicesConfig {
    /// Days between automatic rotations of every KMS key (`key_rotation:
    /// automatic-90-days`): 90 to 2560, when `[storage] kms_key_rotation` is on.
    pub key_rotation_days: i32,
    /// Whether the account has AWS Shield Advanced: a paid subscription (3,000 USD
    /// a month, a one-year commitment). False declares nothing.
    pub shield_advanced: bool,
    /// `[security_services.guardduty]`.
    pub guardduty: GuardDutyConfig,
    /// `[security_services.security_hub]`.
    pub security_hub: SecurityHubConfig,
    /// `[security_services.inspector]`.
    pub inspector: InspectorConfig,
    /// `[security_services.waf]`.
    pub waf: WafConfig,
}

/// `[security_services.guardduty]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GuardDutyConfig {
    /// Whether the stack declares a detector.
    pub enabled: bool,
    /// `FIFTEEN_MINUTES`, `ONE_HOUR` or `SIX_HOURS`.
    pub finding_publishing_frequency: FindingFrequency,
    /// The protection plans turned on (`S3_DATA_EVENTS`, `EKS_AUDIT_LOGS`, ...).
    pub features: Vec<DetectorFeature>,
}

/// `[security_services.security_hub]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecurityHubConfig {
    /// Whether the stack enables Security Hub (and the CIS standard).
    pub enabled: bool,
    /// `SECURITY_CONTROL` or `STANDARD_CONTROL`.
    pub control_finding_generator: ControlFindingGenerator,
    /// Whether new controls of the enabled standards are enabled automatically.
    pub auto_enable_controls: bool,
    /// The CIS AWS Foundations Benchmark version subscribed (`cis_benchmark: true`).
    pub cis_version: String,
}

/// `[security_services.inspector]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InspectorConfig {
    /// Whether the stack enables Inspector.
    pub enabled: bool,
    /// The resource types scanned (`EC2`, `ECR`, `LAMBDA`, `LAMBDA_CODE`).
    pub resource_types: Vec<ScanType>,
}

/// `[security_services.waf]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WafConfig {
    /// Whether the stack declares the regional web ACL.
    pub enabled: bool,
    /// `ALLOW` or `BLOCK`: what requests no rule matched get.
    pub default_action: WafAction,
    /// Whether WAF keeps samples of matched requests.
    pub sampled_requests: bool,
    /// Whether WAF sends CloudWatch metrics.
    pub cloudwatch_metrics: bool,
    /// The AWS managed rule groups, with priorities.
    pub rules: Vec<WafRuleConfig>,
}

/// `[[security_services.waf.rules]]`: one AWS managed rule group.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WafRuleConfig {
    /// The group (`AWSManagedRulesCommonRuleSet`).
    pub name: String,
    /// Its priority (lower first, unique).
    pub priority: i32,
    /// `NONE` (the group blocks) or `COUNT` (it only counts).
    pub override_action: OverrideAction,
}

/// The longest rotation period the policy allows (seed 8.1, `automatic-90-days`).
pub const SEED_KEY_ROTATION_DAYS: i32 = 90;

/// The rotation period of the stack's KMS keys, when they rotate.
pub fn rotation_period(env: &Environment) -> Option<i32> {
    env.storage
        .kms_key_rotation
        .then_some(env.security_services.key_rotation_days)
}

/// The logical ids of the security services.
pub mod ids {
    /// The GuardDuty detector.
    pub const GUARDDUTY: &str = "guardduty";
    /// Security Hub.
    pub const SECURITY_HUB: &str = "securityhub";
    /// The CIS AWS Foundations Benchmark subscription.
    pub const CIS: &str = "securityhub-cis";
    /// Inspector.
    pub const INSPECTOR: &str = "inspector";
    /// The regional web ACL.
    pub const WAF: &str = "waf-regional";
    /// Shield Advanced.
    pub const SHIELD: &str = "shield-advanced";
}

/// The stack output naming the web ACL's ARN, for the load balancers of 3.4.
pub const WAF_ARN_OUTPUT: &str = "waf_web_acl_arn";

/// Declares the security services `s` in the stack's `region`, named after the
/// environment `envname` (the five environments and the failover standby alike).
pub(crate) fn declare(s: &SecurityServicesConfig, envname: &str, region: &str, stack: &mut Stack) {
    if s.guardduty.enabled {
        stack.add(
            ids::GUARDDUTY,
            GuardDutyDetectorSpec {
                enable: true,
                finding_publishing_frequency: s.guardduty.finding_publishing_frequency,
                features: s.guardduty.features.clone(),
            },
        );
    }
    if s.security_hub.enabled {
        let hub = stack.add(
            ids::SECURITY_HUB,
            SecurityHubAccountSpec {
                auto_enable_controls: s.security_hub.auto_enable_controls,
                control_finding_generator: s.security_hub.control_finding_generator,
            },
        );
        stack.add(
            ids::CIS,
            StandardsSubscriptionSpec {
                hub_arn: hub.hub_arn(),
                standards_arn: cis_standards_arn(region, &s.security_hub.cis_version),
            },
        );
    }
    if s.inspector.enabled {
        stack.add(
            ids::INSPECTOR,
            InspectorEnablerSpec {
                resource_types: s.inspector.resource_types.clone(),
            },
        );
    }
    if s.waf.enabled {
        let acl = stack.add(
            ids::WAF,
            WebAclSpec {
                name: format!("greenlang-{envname}-regional"),
                scope: WafScope::Regional,
                default_action: s.waf.default_action,
                description: Some(format!(
                    "GreenLang {envname}: AWS managed rules for the load balancers"
                )),
                rules: s
                    .waf
                    .rules
                    .iter()
                    .map(|r| ManagedRuleGroup {
                        name: r.name.clone(),
                        vendor: "AWS".into(),
                        priority: r.priority,
                        override_action: r.override_action,
                    })
                    .collect(),
                visibility: WafVisibility {
                    sampled_requests: s.waf.sampled_requests,
                    cloudwatch_metrics: s.waf.cloudwatch_metrics,
                    metric_name: format!("greenlang-{envname}-regional"),
                },
            },
        );
        stack.export(WAF_ARN_OUTPUT, acl.arn());
    }
    if s.shield_advanced {
        // The API cannot end the subscription: a destroy forgets it (retain_on_delete).
        stack.add_with(
            ids::SHIELD,
            ShieldSubscriptionSpec {
                auto_renew: AutoRenew::Enabled,
            },
            ResourceOptions {
                lifecycle: Lifecycle {
                    retain_on_delete: true,
                    ..Lifecycle::default()
                },
                ..ResourceOptions::default()
            },
        );
    }
}
