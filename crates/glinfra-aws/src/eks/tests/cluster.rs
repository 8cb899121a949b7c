//! SDK-mock tests of the EKS cluster driver.

use super::*;
use crate::driver::Driver;
use crate::eks::EksClusterDriver;
use crate::kit::{tags, Changed};
use crate::test_support;
use crate::test_support::{all_used, assert_error, delete_found, meta, ok_rule, recorder};
use aws_sdk_eks::operation::create_cluster::{
    CreateClusterError, CreateClusterInput, CreateClusterOutput,
};
use aws_sdk_eks::operation::delete_cluster::{DeleteClusterError, DeleteClusterOutput};
use aws_sdk_eks::operation::describe_cluster::{DescribeClusterError, DescribeClusterOutput};
use aws_sdk_eks::operation::describe_update::DescribeUpdateOutput;
use aws_sdk_eks::operation::tag_resource::{TagResourceInput, TagResourceOutput};
use aws_sdk_eks::operation::untag_resource::{UntagResourceInput, UntagResourceOutput};
use aws_sdk_eks::operation::update_cluster_config::{
    UpdateClusterConfigInput, UpdateClusterConfigOutput,
};
use aws_sdk_eks::operation::update_cluster_version::{
    UpdateClusterVersionInput, UpdateClusterVersionOutput,
};
use aws_sdk_eks::types::{
    Cluster, ClusterStatus, ErrorCode, ErrorDetail, LogSetup, LogType as SdkLogType, Logging,
    VpcConfigResponse,
};
use glinfra_core::spec::eks::{EksClusterOutputs, EksClusterSpec, LogType};
use glinfra_engine::{ErrorClass, ProviderError};

pub(super) fn cluster_spec() -> EksClusterSpec {
    EksClusterSpec {
        name: CLUSTER.into(),
        version: "1.29".into(),
        role_arn: v("arn:aws:iam::111122223333:role/eks-cluster"),
        subnet_ids: vec![v("subnet-a"), v("subnet-b")],
        security_group_ids: vec![v("sg-1")],
        endpoint_private_access: true,
        endpoint_public_access: false,
        enabled_log_types: vec![LogType::Api, LogType::Audit],
        secrets_kms_key_arn: Some(v(KEY_ARN)),
    }
}

pub(super) fn cluster_resource(spec: &EksClusterSpec) -> Desired<EksClusterSpec> {
    resource("cluster", spec)
}

pub(super) fn cluster_outputs() -> EksClusterOutputs {
    EksClusterOutputs {
        name: CLUSTER.into(),
        arn: CLUSTER_ARN.into(),
        endpoint: ENDPOINT.into(),
    }
}

pub(super) fn cluster_state(spec: &EksClusterSpec) -> Recorded<EksClusterSpec> {
    state("cluster", spec, cluster_outputs())
}

/// Creates the cluster of `spec`.
async fn create(c: &Clients, spec: &EksClusterSpec) -> Result<EksClusterOutputs, ProviderError> {
    EksClusterDriver.create(c, &cluster_resource(spec)).await
}

/// Updates the cluster recorded as `from` to `to`, naming `fields` as changed.
async fn update(
    c: &Clients,
    from: &EksClusterSpec,
    to: &EksClusterSpec,
    fields: &[&str],
) -> Result<EksClusterOutputs, ProviderError> {
    let (prior, r) = (cluster_state(from), cluster_resource(to));
    test_support::update(&EksClusterDriver, c, &prior, &r, fields).await
}

/// Looks for the cluster of `cluster_spec()`.
async fn find(c: &Clients) -> Result<Option<EksClusterOutputs>, ProviderError> {
    EksClusterDriver
        .find(c, &cluster_resource(&cluster_spec()))
        .await
}

/// Deletes the cluster recorded as `spec`.
async fn delete(c: &Clients, spec: &EksClusterSpec) -> Result<(), ProviderError> {
    EksClusterDriver.delete(c, &cluster_state(spec)).await
}

