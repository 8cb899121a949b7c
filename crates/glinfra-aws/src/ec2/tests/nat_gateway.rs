//! NAT gateway: find by tags (re-checked: LocalStack ignores the filters), waits
//! through pending, failure codes, delete waits until deleted.

use super::*;
use crate::driver::Driver;
use crate::ec2::NatGatewayDriver;
use crate::test_support::{meta, recorded, recorder};
use aws_sdk_ec2::operation::create_nat_gateway::{CreateNatGatewayInput, CreateNatGatewayOutput};
use aws_sdk_ec2::operation::delete_nat_gateway::DeleteNatGatewayOutput;
use aws_sdk_ec2::operation::describe_nat_gateways::{
    DescribeNatGatewaysInput, DescribeNatGatewaysOutput,
};
use aws_sdk_ec2::types::{NatGateway, NatGatewayAddress, NatGatewayState, ResourceType};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::ec2::{NatGatewayOutputs, NatGatewaySpec};
use glinfra_engine::ErrorClass;
use serde_json::json;

/// A NAT gateway carrying the ownership tags of the `nat` resource.
fn nat(id: &str, state: NatGatewayState) -> NatGateway {
    NatGateway::builder()
        .nat_gateway_id(id)
        .state(state)
        .set_tags(Some(owner_tags(STACK, "nat")))
        .build()
}

fn nat_resource() -> Desired<NatGatewaySpec> {
    resource(
        "nat",
        json!({"subnet_id": "subnet-1", "allocation_id": "eipalloc-1"}),
    )
}

fn nat_outputs(id: &str) -> NatGatewayOutputs {
    NatGatewayOutputs { id: id.into() }
}

#[tokio::test]
async fn find_nat_gateway_filters_on_tags_and_skips_deleted_and_failed_ones() {
    let (seen, see) = recorder::<DescribeNatGatewaysInput>();
    let describe = mock!(Client::describe_nat_gateways)
        .match_requests(see)
        .then_output(|| {
            DescribeNatGatewaysOutput::builder()
                .nat_gateways(nat("nat-0old", NatGatewayState::Deleted))
                .nat_gateways(nat("nat-1del", NatGatewayState::Deleting))
                .nat_gateways(nat("nat-2bad", NatGatewayState::Failed))
                .nat_gateways(nat("nat-live", NatGatewayState::Available))
                // A service that ignores the tag filters returns other stacks' gateways too.
                .nat_gateways(
                    NatGateway::builder()
                        .nat_gateway_id("nat-0other")
                        .state(NatGatewayState::Available)
                        .set_tags(Some(owner_tags("another-stack", "nat")))
                        .build(),
                )
                .build()
        });
    let c = clients(&[&describe]);

    let found = NatGatewayDriver.find(&c, &nat_resource()).await.unwrap();

    assert_eq!(found, Some(nat_outputs("nat-live")));
    assert_eq!(
        filter_pairs(seen.lock().unwrap()[0].filter()),
        owner_filter_pairs("nat")
    );
}

#[tokio::test]
async fn find_nat_gateway_with_only_a_deleted_one_finds_nothing() {
    let describe = mock!(Client::describe_nat_gateways).then_output(|| {
        DescribeNatGatewaysOutput::builder()
            .nat_gateways(nat("nat-0old", NatGatewayState::Deleted))
            .build()
    });
    let c = clients(&[&describe]);
    assert_eq!(
        NatGatewayDriver.find(&c, &nat_resource()).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn create_nat_gateway_waits_through_pending_to_available() {
    let (created, see) = recorder::<CreateNatGatewayInput>();
    let create = mock!(Client::create_nat_gateway)
        .match_requests(see)
        .then_output(|| {
            CreateNatGatewayOutput::builder()
                .nat_gateway(nat("nat-1", NatGatewayState::Pending))
                .build()
        });
    let describe = mock!(Client::describe_nat_gateways)
        .match_requests(|req| filter_pairs(req.filter()) == id_filter(&["nat-1"]))
        .sequence()
        // Not visible yet: the id filter leaves it out.
        .output(|| DescribeNatGatewaysOutput::builder().build())
        .output(|| {
            DescribeNatGatewaysOutput::builder()
                .nat_gateways(nat("nat-1", NatGatewayState::Pending))
                .build()
        })
        .output(|| {
            DescribeNatGatewaysOutput::builder()
                .nat_gateways(nat("nat-1", NatGatewayState::Available))
                .build()
        })
        .build();
    let c = clients(&[&create, &describe]);
    let r = nat_resource();

    let out = NatGatewayDriver.create(&c, &r).await.unwrap();

    assert_eq!(out, nat_outputs("nat-1"));
    assert_eq!(describe.num_calls(), 3);
    let req = &created.lock().unwrap()[0];
    assert_eq!(req.subnet_id(), Some("subnet-1"));
    assert_eq!(req.allocation_id(), Some("eipalloc-1"));
    assert_eq!(
        req.tag_specifications()[0].resource_type(),
        Some(&ResourceType::Natgateway)
    );
    assert_eq!(tag_map(req.tag_specifications()), r.tags);
}

#[tokio::test]
async fn a_failed_nat_gateway_is_reported_with_its_failure_code() {
    let failed = |code: &'static str| {
        move || {
            DescribeNatGatewaysOutput::builder()
                .nat_gateways(
                    NatGateway::builder()
                        .nat_gateway_id("nat-1")
                        .state(NatGatewayState::Failed)
                        .failure_code(code)
                        .failure_message("mocked failure")
                        .build(),
                )
                .build()
        }
    };
    let create = mock!(Client::create_nat_gateway).then_output(|| {
        CreateNatGatewayOutput::builder()
            .nat_gateway(nat("nat-1", NatGatewayState::Pending))
            .build()
    });
    let describe = mock!(Client::describe_nat_gateways)
        .sequence()
        .output(failed("Gateway.NotAttached"))
        .output(failed("InsufficientFreeAddressesInSubnet"))
        .build();
    let c = clients(&[&create, &describe]);

    // The VPC's internet gateway was not attached yet: another try can succeed.
    let err = NatGatewayDriver
        .create(&c, &nat_resource())
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable, "{err}");
    assert!(err.message.contains("Gateway.NotAttached"), "{err}");
    let err = NatGatewayDriver
        .create(&c, &nat_resource())
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal, "{err}");
    assert!(
        err.message.contains("InsufficientFreeAddressesInSubnet"),
        "{err}"
    );
}

