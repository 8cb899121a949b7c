//! VPC endpoints: `Gateway` endpoints (S3, DynamoDB) on route tables, `Interface`
//! endpoints (PrivateLink) in subnets.
//!
//! States are compared as lower-case strings: AWS reports them in camelCase
//! (`available`, `pendingAcceptance`) while the SDK's `State` enum expects
//! PascalCase, so every real value arrives as `State::Unknown`
//! (awslabs/aws-sdk-rust#619).

use super::{
    gone_is_ok, input, output, outputs, owner_filters, pick_one, required, settle,
    tag_specification, update_tags, Wants, POLL,
};
use crate::error::{classify, classify_code};
use crate::wait::{until, Poll};
use aws_sdk_ec2::types::{ResourceType, VpcEndpoint, VpcEndpointType};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::VpcEndpointSpec;
use glinfra_core::{Input, Kind, ResourceState};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use std::collections::BTreeSet;
use std::time::Duration;

/// How long an endpoint may take to become `available` or to go away. Gateway
/// endpoints are available at once; interface endpoints take minutes.
const ENDPOINT_DEADLINE: Duration = Duration::from_secs(10 * 60);

/// The endpoint's state, lower-cased (`available`, `pending`, `pendingacceptance`, ...).
pub(super) fn state(e: &VpcEndpoint) -> String {
    e.state()
        .map(|s| s.as_str().to_ascii_lowercase())
        .unwrap_or_default()
}

/// States of an endpoint that will never be usable again.
fn is_dead(state: &str) -> bool {
    matches!(state, "deleted" | "failed" | "rejected" | "expired")
}

/// Describes one endpoint; `None` when AWS does not know it (yet, or any more).
async fn describe_endpoint(ec2: &Client, id: &str) -> Result<Option<VpcEndpoint>, ProviderError> {
    match ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(id)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .vpc_endpoints()
            .iter()
            .find(|e| e.vpc_endpoint_id() == Some(id))
            .cloned()),
        Err(e) => match classify(&format!("DescribeVpcEndpoints {id}"), e) {
            e if e.class == ErrorClass::NotFound => Ok(None),
            e => Err(e),
        },
    }
}

/// Looks the endpoint up by its ownership tags, skipping deleted, failed, rejected
/// and expired ones. One still `deleting` (and nothing else) is waited for until it
/// is gone, then `None`. With `wait`, one still pending is waited for until it is
/// available, so that what is adopted is usable, as what `create` returns is.
pub(super) async fn find_vpc_endpoint(
    ec2: &Client,
    r: &ResolvedResource,
    wait: bool,
) -> Result<Option<Outputs>, ProviderError> {
    let found: Vec<VpcEndpoint> = ec2
        .describe_vpc_endpoints()
        .set_filters(Some(owner_filters(r)))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("DescribeVpcEndpoints", e))?;
    let (deleting, live): (Vec<VpcEndpoint>, Vec<VpcEndpoint>) = found
        .into_iter()
        .filter(|e| !is_dead(&state(e)))
        .partition(|e| state(e) == "deleting");
    let id_of = |e: &VpcEndpoint| e.vpc_endpoint_id().unwrap_or_default().to_string();
    if let Some(endpoint) = pick_one(
        r,
        live,
        |e| e.vpc_endpoint_id().unwrap_or_default(),
        |e| e.tags(),
    ) {
        let id = required(endpoint.vpc_endpoint_id(), "VPC endpoint id")?;
        if wait && state(&endpoint) != "available" {
            wait_available(ec2, id).await?;
        }
        return Ok(Some(outputs([("id", id.to_string())])));
    }
    if let Some(going) = pick_one(
        r,
        deleting,
        |e| e.vpc_endpoint_id().unwrap_or_default(),
        |e| e.tags(),
    ) {
        wait_gone(ec2, &id_of(&going)).await?;
    }
    Ok(None)
}

/// The resolved values of a list of inputs.
fn inputs(
    r: &ResolvedResource,
    field: &str,
    values: &[Input<String>],
) -> Result<Vec<String>, ProviderError> {
    values
        .iter()
        .map(|v| input(r, field, v).map(str::to_string))
        .collect()
}

fn is_gateway(spec: &VpcEndpointSpec) -> bool {
    spec.endpoint_type.eq_ignore_ascii_case("Gateway")
}

