//! Internet gateways, elastic IPs and NAT gateways.

use super::{
    error_code, gone_is_ok, input, output, outputs, owner_filters, pick_one, required, settle,
    tag_specification, update_tags, Wants, NAT_DEADLINE, POLL,
};
use crate::error::classify;
use crate::wait::{until, Poll};
use aws_sdk_ec2::types::{
    Address, AttachmentStatus, DomainType, InternetGateway, NatGateway, NatGatewayState,
    ResourceType,
};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{InternetGatewaySpec, NatGatewaySpec};
use glinfra_core::{Kind, ResourceState};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};

// ---------------------------------------------------------------- Internet gateway

pub(super) async fn find_internet_gateway(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let found: Vec<InternetGateway> = ec2
        .describe_internet_gateways()
        .set_filters(Some(owner_filters(r)))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("DescribeInternetGateways", e))?;
    Ok(pick_one(
        r,
        found,
        |g| g.internet_gateway_id().unwrap_or_default(),
        |g| g.tags(),
    )
    .and_then(|g| {
        g.internet_gateway_id()
            .map(|id| outputs([("id", id.to_string())]))
    }))
}

pub(super) async fn create_internet_gateway(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Outputs, ProviderError> {
    let spec: InternetGatewaySpec = r.spec()?;
    let vpc_id = input(r, "vpc_id", &spec.vpc_id)?;
    let created = ec2
        .create_internet_gateway()
        .tag_specifications(tag_specification(ResourceType::InternetGateway, r))
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
        attach_internet_gateway(ec2, igw, vpc_id)
    })
    .await?;
    Ok(outputs([("id", igw.to_string())]))
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
        .flat_map(|g| g.attachments())
        // AWS reports an attached internet gateway as `available`, which the SDK's
        // enum does not name: anything but detached or detaching counts as attached.
        .filter(|a| {
            !matches!(
                a.state(),
                Some(AttachmentStatus::Detached | AttachmentStatus::Detaching)
            )
        })
        .filter_map(|a| a.vpc_id().map(str::to_string))
        .collect())
}

/// Attaches `igw` to `vpc`; already attached to that VPC is success.
async fn attach_internet_gateway(ec2: &Client, igw: &str, vpc: &str) -> Result<(), ProviderError> {
    let res = ec2
        .attach_internet_gateway()
        .internet_gateway_id(igw)
        .vpc_id(vpc)
        .send()
        .await;
    let Err(err) = res else { return Ok(()) };
    let already = error_code(&err) == Some("Resource.AlreadyAssociated");
    let mut e = classify(&format!("AttachInternetGateway {igw} to {vpc}"), err);
    if already {
        if attached_vpcs(ec2, igw).await?.iter().any(|v| v == vpc) {
            return Ok(());
        }
        // Either the gateway is attached elsewhere or the VPC has another gateway:
        // nothing glinfra can adopt, and retrying will not change it.
        e.class = ErrorClass::Invalid;
        e.message.push_str(
            " (the gateway is attached to another VPC, or the VPC already has another internet gateway)",
        );
    }
    Err(e)
}

pub(super) async fn update_internet_gateway(
    ec2: &Client,
    prior: &ResourceState,
    r: &ResolvedResource,
    wants: Wants<'_>,
) -> Result<(), ProviderError> {
    let id = output(Kind::InternetGateway, &prior.outputs, "id")?;
    if wants.everything() {
        // A full reconcile (after adopting a gateway whose create was cut short)
        // makes sure it is attached.
        let spec: InternetGatewaySpec = r.spec()?;
        let vpc_id = input(r, "vpc_id", &spec.vpc_id)?;
        if !attached_vpcs(ec2, id).await?.iter().any(|v| v == vpc_id) {
            attach_internet_gateway(ec2, id, vpc_id).await?;
        }
    }
    update_tags(ec2, id, prior, r, wants).await
}

