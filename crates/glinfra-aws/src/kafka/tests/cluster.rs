//! SDK-mock tests of the MSK cluster driver.

use super::{mock_kafka, REGION};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::kafka::MskClusterDriver;
use crate::kit::{tags, Changed, Desired, Recorded};
use crate::test_support;
use crate::test_support::{
    all_used, assert_error, delete_found, desired, meta, ok_rule, recorded, recorder,
};
use aws_sdk_kafka::operation::create_cluster_v2::{CreateClusterV2Input, CreateClusterV2Output};
use aws_sdk_kafka::operation::delete_cluster::{
    DeleteClusterError, DeleteClusterInput, DeleteClusterOutput,
};
use aws_sdk_kafka::operation::describe_cluster_operation::DescribeClusterOperationOutput;
use aws_sdk_kafka::operation::describe_cluster_v2::{
    DescribeClusterV2Error, DescribeClusterV2Output,
};
use aws_sdk_kafka::operation::get_bootstrap_brokers::GetBootstrapBrokersOutput;
use aws_sdk_kafka::operation::list_clusters_v2::ListClustersV2Output;
use aws_sdk_kafka::operation::tag_resource::{TagResourceInput, TagResourceOutput};
use aws_sdk_kafka::operation::untag_resource::{UntagResourceInput, UntagResourceOutput};
use aws_sdk_kafka::operation::update_broker_count::{
    UpdateBrokerCountInput, UpdateBrokerCountOutput,
};
use aws_sdk_kafka::operation::update_broker_storage::{
    UpdateBrokerStorageInput, UpdateBrokerStorageOutput,
};
use aws_sdk_kafka::operation::update_broker_type::{UpdateBrokerTypeInput, UpdateBrokerTypeOutput};
use aws_sdk_kafka::operation::update_cluster_configuration::{
    UpdateClusterConfigurationInput, UpdateClusterConfigurationOutput,
};
use aws_sdk_kafka::operation::update_cluster_kafka_version::{
    UpdateClusterKafkaVersionInput, UpdateClusterKafkaVersionOutput,
};
use aws_sdk_kafka::types::{
    BrokerNodeGroupInfo, BrokerSoftwareInfo, ClientBroker, Cluster, ClusterOperationInfo,
    ClusterState, EbsStorageInfo, ErrorInfo, Provisioned, StateInfo, StorageInfo,
};
use aws_sdk_kafka::Client;
use aws_smithy_mocks::{mock, Rule};
use glinfra_core::spec::msk::{ClientBrokerEncryption, MskClusterOutputs, MskClusterSpec};
use glinfra_core::{Declared, Input, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, ProviderError, ResolvedResource};
use std::collections::{BTreeMap, HashMap};

const ARN: &str = "arn:aws:kafka:eu-west-1:111122223333:cluster/prod-events/uuid-1";
const CONF: &str = "arn:aws:kafka:eu-west-1:111122223333:configuration/prod-kafka/abc-1";
const KMS: &str = "arn:aws:kms:eu-west-1:111122223333:key/k1";
const BROKERS: &str = "b-1.prod-events.x.c2.kafka.eu-west-1.amazonaws.com:9094,b-2.prod-events.x.c2.kafka.eu-west-1.amazonaws.com:9094";

const OURS: &[(&str, &str)] = &[
    (TAG_STACK, "prod"),
    (TAG_LOGICAL_ID, "events"),
    ("team", "data"),
];
const THEIRS: &[(&str, &str)] = &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "events")];

fn spec() -> MskClusterSpec {
    MskClusterSpec {
        name: "prod-events".into(),
        kafka_version: "3.6.0".into(),
        broker_count: 3,
        instance_type: "kafka.m5.large".into(),
        client_subnets: vec!["subnet-a".into(), "subnet-b".into(), "subnet-c".into()],
        security_groups: vec![Input::Value("sg-1".into())],
        volume_size_gb: 100,
        configuration_arn: CONF.into(),
        configuration_revision: 1.into(),
        kms_key_arn: KMS.into(),
        client_broker_encryption: ClientBrokerEncryption::Tls,
    }
}

