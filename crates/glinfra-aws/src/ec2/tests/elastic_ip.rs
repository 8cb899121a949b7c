//! Elastic IP: allocation in the VPC domain, release conflicts, release of what is gone.

use super::*;
use crate::driver::Driver;
use crate::ec2::ElasticIpDriver;
use crate::test_support::{meta, recorded};
use aws_sdk_ec2::operation::allocate_address::AllocateAddressOutput;
use aws_sdk_ec2::operation::describe_addresses::{
    DescribeAddressesError, DescribeAddressesInput, DescribeAddressesOutput,
};
use aws_sdk_ec2::operation::release_address::{ReleaseAddressError, ReleaseAddressOutput};
use aws_sdk_ec2::types::{Address, DomainType, ResourceType};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::ec2::{ElasticIpOutputs, ElasticIpSpec};
use glinfra_engine::ErrorClass;
use serde_json::json;

fn eip_resource() -> Desired<ElasticIpSpec> {
    resource("nat-ip", json!({}))
}

fn eip_outputs(allocation_id: &str, public_ip: &str) -> ElasticIpOutputs {
    ElasticIpOutputs {
        allocation_id: allocation_id.into(),
        public_ip: public_ip.into(),
    }
}

#[tokio::test]
async fn allocate_address_in_the_vpc_domain_with_tags() {
    let allocate = mock!(Client::allocate_address)
        .match_requests(|req| {
            req.domain() == Some(&DomainType::Vpc)
                && req.tag_specifications()[0].resource_type() == Some(&ResourceType::ElasticIp)
                && tag_map(req.tag_specifications())["glinfra:logical-id"] == "nat-ip"
        })
        .then_output(|| {
            AllocateAddressOutput::builder()
                .allocation_id("eipalloc-1")
                .public_ip("203.0.113.7")
                .build()
        });
    let c = clients(&[&allocate]);
    let out = ElasticIpDriver.create(&c, &eip_resource()).await.unwrap();
    assert_eq!(out, eip_outputs("eipalloc-1", "203.0.113.7"));
}

#[tokio::test]
async fn release_of_an_address_still_associated_is_retryable() {
    let describe = mock!(Client::describe_addresses)
        .match_requests(|req| req.allocation_ids() == ["eipalloc-1"])
        .then_output(|| {
            DescribeAddressesOutput::builder()
                .addresses(
                    Address::builder()
                        .allocation_id("eipalloc-1")
                        .association_id("eipassoc-1")
                        .build(),
                )
                .build()
        });
    let release = mock!(Client::release_address)
        .then_error(|| ReleaseAddressError::generic(meta("InvalidIPAddress.InUse")));
    let c = clients(&[&describe, &release]);
    let prior = recorded(&eip_resource(), eip_outputs("eipalloc-1", "203.0.113.7"));
    let err = ElasticIpDriver.delete(&c, &prior).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable, "{err}");
    assert!(err.message.contains("eipassoc-1"), "{err}");
}

#[tokio::test]
async fn release_conflicts_are_retryable_and_gone_is_success() {
    let free = || {
        DescribeAddressesOutput::builder()
            .addresses(Address::builder().allocation_id("eipalloc-1").build())
            .build()
    };
    let describe = mock!(Client::describe_addresses)
        .sequence()
        .output(free)
        .output(free)
        .output(free)
        .error(|| DescribeAddressesError::generic(meta("InvalidAllocationID.NotFound")))
        .build();
    let release = mock!(Client::release_address)
        .match_requests(|req| req.allocation_id() == Some("eipalloc-1"))
        .sequence()
        .error(|| ReleaseAddressError::generic(meta("AuthFailure")))
        .error(|| ReleaseAddressError::generic(meta("InvalidIPAddress.InUse")))
        .output(|| ReleaseAddressOutput::builder().build())
        .build();
    let c = clients(&[&describe, &release]);
    let prior = recorded(&eip_resource(), eip_outputs("eipalloc-1", "203.0.113.7"));

    for _ in 0..2 {
        let err = ElasticIpDriver.delete(&c, &prior).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Retryable, "{err}");
    }
    ElasticIpDriver.delete(&c, &prior).await.unwrap();
    // Already released: DescribeAddresses says NotFound, and that is success.
    ElasticIpDriver.delete(&c, &prior).await.unwrap();
    assert_eq!(release.num_calls(), 3);
}

#[tokio::test]
async fn observe_reads_every_address_of_the_stack_in_one_call() {
    let (described, see) = crate::test_support::recorder::<DescribeAddressesInput>();
    let address = |id: &str, ip: &str, stack: &str, logical: &str| {
        Address::builder()
            .allocation_id(id)
            .public_ip(ip)
            .domain(DomainType::Vpc)
            .set_tags(Some(owner_tags(stack, logical)))
            .build()
    };
    let list = mock!(Client::describe_addresses)
        .match_requests(see)
        .then_output(move || {
            DescribeAddressesOutput::builder()
                .addresses(address("eipalloc-1", "203.0.113.1", STACK, "nat-ip"))
                .addresses(address("eipalloc-2", "203.0.113.2", STACK, "stray-ip"))
                .addresses(address("eipalloc-3", "203.0.113.3", "other", "nat-ip"))
                .build()
        });
    let c = clients(&[&list]);
    let recorded = vec![recorded(
        &eip_resource(),
        eip_outputs("eipalloc-1", "203.0.113.1"),
    )];

    let live = observe_stack(&ElasticIpDriver, &c, recorded, &list, || {
        described.lock().unwrap()[0].filters().to_vec()
    })
    .await;
    assert_eq!(live.len(), 2, "another stack's address is dropped");
    assert_eq!(live[0].id, "nat-ip");
    assert_eq!(live[0].outputs, eip_outputs("eipalloc-1", "203.0.113.1"));
    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        json!({})
    );
    assert_eq!(live[1].id, "stray-ip");
    assert_eq!(live[1].outputs.public_ip, "203.0.113.2");
    assert!(live[1].spec.is_some(), "an address is read whole");
}
