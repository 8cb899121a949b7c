//! Request-shape tests for the security group and VPC endpoint drivers, against
//! SDK mocks. Every mock client panics on a request no rule matches, so a test
//! also fails when a driver makes a call it should not.

use super::endpoints::add_remove;
use super::security::{desired_rules, diff_rules, RuleKey};
use super::*;
use crate::test_support::{meta, mock_clients, recorder};
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::operation::authorize_security_group_egress::AuthorizeSecurityGroupEgressOutput;
use aws_sdk_ec2::operation::authorize_security_group_ingress::{
    AuthorizeSecurityGroupIngressError, AuthorizeSecurityGroupIngressInput,
    AuthorizeSecurityGroupIngressOutput,
};
use aws_sdk_ec2::operation::create_security_group::{
    CreateSecurityGroupError, CreateSecurityGroupInput, CreateSecurityGroupOutput,
};
use aws_sdk_ec2::operation::create_tags::{CreateTagsInput, CreateTagsOutput};
use aws_sdk_ec2::operation::create_vpc_endpoint::{
    CreateVpcEndpointInput, CreateVpcEndpointOutput,
};
use aws_sdk_ec2::operation::delete_security_group::{
    DeleteSecurityGroupError, DeleteSecurityGroupOutput,
};
use aws_sdk_ec2::operation::delete_tags::{DeleteTagsInput, DeleteTagsOutput};
use aws_sdk_ec2::operation::delete_vpc_endpoints::{
    DeleteVpcEndpointsError, DeleteVpcEndpointsInput, DeleteVpcEndpointsOutput,
};
use aws_sdk_ec2::operation::describe_security_group_rules::{
    DescribeSecurityGroupRulesInput, DescribeSecurityGroupRulesOutput,
};
use aws_sdk_ec2::operation::describe_security_groups::{
    DescribeSecurityGroupsError, DescribeSecurityGroupsInput, DescribeSecurityGroupsOutput,
};
use aws_sdk_ec2::operation::describe_vpc_endpoints::{
    DescribeVpcEndpointsError, DescribeVpcEndpointsInput, DescribeVpcEndpointsOutput,
};
use aws_sdk_ec2::operation::modify_vpc_endpoint::{
    ModifyVpcEndpointInput, ModifyVpcEndpointOutput,
};
use aws_sdk_ec2::operation::revoke_security_group_egress::{
    RevokeSecurityGroupEgressInput, RevokeSecurityGroupEgressOutput,
};
use aws_sdk_ec2::operation::revoke_security_group_ingress::{
    RevokeSecurityGroupIngressInput, RevokeSecurityGroupIngressOutput,
};
use aws_sdk_ec2::operation::update_security_group_rule_descriptions_ingress::{
    UpdateSecurityGroupRuleDescriptionsIngressInput,
    UpdateSecurityGroupRuleDescriptionsIngressOutput,
};
use aws_sdk_ec2::types::{
    IpPermission, SecurityGroup, SecurityGroupIdentifier, SecurityGroupRule, State,
    UnsuccessfulItem, UnsuccessfulItemError, VpcEndpoint, VpcEndpointType,
};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use serde_json::json;
use std::sync::{Arc, Mutex};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const STACK: &str = "teststack";

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

fn resource(kind: Kind, id: &str, props: Value) -> ResolvedResource {
    ResolvedResource {
        stack: STACK.to_string(),
        id: id.to_string(),
        kind,
        region: REGION.to_string(),
        props,
        tags: BTreeMap::from([
            (TAG_STACK.to_string(), STACK.to_string()),
            (TAG_LOGICAL_ID.to_string(), id.to_string()),
            ("environment".to_string(), "dev".to_string()),
        ]),
    }
}

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

