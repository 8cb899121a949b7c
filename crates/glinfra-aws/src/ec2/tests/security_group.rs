//! Security group: tagged create, exact rules (the default egress revoked),
//! adoption by tags only, rule diffs, tags, delete.

use super::*;
use crate::driver::Driver;
use crate::ec2::security_group::{desired_rules, diff_rules, RuleKey};
use crate::ec2::SecurityGroupDriver;
use crate::test_support::{delete_found, meta, ok_rule, recorded, recorder};
use aws_sdk_ec2::operation::authorize_security_group_egress::{
    AuthorizeSecurityGroupEgressInput, AuthorizeSecurityGroupEgressOutput,
};
use aws_sdk_ec2::operation::authorize_security_group_ingress::{
    AuthorizeSecurityGroupIngressError, AuthorizeSecurityGroupIngressInput,
    AuthorizeSecurityGroupIngressOutput,
};
use aws_sdk_ec2::operation::create_security_group::{
    CreateSecurityGroupError, CreateSecurityGroupInput, CreateSecurityGroupOutput,
};
use aws_sdk_ec2::operation::create_tags::{CreateTagsInput, CreateTagsOutput};
use aws_sdk_ec2::operation::delete_security_group::{
    DeleteSecurityGroupError, DeleteSecurityGroupOutput,
};
use aws_sdk_ec2::operation::delete_tags::{DeleteTagsInput, DeleteTagsOutput};
use aws_sdk_ec2::operation::describe_security_group_rules::{
    DescribeSecurityGroupRulesInput, DescribeSecurityGroupRulesOutput,
};
use aws_sdk_ec2::operation::describe_security_groups::{
    DescribeSecurityGroupsError, DescribeSecurityGroupsInput, DescribeSecurityGroupsOutput,
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
    IpPermission, IpRange, ResourceType, SecurityGroup, SecurityGroupRule, UserIdGroupPair,
};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, Rule};
use glinfra_core::spec::ec2::{IpProtocol, SecurityGroupOutputs, SecurityGroupSpec};
use glinfra_engine::ErrorClass;
use serde_json::json;
use std::sync::{Arc, Mutex};

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

const SG: &str = "sg-0123456789abcdef0";

fn sg_outputs() -> SecurityGroupOutputs {
    SecurityGroupOutputs {
        id: SG.into(),
        arn: "arn".into(),
    }
}

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
    let r = resource::<SecurityGroupSpec>("sg", sg_spec(https_ingress(), json!([])));

    let out = SecurityGroupDriver.create(&c, &r).await.unwrap();

    assert_eq!(out.id, SG);
    assert_eq!(
        out.arn,
        format!("arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{SG}")
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
    let r = resource::<SecurityGroupSpec>("sg", sg_spec(json!([]), egress));

    let out = SecurityGroupDriver.create(&c, &r).await.unwrap();

    // Without an ARN in the create response, it is built from the owner.
    assert_eq!(
        out.arn,
        format!("arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{SG}")
    );
    assert_eq!(rules.num_calls(), 1);
}

