//! Internet gateways: created tagged, then attached to their VPC. A VPC has at
//! most one internet gateway, and a gateway is attached to at most one VPC. Moved
//! to another VPC, the gateway is detached and attached again, keeping its id.

use super::{describe_owned, describe_stack, pick, settle, tag_specification, Tagged};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::{required, resolved_str, tags, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttachmentStatus, Filter, InternetGateway, InternetGatewayAttachment, ResourceType,
};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{InternetGatewayOutputs, InternetGatewaySpec};
use glinfra_engine::{ErrorClass, ProviderError};

/// The driver of `aws:ec2/internet-gateway`.
pub(crate) struct InternetGatewayDriver;

fn outputs(igw: &InternetGateway) -> Result<InternetGatewayOutputs, ProviderError> {
    Ok(InternetGatewayOutputs {
        id: required(igw.internet_gateway_id(), "internet gateway id")?.to_string(),
    })
}

/// The VPCs of `attachments` that are attached (or attaching). AWS reports an
/// attached internet gateway as `available`, which the SDK's enum does not name:
/// anything but detached or detaching counts as attached.
fn vpcs_of(attachments: &[InternetGatewayAttachment]) -> impl Iterator<Item = String> + '_ {
    attachments
        .iter()
        .filter(|a| {
            !matches!(
                a.state(),
                Some(AttachmentStatus::Detached | AttachmentStatus::Detaching)
            )
        })
        .filter_map(|a| a.vpc_id().map(str::to_string))
}

/// The VPCs `igw` is attached to (or attaching to).
async fn attached_vpcs(ec2: &Client, igw: &str) -> Result<Vec<String>, ProviderError> {
    let out = ec2
        .describe_internet_gateways()
        .internet_gateway_ids(igw)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeInternetGateways {igw}"), e))?;
    Ok(out
        .internet_gateways()
        .iter()
        .flat_map(|g| vpcs_of(g.attachments()))
        .collect())
}

/// Attaches `igw` to `vpc`; already attached to that VPC is success.
async fn attach(ec2: &Client, igw: &str, vpc: &str) -> Result<(), ProviderError> {
    let res = ec2
        .attach_internet_gateway()
        .internet_gateway_id(igw)
        .vpc_id(vpc)
        .send()
        .await;
    let Err(err) = res else { return Ok(()) };
    let err = classify(&format!("AttachInternetGateway {igw} to {vpc}"), err);
    if !err.has_code(&["Resource.AlreadyAssociated"]) {
        return Err(err);
    }
    if attached_vpcs(ec2, igw).await?.iter().any(|v| v == vpc) {
        return Ok(());
    }
    // Either the gateway is attached elsewhere or the VPC has another gateway:
    // nothing glinfra can adopt, and retrying will not change it.
    Err(err.reclassified(
        ErrorClass::Invalid,
        "the gateway is attached to another VPC, or the VPC already has another internet gateway",
    ))
}

