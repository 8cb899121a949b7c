//! Request-shape tests for the EC2 drivers, against SDK mocks.
//!
//! Every mock client panics on a request no rule matches, so a test also fails
//! when a driver makes a call it should not.

use super::*;
use crate::test_support::mock_clients;
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::error::ErrorMetadata;
use aws_sdk_ec2::operation::allocate_address::AllocateAddressOutput;
use aws_sdk_ec2::operation::associate_route_table::AssociateRouteTableOutput;
use aws_sdk_ec2::operation::attach_internet_gateway::{
    AttachInternetGatewayError, AttachInternetGatewayOutput,
};
use aws_sdk_ec2::operation::create_internet_gateway::CreateInternetGatewayOutput;
use aws_sdk_ec2::operation::create_nat_gateway::{CreateNatGatewayInput, CreateNatGatewayOutput};
use aws_sdk_ec2::operation::create_route::{CreateRouteInput, CreateRouteOutput};
use aws_sdk_ec2::operation::create_route_table::{CreateRouteTableError, CreateRouteTableOutput};
use aws_sdk_ec2::operation::create_subnet::{CreateSubnetInput, CreateSubnetOutput};
use aws_sdk_ec2::operation::create_tags::{CreateTagsInput, CreateTagsOutput};
use aws_sdk_ec2::operation::create_vpc::{CreateVpcInput, CreateVpcOutput};
use aws_sdk_ec2::operation::delete_internet_gateway::DeleteInternetGatewayOutput;
use aws_sdk_ec2::operation::delete_nat_gateway::DeleteNatGatewayOutput;
use aws_sdk_ec2::operation::delete_route::{DeleteRouteInput, DeleteRouteOutput};
use aws_sdk_ec2::operation::delete_subnet::DeleteSubnetOutput;
use aws_sdk_ec2::operation::delete_tags::{DeleteTagsInput, DeleteTagsOutput};
use aws_sdk_ec2::operation::delete_vpc::DeleteVpcError;
use aws_sdk_ec2::operation::describe_addresses::{DescribeAddressesError, DescribeAddressesOutput};
use aws_sdk_ec2::operation::describe_internet_gateways::DescribeInternetGatewaysOutput;
use aws_sdk_ec2::operation::describe_nat_gateways::{
    DescribeNatGatewaysError, DescribeNatGatewaysInput, DescribeNatGatewaysOutput,
};
use aws_sdk_ec2::operation::describe_route_tables::{
    DescribeRouteTablesInput, DescribeRouteTablesOutput,
};
use aws_sdk_ec2::operation::describe_subnets::{DescribeSubnetsInput, DescribeSubnetsOutput};
use aws_sdk_ec2::operation::describe_vpcs::{
    DescribeVpcsError, DescribeVpcsInput, DescribeVpcsOutput,
};
use aws_sdk_ec2::operation::detach_internet_gateway::{
    DetachInternetGatewayInput, DetachInternetGatewayOutput,
};
use aws_sdk_ec2::operation::modify_subnet_attribute::{
    ModifySubnetAttributeInput, ModifySubnetAttributeOutput,
};
use aws_sdk_ec2::operation::modify_vpc_attribute::{
    ModifyVpcAttributeInput, ModifyVpcAttributeOutput,
};
use aws_sdk_ec2::operation::release_address::{ReleaseAddressError, ReleaseAddressOutput};
use aws_sdk_ec2::operation::replace_route::{ReplaceRouteInput, ReplaceRouteOutput};
use aws_sdk_ec2::types::{
    Address, AttachmentStatus, InternetGateway, InternetGatewayAttachment, NatGateway,
    NatGatewayState, Route, RouteOrigin, RouteTable, RouteTableAssociation,
    RouteTableAssociationState, RouteTableAssociationStateCode, Subnet, SubnetState, Vpc, VpcState,
};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use serde_json::json;
use std::sync::{Arc, Mutex};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const STACK: &str = "teststack";

/// Clients whose EC2 client for [`REGION`] answers from `rules` (first match wins).
fn clients(rules: &[&Rule]) -> Clients {
    mock_clients!(
        aws_sdk_ec2,
        "ec2",
        REGION,
        RuleMode::MatchAny,
        rules,
        retry_config(RetryConfig::disabled())
    )
}

