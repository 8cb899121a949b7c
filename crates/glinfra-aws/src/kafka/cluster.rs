//! The MSK provisioned cluster driver.
//!
//! - **find** lists clusters by name (ListClustersV2 with a name filter, which is a
//!   prefix), keeps the exact match, and reads its tags from DescribeClusterV2. A
//!   cluster being deleted is waited out (then `None`); someone else's is an
//!   AlreadyExists error; a FAILED one of ours is not adopted (create deletes it and
//!   makes a new one); one still CREATING is waited for, since its bootstrap brokers
//!   are only known afterwards.
//! - **create** first looks for the name too, so a create retried after its wait
//!   timed out resumes the cluster it made instead of failing on the name. Then
//!   CreateClusterV2 with every tag, a wait for ACTIVE, and GetBootstrapBrokers.
//! - **update** describes the cluster and calls, one at a time, only what differs:
//!   UpdateClusterKafkaVersion, UpdateClusterConfiguration, UpdateBrokerType,
//!   UpdateBrokerCount, UpdateBrokerStorage (each with the cluster's CurrentVersion,
//!   on an ACTIVE cluster, waiting for ACTIVE and a new CurrentVersion afterwards),
//!   and tags with TagResource/UntagResource. Broker count and storage only grow:
//!   a decrease is rejected before any call is made.
//! - **delete** waits out a running operation, calls DeleteCluster and waits until
//!   the cluster is gone.

use super::{from_state, owned, owner_of, resolved, POLL};
use crate::clients::Clients;
use crate::error::classify;
use crate::wait::{self, Poll};
use aws_sdk_kafka::error::SdkError;
use aws_sdk_kafka::types::{
    BrokerEbsVolumeInfo, BrokerNodeGroupInfo, ClientBroker, Cluster, ClusterState,
    ConfigurationInfo, EbsStorageInfo, EncryptionAtRest, EncryptionInTransit, EncryptionInfo,
    ProvisionedRequest, StorageInfo,
};
use aws_sdk_kafka::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::spec::msk::MskClusterSpec;
use glinfra_core::ResourceState;
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// How long a new cluster may take to become ACTIVE.
const CREATE_DEADLINE: Duration = Duration::from_secs(90 * 60);
/// How long one update operation (or the one running before it) may take.
const UPDATE_DEADLINE: Duration = Duration::from_secs(90 * 60);
/// How long a deleted cluster may take to go away.
const DELETE_DEADLINE: Duration = Duration::from_secs(90 * 60);

fn code_of<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<String> {
    e.code().map(str::to_owned)
}

/// The spec with its inputs resolved and its revision parsed.
struct Desired {
    name: String,
    kafka_version: String,
    broker_count: i32,
    instance_type: String,
    client_subnets: Vec<String>,
    security_groups: Vec<String>,
    volume_size_gb: i32,
    configuration_arn: String,
    configuration_revision: i64,
    kms_key_arn: String,
    client_broker: String,
}