/// A cluster as DescribeCluster reports it; `spec`'s settings, in `status`, at `version`.
pub(super) fn cluster(status: ClusterStatus, version: &str, tags: &[(&str, &str)]) -> Cluster {
    let spec = cluster_spec();
    Cluster::builder()
        .name(CLUSTER)
        .arn(CLUSTER_ARN)
        .endpoint(ENDPOINT)
        .version(version)
        .status(status)
        .set_tags(Some(tag_map(tags)))
        .resources_vpc_config(vpc_config(
            spec.endpoint_private_access,
            spec.endpoint_public_access,
        ))
        .logging(logging(&["api", "audit"]))
        .encryption_config(encrypted_with(KEY_ARN))
        .build()
}

/// The VPC configuration of `cluster_spec()` (its subnets and security groups) with
/// the endpoint access given.
fn vpc_config(private: bool, public: bool) -> VpcConfigResponse {
    VpcConfigResponse::builder()
        .subnet_ids("subnet-a")
        .subnet_ids("subnet-b")
        .security_group_ids("sg-1")
        .endpoint_private_access(private)
        .endpoint_public_access(public)
        .build()
}

/// Envelope encryption of secrets with `key`.
#[allow(deprecated)]
fn encrypted_with(key: &str) -> aws_sdk_eks::types::EncryptionConfig {
    aws_sdk_eks::types::EncryptionConfig::builder()
        .resources("secrets")
        .provider(aws_sdk_eks::types::Provider::builder().key_arn(key).build())
        .build()
}

/// A logging configuration with `enabled` on and the rest off.
fn logging(enabled: &[&str]) -> Logging {
    Logging::builder()
        .cluster_logging(
            LogSetup::builder()
                .set_types(Some(enabled.iter().map(|t| SdkLogType::from(*t)).collect()))
                .enabled(true)
                .build(),
        )
        .build()
}

pub(super) fn describe_cluster(cl: Cluster) -> Rule {
    mock!(aws_sdk_eks::Client::describe_cluster)
        .match_requests(|r| r.name() == Some(CLUSTER))
        .then_output(move || DescribeClusterOutput::builder().cluster(cl.clone()).build())
}

fn cluster_missing() -> Rule {
    mock!(aws_sdk_eks::Client::describe_cluster)
        .match_requests(|r| r.name() == Some(CLUSTER))
        .then_error(|| DescribeClusterError::generic(meta("ResourceNotFoundException")))
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

    let out = create(&c, &cluster_spec()).await.unwrap();

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
    assert_eq!(tags::from_map(req.tags()), owner_tags("cluster"));
}

#[tokio::test]
async fn cluster_create_without_key_or_logs_sends_no_encryption_and_disables_every_log_type() {
    let mut spec = cluster_spec();
    spec.secrets_kms_key_arn = None;
    spec.enabled_log_types = vec![];
    let (created, see) = recorder::<CreateClusterInput>();
    let rules = vec![
        ok_rule!(aws_sdk_eks::Client::create_cluster(see) -> CreateClusterOutput),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
    ];
    let c = mock_eks(&rules);

    create(&c, &spec).await.unwrap();

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
    let err = create(&c, &cluster_spec()).await.unwrap_err();
    assert_error(&err, ErrorClass::Fatal, "FAILED");
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

    assert_eq!(
        EksClusterDriver.create(&c, &r).await.unwrap(),
        cluster_outputs()
    );
    let err = EksClusterDriver.create(&c, &r).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "stack `staging`");
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
    let out = create(&c, &cluster_spec()).await.unwrap();
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

    assert_eq!(find(&c).await.unwrap(), None);
    assert_eq!(find(&c).await.unwrap(), Some(cluster_outputs()));
    let err = find(&c).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "EKS cluster `prod`");
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
    let err = find(&c).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "no glinfra ownership tags");
    assert_eq!(find(&c).await.unwrap(), None);
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
    assert_eq!(find(&c).await.unwrap(), None);
    assert_eq!(find(&c).await.unwrap(), Some(cluster_outputs()));
    all_used(&rules);
}

