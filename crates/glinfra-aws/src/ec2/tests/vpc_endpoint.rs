//! VPC endpoint: gateway and interface creates, waits through AWS's camelCase
//! states, adoption, modifications from the live endpoint, deletes.

use super::*;
use crate::driver::Driver;
use crate::ec2::vpc_endpoint::add_remove;
use crate::ec2::VpcEndpointDriver;
use crate::test_support::{meta, ok_rule, recorded, recorder, Seen};
use aws_sdk_ec2::operation::create_tags::CreateTagsOutput;
use aws_sdk_ec2::operation::create_vpc_endpoint::{
    CreateVpcEndpointInput, CreateVpcEndpointOutput,
};
use aws_sdk_ec2::operation::delete_vpc_endpoints::{
    DeleteVpcEndpointsError, DeleteVpcEndpointsInput, DeleteVpcEndpointsOutput,
};
use aws_sdk_ec2::operation::describe_vpc_endpoints::{
    DescribeVpcEndpointsError, DescribeVpcEndpointsInput, DescribeVpcEndpointsOutput,
};
use aws_sdk_ec2::operation::modify_vpc_endpoint::{
    ModifyVpcEndpointInput, ModifyVpcEndpointOutput,
};
use aws_sdk_ec2::types::{
    ResourceType, SecurityGroupIdentifier, State, Tag, UnsuccessfulItem, UnsuccessfulItemError,
    VpcEndpoint, VpcEndpointType,
};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::ec2::{VpcEndpointOutputs, VpcEndpointSpec};
use glinfra_engine::ErrorClass;
use serde_json::{json, Value};

const VPCE: &str = "vpce-0123456789abcdef0";

fn vpce_outputs() -> VpcEndpointOutputs {
    VpcEndpointOutputs { id: VPCE.into() }
}

fn gateway_spec(route_tables: &[&str]) -> Value {
    json!({
        "vpc_id": "vpc-1",
        "service_name": "com.amazonaws.us-east-1.s3",
        "endpoint_type": "Gateway",
        "route_table_ids": route_tables,
    })
}

fn interface_spec(subnets: &[&str], groups: &[&str], private_dns: bool) -> Value {
    json!({
        "vpc_id": "vpc-1",
        "service_name": "com.amazonaws.us-east-1.ecr.api",
        "endpoint_type": "Interface",
        "subnet_ids": subnets,
        "security_group_ids": groups,
        "private_dns_enabled": private_dns,
    })
}

/// An endpoint in `state` as AWS spells it (camelCase, which the SDK's enum
/// does not know).
fn endpoint(id: &str, state: &str, tags: Vec<Tag>) -> VpcEndpoint {
    VpcEndpoint::builder()
        .vpc_endpoint_id(id)
        .state(State::from(state))
        .set_tags(Some(tags))
        .build()
}

fn described(e: VpcEndpoint) -> DescribeVpcEndpointsOutput {
    DescribeVpcEndpointsOutput::builder()
        .vpc_endpoints(e)
        .build()
}

/// A CreateVpcEndpoint rule answering with the endpoint in `state`, and what it is sent.
fn create_answering(state: &'static str) -> (Seen<CreateVpcEndpointInput>, Rule) {
    let (seen, see) = recorder::<CreateVpcEndpointInput>();
    let create = mock!(Client::create_vpc_endpoint)
        .match_requests(see)
        .then_output(move || {
            CreateVpcEndpointOutput::builder()
                .vpc_endpoint(endpoint(VPCE, state, vec![]))
                .build()
        });
    (seen, create)
}

/// A describe by tag filters only (a find, a refresh).
fn by_tags(req: &DescribeVpcEndpointsInput) -> bool {
    !req.filters().is_empty()
        && req
            .filters()
            .iter()
            .all(|f| f.name().is_some_and(|n| n.starts_with("tag:")))
}

/// A describe of the endpoint alone: by its id, or (a wait's shared poll) by the
/// `vpc-endpoint-id` filter naming only it.
fn by_id(req: &DescribeVpcEndpointsInput) -> bool {
    req.vpc_endpoint_ids() == [VPCE]
        || filter_pairs(req.filters()) == [("vpc-endpoint-id".to_string(), vec![VPCE.to_string()])]
}

