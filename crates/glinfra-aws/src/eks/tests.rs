//! SDK-mock tests of the EKS drivers: request shapes, adoption, waits, updates, deletes.

use super::*;
use crate::test_support::{meta, mock_clients, recorder};

use aws_sdk_eks::operation::create_cluster::{
    CreateClusterError, CreateClusterInput, CreateClusterOutput,
};
use aws_sdk_eks::operation::create_nodegroup::{CreateNodegroupInput, CreateNodegroupOutput};
use aws_sdk_eks::operation::delete_cluster::{DeleteClusterError, DeleteClusterOutput};
use aws_sdk_eks::operation::delete_nodegroup::{DeleteNodegroupError, DeleteNodegroupOutput};
use aws_sdk_eks::operation::describe_cluster::{DescribeClusterError, DescribeClusterOutput};
use aws_sdk_eks::operation::describe_nodegroup::{DescribeNodegroupError, DescribeNodegroupOutput};
use aws_sdk_eks::operation::describe_update::DescribeUpdateOutput;
use aws_sdk_eks::operation::tag_resource::{TagResourceInput, TagResourceOutput};
use aws_sdk_eks::operation::untag_resource::{UntagResourceInput, UntagResourceOutput};
use aws_sdk_eks::operation::update_cluster_config::{
    UpdateClusterConfigInput, UpdateClusterConfigOutput,
};
use aws_sdk_eks::operation::update_cluster_version::{
    UpdateClusterVersionInput, UpdateClusterVersionOutput,
};
use aws_sdk_eks::operation::update_nodegroup_config::{
    UpdateNodegroupConfigInput, UpdateNodegroupConfigOutput,
};
use aws_sdk_eks::types::{
    CapacityTypes, Cluster, ClusterStatus, ErrorCode, ErrorDetail, Issue, LogSetup, LogType,
    Logging, Nodegroup, NodegroupHealth, NodegroupIssueCode, NodegroupScalingConfig,
    NodegroupStatus, Taint as SdkTaint, TaintEffect, Update, UpdateStatus, VpcConfigResponse,
};
use aws_smithy_mocks::{mock, Rule, RuleMode};
use glinfra_core::spec::eks::{EksClusterSpec, EksNodeGroupSpec, Taint};
use serde_json::Value;

const REGION: &str = "eu-west-1";
const CLUSTER: &str = "prod";
const CLUSTER_ARN: &str = "arn:aws:eks:eu-west-1:111122223333:cluster/prod";
const ENDPOINT: &str = "https://ABC.gr7.eu-west-1.eks.amazonaws.com";
const NODEGROUP: &str = "workers";
const NODEGROUP_ARN: &str = "arn:aws:eks:eu-west-1:111122223333:nodegroup/prod/workers/1a2b";
const KEY_ARN: &str = "arn:aws:kms:eu-west-1:111122223333:key/k1";

fn mock_eks(rules: &[Rule]) -> Clients {
    mock_clients!(
        aws_sdk_eks,
        "eks",
        REGION,
        RuleMode::Sequential,
        &rules.iter().collect::<Vec<_>>()
    )
}

fn all_used(rules: &[Rule]) {
    for (i, r) in rules.iter().enumerate() {
        assert_eq!(
            r.num_calls(),
            1,
            "rule {i} was called {} times",
            r.num_calls()
        );
    }
}

fn v(s: &str) -> Input<String> {
    Input::Value(s.to_string())
}

fn owner_tags(id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_STACK.to_string(), "prod".to_string()),
        (TAG_LOGICAL_ID.to_string(), id.to_string()),
    ])
}

fn tag_map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const OURS_CLUSTER: &[(&str, &str)] = &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "cluster")];
const OURS_NODEGROUP: &[(&str, &str)] = &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "workers")];
const THEIRS: &[(&str, &str)] = &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "cluster")];

// ---------------------------------------------------------------- clusters

fn cluster_spec() -> EksClusterSpec {
    EksClusterSpec {
        name: CLUSTER.into(),
        version: "1.29".into(),
        role_arn: v("arn:aws:iam::111122223333:role/eks-cluster"),
        subnet_ids: vec![v("subnet-a"), v("subnet-b")],
        security_group_ids: vec![v("sg-1")],
        endpoint_private_access: true,
        endpoint_public_access: false,
        enabled_log_types: vec!["api".into(), "audit".into()],
        secrets_kms_key_arn: Some(v(KEY_ARN)),
    }
}