impl Desired {
    fn of(r: &ResolvedResource) -> Result<Desired, ProviderError> {
        let spec: MskClusterSpec = r.spec()?;
        let list = |inputs: &[glinfra_core::Input<String>], field: &str| {
            inputs
                .iter()
                .map(|i| resolved(i, field).map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()
        };
        let revision = resolved(&spec.configuration_revision, "configuration_revision")?;
        let configuration_revision = revision.parse::<i64>().map_err(|_| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!(
                    "MSK cluster `{}`: configuration_revision must be a revision number, got `{revision}`",
                    spec.name
                ),
            )
        })?;
        Ok(Desired {
            kafka_version: spec.kafka_version.clone(),
            broker_count: spec.broker_count,
            instance_type: spec.instance_type.clone(),
            client_subnets: list(&spec.client_subnets, "client_subnets")?,
            security_groups: list(&spec.security_groups, "security_groups")?,
            volume_size_gb: spec.volume_size_gb,
            configuration_arn: resolved(&spec.configuration_arn, "configuration_arn")?.to_string(),
            configuration_revision,
            kms_key_arn: resolved(&spec.kms_key_arn, "kms_key_arn")?.to_string(),
            client_broker: spec.client_broker_encryption.clone(),
            name: spec.name,
        })
    }

    fn configuration(&self) -> ConfigurationInfo {
        ConfigurationInfo::builder()
            .arn(&self.configuration_arn)
            .revision(self.configuration_revision)
            .build()
    }

    fn provisioned(&self) -> ProvisionedRequest {
        ProvisionedRequest::builder()
            .kafka_version(&self.kafka_version)
            .number_of_broker_nodes(self.broker_count)
            .broker_node_group_info(
                BrokerNodeGroupInfo::builder()
                    .instance_type(&self.instance_type)
                    .set_client_subnets(Some(self.client_subnets.clone()))
                    .set_security_groups(Some(self.security_groups.clone()))
                    .storage_info(
                        StorageInfo::builder()
                            .ebs_storage_info(
                                EbsStorageInfo::builder()
                                    .volume_size(self.volume_size_gb)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .configuration_info(self.configuration())
            .encryption_info(
                EncryptionInfo::builder()
                    .encryption_at_rest(
                        EncryptionAtRest::builder()
                            .data_volume_kms_key_id(&self.kms_key_arn)
                            .build(),
                    )
                    .encryption_in_transit(
                        EncryptionInTransit::builder()
                            .client_broker(ClientBroker::from(self.client_broker.as_str()))
                            .in_cluster(true)
                            .build(),
                    )
                    .build(),
            )
            .build()
    }
}

fn outputs(arn: &str, bootstrap_tls: &str) -> Outputs {
    let mut out = Outputs::new();
    out.insert("arn".into(), Value::String(arn.to_string()));
    out.insert(
        "bootstrap_brokers_tls".into(),
        Value::String(bootstrap_tls.to_string()),
    );
    out
}

fn state_name(cl: &Cluster) -> String {
    cl.state()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn tags_of(cl: &Cluster) -> BTreeMap<String, String> {
    cl.tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn arn_of(cl: &Cluster) -> Result<String, ProviderError> {
    cl.cluster_arn().map(str::to_owned).ok_or_else(|| {
        ProviderError::new(ErrorClass::Fatal, "an MSK cluster description has no ARN")
    })
}

fn failed(name: &str, cl: &Cluster) -> ProviderError {
    let why = cl
        .state_info()
        .map(|i| {
            format!(
                ": {}: {}",
                i.code().unwrap_or("no code"),
                i.message().unwrap_or("no message")
            )
        })
        .unwrap_or_default();
    ProviderError::new(
        ErrorClass::Fatal,
        format!("MSK cluster `{name}` is FAILED{why}"),
    )
}

fn taken(name: &str, arn: &str, tags: &BTreeMap<String, String>) -> ProviderError {
    ProviderError::new(
        ErrorClass::AlreadyExists,
        format!(
            "MSK cluster `{name}` already exists ({arn}) and belongs to {}",
            owner_of(tags)
        ),
    )
}

fn gone(name: &str, arn: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::Retryable,
        format!("MSK cluster `{name}` ({arn}) disappeared while being waited for"),
    )
}

/// DescribeClusterV2; `None` when there is no such cluster.
async fn describe(kafka: &Client, arn: &str) -> Result<Option<Cluster>, ProviderError> {
    match kafka.describe_cluster_v2().cluster_arn(arn).send().await {
        Ok(out) => Ok(out.cluster_info().cloned()),
        Err(e) => {
            let err = classify(&format!("DescribeClusterV2 {arn}"), e);
            if err.class == ErrorClass::NotFound {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// The cluster named exactly `name` (one not being deleted preferred), described.
async fn lookup(kafka: &Client, name: &str) -> Result<Option<Cluster>, ProviderError> {
    let mut matches: Vec<Cluster> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = kafka
            .list_clusters_v2()
            .cluster_name_filter(name)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| classify(&format!("ListClustersV2 {name}"), e))?;
        matches.extend(
            page.cluster_info_list()
                .iter()
                .filter(|c| c.cluster_name() == Some(name))
                .cloned(),
        );
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    matches.sort_by_key(|c| c.state() == Some(&ClusterState::Deleting));
    match matches.first() {
        Some(listed) => describe(kafka, &arn_of(listed)?).await,
        None => Ok(None),
    }
}

/// Polls DescribeClusterV2 until `check` is ready.
async fn watch<T, F>(
    kafka: &Client,
    arn: &str,
    what: &str,
    deadline: Duration,
    check: F,
) -> Result<T, ProviderError>
where
    F: Fn(Option<Cluster>) -> Result<Poll<T>, ProviderError>,
{
    let check = &check;
    wait::until(what, deadline, POLL, move || async move {
        check(describe(kafka, arn).await?)
    })
    .await
}

/// Waits until the cluster's state satisfies `ready`; FAILED is an error.
async fn wait_for(
    kafka: &Client,
    name: &str,
    arn: &str,
    what: &str,
    deadline: Duration,
    ready: fn(&ClusterState) -> bool,
) -> Result<Cluster, ProviderError> {
    watch(
        kafka,
        arn,
        &format!("MSK cluster `{name}` {what}"),
        deadline,
        |cl| match cl {
            None => Err(gone(name, arn)),
            Some(cl) => match cl.state() {
                Some(ClusterState::Failed) => Err(failed(name, &cl)),
                Some(s) if ready(s) => Ok(Poll::Ready(cl)),
                _ => Ok(Poll::Pending(state_name(&cl))),
            },
        },
    )
    .await
}

fn is_active(s: &ClusterState) -> bool {
    *s == ClusterState::Active
}

fn is_created(s: &ClusterState) -> bool {
    *s != ClusterState::Creating
}

/// The TLS bootstrap broker string (empty for a PLAINTEXT-only cluster, which has none).
async fn bootstrap_tls(kafka: &Client, arn: &str) -> Result<String, ProviderError> {
    let out = kafka
        .get_bootstrap_brokers()
        .cluster_arn(arn)
        .send()
        .await
        .map_err(|e| classify(&format!("GetBootstrapBrokers {arn}"), e))?;
    Ok(out
        .bootstrap_broker_string_tls()
        .unwrap_or_default()
        .to_string())
}

pub(super) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: MskClusterSpec = r.spec()?;
    let kafka = c.kafka(&r.region);
    let Some(cl) = lookup(&kafka, &spec.name).await? else {
        return Ok(None);
    };
    let arn = arn_of(&cl)?;
    if cl.state() == Some(&ClusterState::Deleting) {
        wait_gone(&kafka, &spec.name, &arn).await?;
        return Ok(None);
    }
    let tags = tags_of(&cl);
    if !owned(&tags, &r.stack, &r.id) {
        return Err(taken(&spec.name, &arn, &tags));
    }
    match cl.state() {
        // Not adopted: `create` deletes it and makes a new one.
        Some(ClusterState::Failed) => Ok(None),
        Some(ClusterState::Creating) => {
            wait_for(
                &kafka,
                &spec.name,
                &arn,
                "creation",
                CREATE_DEADLINE,
                is_created,
            )
            .await?;
            Ok(Some(outputs(&arn, &bootstrap_tls(&kafka, &arn).await?)))
        }
        _ => Ok(Some(outputs(&arn, &bootstrap_tls(&kafka, &arn).await?))),
    }
}

pub(super) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let d = Desired::of(r)?;
    let kafka = c.kafka(&r.region);

    // The name may be taken already: by our own earlier attempt (its wait timed out,
    // or the run was killed before recording it), resumed here; by a failed or
    // departing cluster, which goes first; or by someone else's cluster.
    if let Some(cl) = lookup(&kafka, &d.name).await? {
        let arn = arn_of(&cl)?;
        let tags = tags_of(&cl);
        match cl.state() {
            Some(ClusterState::Deleting) => wait_gone(&kafka, &d.name, &arn).await?,
            _ if !owned(&tags, &r.stack, &r.id) => return Err(taken(&d.name, &arn, &tags)),
            Some(ClusterState::Failed) => {
                tracing::warn!(cluster = %d.name, "deleting our FAILED MSK cluster before making it again");
                delete_cluster(&kafka, &d.name, &arn).await?;
            }
            _ => {
                wait_for(
                    &kafka,
                    &d.name,
                    &arn,
                    "creation",
                    CREATE_DEADLINE,
                    is_active,
                )
                .await?;
                converge(&kafka, &arn, &d, &r.tags, None, &[]).await?;
                return Ok(outputs(&arn, &bootstrap_tls(&kafka, &arn).await?));
            }
        }
    }

    let tags: HashMap<String, String> = r.tags.clone().into_iter().collect();
    let out = kafka
        .create_cluster_v2()
        .cluster_name(&d.name)
        .set_tags(Some(tags))
        .provisioned(d.provisioned())
        .send()
        .await
        .map_err(|e| {
            let code = code_of(&e);
            let mut err = classify(&format!("CreateClusterV2 {}", d.name), e);
            if code.as_deref() == Some("ConflictException") {
                // Made meanwhile (by us or anyone): the retry's lookup sorts it out.
                err.class = ErrorClass::Retryable;
            }
            err
        })?;
    let arn = out.cluster_arn().map(str::to_owned).ok_or_else(|| {
        ProviderError::new(ErrorClass::Fatal, "CreateClusterV2 returned no cluster ARN")
    })?;
    wait_for(
        &kafka,
        &d.name,
        &arn,
        "creation",
        CREATE_DEADLINE,
        is_active,
    )
    .await?;
    Ok(outputs(&arn, &bootstrap_tls(&kafka, &arn).await?))
}

/// One MSK update operation.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    KafkaVersion {
        version: String,
        configuration: Option<ConfigurationInfo>,
    },
    Configuration(ConfigurationInfo),
    BrokerType(String),
    BrokerCount(i32),
    Storage(i32),
}

impl Step {
    fn call(&self) -> &'static str {
        match self {
            Step::KafkaVersion { .. } => "UpdateClusterKafkaVersion",
            Step::Configuration(_) => "UpdateClusterConfiguration",
            Step::BrokerType(_) => "UpdateBrokerType",
            Step::BrokerCount(_) => "UpdateBrokerCount",
            Step::Storage(_) => "UpdateBrokerStorage",
        }
    }
}

/// What the cluster has now, as far as our spec goes.
struct Actual {
    kafka_version: Option<String>,
    configuration: (Option<String>, Option<i64>),
    instance_type: Option<String>,
    broker_count: Option<i32>,
    volume_size_gb: Option<i32>,
}

impl Actual {
    fn of(cl: &Cluster) -> Actual {
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
        }
    }
}

