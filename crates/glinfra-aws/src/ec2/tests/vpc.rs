//! VPC: tagged create, DNS attributes one per call, find by tags, delete, tags.

use super::*;
use crate::driver::Driver;
use crate::ec2::VpcDriver;
use crate::test_support::{meta, ok_rule, recorded, recorder};
use aws_sdk_ec2::operation::create_tags::{CreateTagsInput, CreateTagsOutput};
use aws_sdk_ec2::operation::create_vpc::{CreateVpcInput, CreateVpcOutput};
use aws_sdk_ec2::operation::delete_tags::{DeleteTagsInput, DeleteTagsOutput};
use aws_sdk_ec2::operation::delete_vpc::DeleteVpcError;
use aws_sdk_ec2::operation::describe_vpcs::{
    DescribeVpcsError, DescribeVpcsInput, DescribeVpcsOutput,
};
use aws_sdk_ec2::operation::modify_vpc_attribute::{
    ModifyVpcAttributeInput, ModifyVpcAttributeOutput,
};
use aws_sdk_ec2::types::{ResourceType, Vpc, VpcState};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::ec2::{VpcOutputs, VpcSpec};
use glinfra_engine::ErrorClass;
use serde_json::json;

fn vpc(id: &str, state: VpcState) -> Vpc {
    Vpc::builder()
        .vpc_id(id)
        .owner_id(ACCOUNT)
        .state(state)
        .build()
}

fn vpc_resource(id: &str, support: bool, hostnames: bool) -> Desired<VpcSpec> {
    resource(
        id,
        json!({"cidr_block": "10.0.0.0/16", "enable_dns_support": support, "enable_dns_hostnames": hostnames}),
    )
}

fn vpc_outputs(id: &str, arn: &str) -> VpcOutputs {
    VpcOutputs {
        id: id.into(),
        arn: arn.into(),
    }
}

#[tokio::test]
async fn create_vpc_tags_atomically_and_sets_dns_one_attribute_per_call() {
    let (created, see_created) = recorder::<CreateVpcInput>();
    let (modified, see_modified) = recorder::<ModifyVpcAttributeInput>();
    let create = mock!(Client::create_vpc)
        .match_requests(see_created)
        .then_output(|| {
            CreateVpcOutput::builder()
                .vpc(vpc("vpc-1", VpcState::Available))
                .build()
        });
    let modify = ok_rule!(Client::modify_vpc_attribute(see_modified) -> ModifyVpcAttributeOutput);
    let c = clients(&[&create, &modify]);
    let r = vpc_resource("vpc", true, true);

    let out = VpcDriver.create(&c, &r).await.unwrap();

    assert_eq!(
        out,
        vpc_outputs("vpc-1", "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1")
    );
    let req = &created.lock().unwrap()[0];
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
    let mods = modified.lock().unwrap().clone();
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
    let (modified, see_modified) = recorder::<ModifyVpcAttributeInput>();
    let create = mock!(Client::create_vpc).then_output(|| {
        CreateVpcOutput::builder()
            .vpc(vpc("vpc-1", VpcState::Pending))
            .build()
    });
    let describe = mock!(Client::describe_vpcs)
        .match_requests(|req| req.vpc_ids() == ["vpc-1"])
        .sequence()
        // Not visible yet right after the create (eventual consistency).
        .error(|| DescribeVpcsError::generic(meta("InvalidVpcID.NotFound")))
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
    let modify = ok_rule!(Client::modify_vpc_attribute(see_modified) -> ModifyVpcAttributeOutput);
    let c = clients(&[&create, &describe, &modify]);
    let r = vpc_resource("vpc", false, false);

    VpcDriver.create(&c, &r).await.unwrap();

    assert_eq!(describe.num_calls(), 3);
    let mods = modified.lock().unwrap().clone();
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
    let (seen, see) = recorder::<DescribeVpcsInput>();
    let describe = mock!(Client::describe_vpcs)
        .match_requests(see)
        .then_output(|| {
            let mut found = vpc("vpc-9", VpcState::Available);
            found.tags = Some(owner_tags(STACK, "network"));
            DescribeVpcsOutput::builder().vpcs(found).build()
        });
    let c = clients(&[&describe]);
    let r = vpc_resource("network", true, true);

    let found = VpcDriver.find(&c, &r).await.unwrap();

    assert_eq!(
        found,
        Some(vpc_outputs(
            "vpc-9",
            "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-9"
        ))
    );
    let req = &seen.lock().unwrap()[0];
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
    let r = vpc_resource("vpc", true, true);
    assert_eq!(VpcDriver.find(&c, &r).await.unwrap(), None);
    assert_eq!(VpcDriver.find(&c, &r).await.unwrap(), None);
}

