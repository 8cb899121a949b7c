//! SDK-mock tests of the EKS node group driver.

use super::*;
use crate::driver::Driver;
use crate::eks::EksNodeGroupDriver;
use crate::kit::{tags, Changed};
use crate::test_support;
use crate::test_support::{all_used, assert_error, delete_found, meta, ok_rule, recorder};
use aws_sdk_eks::operation::create_nodegroup::{CreateNodegroupInput, CreateNodegroupOutput};
use aws_sdk_eks::operation::delete_nodegroup::{DeleteNodegroupError, DeleteNodegroupOutput};
use aws_sdk_eks::operation::describe_nodegroup::{DescribeNodegroupError, DescribeNodegroupOutput};
use aws_sdk_eks::operation::tag_resource::TagResourceOutput;
use aws_sdk_eks::operation::untag_resource::UntagResourceOutput;
use aws_sdk_eks::operation::update_nodegroup_config::{
    UpdateNodegroupConfigInput, UpdateNodegroupConfigOutput,
};
use aws_sdk_eks::operation::update_nodegroup_version::{
    UpdateNodegroupVersionInput, UpdateNodegroupVersionOutput,
};
use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, Issue, Nodegroup, NodegroupHealth, NodegroupIssueCode,
    NodegroupScalingConfig, NodegroupStatus, Taint as SdkTaint, TaintEffect,
};
use glinfra_core::spec::eks::{
    AmiType, CapacityType, EksNodeGroupOutputs, EksNodeGroupSpec, Taint,
    TaintEffect as SpecTaintEffect,
};
use glinfra_engine::{ErrorClass, ProviderError};

fn nodegroup_spec() -> EksNodeGroupSpec {
    EksNodeGroupSpec {
        cluster_name: v(CLUSTER),
        name: NODEGROUP.into(),
        node_role_arn: v("arn:aws:iam::111122223333:role/eks-node"),
        subnet_ids: vec![v("subnet-a"), v("subnet-b")],
        instance_types: vec!["m6i.large".into(), "m5.large".into()],
        capacity_type: CapacityType::Spot,
        disk_size: 50,
        version: String::new(),
        ami_type: None,
        min_size: 1,
        max_size: 5,
        desired_size: 2,
        labels: BTreeMap::from([("role".to_string(), "api".to_string())]),
        taints: vec![Taint {
            key: "dedicated".into(),
            value: "api".into(),
            effect: SpecTaintEffect::NoSchedule,
        }],
    }
}

fn nodegroup_resource(spec: &EksNodeGroupSpec) -> Desired<EksNodeGroupSpec> {
    resource("workers", spec)
}

fn nodegroup_outputs() -> EksNodeGroupOutputs {
    EksNodeGroupOutputs {
        name: NODEGROUP.into(),
        arn: NODEGROUP_ARN.into(),
    }
}

fn nodegroup_state(spec: &EksNodeGroupSpec) -> Recorded<EksNodeGroupSpec> {
    state("workers", spec, nodegroup_outputs())
}

/// Creates the node group of `spec`.
async fn create(
    c: &Clients,
    spec: &EksNodeGroupSpec,
) -> Result<EksNodeGroupOutputs, ProviderError> {
    EksNodeGroupDriver
        .create(c, &nodegroup_resource(spec))
        .await
}

/// Updates the node group recorded as `from` to `to`, naming `fields` as changed.
async fn update(
    c: &Clients,
    from: &EksNodeGroupSpec,
    to: &EksNodeGroupSpec,
    fields: &[&str],
) -> Result<EksNodeGroupOutputs, ProviderError> {
    let (prior, r) = (nodegroup_state(from), nodegroup_resource(to));
    test_support::update(&EksNodeGroupDriver, c, &prior, &r, fields).await
}

/// Looks for the node group of `nodegroup_spec()`.
async fn find(c: &Clients) -> Result<Option<EksNodeGroupOutputs>, ProviderError> {
    EksNodeGroupDriver
        .find(c, &nodegroup_resource(&nodegroup_spec()))
        .await
}

/// Deletes the node group recorded as `spec`.
async fn delete(c: &Clients, spec: &EksNodeGroupSpec) -> Result<(), ProviderError> {
    EksNodeGroupDriver.delete(c, &nodegroup_state(spec)).await
}