/// The next operation to run (each kind at most once per update), in an order that
/// keeps every intermediate state valid: the Kafka version first (with the new
/// configuration, which may need the new version), then the configuration, the
/// broker type, the broker count and the storage.
fn next_step(
    actual: &Actual,
    d: &Desired,
    wants: &dyn Fn(&str) -> bool,
    done: &BTreeSet<&'static str>,
) -> Option<Step> {
    let want_conf = wants("configuration_arn") || wants("configuration_revision");
    let conf_differs = actual.configuration
        != (
            Some(d.configuration_arn.clone()),
            Some(d.configuration_revision),
        );
    let steps = [
        (wants("kafka_version")
            && actual.kafka_version.as_deref() != Some(d.kafka_version.as_str()))
        .then(|| Step::KafkaVersion {
            version: d.kafka_version.clone(),
            configuration: (want_conf && conf_differs).then(|| d.configuration()),
        }),
        (want_conf && conf_differs).then(|| Step::Configuration(d.configuration())),
        (wants("instance_type")
            && actual.instance_type.as_deref() != Some(d.instance_type.as_str()))
        .then(|| Step::BrokerType(d.instance_type.clone())),
        (wants("broker_count") && actual.broker_count != Some(d.broker_count))
            .then_some(Step::BrokerCount(d.broker_count)),
        (wants("volume_size_gb") && actual.volume_size_gb != Some(d.volume_size_gb))
            .then_some(Step::Storage(d.volume_size_gb)),
    ];
    steps
        .into_iter()
        .flatten()
        .find(|s| !done.contains(s.call()))
}

