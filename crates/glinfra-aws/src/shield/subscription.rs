//! The Shield Advanced subscription driver.
//!
//! **CreateSubscription starts a paid, one-year commitment** (3,000 USD a month,
//! AWS Shield pricing) that the API cannot end: DeleteSubscription is deprecated
//! and AWS refuses it, so `delete` fails with a Fatal error saying what to do
//! (AWS Support ends a subscription; declare it with `retain_on_delete` so a
//! destroy forgets it). The subscription is account-wide (the Shield API is served
//! from us-east-1) and takes no tags: DescribeSubscription finds the one there is,
//! and a create that meets it (`ResourceAlreadyExistsException`) adopts it.
//! UpdateSubscription changes its renewal.

use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::{required, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_shield::types::{AutoRenew as SdkAutoRenew, Subscription};
use aws_sdk_shield::Client;
use glinfra_core::spec::shield::{ShieldSubscriptionOutputs, ShieldSubscriptionSpec};
use glinfra_engine::{ErrorClass, ProviderError};

/// The driver of `aws:shield/subscription`.
pub(crate) struct SubscriptionDriver;

/// The account's subscription, if there is one (DescribeSubscription answers
/// `ResourceNotFoundException` when there is none).
async fn describe(shield: &Client) -> Result<Option<Subscription>, ProviderError> {
    let out = shield
        .describe_subscription()
        .send()
        .await
        .map_err(|e| classify("DescribeSubscription", e))
        .or_absent()?;
    Ok(out.and_then(|o| o.subscription().cloned()))
}

fn outputs(s: &Subscription) -> Result<ShieldSubscriptionOutputs, ProviderError> {
    Ok(ShieldSubscriptionOutputs {
        subscription_arn: required(s.subscription_arn(), "Subscription SubscriptionArn")?
            .to_string(),
    })
}

async fn set_renewal(shield: &Client, spec: &ShieldSubscriptionSpec) -> Result<(), ProviderError> {
    shield
        .update_subscription()
        .auto_renew(SdkAutoRenew::from(spec.auto_renew.as_str()))
        .send()
        .await
        .map_err(|e| classify("UpdateSubscription", e))?;
    Ok(())
}

#[async_trait]
impl Driver for SubscriptionDriver {
    type Spec = ShieldSubscriptionSpec;

    async fn find(
        &self,
        c: &Clients,
        _r: &Desired<ShieldSubscriptionSpec>,
    ) -> Result<Option<ShieldSubscriptionOutputs>, ProviderError> {
        describe(&c.shield())
            .await?
            .as_ref()
            .map(outputs)
            .transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<ShieldSubscriptionSpec>,
    ) -> Result<ShieldSubscriptionOutputs, ProviderError> {
        let shield = c.shield();
        match shield
            .create_subscription()
            .send()
            .await
            .map_err(|e| classify("CreateSubscription", e))
        {
            Ok(_) => {}
            Err(err) if err.has_code(&["ResourceAlreadyExistsException"]) => {}
            Err(err) => return Err(err),
        }
        let s = describe(&shield).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Retryable,
                "CreateSubscription succeeded, then DescribeSubscription found none",
            )
        })?;
        if s.auto_renew().map(|a| a.as_str()) != Some(r.spec.auto_renew.as_str()) {
            set_renewal(&shield, &r.spec).await?;
        }
        outputs(&s)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<ShieldSubscriptionSpec>,
        r: &Desired<ShieldSubscriptionSpec>,
        changed: Changed<'_>,
    ) -> Result<ShieldSubscriptionOutputs, ProviderError> {
        if changed.has("auto_renew") {
            set_renewal(&c.shield(), &r.spec).await?;
        }
        Ok(prior.outputs.clone())
    }

    /// One DescribeSubscription (account-wide): the recorded subscription is the
    /// account's, or gone when there is none (its term ended).
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<ShieldSubscriptionSpec>,
    ) -> Result<Option<Vec<Live<ShieldSubscriptionSpec>>>, ProviderError> {
        if scope.recorded.is_empty() {
            return Ok(Some(Vec::new())); // nothing to read: no call
        }
        let Some(s) = describe(&c.shield()).await? else {
            return Ok(Some(Vec::new()));
        };
        let mut live = Vec::new();
        for r in &scope.recorded {
            let auto_renew = s
                .auto_renew()
                .and_then(|a| a.as_str().parse().ok())
                .unwrap_or(r.spec.auto_renew);
            live.push(Live {
                id: r.id.clone(),
                outputs: outputs(&s)?,
                tags: Default::default(),
                spec: Some(ShieldSubscriptionSpec { auto_renew }),
            });
        }
        Ok(Some(live))
    }

    /// Refused: the API cannot end a Shield Advanced subscription.
    async fn delete(
        &self,
        _c: &Clients,
        prior: &Recorded<ShieldSubscriptionSpec>,
    ) -> Result<(), ProviderError> {
        Err(ProviderError::new(
            ErrorClass::Fatal,
            format!(
                "the Shield Advanced subscription {} cannot be ended through the API (a one-year commitment; DeleteSubscription is deprecated and refused): ask AWS Support to end it, and declare it with `retain_on_delete` (or `state rm` it) so that glinfra forgets it instead",
                prior.outputs.subscription_arn
            ),
        )
        .resource(&prior.id))
    }
}