#[tokio::test]
async fn create_gateway_endpoint_sends_route_tables_and_tags_and_needs_no_wait() {
    let (seen, create) = create_answering("available");
    // No describe rule: a gateway endpoint available at once is not polled.
    let c = clients(&[&create]);
    let r = resource::<VpcEndpointSpec>("s3", gateway_spec(&["rtb-a", "rtb-b"]));

    let out = VpcEndpointDriver.create(&c, &r).await.unwrap();

    assert_eq!(out.id, VPCE);
    let req = &seen.lock().unwrap()[0];
    assert_eq!(req.vpc_id(), Some("vpc-1"));
    assert_eq!(req.service_name(), Some("com.amazonaws.us-east-1.s3"));
    assert_eq!(req.vpc_endpoint_type(), Some(&VpcEndpointType::Gateway));
    assert_eq!(req.route_table_ids(), ["rtb-a", "rtb-b"]);
    assert!(req.subnet_ids().is_empty());
    assert!(req.security_group_ids().is_empty());
    assert_eq!(req.private_dns_enabled(), None);
    assert_eq!(
        req.tag_specifications()[0].resource_type(),
        Some(&ResourceType::VpcEndpoint)
    );
    assert_eq!(tag_map(req.tag_specifications()), r.tags);
}

#[tokio::test]
async fn create_interface_endpoint_sends_subnets_groups_dns_and_waits_through_pending() {
    let (seen, create) = create_answering("pending");
    let describe = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .sequence()
        // Not visible yet: the wait's id filter leaves it out.
        .output(|| DescribeVpcEndpointsOutput::builder().build())
        .output(|| described(endpoint(VPCE, "pending", vec![])))
        .output(|| described(endpoint(VPCE, "pendingAcceptance", vec![])))
        .output(|| described(endpoint(VPCE, "available", vec![])))
        .build();
    let c = clients(&[&create, &describe]);
    let r = resource::<VpcEndpointSpec>(
        "ecr",
        interface_spec(&["subnet-a", "subnet-b"], &["sg-1"], true),
    );

    VpcEndpointDriver.create(&c, &r).await.unwrap();

    assert_eq!(describe.num_calls(), 4);
    let req = &seen.lock().unwrap()[0];
    assert_eq!(req.vpc_endpoint_type(), Some(&VpcEndpointType::Interface));
    assert_eq!(req.service_name(), Some("com.amazonaws.us-east-1.ecr.api"));
    assert_eq!(req.subnet_ids(), ["subnet-a", "subnet-b"]);
    assert_eq!(req.security_group_ids(), ["sg-1"]);
    assert_eq!(req.private_dns_enabled(), Some(true));
    assert!(req.route_table_ids().is_empty());
}

#[tokio::test]
async fn create_endpoint_that_fails_is_fatal_with_the_reason() {
    let create = mock!(Client::create_vpc_endpoint).then_output(|| {
        CreateVpcEndpointOutput::builder()
            .vpc_endpoint(endpoint(VPCE, "pending", vec![]))
            .build()
    });
    let describe = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .then_output(|| {
            let mut e = endpoint(VPCE, "failed", vec![]);
            e.failure_reason = Some("subnet has no free addresses".into());
            described(e)
        });
    let c = clients(&[&create, &describe]);
    let r = resource::<VpcEndpointSpec>("ecr", interface_spec(&["subnet-a"], &[], false));

    let err = VpcEndpointDriver.create(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("no free addresses"), "{}", err.message);
}

#[tokio::test]
async fn find_endpoint_adopts_our_live_one_and_skips_foreign_and_dead_ones() {
    let (seen, see) = recorder::<DescribeVpcEndpointsInput>();
    let list = mock!(Client::describe_vpc_endpoints)
        .match_requests(move |req| by_tags(req) && see(req))
        .sequence()
        .output(|| {
            DescribeVpcEndpointsOutput::builder()
                .vpc_endpoints(endpoint("vpce-0dead", "deleted", owner_tags(STACK, "s3")))
                .vpc_endpoints(endpoint("vpce-0fail", "failed", owner_tags(STACK, "s3")))
                .vpc_endpoints(endpoint("vpce-0rej", "rejected", owner_tags(STACK, "s3")))
                .vpc_endpoints(endpoint(
                    "vpce-0other",
                    "available",
                    owner_tags("otherstack", "s3"),
                ))
                .vpc_endpoints(endpoint(VPCE, "pending", owner_tags(STACK, "s3")))
                .build()
        })
        .output(|| {
            DescribeVpcEndpointsOutput::builder()
                .vpc_endpoints(endpoint(
                    "vpce-0other",
                    "available",
                    owner_tags("otherstack", "s3"),
                ))
                .build()
        })
        .build();
    // Ours is still pending: find waits until it is available.
    let poll = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .then_output(|| described(endpoint(VPCE, "available", vec![])));
    let c = clients(&[&list, &poll]);
    let r = resource::<VpcEndpointSpec>("s3", gateway_spec(&["rtb-a"]));

    let found = VpcEndpointDriver.find(&c, &r).await.unwrap().unwrap();
    assert_eq!(found.id, VPCE);
    assert_eq!(poll.num_calls(), 1);
    assert_eq!(
        filter_pairs(seen.lock().unwrap()[0].filters()),
        owner_filter_pairs("s3")
    );

    assert_eq!(VpcEndpointDriver.find(&c, &r).await.unwrap(), None);
}

