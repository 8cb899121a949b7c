//! Updates of an MSK provisioned cluster: one operation at a time.
//!
//! Every update call names the cluster's `CurrentVersion` and needs the cluster
//! ACTIVE (MSK runs one operation at a time), so each call is followed by a wait
//! for the cluster to be ACTIVE again at a new `CurrentVersion`. An operation that
//! fails is rolled back by MSK, which leaves the cluster ACTIVE at the old version:
//! DescribeClusterOperation tells that apart from an operation not yet started.

use super::cluster::{
    describe, failed, is_active, state_name, tags_of, vanished, wait_for, Target, UPDATE_DEADLINE,
};
use crate::error::classify;
use crate::kit::wait::{self, Poll, POLL};
use crate::kit::{tags, Changed};
use aws_sdk_kafka::types::{
    BrokerEbsVolumeInfo, ClientBroker, Cluster, ClusterState, ConfigurationInfo,
    EncryptionInTransit, EncryptionInfo,
};
use aws_sdk_kafka::Client;
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::{BTreeMap, BTreeSet};

/// One MSK update operation.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    KafkaVersion {
        version: String,
        configuration: Option<ConfigurationInfo>,
    },
    Configuration(ConfigurationInfo),
    /// Encryption between clients and brokers (UpdateSecurity).
    Security(ClientBroker),
    BrokerType(String),
    BrokerCount(i32),
    Storage(i32),
}

impl Step {
    fn call(&self) -> &'static str {
        match self {
            Step::KafkaVersion { .. } => "UpdateClusterKafkaVersion",
            Step::Configuration(_) => "UpdateClusterConfiguration",
            Step::Security(_) => "UpdateSecurity",
            Step::BrokerType(_) => "UpdateBrokerType",
            Step::BrokerCount(_) => "UpdateBrokerCount",
            Step::Storage(_) => "UpdateBrokerStorage",
        }
    }
}

/// What the cluster has now, as far as the fields updates change go.
pub(super) struct Actual {
    pub kafka_version: Option<String>,
    /// The configuration's ARN and revision.
    pub configuration: (Option<String>, Option<i64>),
    pub instance_type: Option<String>,
    pub broker_count: Option<i32>,
    pub volume_size_gb: Option<i32>,
    /// Encryption between clients and brokers.
    pub client_broker: Option<ClientBroker>,
}

impl Actual {
    /// What `cl` (as DescribeClusterV2 or ListClustersV2 report it) has now.
    pub fn of(cl: &Cluster) -> Actual {
        let p = cl.provisioned();
        let sw = p.and_then(|p| p.current_broker_software_info());
        let nodes = p.and_then(|p| p.broker_node_group_info());
        Actual {
            kafka_version: sw.and_then(|s| s.kafka_version()).map(str::to_owned),
            configuration: (
                sw.and_then(|s| s.configuration_arn()).map(str::to_owned),
                sw.and_then(|s| s.configuration_revision()),
            ),
            instance_type: nodes.and_then(|n| n.instance_type()).map(str::to_owned),
            broker_count: p.and_then(|p| p.number_of_broker_nodes()),
            volume_size_gb: nodes
                .and_then(|n| n.storage_info())
                .and_then(|s| s.ebs_storage_info())
                .and_then(|e| e.volume_size()),
            client_broker: p
                .and_then(|p| p.encryption_info())
                .and_then(|e| e.encryption_in_transit())
                .and_then(|t| t.client_broker())
                .cloned(),
        }
    }
}

