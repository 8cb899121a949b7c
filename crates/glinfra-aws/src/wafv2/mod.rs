//! AWS WAF (wafv2): one kind, the web ACL ([`web_acl`]).

#[cfg(test)]
mod tests;
mod web_acl;

pub(crate) use web_acl::WebAclDriver;

use crate::error::classify;
use crate::kit::tags;
use async_trait::async_trait;
use aws_sdk_wafv2::Client;
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeMap;

/// A classified WAF error: WAF's codes do not follow the naming [`classify`]
/// knows. `WAFNonexistentItemException`: not there; `WAFDuplicateItemException`: a
/// web ACL of that name exists; `WAFOptimisticLockException` (another change since
/// the lock token was read) and `WAFUnavailableEntityException` (a resource WAF
/// is still making) pass; `WAFAssociatedItemException`: still associated with a
/// load balancer, which its own delete ends.
fn waf_codes(err: ProviderError) -> ProviderError {
    if err.has_code(&["WAFNonexistentItemException"]) {
        err.reclassified(ErrorClass::NotFound, "not found")
    } else if err.has_code(&["WAFDuplicateItemException"]) {
        err.reclassified(ErrorClass::AlreadyExists, "a web ACL of that name exists")
    } else if err.has_code(&[
        "WAFOptimisticLockException",
        "WAFUnavailableEntityException",
        "WAFAssociatedItemException",
    ]) {
        err.reclassified(ErrorClass::Retryable, "WAF is busy with it")
    } else {
        err
    }
}

/// [`classify`] then [`waf_codes`].
fn waf_error<E, R>(
    what: &str,
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> ProviderError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    waf_codes(classify(what, err))
}

/// WAF tags by ARN, with its own shapes: `ResourceARN`, the tags of
/// ListTagsForResource inside `TagInfoForResource` (paginated by `NextMarker`),
/// and a tag list.
#[async_trait]
impl tags::Tagging for Client {
    async fn list(&self, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let mut found = BTreeMap::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .list_tags_for_resource()
                .resource_arn(arn)
                .set_next_marker(marker.take())
                .send()
                .await
                .map_err(|e| waf_error(&format!("ListTagsForResource {arn}"), e))?;
            if let Some(info) = out.tag_info_for_resource() {
                found.extend(tags::from_sdk(info.tag_list()));
            }
            match out.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(found),
            }
        }
    }

    async fn set(&self, arn: &str, want: &BTreeMap<String, String>) -> Result<(), ProviderError> {
        self.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags::to_sdk(want)?))
            .send()
            .await
            .map_err(|e| waf_error(&format!("TagResource {arn}"), e))?;
        Ok(())
    }

    async fn remove(&self, arn: &str, keys: &[String]) -> Result<(), ProviderError> {
        self.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| waf_error(&format!("UntagResource {arn}"), e))?;
        Ok(())
    }
}