pub(super) fn update_version(
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
        super::upgrade::no_node_groups(),
        update_version("1.29", "u1", move |r| see1(r)),
        describe_update(None, "u1", UpdateStatus::InProgress),
        describe_update(None, "u1", UpdateStatus::Successful),
        describe_cluster(cluster(ClusterStatus::Updating, "1.29", OURS_CLUSTER)),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
        super::upgrade::no_node_groups(),
        update_version("1.30", "u2", move |r| see2(r)),
        describe_update(None, "u2", UpdateStatus::Successful),
        describe_cluster(cluster(ClusterStatus::Active, "1.30", OURS_CLUSTER)),
    ];
    let c = mock_eks(&rules);

    let out = update(&c, &cluster_spec(), &spec, &["version"])
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
    use crate::eks::cluster::version_steps;
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
    assert_error(&err, ErrorClass::Invalid, "cannot downgrade");
}

#[tokio::test]
async fn cluster_version_downgrade_is_refused_without_a_call() {
    let rules = vec![describe_cluster(cluster(
        ClusterStatus::Active,
        "1.30",
        OURS_CLUSTER,
    ))];
    let c = mock_eks(&rules);
    let err = update(&c, &cluster_spec(), &cluster_spec(), &["version"])
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
    live.resources_vpc_config = Some(vpc_config(false, true));
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

    let out = EksClusterDriver
        .update(&c, &cluster_state(&spec), &r, Changed(&[]))
        .await
        .unwrap();

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

/// UpdateClusterConfig answering update `id` in progress; each request recorded.
fn update_config_ok(
    id: &'static str,
    see: impl Fn(&UpdateClusterConfigInput) -> bool + Send + Sync + 'static,
) -> Rule {
    mock!(aws_sdk_eks::Client::update_cluster_config)
        .match_requests(see)
        .then_output(move || {
            UpdateClusterConfigOutput::builder()
                .update(an_update(id, UpdateStatus::InProgress))
                .build()
        })
}

#[tokio::test]
async fn cluster_subnets_and_security_groups_change_in_place_in_one_vpc_config_update() {
    let mut spec = cluster_spec();
    spec.subnet_ids.push(v("subnet-c"));
    spec.security_group_ids = vec![v("sg-2")];
    let mut done = cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER);
    done.resources_vpc_config = Some(
        VpcConfigResponse::builder()
            .set_subnet_ids(Some(vec![
                "subnet-a".into(),
                "subnet-b".into(),
                "subnet-c".into(),
            ]))
            .security_group_ids("sg-2")
            .endpoint_private_access(true)
            .build(),
    );
    let (configs, see) = recorder::<UpdateClusterConfigInput>();
    let rules = vec![
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
        update_config_ok("u1", see),
        describe_update(None, "u1", UpdateStatus::Successful),
        describe_cluster(done),
    ];
    let c = mock_eks(&rules);
    let out = update(
        &c,
        &cluster_spec(),
        &spec,
        &["security_group_ids", "subnet_ids"],
    )
    .await
    .unwrap();
    assert_eq!(out, cluster_outputs());
    all_used(&rules);
    let configs = configs.lock().unwrap();
    assert_eq!(configs.len(), 1);
    assert_eq!(configs[0].name(), Some(CLUSTER));
    let vpc = configs[0].resources_vpc_config().unwrap();
    assert_eq!(vpc.subnet_ids(), ["subnet-a", "subnet-b", "subnet-c"]);
    assert_eq!(vpc.security_group_ids(), ["sg-2"]);
    // Endpoint access is another kind of update: never in the same call.
    assert_eq!(vpc.endpoint_private_access(), None);
    assert_eq!(vpc.endpoint_public_access(), None);
    assert!(configs[0].logging().is_none());
}