#[tokio::test]
async fn delete_nat_gateway_waits_until_deleted() {
    let delete = mock!(Client::delete_nat_gateway)
        .match_requests(|req| req.nat_gateway_id() == Some("nat-1"))
        .then_output(|| {
            DeleteNatGatewayOutput::builder()
                .nat_gateway_id("nat-1")
                .build()
        });
    let describe = mock!(Client::describe_nat_gateways)
        .sequence()
        .output(|| {
            DescribeNatGatewaysOutput::builder()
                .nat_gateways(nat("nat-1", NatGatewayState::Deleting))
                .build()
        })
        .output(|| {
            DescribeNatGatewaysOutput::builder()
                .nat_gateways(nat("nat-1", NatGatewayState::Deleted))
                .build()
        })
        .build();
    let c = clients(&[&delete, &describe]);
    NatGatewayDriver
        .delete(&c, &recorded(&nat_resource(), nat_outputs("nat-1")))
        .await
        .unwrap();
    assert_eq!(describe.num_calls(), 2);
}

#[tokio::test]
async fn observe_reads_every_live_gateway_of_the_stack_in_one_call() {
    let (described, see) = recorder::<DescribeNatGatewaysInput>();
    let gateway = |id: &str, logical: &str, stack: &str, state: NatGatewayState| {
        NatGateway::builder()
            .nat_gateway_id(id)
            .state(state)
            .subnet_id("subnet-1")
            .set_tags(Some(owner_tags(stack, logical)))
    };
    let address = |allocation: &str, primary: bool| {
        NatGatewayAddress::builder()
            .allocation_id(allocation)
            .is_primary(primary)
            .build()
    };
    let list = mock!(Client::describe_nat_gateways)
        .match_requests(see)
        .then_output(move || {
            DescribeNatGatewaysOutput::builder()
                .nat_gateways(
                    gateway("nat-1", "nat", STACK, NatGatewayState::Available)
                        .nat_gateway_addresses(address("eipalloc-2", false))
                        .nat_gateway_addresses(address("eipalloc-1", true))
                        .build(),
                )
                // Not its address yet (pending, as LocalStack answers): kept as recorded.
                .nat_gateways(
                    gateway("nat-2", "nat-b", STACK, NatGatewayState::Pending)
                        .subnet_id("subnet-7")
                        .build(),
                )
                .nat_gateways(gateway("nat-3", "nat-c", STACK, NatGatewayState::Deleting).build())
                .nat_gateways(gateway("nat-4", "nat-d", STACK, NatGatewayState::Failed).build())
                // LocalStack ignores the filter: another stack's gateway is dropped.
                .nat_gateways(gateway("nat-5", "nat", "other", NatGatewayState::Available).build())
                .build()
        });
    let c = clients(&[&list]);
    let other: Desired<NatGatewaySpec> = resource(
        "nat-b",
        json!({"subnet_id": "subnet-2", "allocation_id": "eipalloc-9"}),
    );
    let recorded = vec![
        recorded(&nat_resource(), nat_outputs("nat-1")),
        recorded(&other, nat_outputs("nat-2")),
    ];

    let live = observe_stack(&NatGatewayDriver, &c, recorded, &list, || {
        described.lock().unwrap()[0].filter().to_vec()
    })
    .await;
    let ids = live_ids(&live);
    assert_eq!(
        ids,
        ["nat", "nat-b"],
        "deleting, failed and others' are skipped"
    );
    assert_eq!(live[0].outputs, nat_outputs("nat-1"));
    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        json!({"subnet_id": "subnet-1", "allocation_id": "eipalloc-1"}),
        "unchanged, it reads as recorded (the primary address's allocation)"
    );
    assert_eq!(
        serde_json::to_value(live[1].spec.as_ref().unwrap()).unwrap(),
        json!({"subnet_id": "subnet-7", "allocation_id": "eipalloc-9"}),
        "the live subnet; the allocation not in the answer, as recorded"
    );
}

