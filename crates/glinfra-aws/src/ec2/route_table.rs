//! Route tables. A table's routes and subnet associations are kinds of their
//! own ([`super::route`], [`super::route_table_association`]).

use super::{
    describe_owned, describe_stack, filter, pick, read_id, settle, tag_specification, Tagged,
};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::{required, resolved_str, tags, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType, RouteTable};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{RouteTableOutputs, RouteTableSpec};
use glinfra_engine::ProviderError;
use std::collections::{BTreeMap, BTreeSet};

/// The driver of `aws:ec2/route-table`.
pub(crate) struct RouteTableDriver;

/// The route tables with id `table` (none or one), by filter, so that a table
/// already gone reads as empty rather than as an error.
pub(super) async fn describe_table(
    ec2: &Client,
    table: &str,
) -> Result<Vec<RouteTable>, ProviderError> {
    ec2.describe_route_tables()
        .filters(filter("route-table-id", table))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify(&format!("DescribeRouteTables {table}"), e))
}

fn outputs(table: &RouteTable) -> Result<RouteTableOutputs, ProviderError> {
    Ok(RouteTableOutputs {
        id: required(table.route_table_id(), "route table id")?.to_string(),
    })
}

/// The route tables `ids` that still exist, by id, with their routes and
/// associations: what a refresh of routes and associations reads them from.
/// One DescribeRouteTables for the stack's tables (its tag filter); a table
/// named in `ids` that it does not return (one the stack does not own, such as a
/// VPC's main table, or one gone) is asked for by id, in one more call for all of
/// them.
pub(super) async fn tables_of(
    ec2: &Client,
    stack: &str,
    ids: BTreeSet<String>,
) -> Result<BTreeMap<String, RouteTable>, ProviderError> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let keep = |tables: Vec<RouteTable>, found: &mut BTreeMap<String, RouteTable>| {
        for t in tables {
            if let Some(id) = t.route_table_id().filter(|id| ids.contains(*id)) {
                found.insert(id.to_string(), t);
            }
        }
    };
    let mut found = BTreeMap::new();
    keep(
        describe_stack(ec2.describe_route_tables(), stack).await?,
        &mut found,
    );
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !found.contains_key(*id))
        .cloned()
        .collect();
    if !missing.is_empty() {
        let by_id = Filter::builder()
            .name("route-table-id")
            .set_values(Some(missing))
            .build();
        let tables = crate::kit::all_items!(
            ec2.describe_route_tables().filters(by_id),
            "DescribeRouteTables"
        )?;
        keep(tables, &mut found);
    }
    Ok(found)
}

#[async_trait]
impl Driver for RouteTableDriver {
    type Spec = RouteTableSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<RouteTableSpec>,
    ) -> Result<Option<RouteTableOutputs>, ProviderError> {
        let found = describe_owned(c.ec2(&r.region).describe_route_tables(), r).await?;
        pick(r, found)?.map(|t| outputs(&t)).transpose()
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<RouteTableSpec>,
    ) -> Result<RouteTableOutputs, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let vpc_id = resolved_str(&r.spec.vpc_id, "vpc_id")?;
        let (client, tags) = (&ec2, &tag_specification(ResourceType::RouteTable, r)?);
        let token = &r.token();
        // The VPC was made a moment ago: it may not be visible yet.
        let created = settle("CreateRouteTable", || async move {
            client
                .create_route_table()
                .vpc_id(vpc_id)
                .tag_specifications(tags.clone())
                .set_client_token(token.clone())
                .send()
                .await
                .map_err(|e| classify("CreateRouteTable", e))
        })
        .await?;
        outputs(required(created.route_table(), "CreateRouteTable")?)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<RouteTableSpec>,
        r: &Desired<RouteTableSpec>,
        changed: Changed<'_>,
    ) -> Result<RouteTableOutputs, ProviderError> {
        tags::update(&c.ec2(&r.region), &prior.outputs.id, prior, r, changed).await?;
        Ok(prior.outputs.clone())
    }

    /// One DescribeRouteTables for the stack: a table's VPC is in it.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<RouteTableSpec>,
    ) -> Result<Option<Vec<Live<RouteTableSpec>>>, ProviderError> {
        let ec2 = c.ec2(&scope.region);
        let mut live = Vec::new();
        for table in describe_stack(ec2.describe_route_tables(), &scope.stack).await? {
            let tags = table.tag_map();
            let Some(id) = scope.owned(&tags) else {
                continue;
            };
            let recorded = scope.recorded(&id).map(|r| &r.spec.vpc_id);
            let vpc_id = read_id(table.vpc_id(), recorded);
            live.push(Live {
                id,
                outputs: outputs(&table)?,
                tags,
                spec: vpc_id.map(|vpc_id| RouteTableSpec { vpc_id }),
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<RouteTableSpec>,
    ) -> Result<(), ProviderError> {
        let id = &prior.outputs.id;
        // DependencyViolation (associations still present) is Retryable.
        c.ec2(&prior.region)
            .delete_route_table()
            .route_table_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteRouteTable {id}"), e))
            .or_gone()
    }
}
