//! Route table: a create that names a VPC not visible yet.

use super::*;
use crate::driver::Driver;
use crate::ec2::RouteTableDriver;
use crate::test_support::meta;
use aws_sdk_ec2::operation::create_route_table::{CreateRouteTableError, CreateRouteTableOutput};
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