#[tokio::test]
async fn create_security_group_named_like_a_foreign_one_is_already_exists() {
    let create = mock!(Client::create_security_group)
        .then_error(|| CreateSecurityGroupError::generic(meta("InvalidGroup.Duplicate")));
    let c = clients(&[&create]);
    let r = resource::<SecurityGroupSpec>("sg", sg_spec(json!([]), json!([])));

    let err = SecurityGroupDriver.create(&c, &r).await.unwrap_err();

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
    let r = resource::<SecurityGroupSpec>("sg", sg_spec(json!([]), json!([])));

    let found = SecurityGroupDriver.find(&c, &r).await.unwrap().unwrap();
    assert_eq!(found.id, SG);
    assert_eq!(
        filter_pairs(seen.lock().unwrap()[0].filters()),
        owner_filter_pairs("sg")
    );

    assert_eq!(SecurityGroupDriver.find(&c, &r).await.unwrap(), None);
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
    let r = resource::<SecurityGroupSpec>("sg", sg_spec(ingress, json!([])));
    let prior = recorded(&r, sg_outputs());

    let out = SecurityGroupDriver
        .update(&c, &prior, &r, Changed(&["ingress".to_string()]))
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
    let (auth, see_auth) = recorder::<AuthorizeSecurityGroupEgressInput>();
    let authorize = mock!(Client::authorize_security_group_egress)
        .match_requests(see_auth)
        .then_output(|| AuthorizeSecurityGroupEgressOutput::builder().build());
    let (rev, see_rev) = recorder::<RevokeSecurityGroupEgressInput>();
    let revoke =
        ok_rule!(Client::revoke_security_group_egress(see_rev) -> RevokeSecurityGroupEgressOutput);
    let c = clients(&[&rules, &authorize, &revoke]);
    let egress = json!([{"protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr_blocks": ["10.0.0.0/16"]}]);
    let r = resource::<SecurityGroupSpec>("sg", sg_spec(json!([]), egress));
    let prior = recorded(&r, sg_outputs());

    SecurityGroupDriver
        .update(&c, &prior, &r, Changed(&["egress".to_string()]))
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
    let create_tags = ok_rule!(Client::create_tags(see_created) -> CreateTagsOutput);
    let delete_tags = ok_rule!(Client::delete_tags(see_deleted) -> DeleteTagsOutput);
    let c = clients(&[&create_tags, &delete_tags]);
    let mut r = resource::<SecurityGroupSpec>("sg", sg_spec(json!([]), json!([])));
    let prior = recorded(&r, sg_outputs());
    r.tags.remove("environment");
    r.tags.insert("team".into(), "infra".into());

    SecurityGroupDriver
        .update(&c, &prior, &r, Changed(&["tags".to_string()]))
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
    let r = resource::<SecurityGroupSpec>("sg", sg_spec(https_ingress(), json!([])));
    let prior = recorded(&r, sg_outputs());

    SecurityGroupDriver
        .update(&c, &prior, &r, Changed(&["ingress".to_string()]))
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
    let r = resource::<SecurityGroupSpec>("sg", sg_spec(json!([]), json!([])));
    let prior = recorded(&r, sg_outputs());

    let err = SecurityGroupDriver.delete(&c, &prior).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    SecurityGroupDriver.delete(&c, &prior).await.unwrap();
    SecurityGroupDriver.delete(&c, &prior).await.unwrap();
    assert_eq!(delete.num_calls(), 3);
}

/// What a create cut short left (tagged, not recorded) is found by its tags, and
/// deleted from what `find` returned: the executor records it, then deletes it.
#[tokio::test]
async fn a_group_left_by_a_cut_short_create_is_deleted_from_what_find_finds() {
    let describe = mock!(Client::describe_security_groups).then_output(|| {
        DescribeSecurityGroupsOutput::builder()
            .security_groups(group(SG, owner_tags(STACK, "sg")))
            .build()
    });
    let delete = mock!(Client::delete_security_group)
        .match_requests(|req| req.group_id() == Some(SG))
        .then_output(|| DeleteSecurityGroupOutput::builder().build());
    let c = clients(&[&describe, &delete]);
    let r = resource::<SecurityGroupSpec>("sg", sg_spec(json!([]), json!([])));

    delete_found(&SecurityGroupDriver, &c, &r).await;
    assert_eq!(delete.num_calls(), 1);
}

