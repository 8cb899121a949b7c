//! SDK-mock tests of the EKS Pod Identity association driver.

use super::*;
use crate::driver::Driver;
use crate::eks::EksPodIdentityDriver;
use crate::kit::tags;
use crate::test_support;
use crate::test_support::{all_used, assert_error, meta, recorder, with_token};
use aws_sdk_eks::operation::create_pod_identity_association::{
    CreatePodIdentityAssociationError, CreatePodIdentityAssociationInput,
    CreatePodIdentityAssociationOutput,
};
use aws_sdk_eks::operation::delete_pod_identity_association::{
    DeletePodIdentityAssociationError, DeletePodIdentityAssociationOutput,
};
use aws_sdk_eks::operation::describe_pod_identity_association::DescribePodIdentityAssociationOutput;
use aws_sdk_eks::operation::list_pod_identity_associations::{
    ListPodIdentityAssociationsInput, ListPodIdentityAssociationsOutput,
};
use aws_sdk_eks::operation::update_pod_identity_association::{
    UpdatePodIdentityAssociationInput, UpdatePodIdentityAssociationOutput,
};
use aws_sdk_eks::types::{PodIdentityAssociation, PodIdentityAssociationSummary};
use glinfra_core::spec::eks::{EksPodIdentityAssociationOutputs, EksPodIdentityAssociationSpec};
use glinfra_engine::ErrorClass;

const ID: &str = "a-0123456789abcdef0";
const ARN: &str =
    "arn:aws:eks:eu-west-1:111122223333:podidentityassociation/prod/a-0123456789abcdef0";
const ROLE: &str = "arn:aws:iam::111122223333:role/greenlang-prod-agent-runtime";
const OURS: &[(&str, &str)] = &[
    (TAG_STACK, "prod"),
    (TAG_LOGICAL_ID, "pod-identity-runtime"),
];

fn spec() -> EksPodIdentityAssociationSpec {
    EksPodIdentityAssociationSpec {
        cluster_name: v(CLUSTER),
        namespace: "greenlang".into(),
        service_account: "agent-runtime".into(),
        role_arn: v(ROLE),
    }
}

fn out() -> EksPodIdentityAssociationOutputs {
    EksPodIdentityAssociationOutputs {
        association_id: ID.into(),
        association_arn: ARN.into(),
    }
}

fn association(id: &str, sa: &str, role: &str, tags: &[(&str, &str)]) -> PodIdentityAssociation {
    PodIdentityAssociation::builder()
        .cluster_name(CLUSTER)
        .namespace("greenlang")
        .service_account(sa)
        .role_arn(role)
        .association_id(id)
        .association_arn(format!(
            "arn:aws:eks:eu-west-1:111122223333:podidentityassociation/prod/{id}"
        ))
        .set_tags(Some(tag_map(tags)))
        .build()
}

fn summary(id: &str, sa: &str, owner: Option<&str>) -> PodIdentityAssociationSummary {
    PodIdentityAssociationSummary::builder()
        .cluster_name(CLUSTER)
        .namespace("greenlang")
        .service_account(sa)
        .association_id(id)
        .set_owner_arn(owner.map(str::to_owned))
        .build()
}

fn list(
    see: impl Fn(&ListPodIdentityAssociationsInput) -> bool + Send + Sync + 'static,
    found: Vec<PodIdentityAssociationSummary>,
) -> Rule {
    mock!(aws_sdk_eks::Client::list_pod_identity_associations)
        .match_requests(see)
        .then_output(move || {
            ListPodIdentityAssociationsOutput::builder()
                .set_associations(Some(found.clone()))
                .build()
        })
}

fn describe(a: PodIdentityAssociation) -> Rule {
    let id = a.association_id().unwrap().to_string();
    mock!(aws_sdk_eks::Client::describe_pod_identity_association)
        .match_requests(move |r| {
            r.cluster_name() == Some(CLUSTER) && r.association_id() == Some(id.as_str())
        })
        .then_output(move || {
            DescribePodIdentityAssociationOutput::builder()
                .association(a.clone())
                .build()
        })
}

fn r() -> Desired<EksPodIdentityAssociationSpec> {
    resource("pod-identity-runtime", &spec())
}

fn prior(spec: &EksPodIdentityAssociationSpec) -> Recorded<EksPodIdentityAssociationSpec> {
    state("pod-identity-runtime", spec, out())
}

#[tokio::test]
async fn create_sends_the_service_account_role_tags_and_token() {
    let (seen, see) = recorder::<CreatePodIdentityAssociationInput>();
    let rules = vec![mock!(aws_sdk_eks::Client::create_pod_identity_association)
        .match_requests(see)
        .then_output(|| {
            CreatePodIdentityAssociationOutput::builder()
                .association(association(ID, "agent-runtime", ROLE, OURS))
                .build()
        })];
    let c = mock_eks(&rules);
    let r = with_token(r(), 7);

    let made = EksPodIdentityDriver.create(&c, &r).await.unwrap();

    assert_eq!(made, out());
    all_used(&rules);
    let req = &seen.lock().unwrap()[0];
    assert_eq!(req.cluster_name(), Some(CLUSTER));
    assert_eq!(req.namespace(), Some("greenlang"));
    assert_eq!(req.service_account(), Some("agent-runtime"));
    assert_eq!(req.role_arn(), Some(ROLE));
    assert_eq!(
        tags::from_map(req.tags()),
        owner_tags("pod-identity-runtime")
    );
    assert_eq!(req.client_request_token(), r.token().as_deref());
    assert!(req.client_request_token().is_some());
}

