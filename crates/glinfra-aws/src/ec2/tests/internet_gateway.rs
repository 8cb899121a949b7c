//! Internet gateway: tagged create then attach, attach conflicts, detach then delete.

use super::*;
use crate::driver::Driver;
use crate::ec2::InternetGatewayDriver;
use crate::test_support::{meta, recorded, recorder};
use aws_sdk_ec2::operation::attach_internet_gateway::{
    AttachInternetGatewayError, AttachInternetGatewayOutput,
};
use aws_sdk_ec2::operation::create_internet_gateway::CreateInternetGatewayOutput;
use aws_sdk_ec2::operation::delete_internet_gateway::DeleteInternetGatewayOutput;
use aws_sdk_ec2::operation::describe_internet_gateways::{
    DescribeInternetGatewaysInput, DescribeInternetGatewaysOutput,
};
use aws_sdk_ec2::operation::detach_internet_gateway::{
    DetachInternetGatewayInput, DetachInternetGatewayOutput,
};
use aws_sdk_ec2::types::{
    AttachmentStatus, InternetGateway, InternetGatewayAttachment, ResourceType,
};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::ec2::{InternetGatewayOutputs, InternetGatewaySpec};
use glinfra_engine::ErrorClass;
use serde_json::json;

fn igw_resource(vpc: &str) -> Desired<InternetGatewaySpec> {
    resource("igw", json!({ "vpc_id": vpc }))
}

fn igw_outputs(id: &str) -> InternetGatewayOutputs {
    InternetGatewayOutputs { id: id.into() }
}

/// CreateInternetGateway's answer: gateway `igw-1`.
fn created() -> CreateInternetGatewayOutput {
    let igw = InternetGateway::builder().internet_gateway_id("igw-1");
    CreateInternetGatewayOutput::builder()
        .internet_gateway(igw.build())
        .build()
}

fn igw_attached(vpc: &str) -> InternetGateway {
    InternetGateway::builder()
        .internet_gateway_id("igw-1")
        .attachments(
            InternetGatewayAttachment::builder()
                .vpc_id(vpc)
                // What AWS reports for an attached internet gateway.
                .state(AttachmentStatus::from("available"))
                .build(),
        )
        .build()
}

#[tokio::test]
async fn create_internet_gateway_tags_it_and_attaches_it() {
    let log = Log::default();
    let (l1, l2) = (log.clone(), log.clone());
    let create = mock!(Client::create_internet_gateway)
        .match_requests(|req| {
            req.tag_specifications()[0].resource_type() == Some(&ResourceType::InternetGateway)
                && tag_map(req.tag_specifications())["glinfra:logical-id"] == "igw"
        })
        .then_output(move || {
            l1.add("CreateInternetGateway");
            created()
        });
    let attach = mock!(Client::attach_internet_gateway)
        .match_requests(|req| {
            req.internet_gateway_id() == Some("igw-1") && req.vpc_id() == Some("vpc-1")
        })
        .then_output(move || {
            l2.add("AttachInternetGateway");
            AttachInternetGatewayOutput::builder().build()
        });
    let c = clients(&[&create, &attach]);

    let out = InternetGatewayDriver
        .create(&c, &igw_resource("vpc-1"))
        .await
        .unwrap();

    assert_eq!(out, igw_outputs("igw-1"));
    assert_eq!(
        log.ops(),
        ["CreateInternetGateway", "AttachInternetGateway"]
    );
}

#[tokio::test]
async fn attach_already_attached_to_that_vpc_is_fine_and_to_another_is_not() {
    let create = mock!(Client::create_internet_gateway).then_output(created);
    let attach = mock!(Client::attach_internet_gateway)
        .then_error(|| AttachInternetGatewayError::generic(meta("Resource.AlreadyAssociated")));
    let describe = mock!(Client::describe_internet_gateways)
        .match_requests(|req| req.internet_gateway_ids() == ["igw-1"])
        .then_output(|| {
            DescribeInternetGatewaysOutput::builder()
                .internet_gateways(igw_attached("vpc-1"))
                .build()
        });
    let c = clients(&[&create, &attach, &describe]);

    assert_eq!(
        InternetGatewayDriver
            .create(&c, &igw_resource("vpc-1"))
            .await
            .unwrap(),
        igw_outputs("igw-1")
    );

    let err = InternetGatewayDriver
        .create(&c, &igw_resource("vpc-2"))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid, "{err}");
}