pub(super) async fn delete_internet_gateway(
    ec2: &Client,
    out: &Outputs,
) -> Result<(), ProviderError> {
    let id = output(Kind::InternetGateway, out, "id")?;
    // Detach from every VPC it is attached to (the recorded VPC may be gone already).
    for vpc in attached_vpcs(ec2, id).await? {
        let res = ec2
            .detach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(&vpc)
            .send()
            .await;
        if let Err(err) = res {
            if error_code(&err) == Some("Gateway.NotAttached") {
                continue;
            }
            // DependencyViolation (public addresses still mapped in the VPC) is Retryable.
            gone_is_ok(Err(classify(
                &format!("DetachInternetGateway {id} from {vpc}"),
                err,
            )))?;
        }
    }
    let res = ec2
        .delete_internet_gateway()
        .internet_gateway_id(id)
        .send()
        .await;
    gone_is_ok(
        res.map(|_| ())
            .map_err(|e| classify(&format!("DeleteInternetGateway {id}"), e)),
    )
}

// ---------------------------------------------------------------- Elastic IP

fn address_outputs(address: &Address) -> Result<Outputs, ProviderError> {
    Ok(outputs([
        (
            "allocation_id",
            required(address.allocation_id(), "address allocation id")?.to_string(),
        ),
        (
            "public_ip",
            required(address.public_ip(), "address public ip")?.to_string(),
        ),
    ]))
}

pub(super) async fn find_elastic_ip(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let out = ec2
        .describe_addresses()
        .set_filters(Some(owner_filters(r)))
        .send()
        .await
        .map_err(|e| classify("DescribeAddresses", e))?;
    let found = out.addresses().to_vec();
    pick_one(
        r,
        found,
        |a| a.allocation_id().unwrap_or_default(),
        |a| a.tags(),
    )
    .map(|a| address_outputs(&a))
    .transpose()
}

pub(super) async fn create_elastic_ip(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Outputs, ProviderError> {
    let created = ec2
        .allocate_address()
        .domain(DomainType::Vpc)
        .tag_specifications(tag_specification(ResourceType::ElasticIp, r))
        .send()
        .await
        .map_err(|e| classify("AllocateAddress", e))?;
    Ok(outputs([
        (
            "allocation_id",
            required(created.allocation_id(), "AllocateAddress allocation id")?.to_string(),
        ),
        (
            "public_ip",
            required(created.public_ip(), "AllocateAddress public ip")?.to_string(),
        ),
    ]))
}

pub(super) async fn delete_elastic_ip(ec2: &Client, out: &Outputs) -> Result<(), ProviderError> {
    let id = output(Kind::ElasticIp, out, "allocation_id")?;
    let described = ec2
        .describe_addresses()
        .allocation_ids(id)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeAddresses {id}"), e))?;
    let Some(address) = described.addresses().first() else {
        return Ok(());
    };
    // An address still associated (with a NAT gateway being deleted, say) cannot be
    // released: AWS refuses with InvalidIPAddress.InUse, or with AuthFailure for a
    // moment after the NAT gateway that used it is deleted. DescribeAddresses just
    // succeeded with the same credentials, so both are that transient conflict, not
    // a credentials problem: retryable. The service decides, not a stale association.
    let res = ec2.release_address().allocation_id(id).send().await;
    let Err(err) = res else { return Ok(()) };
    let conflict = matches!(
        error_code(&err),
        Some("InvalidIPAddress.InUse" | "AuthFailure")
    );
    let mut e = classify(&format!("ReleaseAddress {id}"), err);
    if conflict {
        e.class = ErrorClass::Retryable;
        if let Some(association) = address.association_id() {
            e.message.push_str(&format!(
                " (associated: {association}{}; waiting for its user to go)",
                address
                    .network_interface_id()
                    .map(|n| format!(", interface {n}"))
                    .unwrap_or_default()
            ));
        }
    }
    gone_is_ok(Err(e))
}

// ---------------------------------------------------------------- NAT gateway

/// Looks the NAT gateway up by tags, skipping deleted, deleting and failed ones.
/// With `wait`, a gateway still `pending` is waited for until it is available, so
/// that what is adopted is usable, as what `create` returns is.
pub(super) async fn find_nat_gateway(
    ec2: &Client,
    r: &ResolvedResource,
    wait: bool,
) -> Result<Option<Outputs>, ProviderError> {
    let found: Vec<NatGateway> = ec2
        .describe_nat_gateways()
        .set_filter(Some(owner_filters(r)))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("DescribeNatGateways", e))?;
    let live = found
        .into_iter()
        .filter(|n| {
            !matches!(
                n.state(),
                Some(
                    NatGatewayState::Deleted | NatGatewayState::Deleting | NatGatewayState::Failed
                )
            )
        })
        .collect();
    let Some(nat) = pick_one(
        r,
        live,
        |n| n.nat_gateway_id().unwrap_or_default(),
        |n| n.tags(),
    ) else {
        return Ok(None);
    };
    let id = required(nat.nat_gateway_id(), "NAT gateway id")?;
    if wait && !matches!(nat.state(), Some(NatGatewayState::Available)) {
        wait_nat_available(ec2, id).await?;
    }
    Ok(Some(outputs([("id", id.to_string())])))
}