fn cluster_resource(spec: &EksClusterSpec) -> ResolvedResource {
    ResolvedResource {
        stack: "prod".into(),
        id: "cluster".into(),
        kind: Kind::EksCluster,
        region: REGION.into(),
        props: serde_json::to_value(spec).unwrap(),
        tags: owner_tags("cluster"),
    }
}

fn cluster_outputs() -> Outputs {
    Outputs::from([
        ("name".to_string(), Value::from(CLUSTER)),
        ("arn".to_string(), Value::from(CLUSTER_ARN)),
        ("endpoint".to_string(), Value::from(ENDPOINT)),
    ])
}

fn cluster_state(spec: &EksClusterSpec) -> ResourceState {
    ResourceState {
        kind: Kind::EksCluster,
        region: REGION.into(),
        props: serde_json::to_value(spec).unwrap(),
        tags: owner_tags("cluster"),
        outputs: cluster_outputs(),
        dependencies: Default::default(),
        pending: None,
    }
}

/// A cluster as DescribeCluster reports it; `spec`'s settings, in `status`, at `version`.
fn cluster(status: ClusterStatus, version: &str, tags: &[(&str, &str)]) -> Cluster {
    let spec = cluster_spec();
    Cluster::builder()
        .name(CLUSTER)
        .arn(CLUSTER_ARN)
        .endpoint(ENDPOINT)
        .version(version)
        .status(status)
        .set_tags(Some(tag_map(tags)))
        .resources_vpc_config(
            VpcConfigResponse::builder()
                .endpoint_private_access(spec.endpoint_private_access)
                .endpoint_public_access(spec.endpoint_public_access)
                .build(),
        )
        .logging(logging(&["api", "audit"]))
        .build()
}

/// A logging configuration with `enabled` on and the rest off.
fn logging(enabled: &[&str]) -> Logging {
    Logging::builder()
        .cluster_logging(
            LogSetup::builder()
                .set_types(Some(enabled.iter().map(|t| LogType::from(*t)).collect()))
                .enabled(true)
                .build(),
        )
        .build()
}

fn describe_cluster(cl: Cluster) -> Rule {
    mock!(aws_sdk_eks::Client::describe_cluster)
        .match_requests(|r| r.name() == Some(CLUSTER))
        .then_output(move || DescribeClusterOutput::builder().cluster(cl.clone()).build())
}

fn cluster_missing() -> Rule {
    mock!(aws_sdk_eks::Client::describe_cluster)
        .match_requests(|r| r.name() == Some(CLUSTER))
        .then_error(|| DescribeClusterError::generic(meta("ResourceNotFoundException")))
}

fn an_update(id: &str, status: UpdateStatus) -> Update {
    Update::builder().id(id).status(status).build()
}

fn describe_update(
    nodegroup: Option<&'static str>,
    id: &'static str,
    status: UpdateStatus,
) -> Rule {
    mock!(aws_sdk_eks::Client::describe_update)
        .match_requests(move |r| {
            r.name() == Some(CLUSTER)
                && r.update_id() == Some(id)
                && r.nodegroup_name() == nodegroup
        })
        .then_output(move || {
            DescribeUpdateOutput::builder()
                .update(an_update(id, status.clone()))
                .build()
        })
}

