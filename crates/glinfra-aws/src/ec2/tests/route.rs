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

/// A route to `destination` through a NAT gateway (`nat-…`) or another gateway.
fn route(destination: &str, target: &str) -> Route {
    let route = Route::builder()
        .destination_cidr_block(destination)
        .origin(RouteOrigin::CreateRoute);
    if target.starts_with("nat-") {
        route.nat_gateway_id(target).build()
    } else {
        route.gateway_id(target).build()
    }
}

/// A table `id` with `routes` after its local route, tagged as `stack`'s when given.
fn table(id: &str, stack: Option<&str>, routes: Vec<Route>) -> RouteTable {
    let local = Route::builder()
        .destination_cidr_block("10.0.0.0/16")
        .gateway_id("local")
        .origin(RouteOrigin::CreateRouteTable)
        .build();
    RouteTable::builder()
        .route_table_id(id)
        .set_routes(Some(std::iter::once(local).chain(routes).collect()))
        .set_tags(stack.map(|s| owner_tags(s, &format!("table-{id}"))))
        .build()
}

#[tokio::test]
async fn observe_reads_recorded_routes_through_the_stacks_tables_and_others_by_id() {
    let (by_id_seen, see_by_id) = recorder::<DescribeRouteTablesInput>();
    let by_stack = mock!(Client::describe_route_tables)
        .match_requests(|req| filter_pairs(req.filters()) == stack_filter_pairs())
        .then_output(|| {
            DescribeRouteTablesOutput::builder()
                .route_tables(table(
                    "rtb-1",
                    Some(STACK),
                    vec![route("0.0.0.0/0", "igw-1"), route("10.9.0.0/16", "nat-2")],
                ))
                .route_tables(table("rtb-2", Some(STACK), vec![]))
                .build()
        });
    // The VPC's main table carries no tags of ours: read by id, in one more call.
    let by_id = mock!(Client::describe_route_tables)
        .match_requests(see_by_id)
        .then_output(|| {
            DescribeRouteTablesOutput::builder()
                .route_tables(table(
                    "rtb-main",
                    None,
                    vec![route("192.168.0.0/16", "nat-1")],
                ))
                .build()
        });
    let c = clients(&[&by_stack, &by_id]);
    let route_of = |id: &str, table: &str, destination: &str, target: (&str, &str)| {
        let r: Desired<RouteSpec> = resource(
            id,
            json!({"route_table_id": table, "destination_cidr_block": destination, target.0: target.1}),
        );
        let out = route_outputs(&format!("{table}_{destination}"));
        (serde_json::to_value(&r.spec).unwrap(), recorded(&r, out))
    };
    let (public_json, public) = route_of("public", "rtb-1", "0.0.0.0/0", ("gateway_id", "igw-1"));
    let (_, peer) = route_of("peer", "rtb-1", "10.9.0.0/16", ("nat_gateway_id", "nat-1"));
    let (_, gone) = route_of("gone", "rtb-2", "10.8.0.0/16", ("nat_gateway_id", "nat-1"));
    let (_, local) = route_of("local", "rtb-1", "10.0.0.0/16", ("gateway_id", "igw-1"));
    let (_, vpn) = route_of(
        "vpn",
        "rtb-main",
        "192.168.0.0/16",
        ("nat_gateway_id", "nat-1"),
    );
    let recorded = vec![public, peer, gone, local, vpn];

    let live = RouteDriver
        .observe(&c, &crate::test_support::scope(STACK, REGION, recorded))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(by_stack.num_calls(), 1);
    assert_eq!(by_id.num_calls(), 1);
    assert_eq!(
        filter_pairs(by_id_seen.lock().unwrap()[0].filters()),
        [("route-table-id".to_string(), vec!["rtb-main".to_string()])],
        "only the recorded tables the first call did not return"
    );
    let by_id: BTreeMap<_, _> = live.into_iter().map(|l| (l.id.clone(), l)).collect();
    assert_eq!(
        by_id.keys().collect::<Vec<_>>(),
        ["peer", "public", "vpn"],
        "a route gone, or only the table's local route, is not returned"
    );
    assert_eq!(by_id["public"].outputs, route_outputs("rtb-1_0.0.0.0/0"));
    assert!(by_id["public"].tags.is_empty());
    assert_eq!(
        serde_json::to_value(by_id["public"].spec.as_ref().unwrap()).unwrap(),
        public_json,
        "unchanged, it reads as recorded"
    );
    let peer = by_id["peer"].spec.as_ref().unwrap();
    assert_eq!(
        peer.nat_gateway_id
            .as_ref()
            .and_then(|n| n.value())
            .map(String::as_str),
        Some("nat-2"),
        "the live target"
    );
    assert!(peer.gateway_id.is_none());
}
