//! The Security Hub account driver: Security Hub enabled in an account and region.
//!
//! EnableSecurityHub with the tags, the control finding generator, and
//! `EnableDefaultStandards = false` (the standards are declared, one subscription
//! each); UpdateSecurityHubConfiguration for the settings; DisableSecurityHub.
//! DescribeHub reads it (its ARN, `arn:aws:securityhub:REGION:ACCOUNT:hub/default`)
//! and ListTagsForResource its tags: there is one hub per account and region, ours
//! when it carries this resource's ownership tags. An enabled hub without them is
//! not adopted: the create is refused, with the command that imports it.

use super::not_subscribed;
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::tags::{self, Tagging};
use crate::kit::{
    ensure_importable, owned, owner_of, required, Absent, Changed, Desired, Recorded,
};
use async_trait::async_trait;
use aws_sdk_securityhub::operation::describe_hub::DescribeHubOutput;
use aws_sdk_securityhub::types::ControlFindingGenerator as SdkGenerator;
use aws_sdk_securityhub::Client;
use glinfra_core::spec::securityhub::{
    ControlFindingGenerator, SecurityHubAccountOutputs, SecurityHubAccountSpec,
};
use glinfra_engine::{ErrorClass, ProviderError};

/// The driver of `aws:securityhub/account`.
pub(crate) struct HubDriver;

/// The hub of the account and region, if Security Hub is enabled (DescribeHub).
async fn describe(hub: &Client) -> Result<Option<DescribeHubOutput>, ProviderError> {
    hub.describe_hub()
        .send()
        .await
        .map_err(|e| not_subscribed(classify("DescribeHub", e)))
        .or_absent()
}

fn hub_arn(d: &DescribeHubOutput) -> Result<&str, ProviderError> {
    required(d.hub_arn(), "DescribeHub HubArn")
}

fn generator(spec: &SecurityHubAccountSpec) -> SdkGenerator {
    SdkGenerator::from(spec.control_finding_generator.as_str())
}

fn live_spec(
    d: &DescribeHubOutput,
    recorded: Option<&SecurityHubAccountSpec>,
) -> SecurityHubAccountSpec {
    SecurityHubAccountSpec {
        auto_enable_controls: d
            .auto_enable_controls()
            .or(recorded.map(|r| r.auto_enable_controls))
            .unwrap_or(true),
        control_finding_generator: d
            .control_finding_generator()
            .and_then(|g| g.as_str().parse().ok())
            .or(recorded.map(|r| r.control_finding_generator))
            .unwrap_or(ControlFindingGenerator::SecurityControl),
    }
}

async fn configure(hub: &Client, spec: &SecurityHubAccountSpec) -> Result<(), ProviderError> {
    hub.update_security_hub_configuration()
        .auto_enable_controls(spec.auto_enable_controls)
        .control_finding_generator(generator(spec))
        .send()
        .await
        .map_err(|e| classify("UpdateSecurityHubConfiguration", e))?;
    Ok(())
}

/// The hub when it is `r`'s; `None` when Security Hub is not enabled; the
/// AlreadyExists error naming its owner otherwise (one hub per account and region).
async fn ours(
    hub: &Client,
    r: &Desired<SecurityHubAccountSpec>,
) -> Result<Option<(DescribeHubOutput, String)>, ProviderError> {
    let Some(d) = describe(hub).await? else {
        return Ok(None);
    };
    let arn = hub_arn(&d)?.to_string();
    let live = hub.list(&arn).await?;
    if !owned(&live, &r.stack, &r.id) {
        return Err(ProviderError::new(
            ErrorClass::AlreadyExists,
            format!(
                "Security Hub is enabled in this account and region already ({arn}, one per account and region) and belongs to {}; to manage it here, import it (`import <logical id> {arn}`)",
                owner_of(&live)
            ),
        )
        .resource(&r.id));
    }
    Ok(Some((d, arn)))
}