/// The engine's token goes with every CreateNatGateway of one create: the one
/// the driver repeats while the subnet is not visible yet, and the engine's
/// retry after a lost response, so AWS answers it with the gateway it made.
#[tokio::test]
async fn create_nat_gateway_sends_the_engines_client_token_on_every_try() {
    let (created, see) = recorder::<CreateNatGatewayInput>();
    let create = mock!(Client::create_nat_gateway)
        .match_requests(see)
        .sequence()
        .error(|| {
            aws_sdk_ec2::operation::create_nat_gateway::CreateNatGatewayError::generic(meta(
                "InvalidSubnetID.NotFound",
            ))
        })
        .output(|| {
            CreateNatGatewayOutput::builder()
                .nat_gateway(nat("nat-1", NatGatewayState::Available))
                .build()
        })
        .times(2)
        .build();
    let c = clients(&[&create]);
    let r = crate::test_support::with_token(nat_resource(), 7);

    for _ in 0..2 {
        let out = NatGatewayDriver.create(&c, &r).await.unwrap();
        assert_eq!(out, nat_outputs("nat-1"));
    }

    let token = r.token().unwrap();
    let sent: Vec<_> = created
        .lock()
        .unwrap()
        .iter()
        .map(|req| req.client_token().map(str::to_string))
        .collect();
    assert_eq!(sent, vec![Some(token); 3]);
}

/// The `nat-gateway-id` filter of `ids`, as [`filter_pairs`] reads it.
fn id_filter(ids: &[&str]) -> Vec<(String, Vec<String>)> {
    vec![(
        "nat-gateway-id".to_string(),
        ids.iter().map(|i| i.to_string()).collect(),
    )]
}

// A paused clock: the round's gathering ends only once every wait has joined it,
// however slow the machine.
#[tokio::test(start_paused = true)]
async fn waits_for_several_gateways_share_one_describe_a_poll() {
    let create = |n: usize| {
        mock!(Client::create_nat_gateway)
            .match_requests(move |req| req.subnet_id() == Some(format!("subnet-{n}").as_str()))
            .then_output(move || {
                CreateNatGatewayOutput::builder()
                    .nat_gateway(nat(&format!("nat-{n}"), NatGatewayState::Pending))
                    .build()
            })
    };
    let creates = [create(1), create(2), create(3)];
    // One describe names all three (in any order), and answers all three.
    let all = ["nat-1", "nat-2", "nat-3"];
    let shared = mock!(Client::describe_nat_gateways)
        .match_requests(move |req| {
            let mut pairs = filter_pairs(req.filter());
            pairs.iter_mut().for_each(|(_, v)| v.sort());
            pairs == id_filter(&all)
        })
        .then_output(move || {
            let mut out = DescribeNatGatewaysOutput::builder();
            for id in all {
                out = out.nat_gateways(nat(id, NatGatewayState::Available));
            }
            out.build()
        });
    // Any other describe (a wait polling alone) answers too, so that a wait that
    // did not share fails the count below rather than waiting forever.
    let alone = mock!(Client::describe_nat_gateways).then_output(move || {
        let mut out = DescribeNatGatewaysOutput::builder();
        for id in all {
            out = out.nat_gateways(nat(id, NatGatewayState::Available));
        }
        out.build()
    });
    let c = clients(&[&creates[0], &creates[1], &creates[2], &shared, &alone]);
    let gateway = |n: usize| {
        resource::<NatGatewaySpec>(
            &format!("nat-{n}"),
            json!({"subnet_id": format!("subnet-{n}"), "allocation_id": format!("eipalloc-{n}")}),
        )
    };
    let (a, b, d) = (gateway(1), gateway(2), gateway(3));

    let made = tokio::join!(
        NatGatewayDriver.create(&c, &a),
        NatGatewayDriver.create(&c, &b),
        NatGatewayDriver.create(&c, &d),
    );

    assert_eq!(
        [made.0.unwrap(), made.1.unwrap(), made.2.unwrap()],
        [
            nat_outputs("nat-1"),
            nat_outputs("nat-2"),
            nat_outputs("nat-3")
        ]
    );
    assert_eq!((shared.num_calls(), alone.num_calls()), (1, 0));
}
