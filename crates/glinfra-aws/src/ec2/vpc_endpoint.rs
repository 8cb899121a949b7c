//! VPC endpoints: `Gateway` endpoints (S3, DynamoDB) on route tables, `Interface`
//! endpoints (PrivateLink) in subnets.
//!
//! States are compared as lower-case strings: AWS reports them in camelCase
//! (`available`, `pendingAcceptance`) while the SDK's `State` enum expects
//! PascalCase, so every real value arrives as `State::Unknown`
//! (awslabs/aws-sdk-rust#619).

use super::{
    describe_ids, describe_owned, describe_stack, first_owned, pick, read_id, settle,
    tag_specification, Tagged,
};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::{classify, classify_code};
use crate::kit::live::{like, Live, Scope};
use crate::kit::wait::{self, Poll};
use crate::kit::{required, resolved_all, resolved_str, tags, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, VpcEndpoint};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{VpcEndpointOutputs, VpcEndpointSpec, VpcEndpointType};
use glinfra_core::Declared;
use glinfra_core::Input;
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeSet;
use std::time::Duration;

/// The driver of `aws:ec2/vpc-endpoint`.
pub(crate) struct VpcEndpointDriver;

/// How long an endpoint may take to become `available` or to go away. Gateway
/// endpoints are available at once; interface endpoints take minutes.
const ENDPOINT_DEADLINE: Duration = Duration::from_secs(10 * 60);

/// The endpoint's state, lower-cased (`available`, `pending`, `pendingacceptance`, ...).
fn state(e: &VpcEndpoint) -> String {
    e.state()
        .map(|s| s.as_str().to_ascii_lowercase())
        .unwrap_or_default()
}

/// States of an endpoint that will never be usable again.
fn is_dead(state: &str) -> bool {
    matches!(state, "deleted" | "failed" | "rejected" | "expired")
}

/// Describes one endpoint; `None` when AWS does not know it (yet, or any more).
async fn describe(ec2: &Client, id: &str) -> Result<Option<VpcEndpoint>, ProviderError> {
    let out = ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(id)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeVpcEndpoints {id}"), e))
        .or_absent()?;
    Ok(out.and_then(|o| {
        o.vpc_endpoints()
            .iter()
            .find(|e| e.vpc_endpoint_id() == Some(id))
            .cloned()
    }))
}

/// Waits for the endpoint `id` of `region` through the shared poll of the
/// region's endpoints (one DescribeVpcEndpoints a poll for all of them); `check`
/// reads what it answered for `id` (`None`: not known, yet or any more).
async fn wait_for<T>(
    c: &Clients,
    region: &str,
    id: &str,
    what: &str,
    check: impl Fn(Option<VpcEndpoint>) -> Result<Poll<T>, ProviderError>,
) -> Result<T, ProviderError> {
    let ec2 = c.ec2(region);
    let describe = |ids| describe_ids(ec2.describe_vpc_endpoints(), "vpc-endpoint-id", ids);
    let place = (VpcEndpointSpec::KIND, region, id);
    wait::until_shared(c, place, what, ENDPOINT_DEADLINE, describe, check).await
}

