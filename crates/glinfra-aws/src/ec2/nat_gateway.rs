//! Public NAT gateways. A gateway is usable once `available`; one that failed
//! stays visible as `failed` for a while (AWS cleans it up) and is never adopted.

use super::{
    describe_ids, describe_owned, describe_stack, pick, read_id, settle, tag_specification, Tagged,
};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::wait::{self, Poll};
use crate::kit::{required, resolved_str, tags, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_ec2::types::{NatGateway, NatGatewayState, ResourceType};
use glinfra_core::spec::ec2::{NatGatewayOutputs, NatGatewaySpec};
use glinfra_core::Declared;
use glinfra_engine::{ErrorClass, ProviderError};
use std::time::Duration;

/// How long a NAT gateway may take to become `available` or `deleted`.
const NAT_DEADLINE: Duration = Duration::from_secs(10 * 60);

/// The driver of `aws:ec2/nat-gateway`.
pub(crate) struct NatGatewayDriver;

fn outputs(nat: &NatGateway) -> Result<NatGatewayOutputs, ProviderError> {
    Ok(NatGatewayOutputs {
        id: required(nat.nat_gateway_id(), "NAT gateway id")?.to_string(),
    })
}

/// A gateway on its way out, or one that never came up: not a live gateway.
fn is_gone(nat: &NatGateway) -> bool {
    matches!(
        nat.state(),
        Some(NatGatewayState::Deleted | NatGatewayState::Deleting | NatGatewayState::Failed)
    )
}

/// The allocation of the gateway's primary address (the one CreateNatGateway
/// named), or of its first address when none says it is primary.
fn allocation_of(nat: &NatGateway) -> Option<&str> {
    let addresses = nat.nat_gateway_addresses();
    addresses
        .iter()
        .find(|a| a.is_primary() == Some(true))
        .or_else(|| addresses.first())
        .and_then(|a| a.allocation_id())
}

/// Waits for the NAT gateway `id` of `region` through the shared poll of the
/// region's gateways (one DescribeNatGateways a poll for all of them);
/// `check` reads what it answered for `id` (`None`: not known, yet or any more).
async fn wait_for<T>(
    c: &Clients,
    region: &str,
    id: &str,
    what: &str,
    check: impl Fn(Option<NatGateway>) -> Result<Poll<T>, ProviderError>,
) -> Result<T, ProviderError> {
    let ec2 = c.ec2(region);
    let describe = |ids| describe_ids(ec2.describe_nat_gateways(), "nat-gateway-id", ids);
    let place = (NatGatewaySpec::KIND, region, id);
    wait::until_shared(c, place, what, NAT_DEADLINE, describe, check).await
}

async fn wait_available(c: &Clients, region: &str, id: &str) -> Result<(), ProviderError> {
    // A failed gateway ends the wait with `Ready(Err(..))`, even when the failure
    // is retryable: the wait polls through retryable errors, but this gateway will
    // never become available; a new create will.
    wait_for(
        c,
        region,
        id,
        &format!("NAT gateway {id} to become available"),
        |nat| {
            let Some(nat) = nat else {
                // Eventual consistency: a new gateway may not be visible at once.
                return Ok(Poll::Pending("not visible yet".into()));
            };
            match nat.state() {
                Some(NatGatewayState::Available) => Ok(Poll::Ready(Ok(()))),
                Some(NatGatewayState::Failed) => {
                    let code = nat.failure_code().unwrap_or("unknown");
                    // Gateway.NotAttached: the VPC's internet gateway was not attached yet
                    // (created concurrently); a new try finds it attached. The failed
                    // gateway is skipped by find and cleaned up by AWS.
                    let class = if code == "Gateway.NotAttached" {
                        ErrorClass::Retryable
                    } else {
                        ErrorClass::Fatal
                    };
                    Ok(Poll::Ready(Err(ProviderError::new(
                        class,
                        format!(
                            "NAT gateway {id} failed: {code}: {}",
                            nat.failure_message().unwrap_or("")
                        ),
                    ))))
                }
                Some(state @ (NatGatewayState::Deleting | NatGatewayState::Deleted)) => {
                    Err(ProviderError::new(
                        ErrorClass::Fatal,
                        format!(
                            "NAT gateway {id} is {} while waiting for it to become available",
                            state.as_str()
                        ),
                    ))
                }
                Some(state) => Ok(Poll::Pending(state.as_str().to_string())),
                None => Ok(Poll::Pending("no state".into())),
            }
        },
    )
    .await?
}

#[async_trait]
impl Driver for NatGatewayDriver {
    type Spec = NatGatewaySpec;

    /// Looks the NAT gateway up by tags, skipping deleted, deleting and failed ones.
    /// A gateway still `pending` is waited for until it is available, so that what
    /// is adopted is usable, as what `create` returns is.
    async fn find(
        &self,
        c: &Clients,
        r: &Desired<NatGatewaySpec>,
    ) -> Result<Option<NatGatewayOutputs>, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let found = describe_owned(ec2.describe_nat_gateways(), r).await?;
        let live = found.into_iter().filter(|n| !is_gone(n));
        // The tags are checked again here: LocalStack ignores the tag filters of
        // DescribeNatGateways.
        let Some(nat) = pick(r, live)? else {
            return Ok(None);
        };
        let out = outputs(&nat)?;
        if nat.state() != Some(&NatGatewayState::Available) {
            wait_available(c, &r.region, &out.id).await?;
        }
        Ok(Some(out))
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<NatGatewaySpec>,
    ) -> Result<NatGatewayOutputs, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let subnet_id = resolved_str(&r.spec.subnet_id, "subnet_id")?;
        let allocation_id = resolved_str(&r.spec.allocation_id, "allocation_id")?;
        let (client, tags) = (&ec2, &tag_specification(ResourceType::Natgateway, r)?);
        let token = &r.token();
        // The subnet and address were made a moment ago: they may not be visible yet.
        let created = settle("CreateNatGateway", || async move {
            client
                .create_nat_gateway()
                .subnet_id(subnet_id)
                .allocation_id(allocation_id)
                .tag_specifications(tags.clone())
                .set_client_token(token.clone())
                .send()
                .await
                .map_err(|e| classify("CreateNatGateway", e))
        })
        .await?;
        let nat = required(created.nat_gateway(), "CreateNatGateway")?;
        let out = outputs(nat)?;
        if nat.state() != Some(&NatGatewayState::Available) {
            wait_available(c, &r.region, &out.id).await?;
        }
        Ok(out)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<NatGatewaySpec>,
        r: &Desired<NatGatewaySpec>,
        changed: Changed<'_>,
    ) -> Result<NatGatewayOutputs, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let id = &prior.outputs.id;
        if changed.everything() {
            // A full reconcile (after adopting a gateway whose create was cut short)
            // waits for it to be usable.
            wait_available(c, &r.region, id).await?;
        }
        tags::update(&ec2, id, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// One DescribeNatGateways for the stack (its tag filter is not trusted:
    /// LocalStack ignores it), skipping deleted, deleting and failed gateways. The
    /// subnet and the primary address's allocation are in the answer; a gateway
    /// still pending is live.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<NatGatewaySpec>,
    ) -> Result<Option<Vec<Live<NatGatewaySpec>>>, ProviderError> {
        let ec2 = c.ec2(&scope.region);
        let found = describe_stack(ec2.describe_nat_gateways(), &scope.stack).await?;
        let mut live = Vec::new();
        for nat in found.into_iter().filter(|n| !is_gone(n)) {
            let tags = nat.tag_map();
            let Some(id) = scope.owned(&tags) else {
                continue;
            };
            let recorded = scope.recorded_spec(&id);
            let subnet_id = read_id(nat.subnet_id(), recorded.as_ref().map(|s| &s.subnet_id));
            let allocation_id = read_id(
                allocation_of(&nat),
                recorded.as_ref().map(|s| &s.allocation_id),
            );
            let spec = subnet_id
                .zip(allocation_id)
                .map(|(subnet_id, allocation_id)| NatGatewaySpec {
                    subnet_id,
                    allocation_id,
                });
            live.push(Live {
                id,
                outputs: outputs(&nat)?,
                tags,
                spec,
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<NatGatewaySpec>,
    ) -> Result<(), ProviderError> {
        let ec2 = c.ec2(&prior.region);
        let id = &prior.outputs.id;
        ec2.delete_nat_gateway()
            .nat_gateway_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteNatGateway {id}"), e))
            .or_gone()?;
        let what = format!("NAT gateway {id} deletion");
        wait_for(c, &prior.region, id, &what, |nat| {
            Ok(match nat.as_ref().and_then(NatGateway::state) {
                None if nat.is_none() => Poll::Ready(()),
                Some(NatGatewayState::Deleted) => Poll::Ready(()),
                Some(state) => Poll::Pending(state.as_str().to_string()),
                None => Poll::Pending("no state".into()),
            })
        })
        .await
    }
}