#[tokio::test]
async fn cluster_secrets_encryption_is_associated_when_the_cluster_has_none() {
    use aws_sdk_eks::operation::associate_encryption_config::{
        AssociateEncryptionConfigInput, AssociateEncryptionConfigOutput,
    };
    let mut plain = cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER);
    plain.encryption_config = None;
    let before = EksClusterSpec {
        secrets_kms_key_arn: None,
        ..cluster_spec()
    };
    let (sent, see) = recorder::<AssociateEncryptionConfigInput>();
    let rules = vec![
        describe_cluster(plain),
        mock!(aws_sdk_eks::Client::associate_encryption_config)
            .match_requests(see)
            .then_output(|| {
                AssociateEncryptionConfigOutput::builder()
                    .update(an_update("u1", UpdateStatus::InProgress))
                    .build()
            }),
        describe_update(None, "u1", UpdateStatus::Successful),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
    ];
    let c = mock_eks(&rules);
    update(&c, &before, &cluster_spec(), &["secrets_kms_key_arn"])
        .await
        .unwrap();
    all_used(&rules);
    {
        let sent = sent.lock().unwrap();
        assert_eq!(sent[0].cluster_name(), Some(CLUSTER));
        assert_eq!(sent[0].encryption_config(), [encrypted_with(KEY_ARN)]);
    }

    // Already encrypted with the key (a resumed update): nothing is sent. With
    // another key: an error, as EKS cannot change it.
    let rules = vec![describe_cluster(cluster(
        ClusterStatus::Active,
        "1.29",
        OURS_CLUSTER,
    ))];
    let c = mock_eks(&rules);
    update(&c, &before, &cluster_spec(), &["secrets_kms_key_arn"])
        .await
        .unwrap();
    all_used(&rules);
    let mut other = cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER);
    other.encryption_config = Some(vec![encrypted_with(
        "arn:aws:kms:eu-west-1:111122223333:key/k2",
    )]);
    let rules = vec![describe_cluster(other)];
    let c = mock_eks(&rules);
    let err = update(&c, &before, &cluster_spec(), &["secrets_kms_key_arn"])
        .await
        .unwrap_err();
    assert_error(&err, ErrorClass::Fatal, "cannot change the key");
    all_used(&rules);
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
    let out = update(&c, &spec, &spec, &[]).await.unwrap();
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
    spec.enabled_log_types = vec![LogType::Scheduler];
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

    let err = update(&c, &cluster_spec(), &spec, &["enabled_log_types"])
        .await
        .unwrap_err();

    assert_error(&err, ErrorClass::Fatal, "Failed");
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
    delete(&c, &cluster_spec()).await.unwrap();
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
    delete(&c, &cluster_spec()).await.unwrap();
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
    let err = EksClusterDriver.delete(&c, &state).await.unwrap_err();
    assert_error(&err, ErrorClass::Retryable, "ResourceInUseException");
    EksClusterDriver.delete(&c, &state).await.unwrap();
    all_used(&rules);
}

/// What the executor does for a create whose end was not recorded: `find`, then
/// `delete` what it found, recorded with the found outputs.
#[tokio::test]
async fn cluster_delete_without_outputs_deletes_only_a_cluster_of_ours() {
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
    let r = cluster_resource(&cluster_spec());
    let err = find(&c).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert_eq!(find(&c).await.unwrap(), None);
    delete_found(&EksClusterDriver, &c, &r).await;
    all_used(&rules);
}

#[test]
fn tag_changes_remove_prior_keys_or_every_live_key_but_aws_ones() {
    let live = tags::from_map(Some(&tag_map(&[
        ("a", "1"),
        ("b", "2"),
        ("c", "3"),
        ("aws:x", "4"),
    ])));
    let desired = BTreeMap::from([
        ("a".to_string(), "1".to_string()),
        ("d".to_string(), "4".to_string()),
    ]);
    let prior = BTreeMap::from([("b".to_string(), "2".to_string())]);
    let (set, remove) = tags::reconcile(&desired, &prior, Some(&live), false);
    assert_eq!(set, BTreeMap::from([("d".to_string(), "4".to_string())]));
    assert_eq!(remove, ["b"]);
    let (_, remove) = tags::reconcile(&desired, &prior, Some(&live), true);
    assert_eq!(remove, ["b", "c"]);
}

