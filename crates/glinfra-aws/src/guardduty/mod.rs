//! GuardDuty: one kind, the detector of an account and region ([`detector`]).

mod detector;
#[cfg(test)]
mod tests;

pub(crate) use detector::DetectorDriver;

use crate::error::classify;
use glinfra_engine::ProviderError;

// GuardDuty tags by ARN (ListTagsForResource, TagResource, UntagResource).
crate::kit::tags::tagging!(aws_sdk_guardduty::Client, by_arn, std::convert::identity);

/// The account the clients act as (STS GetCallerIdentity): GuardDuty returns no
/// detector ARN, and its tagging calls take one.
async fn account_id(sts: &aws_sdk_sts::Client) -> Result<String, ProviderError> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| classify("GetCallerIdentity", e))?;
    Ok(crate::kit::required(out.account(), "GetCallerIdentity Account")?.to_string())
}
