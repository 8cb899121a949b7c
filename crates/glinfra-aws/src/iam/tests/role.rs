//! The role driver: create, adoption, in-place updates, delete.

use super::*;
use crate::driver::Driver;
use crate::iam::IamRoleDriver;
use crate::kit::{tags, Changed};
use crate::test_support::{all_used, meta, ok_rule, recorded, recorder};
use aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyOutput;
use aws_sdk_iam::operation::create_role::{CreateRoleError, CreateRoleInput, CreateRoleOutput};
use aws_sdk_iam::operation::delete_role::DeleteRoleOutput;
use aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyOutput;
use aws_sdk_iam::operation::detach_role_policy::{DetachRolePolicyError, DetachRolePolicyOutput};
use aws_sdk_iam::operation::get_role::{GetRoleError, GetRoleOutput};
use aws_sdk_iam::operation::list_attached_role_policies::{
    ListAttachedRolePoliciesError, ListAttachedRolePoliciesOutput,
};
use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
use aws_sdk_iam::operation::put_role_policy::{PutRolePolicyInput, PutRolePolicyOutput};
use aws_sdk_iam::operation::tag_role::TagRoleOutput;
use aws_sdk_iam::operation::untag_role::UntagRoleOutput;
use aws_sdk_iam::operation::update_assume_role_policy::UpdateAssumeRolePolicyOutput;
use aws_sdk_iam::operation::update_role::UpdateRoleOutput;
use aws_sdk_iam::types::AttachedPolicy;
use aws_sdk_iam::Client;
use aws_smithy_mocks::mock;
use glinfra_core::{TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::ErrorClass;
use serde_json::Value;

#[tokio::test]
async fn create_sends_path_trust_policy_description_and_tags_then_attaches_policies() {
    let spec = spec();
    let (created, see_created) = recorder::<CreateRoleInput>();
    let (put, see_put) = recorder::<PutRolePolicyInput>();
    let rules = [
        mock!(Client::create_role)
            .match_requests(see_created)
            .then_output(|| CreateRoleOutput::builder().role(role(&[])).build()),
        mock!(Client::attach_role_policy)
            .match_requests(|r| {
                r.role_name() == Some("replicator")
                    && r.policy_arn() == Some("arn:aws:iam::aws:policy/ReadOnlyAccess")
            })
            .then_output(|| AttachRolePolicyOutput::builder().build()),
        ok_rule!(Client::put_role_policy(see_put) -> PutRolePolicyOutput),
    ];
    let c = mock_iam(&rules.iter().collect::<Vec<_>>());

    let out = IamRoleDriver
        .create(&c, &resource(spec.clone()))
        .await
        .unwrap();

    assert_eq!(out, outputs());
    let created = created.lock().unwrap();
    assert_eq!(created[0].role_name(), Some("replicator"));
    assert_eq!(created[0].path(), Some("/service/"));
    assert_eq!(created[0].description(), Some("S3 replication"));
    let trust: Value =
        serde_json::from_str(created[0].assume_role_policy_document().unwrap()).unwrap();
    assert_eq!(trust, spec.assume_role_policy);
    assert_eq!(tags::from_sdk(created[0].tags()), owner_tags());
    let put = put.lock().unwrap();
    assert_eq!(put[0].policy_name(), Some("replicate"));
    let doc: Value = serde_json::from_str(put[0].policy_document().unwrap()).unwrap();
    assert_eq!(doc, spec.inline_policies["replicate"]);
    all_used(&rules);
}

#[tokio::test]
async fn create_of_an_existing_role_of_another_owner_is_already_exists() {
    let rules = [
        mock!(Client::create_role)
            .then_error(|| CreateRoleError::generic(meta("EntityAlreadyExists"))),
        mock!(Client::get_role).then_output(|| {
            GetRoleOutput::builder()
                .role(role(&[
                    (TAG_STACK, "staging"),
                    (TAG_LOGICAL_ID, "replicator"),
                ]))
                .build()
        }),
    ];
    let c = mock_iam(&rules.iter().collect::<Vec<_>>());
    let err = IamRoleDriver
        .create(&c, &resource(spec()))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
}

#[tokio::test]
async fn find_adopts_only_a_role_with_our_tags() {
    let rules = [
        mock!(Client::get_role).then_error(|| GetRoleError::generic(meta("NoSuchEntity"))),
        mock!(Client::get_role).then_output(|| {
            GetRoleOutput::builder()
                .role(role(&[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "replicator")]))
                .build()
        }),
        mock!(Client::get_role).then_output(|| {
            GetRoleOutput::builder()
                .role(role(&[("owner", "me")]))
                .build()
        }),
    ];
    let c = mock_iam(&rules.iter().collect::<Vec<_>>());
    let r = resource(spec());
    assert_eq!(IamRoleDriver.find(&c, &r).await.unwrap(), None);
    assert_eq!(IamRoleDriver.find(&c, &r).await.unwrap(), Some(outputs()));
    let err = IamRoleDriver.find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(
        err.message.contains("not managed by glinfra"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn update_applies_policy_and_tag_differences() {
    let before = spec();
    let mut after = spec();
    after.managed_policy_arns = vec!["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".into()];
    after.inline_policies = BTreeMap::from([(
        "extra".to_string(),
        json!({"Version": "2012-10-17", "Statement": []}),
    )]);
    let mut prior = recorded(&resource(before), outputs());
    prior.tags.insert("old".into(), "x".into());
    let rules = [
        mock!(Client::attach_role_policy)
            .match_requests(|r| {
                r.policy_arn() == Some("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
            })
            .then_output(|| AttachRolePolicyOutput::builder().build()),
        mock!(Client::detach_role_policy)
            .match_requests(|r| r.policy_arn() == Some("arn:aws:iam::aws:policy/ReadOnlyAccess"))
            .then_output(|| DetachRolePolicyOutput::builder().build()),
        mock!(Client::put_role_policy)
            .match_requests(|r| r.policy_name() == Some("extra"))
            .then_output(|| PutRolePolicyOutput::builder().build()),
        mock!(Client::delete_role_policy)
            .match_requests(|r| r.policy_name() == Some("replicate"))
            .then_output(|| DeleteRolePolicyOutput::builder().build()),
        mock!(Client::tag_role)
            .match_requests(|r| tags::from_sdk(r.tags()) == owner_tags())
            .then_output(|| TagRoleOutput::builder().build()),
        mock!(Client::untag_role)
            .match_requests(|r| r.tag_keys() == ["old"])
            .then_output(|| UntagRoleOutput::builder().build()),
    ];
    let c = mock_iam(&rules.iter().collect::<Vec<_>>());
    let changed: Vec<String> = ["managed_policy_arns", "inline_policies", "tags"]
        .map(String::from)
        .to_vec();

    let out = IamRoleDriver
        .update(&c, &prior, &resource(after), Changed(&changed))
        .await
        .unwrap();

    assert_eq!(out, outputs());
    all_used(&rules);
}

#[tokio::test]
async fn update_of_trust_policy_and_description() {
    let mut after = spec();
    after.description = "new".into();
    let rules = [
        mock!(Client::update_assume_role_policy)
            .match_requests(|r| {
                r.role_name() == Some("replicator")
                    && r.policy_document()
                        .map(|d| serde_json::from_str::<Value>(d).unwrap())
                        == Some(spec().assume_role_policy)
            })
            .then_output(|| UpdateAssumeRolePolicyOutput::builder().build()),
        mock!(Client::update_role)
            .match_requests(|r| r.description() == Some("new"))
            .then_output(|| UpdateRoleOutput::builder().build()),
    ];
    let c = mock_iam(&rules.iter().collect::<Vec<_>>());
    let changed: Vec<String> = ["assume_role_policy", "description"]
        .map(String::from)
        .to_vec();
    let prior = recorded(&resource(spec()), outputs());
    IamRoleDriver
        .update(&c, &prior, &resource(after), Changed(&changed))
        .await
        .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn delete_detaches_managed_and_deletes_inline_policies_before_the_role() {
    let rules = [
        mock!(Client::list_attached_role_policies)
            .match_requests(|r| r.role_name() == Some("replicator"))
            .then_output(|| {
                ListAttachedRolePoliciesOutput::builder()
                    .attached_policies(
                        AttachedPolicy::builder()
                            .policy_arn("arn:aws:iam::aws:policy/A")
                            .build(),
                    )
                    .attached_policies(
                        AttachedPolicy::builder()
                            .policy_arn("arn:aws:iam::aws:policy/B")
                            .build(),
                    )
                    .build()
            }),
        mock!(Client::detach_role_policy)
            .match_requests(|r| r.policy_arn() == Some("arn:aws:iam::aws:policy/A"))
            .then_output(|| DetachRolePolicyOutput::builder().build()),
        // Detached meanwhile: still fine.
        mock!(Client::detach_role_policy)
            .match_requests(|r| r.policy_arn() == Some("arn:aws:iam::aws:policy/B"))
            .then_error(|| DetachRolePolicyError::generic(meta("NoSuchEntity"))),
        mock!(Client::list_role_policies).then_output(|| {
            ListRolePoliciesOutput::builder()
                .policy_names("added-by-hand")
                .policy_names("replicate")
                .build()
                .unwrap()
        }),
        mock!(Client::delete_role_policy)
            .match_requests(|r| r.policy_name() == Some("added-by-hand"))
            .then_output(|| DeleteRolePolicyOutput::builder().build()),
        mock!(Client::delete_role_policy)
            .match_requests(|r| r.policy_name() == Some("replicate"))
            .then_output(|| DeleteRolePolicyOutput::builder().build()),
        mock!(Client::delete_role)
            .match_requests(|r| r.role_name() == Some("replicator"))
            .then_output(|| DeleteRoleOutput::builder().build()),
    ];
    let c = mock_iam(&rules.iter().collect::<Vec<_>>());

    let prior = recorded(&resource(spec()), outputs());
    IamRoleDriver.delete(&c, &prior).await.unwrap();

    all_used(&rules);
}

#[tokio::test]
async fn delete_of_a_role_already_gone_is_success() {
    let rule = mock!(Client::list_attached_role_policies)
        .then_error(|| ListAttachedRolePoliciesError::generic(meta("NoSuchEntity")));
    let c = mock_iam(&[&rule]);
    let prior = recorded(&resource(spec()), outputs());
    IamRoleDriver.delete(&c, &prior).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn delete_of_a_role_still_in_use_says_so_and_keeps_the_code() {
    let rules = [
        mock!(Client::list_attached_role_policies)
            .then_output(|| ListAttachedRolePoliciesOutput::builder().build()),
        mock!(Client::list_role_policies).then_output(|| {
            ListRolePoliciesOutput::builder()
                .set_policy_names(Some(vec![]))
                .build()
                .unwrap()
        }),
        mock!(Client::delete_role).then_error(|| {
            aws_sdk_iam::operation::delete_role::DeleteRoleError::generic(meta("DeleteConflict"))
        }),
    ];
    let c = mock_iam(&rules.iter().collect::<Vec<_>>());
    let prior = recorded(&resource(spec()), outputs());
    let err = IamRoleDriver.delete(&c, &prior).await.unwrap_err();
    assert!(err.has_code(&["DeleteConflict"]), "{err:?}");
    assert!(err.message.contains("still in use"), "{}", err.message);
    all_used(&rules);
}