#[async_trait]
impl Driver for HubDriver {
    type Spec = SecurityHubAccountSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<SecurityHubAccountSpec>,
    ) -> Result<Option<SecurityHubAccountOutputs>, ProviderError> {
        let found = ours(&c.securityhub(&r.region), r).await?;
        Ok(found.map(|(_, hub_arn)| SecurityHubAccountOutputs { hub_arn }))
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<SecurityHubAccountSpec>,
    ) -> Result<SecurityHubAccountOutputs, ProviderError> {
        let hub = c.securityhub(&r.region);
        let enabled = hub
            .enable_security_hub()
            .enable_default_standards(false)
            .control_finding_generator(generator(&r.spec))
            .set_tags(Some(tags::to_map(&r.owned_tags())))
            .send()
            .await
            .map_err(|e| classify("EnableSecurityHub", e));
        match enabled {
            Ok(_) => {}
            // "Account is already subscribed to Security Hub": ours (adopted), or refused.
            Err(err) if err.has_code(&["ResourceConflictException"]) => {
                if ours(&hub, r).await?.is_none() {
                    return Err(
                        err.reclassified(ErrorClass::Retryable, "it was disabled meanwhile")
                    );
                }
            }
            Err(err) => return Err(err),
        }
        // EnableSecurityHub takes no AutoEnableControls.
        configure(&hub, &r.spec).await?;
        let d = describe(&hub).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Retryable,
                "Security Hub was enabled, then DescribeHub did not find it",
            )
        })?;
        Ok(SecurityHubAccountOutputs {
            hub_arn: hub_arn(&d)?.to_string(),
        })
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<SecurityHubAccountSpec>,
        r: &Desired<SecurityHubAccountSpec>,
        changed: Changed<'_>,
    ) -> Result<SecurityHubAccountOutputs, ProviderError> {
        let hub = c.securityhub(&r.region);
        if changed.any(&["auto_enable_controls", "control_finding_generator"]) {
            configure(&hub, &r.spec).await?;
        }
        tags::update(&hub, &prior.outputs.hub_arn, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// DescribeHub and ListTagsForResource of the hub: two calls (one hub per
    /// account and region).
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<SecurityHubAccountSpec>,
    ) -> Result<Option<Vec<Live<SecurityHubAccountSpec>>>, ProviderError> {
        let hub = c.securityhub(&scope.region);
        let Some(d) = describe(&hub).await? else {
            return Ok(Some(Vec::new()));
        };
        let arn = hub_arn(&d)?.to_string();
        let live = hub.list(&arn).await?;
        let Some(id) = scope.owned(&live) else {
            return Ok(Some(Vec::new()));
        };
        let recorded = scope.recorded(&id).map(|r| &r.spec);
        Ok(Some(vec![Live {
            spec: Some(live_spec(&d, recorded)),
            id,
            outputs: SecurityHubAccountOutputs { hub_arn: arn },
            tags: live,
        }]))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<SecurityHubAccountSpec>,
    ) -> Result<(), ProviderError> {
        let hub = c.securityhub(&prior.region);
        hub.disable_security_hub()
            .send()
            .await
            .map_err(|e| not_subscribed(classify("DisableSecurityHub", e)))
            .or_gone()
    }

    /// Takes the account's enabled hub (`aws_id` is its ARN): tags it and reads it.
    async fn import(
        &self,
        c: &Clients,
        r: &Desired<SecurityHubAccountSpec>,
        aws_id: &str,
    ) -> Result<Option<Live<SecurityHubAccountSpec>>, ProviderError> {
        let hub = c.securityhub(&r.region);
        let Some(d) = describe(&hub).await? else {
            return Ok(None);
        };
        let arn = hub_arn(&d)?.to_string();
        if arn != aws_id {
            return Err(ProviderError::new(
                ErrorClass::Invalid,
                format!("the hub of this account and region is {arn}, not {aws_id}"),
            ));
        }
        let live = hub.list(&arn).await?;
        ensure_importable(aws_id, &live, r)?;
        // The ownership tags are added; the resource's own tags stay.
        let (set, _) = tags::delta(&live, &r.owned_tags());
        tags::apply(&hub, &arn, &set, &[]).await?;
        Ok(Some(Live {
            id: r.id.clone(),
            spec: Some(live_spec(&d, None)),
            outputs: SecurityHubAccountOutputs { hub_arn: arn },
            tags: live.into_iter().chain(r.owned_tags()).collect(),
        }))
    }
}