fn log_setups(l: &Logging) -> Vec<(bool, Vec<&str>)> {
    l.cluster_logging()
        .iter()
        .map(|s| {
            (
                s.enabled().unwrap(),
                s.types().iter().map(|t| t.as_str()).collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn cluster_create_maps_every_field_and_waits_until_active() {
    let (created, see) = recorder::<CreateClusterInput>();
    let rules = vec![
        mock!(aws_sdk_eks::Client::create_cluster)
            .match_requests(see)
            .then_output(|| {
                CreateClusterOutput::builder()
                    .cluster(cluster(ClusterStatus::Creating, "1.29", OURS_CLUSTER))
                    .build()
            }),
        describe_cluster(cluster(ClusterStatus::Creating, "1.29", OURS_CLUSTER)),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
    ];
    let c = mock_eks(&rules);

    let out = create(&c, &cluster_resource(&cluster_spec()))
        .await
        .unwrap();

    assert_eq!(out, cluster_outputs());
    all_used(&rules);
    let created = created.lock().unwrap();
    let req = &created[0];
    assert_eq!(req.name(), Some(CLUSTER));
    assert_eq!(req.version(), Some("1.29"));
    assert_eq!(
        req.role_arn(),
        Some("arn:aws:iam::111122223333:role/eks-cluster")
    );
    let vpc = req.resources_vpc_config().unwrap();
    assert_eq!(vpc.subnet_ids(), ["subnet-a", "subnet-b"]);
    assert_eq!(vpc.security_group_ids(), ["sg-1"]);
    assert_eq!(vpc.endpoint_private_access(), Some(true));
    assert_eq!(vpc.endpoint_public_access(), Some(false));
    assert_eq!(
        log_setups(req.logging().unwrap()),
        vec![
            (true, vec!["api", "audit"]),
            (
                false,
                vec!["authenticator", "controllerManager", "scheduler"]
            ),
        ]
    );
    let enc = req.encryption_config();
    assert_eq!(enc.len(), 1);
    #[allow(deprecated)]
    let resources = enc[0].resources();
    assert_eq!(resources, ["secrets"]);
    assert_eq!(enc[0].provider().and_then(|p| p.key_arn()), Some(KEY_ARN));
    let tags: BTreeMap<String, String> = req
        .tags()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(tags, owner_tags("cluster"));
}

#[tokio::test]
async fn cluster_create_without_key_or_logs_sends_no_encryption_and_disables_every_log_type() {
    let mut spec = cluster_spec();
    spec.secrets_kms_key_arn = None;
    spec.enabled_log_types = vec![];
    let (created, see) = recorder::<CreateClusterInput>();
    let rules = vec![
        mock!(aws_sdk_eks::Client::create_cluster)
            .match_requests(see)
            .then_output(|| CreateClusterOutput::builder().build()),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
    ];
    let c = mock_eks(&rules);

    create(&c, &cluster_resource(&spec)).await.unwrap();

    let created = created.lock().unwrap();
    assert!(created[0].encryption_config().is_empty());
    assert_eq!(
        log_setups(created[0].logging().unwrap()),
        vec![(
            false,
            vec![
                "api",
                "audit",
                "authenticator",
                "controllerManager",
                "scheduler"
            ]
        )]
    );
}

#[tokio::test]
async fn cluster_create_fails_when_the_cluster_ends_failed() {
    let rules = vec![
        mock!(aws_sdk_eks::Client::create_cluster)
            .then_output(|| CreateClusterOutput::builder().build()),
        describe_cluster(cluster(ClusterStatus::Creating, "1.29", OURS_CLUSTER)),
        describe_cluster(cluster(ClusterStatus::Failed, "1.29", OURS_CLUSTER)),
    ];
    let c = mock_eks(&rules);
    let err = create(&c, &cluster_resource(&cluster_spec()))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("FAILED"), "{}", err.message);
}

fn create_cluster_in_use() -> Rule {
    mock!(aws_sdk_eks::Client::create_cluster)
        .then_error(|| CreateClusterError::generic(meta("ResourceInUseException")))
}

#[tokio::test]
async fn cluster_create_on_a_taken_name_adopts_ours_and_refuses_a_foreign_one() {
    let rules = vec![
        // An earlier attempt made it; its response was lost.
        create_cluster_in_use(),
        describe_cluster(cluster(ClusterStatus::Creating, "1.29", OURS_CLUSTER)),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
        // Someone else's.
        create_cluster_in_use(),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", THEIRS)),
    ];
    let c = mock_eks(&rules);
    let r = cluster_resource(&cluster_spec());

    assert_eq!(create(&c, &r).await.unwrap(), cluster_outputs());
    let err = create(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
    all_used(&rules);
}

#[tokio::test]
async fn cluster_create_replaces_a_failed_cluster_of_ours() {
    let rules = vec![
        create_cluster_in_use(),
        describe_cluster(cluster(ClusterStatus::Failed, "1.29", OURS_CLUSTER)),
        mock!(aws_sdk_eks::Client::delete_cluster)
            .match_requests(|r| r.name() == Some(CLUSTER))
            .then_output(|| DeleteClusterOutput::builder().build()),
        describe_cluster(cluster(ClusterStatus::Deleting, "1.29", OURS_CLUSTER)),
        cluster_missing(),
        mock!(aws_sdk_eks::Client::create_cluster)
            .then_output(|| CreateClusterOutput::builder().build()),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
    ];
    let c = mock_eks(&rules);
    let out = create(&c, &cluster_resource(&cluster_spec()))
        .await
        .unwrap();
    assert_eq!(out, cluster_outputs());
    all_used(&rules);
}

#[tokio::test]
async fn cluster_find_adopts_only_our_cluster() {
    let rules = vec![
        cluster_missing(),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", THEIRS)),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", &[])),
        // Ours but FAILED: not adopted.
        describe_cluster(cluster(ClusterStatus::Failed, "1.29", OURS_CLUSTER)),
    ];
    let c = mock_eks(&rules);
    let r = cluster_resource(&cluster_spec());

    assert_eq!(find(&c, &r).await.unwrap(), None);
    assert_eq!(find(&c, &r).await.unwrap(), Some(cluster_outputs()));
    let err = find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(
        err.message.contains("EKS cluster `prod`"),
        "{}",
        err.message
    );
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
    let err = find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(
        err.message.contains("not managed by glinfra"),
        "{}",
        err.message
    );
    assert_eq!(find(&c, &r).await.unwrap(), None);
    all_used(&rules);
}

#[tokio::test]
async fn cluster_find_waits_out_a_deleting_cluster_and_a_creating_one() {
    let rules = vec![
        describe_cluster(cluster(ClusterStatus::Deleting, "1.29", OURS_CLUSTER)),
        describe_cluster(cluster(ClusterStatus::Deleting, "1.29", OURS_CLUSTER)),
        cluster_missing(),
        describe_cluster(cluster(ClusterStatus::Creating, "1.29", OURS_CLUSTER)),
        describe_cluster(cluster(ClusterStatus::Creating, "1.29", OURS_CLUSTER)),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
    ];
    let c = mock_eks(&rules);
    let r = cluster_resource(&cluster_spec());
    assert_eq!(find(&c, &r).await.unwrap(), None);
    assert_eq!(find(&c, &r).await.unwrap(), Some(cluster_outputs()));
    all_used(&rules);
}

fn update_version(
    version: &'static str,
    id: &'static str,
    seen: impl Fn(&UpdateClusterVersionInput) -> bool + Send + Sync + 'static,
) -> Rule {
    mock!(aws_sdk_eks::Client::update_cluster_version)
        .match_requests(move |r| {
            r.name() == Some(CLUSTER) && r.version() == Some(version) && seen(r)
        })
        .then_output(move || {
            UpdateClusterVersionOutput::builder()
                .update(an_update(id, UpdateStatus::InProgress))
                .build()
        })
}

#[tokio::test]
async fn cluster_version_is_raised_one_minor_version_per_update() {
    let mut spec = cluster_spec();
    spec.version = "1.30".into();
    let (asked, see) = recorder::<UpdateClusterVersionInput>();
    let see = std::sync::Arc::new(see);
    let (see1, see2) = (see.clone(), see.clone());
    let rules = vec![
        describe_cluster(cluster(ClusterStatus::Active, "1.28", OURS_CLUSTER)),
        update_version("1.29", "u1", move |r| see1(r)),
        describe_update(None, "u1", UpdateStatus::InProgress),
        describe_update(None, "u1", UpdateStatus::Successful),
        describe_cluster(cluster(ClusterStatus::Updating, "1.29", OURS_CLUSTER)),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
        update_version("1.30", "u2", move |r| see2(r)),
        describe_update(None, "u2", UpdateStatus::Successful),
        describe_cluster(cluster(ClusterStatus::Active, "1.30", OURS_CLUSTER)),
    ];
    let c = mock_eks(&rules);

    let out = update(
        &c,
        &cluster_state(&cluster_spec()),
        &cluster_resource(&spec),
        &["version".into()],
    )
    .await
    .unwrap();

    assert_eq!(out, cluster_outputs());
    let versions: Vec<_> = asked
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.version().unwrap().to_string())
        .collect();
    assert_eq!(versions, ["1.29", "1.30"]);
    all_used(&rules);
}

#[test]
fn version_steps_go_up_one_minor_at_a_time_and_never_down() {
    use super::cluster::version_steps;
    assert_eq!(
        version_steps("c", "1.29", "1.29").unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(version_steps("c", "1.29", "1.30").unwrap(), ["1.30"]);
    assert_eq!(
        version_steps("c", "1.28", "1.31").unwrap(),
        ["1.29", "1.30", "1.31"]
    );
    assert_eq!(version_steps("c", "1.9", "1.10").unwrap(), ["1.10"]);
    let err = version_steps("c", "1.30", "1.29").unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid);
    assert!(err.message.contains("cannot downgrade"), "{}", err.message);
}

#[tokio::test]
async fn cluster_version_downgrade_is_refused_without_a_call() {
    let rules = vec![describe_cluster(cluster(
        ClusterStatus::Active,
        "1.30",
        OURS_CLUSTER,
    ))];
    let c = mock_eks(&rules);
    let err = update(
        &c,
        &cluster_state(&cluster_spec()),
        &cluster_resource(&cluster_spec()),
        &["version".into()],
    )
    .await
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid);
    all_used(&rules);
}

