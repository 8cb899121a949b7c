//! Route table: a create that names a VPC not visible yet; refresh.

use super::*;
use crate::driver::Driver;
use crate::ec2::RouteTableDriver;
use crate::kit::tags;
use crate::test_support::meta;
use aws_sdk_ec2::operation::create_route_table::{
    CreateRouteTableError, CreateRouteTableInput, CreateRouteTableOutput,
};
use aws_sdk_ec2::operation::describe_route_tables::{
    DescribeRouteTablesInput, DescribeRouteTablesOutput,
};
use aws_sdk_ec2::types::RouteTable;
use aws_sdk_ec2::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::ec2::{RouteTableOutputs, RouteTableSpec};
use serde_json::json;

#[tokio::test]
async fn create_route_table_waits_out_a_vpc_not_visible_yet() {
    let create = mock!(Client::create_route_table)
        .match_requests(|req| req.vpc_id() == Some("vpc-1"))
        .sequence()
        .error(|| CreateRouteTableError::generic(meta("InvalidVpcID.NotFound")))
        .output(|| {
            CreateRouteTableOutput::builder()
                .route_table(RouteTable::builder().route_table_id("rtb-1").build())
                .build()
        })
        .build();
    let c = clients(&[&create]);
    let r: Desired<RouteTableSpec> = resource("private", json!({"vpc_id": "vpc-1"}));
    assert_eq!(
        RouteTableDriver.create(&c, &r).await.unwrap(),
        RouteTableOutputs { id: "rtb-1".into() }
    );
    assert_eq!(create.num_calls(), 2);
}

/// Every CreateRouteTable of one create (the driver's while the VPC is not
/// visible, the engine's after a lost response) sends the engine's token: AWS
/// would otherwise make a second table.
#[tokio::test]
async fn create_route_table_sends_the_engines_client_token_on_every_try() {
    let (seen, see) = crate::test_support::recorder::<CreateRouteTableInput>();
    let create = mock!(Client::create_route_table)
        .match_requests(see)
        .sequence()
        .error(|| CreateRouteTableError::generic(meta("InvalidVpcID.NotFound")))
        .output(|| {
            CreateRouteTableOutput::builder()
                .route_table(RouteTable::builder().route_table_id("rtb-1").build())
                .build()
        })
        .times(2)
        .build();
    let c = clients(&[&create]);
    let r: Desired<RouteTableSpec> = resource("private", json!({"vpc_id": "vpc-1"}));
    let r = crate::test_support::with_token(r, 11);
    for _ in 0..2 {
        RouteTableDriver.create(&c, &r).await.unwrap();
    }
    let sent: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|req| req.client_token().map(str::to_string))
        .collect();
    assert_eq!(sent, vec![r.token(); 3]);
    assert!(r.token().is_some());
}

#[tokio::test]
async fn observe_reads_every_table_of_the_stack_in_one_call() {
    let (described, see) = crate::test_support::recorder::<DescribeRouteTablesInput>();
    let table = |id: &str, vpc: &str, stack: &str, logical: &str| {
        RouteTable::builder()
            .route_table_id(id)
            .vpc_id(vpc)
            .set_tags(Some(owner_tags(stack, logical)))
            .build()
    };
    let list = mock!(Client::describe_route_tables)
        .match_requests(see)
        .then_output(move || {
            DescribeRouteTablesOutput::builder()
                .route_tables(table("rtb-1", "vpc-1", STACK, "public"))
                .route_tables(table("rtb-2", "vpc-9", STACK, "private"))
                .route_tables(table("rtb-3", "vpc-1", "other", "public"))
                .build()
        });
    let c = clients(&[&list]);
    let public: Desired<RouteTableSpec> = resource("public", json!({"vpc_id": "vpc-1"}));
    let private: Desired<RouteTableSpec> = resource("private", json!({"vpc_id": "vpc-1"}));
    let recorded = vec![
        crate::test_support::recorded(&public, RouteTableOutputs { id: "rtb-1".into() }),
        crate::test_support::recorded(&private, RouteTableOutputs { id: "rtb-2".into() }),
    ];

    let live = observe_stack(&RouteTableDriver, &c, recorded, &list, || {
        described.lock().unwrap()[0].filters().to_vec()
    })
    .await;
    assert_eq!(live.len(), 2, "another stack's table is dropped");
    assert_eq!(live[0].id, "public");
    assert_eq!(live[0].outputs, RouteTableOutputs { id: "rtb-1".into() });
    assert_eq!(live[0].tags, tags::from_sdk(&owner_tags(STACK, "public")));
    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        json!({"vpc_id": "vpc-1"}),
        "unchanged, it reads as recorded"
    );
    assert_eq!(live[1].id, "private");
    assert_eq!(
        live[1]
            .spec
            .as_ref()
            .unwrap()
            .vpc_id
            .value()
            .map(String::as_str),
        Some("vpc-9"),
        "the live VPC"
    );
}