async fn wait_available(c: &Clients, region: &str, id: &str) -> Result<(), ProviderError> {
    wait_for(
        c,
        region,
        id,
        &format!("VPC endpoint {id} to become available"),
        |endpoint| {
            let Some(endpoint) = endpoint else {
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

async fn wait_gone(c: &Clients, region: &str, id: &str) -> Result<(), ProviderError> {
    let what = format!("VPC endpoint {id} deletion");
    wait_for(c, region, id, &what, |endpoint| {
        Ok(match endpoint.map(|e| state(&e)) {
            None => Poll::Ready(()),
            Some(s) if s == "deleted" => Poll::Ready(()),
            Some(s) => Poll::Pending(s),
        })
    })
    .await
}

fn outputs(e: &VpcEndpoint) -> Result<VpcEndpointOutputs, ProviderError> {
    Ok(VpcEndpointOutputs {
        id: required(e.vpc_endpoint_id(), "VPC endpoint id")?.to_string(),
    })
}

/// What the live endpoint `e` is as a spec, given what state recorded (`was`).
/// The fields the driver does not manage for the endpoint's type are the recorded
/// ones (or their defaults): a gateway endpoint's subnets, groups and private DNS,
/// an interface endpoint's route tables, and its groups when the spec names none
/// (AWS gives it the VPC's default group then). `None` when it cannot be read whole:
/// no VPC or service in the answer and nothing recorded, or a type the spec cannot
/// name (`GatewayLoadBalancer`).
fn live_spec(e: &VpcEndpoint, was: Option<VpcEndpointSpec>) -> Option<VpcEndpointSpec> {
    let was = was.as_ref();
    let read = |ids: Vec<&str>, recorded: Option<&Vec<Input<String>>>| {
        let ids = ids.into_iter().map(Input::from).collect();
        like(ids, recorded.map(Vec::as_slice))
    };
    let kept = |field: fn(&VpcEndpointSpec) -> &Vec<Input<String>>| {
        was.map(field).cloned().unwrap_or_default()
    };
    let endpoint_type = match e.vpc_endpoint_type() {
        Some(t) => t.as_str().parse::<VpcEndpointType>().ok()?,
        None => was?.endpoint_type,
    };
    let gateway = endpoint_type == VpcEndpointType::Gateway;
    let route_tables = e.route_table_ids().iter().map(String::as_str).collect();
    let subnets = e.subnet_ids().iter().map(String::as_str).collect();
    let groups = e.groups().iter().filter_map(|g| g.group_id()).collect();
    let groups_managed = was.is_none_or(|s| !s.security_group_ids.is_empty());
    Some(VpcEndpointSpec {
        vpc_id: read_id(e.vpc_id(), was.map(|s| &s.vpc_id))?,
        service_name: match e.service_name() {
            Some(s) => s.to_string(),
            None => was?.service_name.clone(),
        },
        endpoint_type,
        route_table_ids: if gateway {
            read(route_tables, was.map(|s| &s.route_table_ids))
        } else {
            kept(|s| &s.route_table_ids)
        },
        subnet_ids: if gateway {
            kept(|s| &s.subnet_ids)
        } else {
            read(subnets, was.map(|s| &s.subnet_ids))
        },
        security_group_ids: if !gateway && groups_managed {
            read(groups, was.map(|s| &s.security_group_ids))
        } else {
            kept(|s| &s.security_group_ids)
        },
        private_dns_enabled: if gateway {
            was.is_some_and(|s| s.private_dns_enabled)
        } else {
            e.private_dns_enabled().unwrap_or(false)
        },
    })
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
async fn modify(
    c: &Clients,
    region: &str,
    id: &str,
    spec: &VpcEndpointSpec,
    changed: Changed<'_>,
) -> Result<(), ProviderError> {
    let gateway = spec.endpoint_type == VpcEndpointType::Gateway;
    let route_tables = gateway && changed.has("route_table_ids");
    let subnets = !gateway && changed.has("subnet_ids");
    let groups =
        !gateway && changed.has("security_group_ids") && !spec.security_group_ids.is_empty();
    let dns = !gateway && changed.has("private_dns_enabled");
    if !(route_tables || subnets || groups || dns) {
        return Ok(());
    }
    let ec2 = &c.ec2(region);
    let live = describe(ec2, id).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::NotFound,
            format!("VPC endpoint {id} does not exist any more"),
        )
    })?;
    let mut req = ec2.modify_vpc_endpoint().vpc_endpoint_id(id);
    let mut changes = Vec::new();
    if route_tables {
        let desired = resolved_all(&spec.route_table_ids, "route_table_ids")?;
        let (add, remove) = add_remove(live.route_table_ids(), &desired);
        if !add.is_empty() || !remove.is_empty() {
            changes.push("route tables");
            req = req
                .set_add_route_table_ids((!add.is_empty()).then_some(add))
                .set_remove_route_table_ids((!remove.is_empty()).then_some(remove));
        }
    }
    if subnets {
        let desired = resolved_all(&spec.subnet_ids, "subnet_ids")?;
        let (add, remove) = add_remove(live.subnet_ids(), &desired);
        if !add.is_empty() || !remove.is_empty() {
            changes.push("subnets");
            req = req
                .set_add_subnet_ids((!add.is_empty()).then_some(add))
                .set_remove_subnet_ids((!remove.is_empty()).then_some(remove));
        }
    }
    if groups {
        let desired = resolved_all(&spec.security_group_ids, "security_group_ids")?;
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
        wait_available(c, region, id).await?;
    } else if changed.everything() && state(&live) != "available" {
        // A full reconcile (after adopting an endpoint whose create was cut
        // short) waits for it to be usable.
        wait_available(c, region, id).await?;
    }
    Ok(())
}

/// Sends DeleteVpcEndpoints for `id`, reading its list of unsuccessful items.
async fn delete_endpoint(ec2: &Client, id: &str) -> Result<(), ProviderError> {
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
                    )
                    .operation("DeleteVpcEndpoints")
                    .code(code));
                }
            }
            Ok(())
        }
        Err(e) => {
            let err = classify(&format!("DeleteVpcEndpoints {id}"), e);
            let about_endpoint = err
                .code
                .as_deref()
                .is_some_and(|c| c.starts_with("InvalidVpcEndpoint"));
            if err.class == ErrorClass::NotFound && !about_endpoint {
                // Something else was not found (a route of the endpoint, say): the
                // endpoint itself still exists, so this is no success.
                return Err(err.reclassified(ErrorClass::Fatal, "the endpoint itself exists"));
            }
            Err::<(), _>(err).or_gone()
        }
    }
}

#[async_trait]
impl Driver for VpcEndpointDriver {
    type Spec = VpcEndpointSpec;

