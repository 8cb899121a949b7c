//! AWS Shield Advanced (seed 8.1, `ddos_protection: "aws-shield-advanced"`).

use super::closed_set;
use crate::stack::ResourceSpec;
use crate::Resource;
use serde::{Deserialize, Serialize};

closed_set! {
    /// Whether the subscription renews at the end of its term (`AutoRenew`).
    AutoRenew, "Shield auto-renew setting" {
        /// Renews for another year.
        Enabled = "ENABLED",
        /// Ends at the end of the term.
        Disabled = "DISABLED",
    }
}

/// The account's AWS Shield Advanced subscription (CreateSubscription).
///
/// **A paid commitment**: 3,000 USD a month plus data transfer, for one year
/// (AWS Shield pricing). It is account-wide (the Shield API is served from
/// us-east-1), takes no tags, and cannot be cancelled through the API
/// (DeleteSubscription is deprecated and refused): a delete of this resource fails
/// and says so; declare it with `retain_on_delete` so a destroy forgets it instead.
/// A create that meets a subscription adopts it (every stack declaring it shares
/// the one subscription).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:shield/subscription", one_per = "account", outputs(subscription_arn: String))]
#[resource(untagged)]
pub struct ShieldSubscriptionSpec {
    /// Renewal at the end of the term (UpdateSubscription).
    pub auto_renew: AutoRenew,
}

impl ResourceSpec for ShieldSubscriptionSpec {}