#[tokio::test]
async fn cluster_full_reconcile_sends_tags_endpoint_access_and_logging_one_kind_per_call() {
    let spec = cluster_spec();
    let mut r = cluster_resource(&spec);
    r.tags.insert("team".into(), "data".into());
    let mut live = cluster(
        ClusterStatus::Active,
        "1.29",
        &[
            (TAG_STACK, "prod"),
            (TAG_LOGICAL_ID, "cluster"),
            ("old", "x"),
            ("aws:eks:owned", "y"),
        ],
    );
    live.resources_vpc_config = Some(
        VpcConfigResponse::builder()
            .endpoint_private_access(false)
            .endpoint_public_access(true)
            .build(),
    );
    live.logging = Some(logging(&["api"]));
    // After the endpoint update: only the logging still differs.
    let mut endpoint_done = cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER);
    endpoint_done.logging = Some(logging(&["api"]));
    let (tagged, see_tag) = recorder::<TagResourceInput>();
    let (untagged, see_untag) = recorder::<UntagResourceInput>();
    let (configs, see_config) = recorder::<UpdateClusterConfigInput>();
    let see_config = std::sync::Arc::new(see_config);
    let (see1, see2) = (see_config.clone(), see_config.clone());
    let rules = vec![
        describe_cluster(live),
        mock!(aws_sdk_eks::Client::tag_resource)
            .match_requests(move |r| r.resource_arn() == Some(CLUSTER_ARN) && see_tag(r))
            .then_output(|| TagResourceOutput::builder().build()),
        mock!(aws_sdk_eks::Client::untag_resource)
            .match_requests(move |r| r.resource_arn() == Some(CLUSTER_ARN) && see_untag(r))
            .then_output(|| UntagResourceOutput::builder().build()),
        mock!(aws_sdk_eks::Client::update_cluster_config)
            .match_requests(move |r| see1(r))
            .then_output(|| {
                UpdateClusterConfigOutput::builder()
                    .update(an_update("u1", UpdateStatus::InProgress))
                    .build()
            }),
        describe_update(None, "u1", UpdateStatus::Successful),
        describe_cluster(endpoint_done),
        mock!(aws_sdk_eks::Client::update_cluster_config)
            .match_requests(move |r| see2(r))
            .then_output(|| {
                UpdateClusterConfigOutput::builder()
                    .update(an_update("u2", UpdateStatus::InProgress))
                    .build()
            }),
        describe_update(None, "u2", UpdateStatus::Successful),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
    ];
    let c = mock_eks(&rules);

    let out = update(&c, &cluster_state(&spec), &r, &[]).await.unwrap();

    assert_eq!(out, cluster_outputs());
    all_used(&rules);
    assert_eq!(
        tagged.lock().unwrap()[0].tags().cloned(),
        Some(tag_map(&[("team", "data")]))
    );
    assert_eq!(untagged.lock().unwrap()[0].tag_keys(), ["old"]);
    let configs = configs.lock().unwrap();
    let vpc = configs[0].resources_vpc_config().unwrap();
    assert_eq!(vpc.endpoint_private_access(), Some(true));
    assert_eq!(vpc.endpoint_public_access(), Some(false));
    assert!(vpc.subnet_ids().is_empty() && vpc.security_group_ids().is_empty());
    assert!(configs[0].logging().is_none());
    assert!(configs[1].resources_vpc_config().is_none());
    assert_eq!(
        log_setups(configs[1].logging().unwrap()),
        vec![
            (true, vec!["api", "audit"]),
            (
                false,
                vec!["authenticator", "controllerManager", "scheduler"]
            ),
        ]
    );
}