#[tokio::test]
async fn delete_internet_gateway_detaches_then_deletes() {
    let log = Log::default();
    let (detached, see_detached) = recorder::<DetachInternetGatewayInput>();
    let (l1, l2) = (log.clone(), log.clone());
    let describe = mock!(Client::describe_internet_gateways).then_output(|| {
        DescribeInternetGatewaysOutput::builder()
            .internet_gateways(igw_attached("vpc-1"))
            .build()
    });
    let detach = mock!(Client::detach_internet_gateway)
        .match_requests(see_detached)
        .then_output(move || {
            l1.add("DetachInternetGateway");
            DetachInternetGatewayOutput::builder().build()
        });
    let delete = mock!(Client::delete_internet_gateway)
        .match_requests(|req| req.internet_gateway_id() == Some("igw-1"))
        .then_output(move || {
            l2.add("DeleteInternetGateway");
            DeleteInternetGatewayOutput::builder().build()
        });
    let c = clients(&[&describe, &detach, &delete]);
    let r = igw_resource("vpc-1");

    InternetGatewayDriver
        .delete(&c, &recorded(&r, igw_outputs("igw-1")))
        .await
        .unwrap();

    assert_eq!(
        log.ops(),
        ["DetachInternetGateway", "DeleteInternetGateway"]
    );
    let d = &detached.lock().unwrap()[0];
    assert_eq!(d.internet_gateway_id(), Some("igw-1"));
    assert_eq!(d.vpc_id(), Some("vpc-1"));
}

/// A gateway of `stack` named `logical`, attached to `vpc` in `state`.
fn attached(id: &str, stack: &str, logical: &str, vpc: &str, state: &str) -> InternetGateway {
    InternetGateway::builder()
        .internet_gateway_id(id)
        .attachments(
            InternetGatewayAttachment::builder()
                .vpc_id(vpc)
                .state(AttachmentStatus::from(state))
                .build(),
        )
        .set_tags(Some(owner_tags(stack, logical)))
        .build()
}

#[tokio::test]
async fn observe_reads_every_gateway_of_the_stack_in_one_call() {
    let (described, see) = recorder::<DescribeInternetGatewaysInput>();
    let list = mock!(Client::describe_internet_gateways)
        .match_requests(see)
        .then_output(|| {
            DescribeInternetGatewaysOutput::builder()
                // AWS says `available` for an attached gateway.
                .internet_gateways(attached("igw-1", STACK, "igw", "vpc-1", "available"))
                .internet_gateways(attached("igw-2", STACK, "igw-moved", "vpc-9", "attached"))
                .internet_gateways(attached("igw-3", STACK, "igw-loose", "vpc-1", "detached"))
                .internet_gateways(attached("igw-4", "other", "igw", "vpc-1", "available"))
                .build()
        });
    let c = clients(&[&list]);
    let igw = igw_resource("vpc-1");
    let moved: Desired<InternetGatewaySpec> = resource("igw-moved", json!({"vpc_id": "vpc-2"}));
    let recorded = vec![
        recorded(&igw, igw_outputs("igw-1")),
        recorded(&moved, igw_outputs("igw-2")),
    ];

    let live = observe_stack(&InternetGatewayDriver, &c, recorded, &list, || {
        described.lock().unwrap()[0].filters().to_vec()
    })
    .await;
    let by_id: BTreeMap<_, _> = live.into_iter().map(|l| (l.id.clone(), l)).collect();
    assert_eq!(
        by_id.keys().collect::<Vec<_>>(),
        ["igw", "igw-loose", "igw-moved"],
        "another stack's gateway is dropped"
    );
    let same = &by_id["igw"];
    assert_eq!(same.outputs, igw_outputs("igw-1"));
    assert_eq!(
        serde_json::to_value(same.spec.as_ref().unwrap()).unwrap(),
        json!({"vpc_id": "vpc-1"}),
        "unchanged, it reads as recorded"
    );
    let vpc = |id: &str| by_id[id].spec.as_ref().unwrap().vpc_id.value().cloned();
    assert_eq!(vpc("igw-moved").as_deref(), Some("vpc-9"), "the live VPC");
    assert_eq!(
        vpc("igw-loose").as_deref(),
        Some(""),
        "attached to nothing, unknown to state"
    );
}