/// A resource of `kind` named `id` in [`STACK`], with a user tag when taggable.
fn resource(kind: Kind, id: &str, props: Value) -> ResolvedResource {
    let mut tags = BTreeMap::new();
    if kind.taggable() {
        tags.insert(TAG_STACK.to_string(), STACK.to_string());
        tags.insert(TAG_LOGICAL_ID.to_string(), id.to_string());
        tags.insert("environment".to_string(), "dev".to_string());
    }
    ResolvedResource {
        stack: STACK.to_string(),
        id: id.to_string(),
        kind,
        region: REGION.to_string(),
        props,
        tags,
    }
}

/// `r` as recorded in state with `outputs`.
fn recorded(r: &ResolvedResource, outputs: &[(&str, &str)]) -> ResourceState {
    ResourceState {
        kind: r.kind,
        region: r.region.clone(),
        props: r.props.clone(),
        tags: r.tags.clone(),
        outputs: outputs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
        dependencies: Default::default(),
        pending: None,
    }
}

fn outs(pairs: &[(&str, &str)]) -> Outputs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

fn code(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message("mocked error")
        .build()
}

/// Requests seen by a rule, for asserting on their shape.
#[derive(Clone)]
struct Seen<T>(Arc<Mutex<Vec<T>>>);

impl<T: Clone> Seen<T> {
    fn new() -> Self {
        Seen(Arc::new(Mutex::new(Vec::new())))
    }
    fn push(&self, t: &T) {
        self.0.lock().unwrap().push(t.clone());
    }
    fn all(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }
}

/// The order operations were called in, across rules.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn add(&self, op: &str) {
        self.0.lock().unwrap().push(op.to_string());
    }
    fn ops(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

fn tag_map(specs: &[aws_sdk_ec2::types::TagSpecification]) -> BTreeMap<String, String> {
    specs
        .iter()
        .flat_map(|s| s.tags())
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn filter_pairs(filters: &[aws_sdk_ec2::types::Filter]) -> Vec<(String, Vec<String>)> {
    filters
        .iter()
        .map(|f| {
            (
                f.name().unwrap_or_default().to_string(),
                f.values().to_vec(),
            )
        })
        .collect()
}

fn owner_filter_pairs(logical: &str) -> Vec<(String, Vec<String>)> {
    vec![
        ("tag:glinfra:stack".to_string(), vec![STACK.to_string()]),
        (
            "tag:glinfra:logical-id".to_string(),
            vec![logical.to_string()],
        ),
    ]
}

fn vpc(id: &str, state: VpcState) -> Vpc {
    Vpc::builder()
        .vpc_id(id)
        .owner_id(ACCOUNT)
        .state(state)
        .build()
}

/// The ownership tags `resource(.., logical_id, ..)` looks for.
fn owner_tags(logical_id: &str) -> Vec<Tag> {
    vec![
        Tag::builder().key(TAG_STACK).value(STACK).build(),
        Tag::builder().key(TAG_LOGICAL_ID).value(logical_id).build(),
    ]
}

/// A NAT gateway carrying the ownership tags of the `nat` resource.
fn nat(id: &str, state: NatGatewayState) -> NatGateway {
    NatGateway::builder()
        .nat_gateway_id(id)
        .state(state)
        .set_tags(Some(owner_tags("nat")))
        .build()
}

fn vpc_spec(support: bool, hostnames: bool) -> Value {
    json!({"cidr_block": "10.0.0.0/16", "enable_dns_support": support, "enable_dns_hostnames": hostnames})
}

// ---------------------------------------------------------------- VPC

#[tokio::test]
async fn create_vpc_tags_atomically_and_sets_dns_one_attribute_per_call() {
    let created = Seen::<CreateVpcInput>::new();
    let modified = Seen::<ModifyVpcAttributeInput>::new();
    let (c1, m1) = (created.clone(), modified.clone());
    let create = mock!(Client::create_vpc).then_compute_output(move |req| {
        c1.push(req);
        CreateVpcOutput::builder()
            .vpc(vpc("vpc-1", VpcState::Available))
            .build()
    });
    let modify = mock!(Client::modify_vpc_attribute).then_compute_output(move |req| {
        m1.push(req);
        ModifyVpcAttributeOutput::builder().build()
    });
    let c = clients(&[&create, &modify]);
    let r = resource(Kind::Vpc, "vpc", vpc_spec(true, true));

    let out = super::create(&c, &r).await.unwrap();

    assert_eq!(
        out,
        outs(&[
            ("id", "vpc-1"),
            ("arn", "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1")
        ])
    );
    let req = &created.all()[0];
    assert_eq!(req.cidr_block(), Some("10.0.0.0/16"));
    let specs = req.tag_specifications();
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].resource_type(), Some(&ResourceType::Vpc));
    assert_eq!(
        tag_map(specs),
        r.tags,
        "every tag, user tags included, at creation"
    );
    assert_eq!(tag_map(specs)["glinfra:stack"], STACK);
    assert_eq!(tag_map(specs)["glinfra:logical-id"], "vpc");
    // One attribute per call: support first, then host names.
    let mods = modified.all();
    assert_eq!(mods.len(), 2);
    assert!(mods.iter().all(|m| m.vpc_id() == Some("vpc-1")));
    assert_eq!(
        mods[0].enable_dns_support().and_then(|a| a.value()),
        Some(true)
    );
    assert!(mods[0].enable_dns_hostnames().is_none());
    assert_eq!(
        mods[1].enable_dns_hostnames().and_then(|a| a.value()),
        Some(true)
    );
    assert!(mods[1].enable_dns_support().is_none());
}

