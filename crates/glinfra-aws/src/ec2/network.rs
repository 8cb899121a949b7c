//! VPCs and subnets.

use super::{
    arn, gone_is_ok, input, output, outputs, owner_filters, pick_one, required, settle,
    tag_specification, update_tags, Wants, POLL, READY_DEADLINE,
};
use crate::error::classify;
use crate::wait::{until, Poll};
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Subnet, SubnetState, Vpc, VpcState};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{SubnetSpec, VpcSpec};
use glinfra_core::{Kind, ResourceState};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};

// ---------------------------------------------------------------- VPC

fn vpc_outputs(region: &str, vpc: &Vpc) -> Result<Outputs, ProviderError> {
    let id = required(vpc.vpc_id(), "VPC id")?;
    let account = required(vpc.owner_id(), "VPC owner id")?;
    Ok(outputs([
        ("id", id.to_string()),
        ("arn", arn(region, account, "vpc", id)),
    ]))
}

pub(super) async fn find_vpc(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let vpcs: Vec<Vpc> = ec2
        .describe_vpcs()
        .set_filters(Some(owner_filters(r)))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("DescribeVpcs", e))?;
    let live = vpcs
        .into_iter()
        .filter(|v| !matches!(v.state(), Some(VpcState::Deleting)))
        .collect();
    pick_one(r, live, |v| v.vpc_id().unwrap_or_default(), |v| v.tags())
        .map(|v| vpc_outputs(&r.region, &v))
        .transpose()
}

pub(super) async fn create_vpc(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Outputs, ProviderError> {
    let spec: VpcSpec = r.spec()?;
    let created = ec2
        .create_vpc()
        .cidr_block(&spec.cidr_block)
        .tag_specifications(tag_specification(ResourceType::Vpc, r))
        .send()
        .await
        .map_err(|e| classify("CreateVpc", e))?;
    let vpc = required(created.vpc(), "CreateVpc")?;
    let out = vpc_outputs(&r.region, vpc)?;
    let id = output(Kind::Vpc, &out, "id")?;
    if !matches!(vpc.state(), Some(VpcState::Available)) {
        wait_vpc_available(ec2, id).await?;
    }
    settle(&format!("VPC {id} DNS attributes"), || {
        set_dns_attributes(ec2, id, &spec, true, true)
    })
    .await?;
    Ok(out)
}

async fn wait_vpc_available(ec2: &Client, id: &str) -> Result<(), ProviderError> {
    until(
        &format!("VPC {id} to become available"),
        READY_DEADLINE,
        POLL,
        || async {
            let res = ec2.describe_vpcs().vpc_ids(id).send().await;
            match res {
                Ok(out) => match out.vpcs().first().and_then(|v| v.state()) {
                    Some(VpcState::Available) => Ok(Poll::Ready(())),
                    Some(state) => Ok(Poll::Pending(state.as_str().to_string())),
                    None => Ok(Poll::Pending("not visible yet".into())),
                },
                Err(e) => match classify(&format!("DescribeVpcs {id}"), e) {
                    // Eventual consistency: a new VPC may not be visible at once.
                    e if e.class == ErrorClass::NotFound => {
                        Ok(Poll::Pending("not visible yet".into()))
                    }
                    e => Err(e),
                },
            }
        },
    )
    .await
}

/// Sets the DNS attributes, one per ModifyVpcAttribute call (an AWS rule), in an
/// order AWS accepts: host names need DNS support, so support goes on first and
/// comes off last.
async fn set_dns_attributes(
    ec2: &Client,
    id: &str,
    spec: &VpcSpec,
    support: bool,
    hostnames: bool,
) -> Result<(), ProviderError> {
    let set_support = || async {
        ec2.modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_support(
                AttributeBooleanValue::builder()
                    .value(spec.enable_dns_support)
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&format!("ModifyVpcAttribute {id} EnableDnsSupport"), e))
    };
    let set_hostnames = || async {
        ec2.modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_hostnames(
                AttributeBooleanValue::builder()
                    .value(spec.enable_dns_hostnames)
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&format!("ModifyVpcAttribute {id} EnableDnsHostnames"), e))
    };
    if spec.enable_dns_support {
        if support {
            set_support().await?;
        }
        if hostnames {
            set_hostnames().await?;
        }
    } else {
        if hostnames {
            set_hostnames().await?;
        }
        if support {
            set_support().await?;
        }
    }
    Ok(())
}

pub(super) async fn update_vpc(
    ec2: &Client,
    prior: &ResourceState,
    r: &ResolvedResource,
    wants: Wants<'_>,
) -> Result<(), ProviderError> {
    let spec: VpcSpec = r.spec()?;
    let id = output(Kind::Vpc, &prior.outputs, "id")?;
    let support = wants.field("enable_dns_support");
    let hostnames = wants.field("enable_dns_hostnames");
    set_dns_attributes(ec2, id, &spec, support, hostnames).await?;
    update_tags(ec2, id, prior, r, wants).await
}