/// The next operation to run (each kind at most once per update), in an order that
/// keeps every intermediate state valid: the Kafka version first (with the new
/// configuration, which may need the new version), then the configuration, the
/// encryption between clients and brokers, the broker type, the broker count and
/// the storage.
fn next_step(
    actual: &Actual,
    d: &Target,
    changed: Changed<'_>,
    done: &BTreeSet<&'static str>,
) -> Option<Step> {
    let want_conf = changed.any(&["configuration_arn", "configuration_revision"]);
    let conf_differs = actual.configuration
        != (
            Some(d.configuration_arn.clone()),
            Some(d.configuration_revision),
        );
    let steps = [
        (changed.has("kafka_version")
            && actual.kafka_version.as_deref() != Some(d.kafka_version.as_str()))
        .then(|| Step::KafkaVersion {
            version: d.kafka_version.clone(),
            configuration: (want_conf && conf_differs).then(|| d.configuration()),
        }),
        (want_conf && conf_differs).then(|| Step::Configuration(d.configuration())),
        (changed.has("client_broker_encryption")
            && actual.client_broker.as_ref() != Some(&d.client_broker()))
        .then(|| Step::Security(d.client_broker())),
        (changed.has("instance_type")
            && actual.instance_type.as_deref() != Some(d.instance_type.as_str()))
        .then(|| Step::BrokerType(d.instance_type.clone())),
        (changed.has("broker_count") && actual.broker_count != Some(d.broker_count))
            .then_some(Step::BrokerCount(d.broker_count)),
        (changed.has("volume_size_gb") && actual.volume_size_gb != Some(d.volume_size_gb))
            .then_some(Step::Storage(d.volume_size_gb)),
    ];
    steps
        .into_iter()
        .flatten()
        .find(|s| !done.contains(s.call()))
}

/// Broker count and storage can only grow in place.
fn check_growth(actual: &Actual, d: &Target, changed: Changed<'_>) -> Result<(), ProviderError> {
    if let Some(now) = actual.broker_count {
        if changed.has("broker_count") && d.broker_count < now {
            return Err(ProviderError::new(
                ErrorClass::Invalid,
                format!(
                    "MSK cluster `{}`: broker_count can only grow in place (the cluster has {now} brokers, the spec asks for {}); replace the cluster to shrink it",
                    d.name, d.broker_count
                ),
            ));
        }
    }
    if let Some(now) = actual.volume_size_gb {
        if changed.has("volume_size_gb") && d.volume_size_gb < now {
            return Err(ProviderError::new(
                ErrorClass::Invalid,
                format!(
                    "MSK cluster `{}`: volume_size_gb can only grow in place (the brokers have {now} GiB, the spec asks for {}); replace the cluster to shrink it",
                    d.name, d.volume_size_gb
                ),
            ));
        }
    }
    Ok(())
}

/// Starts `step` on the cluster at `version`; returns the operation ARN.
async fn run(
    kafka: &Client,
    arn: &str,
    version: &str,
    step: &Step,
) -> Result<Option<String>, ProviderError> {
    let what = format!("{} {arn}", step.call());
    // Every update call names the cluster and its current version and answers with
    // the operation's ARN.
    macro_rules! update {
        ($call:ident $(. $set:ident($value:expr $(,)?))*) => {
            kafka
                .$call()
                .cluster_arn(arn)
                .current_version(version)
                $(.$set($value))*
                .send()
                .await
                .map_err(|e| classify(&what, e))?
                .cluster_operation_arn()
                .map(str::to_owned)
        };
    }
    let op = match step {
        Step::KafkaVersion {
            version: target,
            configuration,
        } => update!(update_cluster_kafka_version
            .target_kafka_version(target)
            .set_configuration_info(configuration.clone())),
        Step::Configuration(info) => {
            update!(update_cluster_configuration.configuration_info(info.clone()))
        }
        // Only the client-broker setting: in-cluster encryption cannot change.
        Step::Security(client_broker) => update!(update_security.encryption_info(
            EncryptionInfo::builder()
                .encryption_in_transit(
                    EncryptionInTransit::builder()
                        .client_broker(client_broker.clone())
                        .build(),
                )
                .build()
        )),
        Step::BrokerType(instance_type) => {
            update!(update_broker_type.target_instance_type(instance_type))
        }
        Step::BrokerCount(count) => {
            update!(update_broker_count.target_number_of_broker_nodes(*count))
        }
        Step::Storage(size) => update!(update_broker_storage.target_broker_ebs_volume_info(
            BrokerEbsVolumeInfo::builder()
                .kafka_broker_node_id("All")
                .volume_size_gb(*size)
                .build()
        )),
    };
    Ok(op)
}

