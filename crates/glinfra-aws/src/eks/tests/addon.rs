//! SDK-mock tests of the EKS add-on driver.

use super::*;
use crate::driver::Driver;
use crate::eks::EksAddonDriver;
use crate::kit::tags;
use crate::test_support;
use crate::test_support::{all_used, assert_error, meta, ok_rule, recorder};
use aws_sdk_eks::operation::create_addon::{CreateAddonInput, CreateAddonOutput};
use aws_sdk_eks::operation::delete_addon::{DeleteAddonError, DeleteAddonOutput};
use aws_sdk_eks::operation::describe_addon::{DescribeAddonError, DescribeAddonOutput};
use aws_sdk_eks::operation::describe_pod_identity_association::DescribePodIdentityAssociationOutput;
use aws_sdk_eks::operation::list_addons::ListAddonsOutput;
use aws_sdk_eks::operation::update_addon::{UpdateAddonInput, UpdateAddonOutput};
use aws_sdk_eks::types::{Addon, AddonStatus, PodIdentityAssociation, ResolveConflicts};
use glinfra_core::spec::eks::{
    AddonPodIdentity, EksAddonOutputs, EksAddonSpec, ResolveConflicts as SpecResolve,
};
use glinfra_engine::ErrorClass;

const ADDON: &str = "vpc-cni";
const ADDON_ARN: &str = "arn:aws:eks:eu-west-1:111122223333:addon/prod/vpc-cni/9a8b";
const CNI_ROLE: &str = "arn:aws:iam::111122223333:role/greenlang-prod-vpc-cni";
const ASSOC_ARN: &str = "arn:aws:eks:eu-west-1:111122223333:podidentityassociation/prod/a-cni";
const OURS: &[(&str, &str)] = &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "addon-vpc-cni")];

fn spec() -> EksAddonSpec {
    EksAddonSpec {
        cluster_name: v(CLUSTER),
        addon_name: ADDON.into(),
        addon_version: Some("v1.19.2-eksbuild.1".into()),
        service_account_role_arn: None,
        pod_identity_associations: vec![AddonPodIdentity {
            service_account: "aws-node".into(),
            role_arn: v(CNI_ROLE),
        }],
        resolve_conflicts: SpecResolve::Overwrite,
    }
}

fn out() -> EksAddonOutputs {
    EksAddonOutputs {
        name: ADDON.into(),
        arn: ADDON_ARN.into(),
    }
}

fn addon(status: AddonStatus, tags: &[(&str, &str)]) -> Addon {
    Addon::builder()
        .addon_name(ADDON)
        .cluster_name(CLUSTER)
        .addon_arn(ADDON_ARN)
        .addon_version("v1.19.2-eksbuild.1")
        .status(status)
        .pod_identity_associations(ASSOC_ARN)
        .set_tags(Some(tag_map(tags)))
        .build()
}

fn describe(a: Addon) -> Rule {
    mock!(aws_sdk_eks::Client::describe_addon)
        .match_requests(|r| r.cluster_name() == Some(CLUSTER) && r.addon_name() == Some(ADDON))
        .then_output(move || DescribeAddonOutput::builder().addon(a.clone()).build())
}

fn missing() -> Rule {
    mock!(aws_sdk_eks::Client::describe_addon)
        .then_error(|| DescribeAddonError::generic(meta("ResourceNotFoundException")))
}

/// DescribePodIdentityAssociation of the add-on's association: `aws-node` with `role`.
fn association(role: &'static str) -> Rule {
    mock!(aws_sdk_eks::Client::describe_pod_identity_association)
        .match_requests(|r| {
            r.cluster_name() == Some(CLUSTER) && r.association_id() == Some("a-cni")
        })
        .then_output(move || {
            DescribePodIdentityAssociationOutput::builder()
                .association(
                    PodIdentityAssociation::builder()
                        .cluster_name(CLUSTER)
                        .namespace("kube-system")
                        .service_account("aws-node")
                        .role_arn(role)
                        .association_id("a-cni")
                        .association_arn(ASSOC_ARN)
                        .build(),
                )
                .build()
        })
}

fn r(spec: &EksAddonSpec) -> Desired<EksAddonSpec> {
    resource("addon-vpc-cni", spec)
}

fn prior(spec: &EksAddonSpec) -> Recorded<EksAddonSpec> {
    state("addon-vpc-cni", spec, out())
}

#[tokio::test]
async fn create_sends_version_identity_conflicts_and_tags_then_waits_until_active() {
    let (seen, see) = recorder::<CreateAddonInput>();
    let rules = vec![
        ok_rule!(aws_sdk_eks::Client::create_addon(see) -> CreateAddonOutput),
        describe(addon(AddonStatus::Creating, OURS)),
        describe(addon(AddonStatus::Active, OURS)),
    ];
    let c = mock_eks(&rules);

    assert_eq!(EksAddonDriver.create(&c, &r(&spec())).await.unwrap(), out());

    all_used(&rules);
    let req = &seen.lock().unwrap()[0];
    assert_eq!(req.cluster_name(), Some(CLUSTER));
    assert_eq!(req.addon_name(), Some(ADDON));
    assert_eq!(req.addon_version(), Some("v1.19.2-eksbuild.1"));
    assert_eq!(req.service_account_role_arn(), None);
    let pods = req.pod_identity_associations();
    assert_eq!(pods.len(), 1);
    assert_eq!(
        (pods[0].service_account(), pods[0].role_arn()),
        ("aws-node", CNI_ROLE)
    );
    assert_eq!(req.resolve_conflicts(), Some(&ResolveConflicts::Overwrite));
    assert_eq!(tags::from_map(req.tags()), owner_tags("addon-vpc-cni"));
}

