//! Route table association: associate, find by table and subnet, disassociate,
//! refresh through the tables.

use super::*;
use crate::driver::Driver;
use crate::ec2::RouteTableAssociationDriver;
use crate::test_support::{meta, recorded};
use aws_sdk_ec2::operation::associate_route_table::AssociateRouteTableOutput;
use aws_sdk_ec2::operation::describe_route_tables::{
    DescribeRouteTablesInput, DescribeRouteTablesOutput,
};
use aws_sdk_ec2::operation::disassociate_route_table::DisassociateRouteTableError;
use aws_sdk_ec2::types::{
    RouteTable, RouteTableAssociation, RouteTableAssociationState, RouteTableAssociationStateCode,
};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::ec2::{RouteTableAssociationOutputs, RouteTableAssociationSpec};
use serde_json::json;

fn association_resource() -> Desired<RouteTableAssociationSpec> {
    resource(
        "private-a-routes",
        json!({"route_table_id": "rtb-1", "subnet_id": "subnet-1"}),
    )
}

fn association_outputs(id: &str) -> RouteTableAssociationOutputs {
    RouteTableAssociationOutputs { id: id.into() }
}

#[tokio::test]
async fn associate_route_table_returns_the_association_id() {
    let associate = mock!(Client::associate_route_table)
        .match_requests(|req| {
            req.route_table_id() == Some("rtb-1") && req.subnet_id() == Some("subnet-1")
        })
        .then_output(|| {
            AssociateRouteTableOutput::builder()
                .association_id("rtbassoc-1")
                .association_state(
                    RouteTableAssociationState::builder()
                        .state(RouteTableAssociationStateCode::Associated)
                        .build(),
                )
                .build()
        });
    let c = clients(&[&associate]);
    assert_eq!(
        RouteTableAssociationDriver
            .create(&c, &association_resource())
            .await
            .unwrap(),
        association_outputs("rtbassoc-1")
    );
}

/// Association `id` of table `rtb-1` with `subnet`, in `state`.
fn association(
    id: &str,
    subnet: &str,
    state: RouteTableAssociationStateCode,
) -> RouteTableAssociation {
    RouteTableAssociation::builder()
        .route_table_association_id(id)
        .route_table_id("rtb-1")
        .subnet_id(subnet)
        .association_state(RouteTableAssociationState::builder().state(state).build())
        .build()
}

#[tokio::test]
async fn find_association_by_table_and_subnet() {
    let table = RouteTable::builder()
        .route_table_id("rtb-1")
        .associations(association(
            "rtbassoc-old",
            "subnet-1",
            RouteTableAssociationStateCode::Disassociated,
        ))
        .associations(association(
            "rtbassoc-b",
            "subnet-2",
            RouteTableAssociationStateCode::Associated,
        ))
        .associations(association(
            "rtbassoc-a",
            "subnet-1",
            RouteTableAssociationStateCode::Associated,
        ))
        .build();
    let describe = mock!(Client::describe_route_tables).then_output(move || {
        DescribeRouteTablesOutput::builder()
            .route_tables(table.clone())
            .build()
    });
    let c = clients(&[&describe]);
    assert_eq!(
        RouteTableAssociationDriver
            .find(&c, &association_resource())
            .await
            .unwrap(),
        Some(association_outputs("rtbassoc-a"))
    );
}

#[tokio::test]
async fn disassociate_already_gone_succeeds() {
    let disassociate = mock!(Client::disassociate_route_table)
        .match_requests(|req| req.association_id() == Some("rtbassoc-1"))
        .then_error(|| DisassociateRouteTableError::generic(meta("InvalidAssociationID.NotFound")));
    let c = clients(&[&disassociate]);
    RouteTableAssociationDriver
        .delete(
            &c,
            &recorded(&association_resource(), association_outputs("rtbassoc-1")),
        )
        .await
        .unwrap();
    assert_eq!(disassociate.num_calls(), 1);
}