/// Broker count and storage can only grow in place.
fn check_growth(
    actual: &Actual,
    d: &Desired,
    wants: &dyn Fn(&str) -> bool,
) -> Result<(), ProviderError> {
    if let Some(now) = actual.broker_count {
        if wants("broker_count") && d.broker_count < now {
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
        if wants("volume_size_gb") && d.volume_size_gb < now {
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
    let op = match step {
        Step::KafkaVersion {
            version: target,
            configuration,
        } => kafka
            .update_cluster_kafka_version()
            .cluster_arn(arn)
            .current_version(version)
            .target_kafka_version(target)
            .set_configuration_info(configuration.clone())
            .send()
            .await
            .map_err(|e| classify(&what, e))?
            .cluster_operation_arn()
            .map(str::to_owned),
        Step::Configuration(info) => kafka
            .update_cluster_configuration()
            .cluster_arn(arn)
            .current_version(version)
            .configuration_info(info.clone())
            .send()
            .await
            .map_err(|e| classify(&what, e))?
            .cluster_operation_arn()
            .map(str::to_owned),
        Step::BrokerType(instance_type) => kafka
            .update_broker_type()
            .cluster_arn(arn)
            .current_version(version)
            .target_instance_type(instance_type)
            .send()
            .await
            .map_err(|e| classify(&what, e))?
            .cluster_operation_arn()
            .map(str::to_owned),
        Step::BrokerCount(count) => kafka
            .update_broker_count()
            .cluster_arn(arn)
            .current_version(version)
            .target_number_of_broker_nodes(*count)
            .send()
            .await
            .map_err(|e| classify(&what, e))?
            .cluster_operation_arn()
            .map(str::to_owned),
        Step::Storage(size) => kafka
            .update_broker_storage()
            .cluster_arn(arn)
            .current_version(version)
            .target_broker_ebs_volume_info(
                BrokerEbsVolumeInfo::builder()
                    .kafka_broker_node_id("All")
                    .volume_size_gb(*size)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify(&what, e))?
            .cluster_operation_arn()
            .map(str::to_owned),
    };
    Ok(op)
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
        move || async move {
            let cl = describe(kafka, arn).await?.ok_or_else(|| gone(name, arn))?;
            match cl.state() {
                Some(ClusterState::Failed) => return Err(failed(name, &cl)),
                Some(ClusterState::Active) if cl.current_version() != Some(old_version) => {
                    return Ok(Poll::Ready(cl))
                }
                Some(ClusterState::Active) => {
                    // ACTIVE at the old version: not started yet, or failed and rolled back.
                    if let Some(op) = operation {
                        let info = kafka
                            .describe_cluster_operation()
                            .cluster_operation_arn(op)
                            .send()
                            .await
                            .map_err(|e| classify(&format!("DescribeClusterOperation {op}"), e))?;
                        let info = info.cluster_operation_info();
                        if info.and_then(|i| i.operation_state()) == Some("UPDATE_FAILED") {
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
                            return Err(ProviderError::new(
                                ErrorClass::Fatal,
                                format!("MSK cluster `{name}`: {call} failed{why}"),
                            ));
                        }
                    }
                }
                _ => {}
            }
            Ok(Poll::Pending(state_name(&cl)))
        },
    )
    .await
}

/// Sets the tags that differ and removes the stale ones: those recorded before
/// (`prior`) and, when reconciling everything (`full`), any other tag the cluster has.
async fn sync_tags(
    kafka: &Client,
    arn: &str,
    cl: &Cluster,
    desired: &BTreeMap<String, String>,
    prior: Option<&BTreeMap<String, String>>,
    full: bool,
) -> Result<(), ProviderError> {
    let actual = tags_of(cl);
    let set: HashMap<String, String> = desired
        .iter()
        .filter(|(k, v)| actual.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut stale: BTreeSet<String> = prior
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    if full {
        stale.extend(actual.keys().cloned());
    }
    // `aws:` tags belong to AWS and cannot be removed.
    stale.retain(|k| !desired.contains_key(k) && actual.contains_key(k) && !k.starts_with("aws:"));
    if !set.is_empty() {
        kafka
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(set))
            .send()
            .await
            .map_err(|e| classify(&format!("TagResource {arn}"), e))?;
    }
    if !stale.is_empty() {
        kafka
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(stale.into_iter().collect()))
            .send()
            .await
            .map_err(|e| classify(&format!("UntagResource {arn}"), e))?;
    }
    Ok(())
}

/// Brings the fields named in `changed` (all when empty) in line; true when an
/// update operation ran (the bootstrap brokers may have changed).
async fn converge(
    kafka: &Client,
    arn: &str,
    d: &Desired,
    tags: &BTreeMap<String, String>,
    prior_tags: Option<&BTreeMap<String, String>>,
    changed: &[String],
) -> Result<bool, ProviderError> {
    let wants = |f: &str| changed.is_empty() || changed.iter().any(|c| c == f);
    let mut cl = describe(kafka, arn).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::NotFound,
            format!("MSK cluster `{}` ({arn}) does not exist", d.name),
        )
    })?;
    // Rejected before anything changes.
    check_growth(&Actual::of(&cl), d, &wants)?;
    if wants("tags") {
        sync_tags(kafka, arn, &cl, tags, prior_tags, changed.is_empty()).await?;
    }
    let mut done = BTreeSet::new();
    let mut ran = false;
    loop {
        if next_step(&Actual::of(&cl), d, &wants, &done).is_none() {
            return Ok(ran);
        }
        // Every update call needs an ACTIVE cluster (no other operation running).
        if cl.state() != Some(&ClusterState::Active) {
            cl = wait_for(kafka, &d.name, arn, "update", UPDATE_DEADLINE, is_active).await?;
        }
        let Some(step) = next_step(&Actual::of(&cl), d, &wants, &done) else {
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

pub(super) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    let d = Desired::of(r)?;
    let kafka = c.kafka(&r.region);
    let arn = prior
        .outputs
        .get("arn")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Fatal,
                format!("MSK cluster `{}`: no arn recorded", r.id),
            )
        })?;
    if converge(&kafka, arn, &d, &r.tags, Some(&prior.tags), changed).await? {
        Ok(outputs(arn, &bootstrap_tls(&kafka, arn).await?))
    } else {
        Ok(prior.outputs.clone())
    }
}