pub(super) async fn create_nat_gateway(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Outputs, ProviderError> {
    let spec: NatGatewaySpec = r.spec()?;
    let subnet_id = input(r, "subnet_id", &spec.subnet_id)?;
    let allocation_id = input(r, "allocation_id", &spec.allocation_id)?;
    // The subnet and address were made a moment ago: they may not be visible yet.
    let created = settle("CreateNatGateway", || async move {
        ec2.create_nat_gateway()
            .subnet_id(subnet_id)
            .allocation_id(allocation_id)
            .tag_specifications(tag_specification(ResourceType::Natgateway, r))
            .send()
            .await
            .map_err(|e| classify("CreateNatGateway", e))
    })
    .await?;
    let nat = required(created.nat_gateway(), "CreateNatGateway")?;
    let id = required(nat.nat_gateway_id(), "CreateNatGateway id")?;
    if !matches!(nat.state(), Some(NatGatewayState::Available)) {
        wait_nat_available(ec2, id).await?;
    }
    Ok(outputs([("id", id.to_string())]))
}

/// Describes one NAT gateway; `None` when AWS does not know it (yet, or any more).
async fn describe_nat(ec2: &Client, id: &str) -> Result<Option<NatGateway>, ProviderError> {
    match ec2.describe_nat_gateways().nat_gateway_ids(id).send().await {
        Ok(out) => Ok(out.nat_gateways().first().cloned()),
        Err(e) => match classify(&format!("DescribeNatGateways {id}"), e) {
            e if e.class == ErrorClass::NotFound => Ok(None),
            e => Err(e),
        },
    }
}

async fn wait_nat_available(ec2: &Client, id: &str) -> Result<(), ProviderError> {
    until(
        &format!("NAT gateway {id} to become available"),
        NAT_DEADLINE,
        POLL,
        || async {
            let Some(nat) = describe_nat(ec2, id).await? else {
                // Eventual consistency: a new gateway may not be visible at once.
                return Ok(Poll::Pending("not visible yet".into()));
            };
            match nat.state() {
                Some(NatGatewayState::Available) => Ok(Poll::Ready(())),
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
                    Err(ProviderError::new(
                        class,
                        format!(
                            "NAT gateway {id} failed: {code}: {}",
                            nat.failure_message().unwrap_or("")
                        ),
                    ))
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
    .await
}

pub(super) async fn update_nat_gateway(
    ec2: &Client,
    prior: &ResourceState,
    r: &ResolvedResource,
    wants: Wants<'_>,
) -> Result<(), ProviderError> {
    let id = output(Kind::NatGateway, &prior.outputs, "id")?;
    if wants.everything() {
        // A full reconcile (after adopting a gateway whose create was cut short)
        // waits for it to be usable.
        wait_nat_available(ec2, id).await?;
    }
    update_tags(ec2, id, prior, r, wants).await
}

pub(super) async fn delete_nat_gateway(ec2: &Client, out: &Outputs) -> Result<(), ProviderError> {
    let id = output(Kind::NatGateway, out, "id")?;
    let res = ec2.delete_nat_gateway().nat_gateway_id(id).send().await;
    gone_is_ok(
        res.map(|_| ())
            .map_err(|e| classify(&format!("DeleteNatGateway {id}"), e)),
    )?;
    until(
        &format!("NAT gateway {id} to be deleted"),
        NAT_DEADLINE,
        POLL,
        || async {
            match describe_nat(ec2, id).await? {
                None => Ok(Poll::Ready(())),
                Some(nat) => match nat.state() {
                    Some(NatGatewayState::Deleted) => Ok(Poll::Ready(())),
                    Some(state) => Ok(Poll::Pending(state.as_str().to_string())),
                    None => Ok(Poll::Pending("no state".into())),
                },
            }
        },
    )
    .await
}