#[tokio::test]
async fn observe_reads_recorded_associations_through_their_tables_in_one_call() {
    let (described, see) = crate::test_support::recorder::<DescribeRouteTablesInput>();
    let table = RouteTable::builder()
        .route_table_id("rtb-1")
        .associations(association(
            "rtbassoc-a",
            "subnet-1",
            RouteTableAssociationStateCode::Associated,
        ))
        .associations(association(
            "rtbassoc-b",
            "subnet-2",
            RouteTableAssociationStateCode::Disassociating,
        ))
        .set_tags(Some(owner_tags(STACK, "private")))
        .build();
    let describe = mock!(Client::describe_route_tables)
        .match_requests(see)
        .then_output(move || {
            DescribeRouteTablesOutput::builder()
                .route_tables(table.clone())
                .build()
        });
    let c = clients(&[&describe]);
    let of = |id: &str, subnet: &str, association: &str| {
        let r: Desired<RouteTableAssociationSpec> =
            resource(id, json!({"route_table_id": "rtb-1", "subnet_id": subnet}));
        recorded(&r, association_outputs(association))
    };
    let recorded = vec![
        of("private-a-routes", "subnet-1", "rtbassoc-a"),
        of("private-b-routes", "subnet-2", "rtbassoc-b"),
        of("private-c-routes", "subnet-3", "rtbassoc-c"),
    ];

    let live = RouteTableAssociationDriver
        .observe(&c, &crate::test_support::scope(STACK, REGION, recorded))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        describe.num_calls(),
        1,
        "every table is the stack's: one call"
    );
    assert_eq!(
        filter_pairs(described.lock().unwrap()[0].filters()),
        stack_filter_pairs()
    );
    assert_eq!(live.len(), 1, "one going away, one gone: not returned");
    assert_eq!(live[0].id, "private-a-routes");
    assert_eq!(live[0].outputs, association_outputs("rtbassoc-a"));
    assert!(live[0].tags.is_empty());
    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        json!({"route_table_id": "rtb-1", "subnet_id": "subnet-1"}),
        "unchanged, it reads as recorded"
    );
}

#[tokio::test]
async fn an_association_moved_to_another_table_is_replaced_in_one_call() {
    use aws_sdk_ec2::operation::replace_route_table_association::{
        ReplaceRouteTableAssociationInput, ReplaceRouteTableAssociationOutput,
    };
    let (seen, see) = crate::test_support::recorder::<ReplaceRouteTableAssociationInput>();
    // The new table does not have the subnet yet.
    let describe = mock!(Client::describe_route_tables)
        .match_requests(|req: &DescribeRouteTablesInput| {
            req.filters()
                .iter()
                .any(|f| f.name() == Some("route-table-id") && f.values() == ["rtb-2".to_string()])
        })
        .then_output(|| {
            DescribeRouteTablesOutput::builder()
                .route_tables(RouteTable::builder().route_table_id("rtb-2").build())
                .build()
        });
    let replace = mock!(Client::replace_route_table_association)
        .match_requests(see)
        .then_output(|| {
            ReplaceRouteTableAssociationOutput::builder()
                .new_association_id("rtbassoc-2")
                .association_state(
                    RouteTableAssociationState::builder()
                        .state(RouteTableAssociationStateCode::Associated)
                        .build(),
                )
                .build()
        });
    // No associate or disassociate rule: the subnet is never without a table.
    let c = clients(&[&describe, &replace]);
    let prior = recorded(&association_resource(), association_outputs("rtbassoc-1"));
    let moved = resource(
        "private-a-routes",
        json!({"route_table_id": "rtb-2", "subnet_id": "subnet-1"}),
    );

    let out = crate::test_support::update(
        &RouteTableAssociationDriver,
        &c,
        &prior,
        &moved,
        &["route_table_id"],
    )
    .await
    .unwrap();

    assert_eq!(out, association_outputs("rtbassoc-2"));
    let sent = seen.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].association_id(), Some("rtbassoc-1"));
    assert_eq!(sent[0].route_table_id(), Some("rtb-2"));
}
