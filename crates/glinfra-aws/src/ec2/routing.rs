//! Route tables, routes and route table associations.

use super::{
    filter, gone_is_ok, input, output, outputs, owner_filters, pick_one, required, settle,
    tag_specification, Wants, POLL, SETTLE_DEADLINE,
};
use crate::error::classify;
use crate::wait::{until, Poll};
use aws_sdk_ec2::types::{
    ResourceType, RouteOrigin, RouteTable, RouteTableAssociation, RouteTableAssociationStateCode,
};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{RouteSpec, RouteTableAssociationSpec, RouteTableSpec};
use glinfra_core::{Kind, ResourceState};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};

/// The route tables with id `table` (none or one), by filter, so that a table
/// already gone reads as empty rather than as an error.
async fn describe_table(ec2: &Client, table: &str) -> Result<Vec<RouteTable>, ProviderError> {
    ec2.describe_route_tables()
        .filters(filter("route-table-id", table))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify(&format!("DescribeRouteTables {table}"), e))
}

// ---------------------------------------------------------------- Route table

pub(super) async fn find_route_table(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let found: Vec<RouteTable> = ec2
        .describe_route_tables()
        .set_filters(Some(owner_filters(r)))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("DescribeRouteTables", e))?;
    Ok(pick_one(
        r,
        found,
        |t| t.route_table_id().unwrap_or_default(),
        |t| t.tags(),
    )
    .and_then(|t| {
        t.route_table_id()
            .map(|id| outputs([("id", id.to_string())]))
    }))
}

pub(super) async fn create_route_table(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Outputs, ProviderError> {
    let spec: RouteTableSpec = r.spec()?;
    let vpc_id = input(r, "vpc_id", &spec.vpc_id)?;
    // The VPC was made a moment ago: it may not be visible yet.
    let created = settle("CreateRouteTable", || async move {
        ec2.create_route_table()
            .vpc_id(vpc_id)
            .tag_specifications(tag_specification(ResourceType::RouteTable, r))
            .send()
            .await
            .map_err(|e| classify("CreateRouteTable", e))
    })
    .await?;
    let id = required(
        created.route_table().and_then(|t| t.route_table_id()),
        "CreateRouteTable",
    )?;
    Ok(outputs([("id", id.to_string())]))
}

pub(super) async fn delete_route_table(ec2: &Client, out: &Outputs) -> Result<(), ProviderError> {
    let id = output(Kind::RouteTable, out, "id")?;
    // DependencyViolation (associations still present) is Retryable.
    let res = ec2.delete_route_table().route_table_id(id).send().await;
    gone_is_ok(
        res.map(|_| ())
            .map_err(|e| classify(&format!("DeleteRouteTable {id}"), e)),
    )
}

// ---------------------------------------------------------------- Route

/// A route's table, destination and target, from its resolved spec.
struct RouteKey<'a> {
    table: &'a str,
    destination: &'a str,
    target: Target<'a>,
}

#[derive(Clone, Copy)]
enum Target<'a> {
    Gateway(&'a str),
    Nat(&'a str),
}

impl Target<'_> {
    fn id(&self) -> &str {
        match self {
            Target::Gateway(id) | Target::Nat(id) => id,
        }
    }
}

fn route_key<'a>(r: &ResolvedResource, spec: &'a RouteSpec) -> Result<RouteKey<'a>, ProviderError> {
    let target = match (&spec.gateway_id, &spec.nat_gateway_id) {
        (Some(g), None) => Target::Gateway(input(r, "gateway_id", g)?),
        (None, Some(n)) => Target::Nat(input(r, "nat_gateway_id", n)?),
        _ => {
            return Err(ProviderError::new(
                ErrorClass::Invalid,
                format!(
                    "route `{}`: needs exactly one target: gateway_id or nat_gateway_id",
                    r.id
                ),
            ))
        }
    };
    Ok(RouteKey {
        table: input(r, "route_table_id", &spec.route_table_id)?,
        destination: &spec.destination_cidr_block,
        target,
    })
}