/// The cluster `name` as DescribeCluster reports it: `cluster_spec()`'s settings,
/// its subnets and log types in another order than the spec's.
fn described(name: &str, status: ClusterStatus, tags: &[(&str, &str)]) -> Cluster {
    let spec = cluster_spec();
    Cluster::builder()
        .name(name)
        .arn(format!("arn:aws:eks:eu-west-1:111122223333:cluster/{name}"))
        .endpoint(ENDPOINT)
        .version(&spec.version)
        .role_arn(spec.role_arn.value().unwrap())
        .status(status)
        .set_tags(Some(tag_map(tags)))
        .resources_vpc_config(
            VpcConfigResponse::builder()
                .subnet_ids("subnet-b")
                .subnet_ids("subnet-a")
                .security_group_ids("sg-1")
                .cluster_security_group_id("sg-eks-made")
                .endpoint_private_access(spec.endpoint_private_access)
                .endpoint_public_access(spec.endpoint_public_access)
                .build(),
        )
        .logging(logging(&["audit", "api"]))
        .encryption_config(
            aws_sdk_eks::types::EncryptionConfig::builder()
                .provider(
                    aws_sdk_eks::types::Provider::builder()
                        .key_arn(KEY_ARN)
                        .build(),
                )
                .build(),
        )
        .build()
}

/// DescribeCluster of `name`, answering `cl`.
fn describe_named(name: &'static str, cl: Cluster) -> Rule {
    mock!(aws_sdk_eks::Client::describe_cluster)
        .match_requests(move |r| r.name() == Some(name))
        .then_output(move || DescribeClusterOutput::builder().cluster(cl.clone()).build())
}

/// ListClusters answering `names`; each request recorded.
fn list_clusters(
    names: &[&str],
) -> (
    test_support::Seen<aws_sdk_eks::operation::list_clusters::ListClustersInput>,
    Rule,
) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let (seen, see) = recorder();
    let rule = mock!(aws_sdk_eks::Client::list_clusters)
        .match_requests(see)
        .then_output(move || {
            aws_sdk_eks::operation::list_clusters::ListClustersOutput::builder()
                .set_clusters(Some(names.clone()))
                .build()
        });
    (seen, rule)
}

#[tokio::test]
async fn observe_lists_the_clusters_and_describes_each_for_its_tags() {
    let mut opened = described(CLUSTER, ClusterStatus::Active, OURS_CLUSTER);
    opened.resources_vpc_config = Some(
        VpcConfigResponse::builder()
            .subnet_ids("subnet-a")
            .subnet_ids("subnet-b")
            .security_group_ids("sg-1")
            .endpoint_private_access(true)
            // Opened outside glinfra.
            .endpoint_public_access(true)
            .build(),
    );
    let going_tags: &[(&str, &str)] = &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "old-cluster")];
    let (listed, list) = list_clusters(&[CLUSTER, "staging", "going"]);
    let rules = [
        list,
        describe_named(CLUSTER, opened),
        describe_named(
            "staging",
            described("staging", ClusterStatus::Active, THEIRS),
        ),
        describe_named(
            "going",
            described("going", ClusterStatus::Deleting, going_tags),
        ),
    ];
    let c = mock_eks(&rules);
    let scope = test_support::scope("prod", REGION, vec![cluster_state(&cluster_spec())]);

    let live = EksClusterDriver.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(listed.lock().unwrap().len(), 1, "one listing");
    assert_eq!(
        live.len(),
        1,
        "another stack's and a deleting cluster dropped"
    );
    assert_eq!(live[0].id, "cluster");
    assert_eq!(live[0].outputs, cluster_outputs());
    assert_eq!(live[0].tags, tags::from_map(Some(&tag_map(OURS_CLUSTER))));
    let read = live[0].spec.as_ref().unwrap();
    assert!(read.endpoint_public_access, "the live value");
    let mut expected = cluster_spec();
    expected.endpoint_public_access = true;
    assert_eq!(read, &expected);
    all_used(&rules);
}