#[test]
fn rule_diff_normalises_all_protocol_ports_and_revokes_foreign_kinds() {
    let spec: SecurityGroupSpec = serde_json::from_value(sg_spec(
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

#[test]
fn protocols_keep_the_spelling_aws_takes_in_json() {
    for (protocol, json) in [
        (IpProtocol::Tcp, "\"tcp\""),
        (IpProtocol::Udp, "\"udp\""),
        (IpProtocol::Icmp, "\"icmp\""),
        (IpProtocol::All, "\"-1\""),
    ] {
        assert_eq!(serde_json::to_string(&protocol).unwrap(), json);
        assert_eq!(serde_json::from_str::<IpProtocol>(json).unwrap(), protocol);
        assert_eq!(format!("\"{}\"", protocol.as_str()), json);
    }
}

/// A permission of `protocol` and ports holding `ranges` (CIDR, description), as
/// DescribeSecurityGroups groups rules.
fn permission(protocol: &str, ports: Option<(i32, i32)>, ranges: &[(&str, &str)]) -> IpPermission {
    let mut p = IpPermission::builder().ip_protocol(protocol);
    if let Some((from, to)) = ports {
        p = p.from_port(from).to_port(to);
    }
    for (cidr, description) in ranges {
        let mut range = IpRange::builder().cidr_ip(*cidr);
        if !description.is_empty() {
            range = range.description(*description);
        }
        p = p.ip_ranges(range.build());
    }
    p.build()
}

#[tokio::test]
async fn observe_maps_grouped_permissions_back_to_the_recorded_rules() {
    let (described, see) = recorder::<DescribeSecurityGroupsInput>();
    let group = |id: &str, name: &str, stack: &str| {
        SecurityGroup::builder()
            .group_id(id)
            .group_name(name)
            .description("managed by glinfra")
            .vpc_id("vpc-1")
            .owner_id(ACCOUNT)
            .set_tags(Some(owner_tags(stack, name)))
    };
    let list = mock!(Client::describe_security_groups)
        .match_requests(see)
        .then_output(move || {
            DescribeSecurityGroupsOutput::builder()
                // Rules as AWS groups them: by protocol and ports, several CIDRs each.
                .security_groups(
                    group("sg-1", "web", STACK)
                        .ip_permissions(permission(
                            "tcp",
                            Some((443, 443)),
                            &[("10.0.0.0/16", "https"), ("10.1.0.0/16", "https")],
                        ))
                        .ip_permissions(permission("tcp", Some((80, 80)), &[("10.0.0.0/16", "")]))
                        .ip_permissions_egress(permission("-1", None, &[("0.0.0.0/0", "")]))
                        .build(),
                )
                .security_groups(
                    group("sg-2", "db", STACK)
                        .ip_permissions(permission(
                            "tcp",
                            Some((5432, 5432)),
                            &[("10.0.1.0/24", "pg")],
                        ))
                        .ip_permissions(permission("tcp", Some((22, 22)), &[("0.0.0.0/0", "ssh")]))
                        // A rule naming another group: a spec cannot hold it.
                        .ip_permissions(
                            IpPermission::builder()
                                .ip_protocol("tcp")
                                .from_port(6379)
                                .to_port(6379)
                                .user_id_group_pairs(
                                    UserIdGroupPair::builder().group_id("sg-9").build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .security_groups(group("sg-3", "web", "other").build())
                .build()
        });
    let c = clients(&[&list]);
    let rule = |protocol: &str, port: i32, cidrs: &[&str], description: &str| json!({"protocol": protocol, "from_port": port, "to_port": port, "cidr_blocks": cidrs, "description": description});
    let web: Desired<SecurityGroupSpec> = resource(
        "web",
        json!({
            "vpc_id": "vpc-1", "name": "web", "description": "managed by glinfra",
            // Another order than AWS's, and the ports of an all-protocols rule as written.
            "ingress": [rule("tcp", 80, &["10.0.0.0/16"], ""), rule("tcp", 443, &["10.1.0.0/16", "10.0.0.0/16"], "https")],
            "egress": [rule("-1", 0, &["0.0.0.0/0"], "")],
        }),
    );
    let db: Desired<SecurityGroupSpec> = resource(
        "db",
        json!({
            "vpc_id": "vpc-1", "name": "db", "description": "managed by glinfra",
            "ingress": [rule("tcp", 5432, &["10.0.1.0/24", "10.0.2.0/24"], "pg")],
            "egress": [],
        }),
    );
    let out = |id: &str| SecurityGroupOutputs {
        id: id.into(),
        arn: format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{id}"),
    };
    let recorded = vec![recorded(&web, out("sg-1")), recorded(&db, out("sg-2"))];

    let live = observe_stack(&SecurityGroupDriver, &c, recorded, &list, || {
        described.lock().unwrap()[0].filters().to_vec()
    })
    .await;
    assert_eq!(live.len(), 2, "another stack's group is dropped");
    assert_eq!(live[0].id, "web");
    assert_eq!(live[0].outputs, out("sg-1"));
    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&web.spec).unwrap(),
        "unchanged, it reads as recorded, in the recorded order"
    );
    assert_eq!(live[1].id, "db");
    let db_live = live[1].spec.as_ref().unwrap();
    assert_eq!(
        serde_json::to_value(&db_live.ingress).unwrap(),
        json!([
            rule("tcp", 5432, &["10.0.1.0/24"], "pg"),
            rule("tcp", 22, &["0.0.0.0/0"], "ssh"),
        ]),
        "the recorded rule with the CIDR it still has, then the rule added"
    );
    assert!(db_live.egress.is_empty());
    assert_eq!(db_live.ingress[1].protocol, IpProtocol::Tcp);
}