/// DescribeInternetGateways of the gateways attached to `vpc`, answering `found`.
fn attached_to(vpc: &'static str, found: Vec<InternetGateway>) -> aws_smithy_mocks::Rule {
    mock!(Client::describe_internet_gateways)
        .match_requests(move |req| {
            req.filters()
                .iter()
                .any(|f| f.name() == Some("attachment.vpc-id") && f.values() == [vpc.to_string()])
        })
        .then_output(move || {
            DescribeInternetGatewaysOutput::builder()
                .set_internet_gateways(Some(found.clone()))
                .build()
        })
}

/// DescribeInternetGateways of `igw-1` by id: attached to `vpc`.
fn by_id(vpc: &'static str) -> aws_smithy_mocks::Rule {
    mock!(Client::describe_internet_gateways)
        .match_requests(|req| req.internet_gateway_ids() == ["igw-1"])
        .then_output(move || {
            DescribeInternetGatewaysOutput::builder()
                .internet_gateways(igw_attached(vpc))
                .build()
        })
}

#[tokio::test]
async fn a_gateway_moved_to_another_vpc_is_detached_then_attached_keeping_its_id() {
    let log = Log::default();
    let (l1, l2) = (log.clone(), log.clone());
    let (detached, see_detached) = recorder::<DetachInternetGatewayInput>();
    let describe = by_id("vpc-1");
    let free = attached_to("vpc-2", Vec::new());
    let detach = mock!(Client::detach_internet_gateway)
        .match_requests(see_detached)
        .then_output(move || {
            l1.add("DetachInternetGateway");
            DetachInternetGatewayOutput::builder().build()
        });
    let attach = mock!(Client::attach_internet_gateway)
        .match_requests(|req| {
            req.internet_gateway_id() == Some("igw-1") && req.vpc_id() == Some("vpc-2")
        })
        .then_output(move || {
            l2.add("AttachInternetGateway");
            AttachInternetGatewayOutput::builder().build()
        });
    let c = clients(&[&describe, &free, &detach, &attach]);
    let prior = recorded(&igw_resource("vpc-1"), igw_outputs("igw-1"));

    let out = move_to(&c, &prior, "vpc-2").await.unwrap();

    assert_eq!(out, igw_outputs("igw-1"));
    assert_eq!(
        log.ops(),
        ["DetachInternetGateway", "AttachInternetGateway"]
    );
    let d = &detached.lock().unwrap()[0];
    assert_eq!(
        (d.internet_gateway_id(), d.vpc_id()),
        (Some("igw-1"), Some("vpc-1"))
    );
}

#[tokio::test]
async fn a_gateway_is_not_moved_to_a_vpc_that_has_one_and_stays_attached() {
    let mut other = igw_attached("vpc-2");
    other.internet_gateway_id = Some("igw-9".into());
    let describe = by_id("vpc-1");
    let taken = attached_to("vpc-2", vec![other]);
    // No detach or attach rule: either call would fail the test.
    let c = clients(&[&describe, &taken]);
    let prior = recorded(&igw_resource("vpc-1"), igw_outputs("igw-1"));

    let err = move_to(&c, &prior, "vpc-2").await.unwrap_err();

    assert_eq!(err.class, ErrorClass::Invalid);
    assert!(
        err.message
            .contains("has internet gateway igw-9 attached already"),
        "{err}"
    );

    // Moved already (a resumed move): nothing to do.
    let moved = by_id("vpc-2");
    let c = clients(&[&moved]);
    let out = move_to(&c, &prior, "vpc-2").await.unwrap();
    assert_eq!(out, igw_outputs("igw-1"));
}

/// The update of `prior` moving it to `vpc`.
async fn move_to(
    c: &Clients,
    prior: &Recorded<InternetGatewaySpec>,
    vpc: &str,
) -> Result<InternetGatewayOutputs, glinfra_engine::ProviderError> {
    let moved = igw_resource(vpc);
    crate::test_support::update(&InternetGatewayDriver, c, prior, &moved, &["vpc_id"]).await
}
