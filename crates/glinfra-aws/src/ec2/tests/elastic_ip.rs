//! Elastic IP: allocation in the VPC domain, release conflicts, release of what is gone.

use super::*;
use crate::driver::Driver;
use crate::ec2::ElasticIpDriver;
use crate::test_support::{meta, recorded};
use aws_sdk_ec2::operation::allocate_address::AllocateAddressOutput;
use aws_sdk_ec2::operation::describe_addresses::{DescribeAddressesError, DescribeAddressesOutput};
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