#[tokio::test]
async fn find_endpoint_waits_for_a_deleting_one_to_go_then_finds_nothing() {
    let list = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_tags)
        .then_output(|| described(endpoint(VPCE, "deleting", owner_tags(STACK, "s3"))));
    let poll = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .sequence()
        .output(|| described(endpoint(VPCE, "deleting", vec![])))
        .output(|| described(endpoint(VPCE, "deleted", vec![])))
        .build();
    let c = clients(&[&list, &poll]);
    let r = resource::<VpcEndpointSpec>("s3", gateway_spec(&["rtb-a"]));

    assert_eq!(VpcEndpointDriver.find(&c, &r).await.unwrap(), None);
    assert_eq!(poll.num_calls(), 2);
}

#[tokio::test]
async fn update_gateway_endpoint_adds_and_removes_route_tables_from_the_live_ones() {
    let (seen, see) = recorder::<ModifyVpcEndpointInput>();
    let describe = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .sequence()
        .output(|| {
            let mut e = endpoint(VPCE, "available", vec![]);
            e.route_table_ids = Some(vec!["rtb-a".into(), "rtb-b".into()]);
            described(e)
        })
        .output(|| described(endpoint(VPCE, "available", vec![])))
        .build();
    let modify = mock!(Client::modify_vpc_endpoint)
        .match_requests(see)
        .then_output(|| ModifyVpcEndpointOutput::builder().r#return(true).build());
    let c = clients(&[&describe, &modify]);
    let r = resource::<VpcEndpointSpec>("s3", gateway_spec(&["rtb-b", "rtb-c"]));
    let prior = recorded(&r, vpce_outputs());

    let out = VpcEndpointDriver
        .update(&c, &prior, &r, Changed(&["route_table_ids".to_string()]))
        .await
        .unwrap();

    assert_eq!(out, prior.outputs);
    let req = &seen.lock().unwrap()[0];
    assert_eq!(req.vpc_endpoint_id(), Some(VPCE));
    assert_eq!(req.add_route_table_ids(), ["rtb-c"]);
    assert_eq!(req.remove_route_table_ids(), ["rtb-a"]);
    assert!(req.add_subnet_ids().is_empty());
    assert_eq!(req.private_dns_enabled(), None);
    // Waited until usable again after the modification.
    assert_eq!(describe.num_calls(), 2);
}

fn live_interface() -> VpcEndpoint {
    let mut e = endpoint(VPCE, "available", vec![]);
    e.subnet_ids = Some(vec!["subnet-a".into()]);
    e.groups = Some(vec![SecurityGroupIdentifier::builder()
        .group_id("sg-1")
        .build()]);
    e.private_dns_enabled = Some(true);
    e
}

#[tokio::test]
async fn update_interface_endpoint_changes_each_named_field() {
    let (seen, see) = recorder::<ModifyVpcEndpointInput>();
    let describe = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .then_output(|| described(live_interface()));
    let modify = mock!(Client::modify_vpc_endpoint)
        .match_requests(see)
        .then_output(|| ModifyVpcEndpointOutput::builder().r#return(true).build());
    let c = clients(&[&describe, &modify]);
    let r = resource::<VpcEndpointSpec>(
        "ecr",
        interface_spec(&["subnet-a", "subnet-b"], &["sg-2"], false),
    );
    let prior = recorded(&r, vpce_outputs());

    for field in ["subnet_ids", "security_group_ids", "private_dns_enabled"] {
        VpcEndpointDriver
            .update(&c, &prior, &r, Changed(&[field.to_string()]))
            .await
            .unwrap();
    }

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    // subnet_ids only
    assert_eq!(seen[0].add_subnet_ids(), ["subnet-b"]);
    assert!(seen[0].remove_subnet_ids().is_empty());
    assert!(seen[0].add_security_group_ids().is_empty());
    assert_eq!(seen[0].private_dns_enabled(), None);
    // security_group_ids only
    assert_eq!(seen[1].add_security_group_ids(), ["sg-2"]);
    assert_eq!(seen[1].remove_security_group_ids(), ["sg-1"]);
    assert!(seen[1].add_subnet_ids().is_empty());
    // private_dns_enabled only
    assert_eq!(seen[2].private_dns_enabled(), Some(false));
    assert!(seen[2].add_subnet_ids().is_empty());
    assert!(seen[2].add_security_group_ids().is_empty());
}

#[tokio::test]
async fn update_endpoint_already_in_line_sends_no_modify() {
    let describe = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .then_output(|| described(live_interface()));
    let create_tags =
        mock!(Client::create_tags).then_output(|| CreateTagsOutput::builder().build());
    // No modify rule: a ModifyVpcEndpoint call panics.
    let c = clients(&[&describe, &create_tags]);
    let r = resource::<VpcEndpointSpec>("ecr", interface_spec(&["subnet-a"], &["sg-1"], true));
    let prior = recorded(&r, vpce_outputs());

    VpcEndpointDriver
        .update(&c, &prior, &r, Changed(&[]))
        .await
        .unwrap();
    assert_eq!(describe.num_calls(), 1);
    assert_eq!(
        create_tags.num_calls(),
        1,
        "a full reconcile sets every tag"
    );
}

#[tokio::test]
async fn delete_endpoint_already_gone_makes_no_delete_call() {
    let describe = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .sequence()
        .error(|| DescribeVpcEndpointsError::generic(meta("InvalidVpcEndpointId.NotFound")))
        .output(|| described(endpoint(VPCE, "deleted", vec![])))
        .build();
    // No DeleteVpcEndpoints rule: a call panics.
    let c = clients(&[&describe]);
    let r = resource::<VpcEndpointSpec>("s3", gateway_spec(&["rtb-a"]));
    let prior = recorded(&r, vpce_outputs());

    VpcEndpointDriver.delete(&c, &prior).await.unwrap();
    VpcEndpointDriver.delete(&c, &prior).await.unwrap();
}

#[tokio::test]
async fn delete_endpoint_waits_until_gone() {
    let (seen, see) = recorder::<DeleteVpcEndpointsInput>();
    let describe = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .sequence()
        .output(|| described(endpoint(VPCE, "available", vec![])))
        .output(|| described(endpoint(VPCE, "deleting", vec![])))
        .output(|| described(endpoint(VPCE, "deleting", vec![])))
        // Gone: the wait's id filter leaves it out.
        .output(|| DescribeVpcEndpointsOutput::builder().build())
        .build();
    let delete = ok_rule!(Client::delete_vpc_endpoints(see) -> DeleteVpcEndpointsOutput);
    let c = clients(&[&describe, &delete]);
    let r = resource::<VpcEndpointSpec>("s3", gateway_spec(&["rtb-a"]));

    VpcEndpointDriver
        .delete(&c, &recorded(&r, vpce_outputs()))
        .await
        .unwrap();

    assert_eq!(seen.lock().unwrap()[0].vpc_endpoint_ids(), [VPCE]);
    assert_eq!(describe.num_calls(), 4);
}

fn unsuccessful(code: &str) -> DeleteVpcEndpointsOutput {
    DeleteVpcEndpointsOutput::builder()
        .unsuccessful(
            UnsuccessfulItem::builder()
                .resource_id(VPCE)
                .error(
                    UnsuccessfulItemError::builder()
                        .code(code)
                        .message("mocked")
                        .build(),
                )
                .build(),
        )
        .build()
}

#[tokio::test]
async fn delete_endpoint_reads_the_unsuccessful_list() {
    let describe = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .sequence()
        // First delete: NotFound in the list is success; then it is gone.
        .output(|| described(endpoint(VPCE, "available", vec![])))
        .output(|| DescribeVpcEndpointsOutput::builder().build())
        // Second delete: another error in the list fails the delete.
        .output(|| described(endpoint(VPCE, "available", vec![])))
        .build();
    let delete = mock!(Client::delete_vpc_endpoints)
        .sequence()
        .output(|| unsuccessful("InvalidVpcEndpoint.NotFound"))
        .output(|| unsuccessful("InvalidParameter"))
        .build();
    let c = clients(&[&describe, &delete]);
    let r = resource::<VpcEndpointSpec>("s3", gateway_spec(&["rtb-a"]));
    let prior = recorded(&r, vpce_outputs());

    VpcEndpointDriver.delete(&c, &prior).await.unwrap();
    let err = VpcEndpointDriver.delete(&c, &prior).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid);
    assert!(err.message.contains("InvalidParameter"), "{}", err.message);
}

#[tokio::test]
async fn delete_endpoint_failing_on_something_else_not_found_is_no_success() {
    let describe = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .then_output(|| described(endpoint(VPCE, "available", vec![])));
    let delete = mock!(Client::delete_vpc_endpoints)
        .then_error(|| DeleteVpcEndpointsError::generic(meta("InvalidRoute.NotFound")));
    let c = clients(&[&describe, &delete]);
    let r = resource::<VpcEndpointSpec>("s3", gateway_spec(&["rtb-a"]));

    let err = VpcEndpointDriver
        .delete(&c, &recorded(&r, vpce_outputs()))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
}

#[test]
fn add_remove_is_a_set_difference() {
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        add_remove(&s(&["a", "b"]), &s(&["c", "b", "c"])),
        (s(&["c"]), s(&["a"]))
    );
}