#[tokio::test]
async fn create_of_a_taken_service_account_adopts_ours_and_refuses_theirs() {
    let in_use = || {
        mock!(aws_sdk_eks::Client::create_pod_identity_association).then_error(|| {
            CreatePodIdentityAssociationError::generic(meta("ResourceInUseException"))
        })
    };
    let filtered = |r: &ListPodIdentityAssociationsInput| {
        r.cluster_name() == Some(CLUSTER)
            && r.namespace() == Some("greenlang")
            && r.service_account() == Some("agent-runtime")
    };
    let theirs: &[(&str, &str)] = &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "x")];
    let rules = vec![
        in_use(),
        list(filtered, vec![summary(ID, "agent-runtime", None)]),
        describe(association(ID, "agent-runtime", ROLE, OURS)),
        in_use(),
        list(filtered, vec![summary(ID, "agent-runtime", None)]),
        describe(association(ID, "agent-runtime", ROLE, theirs)),
    ];
    let c = mock_eks(&rules);

    assert_eq!(EksPodIdentityDriver.create(&c, &r()).await.unwrap(), out());
    let err = EksPodIdentityDriver.create(&c, &r()).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "greenlang/agent-runtime");
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
    all_used(&rules);
}

#[tokio::test]
async fn find_trusts_only_a_listed_association_of_the_same_service_account() {
    let rules = vec![
        // The server's filter ignored: another service account is not this one.
        list(|_| true, vec![summary("a-other", "workers", None)]),
        list(|_| true, vec![summary(ID, "agent-runtime", None)]),
        describe(association(ID, "agent-runtime", ROLE, OURS)),
    ];
    let c = mock_eks(&rules);
    assert_eq!(EksPodIdentityDriver.find(&c, &r()).await.unwrap(), None);
    assert_eq!(
        EksPodIdentityDriver.find(&c, &r()).await.unwrap(),
        Some(out())
    );
    all_used(&rules);
}

#[tokio::test]
async fn update_changes_the_role_only_when_it_differs() {
    const OLD: &str = "arn:aws:iam::111122223333:role/old";
    let (seen, see) = recorder::<UpdatePodIdentityAssociationInput>();
    let rules = vec![
        describe(association(ID, "agent-runtime", OLD, OURS)),
        mock!(aws_sdk_eks::Client::update_pod_identity_association)
            .match_requests(see)
            .then_output(|| {
                UpdatePodIdentityAssociationOutput::builder()
                    .association(association(ID, "agent-runtime", ROLE, OURS))
                    .build()
            }),
        describe(association(ID, "agent-runtime", ROLE, OURS)),
    ];
    let c = mock_eks(&rules);
    let mut before = spec();
    before.role_arn = v(OLD);
    let fields = &["role_arn"];
    let (was, want) = (prior(&before), r());
    let done = test_support::update(&EksPodIdentityDriver, &c, &was, &want, fields);
    assert_eq!(done.await.unwrap(), out());
    // Already the role (a resumed update): nothing sent.
    let again = test_support::update(&EksPodIdentityDriver, &c, &was, &want, fields);
    assert_eq!(again.await.unwrap(), out());
    all_used(&rules);
    let req = &seen.lock().unwrap()[0];
    assert_eq!(
        (req.cluster_name(), req.association_id(), req.role_arn()),
        (Some(CLUSTER), Some(ID), Some(ROLE))
    );
}

#[tokio::test]
async fn delete_by_id_and_a_gone_association_is_deleted() {
    let rules = vec![
        mock!(aws_sdk_eks::Client::delete_pod_identity_association)
            .match_requests(|r| r.cluster_name() == Some(CLUSTER) && r.association_id() == Some(ID))
            .then_output(|| DeletePodIdentityAssociationOutput::builder().build()),
        mock!(aws_sdk_eks::Client::delete_pod_identity_association).then_error(|| {
            DeletePodIdentityAssociationError::generic(meta("ResourceNotFoundException"))
        }),
    ];
    let c = mock_eks(&rules);
    EksPodIdentityDriver
        .delete(&c, &prior(&spec()))
        .await
        .unwrap();
    EksPodIdentityDriver
        .delete(&c, &prior(&spec()))
        .await
        .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn observe_lists_each_recorded_cluster_once_and_describes_ours() {
    let addon = "arn:aws:eks:eu-west-1:111122223333:addon/prod/vpc-cni/1";
    let theirs: &[(&str, &str)] = &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "x")];
    let rules = vec![
        list(
            |r| r.cluster_name() == Some(CLUSTER) && r.namespace().is_none(),
            vec![
                summary(ID, "agent-runtime", None),
                // Managed by an add-on: the add-on's, never described here.
                summary("a-cni", "aws-node", Some(addon)),
                summary("a-theirs", "workers", None),
            ],
        ),
        // Its role changed outside glinfra.
        describe(association(
            ID,
            "agent-runtime",
            "arn:aws:iam::1:role/x",
            OURS,
        )),
        describe(association("a-theirs", "workers", ROLE, theirs)),
    ];
    let c = mock_eks(&rules);
    let mut other = spec();
    other.service_account = "workers".into();
    let scope = test_support::scope(
        "prod",
        REGION,
        vec![prior(&spec()), state("pod-identity-workers", &other, out())],
    );

    let live = EksPodIdentityDriver
        .observe(&c, &scope)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, "pod-identity-runtime");
    assert_eq!(live[0].outputs, out());
    let mut want = spec();
    want.role_arn = v("arn:aws:iam::1:role/x");
    assert_eq!(live[0].spec.as_ref(), Some(&want));
    all_used(&rules);
}