pub(super) async fn create_vpc_endpoint(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Outputs, ProviderError> {
    let spec: VpcEndpointSpec = r.spec()?;
    let vpc_id = input(r, "vpc_id", &spec.vpc_id)?;
    let route_tables = inputs(r, "route_table_ids", &spec.route_table_ids)?;
    let subnets = inputs(r, "subnet_ids", &spec.subnet_ids)?;
    let groups = inputs(r, "security_group_ids", &spec.security_group_ids)?;
    let gateway = is_gateway(&spec);
    let service = spec.service_name.as_str();
    // The VPC, route tables, subnets or groups were made a moment ago: they may
    // not be visible yet.
    let created = settle("CreateVpcEndpoint", || {
        let mut req = ec2
            .create_vpc_endpoint()
            .vpc_id(vpc_id)
            .service_name(service)
            .vpc_endpoint_type(VpcEndpointType::from(spec.endpoint_type.as_str()))
            .tag_specifications(tag_specification(ResourceType::VpcEndpoint, r));
        if gateway {
            req = req.set_route_table_ids(Some(route_tables.clone()));
        } else {
            req = req
                .set_subnet_ids(Some(subnets.clone()))
                // Without groups, AWS uses the VPC's default security group.
                .set_security_group_ids((!groups.is_empty()).then(|| groups.clone()))
                .private_dns_enabled(spec.private_dns_enabled);
        }
        async move {
            req.send()
                .await
                .map_err(|e| classify(&format!("CreateVpcEndpoint {service}"), e))
        }
    })
    .await?;
    let endpoint = required(created.vpc_endpoint(), "CreateVpcEndpoint")?;
    let id = required(endpoint.vpc_endpoint_id(), "CreateVpcEndpoint id")?;
    if state(endpoint) != "available" {
        wait_available(ec2, id).await?;
    }
    Ok(outputs([("id", id.to_string())]))
}

async fn wait_available(ec2: &Client, id: &str) -> Result<(), ProviderError> {
    until(
        &format!("VPC endpoint {id} to become available"),
        ENDPOINT_DEADLINE,
        POLL,
        || async {
            let Some(endpoint) = describe_endpoint(ec2, id).await? else {
                // Eventual consistency: a new endpoint may not be visible at once.
                return Ok(Poll::Pending("not visible yet".into()));
            };
            let state = state(&endpoint);
            match state.as_str() {
                "available" => Ok(Poll::Ready(())),
                "failed" | "rejected" | "expired" | "deleting" | "deleted" => {
                    let reason = endpoint
                        .last_error()
                        .map(|e| {
                            format!(
                                ": {}: {}",
                                e.code().unwrap_or("unknown"),
                                e.message().unwrap_or("")
                            )
                        })
                        .or_else(|| endpoint.failure_reason().map(|f| format!(": {f}")))
                        .unwrap_or_default();
                    Err(ProviderError::new(
                        ErrorClass::Fatal,
                        format!("VPC endpoint {id} is {state} while waiting for it to become available{reason}"),
                    ))
                }
                // pending, pendingacceptance (a service that accepts connections by
                // hand), partial, or a state not known yet.
                "" => Ok(Poll::Pending("no state".into())),
                other => Ok(Poll::Pending(other.to_string())),
            }
        },
    )
    .await
}

async fn wait_gone(ec2: &Client, id: &str) -> Result<(), ProviderError> {
    until(
        &format!("VPC endpoint {id} to be deleted"),
        ENDPOINT_DEADLINE,
        POLL,
        || async {
            match describe_endpoint(ec2, id).await? {
                None => Ok(Poll::Ready(())),
                Some(e) if state(&e) == "deleted" => Ok(Poll::Ready(())),
                Some(e) => Ok(Poll::Pending(state(&e))),
            }
        },
    )
    .await
}

/// `(add, remove)` that turn `live` into `desired`, both sorted.
pub(super) fn add_remove(live: &[String], desired: &[String]) -> (Vec<String>, Vec<String>) {
    let live: BTreeSet<&String> = live.iter().collect();
    let desired: BTreeSet<&String> = desired.iter().collect();
    (
        desired.difference(&live).map(|s| s.to_string()).collect(),
        live.difference(&desired).map(|s| s.to_string()).collect(),
    )
}

/// Brings route tables (gateway), or subnets, security groups and private DNS
/// (interface), to the spec, compared with what the endpoint has now (so that a
/// full reconcile after adoption, or after an interrupted update, also converges).
/// An interface spec without security groups leaves the groups alone: AWS gave the
/// endpoint the VPC's default group and an interface endpoint needs one.
pub(super) async fn update_vpc_endpoint(
    ec2: &Client,
    prior: &ResourceState,
    r: &ResolvedResource,
    wants: Wants<'_>,
) -> Result<(), ProviderError> {
    let spec: VpcEndpointSpec = r.spec()?;
    let id = output(Kind::VpcEndpoint, &prior.outputs, "id")?;
    let gateway = is_gateway(&spec);
    let route_tables = gateway && wants.field("route_table_ids");
    let subnets = !gateway && wants.field("subnet_ids");
    let groups =
        !gateway && wants.field("security_group_ids") && !spec.security_group_ids.is_empty();
    let dns = !gateway && wants.field("private_dns_enabled");
    if route_tables || subnets || groups || dns {
        let live = describe_endpoint(ec2, id).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::NotFound,
                format!("VPC endpoint {id} does not exist any more"),
            )
        })?;
        let mut req = ec2.modify_vpc_endpoint().vpc_endpoint_id(id);
        let mut changes = Vec::new();
        if route_tables {
            let desired = inputs(r, "route_table_ids", &spec.route_table_ids)?;
            let (add, remove) = add_remove(live.route_table_ids(), &desired);
            if !add.is_empty() || !remove.is_empty() {
                changes.push("route tables");
                req = req
                    .set_add_route_table_ids((!add.is_empty()).then_some(add))
                    .set_remove_route_table_ids((!remove.is_empty()).then_some(remove));
            }
        }
        if subnets {
            let desired = inputs(r, "subnet_ids", &spec.subnet_ids)?;
            let (add, remove) = add_remove(live.subnet_ids(), &desired);
            if !add.is_empty() || !remove.is_empty() {
                changes.push("subnets");
                req = req
                    .set_add_subnet_ids((!add.is_empty()).then_some(add))
                    .set_remove_subnet_ids((!remove.is_empty()).then_some(remove));
            }
        }
        if groups {
            let desired = inputs(r, "security_group_ids", &spec.security_group_ids)?;
            let live_groups: Vec<String> = live
                .groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect();
            let (add, remove) = add_remove(&live_groups, &desired);
            if !add.is_empty() || !remove.is_empty() {
                changes.push("security groups");
                req = req
                    .set_add_security_group_ids((!add.is_empty()).then_some(add))
                    .set_remove_security_group_ids((!remove.is_empty()).then_some(remove));
            }
        }
        if dns && live.private_dns_enabled() != Some(spec.private_dns_enabled) {
            changes.push("private DNS");
            req = req.private_dns_enabled(spec.private_dns_enabled);
        }
        if !changes.is_empty() {
            req.send().await.map_err(|e| {
                classify(
                    &format!("ModifyVpcEndpoint {id} ({})", changes.join(", ")),
                    e,
                )
            })?;
            wait_available(ec2, id).await?;
        } else if wants.everything() && state(&live) != "available" {
            // A full reconcile (after adopting an endpoint whose create was cut
            // short) waits for it to be usable.
            wait_available(ec2, id).await?;
        }
    }
    update_tags(ec2, id, prior, r, wants).await
}