/// The (min, max, desired) sizes of a scaling configuration.
fn sizes(scaling: Option<&NodegroupScalingConfig>) -> (Option<i32>, Option<i32>, Option<i32>) {
    let s = scaling.unwrap();
    (s.min_size(), s.max_size(), s.desired_size())
}

fn sdk_taint(key: &str, value: Option<&str>, effect: TaintEffect) -> SdkTaint {
    SdkTaint::builder()
        .key(key)
        .set_value(value.map(str::to_owned))
        .effect(effect)
        .build()
}

/// A node group as DescribeNodegroup reports it: `nodegroup_spec()`'s settings.
fn nodegroup(status: NodegroupStatus, tags: &[(&str, &str)]) -> Nodegroup {
    Nodegroup::builder()
        .nodegroup_name(NODEGROUP)
        .nodegroup_arn(NODEGROUP_ARN)
        .cluster_name(CLUSTER)
        .status(status)
        .set_tags(Some(tag_map(tags)))
        .scaling_config(
            NodegroupScalingConfig::builder()
                .min_size(1)
                .max_size(5)
                .desired_size(2)
                .build(),
        )
        .set_labels(Some(tag_map(&[("role", "api")])))
        .taints(sdk_taint("dedicated", Some("api"), TaintEffect::NoSchedule))
        .build()
}

fn describe_nodegroup(ng: Nodegroup) -> Rule {
    mock!(aws_sdk_eks::Client::describe_nodegroup)
        .match_requests(|r| {
            r.cluster_name() == Some(CLUSTER) && r.nodegroup_name() == Some(NODEGROUP)
        })
        .then_output(move || {
            DescribeNodegroupOutput::builder()
                .nodegroup(ng.clone())
                .build()
        })
}

fn nodegroup_missing() -> Rule {
    mock!(aws_sdk_eks::Client::describe_nodegroup)
        .match_requests(|r| {
            r.cluster_name() == Some(CLUSTER) && r.nodegroup_name() == Some(NODEGROUP)
        })
        .then_error(|| DescribeNodegroupError::generic(meta("ResourceNotFoundException")))
}

#[tokio::test]
async fn nodegroup_create_maps_every_field_and_waits_until_active() {
    let (created, see) = recorder::<CreateNodegroupInput>();
    let rules = vec![
        ok_rule!(aws_sdk_eks::Client::create_nodegroup(see) -> CreateNodegroupOutput),
        describe_nodegroup(nodegroup(NodegroupStatus::Creating, OURS_NODEGROUP)),
        describe_nodegroup(nodegroup(NodegroupStatus::Active, OURS_NODEGROUP)),
    ];
    let c = mock_eks(&rules);

    let out = create(&c, &nodegroup_spec()).await.unwrap();

    assert_eq!(out, nodegroup_outputs());
    all_used(&rules);
    let created = created.lock().unwrap();
    let req = &created[0];
    assert_eq!(req.cluster_name(), Some(CLUSTER));
    assert_eq!(req.nodegroup_name(), Some(NODEGROUP));
    assert_eq!(
        req.node_role(),
        Some("arn:aws:iam::111122223333:role/eks-node")
    );
    assert_eq!(req.subnets(), ["subnet-a", "subnet-b"]);
    assert_eq!(req.instance_types(), ["m6i.large", "m5.large"]);
    assert_eq!(req.capacity_type(), Some(&CapacityTypes::Spot));
    assert_eq!(req.disk_size(), Some(50));
    assert_eq!(sizes(req.scaling_config()), (Some(1), Some(5), Some(2)));
    assert_eq!(req.labels(), Some(&tag_map(&[("role", "api")])));
    assert_eq!(
        req.taints(),
        [sdk_taint("dedicated", Some("api"), TaintEffect::NoSchedule)]
    );
    assert_eq!(tags::from_map(req.tags()), owner_tags("workers"));
}

#[tokio::test]
async fn nodegroup_create_fails_with_the_health_issues_when_the_group_fails() {
    let mut failed = nodegroup(NodegroupStatus::CreateFailed, OURS_NODEGROUP);
    failed.health = Some(
        NodegroupHealth::builder()
            .issues(
                Issue::builder()
                    .code(NodegroupIssueCode::NodeCreationFailure)
                    .message("Instances failed to join the kubernetes cluster")
                    .build(),
            )
            .build(),
    );
    let rules = vec![
        mock!(aws_sdk_eks::Client::create_nodegroup)
            .then_output(|| CreateNodegroupOutput::builder().build()),
        describe_nodegroup(failed),
    ];
    let c = mock_eks(&rules);
    let err = create(&c, &nodegroup_spec()).await.unwrap_err();
    assert_error(&err, ErrorClass::Fatal, "CREATE_FAILED");
    assert!(err.message.contains("failed to join"), "{}", err.message);
    all_used(&rules);
}