#[tokio::test]
async fn observe_of_an_unchanged_cluster_reads_exactly_the_recorded_spec() {
    // The key named by its id: EKS reports its ARN.
    let mut spec = cluster_spec();
    spec.secrets_kms_key_arn = Some(v("k1"));
    let (_, list) = list_clusters(&[CLUSTER]);
    let rules = [
        list,
        describe_named(
            CLUSTER,
            described(CLUSTER, ClusterStatus::Active, OURS_CLUSTER),
        ),
    ];
    let c = mock_eks(&rules);
    let scope = test_support::scope("prod", REGION, vec![cluster_state(&spec)]);

    let live = EksClusterDriver.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&spec).unwrap()
    );
    all_used(&rules);
}

#[tokio::test]
async fn observe_reads_a_cluster_state_does_not_know_whole() {
    let (_, list) = list_clusters(&[CLUSTER]);
    let rules = [
        list,
        describe_named(
            CLUSTER,
            described(CLUSTER, ClusterStatus::Active, OURS_CLUSTER),
        ),
    ];
    let c = mock_eks(&rules);
    let scope = test_support::scope::<EksClusterSpec>("prod", REGION, vec![]);

    let live = EksClusterDriver.observe(&c, &scope).await.unwrap().unwrap();

    let mut expected = cluster_spec();
    // Read in AWS's order, with no record to take the order from.
    expected.subnet_ids = vec![v("subnet-b"), v("subnet-a")];
    assert_eq!(live[0].spec.as_ref().unwrap(), &expected);
    all_used(&rules);
}

/// Records the `clientRequestToken` of each CreateCluster a rule of it sees.
fn token_of(
    sent: &std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>,
) -> impl Fn(&CreateClusterInput) -> bool + Send + Sync + 'static {
    let sent = sent.clone();
    move |r| {
        sent.lock()
            .unwrap()
            .push(r.client_request_token().map(str::to_string));
        true
    }
}

/// A retried create (after a lost response) sends the engine's token again, so
/// EKS answers it with the cluster it made; a try after clearing a failed
/// cluster of ours is a new request and does not reuse it.
#[tokio::test]
async fn cluster_create_sends_the_engines_token_on_a_retry_but_not_after_clearing_a_failed_one() {
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let rules = vec![
        mock!(aws_sdk_eks::Client::create_cluster)
            .match_requests(token_of(&sent))
            .then_output(|| CreateClusterOutput::builder().build()),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
        mock!(aws_sdk_eks::Client::create_cluster)
            .match_requests(token_of(&sent))
            .then_output(|| CreateClusterOutput::builder().build()),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
        mock!(aws_sdk_eks::Client::create_cluster)
            .match_requests(token_of(&sent))
            .then_error(|| CreateClusterError::generic(meta("ResourceInUseException"))),
        describe_cluster(cluster(ClusterStatus::Failed, "1.29", OURS_CLUSTER)),
        mock!(aws_sdk_eks::Client::delete_cluster)
            .then_output(|| DeleteClusterOutput::builder().build()),
        cluster_missing(),
        mock!(aws_sdk_eks::Client::create_cluster)
            .match_requests(token_of(&sent))
            .then_output(|| CreateClusterOutput::builder().build()),
        describe_cluster(cluster(ClusterStatus::Active, "1.29", OURS_CLUSTER)),
    ];
    let c = mock_eks(&rules);
    let r = test_support::with_token(cluster_resource(&cluster_spec()), 9);
    for _ in 0..3 {
        assert_eq!(
            EksClusterDriver.create(&c, &r).await.unwrap(),
            cluster_outputs()
        );
    }
    all_used(&rules);
    let sent = sent.lock().unwrap();
    let token = r.token();
    assert!(token.is_some());
    assert_eq!(sent[..3], [token.clone(), token.clone(), token.clone()]);
    assert_ne!(
        sent[3], token,
        "a new request after clearing the failed cluster"
    );
}