pub(super) async fn delete_vpc(ec2: &Client, out: &Outputs) -> Result<(), ProviderError> {
    let id = output(Kind::Vpc, out, "id")?;
    // DependencyViolation (subnets, gateways still going away) is Retryable.
    let res = ec2.delete_vpc().vpc_id(id).send().await;
    gone_is_ok(
        res.map(|_| ())
            .map_err(|e| classify(&format!("DeleteVpc {id}"), e)),
    )
}

// ---------------------------------------------------------------- Subnet

fn subnet_outputs(region: &str, subnet: &Subnet) -> Result<Outputs, ProviderError> {
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
    Ok(outputs([("id", id.to_string()), ("arn", arn)]))
}

pub(super) async fn find_subnet(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let subnets: Vec<Subnet> = ec2
        .describe_subnets()
        .set_filters(Some(owner_filters(r)))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("DescribeSubnets", e))?;
    let live = subnets
        .into_iter()
        .filter(|s| {
            !matches!(
                s.state(),
                Some(SubnetState::Failed | SubnetState::FailedInsufficientCapacity)
            )
        })
        .collect();
    pick_one(r, live, |s| s.subnet_id().unwrap_or_default(), |s| s.tags())
        .map(|s| subnet_outputs(&r.region, &s))
        .transpose()
}

pub(super) async fn create_subnet(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Outputs, ProviderError> {
    let spec: SubnetSpec = r.spec()?;
    let vpc_id = input(r, "vpc_id", &spec.vpc_id)?;
    let (cidr, zone) = (spec.cidr_block.as_str(), spec.availability_zone.as_str());
    // The VPC was made a moment ago: it may not be visible yet.
    let created = settle("CreateSubnet", || async move {
        ec2.create_subnet()
            .vpc_id(vpc_id)
            .cidr_block(cidr)
            .availability_zone(zone)
            .tag_specifications(tag_specification(ResourceType::Subnet, r))
            .send()
            .await
            .map_err(|e| classify("CreateSubnet", e))
    })
    .await?;
    let subnet = required(created.subnet(), "CreateSubnet")?;
    let out = subnet_outputs(&r.region, subnet)?;
    let id = output(Kind::Subnet, &out, "id")?;
    if !matches!(subnet.state(), Some(SubnetState::Available)) {
        wait_subnet_available(ec2, id).await?;
    }
    // AWS creates subnets with MapPublicIpOnLaunch off.
    if spec.map_public_ip_on_launch {
        settle(&format!("subnet {id} MapPublicIpOnLaunch"), || {
            set_map_public_ip(ec2, id, true)
        })
        .await?;
    }
    Ok(out)
}

async fn wait_subnet_available(ec2: &Client, id: &str) -> Result<(), ProviderError> {
    until(
        &format!("subnet {id} to become available"),
        READY_DEADLINE,
        POLL,
        || async {
            let res = ec2.describe_subnets().subnet_ids(id).send().await;
            match res {
                Ok(out) => match out.subnets().first().and_then(|s| s.state()) {
                    Some(SubnetState::Available) => Ok(Poll::Ready(())),
                    Some(
                        state @ (SubnetState::Failed | SubnetState::FailedInsufficientCapacity),
                    ) => Err(ProviderError::new(
                        ErrorClass::Fatal,
                        format!("subnet {id} failed: {}", state.as_str()),
                    )),
                    Some(state) => Ok(Poll::Pending(state.as_str().to_string())),
                    None => Ok(Poll::Pending("not visible yet".into())),
                },
                Err(e) => match classify(&format!("DescribeSubnets {id}"), e) {
                    e if e.class == ErrorClass::NotFound => {
                        Ok(Poll::Pending("not visible yet".into()))
                    }
                    e => Err(e),
                },
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

pub(super) async fn update_subnet(
    ec2: &Client,
    prior: &ResourceState,
    r: &ResolvedResource,
    wants: Wants<'_>,
) -> Result<(), ProviderError> {
    let spec: SubnetSpec = r.spec()?;
    let id = output(Kind::Subnet, &prior.outputs, "id")?;
    if wants.field("map_public_ip_on_launch") {
        set_map_public_ip(ec2, id, spec.map_public_ip_on_launch).await?;
    }
    update_tags(ec2, id, prior, r, wants).await
}

pub(super) async fn delete_subnet(ec2: &Client, out: &Outputs) -> Result<(), ProviderError> {
    let id = output(Kind::Subnet, out, "id")?;
    // DependencyViolation (a NAT gateway's interface still going away) is Retryable.
    let res = ec2.delete_subnet().subnet_id(id).send().await;
    gone_is_ok(
        res.map(|_| ())
            .map_err(|e| classify(&format!("DeleteSubnet {id}"), e)),
    )
}