#[tokio::test]
async fn nodegroup_find_adopts_only_our_group() {
    let theirs: &[(&str, &str)] = &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "workers")];
    let rules = vec![
        nodegroup_missing(),
        describe_nodegroup(nodegroup(NodegroupStatus::Active, OURS_NODEGROUP)),
        describe_nodegroup(nodegroup(NodegroupStatus::Active, theirs)),
        describe_nodegroup(nodegroup(NodegroupStatus::CreateFailed, OURS_NODEGROUP)),
        describe_nodegroup(nodegroup(NodegroupStatus::Deleting, OURS_NODEGROUP)),
        nodegroup_missing(),
    ];
    let c = mock_eks(&rules);

    assert_eq!(find(&c).await.unwrap(), None);
    assert_eq!(find(&c).await.unwrap(), Some(nodegroup_outputs()));
    let err = find(&c).await.unwrap_err();
    assert_error(
        &err,
        ErrorClass::AlreadyExists,
        "EKS node group `prod/workers`",
    );
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
    assert_eq!(find(&c).await.unwrap(), None);
    assert_eq!(find(&c).await.unwrap(), None);
    all_used(&rules);
}

fn update_nodegroup_config(
    see: impl Fn(&UpdateNodegroupConfigInput) -> bool + Send + Sync + 'static,
) -> Rule {
    mock!(aws_sdk_eks::Client::update_nodegroup_config)
        .match_requests(move |r| {
            r.cluster_name() == Some(CLUSTER) && r.nodegroup_name() == Some(NODEGROUP) && see(r)
        })
        .then_output(|| {
            UpdateNodegroupConfigOutput::builder()
                .update(an_update("n1", UpdateStatus::InProgress))
                .build()
        })
}

#[tokio::test]
async fn nodegroup_full_reconcile_sends_scaling_labels_and_taints_in_one_update() {
    let mut live = nodegroup(NodegroupStatus::Active, OURS_NODEGROUP);
    live.scaling_config = Some(
        NodegroupScalingConfig::builder()
            .min_size(1)
            .max_size(3)
            .desired_size(1)
            .build(),
    );
    live.labels = Some(tag_map(&[("role", "web"), ("old", "x"), ("zone", "a")]));
    live.taints = Some(vec![
        sdk_taint("dedicated", Some("api"), TaintEffect::NoExecute),
        sdk_taint("legacy", None, TaintEffect::PreferNoSchedule),
        sdk_taint("keep", Some("1"), TaintEffect::NoSchedule),
    ]);
    let mut spec = nodegroup_spec();
    spec.labels.insert("zone".into(), "a".into());
    spec.labels.insert("tier".into(), "backend".into());
    spec.taints.push(Taint {
        key: "keep".into(),
        value: "1".into(),
        effect: SpecTaintEffect::NoSchedule,
    });
    let (asked, see) = recorder::<UpdateNodegroupConfigInput>();
    let rules = vec![
        describe_nodegroup(live),
        update_nodegroup_config(see),
        describe_update(Some(NODEGROUP), "n1", UpdateStatus::InProgress),
        describe_update(Some(NODEGROUP), "n1", UpdateStatus::Successful),
        describe_nodegroup(nodegroup(NodegroupStatus::Updating, OURS_NODEGROUP)),
        describe_nodegroup(nodegroup(NodegroupStatus::Active, OURS_NODEGROUP)),
    ];
    let c = mock_eks(&rules);

    let out = update(&c, &nodegroup_spec(), &spec, &[]).await.unwrap();

    assert_eq!(out, nodegroup_outputs());
    all_used(&rules);
    let asked = asked.lock().unwrap();
    let req = &asked[0];
    assert_eq!(sizes(req.scaling_config()), (Some(1), Some(5), Some(2)));
    let labels = req.labels().unwrap();
    assert_eq!(
        labels.add_or_update_labels(),
        Some(&tag_map(&[("role", "api"), ("tier", "backend")]))
    );
    assert_eq!(labels.remove_labels(), ["old"]);
    let taints = req.taints().unwrap();
    assert_eq!(
        taints.add_or_update_taints(),
        [sdk_taint("dedicated", Some("api"), TaintEffect::NoSchedule)]
    );
    assert_eq!(
        taints.remove_taints(),
        [sdk_taint("legacy", None, TaintEffect::PreferNoSchedule)]
    );
}