    /// Looks the endpoint up by its ownership tags, skipping deleted, failed,
    /// rejected and expired ones. One still `deleting` (and nothing else) is waited
    /// for until it is gone, then `None`. One still pending is waited for until it
    /// is available, so that what is adopted is usable, as what `create` returns is.
    async fn find(
        &self,
        c: &Clients,
        r: &Desired<VpcEndpointSpec>,
    ) -> Result<Option<VpcEndpointOutputs>, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let found = describe_owned(ec2.describe_vpc_endpoints(), r).await?;
        let (deleting, live): (Vec<VpcEndpoint>, Vec<VpcEndpoint>) = found
            .into_iter()
            .filter(|e| !is_dead(&state(e)))
            .partition(|e| state(e) == "deleting");
        if let Some(endpoint) = pick(r, live)? {
            let out = outputs(&endpoint)?;
            if state(&endpoint) != "available" {
                wait_available(c, &r.region, &out.id).await?;
            }
            return Ok(Some(out));
        }
        if let Some(going) = first_owned(r, deleting) {
            wait_gone(c, &r.region, going.vpc_endpoint_id().unwrap_or_default()).await?;
        }
        Ok(None)
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<VpcEndpointSpec>,
    ) -> Result<VpcEndpointOutputs, ProviderError> {
        let ec2 = &c.ec2(&r.region);
        let spec = &r.spec;
        let vpc_id = resolved_str(&spec.vpc_id, "vpc_id")?;
        let route_tables = &resolved_all(&spec.route_table_ids, "route_table_ids")?;
        let subnets = &resolved_all(&spec.subnet_ids, "subnet_ids")?;
        let groups = &resolved_all(&spec.security_group_ids, "security_group_ids")?;
        let tags = &tag_specification(ResourceType::VpcEndpoint, r)?;
        let token = &r.token();
        let service = spec.service_name.as_str();
        // The VPC, route tables, subnets or groups were made a moment ago: they may
        // not be visible yet.
        let created = settle("CreateVpcEndpoint", || async move {
            let req = ec2
                .create_vpc_endpoint()
                .vpc_id(vpc_id)
                .service_name(service)
                .vpc_endpoint_type(spec.endpoint_type.as_str().into())
                .tag_specifications(tags.clone())
                .set_client_token(token.clone());
            let req = match spec.endpoint_type {
                VpcEndpointType::Gateway => req.set_route_table_ids(Some(route_tables.clone())),
                VpcEndpointType::Interface => req
                    .set_subnet_ids(Some(subnets.clone()))
                    // Without groups, AWS uses the VPC's default security group.
                    .set_security_group_ids((!groups.is_empty()).then(|| groups.clone()))
                    .private_dns_enabled(spec.private_dns_enabled),
            };
            req.send()
                .await
                .map_err(|e| classify(&format!("CreateVpcEndpoint {service}"), e))
        })
        .await?;
        let endpoint = required(created.vpc_endpoint(), "CreateVpcEndpoint")?;
        let out = outputs(endpoint)?;
        if state(endpoint) != "available" {
            wait_available(c, &r.region, &out.id).await?;
        }
        Ok(out)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<VpcEndpointSpec>,
        r: &Desired<VpcEndpointSpec>,
        changed: Changed<'_>,
    ) -> Result<VpcEndpointOutputs, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let id = &prior.outputs.id;
        modify(c, &r.region, id, &r.spec, changed).await?;
        tags::update(&ec2, id, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// One DescribeVpcEndpoints for the stack, skipping endpoints deleted,
    /// deleting, failed, rejected or expired: every managed field is in it
    /// ([`live_spec`]).
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<VpcEndpointSpec>,
    ) -> Result<Option<Vec<Live<VpcEndpointSpec>>>, ProviderError> {
        let ec2 = c.ec2(&scope.region);
        let found = describe_stack(ec2.describe_vpc_endpoints(), &scope.stack).await?;
        let mut live = Vec::new();
        for endpoint in found {
            let state = state(&endpoint);
            if is_dead(&state) || state == "deleting" {
                continue;
            }
            let tags = endpoint.tag_map();
            let Some(id) = scope.owned(&tags) else {
                continue;
            };
            live.push(Live {
                outputs: outputs(&endpoint)?,
                spec: live_spec(&endpoint, scope.recorded_spec(&id)),
                tags,
                id,
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<VpcEndpointSpec>,
    ) -> Result<(), ProviderError> {
        let ec2 = c.ec2(&prior.region);
        let id = &prior.outputs.id;
        match describe(&ec2, id).await?.map(|e| state(&e)).as_deref() {
            None | Some("deleted") => return Ok(()),
            Some("deleting") => return wait_gone(c, &prior.region, id).await,
            Some(_) => {}
        }
        delete_endpoint(&ec2, id).await?;
        wait_gone(c, &prior.region, id).await
    }
}