pub(super) async fn delete_vpc_endpoint(ec2: &Client, out: &Outputs) -> Result<(), ProviderError> {
    let id = output(Kind::VpcEndpoint, out, "id")?;
    match describe_endpoint(ec2, id).await? {
        None => return Ok(()),
        Some(e) if state(&e) == "deleted" => return Ok(()),
        Some(e) if state(&e) == "deleting" => return wait_gone(ec2, id).await,
        Some(_) => {}
    }
    match ec2.delete_vpc_endpoints().vpc_endpoint_ids(id).send().await {
        Ok(res) => {
            for item in res.unsuccessful() {
                if item.resource_id().is_some_and(|r| r != id) {
                    continue;
                }
                let code = item.error().and_then(|e| e.code()).unwrap_or("Unknown");
                let message = item.error().and_then(|e| e.message()).unwrap_or("");
                let class = classify_code(code, None);
                // NotFound for this endpoint: it is gone already.
                if class != ErrorClass::NotFound {
                    return Err(ProviderError::new(
                        class,
                        format!("DeleteVpcEndpoints {id}: {code}: {message}"),
                    ));
                }
            }
        }
        Err(e) => {
            let code = super::error_code(&e).unwrap_or_default().to_string();
            let mut err = classify(&format!("DeleteVpcEndpoints {id}"), e);
            if err.class == ErrorClass::NotFound && !code.starts_with("InvalidVpcEndpoint") {
                // Something else was not found (a route of the endpoint, say): the
                // endpoint itself still exists, so this is no success.
                err.class = ErrorClass::Fatal;
            }
            gone_is_ok(Err(err))?;
        }
    }
    wait_gone(ec2, id).await
}
