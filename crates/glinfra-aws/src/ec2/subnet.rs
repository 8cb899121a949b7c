//! Subnets. AWS creates a subnet with MapPublicIpOnLaunch off; a public one has
//! it turned on by ModifySubnetAttribute after the create.

use super::{
    arn, describe_owned, describe_stack, pick, settle, tag_specification, Tagged, READY_DEADLINE,
};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::wait::{self, Poll};
use crate::kit::{required, resolved_str, tags, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Subnet, SubnetState};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{SubnetOutputs, SubnetSpec};
use glinfra_engine::{ErrorClass, ProviderError};

/// The driver of `aws:ec2/subnet`.
pub(crate) struct SubnetDriver;

fn outputs(region: &str, subnet: &Subnet) -> Result<SubnetOutputs, ProviderError> {
    let id = required(subnet.subnet_id(), "subnet id")?;
    let arn = match subnet.subnet_arn() {
        Some(arn) => arn.to_string(),
        None => arn(
            region,
            required(subnet.owner_id(), "subnet owner id")?,
            "subnet",
            id,
        ),
    };
    Ok(SubnetOutputs {
        id: id.to_string(),
        arn,
    })
}

fn is_failed(state: Option<&SubnetState>) -> bool {
    matches!(
        state,
        Some(SubnetState::Failed | SubnetState::FailedInsufficientCapacity)
    )
}

async fn wait_available(ec2: &Client, id: &str) -> Result<(), ProviderError> {
    wait::until(
        &format!("subnet {id} to become available"),
        READY_DEADLINE,
        wait::POLL,
        || async {
            let out = ec2
                .describe_subnets()
                .subnet_ids(id)
                .send()
                .await
                .map_err(|e| classify(&format!("DescribeSubnets {id}"), e))
                // Eventual consistency: a new subnet may not be visible at once.
                .or_absent()?;
            match out.as_ref().and_then(|o| o.subnets().first()?.state()) {
                Some(SubnetState::Available) => Ok(Poll::Ready(())),
                Some(state) if is_failed(Some(state)) => Err(ProviderError::new(
                    ErrorClass::Fatal,
                    format!("subnet {id} failed: {}", state.as_str()),
                )),
                Some(state) => Ok(Poll::Pending(state.as_str().to_string())),
                None => Ok(Poll::Pending("not visible yet".into())),
            }
        },
    )
    .await
}

async fn set_map_public_ip(ec2: &Client, id: &str, value: bool) -> Result<(), ProviderError> {
    ec2.modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(value).build())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            classify(
                &format!("ModifySubnetAttribute {id} MapPublicIpOnLaunch"),
                e,
            )
        })
}

#[async_trait]
impl Driver for SubnetDriver {
    type Spec = SubnetSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<SubnetSpec>,
    ) -> Result<Option<SubnetOutputs>, ProviderError> {
        let subnets = describe_owned(c.ec2(&r.region).describe_subnets(), r).await?;
        let live = subnets.into_iter().filter(|s| !is_failed(s.state()));
        pick(r, live)?.map(|s| outputs(&r.region, &s)).transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<SubnetSpec>,
    ) -> Result<SubnetOutputs, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let spec = &r.spec;
        let vpc_id = resolved_str(&spec.vpc_id, "vpc_id")?;
        let tags = tag_specification(ResourceType::Subnet, r)?;
        // The VPC was made a moment ago: it may not be visible yet.
        let (client, tags) = (&ec2, &tags);
        let created = settle("CreateSubnet", || async move {
            client
                .create_subnet()
                .vpc_id(vpc_id)
                .cidr_block(&spec.cidr_block)
                .availability_zone(&spec.availability_zone)
                .tag_specifications(tags.clone())
                .send()
                .await
                .map_err(|e| classify("CreateSubnet", e))
        })
        .await?;
        let subnet = required(created.subnet(), "CreateSubnet")?;
        let out = outputs(&r.region, subnet)?;
        let id = out.id.as_str();
        if subnet.state() != Some(&SubnetState::Available) {
            wait_available(&ec2, id).await?;
        }
        // AWS creates subnets with MapPublicIpOnLaunch off.
        if spec.map_public_ip_on_launch {
            settle(&format!("subnet {id} MapPublicIpOnLaunch"), || {
                set_map_public_ip(&ec2, id, true)
            })
            .await?;
        }
        Ok(out)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<SubnetSpec>,
        r: &Desired<SubnetSpec>,
        changed: Changed<'_>,
    ) -> Result<SubnetOutputs, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let id = &prior.outputs.id;
        if changed.has("map_public_ip_on_launch") {
            set_map_public_ip(&ec2, id, r.spec.map_public_ip_on_launch).await?;
        }
        tags::update(&ec2, id, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// One DescribeSubnets for the stack: every field of the spec is in it.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<SubnetSpec>,
    ) -> Result<Option<Vec<Live<SubnetSpec>>>, ProviderError> {
        let subnets = describe_stack(c.ec2(&scope.region).describe_subnets(), &scope.stack).await?;
        let mut live = Vec::new();
        for s in subnets.into_iter().filter(|s| !is_failed(s.state())) {
            let Some(id) = scope.owned(&s.tag_map()) else {
                continue;
            };
            let spec = SubnetSpec {
                vpc_id: required(s.vpc_id(), "subnet VPC id")?.to_string().into(),
                cidr_block: required(s.cidr_block(), "subnet CIDR block")?.to_string(),
                availability_zone: required(s.availability_zone(), "subnet zone")?.to_string(),
                map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
            };
            live.push(Live {
                id,
                outputs: outputs(&scope.region, &s)?,
                tags: s.tag_map(),
                spec: Some(spec),
            });
        }
        Ok(Some(live))
    }

    async fn delete(&self, c: &Clients, prior: &Recorded<SubnetSpec>) -> Result<(), ProviderError> {
        let id = &prior.outputs.id;
        // DependencyViolation (a NAT gateway's interface still going away) is Retryable.
        c.ec2(&prior.region)
            .delete_subnet()
            .subnet_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteSubnet {id}"), e))
            .or_gone()
    }
}