fn tag_map(tags: &[(&str, &str)]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn resource(spec: &MskClusterSpec) -> Desired<MskClusterSpec> {
    let mut r = desired("prod", "events", REGION, spec.clone());
    r.tags = tag_map(OURS);
    r
}

fn state(
    spec: &MskClusterSpec,
    outputs: MskClusterOutputs,
    tags: &[(&str, &str)],
) -> Recorded<MskClusterSpec> {
    let mut prior = recorded(&resource(spec), outputs);
    prior.tags = tag_map(tags);
    prior
}

fn outputs(arn: &str, bootstrap_brokers_tls: &str) -> MskClusterOutputs {
    MskClusterOutputs {
        arn: arn.into(),
        bootstrap_brokers_tls: bootstrap_brokers_tls.into(),
        topic_arn_prefix: arn.replacen(":cluster/", ":topic/", 1),
        group_arn_prefix: arn.replacen(":cluster/", ":group/", 1),
    }
}

/// A cluster as DescribeClusterV2 reports it.
#[derive(Clone)]
struct View {
    arn: &'static str,
    name: &'static str,
    state: ClusterState,
    version: &'static str,
    kafka: &'static str,
    count: i32,
    instance_type: &'static str,
    volume: i32,
    revision: i64,
    client_broker: ClientBroker,
    tags: &'static [(&'static str, &'static str)],
}

impl View {
    /// Our cluster, matching `spec()`.
    fn ours(state: ClusterState, version: &'static str) -> View {
        View {
            arn: ARN,
            name: "prod-events",
            state,
            version,
            kafka: "3.6.0",
            count: 3,
            instance_type: "kafka.m5.large",
            volume: 100,
            revision: 1,
            client_broker: ClientBroker::Tls,
            tags: OURS,
        }
    }

    fn build(&self) -> Cluster {
        Cluster::builder()
            .cluster_arn(self.arn)
            .cluster_name(self.name)
            .state(self.state.clone())
            .current_version(self.version)
            .set_tags(Some(
                self.tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ))
            .set_state_info((self.state == ClusterState::Failed).then(|| {
                StateInfo::builder()
                    .code("InsufficientCapacity")
                    .message("no capacity")
                    .build()
            }))
            .provisioned(
                Provisioned::builder()
                    .number_of_broker_nodes(self.count)
                    .encryption_info(
                        aws_sdk_kafka::types::EncryptionInfo::builder()
                            .encryption_in_transit(
                                aws_sdk_kafka::types::EncryptionInTransit::builder()
                                    .client_broker(self.client_broker.clone())
                                    .in_cluster(true)
                                    .build(),
                            )
                            .build(),
                    )
                    .current_broker_software_info(
                        BrokerSoftwareInfo::builder()
                            .kafka_version(self.kafka)
                            .configuration_arn(CONF)
                            .configuration_revision(self.revision)
                            .build(),
                    )
                    .broker_node_group_info(
                        BrokerNodeGroupInfo::builder()
                            .instance_type(self.instance_type)
                            .client_subnets("subnet-a")
                            .storage_info(
                                StorageInfo::builder()
                                    .ebs_storage_info(
                                        EbsStorageInfo::builder().volume_size(self.volume).build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    }
}

fn describe_rule(view: View) -> Rule {
    let arn = view.arn;
    mock!(Client::describe_cluster_v2)
        .match_requests(move |r| r.cluster_arn() == Some(arn))
        .then_output(move || {
            DescribeClusterV2Output::builder()
                .cluster_info(view.build())
                .build()
        })
}

fn describe_missing() -> Rule {
    mock!(Client::describe_cluster_v2)
        .match_requests(|r| r.cluster_arn() == Some(ARN))
        .then_error(|| DescribeClusterV2Error::generic(meta("NotFoundException")))
}

fn list_rule(views: Vec<View>) -> Rule {
    mock!(Client::list_clusters_v2)
        .match_requests(|r| r.cluster_name_filter() == Some("prod-events"))
        .then_output(move || {
            ListClustersV2Output::builder()
                .set_cluster_info_list(Some(views.iter().map(View::build).collect()))
                .build()
        })
}

fn bootstrap_rule() -> Rule {
    mock!(Client::get_bootstrap_brokers)
        .match_requests(|r| r.cluster_arn() == Some(ARN))
        .then_output(|| {
            GetBootstrapBrokersOutput::builder()
                .bootstrap_broker_string_tls(BROKERS)
                .build()
        })
}

/// Creates the cluster of `spec()`.
async fn create(c: &Clients) -> Result<MskClusterOutputs, ProviderError> {
    MskClusterDriver.create(c, &resource(&spec())).await
}

/// Updates our cluster, recorded as `spec()` with `BROKERS` and `OURS`, to `want`,
/// naming `fields` as changed (none: every field).
async fn update(
    c: &Clients,
    want: &MskClusterSpec,
    fields: &[&str],
) -> Result<MskClusterOutputs, ProviderError> {
    let prior = state(&spec(), outputs(ARN, BROKERS), OURS);
    test_support::update(&MskClusterDriver, c, &prior, &resource(want), fields).await
}

fn ours_with(state: ClusterState, version: &'static str, f: impl FnOnce(&mut View)) -> View {
    let mut v = View::ours(state, version);
    f(&mut v);
    v
}

#[tokio::test]
async fn create_sends_every_field_and_waits_for_active() {
    let (seen, see) = recorder::<CreateClusterV2Input>();
    let rules = [
        list_rule(vec![]),
        mock!(Client::create_cluster_v2)
            .match_requests(see)
            .then_output(|| {
                CreateClusterV2Output::builder()
                    .cluster_arn(ARN)
                    .cluster_name("prod-events")
                    .state(ClusterState::Creating)
                    .build()
            }),
        describe_rule(View::ours(ClusterState::Creating, "v1")),
        describe_rule(View::ours(ClusterState::Creating, "v1")),
        describe_rule(View::ours(ClusterState::Active, "v1")),
        bootstrap_rule(),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let out = create(&c).await.unwrap();

    assert_eq!(out, outputs(ARN, BROKERS));
    let seen = seen.lock().unwrap();
    let req = &seen[0];
    assert_eq!(req.cluster_name(), Some("prod-events"));
    assert_eq!(tags::from_map(req.tags()), tag_map(OURS));
    assert!(req.serverless().is_none());
    let p = req.provisioned().unwrap();
    assert_eq!(p.kafka_version(), Some("3.6.0"));
    assert_eq!(p.number_of_broker_nodes(), Some(3));
    let nodes = p.broker_node_group_info().unwrap();
    assert_eq!(nodes.instance_type(), Some("kafka.m5.large"));
    assert_eq!(nodes.client_subnets(), ["subnet-a", "subnet-b", "subnet-c"]);
    assert_eq!(nodes.security_groups(), ["sg-1"]);
    assert_eq!(
        nodes
            .storage_info()
            .and_then(|s| s.ebs_storage_info())
            .and_then(|e| e.volume_size()),
        Some(100)
    );
    let conf = p.configuration_info().unwrap();
    assert_eq!(conf.arn(), Some(CONF));
    assert_eq!(conf.revision(), Some(1));
    let enc = p.encryption_info().unwrap();
    assert_eq!(
        enc.encryption_at_rest()
            .and_then(|e| e.data_volume_kms_key_id()),
        Some(KMS)
    );
    let transit = enc.encryption_in_transit().unwrap();
    assert_eq!(transit.client_broker(), Some(&ClientBroker::Tls));
    assert_eq!(transit.in_cluster(), Some(true));
    all_used(&rules);
}

/// Two clusters created at once wait through one ListClustersV2 a poll. The rules
/// match in any order (the two creates interleave) but each answers once, and no
/// rule answers DescribeClusterV2: a wait polling alone fails the test.
// A paused clock: the round's gathering ends only once both creates wait, however
// slow the machine (on a real clock a busy machine can close it before the second).
#[tokio::test(start_paused = true)]
async fn creates_waiting_together_share_one_listing_a_poll() {
    const ARN2: &str = "arn:aws:kafka:eu-west-1:111122223333:cluster/prod-audit/uuid-2";
    let mut audit = spec();
    audit.name = "prod-audit".into();
    let created = |name: &'static str, arn: &'static str| {
        mock!(Client::create_cluster_v2)
            .match_requests(move |r| r.cluster_name() == Some(name))
            .then_output(move || CreateClusterV2Output::builder().cluster_arn(arn).build())
    };
    let unnamed = |name: &'static str| {
        mock!(Client::list_clusters_v2)
            .match_requests(move |r| r.cluster_name_filter() == Some(name))
            .then_output(|| ListClustersV2Output::builder().build())
    };
    let brokers = |arn: &'static str| {
        mock!(Client::get_bootstrap_brokers)
            .match_requests(move |r| r.cluster_arn() == Some(arn))
            .then_output(|| {
                GetBootstrapBrokersOutput::builder()
                    .bootstrap_broker_string_tls(BROKERS)
                    .build()
            })
    };
    let second = ours_with(ClusterState::Active, "v1", |v| v.arn = ARN2);
    let listed = vec![
        View::ours(ClusterState::Active, "v1").build(),
        second.build(),
    ];
    let rules = [
        unnamed("prod-events"),
        unnamed("prod-audit"),
        created("prod-events", ARN),
        created("prod-audit", ARN2),
        mock!(Client::list_clusters_v2)
            .match_requests(|r| r.cluster_name_filter().is_none())
            .then_output(move || {
                ListClustersV2Output::builder()
                    .set_cluster_info_list(Some(listed.clone()))
                    .build()
            }),
        brokers(ARN),
        brokers(ARN2),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    let c = crate::test_support::mock_clients!(
        aws_sdk_kafka,
        "kafka",
        REGION,
        aws_smithy_mocks::RuleMode::MatchAny,
        &refs
    );

    let (a, b) = (resource(&spec()), resource(&audit));
    let (a, b) = tokio::join!(
        MskClusterDriver.create(&c, &a),
        MskClusterDriver.create(&c, &b)
    );

    assert_eq!(a.unwrap(), outputs(ARN, BROKERS));
    assert_eq!(b.unwrap(), outputs(ARN2, BROKERS));
    all_used(&rules);
}

/// The revision is typed (`Input<i64>`): a spec whose JSON holds anything but a
/// revision number (or a string of digits, from older states) is rejected as the
/// spec is read, before any call.
#[tokio::test]
async fn create_rejects_a_revision_that_is_not_a_number_before_any_call() {
    let mut props = serde_json::to_value(spec()).unwrap();
    props["configuration_revision"] = "latest".into();
    let r = ResolvedResource {
        stack: "prod".into(),
        id: "events".into(),
        kind: MskClusterSpec::KIND,
        region: REGION.into(),
        props,
        tags: tag_map(OURS),
        token: None,
        superseded: Default::default(),
    };
    let c = mock_kafka(&[]);
    let err = crate::driver::AnyDriver::create(&MskClusterDriver, &c, &r)
        .await
        .unwrap_err();
    assert_error(&err, ErrorClass::Invalid, "configuration_revision");
}

#[tokio::test]
async fn create_fails_when_the_cluster_fails() {
    let rules = [
        list_rule(vec![]),
        mock!(Client::create_cluster_v2)
            .then_output(|| CreateClusterV2Output::builder().cluster_arn(ARN).build()),
        describe_rule(View::ours(ClusterState::Creating, "v1")),
        describe_rule(View::ours(ClusterState::Failed, "v1")),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let err = create(&c).await.unwrap_err();

    assert_error(&err, ErrorClass::Fatal, "InsufficientCapacity");
    all_used(&rules);
}

#[tokio::test]
async fn create_resumes_our_cluster_from_an_earlier_attempt() {
    let rules = [
        list_rule(vec![View::ours(ClusterState::Creating, "v1")]),
        describe_rule(View::ours(ClusterState::Creating, "v1")),
        describe_rule(View::ours(ClusterState::Active, "v1")),
        // Reconciled (everything in line: no update call).
        describe_rule(View::ours(ClusterState::Active, "v1")),
        bootstrap_rule(),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let out = create(&c).await.unwrap();

    assert_eq!(out, outputs(ARN, BROKERS));
    all_used(&rules);
}

#[tokio::test]
async fn create_replaces_our_failed_cluster_and_refuses_a_foreign_one() {
    let foreign = ours_with(ClusterState::Active, "v1", |v| v.tags = THEIRS);
    let rules = [
        list_rule(vec![View::ours(ClusterState::Failed, "v1")]),
        describe_rule(View::ours(ClusterState::Failed, "v1")),
        describe_rule(View::ours(ClusterState::Failed, "v1")),
        mock!(Client::delete_cluster)
            .match_requests(|r| r.cluster_arn() == Some(ARN))
            .then_output(|| DeleteClusterOutput::builder().build()),
        describe_missing(),
        mock!(Client::create_cluster_v2)
            .then_output(|| CreateClusterV2Output::builder().cluster_arn(ARN).build()),
        describe_rule(View::ours(ClusterState::Active, "v1")),
        bootstrap_rule(),
        list_rule(vec![foreign.clone()]),
        describe_rule(foreign),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let out = create(&c).await.unwrap();
    assert_eq!(out, outputs(ARN, BROKERS));

    let err = create(&c).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "stack `staging`");
    all_used(&rules);
}

#[tokio::test]
async fn find_adopts_only_our_cluster_of_that_exact_name() {
    let longer = View {
        arn: "arn:aws:kafka:eu-west-1:111122223333:cluster/prod-events-2/uuid-2",
        name: "prod-events-2",
        ..View::ours(ClusterState::Active, "v1")
    };
    let foreign = ours_with(ClusterState::Active, "v1", |v| v.tags = THEIRS);
    let rules = [
        list_rule(vec![longer, View::ours(ClusterState::Active, "v1")]),
        describe_rule(View::ours(ClusterState::Active, "v1")),
        bootstrap_rule(),
        list_rule(vec![foreign.clone()]),
        describe_rule(foreign),
        list_rule(vec![]),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let r = resource(&spec());

    assert_eq!(
        MskClusterDriver.find(&c, &r).await.unwrap(),
        Some(outputs(ARN, BROKERS))
    );
    let err = MskClusterDriver.find(&c, &r).await.unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "stack `staging`");
    assert_eq!(MskClusterDriver.find(&c, &r).await.unwrap(), None);
    all_used(&rules);
}

#[tokio::test]
async fn find_waits_out_deleting_and_creating_clusters_and_skips_failed_ones() {
    let rules = [
        list_rule(vec![View::ours(ClusterState::Deleting, "v1")]),
        describe_rule(View::ours(ClusterState::Deleting, "v1")),
        describe_rule(View::ours(ClusterState::Deleting, "v1")),
        describe_missing(),
        list_rule(vec![View::ours(ClusterState::Failed, "v1")]),
        describe_rule(View::ours(ClusterState::Failed, "v1")),
        list_rule(vec![View::ours(ClusterState::Creating, "v1")]),
        describe_rule(View::ours(ClusterState::Creating, "v1")),
        describe_rule(View::ours(ClusterState::Creating, "v1")),
        describe_rule(View::ours(ClusterState::Active, "v1")),
        bootstrap_rule(),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let r = resource(&spec());

    assert_eq!(MskClusterDriver.find(&c, &r).await.unwrap(), None);
    assert_eq!(MskClusterDriver.find(&c, &r).await.unwrap(), None);
    assert_eq!(
        MskClusterDriver.find(&c, &r).await.unwrap(),
        Some(outputs(ARN, BROKERS))
    );
    all_used(&rules);
}

#[tokio::test]
async fn update_reconciles_every_field_one_operation_at_a_time() {
    let mut want = spec();
    want.kafka_version = "3.7.x".into();
    want.configuration_revision = 2.into();
    want.instance_type = "kafka.m5.xlarge".into();
    want.broker_count = 6;
    want.volume_size_gb = 200;
    let before = ours_with(ClusterState::Active, "v1", |v| {
        v.kafka = "3.6.0";
        v.tags = &[
            (TAG_STACK, "prod"),
            (TAG_LOGICAL_ID, "events"),
            ("old", "x"),
        ];
    });
    let v2 = View {
        version: "v2",
        kafka: "3.7.x",
        revision: 2,
        ..before.clone()
    };
    let v3 = View {
        version: "v3",
        instance_type: "kafka.m5.xlarge",
        ..v2.clone()
    };
    let v4 = View {
        version: "v4",
        count: 6,
        ..v3.clone()
    };
    let v5 = View {
        version: "v5",
        volume: 200,
        ..v4.clone()
    };
    let (tagged, see_tag) = recorder::<TagResourceInput>();
    let (untagged, see_untag) = recorder::<UntagResourceInput>();
    let (upgraded, see_upgrade) = recorder::<UpdateClusterKafkaVersionInput>();
    let (retyped, see_type) = recorder::<UpdateBrokerTypeInput>();
    let (grown, see_count) = recorder::<UpdateBrokerCountInput>();
    let (stored, see_storage) = recorder::<UpdateBrokerStorageInput>();
    let rules = [
        describe_rule(before.clone()),
        ok_rule!(Client::tag_resource(see_tag) -> TagResourceOutput),
        ok_rule!(Client::untag_resource(see_untag) -> UntagResourceOutput),
        mock!(Client::update_cluster_kafka_version)
            .match_requests(see_upgrade)
            .then_output(|| {
                UpdateClusterKafkaVersionOutput::builder()
                    .cluster_operation_arn("op-1")
                    .build()
            }),
        describe_rule(View {
            state: ClusterState::Updating,
            ..before.clone()
        }),
        describe_rule(v2),
        ok_rule!(Client::update_broker_type(see_type) -> UpdateBrokerTypeOutput),
        describe_rule(v3),
        ok_rule!(Client::update_broker_count(see_count) -> UpdateBrokerCountOutput),
        describe_rule(v4),
        ok_rule!(Client::update_broker_storage(see_storage) -> UpdateBrokerStorageOutput),
        describe_rule(v5),
        bootstrap_rule(),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let prior = state(&spec(), outputs(ARN, "old-brokers"), OURS);

    let out = MskClusterDriver
        .update(&c, &prior, &resource(&want), Changed(&[]))
        .await
        .unwrap();

    assert_eq!(out, outputs(ARN, BROKERS));
    all_used(&rules);
    let tagged = tagged.lock().unwrap();
    assert_eq!(tagged[0].resource_arn(), Some(ARN));
    assert_eq!(
        tagged[0].tags(),
        Some(&HashMap::from([("team".to_string(), "data".to_string())]))
    );
    assert_eq!(untagged.lock().unwrap()[0].tag_keys(), ["old"]);
    let upgraded = upgraded.lock().unwrap();
    assert_eq!(upgraded[0].cluster_arn(), Some(ARN));
    assert_eq!(upgraded[0].current_version(), Some("v1"));
    assert_eq!(upgraded[0].target_kafka_version(), Some("3.7.x"));
    let conf = upgraded[0].configuration_info().unwrap();
    assert_eq!((conf.arn(), conf.revision()), (Some(CONF), Some(2)));
    let retyped = retyped.lock().unwrap();
    assert_eq!(retyped[0].current_version(), Some("v2"));
    assert_eq!(retyped[0].target_instance_type(), Some("kafka.m5.xlarge"));
    let grown = grown.lock().unwrap();
    assert_eq!(grown[0].current_version(), Some("v3"));
    assert_eq!(grown[0].target_number_of_broker_nodes(), Some(6));
    let stored = stored.lock().unwrap();
    assert_eq!(stored[0].current_version(), Some("v4"));
    let volume = &stored[0].target_broker_ebs_volume_info()[0];
    assert_eq!(volume.kafka_broker_node_id(), Some("All"));
    assert_eq!(volume.volume_size_gb(), Some(200));
}

#[tokio::test]
async fn update_of_the_configuration_sends_update_cluster_configuration() {
    let mut want = spec();
    want.configuration_revision = 2.into();
    let (seen, see) = recorder::<UpdateClusterConfigurationInput>();
    let rules = [
        describe_rule(View::ours(ClusterState::Active, "v1")),
        ok_rule!(Client::update_cluster_configuration(see) -> UpdateClusterConfigurationOutput),
        describe_rule(ours_with(ClusterState::Active, "v2", |v| v.revision = 2)),
        bootstrap_rule(),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    update(&c, &want, &["configuration_revision"])
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].cluster_arn(), Some(ARN));
    assert_eq!(seen[0].current_version(), Some("v1"));
    let conf = seen[0].configuration_info().unwrap();
    assert_eq!((conf.arn(), conf.revision()), (Some(CONF), Some(2)));
    all_used(&rules);
}

#[tokio::test]
async fn client_broker_encryption_changes_in_place_with_update_security() {
    use aws_sdk_kafka::operation::update_security::{UpdateSecurityInput, UpdateSecurityOutput};
    let mut want = spec();
    want.client_broker_encryption = ClientBrokerEncryption::TlsPlaintext;
    let (seen, see) = recorder::<UpdateSecurityInput>();
    let rules = [
        describe_rule(View::ours(ClusterState::Active, "v1")),
        ok_rule!(Client::update_security(see) -> UpdateSecurityOutput),
        describe_rule(View::ours(ClusterState::Updating, "v1")),
        describe_rule(ours_with(ClusterState::Active, "v2", |v| {
            v.client_broker = ClientBroker::TlsPlaintext
        })),
        bootstrap_rule(),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let out = update(&c, &want, &["client_broker_encryption"])
        .await
        .unwrap();

    assert_eq!(out.arn, ARN, "the same cluster");
    all_used(&rules);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].cluster_arn(), Some(ARN));
        assert_eq!(seen[0].current_version(), Some("v1"));
        let transit = seen[0]
            .encryption_info()
            .and_then(|e| e.encryption_in_transit())
            .unwrap();
        assert_eq!(transit.client_broker(), Some(&ClientBroker::TlsPlaintext));
        // In-cluster encryption cannot change: it is not sent.
        assert_eq!(transit.in_cluster(), None);
        assert!(seen[0].client_authentication().is_none());
    }

    // Already in line (a resumed update): nothing is sent.
    let rules = [describe_rule(ours_with(ClusterState::Active, "v2", |v| {
        v.client_broker = ClientBroker::TlsPlaintext
    }))];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    update(&c, &want, &["client_broker_encryption"])
        .await
        .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn update_of_the_kafka_version_alone_keeps_the_configuration() {
    let mut want = spec();
    want.kafka_version = "3.7.x".into();
    let (seen, see) = recorder::<UpdateClusterKafkaVersionInput>();
    let rules = [
        describe_rule(View::ours(ClusterState::Active, "v1")),
        ok_rule!(Client::update_cluster_kafka_version(see) -> UpdateClusterKafkaVersionOutput),
        describe_rule(ours_with(ClusterState::Active, "v2", |v| v.kafka = "3.7.x")),
        bootstrap_rule(),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    update(&c, &want, &["kafka_version"]).await.unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].target_kafka_version(), Some("3.7.x"));
    assert!(seen[0].configuration_info().is_none());
    all_used(&rules);
}

#[tokio::test]
async fn update_waits_for_a_running_operation_before_its_own() {
    let mut want = spec();
    want.broker_count = 6;
    let (seen, see) = recorder::<UpdateBrokerCountInput>();
    let rules = [
        describe_rule(View::ours(ClusterState::Updating, "v1")),
        describe_rule(View::ours(ClusterState::Updating, "v1")),
        describe_rule(View::ours(ClusterState::Active, "v2")),
        ok_rule!(Client::update_broker_count(see) -> UpdateBrokerCountOutput),
        describe_rule(View::ours(ClusterState::Updating, "v2")),
        describe_rule(ours_with(ClusterState::Active, "v3", |v| v.count = 6)),
        bootstrap_rule(),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    update(&c, &want, &["broker_count"]).await.unwrap();

    assert_eq!(seen.lock().unwrap()[0].current_version(), Some("v2"));
    all_used(&rules);
}

#[tokio::test]
async fn update_refuses_to_shrink_brokers_or_storage_naming_the_field() {
    let mut fewer = spec();
    fewer.broker_count = 3;
    let mut smaller = spec();
    smaller.volume_size_gb = 50;
    let rules = [
        describe_rule(ours_with(ClusterState::Active, "v1", |v| v.count = 6)),
        describe_rule(View::ours(ClusterState::Active, "v1")),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let err = update(&c, &fewer, &["broker_count"]).await.unwrap_err();
    assert_error(&err, ErrorClass::Invalid, "broker_count");

    let err = update(&c, &smaller, &["volume_size_gb"]).await.unwrap_err();
    assert_error(&err, ErrorClass::Invalid, "volume_size_gb");
    all_used(&rules);
}

#[tokio::test]
async fn update_with_everything_in_line_makes_no_change() {
    let rules = [describe_rule(View::ours(ClusterState::Active, "v1"))];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let out = update(&c, &spec(), &[]).await.unwrap();

    assert_eq!(out, outputs(ARN, BROKERS));
    all_used(&rules);
}

#[tokio::test]
async fn update_of_tags_removes_only_the_tags_we_set_before() {
    let rules = [
        describe_rule(ours_with(ClusterState::Active, "v1", |v| {
            v.tags = &[
                (TAG_STACK, "prod"),
                (TAG_LOGICAL_ID, "events"),
                ("team", "data"),
                ("old", "x"),
                ("added-elsewhere", "y"),
            ]
        })),
        mock!(Client::untag_resource)
            .match_requests(|r| r.resource_arn() == Some(ARN) && r.tag_keys() == ["old"])
            .then_output(|| UntagResourceOutput::builder().build()),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let mut prior_tags = OURS.to_vec();
    prior_tags.push(("old", "x"));
    let prior = state(&spec(), outputs(ARN, BROKERS), &prior_tags);

    let out = MskClusterDriver
        .update(&c, &prior, &resource(&spec()), Changed(&["tags".into()]))
        .await
        .unwrap();

    assert_eq!(out, prior.outputs);
    all_used(&rules);
}

#[tokio::test]
async fn update_reports_an_operation_that_failed() {
    let mut want = spec();
    want.instance_type = "kafka.m5.xlarge".into();
    let rules = [
        describe_rule(View::ours(ClusterState::Active, "v1")),
        mock!(Client::update_broker_type).then_output(|| {
            UpdateBrokerTypeOutput::builder()
                .cluster_operation_arn("op-1")
                .build()
        }),
        describe_rule(View::ours(ClusterState::Active, "v1")),
        mock!(Client::describe_cluster_operation)
            .match_requests(|r| r.cluster_operation_arn() == Some("op-1"))
            .then_output(|| {
                DescribeClusterOperationOutput::builder()
                    .cluster_operation_info(
                        ClusterOperationInfo::builder()
                            .operation_state("UPDATE_FAILED")
                            .error_info(
                                ErrorInfo::builder()
                                    .error_code("InsufficientCapacity")
                                    .error_string("no m5.xlarge")
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            }),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    let err = update(&c, &want, &["instance_type"]).await.unwrap_err();

    assert_error(
        &err,
        ErrorClass::Fatal,
        "UpdateBrokerType failed: InsufficientCapacity",
    );
    all_used(&rules);
}

#[tokio::test]
async fn delete_waits_for_a_running_operation_then_until_gone() {
    let (seen, see) = recorder::<DeleteClusterInput>();
    let rules = [
        describe_rule(View::ours(ClusterState::Updating, "v1")),
        describe_rule(View::ours(ClusterState::Active, "v2")),
        mock!(Client::delete_cluster)
            .match_requests(see)
            .then_output(|| {
                DeleteClusterOutput::builder()
                    .cluster_arn(ARN)
                    .state(ClusterState::Deleting)
                    .build()
            }),
        describe_rule(View::ours(ClusterState::Deleting, "v2")),
        describe_rule(View::ours(ClusterState::Deleting, "v2")),
        describe_missing(),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());

    MskClusterDriver
        .delete(&c, &state(&spec(), outputs(ARN, BROKERS), OURS))
        .await
        .unwrap();

    assert_eq!(seen.lock().unwrap()[0].cluster_arn(), Some(ARN));
    all_used(&rules);
}

#[tokio::test]
async fn delete_of_a_gone_cluster_succeeds() {
    let rules = [
        describe_missing(),
        describe_rule(View::ours(ClusterState::Active, "v1")),
        mock!(Client::delete_cluster)
            .then_error(|| DeleteClusterError::generic(meta("NotFoundException"))),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let prior = state(&spec(), outputs(ARN, BROKERS), OURS);

    MskClusterDriver.delete(&c, &prior).await.unwrap();
    MskClusterDriver.delete(&c, &prior).await.unwrap();
    all_used(&rules);
}

/// What the executor does for a create whose end was not recorded: `find` (which
/// waits for a cluster still being created), then `delete` what it found,
/// recorded with the found outputs; someone else's cluster is never found.
#[tokio::test]
async fn delete_without_outputs_deletes_only_our_cluster_of_that_name() {
    let foreign = ours_with(ClusterState::Active, "v1", |v| v.tags = THEIRS);
    let rules = [
        list_rule(vec![View::ours(ClusterState::Creating, "v1")]),
        describe_rule(View::ours(ClusterState::Creating, "v1")),
        describe_rule(View::ours(ClusterState::Active, "v1")),
        bootstrap_rule(),
        describe_rule(View::ours(ClusterState::Active, "v1")),
        mock!(Client::delete_cluster)
            .match_requests(|r| r.cluster_arn() == Some(ARN))
            .then_output(|| DeleteClusterOutput::builder().build()),
        describe_missing(),
        list_rule(vec![foreign.clone()]),
        describe_rule(foreign),
    ];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let r = resource(&spec());

    delete_found(&MskClusterDriver, &c, &r).await;
    let err = MskClusterDriver.find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    all_used(&rules);
}

/// The cluster of `view` as ListClustersV2 lists it, every field `spec()` sets
/// included: its subnets in another order than the spec's.
fn listed(view: &View) -> Cluster {
    let mut cl = view.build();
    let p = cl.provisioned.as_mut().unwrap();
    let nodes = p.broker_node_group_info.as_mut().unwrap();
    nodes.client_subnets = Some(vec![
        "subnet-c".into(),
        "subnet-a".into(),
        "subnet-b".into(),
    ]);
    nodes.security_groups = Some(vec!["sg-1".into()]);
    p.encryption_info = Some(
        aws_sdk_kafka::types::EncryptionInfo::builder()
            .encryption_at_rest(
                aws_sdk_kafka::types::EncryptionAtRest::builder()
                    .data_volume_kms_key_id(KMS)
                    .build(),
            )
            .encryption_in_transit(
                aws_sdk_kafka::types::EncryptionInTransit::builder()
                    .client_broker(ClientBroker::Tls)
                    .in_cluster(true)
                    .build(),
            )
            .build(),
    );
    cl
}

/// ListClustersV2 of the whole region, answering `clusters`; each request recorded.
fn list_all(
    clusters: Vec<Cluster>,
) -> (
    test_support::Seen<aws_sdk_kafka::operation::list_clusters_v2::ListClustersV2Input>,
    Rule,
) {
    let (seen, see) = recorder();
    let rule = mock!(Client::list_clusters_v2)
        .match_requests(see)
        .then_output(move || {
            ListClustersV2Output::builder()
                .set_cluster_info_list(Some(clusters.clone()))
                .build()
        });
    (seen, rule)
}

#[tokio::test]
async fn observe_lists_every_cluster_of_the_region_once_with_its_tags() {
    const NEW_ARN: &str = "arn:aws:kafka:eu-west-1:111122223333:cluster/new-events/uuid-2";
    const NEW: &[(&str, &str)] = &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "new")];
    const OLD: &[(&str, &str)] = &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "old")];
    // Grown outside glinfra.
    let grown = listed(&ours_with(ClusterState::Active, "v2", |v| v.count = 6));
    let theirs = listed(&ours_with(ClusterState::Active, "v1", |v| {
        v.arn = "arn:aws:kafka:eu-west-1:111122223333:cluster/staging-events/uuid-3";
        v.tags = THEIRS;
    }));
    let going = listed(&ours_with(ClusterState::Deleting, "v1", |v| v.tags = OLD));
    // Ours, state does not know it, still being created, with MSK's default
    // configuration: no brokers yet, and not readable whole.
    let mut new = listed(&ours_with(ClusterState::Creating, "v1", |v| {
        v.arn = NEW_ARN;
        v.name = "new-events";
        v.tags = NEW;
    }));
    let software = new
        .provisioned
        .as_mut()
        .unwrap()
        .current_broker_software_info
        .as_mut()
        .unwrap();
    software.configuration_arn = None;
    software.configuration_revision = None;
    let (asked, list) = list_all(vec![grown, theirs, going, new]);
    let rules = [list, bootstrap_rule()];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let scope = test_support::scope(
        "prod",
        REGION,
        vec![state(&spec(), outputs(ARN, BROKERS), OURS)],
    );

    let live = MskClusterDriver.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(asked.lock().unwrap()[0].cluster_name_filter(), None);
    let ids: Vec<&str> = live.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        ids,
        ["events", "new"],
        "another stack's and a deleting one dropped"
    );
    assert_eq!(live[0].outputs, outputs(ARN, BROKERS));
    assert_eq!(live[0].tags, tag_map(OURS));
    let mut expected = spec();
    expected.broker_count = 6;
    assert_eq!(live[0].spec.as_ref().unwrap(), &expected, "the live count");
    assert_eq!(live[1].outputs, outputs(NEW_ARN, ""));
    assert!(live[1].spec.is_none());
    all_used(&rules);
}

#[tokio::test]
async fn observe_of_an_unchanged_cluster_reads_exactly_the_recorded_spec() {
    // The key named by an alias: MSK reports the key's ARN.
    let mut by_alias = spec();
    by_alias.kms_key_arn = "alias/msk".into();
    let (_, list) = list_all(vec![listed(&View::ours(ClusterState::Active, "v1"))]);
    let rules = [list, bootstrap_rule()];
    let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
    let scope = test_support::scope(
        "prod",
        REGION,
        vec![state(&by_alias, outputs(ARN, BROKERS), OURS)],
    );

    let live = MskClusterDriver.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&by_alias).unwrap()
    );
    all_used(&rules);
}