#[tokio::test]
async fn nodegroup_update_changes_only_the_named_fields() {
    let mut live = nodegroup(NodegroupStatus::Active, OURS_NODEGROUP);
    live.scaling_config = Some(
        NodegroupScalingConfig::builder()
            .min_size(0)
            .max_size(9)
            .desired_size(0)
            .build(),
    );
    live.taints = Some(vec![]);
    let mut spec = nodegroup_spec();
    spec.labels.clear();
    let (asked, see) = recorder::<UpdateNodegroupConfigInput>();
    let rules = vec![
        describe_nodegroup(live),
        update_nodegroup_config(see),
        describe_update(Some(NODEGROUP), "n1", UpdateStatus::Successful),
        describe_nodegroup(nodegroup(NodegroupStatus::Active, OURS_NODEGROUP)),
    ];
    let c = mock_eks(&rules);

    update(&c, &nodegroup_spec(), &spec, &["labels"])
        .await
        .unwrap();

    all_used(&rules);
    let asked = asked.lock().unwrap();
    assert!(asked[0].scaling_config().is_none());
    assert!(asked[0].taints().is_none());
    let labels = asked[0].labels().unwrap();
    assert_eq!(labels.add_or_update_labels(), None);
    assert_eq!(labels.remove_labels(), ["role"]);
}

#[tokio::test]
async fn nodegroup_update_sends_nothing_when_the_group_matches_and_waits_for_a_running_update() {
    let rules = vec![
        describe_nodegroup(nodegroup(NodegroupStatus::Updating, OURS_NODEGROUP)),
        describe_nodegroup(nodegroup(NodegroupStatus::Active, OURS_NODEGROUP)),
    ];
    let c = mock_eks(&rules);
    let spec = nodegroup_spec();
    let out = update(&c, &spec, &spec, &[]).await.unwrap();
    assert_eq!(out, nodegroup_outputs());
    all_used(&rules);
}