#[tokio::test]
async fn create_of_a_failed_addon_of_ours_deletes_it_and_creates_again() {
    let rules = vec![
        mock!(aws_sdk_eks::Client::create_addon).then_error(|| {
            aws_sdk_eks::operation::create_addon::CreateAddonError::generic(meta(
                "ResourceInUseException",
            ))
        }),
        describe(addon(AddonStatus::CreateFailed, OURS)),
        mock!(aws_sdk_eks::Client::delete_addon)
            .then_output(|| DeleteAddonOutput::builder().build()),
        missing(),
        mock!(aws_sdk_eks::Client::create_addon)
            .then_output(|| CreateAddonOutput::builder().build()),
        describe(addon(AddonStatus::Active, OURS)),
    ];
    let c = mock_eks(&rules);
    assert_eq!(EksAddonDriver.create(&c, &r(&spec())).await.unwrap(), out());
    all_used(&rules);
}

#[tokio::test]
async fn find_adopts_only_our_addon() {
    let theirs: &[(&str, &str)] = &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "addon-vpc-cni")];
    let rules = vec![
        missing(),
        describe(addon(AddonStatus::Degraded, OURS)),
        describe(addon(AddonStatus::Active, theirs)),
    ];
    let c = mock_eks(&rules);
    assert_eq!(EksAddonDriver.find(&c, &r(&spec())).await.unwrap(), None);
    assert_eq!(
        EksAddonDriver.find(&c, &r(&spec())).await.unwrap(),
        Some(out())
    );
    let err = EksAddonDriver.find(&c, &r(&spec())).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "EKS add-on `prod/vpc-cni`");
    all_used(&rules);
}

#[tokio::test]
async fn update_sends_the_whole_identity_list_when_a_role_differs_and_follows_the_update() {
    let (seen, see) = recorder::<UpdateAddonInput>();
    let rules = vec![
        describe(addon(AddonStatus::Active, OURS)),
        association("arn:aws:iam::111122223333:role/old"),
        mock!(aws_sdk_eks::Client::update_addon)
            .match_requests(see)
            .then_output(|| {
                UpdateAddonOutput::builder()
                    .update(an_update("u1", UpdateStatus::InProgress))
                    .build()
            }),
        mock!(aws_sdk_eks::Client::describe_update)
            .match_requests(|r| {
                r.name() == Some(CLUSTER)
                    && r.addon_name() == Some(ADDON)
                    && r.nodegroup_name().is_none()
                    && r.update_id() == Some("u1")
            })
            .then_output(|| {
                aws_sdk_eks::operation::describe_update::DescribeUpdateOutput::builder()
                    .update(an_update("u1", UpdateStatus::Successful))
                    .build()
            }),
        describe(addon(AddonStatus::Active, OURS)),
    ];
    let c = mock_eks(&rules);
    let fields = &["pod_identity_associations", "addon_version"];
    let (before, after) = (prior(&spec()), r(&spec()));
    let done = test_support::update(&EksAddonDriver, &c, &before, &after, fields);
    assert_eq!(done.await.unwrap(), out());
    all_used(&rules);
    let req = &seen.lock().unwrap()[0];
    // The version is the add-on's already: not sent.
    assert_eq!(req.addon_version(), None);
    let pods = req.pod_identity_associations();
    assert_eq!(pods.len(), 1);
    assert_eq!(
        (pods[0].service_account(), pods[0].role_arn()),
        ("aws-node", CNI_ROLE)
    );
    assert_eq!(req.resolve_conflicts(), Some(&ResolveConflicts::Overwrite));
}

#[tokio::test]
async fn update_sends_nothing_when_the_addon_matches() {
    let rules = vec![
        describe(addon(AddonStatus::Active, OURS)),
        association(CNI_ROLE),
    ];
    let c = mock_eks(&rules);
    let fields = &["pod_identity_associations", "addon_version"];
    let (before, after) = (prior(&spec()), r(&spec()));
    let done = test_support::update(&EksAddonDriver, &c, &before, &after, fields);
    assert_eq!(done.await.unwrap(), out());
    all_used(&rules);
}

#[tokio::test]
async fn delete_waits_until_gone_and_a_gone_addon_is_deleted() {
    let rules = vec![
        mock!(aws_sdk_eks::Client::delete_addon)
            .match_requests(|r| r.cluster_name() == Some(CLUSTER) && r.addon_name() == Some(ADDON))
            .then_output(|| DeleteAddonOutput::builder().build()),
        describe(addon(AddonStatus::Deleting, OURS)),
        missing(),
        mock!(aws_sdk_eks::Client::delete_addon)
            .then_error(|| DeleteAddonError::generic(meta("ResourceNotFoundException"))),
    ];
    let c = mock_eks(&rules);
    EksAddonDriver.delete(&c, &prior(&spec())).await.unwrap();
    EksAddonDriver.delete(&c, &prior(&spec())).await.unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn observe_reads_version_and_identities_of_our_addons() {
    let rules = vec![
        mock!(aws_sdk_eks::Client::list_addons)
            .match_requests(|r| r.cluster_name() == Some(CLUSTER))
            .then_output(|| ListAddonsOutput::builder().addons(ADDON).build()),
        describe(addon(AddonStatus::Active, OURS)),
        association("arn:aws:iam::111122223333:role/changed"),
    ];
    let c = mock_eks(&rules);
    let scope = test_support::scope("prod", REGION, vec![prior(&spec())]);

    let live = EksAddonDriver.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, "addon-vpc-cni");
    let mut want = spec();
    want.pod_identity_associations[0].role_arn = v("arn:aws:iam::111122223333:role/changed");
    assert_eq!(live[0].spec.as_ref(), Some(&want));
    all_used(&rules);
}