#[tokio::test]
async fn create_vpc_waits_through_pending_and_turns_dns_off_hostnames_first() {
    let modified = Seen::<ModifyVpcAttributeInput>::new();
    let m1 = modified.clone();
    let create = mock!(Client::create_vpc).then_output(|| {
        CreateVpcOutput::builder()
            .vpc(vpc("vpc-1", VpcState::Pending))
            .build()
    });
    let describe = mock!(Client::describe_vpcs)
        .match_requests(|req| req.vpc_ids() == ["vpc-1"])
        .sequence()
        // Not visible yet right after the create (eventual consistency).
        .error(|| DescribeVpcsError::generic(code("InvalidVpcID.NotFound")))
        .output(|| {
            DescribeVpcsOutput::builder()
                .vpcs(vpc("vpc-1", VpcState::Pending))
                .build()
        })
        .output(|| {
            DescribeVpcsOutput::builder()
                .vpcs(vpc("vpc-1", VpcState::Available))
                .build()
        })
        .build();
    let modify = mock!(Client::modify_vpc_attribute).then_compute_output(move |req| {
        m1.push(req);
        ModifyVpcAttributeOutput::builder().build()
    });
    let c = clients(&[&create, &describe, &modify]);
    let r = resource(Kind::Vpc, "vpc", vpc_spec(false, false));

    super::create(&c, &r).await.unwrap();

    assert_eq!(describe.num_calls(), 3);
    let mods = modified.all();
    assert_eq!(mods.len(), 2);
    assert_eq!(
        mods[0].enable_dns_hostnames().and_then(|a| a.value()),
        Some(false)
    );
    assert_eq!(
        mods[1].enable_dns_support().and_then(|a| a.value()),
        Some(false)
    );
}

#[tokio::test]
async fn find_vpc_filters_on_ownership_tags() {
    let seen = Seen::<DescribeVpcsInput>::new();
    let s1 = seen.clone();
    let describe = mock!(Client::describe_vpcs).then_compute_output(move |req| {
        s1.push(req);
        let mut found = vpc("vpc-9", VpcState::Available);
        found.tags = Some(owner_tags("network"));
        DescribeVpcsOutput::builder().vpcs(found).build()
    });
    let c = clients(&[&describe]);
    let r = resource(Kind::Vpc, "network", vpc_spec(true, true));

    let found = super::find(&c, &r).await.unwrap();

    assert_eq!(
        found,
        Some(outs(&[
            ("id", "vpc-9"),
            ("arn", "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-9")
        ]))
    );
    let req = &seen.all()[0];
    assert_eq!(filter_pairs(req.filters()), owner_filter_pairs("network"));
    assert!(req.vpc_ids().is_empty());
}

#[tokio::test]
async fn find_vpc_finds_nothing_and_ignores_a_deleting_one() {
    let describe = mock!(Client::describe_vpcs)
        .sequence()
        .output(|| DescribeVpcsOutput::builder().build())
        .output(|| {
            DescribeVpcsOutput::builder()
                .vpcs(vpc("vpc-old", VpcState::Deleting))
                .build()
        })
        .build();
    let c = clients(&[&describe]);
    let r = resource(Kind::Vpc, "vpc", vpc_spec(true, true));
    assert_eq!(super::find(&c, &r).await.unwrap(), None);
    assert_eq!(super::find(&c, &r).await.unwrap(), None);
}