#[tokio::test]
async fn cluster_update_sends_nothing_when_the_cluster_matches() {
    let rules = vec![describe_cluster(cluster(
        ClusterStatus::Active,
        "1.29",
        OURS_CLUSTER,
    ))];
    let c = mock_eks(&rules);
    let spec = cluster_spec();
    let out = update(&c, &cluster_state(&spec), &cluster_resource(&spec), &[])
        .await
        .unwrap();
    assert_eq!(out, cluster_outputs());
    all_used(&rules);
}

#[tokio::test]
async fn cluster_update_touches_only_the_named_fields_and_reports_a_failed_update() {
    // Endpoint access differs too, but only the logging is named.
    let mut live = cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER);
    live.resources_vpc_config = Some(
        VpcConfigResponse::builder()
            .endpoint_public_access(true)
            .build(),
    );
    let mut spec = cluster_spec();
    spec.enabled_log_types = vec!["scheduler".into()];
    let (configs, see) = recorder::<UpdateClusterConfigInput>();
    let rules = vec![
        describe_cluster(live),
        mock!(aws_sdk_eks::Client::update_cluster_config)
            .match_requests(see)
            .then_output(|| {
                UpdateClusterConfigOutput::builder()
                    .update(an_update("u1", UpdateStatus::InProgress))
                    .build()
            }),
        mock!(aws_sdk_eks::Client::describe_update).then_output(|| {
            DescribeUpdateOutput::builder()
                .update(
                    Update::builder()
                        .id("u1")
                        .status(UpdateStatus::Failed)
                        .errors(
                            ErrorDetail::builder()
                                .error_code(ErrorCode::AccessDenied)
                                .error_message("not allowed to write logs")
                                .build(),
                        )
                        .build(),
                )
                .build()
        }),
    ];
    let c = mock_eks(&rules);

    let err = update(
        &c,
        &cluster_state(&cluster_spec()),
        &cluster_resource(&spec),
        &["enabled_log_types".into()],
    )
    .await
    .unwrap_err();

    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("Failed"), "{}", err.message);
    assert!(
        err.message.contains("not allowed to write logs"),
        "{}",
        err.message
    );
    let configs = configs.lock().unwrap();
    assert!(configs[0].resources_vpc_config().is_none());
    assert_eq!(
        log_setups(configs[0].logging().unwrap()),
        vec![
            (true, vec!["scheduler"]),
            (
                false,
                vec!["api", "audit", "authenticator", "controllerManager"]
            ),
        ]
    );
    all_used(&rules);
}

