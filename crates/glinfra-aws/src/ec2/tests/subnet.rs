//! Subnet: tagged create, public IP mapping, find by tags then delete.

use super::*;
use crate::driver::Driver;
use crate::ec2::SubnetDriver;
use crate::test_support::{delete_found, ok_rule, recorder};
use aws_sdk_ec2::operation::create_subnet::{CreateSubnetInput, CreateSubnetOutput};
use aws_sdk_ec2::operation::delete_subnet::DeleteSubnetOutput;
use aws_sdk_ec2::operation::describe_subnets::{DescribeSubnetsInput, DescribeSubnetsOutput};
use aws_sdk_ec2::operation::modify_subnet_attribute::{
    ModifySubnetAttributeInput, ModifySubnetAttributeOutput,
};
use aws_sdk_ec2::types::{ResourceType, Subnet, SubnetState};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::ec2::{SubnetOutputs, SubnetSpec};
use serde_json::json;

fn private_a() -> Desired<SubnetSpec> {
    resource(
        "private-a",
        json!({"vpc_id": "vpc-1", "cidr_block": "10.0.2.0/24", "availability_zone": "us-east-1a", "map_public_ip_on_launch": false}),
    )
}

#[tokio::test]
async fn create_public_subnet_maps_public_ips_and_keeps_the_returned_arn() {
    let (created, see_created) = recorder::<CreateSubnetInput>();
    let (modified, see_modified) = recorder::<ModifySubnetAttributeInput>();
    let create = mock!(Client::create_subnet)
        .match_requests(see_created)
        .then_output(|| {
            CreateSubnetOutput::builder()
                .subnet(
                    Subnet::builder()
                        .subnet_id("subnet-1")
                        .subnet_arn("arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1")
                        .owner_id(ACCOUNT)
                        .state(SubnetState::Available)
                        .build(),
                )
                .build()
        });
    let modify =
        ok_rule!(Client::modify_subnet_attribute(see_modified) -> ModifySubnetAttributeOutput);
    let c = clients(&[&create, &modify]);
    let r: Desired<SubnetSpec> = resource(
        "public-a",
        json!({"vpc_id": "vpc-1", "cidr_block": "10.0.1.0/24", "availability_zone": "us-east-1a", "map_public_ip_on_launch": true}),
    );

    let out = SubnetDriver.create(&c, &r).await.unwrap();

    assert_eq!(
        out,
        SubnetOutputs {
            id: "subnet-1".into(),
            arn: "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1".into()
        }
    );
    let req = &created.lock().unwrap()[0];
    assert_eq!(req.vpc_id(), Some("vpc-1"));
    assert_eq!(req.cidr_block(), Some("10.0.1.0/24"));
    assert_eq!(req.availability_zone(), Some("us-east-1a"));
    assert_eq!(
        req.tag_specifications()[0].resource_type(),
        Some(&ResourceType::Subnet)
    );
    assert_eq!(tag_map(req.tag_specifications()), r.tags);
    let m = &modified.lock().unwrap()[0];
    assert_eq!(m.subnet_id(), Some("subnet-1"));
    assert_eq!(
        m.map_public_ip_on_launch().and_then(|a| a.value()),
        Some(true)
    );
}

#[tokio::test]
async fn create_private_subnet_makes_no_attribute_call() {
    // No ModifySubnetAttribute rule: a call would panic the mock.
    let create = mock!(Client::create_subnet).then_output(|| {
        CreateSubnetOutput::builder()
            .subnet(
                Subnet::builder()
                    .subnet_id("subnet-2")
                    .owner_id(ACCOUNT)
                    .state(SubnetState::Available)
                    .build(),
            )
            .build()
    });
    let c = clients(&[&create]);
    let out = SubnetDriver.create(&c, &private_a()).await.unwrap();
    // Without an ARN in the response, it is built from the owner id.
    assert_eq!(
        out.arn,
        "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-2"
    );
}

/// What a create cut short left (tagged, not recorded) is found by its tags, and
/// deleted from what `find` returned: the executor records it, then deletes it.
#[tokio::test]
async fn a_subnet_left_by_a_cut_short_create_is_found_by_tags_and_deleted() {
    let (seen, see) = recorder::<DescribeSubnetsInput>();
    let describe = mock!(Client::describe_subnets)
        .match_requests(see)
        .then_output(|| {
            DescribeSubnetsOutput::builder()
                .subnets(
                    Subnet::builder()
                        .subnet_id("subnet-7")
                        .owner_id(ACCOUNT)
                        .state(SubnetState::Available)
                        .set_tags(Some(owner_tags(STACK, "private-a")))
                        .build(),
                )
                .build()
        });
    let delete = mock!(Client::delete_subnet)
        .match_requests(|req| req.subnet_id() == Some("subnet-7"))
        .then_output(|| DeleteSubnetOutput::builder().build());
    let c = clients(&[&describe, &delete]);
    let r = private_a();

    delete_found(&SubnetDriver, &c, &r).await;

    assert_eq!(
        filter_pairs(seen.lock().unwrap()[0].filters()),
        owner_filter_pairs("private-a")
    );
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn find_subnet_with_nothing_tagged_finds_nothing() {
    let describe =
        mock!(Client::describe_subnets).then_output(|| DescribeSubnetsOutput::builder().build());
    let c = clients(&[&describe]);
    assert_eq!(SubnetDriver.find(&c, &private_a()).await.unwrap(), None);
    assert_eq!(describe.num_calls(), 1);
}

#[tokio::test]
async fn observe_reads_every_subnet_of_the_stack_in_one_call() {
    let (described, see) = recorder::<DescribeSubnetsInput>();
    let subnet = |id: &str, logical: &str, stack: &str, public: bool| {
        Subnet::builder()
            .subnet_id(id)
            .owner_id(ACCOUNT)
            .vpc_id("vpc-1")
            .cidr_block("10.0.2.0/24")
            .availability_zone("us-east-1a")
            .map_public_ip_on_launch(public)
            .state(SubnetState::Available)
            .set_tags(Some(owner_tags(stack, logical)))
            .build()
    };
    let list = mock!(Client::describe_subnets)
        .match_requests(see)
        .then_output(move || {
            DescribeSubnetsOutput::builder()
                .subnets(subnet("subnet-1", "private-a", STACK, true))
                // A service that ignores the filter cannot hand us another stack's subnet.
                .subnets(subnet("subnet-2", "private-a", "other", false))
                .build()
        });
    let c = clients(&[&list]);
    let live = SubnetDriver
        .observe(&c, &crate::test_support::scope(STACK, REGION, vec![]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        filter_pairs(described.lock().unwrap()[0].filters()),
        vec![("tag:glinfra:stack".to_string(), vec![STACK.to_string()])]
    );
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, "private-a");
    assert_eq!(live[0].outputs.id, "subnet-1");
    let spec = live[0].spec.as_ref().unwrap();
    assert!(
        spec.map_public_ip_on_launch,
        "the live value, not the recorded one"
    );
    assert_eq!(spec.vpc_id.value().map(String::as_str), Some("vpc-1"));
}