#[tokio::test]
async fn delete_vpc_already_gone_succeeds() {
    let delete = mock!(Client::delete_vpc)
        .match_requests(|req| req.vpc_id() == Some("vpc-1"))
        .then_error(|| DeleteVpcError::generic(code("InvalidVpcID.NotFound")));
    let c = clients(&[&delete]);
    let r = resource(Kind::Vpc, "vpc", vpc_spec(true, true));
    super::delete(&c, "vpc", &recorded(&r, &[("id", "vpc-1"), ("arn", "arn")]))
        .await
        .unwrap();
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn delete_vpc_with_dependents_is_retryable() {
    let delete = mock!(Client::delete_vpc)
        .then_error(|| DeleteVpcError::generic(code("DependencyViolation")));
    let c = clients(&[&delete]);
    let r = resource(Kind::Vpc, "vpc", vpc_spec(true, true));
    let err = super::delete(&c, "vpc", &recorded(&r, &[("id", "vpc-1")]))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
}

#[tokio::test]
async fn update_vpc_changes_only_the_named_dns_attribute() {
    let modified = Seen::<ModifyVpcAttributeInput>::new();
    let m1 = modified.clone();
    let modify = mock!(Client::modify_vpc_attribute).then_compute_output(move |req| {
        m1.push(req);
        ModifyVpcAttributeOutput::builder().build()
    });
    let c = clients(&[&modify]);
    let r = resource(Kind::Vpc, "vpc", vpc_spec(true, false));
    let prior = recorded(&r, &[("id", "vpc-1"), ("arn", "arn-1")]);

    let out = super::update(&c, &prior, &r, &["enable_dns_hostnames".to_string()])
        .await
        .unwrap();

    assert_eq!(out, prior.outputs);
    let mods = modified.all();
    assert_eq!(mods.len(), 1);
    assert_eq!(mods[0].vpc_id(), Some("vpc-1"));
    assert_eq!(
        mods[0].enable_dns_hostnames().and_then(|a| a.value()),
        Some(false)
    );
}

#[tokio::test]
async fn update_tags_deletes_removed_keys_and_sets_only_changed_ones() {
    let deleted = Seen::<DeleteTagsInput>::new();
    let created = Seen::<CreateTagsInput>::new();
    let log = Log::default();
    let (d1, c1, l1, l2) = (deleted.clone(), created.clone(), log.clone(), log.clone());
    let delete_tags = mock!(Client::delete_tags).then_compute_output(move |req| {
        d1.push(req);
        l1.add("DeleteTags");
        DeleteTagsOutput::builder().build()
    });
    let create_tags = mock!(Client::create_tags).then_compute_output(move |req| {
        c1.push(req);
        l2.add("CreateTags");
        CreateTagsOutput::builder().build()
    });
    let c = clients(&[&delete_tags, &create_tags]);
    let mut r = resource(Kind::Vpc, "vpc", vpc_spec(true, true));
    let mut prior = recorded(&r, &[("id", "vpc-1")]);
    prior.tags.insert("team".into(), "a".into());
    r.tags.insert("environment".into(), "prod".into());
    r.tags.insert("cost-centre".into(), "42".into());

    super::update(&c, &prior, &r, &["tags".to_string()])
        .await
        .unwrap();

    let del = &deleted.all()[0];
    assert_eq!(del.resources(), ["vpc-1"]);
    let keys: Vec<_> = del.tags().iter().map(|t| t.key().unwrap()).collect();
    assert_eq!(keys, ["team"]);
    assert!(
        del.tags().iter().all(|t| t.value().is_none()),
        "delete by key, whatever the value"
    );
    let set = &created.all()[0];
    assert_eq!(set.resources(), ["vpc-1"]);
    let set: BTreeMap<_, _> = set
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(
        set,
        BTreeMap::from([("cost-centre", "42"), ("environment", "prod")]),
        "unchanged tags, ownership tags included, are not rewritten"
    );
    assert_eq!(log.ops(), ["DeleteTags", "CreateTags"]);
}

// ---------------------------------------------------------------- Subnet

#[tokio::test]
async fn create_public_subnet_maps_public_ips_and_keeps_the_returned_arn() {
    let created = Seen::<CreateSubnetInput>::new();
    let modified = Seen::<ModifySubnetAttributeInput>::new();
    let (c1, m1) = (created.clone(), modified.clone());
    let create = mock!(Client::create_subnet).then_compute_output(move |req| {
        c1.push(req);
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
    let modify = mock!(Client::modify_subnet_attribute).then_compute_output(move |req| {
        m1.push(req);
        ModifySubnetAttributeOutput::builder().build()
    });
    let c = clients(&[&create, &modify]);
    let r = resource(
        Kind::Subnet,
        "public-a",
        json!({"vpc_id": "vpc-1", "cidr_block": "10.0.1.0/24", "availability_zone": "us-east-1a", "map_public_ip_on_launch": true}),
    );

    let out = super::create(&c, &r).await.unwrap();

    assert_eq!(
        out,
        outs(&[
            ("id", "subnet-1"),
            ("arn", "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1")
        ])
    );
    let req = &created.all()[0];
    assert_eq!(req.vpc_id(), Some("vpc-1"));
    assert_eq!(req.cidr_block(), Some("10.0.1.0/24"));
    assert_eq!(req.availability_zone(), Some("us-east-1a"));
    assert_eq!(
        req.tag_specifications()[0].resource_type(),
        Some(&ResourceType::Subnet)
    );
    assert_eq!(tag_map(req.tag_specifications()), r.tags);
    let m = &modified.all()[0];
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
    let r = resource(
        Kind::Subnet,
        "private-a",
        json!({"vpc_id": "vpc-1", "cidr_block": "10.0.2.0/24", "availability_zone": "us-east-1a", "map_public_ip_on_launch": false}),
    );
    let out = super::create(&c, &r).await.unwrap();
    // Without an ARN in the response, it is built from the owner id.
    assert_eq!(
        out["arn"],
        json!("arn:aws:ec2:us-east-1:123456789012:subnet/subnet-2")
    );
}

#[tokio::test]
async fn delete_with_no_recorded_outputs_finds_by_tags_and_deletes_that() {
    let seen = Seen::<DescribeSubnetsInput>::new();
    let s1 = seen.clone();
    let describe = mock!(Client::describe_subnets).then_compute_output(move |req| {
        s1.push(req);
        DescribeSubnetsOutput::builder()
            .subnets(
                Subnet::builder()
                    .subnet_id("subnet-7")
                    .owner_id(ACCOUNT)
                    .state(SubnetState::Available)
                    .set_tags(Some(owner_tags("private-a")))
                    .build(),
            )
            .build()
    });
    let delete = mock!(Client::delete_subnet)
        .match_requests(|req| req.subnet_id() == Some("subnet-7"))
        .then_output(|| DeleteSubnetOutput::builder().build());
    let c = clients(&[&describe, &delete]);
    let r = resource(
        Kind::Subnet,
        "private-a",
        json!({"vpc_id": "vpc-1", "cidr_block": "10.0.2.0/24", "availability_zone": "us-east-1a", "map_public_ip_on_launch": false}),
    );

    super::delete(&c, "private-a", &recorded(&r, &[]))
        .await
        .unwrap();

    assert_eq!(
        filter_pairs(seen.all()[0].filters()),
        owner_filter_pairs("private-a")
    );
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn delete_with_no_recorded_outputs_and_nothing_found_succeeds() {
    let describe =
        mock!(Client::describe_subnets).then_output(|| DescribeSubnetsOutput::builder().build());
    let c = clients(&[&describe]);
    let r = resource(
        Kind::Subnet,
        "private-a",
        json!({"vpc_id": "vpc-1", "cidr_block": "10.0.2.0/24", "availability_zone": "us-east-1a", "map_public_ip_on_launch": false}),
    );
    super::delete(&c, "private-a", &recorded(&r, &[]))
        .await
        .unwrap();
    assert_eq!(describe.num_calls(), 1);
}

// ---------------------------------------------------------------- Internet gateway

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
        .then_compute_output(move |_| {
            l1.add("CreateInternetGateway");
            CreateInternetGatewayOutput::builder()
                .internet_gateway(
                    InternetGateway::builder()
                        .internet_gateway_id("igw-1")
                        .build(),
                )
                .build()
        });
    let attach = mock!(Client::attach_internet_gateway)
        .match_requests(|req| {
            req.internet_gateway_id() == Some("igw-1") && req.vpc_id() == Some("vpc-1")
        })
        .then_compute_output(move |_| {
            l2.add("AttachInternetGateway");
            AttachInternetGatewayOutput::builder().build()
        });
    let c = clients(&[&create, &attach]);
    let r = resource(Kind::InternetGateway, "igw", json!({"vpc_id": "vpc-1"}));

    let out = super::create(&c, &r).await.unwrap();

    assert_eq!(out, outs(&[("id", "igw-1")]));
    assert_eq!(
        log.ops(),
        ["CreateInternetGateway", "AttachInternetGateway"]
    );
}

#[tokio::test]
async fn attach_already_attached_to_that_vpc_is_fine_and_to_another_is_not() {
    let create = mock!(Client::create_internet_gateway).then_output(|| {
        CreateInternetGatewayOutput::builder()
            .internet_gateway(
                InternetGateway::builder()
                    .internet_gateway_id("igw-1")
                    .build(),
            )
            .build()
    });
    let attach = mock!(Client::attach_internet_gateway)
        .then_error(|| AttachInternetGatewayError::generic(code("Resource.AlreadyAssociated")));
    let describe = mock!(Client::describe_internet_gateways)
        .match_requests(|req| req.internet_gateway_ids() == ["igw-1"])
        .then_output(|| {
            DescribeInternetGatewaysOutput::builder()
                .internet_gateways(igw_attached("vpc-1"))
                .build()
        });
    let c = clients(&[&create, &attach, &describe]);

    let same = resource(Kind::InternetGateway, "igw", json!({"vpc_id": "vpc-1"}));
    assert_eq!(
        super::create(&c, &same).await.unwrap(),
        outs(&[("id", "igw-1")])
    );

    let other = resource(Kind::InternetGateway, "igw", json!({"vpc_id": "vpc-2"}));
    let err = super::create(&c, &other).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid, "{err}");
}

#[tokio::test]
async fn delete_internet_gateway_detaches_then_deletes() {
    let log = Log::default();
    let detached = Seen::<DetachInternetGatewayInput>::new();
    let (l1, l2, d1) = (log.clone(), log.clone(), detached.clone());
    let describe = mock!(Client::describe_internet_gateways).then_output(|| {
        DescribeInternetGatewaysOutput::builder()
            .internet_gateways(igw_attached("vpc-1"))
            .build()
    });
    let detach = mock!(Client::detach_internet_gateway).then_compute_output(move |req| {
        d1.push(req);
        l1.add("DetachInternetGateway");
        DetachInternetGatewayOutput::builder().build()
    });
    let delete = mock!(Client::delete_internet_gateway)
        .match_requests(|req| req.internet_gateway_id() == Some("igw-1"))
        .then_compute_output(move |_| {
            l2.add("DeleteInternetGateway");
            DeleteInternetGatewayOutput::builder().build()
        });
    let c = clients(&[&describe, &detach, &delete]);
    let r = resource(Kind::InternetGateway, "igw", json!({"vpc_id": "vpc-1"}));

    super::delete(&c, "igw", &recorded(&r, &[("id", "igw-1")]))
        .await
        .unwrap();

    assert_eq!(
        log.ops(),
        ["DetachInternetGateway", "DeleteInternetGateway"]
    );
    let d = &detached.all()[0];
    assert_eq!(d.internet_gateway_id(), Some("igw-1"));
    assert_eq!(d.vpc_id(), Some("vpc-1"));
}

// ---------------------------------------------------------------- Elastic IP

fn eip_resource() -> ResolvedResource {
    resource(Kind::ElasticIp, "nat-ip", json!({}))
}

#[tokio::test]
async fn allocate_address_in_the_vpc_domain_with_tags() {
    let allocate = mock!(Client::allocate_address)
        .match_requests(|req| {
            req.domain() == Some(&aws_sdk_ec2::types::DomainType::Vpc)
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
    let out = super::create(&c, &eip_resource()).await.unwrap();
    assert_eq!(
        out,
        outs(&[
            ("allocation_id", "eipalloc-1"),
            ("public_ip", "203.0.113.7")
        ])
    );
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
        .then_error(|| ReleaseAddressError::generic(code("InvalidIPAddress.InUse")));
    let c = clients(&[&describe, &release]);
    let prior = recorded(&eip_resource(), &[("allocation_id", "eipalloc-1")]);
    let err = super::delete(&c, "nat-ip", &prior).await.unwrap_err();
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
        .error(|| DescribeAddressesError::generic(code("InvalidAllocationID.NotFound")))
        .build();
    let release = mock!(Client::release_address)
        .match_requests(|req| req.allocation_id() == Some("eipalloc-1"))
        .sequence()
        .error(|| ReleaseAddressError::generic(code("AuthFailure")))
        .error(|| ReleaseAddressError::generic(code("InvalidIPAddress.InUse")))
        .output(|| ReleaseAddressOutput::builder().build())
        .build();
    let c = clients(&[&describe, &release]);
    let prior = recorded(&eip_resource(), &[("allocation_id", "eipalloc-1")]);

    for _ in 0..2 {
        let err = super::delete(&c, "nat-ip", &prior).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Retryable, "{err}");
    }
    super::delete(&c, "nat-ip", &prior).await.unwrap();
    // Already released: DescribeAddresses says NotFound, and that is success.
    super::delete(&c, "nat-ip", &prior).await.unwrap();
    assert_eq!(release.num_calls(), 3);
}

// ---------------------------------------------------------------- NAT gateway

fn nat_resource() -> ResolvedResource {
    resource(
        Kind::NatGateway,
        "nat",
        json!({"subnet_id": "subnet-1", "allocation_id": "eipalloc-1"}),
    )
}

#[tokio::test]
async fn find_nat_gateway_filters_on_tags_and_skips_deleted_and_failed_ones() {
    let seen = Seen::<DescribeNatGatewaysInput>::new();
    let s1 = seen.clone();
    let describe = mock!(Client::describe_nat_gateways).then_compute_output(move |req| {
        s1.push(req);
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
                    .tags(Tag::builder().key(TAG_STACK).value("another-stack").build())
                    .tags(Tag::builder().key(TAG_LOGICAL_ID).value("nat").build())
                    .build(),
            )
            .build()
    });
    let c = clients(&[&describe]);

    let found = super::find(&c, &nat_resource()).await.unwrap();

    assert_eq!(found, Some(outs(&[("id", "nat-live")])));
    assert_eq!(
        filter_pairs(seen.all()[0].filter()),
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
    assert_eq!(super::find(&c, &nat_resource()).await.unwrap(), None);
}

#[tokio::test]
async fn create_nat_gateway_waits_through_pending_to_available() {
    let created = Seen::<CreateNatGatewayInput>::new();
    let c1 = created.clone();
    let create = mock!(Client::create_nat_gateway).then_compute_output(move |req| {
        c1.push(req);
        CreateNatGatewayOutput::builder()
            .nat_gateway(nat("nat-1", NatGatewayState::Pending))
            .build()
    });
    let describe = mock!(Client::describe_nat_gateways)
        .match_requests(|req| req.nat_gateway_ids() == ["nat-1"])
        .sequence()
        .error(|| DescribeNatGatewaysError::generic(code("NatGatewayNotFound")))
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

    let out = super::create(&c, &r).await.unwrap();

    assert_eq!(out, outs(&[("id", "nat-1")]));
    assert_eq!(describe.num_calls(), 3);
    let req = &created.all()[0];
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
    let err = super::create(&c, &nat_resource()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable, "{err}");
    assert!(err.message.contains("Gateway.NotAttached"), "{err}");
    let err = super::create(&c, &nat_resource()).await.unwrap_err();
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
    super::delete(&c, "nat", &recorded(&nat_resource(), &[("id", "nat-1")]))
        .await
        .unwrap();
    assert_eq!(describe.num_calls(), 2);
}

// ---------------------------------------------------------------- Routes

fn nat_route() -> ResolvedResource {
    resource(
        Kind::Route,
        "private-default",
        json!({"route_table_id": "rtb-1", "destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": "nat-1"}),
    )
}

#[tokio::test]
async fn a_route_to_a_nat_gateway_uses_nat_gateway_id() {
    let seen = Seen::<CreateRouteInput>::new();
    let s1 = seen.clone();
    let create = mock!(Client::create_route).then_compute_output(move |req| {
        s1.push(req);
        CreateRouteOutput::builder().r#return(true).build()
    });
    let c = clients(&[&create]);

    let out = super::create(&c, &nat_route()).await.unwrap();

    assert_eq!(out, outs(&[("id", "rtb-1_0.0.0.0/0")]));
    let req = &seen.all()[0];
    assert_eq!(req.route_table_id(), Some("rtb-1"));
    assert_eq!(req.destination_cidr_block(), Some("0.0.0.0/0"));
    assert_eq!(req.nat_gateway_id(), Some("nat-1"));
    assert_eq!(req.gateway_id(), None);
}

#[tokio::test]
async fn a_route_to_an_internet_gateway_uses_gateway_id() {
    let create = mock!(Client::create_route)
        .match_requests(|req| req.gateway_id() == Some("igw-1") && req.nat_gateway_id().is_none())
        .then_output(|| CreateRouteOutput::builder().r#return(true).build());
    let c = clients(&[&create]);
    let r = resource(
        Kind::Route,
        "public-default",
        json!({"route_table_id": "rtb-1", "destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"}),
    );
    assert_eq!(
        super::create(&c, &r).await.unwrap(),
        outs(&[("id", "rtb-1_0.0.0.0/0")])
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
    let seen = Seen::<DescribeRouteTablesInput>::new();
    let s1 = seen.clone();
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
    let spy = mock!(Client::describe_route_tables).then_compute_output(move |req| {
        s1.push(req);
        DescribeRouteTablesOutput::builder().build()
    });
    let c = clients(&[&describe]);
    let r = nat_route();

    assert_eq!(
        super::find(&c, &r).await.unwrap(),
        Some(outs(&[("id", "rtb-1_0.0.0.0/0")]))
    );
    assert_eq!(super::find(&c, &r).await.unwrap(), None);
    assert_eq!(super::find(&c, &r).await.unwrap(), None);

    // The lookup is by table id, as a filter (a table already gone reads as empty).
    let c = clients(&[&spy]);
    super::find(&c, &r).await.unwrap();
    let req = &seen.all()[0];
    assert_eq!(
        filter_pairs(req.filters()),
        [("route-table-id".to_string(), vec!["rtb-1".to_string()])]
    );
}

#[tokio::test]
async fn update_of_a_route_target_replaces_the_route() {
    let seen = Seen::<ReplaceRouteInput>::new();
    let s1 = seen.clone();
    let replace = mock!(Client::replace_route).then_compute_output(move |req| {
        s1.push(req);
        ReplaceRouteOutput::builder().build()
    });
    let c = clients(&[&replace]);
    let r = nat_route();
    let prior = recorded(&r, &[("id", "rtb-1_0.0.0.0/0")]);

    let out = super::update(&c, &prior, &r, &["nat_gateway_id".to_string()])
        .await
        .unwrap();

    assert_eq!(out, prior.outputs);
    let req = &seen.all()[0];
    assert_eq!(req.route_table_id(), Some("rtb-1"));
    assert_eq!(req.destination_cidr_block(), Some("0.0.0.0/0"));
    assert_eq!(req.nat_gateway_id(), Some("nat-1"));
    assert_eq!(req.gateway_id(), None);
}

#[tokio::test]
async fn delete_route_uses_the_table_and_destination_of_its_id() {
    let seen = Seen::<DeleteRouteInput>::new();
    let s1 = seen.clone();
    let delete = mock!(Client::delete_route).then_compute_output(move |req| {
        s1.push(req);
        DeleteRouteOutput::builder().build()
    });
    let c = clients(&[&delete]);
    super::delete(
        &c,
        "private-default",
        &recorded(&nat_route(), &[("id", "rtb-1_0.0.0.0/0")]),
    )
    .await
    .unwrap();
    let req = &seen.all()[0];
    assert_eq!(req.route_table_id(), Some("rtb-1"));
    assert_eq!(req.destination_cidr_block(), Some("0.0.0.0/0"));
}

#[tokio::test]
async fn create_route_table_waits_out_a_vpc_not_visible_yet() {
    let create = mock!(Client::create_route_table)
        .match_requests(|req| req.vpc_id() == Some("vpc-1"))
        .sequence()
        .error(|| CreateRouteTableError::generic(code("InvalidVpcID.NotFound")))
        .output(|| {
            CreateRouteTableOutput::builder()
                .route_table(RouteTable::builder().route_table_id("rtb-1").build())
                .build()
        })
        .build();
    let c = clients(&[&create]);
    let r = resource(Kind::RouteTable, "private", json!({"vpc_id": "vpc-1"}));
    assert_eq!(
        super::create(&c, &r).await.unwrap(),
        outs(&[("id", "rtb-1")])
    );
    assert_eq!(create.num_calls(), 2);
}

// ---------------------------------------------------------------- Associations

fn association_resource() -> ResolvedResource {
    resource(
        Kind::RouteTableAssociation,
        "private-a-routes",
        json!({"route_table_id": "rtb-1", "subnet_id": "subnet-1"}),
    )
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
        super::create(&c, &association_resource()).await.unwrap(),
        outs(&[("id", "rtbassoc-1")])
    );
}

#[tokio::test]
async fn find_association_by_table_and_subnet() {
    let association = |id: &str, subnet: &str, state| {
        RouteTableAssociation::builder()
            .route_table_association_id(id)
            .route_table_id("rtb-1")
            .subnet_id(subnet)
            .association_state(RouteTableAssociationState::builder().state(state).build())
            .build()
    };
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
        super::find(&c, &association_resource()).await.unwrap(),
        Some(outs(&[("id", "rtbassoc-a")]))
    );
}

#[tokio::test]
async fn disassociate_already_gone_succeeds() {
    let disassociate = mock!(Client::disassociate_route_table)
        .match_requests(|req| req.association_id() == Some("rtbassoc-1"))
        .then_error(|| {
            aws_sdk_ec2::operation::disassociate_route_table::DisassociateRouteTableError::generic(
                code("InvalidAssociationID.NotFound"),
            )
        });
    let c = clients(&[&disassociate]);
    super::delete(
        &c,
        "private-a-routes",
        &recorded(&association_resource(), &[("id", "rtbassoc-1")]),
    )
    .await
    .unwrap();
    assert_eq!(disassociate.num_calls(), 1);
}