/// Waits until the cluster `arn` is gone.
async fn wait_gone(kafka: &Client, name: &str, arn: &str) -> Result<(), ProviderError> {
    watch(
        kafka,
        arn,
        &format!("MSK cluster `{name}` deletion"),
        DELETE_DEADLINE,
        |cl| {
            Ok(match cl {
                None => Poll::Ready(()),
                Some(cl) => Poll::Pending(state_name(&cl)),
            })
        },
    )
    .await
}

/// Deletes the cluster (after any running operation) and waits until it is gone.
async fn delete_cluster(kafka: &Client, name: &str, arn: &str) -> Result<(), ProviderError> {
    // MSK refuses to delete a cluster while an operation runs on it.
    let settled = watch(
        kafka,
        arn,
        &format!("MSK cluster `{name}` operation before deletion"),
        UPDATE_DEADLINE,
        |cl| {
            Ok(match cl {
                None => Poll::Ready(None),
                Some(cl) => match cl.state() {
                    Some(ClusterState::Updating | ClusterState::RebootingBroker) => {
                        Poll::Pending(state_name(&cl))
                    }
                    _ => Poll::Ready(Some(cl)),
                },
            })
        },
    )
    .await?;
    let Some(cl) = settled else {
        return Ok(());
    };
    if cl.state() != Some(&ClusterState::Deleting) {
        if let Err(e) = kafka.delete_cluster().cluster_arn(arn).send().await {
            let code = code_of(&e);
            let mut err = classify(&format!("DeleteCluster {arn}"), e);
            if err.class == ErrorClass::NotFound {
                return Ok(());
            }
            if code.as_deref() == Some("BadRequestException") {
                // Its only argument is the ARN: refused for the cluster's state
                // (an operation started meanwhile).
                err.class = ErrorClass::Retryable;
            }
            return Err(err);
        }
    }
    wait_gone(kafka, name, arn).await
}