/// The error of `operation` when DescribeClusterOperation reports it UPDATE_FAILED.
async fn operation_failure(
    kafka: &Client,
    name: &str,
    operation: &str,
    call: &str,
) -> Result<Option<ProviderError>, ProviderError> {
    let info = kafka
        .describe_cluster_operation()
        .cluster_operation_arn(operation)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeClusterOperation {operation}"), e))?;
    let info = info.cluster_operation_info();
    if info.and_then(|i| i.operation_state()) != Some("UPDATE_FAILED") {
        return Ok(None);
    }
    let why = info
        .and_then(|i| i.error_info())
        .map(|e| {
            format!(
                ": {}: {}",
                e.error_code().unwrap_or("no code"),
                e.error_string().unwrap_or("no message")
            )
        })
        .unwrap_or_default();
    Ok(Some(ProviderError::new(
        ErrorClass::Fatal,
        format!("MSK cluster `{name}`: {call} failed{why}"),
    )))
}

/// Waits until the operation started at `old_version` has completed: the cluster is
/// ACTIVE with another CurrentVersion. An operation that failed is an error.
async fn wait_update(
    kafka: &Client,
    name: &str,
    arn: &str,
    old_version: &str,
    operation: Option<&str>,
    call: &str,
) -> Result<Cluster, ProviderError> {
    wait::until(
        &format!("MSK cluster `{name}` {call}"),
        UPDATE_DEADLINE,
        POLL,
        || async {
            let Some(cl) = describe(kafka, arn).await? else {
                return Ok(Poll::Ready(Err(vanished(name, arn))));
            };
            match cl.state() {
                Some(ClusterState::Failed) => return Err(failed(name, &cl)),
                Some(ClusterState::Active) if cl.current_version() != Some(old_version) => {
                    return Ok(Poll::Ready(Ok(cl)))
                }
                // ACTIVE at the old version: not started yet, or failed and rolled back.
                Some(ClusterState::Active) => {
                    if let Some(op) = operation {
                        if let Some(err) = operation_failure(kafka, name, op, call).await? {
                            return Err(err);
                        }
                    }
                }
                _ => {}
            }
            Ok(Poll::Pending(state_name(&cl)))
        },
    )
    .await?
}

/// Sets the tags that differ and removes the stale ones ([`tags::reconcile`]): those
/// recorded before (`prior`) and, when reconciling everything (`full`), any other
/// tag the cluster has.
async fn sync_tags(
    kafka: &Client,
    arn: &str,
    cl: &Cluster,
    want: &BTreeMap<String, String>,
    prior: &BTreeMap<String, String>,
    full: bool,
) -> Result<(), ProviderError> {
    let (set, remove) = tags::reconcile(want, prior, Some(&tags_of(cl)), full);
    tags::apply(kafka, arn, &set, &remove).await
}

/// Brings the fields in `changed` of the cluster `arn` in line with `d` and its tags
/// with `want` (removing those recorded in `prior`); true when an update operation
/// ran (the bootstrap brokers may have changed).
pub(super) async fn converge(
    kafka: &Client,
    arn: &str,
    d: &Target,
    want: &BTreeMap<String, String>,
    prior: &BTreeMap<String, String>,
    changed: Changed<'_>,
) -> Result<bool, ProviderError> {
    let mut cl = describe(kafka, arn).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::NotFound,
            format!("MSK cluster `{}` ({arn}) does not exist", d.name),
        )
    })?;
    // Rejected before anything changes.
    check_growth(&Actual::of(&cl), d, changed)?;
    if changed.has("tags") {
        sync_tags(kafka, arn, &cl, want, prior, changed.0.is_empty()).await?;
    }
    let mut done = BTreeSet::new();
    let mut ran = false;
    loop {
        if next_step(&Actual::of(&cl), d, changed, &done).is_none() {
            return Ok(ran);
        }
        // Every update call needs an ACTIVE cluster (no other operation running).
        if cl.state() != Some(&ClusterState::Active) {
            cl = wait_for(kafka, &d.name, arn, "update", UPDATE_DEADLINE, is_active).await?;
        }
        let Some(step) = next_step(&Actual::of(&cl), d, changed, &done) else {
            return Ok(ran);
        };
        let version = cl
            .current_version()
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorClass::Fatal,
                    format!("MSK cluster `{}` reports no CurrentVersion", d.name),
                )
            })?
            .to_string();
        tracing::info!(cluster = %d.name, call = step.call(), "updating MSK cluster");
        let operation = run(kafka, arn, &version, &step).await?;
        ran = true;
        done.insert(step.call());
        cl = wait_update(
            kafka,
            &d.name,
            arn,
            &version,
            operation.as_deref(),
            step.call(),
        )
        .await?;
    }
}
