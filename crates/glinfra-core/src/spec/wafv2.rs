//! AWS WAF (wafv2): a regional web ACL with AWS managed rule groups, for the load
//! balancers of seed 3.4 (seed 8.1, `waf_enabled: true`).

use super::closed_set;
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};

closed_set! {
    /// Where a web ACL is used (`Scope`): regional resources, or CloudFront (whose
    /// web ACLs live in us-east-1).
    WafScope, "WAF scope" {
        /// Load balancers, API Gateway, AppSync, Cognito, App Runner, Verified Access.
        Regional = "REGIONAL",
        /// CloudFront distributions.
        Cloudfront = "CLOUDFRONT",
    }
}

closed_set! {
    /// What a web ACL does with a request no rule matched (`DefaultAction`).
    WafAction, "WAF default action" {
        /// Let it through.
        Allow = "ALLOW",
        /// Block it.
        Block = "BLOCK",
    }
}

closed_set! {
    /// What a managed rule group's matches do (`OverrideAction`).
    OverrideAction, "WAF override action" {
        /// The group's own actions (block).
        None = "NONE",
        /// Only count (to watch a group before it blocks).
        Count = "COUNT",
    }
}

/// CloudWatch metrics and sampled requests of a web ACL and its rules (`VisibilityConfig`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WafVisibility {
    /// Whether AWS WAF keeps samples of the requests matched.
    pub sampled_requests: bool,
    /// Whether AWS WAF sends metrics to CloudWatch.
    pub cloudwatch_metrics: bool,
    /// The web ACL's metric name; each rule's is its own name.
    pub metric_name: String,
}

/// One AWS managed rule group in a web ACL (`ManagedRuleGroupStatement`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManagedRuleGroup {
    /// The group's name (`AWSManagedRulesCommonRuleSet`), also the rule's name and metric name.
    pub name: String,
    /// Its vendor (`AWS`).
    pub vendor: String,
    /// Its priority in the web ACL (lower first; unique in the ACL).
    pub priority: i32,
    /// What its matches do.
    pub override_action: OverrideAction,
}

/// The AWS managed rule groups AWS WAF offers that a web ACL may name here
/// (AWS WAF Developer Guide, "AWS Managed Rules rule groups list").
pub const AWS_MANAGED_GROUPS: &[&str] = &[
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesAnonymousIpList",
    "AWSManagedRulesAdminProtectionRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesLinuxRuleSet",
    "AWSManagedRulesUnixRuleSet",
    "AWSManagedRulesBotControlRuleSet",
];

/// A web ACL (CreateWebACL) whose rules are AWS managed rule groups. Its name and
/// scope are its key (and cannot change); the rest changes in place (UpdateWebACL,
/// which takes the whole ACL and the lock token of the last read). Outputs: its
/// ARN, what a load balancer association takes, and its id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:wafv2/web-acl", outputs(arn: String, id: String))]
pub struct WebAclSpec {
    #[resource(replace, unique)]
    /// Its name, unique per scope, account and region.
    pub name: String,
    #[resource(replace)]
    /// Its scope.
    pub scope: WafScope,
    /// What requests no rule matched get.
    pub default_action: WafAction,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Its rules, one AWS managed rule group each.
    pub rules: Vec<ManagedRuleGroup>,
    /// Its metrics and samples (each rule's the same, under the rule's name).
    pub visibility: WafVisibility,
}

impl ResourceSpec for WebAclSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        crate::names::WAF_NAME.check(cx, "name", &self.name);
        crate::names::WAF_METRIC_NAME.check(
            cx,
            "visibility.metric_name",
            &self.visibility.metric_name,
        );
        if self.scope == WafScope::Cloudfront && cx.region() != "us-east-1" {
            cx.error(
                "scope",
                format!(
                    "a CLOUDFRONT web ACL is made in us-east-1, not {}",
                    cx.region()
                ),
            );
        }
        if let Some(d) = &self.description {
            if d.is_empty() || d.len() > 256 {
                cx.error("description", "a description has 1 to 256 characters");
            }
        }
        let mut priorities = std::collections::BTreeMap::new();
        let mut names = std::collections::BTreeSet::new();
        for rule in &self.rules {
            if rule.vendor == "AWS" && !AWS_MANAGED_GROUPS.contains(&rule.name.as_str()) {
                cx.error(
                    "rules",
                    format!(
                        "`{}` is not an AWS managed rule group glinfra knows (known: {})",
                        rule.name,
                        AWS_MANAGED_GROUPS.join(", ")
                    ),
                );
            }
            if rule.priority < 0 {
                cx.error("rules", format!("`{}`: a priority is 0 or more", rule.name));
            }
            if let Some(other) = priorities.insert(rule.priority, &rule.name) {
                cx.error(
                    "rules",
                    format!(
                        "`{}` and `{other}` have the same priority {}; AWS WAF needs each rule's to be unique",
                        rule.name, rule.priority
                    ),
                );
            }
            if !names.insert(&rule.name) {
                cx.error("rules", format!("`{}` is listed twice", rule.name));
            }
        }
    }
}
