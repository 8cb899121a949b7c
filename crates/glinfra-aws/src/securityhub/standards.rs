//! The Security Hub standards subscription driver.
//!
//! BatchEnableStandards with the standard's ARN, then GetEnabledStandards until the
//! subscription is READY (INCOMPLETE, some controls unavailable, counts, with a
//! warning); BatchDisableStandards, then until it has left GetEnabledStandards.
//! Subscriptions take no tags and there is one per standard, account and region:
//! it is found by its standard's ARN (GetEnabledStandards), and one already there
//! is adopted (enabling a standard twice makes no second subscription).

use super::not_subscribed;
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::wait::{self, Poll, POLL};
use crate::kit::{all_items, required, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_securityhub::types::{
    StandardsStatus, StandardsSubscription, StandardsSubscriptionRequest,
};
use aws_sdk_securityhub::Client;
use glinfra_core::spec::securityhub::{StandardsSubscriptionOutputs, StandardsSubscriptionSpec};
use glinfra_engine::{ErrorClass, ProviderError};
use std::time::Duration;

/// How long a standard may take to become READY, or to go.
const DEADLINE: Duration = Duration::from_secs(10 * 60);

/// The driver of `aws:securityhub/standards-subscription`.
pub(crate) struct StandardsSubscriptionDriver;

/// Every standard enabled in the account and region (GetEnabledStandards, every
/// page); none when Security Hub is not enabled.
async fn enabled(hub: &Client) -> Result<Vec<StandardsSubscription>, ProviderError> {
    let listed: Result<Vec<StandardsSubscription>, ProviderError> =
        all_items!(hub.get_enabled_standards(), "GetEnabledStandards");
    match listed.map_err(not_subscribed) {
        Err(e) if e.class == ErrorClass::NotFound => Ok(Vec::new()),
        other => other,
    }
}

/// The subscription to `standards_arn`, if there is one (not being deleted).
async fn subscription(
    hub: &Client,
    standards_arn: &str,
) -> Result<Option<StandardsSubscription>, ProviderError> {
    Ok(enabled(hub)
        .await?
        .into_iter()
        .find(|s| s.standards_arn() == Some(standards_arn)))
}

fn outputs(s: &StandardsSubscription) -> Result<StandardsSubscriptionOutputs, ProviderError> {
    Ok(StandardsSubscriptionOutputs {
        subscription_arn: required(s.standards_subscription_arn(), "StandardsSubscriptionArn")?
            .to_string(),
    })
}

fn status(s: &StandardsSubscription) -> &str {
    s.standards_status()
        .map(|s| s.as_str())
        .unwrap_or("no status")
}

/// Waits until the subscription to `standards_arn` is READY (or INCOMPLETE).
async fn wait_ready(
    hub: &Client,
    standards_arn: &str,
) -> Result<StandardsSubscription, ProviderError> {
    wait::until(
        &format!("Security Hub standard {standards_arn} to be READY"),
        DEADLINE,
        POLL,
        || async {
            let Some(s) = subscription(hub, standards_arn).await? else {
                return Ok(Poll::Pending("not listed yet".into()));
            };
            Ok(match s.standards_status() {
                Some(StandardsStatus::Ready) => Poll::Ready(s),
                Some(StandardsStatus::Incomplete) => {
                    tracing::warn!(standard = %standards_arn, "Security Hub standard is INCOMPLETE: some of its controls are unavailable");
                    Poll::Ready(s)
                }
                Some(StandardsStatus::Failed) => {
                    let reason = s
                        .standards_status_reason()
                        .and_then(|r| r.status_reason_code())
                        .map(|c| c.as_str().to_string())
                        .unwrap_or_default();
                    return Err(ProviderError::new(
                        ErrorClass::Fatal,
                        format!("Security Hub standard {standards_arn} is FAILED {reason}"),
                    ));
                }
                _ => Poll::Pending(status(&s).to_string()),
            })
        },
    )
    .await
}

#[async_trait]
impl Driver for StandardsSubscriptionDriver {
    type Spec = StandardsSubscriptionSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<StandardsSubscriptionSpec>,
    ) -> Result<Option<StandardsSubscriptionOutputs>, ProviderError> {
        let hub = c.securityhub(&r.region);
        match subscription(&hub, &r.spec.standards_arn).await? {
            Some(s) if s.standards_status() == Some(&StandardsStatus::Deleting) => Ok(None),
            Some(s) => outputs(&s).map(Some),
            None => Ok(None),
        }
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<StandardsSubscriptionSpec>,
    ) -> Result<StandardsSubscriptionOutputs, ProviderError> {
        let hub = c.securityhub(&r.region);
        let arn = r.spec.standards_arn.as_str();
        let request = StandardsSubscriptionRequest::builder()
            .standards_arn(arn)
            .build();
        hub.batch_enable_standards()
            .standards_subscription_requests(request)
            .send()
            .await
            .map_err(|e| classify(&format!("BatchEnableStandards {arn}"), e))?;
        outputs(&wait_ready(&hub, arn).await?)
    }

    /// Both fields force a replacement: nothing changes in place.
    async fn update(
        &self,
        _c: &Clients,
        prior: &Recorded<StandardsSubscriptionSpec>,
        _r: &Desired<StandardsSubscriptionSpec>,
        _changed: Changed<'_>,
    ) -> Result<StandardsSubscriptionOutputs, ProviderError> {
        Ok(prior.outputs.clone())
    }

    /// GetEnabledStandards (every page), once for the region: each recorded
    /// subscription is there, by its standard's ARN, or gone.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<StandardsSubscriptionSpec>,
    ) -> Result<Option<Vec<Live<StandardsSubscriptionSpec>>>, ProviderError> {
        if scope.recorded.is_empty() {
            return Ok(Some(Vec::new())); // nothing to read: no call
        }
        let listed = enabled(&c.securityhub(&scope.region)).await?;
        let mut live = Vec::new();
        for r in &scope.recorded {
            let Some(s) = listed.iter().find(|s| {
                s.standards_arn() == Some(r.spec.standards_arn.as_str())
                    && s.standards_status() != Some(&StandardsStatus::Deleting)
            }) else {
                continue;
            };
            live.push(Live {
                id: r.id.clone(),
                outputs: outputs(s)?,
                tags: Default::default(),
                spec: Some(r.spec.clone()),
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<StandardsSubscriptionSpec>,
    ) -> Result<(), ProviderError> {
        let hub = c.securityhub(&prior.region);
        let arn = prior.spec.standards_arn.as_str();
        let Some(s) = subscription(&hub, arn).await? else {
            return Ok(());
        };
        if s.standards_status() != Some(&StandardsStatus::Deleting) {
            hub.batch_disable_standards()
                .standards_subscription_arns(outputs(&s)?.subscription_arn)
                .send()
                .await
                .map_err(|e| not_subscribed(classify(&format!("BatchDisableStandards {arn}"), e)))
                .or_gone()?;
        }
        wait::gone(
            &format!("Security Hub standard {arn}"),
            DEADLINE,
            || async {
                Ok(subscription(&hub, arn)
                    .await?
                    .map(|s| status(&s).to_string()))
            },
        )
        .await
    }
}