#[tokio::test]
async fn nodegroup_tags_are_set_and_removed_on_the_group() {
    let mut r = nodegroup_resource(&nodegroup_spec());
    r.tags.insert("team".into(), "data".into());
    let mut state = nodegroup_state(&nodegroup_spec());
    state.tags.insert("old".into(), "x".into());
    let mut live_tags = OURS_NODEGROUP.to_vec();
    live_tags.push(("old", "x"));
    let rules = vec![
        describe_nodegroup(nodegroup(NodegroupStatus::Active, &live_tags)),
        mock!(aws_sdk_eks::Client::tag_resource)
            .match_requests(|r| {
                r.resource_arn() == Some(NODEGROUP_ARN)
                    && r.tags() == Some(&tag_map(&[("team", "data")]))
            })
            .then_output(|| TagResourceOutput::builder().build()),
        mock!(aws_sdk_eks::Client::untag_resource)
            .match_requests(|r| r.resource_arn() == Some(NODEGROUP_ARN) && r.tag_keys() == ["old"])
            .then_output(|| UntagResourceOutput::builder().build()),
    ];
    let c = mock_eks(&rules);
    EksNodeGroupDriver
        .update(&c, &state, &r, Changed(&["tags".into()]))
        .await
        .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn nodegroup_delete_of_a_gone_group_succeeds_and_a_delete_waits_until_gone() {
    let rules = vec![
        mock!(aws_sdk_eks::Client::delete_nodegroup)
            .then_error(|| DeleteNodegroupError::generic(meta("ResourceNotFoundException"))),
        mock!(aws_sdk_eks::Client::delete_nodegroup)
            .match_requests(|r| {
                r.cluster_name() == Some(CLUSTER) && r.nodegroup_name() == Some(NODEGROUP)
            })
            .then_output(|| DeleteNodegroupOutput::builder().build()),
        describe_nodegroup(nodegroup(NodegroupStatus::Deleting, OURS_NODEGROUP)),
        describe_nodegroup(nodegroup(NodegroupStatus::Deleting, OURS_NODEGROUP)),
        nodegroup_missing(),
    ];
    let c = mock_eks(&rules);
    let state = nodegroup_state(&nodegroup_spec());
    EksNodeGroupDriver.delete(&c, &state).await.unwrap();
    EksNodeGroupDriver.delete(&c, &state).await.unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn nodegroup_delete_failed_is_an_error() {
    let rules = vec![
        mock!(aws_sdk_eks::Client::delete_nodegroup)
            .then_output(|| DeleteNodegroupOutput::builder().build()),
        describe_nodegroup(nodegroup(NodegroupStatus::DeleteFailed, OURS_NODEGROUP)),
    ];
    let c = mock_eks(&rules);
    let err = delete(&c, &nodegroup_spec()).await.unwrap_err();
    assert_error(&err, ErrorClass::Fatal, "DELETE_FAILED");
    all_used(&rules);
}

/// What the executor does for a create whose end was not recorded: `find`, then
/// `delete` what it found, recorded with the found outputs.
#[tokio::test]
async fn nodegroup_delete_without_outputs_uses_find() {
    let rules = vec![
        nodegroup_missing(),
        describe_nodegroup(nodegroup(NodegroupStatus::Active, OURS_NODEGROUP)),
        mock!(aws_sdk_eks::Client::delete_nodegroup)
            .then_output(|| DeleteNodegroupOutput::builder().build()),
        nodegroup_missing(),
    ];
    let c = mock_eks(&rules);
    let r = nodegroup_resource(&nodegroup_spec());
    assert_eq!(find(&c).await.unwrap(), None);
    delete_found(&EksNodeGroupDriver, &c, &r).await;
    all_used(&rules);
}

/// The node group `name` as DescribeNodegroup reports it: `nodegroup_spec()`'s
/// settings, its subnets and instance types in another order than the spec's.
fn listed(name: &str, tags: &[(&str, &str)]) -> Nodegroup {
    let mut ng = nodegroup(NodegroupStatus::Active, tags);
    ng.nodegroup_name = Some(name.into());
    ng.nodegroup_arn = Some(format!(
        "arn:aws:eks:eu-west-1:111122223333:nodegroup/prod/{name}/1a2b"
    ));
    ng.node_role = Some("arn:aws:iam::111122223333:role/eks-node".into());
    ng.subnets = Some(vec!["subnet-b".into(), "subnet-a".into()]);
    ng.instance_types = Some(vec!["m5.large".into(), "m6i.large".into()]);
    ng.capacity_type = Some(CapacityTypes::Spot);
    ng.disk_size = Some(50);
    ng
}

/// DescribeNodegroup of `name` in CLUSTER, answering `ng`.
fn describe_named(name: &'static str, ng: Nodegroup) -> Rule {
    mock!(aws_sdk_eks::Client::describe_nodegroup)
        .match_requests(move |r| {
            r.cluster_name() == Some(CLUSTER) && r.nodegroup_name() == Some(name)
        })
        .then_output(move || {
            DescribeNodegroupOutput::builder()
                .nodegroup(ng.clone())
                .build()
        })
}

/// ListNodegroups of `cluster`, answering `names`.
fn list_nodegroups(cluster: &'static str, names: &[&str]) -> Rule {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    mock!(aws_sdk_eks::Client::list_nodegroups)
        .match_requests(move |r| r.cluster_name() == Some(cluster))
        .then_output(move || {
            aws_sdk_eks::operation::list_nodegroups::ListNodegroupsOutput::builder()
                .set_nodegroups(Some(names.clone()))
                .build()
        })
}

/// Recorded: `workers` in CLUSTER and `batch` in a cluster deleted since. CLUSTER
/// also holds another stack's node group and one of ours state does not know.
#[tokio::test]
async fn nodegroup_observe_reads_the_node_groups_of_the_recorded_clusters() {
    let theirs: &[(&str, &str)] = &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "workers")];
    let extra: &[(&str, &str)] = &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "extra")];
    let mut shrunk = listed(NODEGROUP, OURS_NODEGROUP);
    // Scaled in outside glinfra.
    shrunk.scaling_config = Some(
        NodegroupScalingConfig::builder()
            .min_size(0)
            .max_size(5)
            .desired_size(0)
            .build(),
    );
    let rules = vec![
        mock!(aws_sdk_eks::Client::list_nodegroups)
            .match_requests(|r| r.cluster_name() == Some("gone"))
            .then_error(|| {
                aws_sdk_eks::operation::list_nodegroups::ListNodegroupsError::generic(meta(
                    "ResourceNotFoundException",
                ))
            }),
        list_nodegroups(CLUSTER, &[NODEGROUP, "staging-workers", "extra"]),
        describe_named(NODEGROUP, shrunk),
        describe_named("staging-workers", listed("staging-workers", theirs)),
        describe_named("extra", listed("extra", extra)),
    ];
    let c = mock_eks(&rules);
    let mut batch = nodegroup_spec();
    batch.cluster_name = v("gone");
    batch.name = "batch".into();
    let scope = test_support::scope(
        "prod",
        REGION,
        vec![
            nodegroup_state(&nodegroup_spec()),
            state("batch", &batch, nodegroup_outputs()),
        ],
    );

    let live = EksNodeGroupDriver
        .observe(&c, &scope)
        .await
        .unwrap()
        .unwrap();

    let ids: Vec<&str> = live.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        ids,
        ["workers", "extra"],
        "another stack's node group dropped"
    );
    assert_eq!(live[0].outputs, nodegroup_outputs());
    let read = live[0].spec.as_ref().unwrap();
    assert_eq!(
        (read.min_size, read.max_size, read.desired_size),
        (0, 5, 0),
        "the live sizes"
    );
    let mut expected = nodegroup_spec();
    (expected.min_size, expected.desired_size) = (0, 0);
    assert_eq!(read, &expected);
    // Not recorded: read whole, in AWS's order.
    let mut extra_spec = nodegroup_spec();
    extra_spec.name = "extra".into();
    extra_spec.subnet_ids = vec![v("subnet-b"), v("subnet-a")];
    extra_spec.instance_types = vec!["m5.large".into(), "m6i.large".into()];
    assert_eq!(live[1].spec.as_ref().unwrap(), &extra_spec);
    all_used(&rules);
}