/// Moves the gateway `igw` to `vpc`: detached from every other VPC, then attached
/// (the gateway keeps its id). A VPC with another gateway is refused before the
/// gateway leaves its own (a VPC takes one internet gateway); attached to `vpc`
/// already (a resumed move) is success.
async fn move_to(ec2: &Client, igw: &str, vpc: &str) -> Result<(), ProviderError> {
    let attached = attached_vpcs(ec2, igw).await?;
    if attached.iter().any(|v| v == vpc) && attached.len() == 1 {
        return Ok(());
    }
    let taken = ec2
        .describe_internet_gateways()
        .filters(
            Filter::builder()
                .name("attachment.vpc-id")
                .values(vpc)
                .build(),
        )
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeInternetGateways attached to {vpc}"), e))?;
    let other = taken
        .internet_gateways()
        .iter()
        .filter(|g| g.internet_gateway_id() != Some(igw))
        .find(|g| vpcs_of(g.attachments()).any(|v| v == vpc));
    if let Some(other) = other {
        return Err(ProviderError::new(
            ErrorClass::Invalid,
            format!(
                "VPC {vpc} has internet gateway {} attached already, and a VPC takes one: internet gateway {igw} stays where it is",
                other.internet_gateway_id().unwrap_or("?")
            ),
        ));
    }
    for old in attached.iter().filter(|v| *v != vpc) {
        ec2.detach_internet_gateway()
            .internet_gateway_id(igw)
            .vpc_id(old)
            .send()
            .await
            .map_err(|e| classify(&format!("DetachInternetGateway {igw} from {old}"), e))
            .or_gone()
            .or_else(|e| {
                if e.has_code(&["Gateway.NotAttached"]) {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
    }
    if !attached.iter().any(|v| v == vpc) {
        attach(ec2, igw, vpc).await?;
    }
    Ok(())
}

#[async_trait]
impl Driver for InternetGatewayDriver {
    type Spec = InternetGatewaySpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<InternetGatewaySpec>,
    ) -> Result<Option<InternetGatewayOutputs>, ProviderError> {
        let found = describe_owned(c.ec2(&r.region).describe_internet_gateways(), r).await?;
        pick(r, found)?.map(|g| outputs(&g)).transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<InternetGatewaySpec>,
    ) -> Result<InternetGatewayOutputs, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let vpc_id = resolved_str(&r.spec.vpc_id, "vpc_id")?;
        let created = ec2
            .create_internet_gateway()
            .tag_specifications(tag_specification(ResourceType::InternetGateway, r)?)
            .send()
            .await
            .map_err(|e| classify("CreateInternetGateway", e))?;
        let igw = required(
            created
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id()),
            "CreateInternetGateway",
        )?;
        // A new gateway may not be visible to AttachInternetGateway at once.
        settle(&format!("internet gateway {igw} to attach"), || {
            attach(&ec2, igw, vpc_id)
        })
        .await?;
        Ok(InternetGatewayOutputs {
            id: igw.to_string(),
        })
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<InternetGatewaySpec>,
        r: &Desired<InternetGatewaySpec>,
        changed: Changed<'_>,
    ) -> Result<InternetGatewayOutputs, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let id = &prior.outputs.id;
        // Another VPC; or a full reconcile (after adopting a gateway whose create was
        // cut short), which makes sure it is attached.
        if changed.has("vpc_id") {
            move_to(&ec2, id, resolved_str(&r.spec.vpc_id, "vpc_id")?).await?;
        }
        tags::update(&ec2, id, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// One DescribeInternetGateways for the stack: its attachment says its VPC. A
    /// gateway attached to no VPC reads as `vpc_id: ""` (drift that replaces it,
    /// which attaches the new one); attached to several, the recorded one is kept
    /// when it is among them.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<InternetGatewaySpec>,
    ) -> Result<Option<Vec<Live<InternetGatewaySpec>>>, ProviderError> {
        let ec2 = c.ec2(&scope.region);
        let mut live = Vec::new();
        for igw in describe_stack(ec2.describe_internet_gateways(), &scope.stack).await? {
            let tags = igw.tag_map();
            let Some(id) = scope.owned(&tags) else {
                continue;
            };
            let vpcs: Vec<String> = vpcs_of(igw.attachments()).collect();
            let recorded = scope.recorded_spec(&id).map(|s| s.vpc_id);
            let vpc_id = match recorded {
                Some(r) if r.value().is_some_and(|v| vpcs.contains(v)) => r,
                _ => vpcs.into_iter().next().unwrap_or_default().into(),
            };
            live.push(Live {
                outputs: outputs(&igw)?,
                spec: Some(InternetGatewaySpec { vpc_id }),
                tags,
                id,
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<InternetGatewaySpec>,
    ) -> Result<(), ProviderError> {
        let ec2 = c.ec2(&prior.region);
        let id = &prior.outputs.id;
        // Detach from every VPC it is attached to (the recorded VPC may be gone
        // already); a gateway AWS does not know any more is attached to none.
        let attached = attached_vpcs(&ec2, id).await.or_absent()?;
        for vpc in attached.unwrap_or_default() {
            let res = ec2
                .detach_internet_gateway()
                .internet_gateway_id(id)
                .vpc_id(&vpc)
                .send()
                .await;
            if let Err(err) = res {
                let err = classify(&format!("DetachInternetGateway {id} from {vpc}"), err);
                if err.has_code(&["Gateway.NotAttached"]) {
                    continue;
                }
                // DependencyViolation (public addresses still mapped in the VPC) is Retryable.
                Err::<(), _>(err).or_gone()?;
            }
        }
        ec2.delete_internet_gateway()
            .internet_gateway_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteInternetGateway {id}"), e))
            .or_gone()
    }
}
