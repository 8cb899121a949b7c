//! Route tables. A table's routes and subnet associations are kinds of their
//! own ([`super::route`], [`super::route_table_association`]).

use super::{describe_owned, filter, pick, settle, tag_specification, Tagged};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::{required, resolved_str, tags, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, RouteTable};
use aws_sdk_ec2::Client;
use glinfra_core::spec::ec2::{RouteTableOutputs, RouteTableSpec};
use glinfra_engine::ProviderError;

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

#[async_trait]
impl Driver for RouteTableDriver {
    type Spec = RouteTableSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<RouteTableSpec>,
    ) -> Result<Option<RouteTableOutputs>, ProviderError> {
        let found = describe_owned(c.ec2(&r.region).describe_route_tables(), r).await?;
        let table = pick(r, found);
        Ok(table.and_then(|t| Some(RouteTableOutputs { id: t.id()?.into() })))
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<RouteTableSpec>,
    ) -> Result<RouteTableOutputs, ProviderError> {
        let ec2 = c.ec2(&r.region);
        let vpc_id = resolved_str(&r.spec.vpc_id, "vpc_id")?;
        let (client, tags) = (&ec2, &tag_specification(ResourceType::RouteTable, r)?);
        // The VPC was made a moment ago: it may not be visible yet.
        let created = settle("CreateRouteTable", || async move {
            client
                .create_route_table()
                .vpc_id(vpc_id)
                .tag_specifications(tags.clone())
                .send()
                .await
                .map_err(|e| classify("CreateRouteTable", e))
        })
        .await?;
        let id = required(
            created.route_table().and_then(|t| t.route_table_id()),
            "CreateRouteTable",
        )?;
        Ok(RouteTableOutputs { id: id.to_string() })
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