#[tokio::test]
async fn nodegroup_observe_of_an_unchanged_group_reads_exactly_the_recorded_spec() {
    let rules = vec![
        list_nodegroups(CLUSTER, &[NODEGROUP]),
        describe_named(NODEGROUP, listed(NODEGROUP, OURS_NODEGROUP)),
    ];
    let c = mock_eks(&rules);
    let scope = test_support::scope("prod", REGION, vec![nodegroup_state(&nodegroup_spec())]);

    let live = EksNodeGroupDriver
        .observe(&c, &scope)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(nodegroup_spec()).unwrap()
    );
    all_used(&rules);
}

/// A disk size set by a launch template is not reported: the record's stands, and a
/// node group state does not know cannot be read whole.
#[tokio::test]
async fn nodegroup_observe_keeps_what_it_cannot_read_as_recorded() {
    let mut templated = listed(NODEGROUP, OURS_NODEGROUP);
    templated.disk_size = None;
    let mut unknown = listed("extra", &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "extra")]);
    unknown.disk_size = None;
    let rules = vec![
        list_nodegroups(CLUSTER, &[NODEGROUP, "extra"]),
        describe_named(NODEGROUP, templated),
        describe_named("extra", unknown),
    ];
    let c = mock_eks(&rules);
    let scope = test_support::scope("prod", REGION, vec![nodegroup_state(&nodegroup_spec())]);

    let live = EksNodeGroupDriver
        .observe(&c, &scope)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(live[0].spec.as_ref().unwrap().disk_size, 50);
    assert_eq!(live[1].id, "extra");
    assert!(live[1].spec.is_none());
    all_used(&rules);
}

/// A retried create (after a lost response) sends the engine's token again.
#[tokio::test]
async fn nodegroup_create_sends_the_engines_token_on_a_retry() {
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let see = |sent: &std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>| {
        let sent = sent.clone();
        move |r: &CreateNodegroupInput| {
            sent.lock()
                .unwrap()
                .push(r.client_request_token().map(str::to_string));
            true
        }
    };
    let rules = vec![
        ok_rule!(aws_sdk_eks::Client::create_nodegroup(see(&sent)) -> CreateNodegroupOutput),
        describe_nodegroup(nodegroup(NodegroupStatus::Active, OURS_NODEGROUP)),
        ok_rule!(aws_sdk_eks::Client::create_nodegroup(see(&sent)) -> CreateNodegroupOutput),
        describe_nodegroup(nodegroup(NodegroupStatus::Active, OURS_NODEGROUP)),
    ];
    let c = mock_eks(&rules);
    let r = test_support::with_token(nodegroup_resource(&nodegroup_spec()), 4);
    for _ in 0..2 {
        EksNodeGroupDriver.create(&c, &r).await.unwrap();
    }
    all_used(&rules);
    let token = r.token();
    assert!(token.is_some());
    assert_eq!(*sent.lock().unwrap(), vec![token; 2]);
}

