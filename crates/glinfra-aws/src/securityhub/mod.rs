//! Security Hub: the hub of an account and region ([`hub`]) and its standards
//! subscriptions ([`standards`]).

mod hub;
mod standards;
#[cfg(test)]
mod tests;

pub(crate) use hub::HubDriver;
pub(crate) use standards::StandardsSubscriptionDriver;

use glinfra_engine::{ErrorClass, ProviderError};

/// Security Hub answers a call in an account and region where it is not enabled
/// with `InvalidAccessException` ("Account ... is not subscribed to AWS Security
/// Hub"): the hub is not there.
fn not_subscribed(err: ProviderError) -> ProviderError {
    if err.has_code(&["InvalidAccessException"]) {
        err.reclassified(ErrorClass::NotFound, "Security Hub is not enabled here")
    } else {
        err
    }
}

// Security Hub tags by ARN (ListTagsForResource, TagResource, UntagResource).
crate::kit::tags::tagging!(aws_sdk_securityhub::Client, by_arn, std::convert::identity);