#[tokio::test]
async fn delete_vpc_already_gone_succeeds() {
    let delete = mock!(Client::delete_vpc)
        .match_requests(|req| req.vpc_id() == Some("vpc-1"))
        .then_error(|| DeleteVpcError::generic(meta("InvalidVpcID.NotFound")));
    let c = clients(&[&delete]);
    let r = vpc_resource("vpc", true, true);
    VpcDriver
        .delete(&c, &recorded(&r, vpc_outputs("vpc-1", "arn")))
        .await
        .unwrap();
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn delete_vpc_with_dependents_is_retryable() {
    let delete = mock!(Client::delete_vpc)
        .then_error(|| DeleteVpcError::generic(meta("DependencyViolation")));
    let c = clients(&[&delete]);
    let r = vpc_resource("vpc", true, true);
    let err = VpcDriver
        .delete(&c, &recorded(&r, vpc_outputs("vpc-1", "arn")))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
}

#[tokio::test]
async fn update_vpc_changes_only_the_named_dns_attribute() {
    let (modified, see_modified) = recorder::<ModifyVpcAttributeInput>();
    let modify = ok_rule!(Client::modify_vpc_attribute(see_modified) -> ModifyVpcAttributeOutput);
    let c = clients(&[&modify]);
    let r = vpc_resource("vpc", true, false);
    let prior = recorded(&r, vpc_outputs("vpc-1", "arn-1"));

    let changed = ["enable_dns_hostnames".to_string()];
    let out = VpcDriver
        .update(&c, &prior, &r, Changed(&changed))
        .await
        .unwrap();

    assert_eq!(out, prior.outputs);
    let mods = modified.lock().unwrap().clone();
    assert_eq!(mods.len(), 1);
    assert_eq!(mods[0].vpc_id(), Some("vpc-1"));
    assert_eq!(
        mods[0].enable_dns_hostnames().and_then(|a| a.value()),
        Some(false)
    );
}

#[tokio::test]
async fn update_tags_deletes_removed_keys_and_sets_only_changed_ones() {
    let (deleted, see_deleted) = recorder::<DeleteTagsInput>();
    let (created, see_created) = recorder::<CreateTagsInput>();
    let log = Log::default();
    let (l1, l2) = (log.clone(), log.clone());
    let delete_tags = mock!(Client::delete_tags)
        .match_requests(see_deleted)
        .then_output(move || {
            l1.add("DeleteTags");
            DeleteTagsOutput::builder().build()
        });
    let create_tags = mock!(Client::create_tags)
        .match_requests(see_created)
        .then_output(move || {
            l2.add("CreateTags");
            CreateTagsOutput::builder().build()
        });
    let c = clients(&[&delete_tags, &create_tags]);
    let mut r = vpc_resource("vpc", true, true);
    let mut prior = recorded(&r, vpc_outputs("vpc-1", "arn"));
    prior.tags.insert("team".into(), "a".into());
    r.tags.insert("environment".into(), "prod".into());
    r.tags.insert("cost-centre".into(), "42".into());

    let changed = ["tags".to_string()];
    VpcDriver
        .update(&c, &prior, &r, Changed(&changed))
        .await
        .unwrap();

    let del = &deleted.lock().unwrap()[0];
    assert_eq!(del.resources(), ["vpc-1"]);
    let keys: Vec<_> = del.tags().iter().map(|t| t.key().unwrap()).collect();
    assert_eq!(keys, ["team"]);
    assert!(
        del.tags().iter().all(|t| t.value().is_none()),
        "delete by key, whatever the value"
    );
    let set = &created.lock().unwrap()[0];
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
