//! Route: the target field per target kind, find by natural key, replace, delete.

use super::*;
use crate::driver::Driver;
use crate::ec2::RouteDriver;
use crate::test_support::{ok_rule, recorded, recorder};
use aws_sdk_ec2::operation::create_route::{CreateRouteInput, CreateRouteOutput};
use aws_sdk_ec2::operation::delete_route::{DeleteRouteInput, DeleteRouteOutput};
use aws_sdk_ec2::operation::describe_route_tables::{
    DescribeRouteTablesInput, DescribeRouteTablesOutput,
};
use aws_sdk_ec2::operation::replace_route::{ReplaceRouteInput, ReplaceRouteOutput};
use aws_sdk_ec2::types::{Route, RouteOrigin, RouteTable};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::ec2::{RouteOutputs, RouteSpec};
use serde_json::json;

fn nat_route() -> Desired<RouteSpec> {
    resource(
        "private-default",
        json!({"route_table_id": "rtb-1", "destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": "nat-1"}),
    )
}

/// What a CreateRoute or ReplaceRoute request sends: (table, destination, NAT
/// gateway, gateway).
macro_rules! route_of {
    ($req:expr) => {
        (
            $req.route_table_id(),
            $req.destination_cidr_block(),
            $req.nat_gateway_id(),
            $req.gateway_id(),
        )
    };
}

/// The request fields of `nat_route()`, as [`route_of!`] reads them.
const NAT_ROUTE: (Option<&str>, Option<&str>, Option<&str>, Option<&str>) =
    (Some("rtb-1"), Some("0.0.0.0/0"), Some("nat-1"), None);

fn route_outputs(id: &str) -> RouteOutputs {
    RouteOutputs { id: id.into() }
}

#[tokio::test]
async fn a_route_to_a_nat_gateway_uses_nat_gateway_id() {
    let (seen, see) = recorder::<CreateRouteInput>();
    let create = mock!(Client::create_route)
        .match_requests(see)
        .then_output(|| CreateRouteOutput::builder().r#return(true).build());
    let c = clients(&[&create]);

    let out = RouteDriver.create(&c, &nat_route()).await.unwrap();

    assert_eq!(out, route_outputs("rtb-1_0.0.0.0/0"));
    let req = &seen.lock().unwrap()[0];
    assert_eq!(route_of!(req), NAT_ROUTE);
}

#[tokio::test]
async fn a_route_to_an_internet_gateway_uses_gateway_id() {
    let create = mock!(Client::create_route)
        .match_requests(|req| req.gateway_id() == Some("igw-1") && req.nat_gateway_id().is_none())
        .then_output(|| CreateRouteOutput::builder().r#return(true).build());
    let c = clients(&[&create]);
    let r: Desired<RouteSpec> = resource(
        "public-default",
        json!({"route_table_id": "rtb-1", "destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"}),
    );
    assert_eq!(
        RouteDriver.create(&c, &r).await.unwrap(),
        route_outputs("rtb-1_0.0.0.0/0")
    );
}

fn table_with_route(target_nat: &str) -> RouteTable {
    RouteTable::builder()
        .route_table_id("rtb-1")
        .routes(
            Route::builder()
                .destination_cidr_block("10.0.0.0/16")
                .gateway_id("local")
                .origin(RouteOrigin::CreateRouteTable)
                .build(),
        )
        .routes(
            Route::builder()
                .destination_cidr_block("0.0.0.0/0")
                .nat_gateway_id(target_nat)
                .origin(RouteOrigin::CreateRoute)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn find_route_by_table_and_destination_and_not_one_to_another_target() {
    let (seen, see) = recorder::<DescribeRouteTablesInput>();
    let describe = mock!(Client::describe_route_tables)
        .sequence()
        .output(|| {
            DescribeRouteTablesOutput::builder()
                .route_tables(table_with_route("nat-1"))
                .build()
        })
        .output(|| {
            DescribeRouteTablesOutput::builder()
                .route_tables(table_with_route("nat-other"))
                .build()
        })
        .output(|| DescribeRouteTablesOutput::builder().build())
        .build();
    let spy = ok_rule!(Client::describe_route_tables(see) -> DescribeRouteTablesOutput);
    let c = clients(&[&describe]);
    let r = nat_route();

    assert_eq!(
        RouteDriver.find(&c, &r).await.unwrap(),
        Some(route_outputs("rtb-1_0.0.0.0/0"))
    );
    assert_eq!(RouteDriver.find(&c, &r).await.unwrap(), None);
    assert_eq!(RouteDriver.find(&c, &r).await.unwrap(), None);

    // The lookup is by table id, as a filter (a table already gone reads as empty).
    let c = clients(&[&spy]);
    RouteDriver.find(&c, &r).await.unwrap();
    let req = &seen.lock().unwrap()[0];
    assert_eq!(
        filter_pairs(req.filters()),
        [("route-table-id".to_string(), vec!["rtb-1".to_string()])]
    );
}

#[tokio::test]
async fn update_of_a_route_target_replaces_the_route() {
    let (seen, see) = recorder::<ReplaceRouteInput>();
    let replace = ok_rule!(Client::replace_route(see) -> ReplaceRouteOutput);
    let c = clients(&[&replace]);
    let r = nat_route();
    let prior = recorded(&r, route_outputs("rtb-1_0.0.0.0/0"));

    let changed = ["nat_gateway_id".to_string()];
    let out = RouteDriver
        .update(&c, &prior, &r, Changed(&changed))
        .await
        .unwrap();

    assert_eq!(out, prior.outputs);
    let req = &seen.lock().unwrap()[0];
    assert_eq!(route_of!(req), NAT_ROUTE);
}

#[tokio::test]
async fn delete_route_uses_the_table_and_destination_of_its_id() {
    let (seen, see) = recorder::<DeleteRouteInput>();
    let delete = ok_rule!(Client::delete_route(see) -> DeleteRouteOutput);
    let c = clients(&[&delete]);
    RouteDriver
        .delete(
            &c,
            &recorded(&nat_route(), route_outputs("rtb-1_0.0.0.0/0")),
        )
        .await
        .unwrap();
    let req = &seen.lock().unwrap()[0];
    assert_eq!(req.route_table_id(), Some("rtb-1"));
    assert_eq!(req.destination_cidr_block(), Some("0.0.0.0/0"));
}