fn route_id(table: &str, destination: &str) -> String {
    format!("{table}_{destination}")
}

/// Finds the route by its natural key, table and destination. A route there to
/// another target is not this one (glinfra cannot tell who made it): it is left
/// alone, and the create that follows fails with `RouteAlreadyExists`.
pub(super) async fn find_route(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: RouteSpec = r.spec()?;
    let key = route_key(r, &spec)?;
    let tables = describe_table(ec2, key.table).await?;
    let Some(route) = tables
        .iter()
        .flat_map(|t| t.routes())
        .filter(|rt| {
            // The table's own local route and propagated routes are not ours to manage.
            matches!(rt.origin(), None | Some(RouteOrigin::CreateRoute))
        })
        .find(|rt| rt.destination_cidr_block() == Some(key.destination))
    else {
        return Ok(None);
    };
    let target = key.target.id();
    if route.gateway_id() == Some(target) || route.nat_gateway_id() == Some(target) {
        Ok(Some(outputs([(
            "id",
            route_id(key.table, key.destination),
        )])))
    } else {
        tracing::warn!(
            resource = %r.id,
            table = key.table,
            destination = key.destination,
            found_gateway = ?route.gateway_id(),
            found_nat_gateway = ?route.nat_gateway_id(),
            wanted = target,
            "a route to another target already holds this destination; not adopting it"
        );
        Ok(None)
    }
}

