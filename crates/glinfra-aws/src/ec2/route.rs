//! Routes. A route has no id and no tags in AWS: it is found by its natural key,
//! table and destination, and recorded as `<rtb-id>_<destination>`. A route there
//! to another target is not this one (glinfra cannot tell who made it): it is
//! left alone, and the create that follows fails with `RouteAlreadyExists`.

use super::route_table::{describe_table, tables_of};
use super::settle;
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::{resolved_str, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_ec2::types::{Route, RouteOrigin, RouteTable};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{RouteOutputs, RouteSpec};
use glinfra_engine::{ErrorClass, ProviderError};

/// The driver of `aws:ec2/route`.
pub(crate) struct RouteDriver;

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

impl<'a> RouteKey<'a> {
    fn of(r: &'a Desired<RouteSpec>) -> Result<RouteKey<'a>, ProviderError> {
        let spec = &r.spec;
        let target = match (&spec.gateway_id, &spec.nat_gateway_id) {
            (Some(g), None) => Target::Gateway(resolved_str(g, "gateway_id")?),
            (None, Some(n)) => Target::Nat(resolved_str(n, "nat_gateway_id")?),
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
            table: resolved_str(&spec.route_table_id, "route_table_id")?,
            destination: &spec.destination_cidr_block,
            target,
        })
    }

    fn outputs(&self) -> RouteOutputs {
        RouteOutputs {
            id: format!("{}_{}", self.table, self.destination),
        }
    }
}

/// The table and destination of the recorded route `prior`: from its id,
/// `<rtb-id>_<destination>` (route table ids hold no `_`), or else its recorded spec.
fn recorded_key(prior: &Recorded<RouteSpec>) -> Result<(&str, &str), ProviderError> {
    if let Some(key) = prior.outputs.id.split_once('_') {
        return Ok(key);
    }
    let table = resolved_str(&prior.spec.route_table_id, "route_table_id").map_err(|e| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!(
                "route `{}`: neither its id nor its recorded spec name its table: {}",
                prior.outputs.id, e.message
            ),
        )
    })?;
    Ok((table, &prior.spec.destination_cidr_block))
}

/// The route of `table` to `destination` that a CreateRoute made: the table's own
/// local route and propagated routes are not ours to manage.
fn created_route<'a>(table: &'a RouteTable, destination: &str) -> Option<&'a Route> {
    table
        .routes()
        .iter()
        .filter(|rt| matches!(rt.origin(), None | Some(RouteOrigin::CreateRoute)))
        .find(|rt| rt.destination_cidr_block() == Some(destination))
}

async fn delete_route(ec2: &Client, table: &str, destination: &str) -> Result<(), ProviderError> {
    // InvalidRoute.NotFound and InvalidRouteTableID.NotFound: already gone.
    ec2.delete_route()
        .route_table_id(table)
        .destination_cidr_block(destination)
        .send()
        .await
        .map_err(|e| classify(&format!("DeleteRoute {table} {destination}"), e))
        .or_gone()
}

#[async_trait]
impl Driver for RouteDriver {
    type Spec = RouteSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<RouteSpec>,
    ) -> Result<Option<RouteOutputs>, ProviderError> {
        let key = RouteKey::of(r)?;
        let tables = describe_table(&c.ec2(&r.region), key.table).await?;
        let Some(route) = tables
            .iter()
            .find_map(|t| created_route(t, key.destination))
        else {
            return Ok(None);
        };
        let target = key.target.id();
        if route.gateway_id() == Some(target) || route.nat_gateway_id() == Some(target) {
            return Ok(Some(key.outputs()));
        }
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

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<RouteSpec>,
    ) -> Result<RouteOutputs, ProviderError> {
        let ec2 = &c.ec2(&r.region);
        let key = RouteKey::of(r)?;
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
        Ok(key.outputs())
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<RouteSpec>,
        r: &Desired<RouteSpec>,
        changed: Changed<'_>,
    ) -> Result<RouteOutputs, ProviderError> {
        if !changed.any(&["gateway_id", "nat_gateway_id"]) {
            return Ok(prior.outputs.clone());
        }
        let key = RouteKey::of(r)?;
        let (table, destination) = (key.table, key.destination);
        let call = c
            .ec2(&r.region)
            .replace_route()
            .route_table_id(table)
            .destination_cidr_block(destination);
        let call = match key.target {
            Target::Gateway(id) => call.gateway_id(id),
            Target::Nat(id) => call.nat_gateway_id(id),
        };
        call.send()
            .await
            .map_err(|e| classify(&format!("ReplaceRoute {table} {destination}"), e))?;
        Ok(prior.outputs.clone())
    }

    /// Routes take no tags: the recorded ones are read through their tables, all
    /// in one DescribeRouteTables for the stack's tables (plus one by id for
    /// recorded tables the stack does not own). A route there with another target
    /// reads as that target (drift that ReplaceRoute repairs); a route gone is not
    /// returned. Routes state does not know are not looked for (nothing marks them
    /// as the stack's).
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<RouteSpec>,
    ) -> Result<Option<Vec<Live<RouteSpec>>>, ProviderError> {
        let keys = scope
            .recorded
            .iter()
            .map(|r| Ok((r, recorded_key(r)?)))
            .collect::<Result<Vec<_>, ProviderError>>()?;
        let ids = keys.iter().map(|(_, (t, _))| t.to_string()).collect();
        let tables = tables_of(&c.ec2(&scope.region), &scope.stack, ids).await?;
        let mut live = Vec::new();
        for (prior, (table, destination)) in keys {
            let Some(route) = tables
                .get(table)
                .and_then(|t| created_route(t, destination))
            else {
                continue;
            };
            let target = |id: Option<&str>| id.map(|v| v.to_string().into());
            live.push(Live {
                id: prior.id.clone(),
                outputs: prior.outputs.clone(),
                tags: Default::default(),
                spec: Some(RouteSpec {
                    gateway_id: target(route.gateway_id()),
                    nat_gateway_id: target(route.nat_gateway_id()),
                    ..prior.spec.clone()
                }),
            });
        }
        Ok(Some(live))
    }

    async fn delete(&self, c: &Clients, prior: &Recorded<RouteSpec>) -> Result<(), ProviderError> {
        let (table, destination) = recorded_key(prior)?;
        delete_route(&c.ec2(&prior.region), table, destination).await
    }
}