/// The node group of [`nodegroup`], active, at Kubernetes `version`.
fn nodegroup_at(version: &str) -> Nodegroup {
    let mut ng = nodegroup(NodegroupStatus::Active, OURS_NODEGROUP);
    ng.version = Some(version.into());
    ng.ami_type = Some(AmiTypes::Al2023X8664Standard);
    ng
}

#[tokio::test]
async fn nodegroup_create_sends_its_version_and_ami_type() {
    let (created, see) = recorder::<CreateNodegroupInput>();
    let rules = vec![
        ok_rule!(aws_sdk_eks::Client::create_nodegroup(see) -> CreateNodegroupOutput),
        describe_nodegroup(nodegroup_at("1.30")),
    ];
    let c = mock_eks(&rules);
    let spec = EksNodeGroupSpec {
        version: "1.30".into(),
        ami_type: Some(AmiType::Al2023X86_64Standard),
        ..nodegroup_spec()
    };

    create(&c, &spec).await.unwrap();

    let req = &created.lock().unwrap()[0];
    assert_eq!(req.version(), Some("1.30"));
    assert_eq!(req.ami_type(), Some(&AmiTypes::Al2023X8664Standard));
}

#[tokio::test]
async fn nodegroup_version_is_raised_with_update_nodegroup_version_after_its_cluster() {
    let (sent, see) = recorder::<UpdateNodegroupVersionInput>();
    let before = EksNodeGroupSpec {
        version: "1.29".into(),
        ..nodegroup_spec()
    };
    let after = EksNodeGroupSpec {
        version: "1.30".into(),
        ..nodegroup_spec()
    };
    let rules = vec![
        describe_nodegroup(nodegroup_at("1.29")),
        mock!(aws_sdk_eks::Client::update_nodegroup_version)
            .match_requests(see)
            .then_output(|| {
                UpdateNodegroupVersionOutput::builder()
                    .update(an_update("v1", UpdateStatus::InProgress))
                    .build()
            }),
        describe_update(Some(NODEGROUP), "v1", UpdateStatus::Successful),
        describe_nodegroup(nodegroup_at("1.30")),
    ];
    let c = mock_eks(&rules);

    let out = update(&c, &before, &after, &["version"]).await.unwrap();

    assert_eq!(out, nodegroup_outputs());
    all_used(&rules);
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].cluster_name(), Some(CLUSTER));
    assert_eq!(sent[0].nodegroup_name(), Some(NODEGROUP));
    assert_eq!(sent[0].version(), Some("1.30"));
    // No launch template, no release version: EKS picks the version's latest AMI.
    assert!(sent[0].launch_template().is_none() && sent[0].release_version().is_none());
}

#[tokio::test]
async fn nodegroup_brought_to_its_version_by_the_clusters_upgrade_sends_nothing() {
    let before = EksNodeGroupSpec {
        version: "1.29".into(),
        ..nodegroup_spec()
    };
    let after = EksNodeGroupSpec {
        version: "1.30".into(),
        ami_type: Some(AmiType::Al2023X86_64Standard),
        ..nodegroup_spec()
    };
    // Only a describe: any update call would fail the test.
    let rules = vec![describe_nodegroup(nodegroup_at("1.30"))];
    let c = mock_eks(&rules);
    update(&c, &before, &after, &["version", "ami_type"])
        .await
        .unwrap();
    all_used(&rules);

    // An AMI type the group does not have: refused, nothing sent.
    let other = EksNodeGroupSpec {
        ami_type: Some(AmiType::BottlerocketX86_64),
        ..after
    };
    let rules = vec![describe_nodegroup(nodegroup_at("1.30"))];
    let c = mock_eks(&rules);
    let err = update(&c, &before, &other, &["ami_type"])
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid);
    assert!(
        err.message
            .contains("runs AL2023_x86_64_STANDARD, not BOTTLEROCKET_x86_64"),
        "{err}"
    );
}