pub(super) async fn create_route(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Outputs, ProviderError> {
    let spec: RouteSpec = r.spec()?;
    let key = route_key(r, &spec)?;
    let (table, destination, target) = (key.table, key.destination, key.target);
    // The table and target were made a moment ago: they may not be visible yet.
    settle("CreateRoute", || async move {
        let call = ec2
            .create_route()
            .route_table_id(table)
            .destination_cidr_block(destination);
        let call = match target {
            Target::Gateway(id) => call.gateway_id(id),
            Target::Nat(id) => call.nat_gateway_id(id),
        };
        call.send()
            .await
            .map_err(|e| classify(&format!("CreateRoute {table} {destination}"), e))
    })
    .await?;
    Ok(outputs([("id", route_id(table, destination))]))
}

pub(super) async fn update_route(
    ec2: &Client,
    _prior: &ResourceState,
    r: &ResolvedResource,
    wants: Wants<'_>,
) -> Result<(), ProviderError> {
    if !(wants.field("gateway_id") || wants.field("nat_gateway_id")) {
        return Ok(());
    }
    let spec: RouteSpec = r.spec()?;
    let key = route_key(r, &spec)?;
    let (table, destination) = (key.table, key.destination);
    let call = ec2
        .replace_route()
        .route_table_id(table)
        .destination_cidr_block(destination);
    let call = match key.target {
        Target::Gateway(id) => call.gateway_id(id),
        Target::Nat(id) => call.nat_gateway_id(id),
    };
    call.send()
        .await
        .map(|_| ())
        .map_err(|e| classify(&format!("ReplaceRoute {table} {destination}"), e))
}

pub(super) async fn delete_route(
    ec2: &Client,
    prior: &ResourceState,
    out: &Outputs,
) -> Result<(), ProviderError> {
    let id = output(Kind::Route, out, "id")?;
    // The id is `<rtb-id>_<destination>`; route table ids hold no `_`.
    let (table, destination) = match id.split_once('_') {
        Some(key) => key,
        None => {
            let spec: RouteSpec = serde_json::from_value(prior.props.clone()).map_err(|e| {
                ProviderError::new(
                    ErrorClass::Fatal,
                    format!(
                        "route `{id}`: neither its id nor its recorded spec name its table: {e}"
                    ),
                )
            })?;
            let table = spec.route_table_id.value().cloned().unwrap_or_default();
            return delete_route_key(ec2, &table, &spec.destination_cidr_block).await;
        }
    };
    delete_route_key(ec2, table, destination).await
}

async fn delete_route_key(
    ec2: &Client,
    table: &str,
    destination: &str,
) -> Result<(), ProviderError> {
    // InvalidRoute.NotFound and InvalidRouteTableID.NotFound: already gone.
    let res = ec2
        .delete_route()
        .route_table_id(table)
        .destination_cidr_block(destination)
        .send()
        .await;
    gone_is_ok(
        res.map(|_| ())
            .map_err(|e| classify(&format!("DeleteRoute {table} {destination}"), e)),
    )
}

// ---------------------------------------------------------------- Association

fn is_live(a: &RouteTableAssociation) -> bool {
    !matches!(
        a.association_state().and_then(|s| s.state()),
        Some(
            RouteTableAssociationStateCode::Disassociated
                | RouteTableAssociationStateCode::Disassociating
                | RouteTableAssociationStateCode::Failed
        )
    )
}

/// Finds the association by its natural key, table and subnet.
pub(super) async fn find_association(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: RouteTableAssociationSpec = r.spec()?;
    let table = input(r, "route_table_id", &spec.route_table_id)?;
    let subnet = input(r, "subnet_id", &spec.subnet_id)?;
    let tables = describe_table(ec2, table).await?;
    Ok(tables
        .iter()
        .flat_map(|t| t.associations())
        .filter(|a| is_live(a))
        .find(|a| a.subnet_id() == Some(subnet))
        .and_then(|a| a.route_table_association_id())
        .map(|id| outputs([("id", id.to_string())])))
}

pub(super) async fn create_association(
    ec2: &Client,
    r: &ResolvedResource,
) -> Result<Outputs, ProviderError> {
    let spec: RouteTableAssociationSpec = r.spec()?;
    let table = input(r, "route_table_id", &spec.route_table_id)?;
    let subnet = input(r, "subnet_id", &spec.subnet_id)?;
    // The table and subnet were made a moment ago: they may not be visible yet.
    // A subnet associated with another table fails Resource.AlreadyAssociated.
    let created = settle("AssociateRouteTable", || async move {
        ec2.associate_route_table()
            .route_table_id(table)
            .subnet_id(subnet)
            .send()
            .await
            .map_err(|e| classify(&format!("AssociateRouteTable {table} {subnet}"), e))
    })
    .await?;
    let id = required(
        created.association_id(),
        "AssociateRouteTable association id",
    )?;
    if matches!(
        created.association_state().and_then(|s| s.state()),
        Some(RouteTableAssociationStateCode::Associating)
    ) {
        wait_associated(ec2, table, id).await?;
    }
    Ok(outputs([("id", id.to_string())]))
}

async fn wait_associated(ec2: &Client, table: &str, id: &str) -> Result<(), ProviderError> {
    until(
        &format!("association {id} to become associated"),
        SETTLE_DEADLINE,
        POLL,
        || async {
            let tables = describe_table(ec2, table).await?;
            let state = tables
                .iter()
                .flat_map(|t| t.associations())
                .find(|a| a.route_table_association_id() == Some(id))
                .and_then(|a| a.association_state())
                .and_then(|s| s.state().cloned());
            match state {
                Some(RouteTableAssociationStateCode::Associated) => Ok(Poll::Ready(())),
                Some(RouteTableAssociationStateCode::Associating) | None => {
                    Ok(Poll::Pending("associating".into()))
                }
                Some(other) => Err(ProviderError::new(
                    ErrorClass::Fatal,
                    format!("association {id} of {table} is {}", other.as_str()),
                )),
            }
        },
    )
    .await
}

pub(super) async fn delete_association(ec2: &Client, out: &Outputs) -> Result<(), ProviderError> {
    let id = output(Kind::RouteTableAssociation, out, "id")?;
    // InvalidAssociationID.NotFound: already gone.
    let res = ec2
        .disassociate_route_table()
        .association_id(id)
        .send()
        .await;
    gone_is_ok(
        res.map(|_| ())
            .map_err(|e| classify(&format!("DisassociateRouteTable {id}"), e)),
    )
}