#[tokio::test]
async fn cluster_delete_of_a_gone_cluster_succeeds() {
    let rules = vec![mock!(aws_sdk_eks::Client::delete_cluster)
        .then_error(|| DeleteClusterError::generic(meta("ResourceNotFoundException")))];
    let c = mock_eks(&rules);
    delete(&c, "cluster", &cluster_state(&cluster_spec()))
        .await
        .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn cluster_delete_waits_until_gone() {
    let rules = vec![
        mock!(aws_sdk_eks::Client::delete_cluster)
            .match_requests(|r| r.name() == Some(CLUSTER))
            .then_output(|| DeleteClusterOutput::builder().build()),
        describe_cluster(cluster(ClusterStatus::Deleting, "1.29", OURS_CLUSTER)),
        describe_cluster(cluster(ClusterStatus::Deleting, "1.29", OURS_CLUSTER)),
        cluster_missing(),
    ];
    let c = mock_eks(&rules);
    delete(&c, "cluster", &cluster_state(&cluster_spec()))
        .await
        .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn cluster_delete_with_node_groups_left_is_retryable_and_a_deleting_one_is_waited_for() {
    let rules = vec![
        mock!(aws_sdk_eks::Client::delete_cluster)
            .then_error(|| DeleteClusterError::generic(meta("ResourceInUseException"))),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
        // A second delete meets the cluster already being deleted.
        mock!(aws_sdk_eks::Client::delete_cluster)
            .then_error(|| DeleteClusterError::generic(meta("ResourceInUseException"))),
        describe_cluster(cluster(ClusterStatus::Deleting, "1.29", OURS_CLUSTER)),
        cluster_missing(),
    ];
    let c = mock_eks(&rules);
    let state = cluster_state(&cluster_spec());
    let err = delete(&c, "cluster", &state).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    assert!(
        err.message.contains("ResourceInUseException"),
        "{}",
        err.message
    );
    delete(&c, "cluster", &state).await.unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn cluster_delete_without_outputs_deletes_only_a_cluster_of_ours() {
    let mut state = cluster_state(&cluster_spec());
    state.outputs.clear();
    let rules = vec![
        // Someone else's cluster of that name: left alone.
        describe_cluster(cluster(ClusterStatus::Active, "1.29", THEIRS)),
        // Nothing at all.
        cluster_missing(),
        // Ours: deleted.
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
        mock!(aws_sdk_eks::Client::delete_cluster)
            .match_requests(|r| r.name() == Some(CLUSTER))
            .then_output(|| DeleteClusterOutput::builder().build()),
        cluster_missing(),
    ];
    let c = mock_eks(&rules);
    delete(&c, "cluster", &state).await.unwrap();
    delete(&c, "cluster", &state).await.unwrap();
    delete(&c, "cluster", &state).await.unwrap();
    all_used(&rules);
}

#[test]
fn tag_changes_remove_prior_keys_or_every_live_key_but_aws_ones() {
    let live = tag_map(&[("a", "1"), ("b", "2"), ("c", "3"), ("aws:x", "4")]);
    let desired = BTreeMap::from([
        ("a".to_string(), "1".to_string()),
        ("d".to_string(), "4".to_string()),
    ]);
    let prior = BTreeMap::from([("b".to_string(), "2".to_string())]);
    let changes = tag_changes(Some(&live), &desired, &prior, false);
    assert_eq!(changes.set, tag_map(&[("d", "4")]));
    assert_eq!(changes.remove, ["b"]);
    let changes = tag_changes(Some(&live), &desired, &prior, true);
    assert_eq!(changes.remove, ["b", "c"]);
}

// ---------------------------------------------------------------- node groups

fn nodegroup_spec() -> EksNodeGroupSpec {
    EksNodeGroupSpec {
        cluster_name: v(CLUSTER),
        name: NODEGROUP.into(),
        node_role_arn: v("arn:aws:iam::111122223333:role/eks-node"),
        subnet_ids: vec![v("subnet-a"), v("subnet-b")],
        instance_types: vec!["m6i.large".into(), "m5.large".into()],
        capacity_type: "SPOT".into(),
        disk_size: 50,
        min_size: 1,
        max_size: 5,
        desired_size: 2,
        labels: BTreeMap::from([("role".to_string(), "api".to_string())]),
        taints: vec![Taint {
            key: "dedicated".into(),
            value: "api".into(),
            effect: "NO_SCHEDULE".into(),
        }],
    }
}

fn nodegroup_resource(spec: &EksNodeGroupSpec) -> ResolvedResource {
    ResolvedResource {
        stack: "prod".into(),
        id: "workers".into(),
        kind: Kind::EksNodeGroup,
        region: REGION.into(),
        props: serde_json::to_value(spec).unwrap(),
        tags: owner_tags("workers"),
    }
}

fn nodegroup_outputs() -> Outputs {
    Outputs::from([
        ("name".to_string(), Value::from(NODEGROUP)),
        ("arn".to_string(), Value::from(NODEGROUP_ARN)),
    ])
}

fn nodegroup_state(spec: &EksNodeGroupSpec) -> ResourceState {
    ResourceState {
        kind: Kind::EksNodeGroup,
        region: REGION.into(),
        props: serde_json::to_value(spec).unwrap(),
        tags: owner_tags("workers"),
        outputs: nodegroup_outputs(),
        dependencies: Default::default(),
        pending: None,
    }
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
        mock!(aws_sdk_eks::Client::create_nodegroup)
            .match_requests(see)
            .then_output(|| CreateNodegroupOutput::builder().build()),
        describe_nodegroup(nodegroup(NodegroupStatus::Creating, OURS_NODEGROUP)),
        describe_nodegroup(nodegroup(NodegroupStatus::Active, OURS_NODEGROUP)),
    ];
    let c = mock_eks(&rules);

    let out = create(&c, &nodegroup_resource(&nodegroup_spec()))
        .await
        .unwrap();

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
    let scaling = req.scaling_config().unwrap();
    assert_eq!(
        (
            scaling.min_size(),
            scaling.max_size(),
            scaling.desired_size()
        ),
        (Some(1), Some(5), Some(2))
    );
    assert_eq!(req.labels(), Some(&tag_map(&[("role", "api")])));
    assert_eq!(
        req.taints(),
        [sdk_taint("dedicated", Some("api"), TaintEffect::NoSchedule)]
    );
    let tags: BTreeMap<String, String> = req
        .tags()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(tags, owner_tags("workers"));
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
    let err = create(&c, &nodegroup_resource(&nodegroup_spec()))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("CREATE_FAILED"), "{}", err.message);
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
    let r = nodegroup_resource(&nodegroup_spec());

    assert_eq!(find(&c, &r).await.unwrap(), None);
    assert_eq!(find(&c, &r).await.unwrap(), Some(nodegroup_outputs()));
    let err = find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(
        err.message.contains("EKS node group `prod/workers`"),
        "{}",
        err.message
    );
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
    assert_eq!(find(&c, &r).await.unwrap(), None);
    assert_eq!(find(&c, &r).await.unwrap(), None);
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
        effect: "NO_SCHEDULE".into(),
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

    let out = update(
        &c,
        &nodegroup_state(&nodegroup_spec()),
        &nodegroup_resource(&spec),
        &[],
    )
    .await
    .unwrap();

    assert_eq!(out, nodegroup_outputs());
    all_used(&rules);
    let asked = asked.lock().unwrap();
    let req = &asked[0];
    let scaling = req.scaling_config().unwrap();
    assert_eq!(
        (
            scaling.min_size(),
            scaling.max_size(),
            scaling.desired_size()
        ),
        (Some(1), Some(5), Some(2))
    );
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

    update(
        &c,
        &nodegroup_state(&nodegroup_spec()),
        &nodegroup_resource(&spec),
        &["labels".into()],
    )
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
    let out = update(&c, &nodegroup_state(&spec), &nodegroup_resource(&spec), &[])
        .await
        .unwrap();
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
    update(&c, &state, &r, &["tags".into()]).await.unwrap();
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
    delete(&c, "workers", &state).await.unwrap();
    delete(&c, "workers", &state).await.unwrap();
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
    let err = delete(&c, "workers", &nodegroup_state(&nodegroup_spec()))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("DELETE_FAILED"), "{}", err.message);
    all_used(&rules);
}

#[tokio::test]
async fn nodegroup_delete_without_outputs_uses_find() {
    let mut state = nodegroup_state(&nodegroup_spec());
    state.outputs.clear();
    let rules = vec![
        nodegroup_missing(),
        describe_nodegroup(nodegroup(NodegroupStatus::Active, OURS_NODEGROUP)),
        mock!(aws_sdk_eks::Client::delete_nodegroup)
            .then_output(|| DeleteNodegroupOutput::builder().build()),
        nodegroup_missing(),
    ];
    let c = mock_eks(&rules);
    delete(&c, "workers", &state).await.unwrap();
    delete(&c, "workers", &state).await.unwrap();
    all_used(&rules);
}