#[tokio::test]
async fn observe_reads_every_live_endpoint_of_the_stack_in_one_call() {
    let (seen, see) = recorder::<DescribeVpcEndpointsInput>();
    let live_endpoint = |id: &str, logical: &str, stack: &str, state: &str| {
        VpcEndpoint::builder()
            .vpc_endpoint_id(id)
            .vpc_id("vpc-1")
            .state(State::from(state))
            .set_tags(Some(owner_tags(stack, logical)))
    };
    let list = mock!(Client::describe_vpc_endpoints)
        .match_requests(see)
        .then_output(move || {
            DescribeVpcEndpointsOutput::builder()
                // The route tables in another order than recorded.
                .vpc_endpoints(
                    live_endpoint("vpce-1", "s3", STACK, "available")
                        .service_name("com.amazonaws.us-east-1.s3")
                        .vpc_endpoint_type(VpcEndpointType::Gateway)
                        .route_table_ids("rtb-b")
                        .route_table_ids("rtb-a")
                        .private_dns_enabled(false)
                        .build(),
                )
                // A subnet gone; the VPC's default group AWS gave it, the spec naming none.
                .vpc_endpoints(
                    live_endpoint("vpce-2", "ecr", STACK, "available")
                        .service_name("com.amazonaws.us-east-1.ecr.api")
                        .vpc_endpoint_type(VpcEndpointType::Interface)
                        .subnet_ids("subnet-1")
                        .groups(
                            SecurityGroupIdentifier::builder()
                                .group_id("sg-default")
                                .build(),
                        )
                        .private_dns_enabled(true)
                        .build(),
                )
                .vpc_endpoints(live_endpoint("vpce-3", "sts", STACK, "deleting").build())
                .vpc_endpoints(live_endpoint("vpce-4", "logs", STACK, "failed").build())
                .vpc_endpoints(live_endpoint("vpce-5", "s3", "other", "available").build())
                .build()
        });
    let c = clients(&[&list]);
    let s3 = resource::<VpcEndpointSpec>("s3", gateway_spec(&["rtb-a", "rtb-b"]));
    let ecr =
        resource::<VpcEndpointSpec>("ecr", interface_spec(&["subnet-1", "subnet-2"], &[], true));
    let out = |id: &str| VpcEndpointOutputs { id: id.into() };
    let recorded = vec![recorded(&s3, out("vpce-1")), recorded(&ecr, out("vpce-2"))];

    let live = observe_stack(&VpcEndpointDriver, &c, recorded, &list, || {
        seen.lock().unwrap()[0].filters().to_vec()
    })
    .await;
    let ids = live_ids(&live);
    assert_eq!(
        ids,
        ["s3", "ecr"],
        "deleting, failed and others' are skipped"
    );
    assert_eq!(live[0].outputs, out("vpce-1"));
    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&s3.spec).unwrap(),
        "unchanged, it reads as recorded, in the recorded order"
    );
    assert_eq!(
        serde_json::to_value(live[1].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(
            resource::<VpcEndpointSpec>("ecr", interface_spec(&["subnet-1"], &[], true)).spec
        )
        .unwrap(),
        "the live subnets; the groups the spec leaves to AWS kept as recorded"
    );
}

/// A retried CreateVpcEndpoint (the engine's retry after a lost response) sends
/// the same client token, the engine's.
#[tokio::test]
async fn create_endpoint_sends_the_engines_client_token_on_every_try() {
    let (seen, create) = create_answering("available");
    let c = clients(&[&create]);
    let r = resource::<VpcEndpointSpec>("s3", gateway_spec(&["rtb-a"]));
    let r = crate::test_support::with_token(r, 3);

    VpcEndpointDriver.create(&c, &r).await.unwrap();
    VpcEndpointDriver.create(&c, &r).await.unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    for req in seen.iter() {
        assert_eq!(req.client_token(), r.token().as_deref());
    }
    assert!(seen[0].client_token().is_some());
}