fn owner_tags(stack: &str, logical_id: &str) -> Vec<Tag> {
    vec![
        Tag::builder().key(TAG_STACK).value(stack).build(),
        Tag::builder().key(TAG_LOGICAL_ID).value(logical_id).build(),
    ]
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

fn filter_pairs(filters: &[Filter]) -> Vec<(String, Vec<String>)> {
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

/// `(protocol, from, to, cidr, description)` of one permission range.
type PermRow = (String, Option<i32>, Option<i32>, String, String);

/// The rows of every range of `perms`.
fn perm_rows(perms: &[IpPermission]) -> Vec<PermRow> {
    perms
        .iter()
        .flat_map(|p| {
            p.ip_ranges().iter().map(move |r| {
                (
                    p.ip_protocol().unwrap_or_default().to_string(),
                    p.from_port(),
                    p.to_port(),
                    r.cidr_ip().unwrap_or_default().to_string(),
                    r.description().unwrap_or_default().to_string(),
                )
            })
        })
        .collect()
}

// ---------------------------------------------------------------- security groups

const SG: &str = "sg-0123456789abcdef0";

fn sg_spec(ingress: Value, egress: Value) -> Value {
    json!({
        "vpc_id": "vpc-1",
        "name": "api",
        "description": "API servers",
        "ingress": ingress,
        "egress": egress,
    })
}

fn https_ingress() -> Value {
    json!([{
        "protocol": "tcp", "from_port": 443, "to_port": 443,
        "cidr_blocks": ["10.0.0.0/8", "192.168.0.0/16"], "description": "https"
    }])
}

fn group(id: &str, tags: Vec<Tag>) -> SecurityGroup {
    SecurityGroup::builder()
        .group_id(id)
        .owner_id(ACCOUNT)
        .group_name("api")
        .vpc_id("vpc-1")
        .set_tags(Some(tags))
        .build()
}

fn rule(
    id: &str,
    egress: bool,
    protocol: &str,
    ports: (i32, i32),
    cidr: &str,
    description: Option<&str>,
) -> SecurityGroupRule {
    SecurityGroupRule::builder()
        .security_group_rule_id(id)
        .group_id(SG)
        .is_egress(egress)
        .ip_protocol(protocol)
        .from_port(ports.0)
        .to_port(ports.1)
        .cidr_ipv4(cidr)
        .set_description(description.map(str::to_string))
        .build()
}

/// The rule AWS adds to every new VPC security group.
fn default_egress() -> SecurityGroupRule {
    rule("sgr-default", true, "-1", (-1, -1), "0.0.0.0/0", None)
}

fn rules_answer(rules: Vec<SecurityGroupRule>) -> Rule {
    mock!(Client::describe_security_group_rules)
        .match_requests(|req: &DescribeSecurityGroupRulesInput| {
            filter_pairs(req.filters()) == vec![("group-id".to_string(), vec![SG.to_string()])]
        })
        .then_output(move || {
            DescribeSecurityGroupRulesOutput::builder()
                .set_security_group_rules(Some(rules.clone()))
                .build()
        })
}

fn visible_group() -> Rule {
    mock!(Client::describe_security_groups)
        .match_requests(|req: &DescribeSecurityGroupsInput| req.group_ids() == [SG])
        .sequence()
        // Not visible right after the create (eventual consistency).
        .error(|| DescribeSecurityGroupsError::generic(meta("InvalidGroup.NotFound")))
        .output(|| {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(group(SG, owner_tags(STACK, "sg")))
                .build()
        })
        .build()
}

#[tokio::test]
async fn create_security_group_tags_atomically_authorizes_the_spec_and_revokes_default_egress() {
    let (created, see_created) = recorder::<CreateSecurityGroupInput>();
    let (ingress, see_ingress) = recorder::<AuthorizeSecurityGroupIngressInput>();
    let (revoked, see_revoked) = recorder::<RevokeSecurityGroupEgressInput>();
    let create = mock!(Client::create_security_group)
        .match_requests(see_created)
        .then_output(|| {
            CreateSecurityGroupOutput::builder()
                .group_id(SG)
                .security_group_arn(format!(
                    "arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{SG}"
                ))
                .build()
        });
    let describe = visible_group();
    let rules = rules_answer(vec![default_egress()]);
    let authorize = mock!(Client::authorize_security_group_ingress)
        .match_requests(see_ingress)
        .then_output(|| AuthorizeSecurityGroupIngressOutput::builder().build());
    let revoke = mock!(Client::revoke_security_group_egress)
        .match_requests(see_revoked)
        .then_output(|| RevokeSecurityGroupEgressOutput::builder().build());
    let c = clients(&[&create, &describe, &rules, &authorize, &revoke]);
    let r = resource(
        Kind::SecurityGroup,
        "sg",
        sg_spec(https_ingress(), json!([])),
    );

    let out = super::create(&c, &r).await.unwrap();

    assert_eq!(out["id"], json!(SG));
    assert_eq!(
        out["arn"],
        json!(format!(
            "arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{SG}"
        ))
    );
    let req = &created.lock().unwrap()[0];
    assert_eq!(req.group_name(), Some("api"));
    assert_eq!(req.description(), Some("API servers"));
    assert_eq!(req.vpc_id(), Some("vpc-1"));
    assert_eq!(
        req.tag_specifications()[0].resource_type(),
        Some(&ResourceType::SecurityGroup)
    );
    assert_eq!(tag_map(req.tag_specifications()), r.tags);
    let auth = &ingress.lock().unwrap()[0];
    assert_eq!(auth.group_id(), Some(SG));
    assert_eq!(
        perm_rows(auth.ip_permissions()),
        vec![
            (
                "tcp".into(),
                Some(443),
                Some(443),
                "10.0.0.0/8".into(),
                "https".into()
            ),
            (
                "tcp".into(),
                Some(443),
                Some(443),
                "192.168.0.0/16".into(),
                "https".into()
            ),
        ]
    );
    let rev = &revoked.lock().unwrap()[0];
    assert_eq!(rev.group_id(), Some(SG));
    assert_eq!(rev.security_group_rule_ids(), ["sgr-default"]);
    assert_eq!(create.num_calls(), 1);
    assert_eq!(authorize.num_calls(), 1);
    assert_eq!(revoke.num_calls(), 1);
}

#[tokio::test]
async fn create_security_group_keeps_the_default_egress_when_the_spec_has_it() {
    let create = mock!(Client::create_security_group)
        .then_output(|| CreateSecurityGroupOutput::builder().group_id(SG).build());
    let describe = visible_group();
    let rules = rules_answer(vec![default_egress()]);
    // No authorize or revoke rule: any such call panics.
    let c = clients(&[&create, &describe, &rules]);
    let egress =
        json!([{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}]);
    let r = resource(Kind::SecurityGroup, "sg", sg_spec(json!([]), egress));

    let out = super::create(&c, &r).await.unwrap();

    // Without an ARN in the create response, it is built from the owner.
    assert_eq!(
        out["arn"],
        json!(format!(
            "arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{SG}"
        ))
    );
    assert_eq!(rules.num_calls(), 1);
}

#[tokio::test]
async fn create_security_group_named_like_a_foreign_one_is_already_exists() {
    let create = mock!(Client::create_security_group)
        .then_error(|| CreateSecurityGroupError::generic(meta("InvalidGroup.Duplicate")));
    let c = clients(&[&create]);
    let r = resource(Kind::SecurityGroup, "sg", sg_spec(json!([]), json!([])));

    let err = super::create(&c, &r).await.unwrap_err();

    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(
        err.message.contains("belongs to someone else"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn find_security_group_adopts_only_our_tagged_group() {
    let (seen, see) = recorder::<DescribeSecurityGroupsInput>();
    let describe = mock!(Client::describe_security_groups)
        .match_requests(see)
        .sequence()
        .output(|| {
            DescribeSecurityGroupsOutput::builder()
                // A service that ignored the filters: another stack's group first.
                .security_groups(group("sg-foreign", owner_tags("otherstack", "sg")))
                .security_groups(group(SG, owner_tags(STACK, "sg")))
                .build()
        })
        .output(|| {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(group("sg-foreign", owner_tags("otherstack", "sg")))
                .build()
        })
        .build();
    let c = clients(&[&describe]);
    let r = resource(Kind::SecurityGroup, "sg", sg_spec(json!([]), json!([])));

    let found = super::find(&c, &r).await.unwrap().unwrap();
    assert_eq!(found["id"], json!(SG));
    assert_eq!(
        filter_pairs(seen.lock().unwrap()[0].filters()),
        owner_filter_pairs("sg")
    );

    assert_eq!(super::find(&c, &r).await.unwrap(), None);
}

#[tokio::test]
async fn update_security_group_ingress_authorizes_then_describes_then_revokes() {
    let (auth, see_auth) = recorder::<AuthorizeSecurityGroupIngressInput>();
    let (desc, see_desc) = recorder::<UpdateSecurityGroupRuleDescriptionsIngressInput>();
    let (rev, see_rev) = recorder::<RevokeSecurityGroupIngressInput>();
    let order = Arc::new(Mutex::new(Vec::<&str>::new()));
    let (o1, o2, o3) = (order.clone(), order.clone(), order.clone());
    let rules = rules_answer(vec![
        default_egress(),
        // Kept as is.
        rule(
            "sgr-keep",
            false,
            "tcp",
            (443, 443),
            "10.0.0.0/8",
            Some("https"),
        ),
        // Same rule, other description: updated in place.
        rule(
            "sgr-desc",
            false,
            "tcp",
            (443, 443),
            "192.168.0.0/16",
            Some("old"),
        ),
        // Not in the spec: revoked.
        rule("sgr-old", false, "tcp", (22, 22), "0.0.0.0/0", None),
    ]);
    let authorize = mock!(Client::authorize_security_group_ingress)
        .match_requests(see_auth)
        .then_compute_output(move |_| {
            o1.lock().unwrap().push("authorize");
            AuthorizeSecurityGroupIngressOutput::builder().build()
        });
    let describe = mock!(Client::update_security_group_rule_descriptions_ingress)
        .match_requests(see_desc)
        .then_compute_output(move |_| {
            o2.lock().unwrap().push("describe");
            UpdateSecurityGroupRuleDescriptionsIngressOutput::builder().build()
        });
    let revoke = mock!(Client::revoke_security_group_ingress)
        .match_requests(see_rev)
        .then_compute_output(move |_| {
            o3.lock().unwrap().push("revoke");
            RevokeSecurityGroupIngressOutput::builder().build()
        });
    // No egress rule: the egress direction is not touched when only ingress changed.
    let c = clients(&[&rules, &authorize, &describe, &revoke]);
    let ingress = json!([
        {"protocol": "tcp", "from_port": 443, "to_port": 443,
         "cidr_blocks": ["10.0.0.0/8", "192.168.0.0/16"], "description": "https"},
        {"protocol": "udp", "from_port": 53, "to_port": 53, "cidr_blocks": ["10.1.0.0/16"]}
    ]);
    let r = resource(Kind::SecurityGroup, "sg", sg_spec(ingress, json!([])));
    let prior = recorded(&r, &[("id", SG), ("arn", "arn")]);

    let out = super::update(&c, &prior, &r, &["ingress".to_string()])
        .await
        .unwrap();

    assert_eq!(out, prior.outputs);
    assert_eq!(*order.lock().unwrap(), ["authorize", "describe", "revoke"]);
    assert_eq!(
        perm_rows(auth.lock().unwrap()[0].ip_permissions()),
        vec![(
            "udp".into(),
            Some(53),
            Some(53),
            "10.1.0.0/16".into(),
            "".into()
        )]
    );
    assert_eq!(
        perm_rows(desc.lock().unwrap()[0].ip_permissions()),
        vec![(
            "tcp".into(),
            Some(443),
            Some(443),
            "192.168.0.0/16".into(),
            "https".into()
        )]
    );
    assert_eq!(
        rev.lock().unwrap()[0].security_group_rule_ids(),
        ["sgr-old"]
    );
}

#[tokio::test]
async fn update_security_group_egress_authorizes_and_revokes_egress_rules() {
    let rules = rules_answer(vec![
        default_egress(),
        rule("sgr-in", false, "tcp", (443, 443), "10.0.0.0/8", None),
    ]);
    let (auth, see_auth) = recorder::<
        aws_sdk_ec2::operation::authorize_security_group_egress::AuthorizeSecurityGroupEgressInput,
    >();
    let authorize = mock!(Client::authorize_security_group_egress)
        .match_requests(see_auth)
        .then_output(|| AuthorizeSecurityGroupEgressOutput::builder().build());
    let (rev, see_rev) = recorder::<RevokeSecurityGroupEgressInput>();
    let revoke = mock!(Client::revoke_security_group_egress)
        .match_requests(see_rev)
        .then_output(|| RevokeSecurityGroupEgressOutput::builder().build());
    let c = clients(&[&rules, &authorize, &revoke]);
    let egress = json!([{"protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr_blocks": ["10.0.0.0/16"]}]);
    let r = resource(Kind::SecurityGroup, "sg", sg_spec(json!([]), egress));
    let prior = recorded(&r, &[("id", SG)]);

    super::update(&c, &prior, &r, &["egress".to_string()])
        .await
        .unwrap();

    assert_eq!(
        perm_rows(auth.lock().unwrap()[0].ip_permissions()),
        vec![(
            "tcp".into(),
            Some(5432),
            Some(5432),
            "10.0.0.0/16".into(),
            "".into()
        )]
    );
    // The ingress rule is not revoked: only egress was asked for.
    assert_eq!(
        rev.lock().unwrap()[0].security_group_rule_ids(),
        ["sgr-default"]
    );
}

#[tokio::test]
async fn update_security_group_tags_only_touches_tags() {
    let (created, see_created) = recorder::<CreateTagsInput>();
    let (deleted, see_deleted) = recorder::<DeleteTagsInput>();
    let create_tags = mock!(Client::create_tags)
        .match_requests(see_created)
        .then_output(|| CreateTagsOutput::builder().build());
    let delete_tags = mock!(Client::delete_tags)
        .match_requests(see_deleted)
        .then_output(|| DeleteTagsOutput::builder().build());
    let c = clients(&[&create_tags, &delete_tags]);
    let mut r = resource(Kind::SecurityGroup, "sg", sg_spec(json!([]), json!([])));
    let prior = recorded(&r, &[("id", SG)]);
    r.tags.remove("environment");
    r.tags.insert("team".into(), "infra".into());

    super::update(&c, &prior, &r, &["tags".to_string()])
        .await
        .unwrap();

    let set = &created.lock().unwrap()[0];
    assert_eq!(set.resources(), [SG]);
    let keys: Vec<&str> = set.tags().iter().filter_map(|t| t.key()).collect();
    assert_eq!(keys, ["team"]);
    let removed = &deleted.lock().unwrap()[0];
    let keys: Vec<&str> = removed.tags().iter().filter_map(|t| t.key()).collect();
    assert_eq!(keys, ["environment"]);
}

#[tokio::test]
async fn authorize_falls_back_to_one_rule_per_call_when_one_exists() {
    let (seen, see) = recorder::<AuthorizeSecurityGroupIngressInput>();
    let authorize = mock!(Client::authorize_security_group_ingress)
        .match_requests(see)
        .sequence()
        .error(|| AuthorizeSecurityGroupIngressError::generic(meta("InvalidPermission.Duplicate")))
        .error(|| AuthorizeSecurityGroupIngressError::generic(meta("InvalidPermission.Duplicate")))
        .output(|| AuthorizeSecurityGroupIngressOutput::builder().build())
        .build();
    let rules = rules_answer(vec![]);
    let c = clients(&[&rules, &authorize]);
    let r = resource(
        Kind::SecurityGroup,
        "sg",
        sg_spec(https_ingress(), json!([])),
    );
    let prior = recorded(&r, &[("id", SG)]);

    super::update(&c, &prior, &r, &["ingress".to_string()])
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].ip_permissions().len(), 2);
    assert_eq!(seen[1].ip_permissions().len(), 1);
    assert_eq!(seen[2].ip_permissions().len(), 1);
}

#[tokio::test]
async fn delete_security_group_gone_is_success_and_dependency_violation_is_retryable() {
    let delete = mock!(Client::delete_security_group)
        .match_requests(|req| req.group_id() == Some(SG))
        .sequence()
        .error(|| DeleteSecurityGroupError::generic(meta("DependencyViolation")))
        .output(|| DeleteSecurityGroupOutput::builder().build())
        .error(|| DeleteSecurityGroupError::generic(meta("InvalidGroup.NotFound")))
        .build();
    let c = clients(&[&delete]);
    let r = resource(Kind::SecurityGroup, "sg", sg_spec(json!([]), json!([])));
    let prior = recorded(&r, &[("id", SG)]);

    let err = super::delete(&c, "sg", &prior).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    super::delete(&c, "sg", &prior).await.unwrap();
    super::delete(&c, "sg", &prior).await.unwrap();
    assert_eq!(delete.num_calls(), 3);
}

#[tokio::test]
async fn delete_security_group_without_outputs_deletes_what_find_finds() {
    let describe = mock!(Client::describe_security_groups).then_output(|| {
        DescribeSecurityGroupsOutput::builder()
            .security_groups(group(SG, owner_tags(STACK, "sg")))
            .build()
    });
    let delete = mock!(Client::delete_security_group)
        .match_requests(|req| req.group_id() == Some(SG))
        .then_output(|| DeleteSecurityGroupOutput::builder().build());
    let c = clients(&[&describe, &delete]);
    let r = resource(Kind::SecurityGroup, "sg", sg_spec(json!([]), json!([])));

    super::delete(&c, "sg", &recorded(&r, &[])).await.unwrap();
    assert_eq!(delete.num_calls(), 1);
}

#[test]
fn rule_diff_normalises_all_protocol_ports_and_revokes_foreign_kinds() {
    let spec: glinfra_core::spec::ec2::SecurityGroupSpec = serde_json::from_value(sg_spec(
        json!([]),
        json!([
            {"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]},
            {"protocol": "-1", "from_port": 0, "to_port": 65535, "cidr_blocks": ["0.0.0.0/0"], "description": "dup"}
        ]),
    ))
    .unwrap();
    let desired = desired_rules(true, &spec.egress);
    assert_eq!(desired.len(), 1, "a repeated rule is one rule");
    let ipv6 = SecurityGroupRule::builder()
        .security_group_rule_id("sgr-v6")
        .is_egress(true)
        .ip_protocol("-1")
        .cidr_ipv6("::/0")
        .build();
    let diff = diff_rules(true, &desired, &[default_egress(), ipv6]);
    assert!(diff.authorize.is_empty());
    assert!(diff.describe.is_empty());
    assert_eq!(diff.revoke, ["sgr-v6"]);
    assert_eq!(
        desired.keys().next().unwrap(),
        &RuleKey {
            egress: true,
            protocol: "-1".into(),
            from_port: -1,
            to_port: -1,
            cidr: "0.0.0.0/0".into()
        }
    );
}

// ---------------------------------------------------------------- VPC endpoints

const VPCE: &str = "vpce-0123456789abcdef0";

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

fn by_id(req: &DescribeVpcEndpointsInput) -> bool {
    req.vpc_endpoint_ids() == [VPCE]
}

#[tokio::test]
async fn create_gateway_endpoint_sends_route_tables_and_tags_and_needs_no_wait() {
    let (seen, see) = recorder::<CreateVpcEndpointInput>();
    let create = mock!(Client::create_vpc_endpoint)
        .match_requests(see)
        .then_output(|| {
            CreateVpcEndpointOutput::builder()
                .vpc_endpoint(endpoint(VPCE, "available", vec![]))
                .build()
        });
    // No describe rule: a gateway endpoint available at once is not polled.
    let c = clients(&[&create]);
    let r = resource(Kind::VpcEndpoint, "s3", gateway_spec(&["rtb-a", "rtb-b"]));

    let out = super::create(&c, &r).await.unwrap();

    assert_eq!(out["id"], json!(VPCE));
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
    let (seen, see) = recorder::<CreateVpcEndpointInput>();
    let create = mock!(Client::create_vpc_endpoint)
        .match_requests(see)
        .then_output(|| {
            CreateVpcEndpointOutput::builder()
                .vpc_endpoint(endpoint(VPCE, "pending", vec![]))
                .build()
        });
    let describe = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .sequence()
        .error(|| DescribeVpcEndpointsError::generic(meta("InvalidVpcEndpointId.NotFound")))
        .output(|| described(endpoint(VPCE, "pending", vec![])))
        .output(|| described(endpoint(VPCE, "pendingAcceptance", vec![])))
        .output(|| described(endpoint(VPCE, "available", vec![])))
        .build();
    let c = clients(&[&create, &describe]);
    let r = resource(
        Kind::VpcEndpoint,
        "ecr",
        interface_spec(&["subnet-a", "subnet-b"], &["sg-1"], true),
    );

    super::create(&c, &r).await.unwrap();

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
    let r = resource(
        Kind::VpcEndpoint,
        "ecr",
        interface_spec(&["subnet-a"], &[], false),
    );

    let err = super::create(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("no free addresses"), "{}", err.message);
}

#[tokio::test]
async fn find_endpoint_adopts_our_live_one_and_skips_foreign_and_dead_ones() {
    let (seen, see) = recorder::<DescribeVpcEndpointsInput>();
    let list = mock!(Client::describe_vpc_endpoints)
        .match_requests(move |req| !req.filters().is_empty() && see(req))
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
    let r = resource(Kind::VpcEndpoint, "s3", gateway_spec(&["rtb-a"]));

    let found = super::find(&c, &r).await.unwrap().unwrap();
    assert_eq!(found["id"], json!(VPCE));
    assert_eq!(poll.num_calls(), 1);
    assert_eq!(
        filter_pairs(seen.lock().unwrap()[0].filters()),
        owner_filter_pairs("s3")
    );

    assert_eq!(super::find(&c, &r).await.unwrap(), None);
}

#[tokio::test]
async fn find_endpoint_waits_for_a_deleting_one_to_go_then_finds_nothing() {
    let list = mock!(Client::describe_vpc_endpoints)
        .match_requests(|req| !req.filters().is_empty())
        .then_output(|| described(endpoint(VPCE, "deleting", owner_tags(STACK, "s3"))));
    let poll = mock!(Client::describe_vpc_endpoints)
        .match_requests(by_id)
        .sequence()
        .output(|| described(endpoint(VPCE, "deleting", vec![])))
        .output(|| described(endpoint(VPCE, "deleted", vec![])))
        .build();
    let c = clients(&[&list, &poll]);
    let r = resource(Kind::VpcEndpoint, "s3", gateway_spec(&["rtb-a"]));

    assert_eq!(super::find(&c, &r).await.unwrap(), None);
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
    let r = resource(Kind::VpcEndpoint, "s3", gateway_spec(&["rtb-b", "rtb-c"]));
    let prior = recorded(&r, &[("id", VPCE)]);

    let out = super::update(&c, &prior, &r, &["route_table_ids".to_string()])
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
    let r = resource(
        Kind::VpcEndpoint,
        "ecr",
        interface_spec(&["subnet-a", "subnet-b"], &["sg-2"], false),
    );
    let prior = recorded(&r, &[("id", VPCE)]);

    for field in ["subnet_ids", "security_group_ids", "private_dns_enabled"] {
        super::update(&c, &prior, &r, &[field.to_string()])
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
    let r = resource(
        Kind::VpcEndpoint,
        "ecr",
        interface_spec(&["subnet-a"], &["sg-1"], true),
    );
    let prior = recorded(&r, &[("id", VPCE)]);

    super::update(&c, &prior, &r, &[]).await.unwrap();
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
    let r = resource(Kind::VpcEndpoint, "s3", gateway_spec(&["rtb-a"]));
    let prior = recorded(&r, &[("id", VPCE)]);

    super::delete(&c, "s3", &prior).await.unwrap();
    super::delete(&c, "s3", &prior).await.unwrap();
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
        .error(|| DescribeVpcEndpointsError::generic(meta("InvalidVpcEndpointId.NotFound")))
        .build();
    let delete = mock!(Client::delete_vpc_endpoints)
        .match_requests(see)
        .then_output(|| DeleteVpcEndpointsOutput::builder().build());
    let c = clients(&[&describe, &delete]);
    let r = resource(Kind::VpcEndpoint, "s3", gateway_spec(&["rtb-a"]));

    super::delete(&c, "s3", &recorded(&r, &[("id", VPCE)]))
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
        .error(|| DescribeVpcEndpointsError::generic(meta("InvalidVpcEndpointId.NotFound")))
        // Second delete: another error in the list fails the delete.
        .output(|| described(endpoint(VPCE, "available", vec![])))
        .build();
    let delete = mock!(Client::delete_vpc_endpoints)
        .sequence()
        .output(|| unsuccessful("InvalidVpcEndpoint.NotFound"))
        .output(|| unsuccessful("InvalidParameter"))
        .build();
    let c = clients(&[&describe, &delete]);
    let r = resource(Kind::VpcEndpoint, "s3", gateway_spec(&["rtb-a"]));
    let prior = recorded(&r, &[("id", VPCE)]);

    super::delete(&c, "s3", &prior).await.unwrap();
    let err = super::delete(&c, "s3", &prior).await.unwrap_err();
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
    let r = resource(Kind::VpcEndpoint, "s3", gateway_spec(&["rtb-a"]));

    let err = super::delete(&c, "s3", &recorded(&r, &[("id", VPCE)]))
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