pub(super) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let kafka = c.kafka(&prior.region);
    let name = prior
        .props
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(id)
        .to_string();
    let arn = match prior.outputs.get("arn").and_then(Value::as_str) {
        Some(arn) => arn.to_string(),
        // A create interrupted before it was recorded: delete what it left, if ours.
        None => {
            let r = from_state(id, prior);
            match lookup(&kafka, &name).await? {
                Some(cl) if owned(&tags_of(&cl), &r.stack, &r.id) => arn_of(&cl)?,
                _ => return Ok(()),
            }
        }
    };
    delete_cluster(&kafka, &name, &arn).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{meta, mock_clients, recorder};
    use aws_sdk_kafka::operation::create_cluster_v2::{
        CreateClusterV2Input, CreateClusterV2Output,
    };
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
    use aws_sdk_kafka::operation::update_broker_type::{
        UpdateBrokerTypeInput, UpdateBrokerTypeOutput,
    };
    use aws_sdk_kafka::operation::update_cluster_configuration::{
        UpdateClusterConfigurationInput, UpdateClusterConfigurationOutput,
    };
    use aws_sdk_kafka::operation::update_cluster_kafka_version::{
        UpdateClusterKafkaVersionInput, UpdateClusterKafkaVersionOutput,
    };
    use aws_sdk_kafka::types::{
        BrokerSoftwareInfo, ClusterOperationInfo, ErrorInfo, Provisioned, StateInfo,
    };
    use aws_smithy_mocks::{mock, Rule, RuleMode};
    use glinfra_core::{Input, Kind, TAG_LOGICAL_ID, TAG_STACK};

    const REGION: &str = "eu-west-1";
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

    fn mock_kafka(rules: &[&Rule]) -> Clients {
        mock_clients!(aws_sdk_kafka, "kafka", REGION, RuleMode::Sequential, rules)
    }

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
            configuration_revision: "1".into(),
            kms_key_arn: KMS.into(),
            client_broker_encryption: "TLS".into(),
        }
    }

    fn tag_map(tags: &[(&str, &str)]) -> BTreeMap<String, String> {
        tags.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn resource(spec: &MskClusterSpec) -> ResolvedResource {
        ResolvedResource {
            stack: "prod".into(),
            id: "events".into(),
            kind: Kind::MskCluster,
            region: REGION.into(),
            props: serde_json::to_value(spec).unwrap(),
            tags: tag_map(OURS),
        }
    }

    fn state(spec: &MskClusterSpec, outputs: Outputs, tags: &[(&str, &str)]) -> ResourceState {
        ResourceState {
            kind: Kind::MskCluster,
            region: REGION.into(),
            props: serde_json::to_value(spec).unwrap(),
            tags: tag_map(tags),
            outputs,
            dependencies: Default::default(),
            pending: None,
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
                                            EbsStorageInfo::builder()
                                                .volume_size(self.volume)
                                                .build(),
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

    fn all_called_once(rules: &[Rule]) {
        for (i, rule) in rules.iter().enumerate() {
            assert_eq!(rule.num_calls(), 1, "rule {i}");
        }
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

        let out = create(&c, &resource(&spec())).await.unwrap();

        assert_eq!(out, outputs(ARN, BROKERS));
        let seen = seen.lock().unwrap();
        let req = &seen[0];
        assert_eq!(req.cluster_name(), Some("prod-events"));
        let tags: BTreeMap<String, String> = req
            .tags()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(tags, tag_map(OURS));
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
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn create_rejects_a_revision_that_is_not_a_number_before_any_call() {
        let mut spec = spec();
        spec.configuration_revision = "latest".into();
        let c = mock_kafka(&[]);
        let err = create(&c, &resource(&spec)).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Invalid);
        assert!(
            err.message.contains("configuration_revision"),
            "{}",
            err.message
        );
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

        let err = create(&c, &resource(&spec())).await.unwrap_err();

        assert_eq!(err.class, ErrorClass::Fatal);
        assert!(
            err.message.contains("InsufficientCapacity"),
            "{}",
            err.message
        );
        all_called_once(&rules);
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

        let out = create(&c, &resource(&spec())).await.unwrap();

        assert_eq!(out, outputs(ARN, BROKERS));
        all_called_once(&rules);
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

        let out = create(&c, &resource(&spec())).await.unwrap();
        assert_eq!(out, outputs(ARN, BROKERS));

        let err = create(&c, &resource(&spec())).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::AlreadyExists);
        assert!(err.message.contains("stack `staging`"), "{}", err.message);
        all_called_once(&rules);
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

        assert_eq!(find(&c, &r).await.unwrap(), Some(outputs(ARN, BROKERS)));
        let err = find(&c, &r).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::AlreadyExists);
        assert!(err.message.contains("stack `staging`"), "{}", err.message);
        assert_eq!(find(&c, &r).await.unwrap(), None);
        all_called_once(&rules);
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

        assert_eq!(find(&c, &r).await.unwrap(), None);
        assert_eq!(find(&c, &r).await.unwrap(), None);
        assert_eq!(find(&c, &r).await.unwrap(), Some(outputs(ARN, BROKERS)));
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn update_reconciles_every_field_one_operation_at_a_time() {
        let mut want = spec();
        want.kafka_version = "3.7.x".into();
        want.configuration_revision = "2".into();
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
            mock!(Client::tag_resource)
                .match_requests(see_tag)
                .then_output(|| TagResourceOutput::builder().build()),
            mock!(Client::untag_resource)
                .match_requests(see_untag)
                .then_output(|| UntagResourceOutput::builder().build()),
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
            mock!(Client::update_broker_type)
                .match_requests(see_type)
                .then_output(|| UpdateBrokerTypeOutput::builder().build()),
            describe_rule(v3),
            mock!(Client::update_broker_count)
                .match_requests(see_count)
                .then_output(|| UpdateBrokerCountOutput::builder().build()),
            describe_rule(v4),
            mock!(Client::update_broker_storage)
                .match_requests(see_storage)
                .then_output(|| UpdateBrokerStorageOutput::builder().build()),
            describe_rule(v5),
            bootstrap_rule(),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
        let prior = state(&spec(), outputs(ARN, "old-brokers"), OURS);

        let out = update(&c, &prior, &resource(&want), &[]).await.unwrap();

        assert_eq!(out, outputs(ARN, BROKERS));
        all_called_once(&rules);
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
        want.configuration_revision = "2".into();
        let (seen, see) = recorder::<UpdateClusterConfigurationInput>();
        let rules = [
            describe_rule(View::ours(ClusterState::Active, "v1")),
            mock!(Client::update_cluster_configuration)
                .match_requests(see)
                .then_output(|| UpdateClusterConfigurationOutput::builder().build()),
            describe_rule(ours_with(ClusterState::Active, "v2", |v| v.revision = 2)),
            bootstrap_rule(),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
        let prior = state(&spec(), outputs(ARN, BROKERS), OURS);

        update(
            &c,
            &prior,
            &resource(&want),
            &["configuration_revision".into()],
        )
        .await
        .unwrap();

        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].cluster_arn(), Some(ARN));
        assert_eq!(seen[0].current_version(), Some("v1"));
        let conf = seen[0].configuration_info().unwrap();
        assert_eq!((conf.arn(), conf.revision()), (Some(CONF), Some(2)));
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn update_of_the_kafka_version_alone_keeps_the_configuration() {
        let mut want = spec();
        want.kafka_version = "3.7.x".into();
        let (seen, see) = recorder::<UpdateClusterKafkaVersionInput>();
        let rules = [
            describe_rule(View::ours(ClusterState::Active, "v1")),
            mock!(Client::update_cluster_kafka_version)
                .match_requests(see)
                .then_output(|| UpdateClusterKafkaVersionOutput::builder().build()),
            describe_rule(ours_with(ClusterState::Active, "v2", |v| v.kafka = "3.7.x")),
            bootstrap_rule(),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
        let prior = state(&spec(), outputs(ARN, BROKERS), OURS);

        update(&c, &prior, &resource(&want), &["kafka_version".into()])
            .await
            .unwrap();

        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].target_kafka_version(), Some("3.7.x"));
        assert!(seen[0].configuration_info().is_none());
        all_called_once(&rules);
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
            mock!(Client::update_broker_count)
                .match_requests(see)
                .then_output(|| UpdateBrokerCountOutput::builder().build()),
            describe_rule(View::ours(ClusterState::Updating, "v2")),
            describe_rule(ours_with(ClusterState::Active, "v3", |v| v.count = 6)),
            bootstrap_rule(),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
        let prior = state(&spec(), outputs(ARN, BROKERS), OURS);

        update(&c, &prior, &resource(&want), &["broker_count".into()])
            .await
            .unwrap();

        assert_eq!(seen.lock().unwrap()[0].current_version(), Some("v2"));
        all_called_once(&rules);
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
        let prior = state(&spec(), outputs(ARN, BROKERS), OURS);

        let err = update(&c, &prior, &resource(&fewer), &["broker_count".into()])
            .await
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Invalid);
        assert!(err.message.contains("broker_count"), "{}", err.message);

        let err = update(&c, &prior, &resource(&smaller), &["volume_size_gb".into()])
            .await
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Invalid);
        assert!(err.message.contains("volume_size_gb"), "{}", err.message);
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn update_with_everything_in_line_makes_no_change() {
        let rules = [describe_rule(View::ours(ClusterState::Active, "v1"))];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
        let prior = state(&spec(), outputs(ARN, BROKERS), OURS);

        let out = update(&c, &prior, &resource(&spec()), &[]).await.unwrap();

        assert_eq!(out, prior.outputs);
        all_called_once(&rules);
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

        let out = update(&c, &prior, &resource(&spec()), &["tags".into()])
            .await
            .unwrap();

        assert_eq!(out, prior.outputs);
        all_called_once(&rules);
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
        let prior = state(&spec(), outputs(ARN, BROKERS), OURS);

        let err = update(&c, &prior, &resource(&want), &["instance_type".into()])
            .await
            .unwrap_err();

        assert_eq!(err.class, ErrorClass::Fatal);
        assert!(
            err.message
                .contains("UpdateBrokerType failed: InsufficientCapacity"),
            "{}",
            err.message
        );
        all_called_once(&rules);
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

        delete(&c, "events", &state(&spec(), outputs(ARN, BROKERS), OURS))
            .await
            .unwrap();

        assert_eq!(seen.lock().unwrap()[0].cluster_arn(), Some(ARN));
        all_called_once(&rules);
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

        delete(&c, "events", &prior).await.unwrap();
        delete(&c, "events", &prior).await.unwrap();
        all_called_once(&rules);
    }

    #[tokio::test]
    async fn delete_without_outputs_deletes_only_our_cluster_of_that_name() {
        let foreign = ours_with(ClusterState::Active, "v1", |v| v.tags = THEIRS);
        let rules = [
            list_rule(vec![View::ours(ClusterState::Creating, "v1")]),
            describe_rule(View::ours(ClusterState::Creating, "v1")),
            describe_rule(View::ours(ClusterState::Creating, "v1")),
            mock!(Client::delete_cluster)
                .match_requests(|r| r.cluster_arn() == Some(ARN))
                .then_output(|| DeleteClusterOutput::builder().build()),
            describe_missing(),
            list_rule(vec![foreign.clone()]),
            describe_rule(foreign),
        ];
        let c = mock_kafka(&rules.iter().collect::<Vec<_>>());
        let prior = state(&spec(), Outputs::new(), OURS);

        delete(&c, "events", &prior).await.unwrap();
        delete(&c, "events", &prior).await.unwrap();
        all_called_once(&rules);
    }
}
