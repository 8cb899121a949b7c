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
//! - **update** ([`super::cluster_update`]) describes the cluster and calls, one at a
//!   time, only what differs: UpdateClusterKafkaVersion, UpdateClusterConfiguration,
//!   UpdateBrokerType, UpdateBrokerCount, UpdateBrokerStorage (each with the
//!   cluster's CurrentVersion, on an ACTIVE cluster, waiting for ACTIVE and a new
//!   CurrentVersion afterwards), and tags with TagResource/UntagResource. Broker
//!   count and storage only grow: a decrease is rejected before any call is made.
//! - **delete** waits out a running operation, calls DeleteCluster and waits until
//!   the cluster is gone.
//! - **observe** (refresh) lists every cluster of the region with its tags
//!   (ListClustersV2) and keeps the stack's; the bootstrap brokers, an output, take
//!   GetBootstrapBrokers per cluster.

use super::cluster_update::{converge, Actual};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::read;
use crate::kit::wait::{self, Poll, POLL};
use crate::kit::{
    ensure_owned, required, resolved, resolved_all, resolved_str, tags, Absent, Changed, Desired,
    Recorded,
};
use async_trait::async_trait;
use aws_sdk_kafka::types::{
    BrokerNodeGroupInfo, ClientBroker, Cluster, ClusterState, ConfigurationInfo, EbsStorageInfo,
    EncryptionAtRest, EncryptionInTransit, EncryptionInfo, ProvisionedRequest, StorageInfo,
};
use aws_sdk_kafka::Client;
use glinfra_core::spec::msk::{
    iam_arn_prefix, ClientBrokerEncryption, MskClusterOutputs, MskClusterSpec,
};
use glinfra_core::{Declared, Input};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// How long a new cluster may take to become ACTIVE.
const CREATE_DEADLINE: Duration = Duration::from_secs(90 * 60);
/// How long one update operation (or the one running before it) may take.
pub(super) const UPDATE_DEADLINE: Duration = Duration::from_secs(90 * 60);
/// How long a deleted cluster may take to go away.
const DELETE_DEADLINE: Duration = Duration::from_secs(90 * 60);

/// The driver of `aws:msk/cluster`.
pub(crate) struct MskClusterDriver;

/// The spec with its inputs resolved.
pub(super) struct Target {
    /// Cluster name.
    pub name: String,
    /// Kafka version.
    pub kafka_version: String,
    /// Number of brokers.
    pub broker_count: i32,
    /// Broker instance type.
    pub instance_type: String,
    /// Client subnet ids.
    pub client_subnets: Vec<String>,
    /// Security group ids.
    pub security_groups: Vec<String>,
    /// EBS volume per broker, GiB.
    pub volume_size_gb: i32,
    /// Configuration ARN.
    pub configuration_arn: String,
    /// Configuration revision.
    pub configuration_revision: i64,
    /// KMS key for encryption at rest.
    pub kms_key_arn: String,
    /// Encryption between clients and brokers.
    pub client_broker: ClientBrokerEncryption,
}

impl Target {
    /// The resolved spec of `spec`.
    pub fn of(spec: &MskClusterSpec) -> Result<Target, ProviderError> {
        Ok(Target {
            name: spec.name.clone(),
            kafka_version: spec.kafka_version.clone(),
            broker_count: spec.broker_count,
            instance_type: spec.instance_type.clone(),
            client_subnets: resolved_all(&spec.client_subnets, "client_subnets")?,
            security_groups: resolved_all(&spec.security_groups, "security_groups")?,
            volume_size_gb: spec.volume_size_gb,
            configuration_arn: resolved_str(&spec.configuration_arn, "configuration_arn")?
                .to_string(),
            configuration_revision: *resolved(
                &spec.configuration_revision,
                "configuration_revision",
            )?,
            kms_key_arn: resolved_str(&spec.kms_key_arn, "kms_key_arn")?.to_string(),
            client_broker: spec.client_broker_encryption,
        })
    }

    /// The configuration and revision to run.
    pub fn configuration(&self) -> ConfigurationInfo {
        ConfigurationInfo::builder()
            .arn(&self.configuration_arn)
            .revision(self.configuration_revision)
            .build()
    }

    pub(super) fn client_broker(&self) -> ClientBroker {
        match self.client_broker {
            ClientBrokerEncryption::Tls => ClientBroker::Tls,
            ClientBrokerEncryption::TlsPlaintext => ClientBroker::TlsPlaintext,
            ClientBrokerEncryption::Plaintext => ClientBroker::Plaintext,
        }
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
                            .client_broker(self.client_broker())
                            .in_cluster(true)
                            .build(),
                    )
                    .build(),
            )
            .build()
    }
}

/// The state of `cl`, for messages.
pub(super) fn state_name(cl: &Cluster) -> String {
    cl.state()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The tags of `cl`.
pub(super) fn tags_of(cl: &Cluster) -> BTreeMap<String, String> {
    tags::from_map(cl.tags())
}

fn arn_of(cl: &Cluster) -> Result<&str, ProviderError> {
    required(cl.cluster_arn(), "MSK cluster ARN")
}

/// The error of a cluster that is FAILED, with MSK's reason.
pub(super) fn failed(name: &str, cl: &Cluster) -> ProviderError {
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

/// The error of a cluster that went away while it was waited for (Retryable: the
/// executor tries the call again).
pub(super) fn vanished(name: &str, arn: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::Retryable,
        format!("MSK cluster `{name}` ({arn}) disappeared while being waited for"),
    )
}

/// Fails unless `cl` carries `r`'s ownership tags.
fn ensure_ours(r: &Desired<MskClusterSpec>, arn: &str, cl: &Cluster) -> Result<(), ProviderError> {
    let what = format!("MSK cluster `{}` ({arn})", r.spec.name);
    ensure_owned(&what, &tags_of(cl), r)
}

/// DescribeClusterV2; `None` when there is no such cluster.
pub(super) async fn describe(kafka: &Client, arn: &str) -> Result<Option<Cluster>, ProviderError> {
    let out = kafka
        .describe_cluster_v2()
        .cluster_arn(arn)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeClusterV2 {arn}"), e))
        .or_absent()?;
    Ok(out.and_then(|o| o.cluster_info().cloned()))
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
        Some(listed) => describe(kafka, arn_of(listed)?).await,
        None => Ok(None),
    }
}

/// Waits until the cluster's state satisfies `ready`; FAILED is an error, and a
/// cluster that went away ends the wait with a Retryable error.
pub(super) async fn wait_for(
    kafka: &Client,
    name: &str,
    arn: &str,
    what: &str,
    deadline: Duration,
    ready: fn(&ClusterState) -> bool,
) -> Result<Cluster, ProviderError> {
    wait::until(
        &format!("MSK cluster `{name}` {what}"),
        deadline,
        POLL,
        || async {
            let Some(cl) = describe(kafka, arn).await? else {
                return Ok(Poll::Ready(Err(vanished(name, arn))));
            };
            match cl.state() {
                Some(ClusterState::Failed) => Err(failed(name, &cl)),
                Some(s) if ready(s) => Ok(Poll::Ready(Ok(cl))),
                _ => Ok(Poll::Pending(state_name(&cl))),
            }
        },
    )
    .await?
}

/// True for ACTIVE.
pub(super) fn is_active(s: &ClusterState) -> bool {
    *s == ClusterState::Active
}

fn is_created(s: &ClusterState) -> bool {
    *s != ClusterState::Creating
}

/// The TLS bootstrap broker string (empty for a PLAINTEXT-only cluster, which has none).
pub(super) async fn bootstrap_tls(kafka: &Client, arn: &str) -> Result<String, ProviderError> {
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

/// The outputs of the cluster `arn`.
pub(super) async fn outputs(kafka: &Client, arn: &str) -> Result<MskClusterOutputs, ProviderError> {
    Ok(MskClusterOutputs {
        bootstrap_brokers_tls: bootstrap_tls(kafka, arn).await?,
        ..arn_outputs(arn)
    })
}

/// The outputs known from the cluster's ARN alone (no brokers yet).
fn arn_outputs(arn: &str) -> MskClusterOutputs {
    MskClusterOutputs {
        arn: arn.to_string(),
        bootstrap_brokers_tls: String::new(),
        topic_arn_prefix: iam_arn_prefix(arn, "topic"),
        group_arn_prefix: iam_arn_prefix(arn, "group"),
    }
}

/// The clusters of `arns` MSK knows, by ARN, in one round of a shared poll:
/// DescribeClusterV2 of one, or ListClustersV2 of the region (all pages) for
/// several ([`wait::one_or_all`]).
async fn describe_arns(
    kafka: &Client,
    arns: Vec<String>,
) -> Result<HashMap<String, Cluster>, ProviderError> {
    wait::one_or_all(
        arns,
        Cluster::cluster_arn,
        |arn| async move { describe(kafka, &arn).await },
        || async { crate::kit::all_items!(kafka.list_clusters_v2(), "ListClustersV2") },
    )
    .await
}

/// Polls the cluster `arn` of `region` through the shared poll of the region's
/// clusters ([`describe_arns`]).
async fn wait_shared<T>(
    c: &Clients,
    (region, name, arn): (&str, &str, &str),
    what: &str,
    deadline: Duration,
    check: impl Fn(Option<Cluster>) -> Result<Poll<T>, ProviderError>,
) -> Result<T, ProviderError> {
    let kafka = c.kafka(region);
    let describe = |arns| describe_arns(&kafka, arns);
    let what = format!("MSK cluster `{name}` {what}");
    let place = (MskClusterSpec::KIND, region, arn);
    wait::until_shared(c, place, &what, deadline, describe, check).await
}

/// Waits until the cluster `arn`, just created, is ACTIVE, through the shared poll
/// of its region (a cluster not visible yet is waited for); FAILED is an error.
async fn wait_created(
    c: &Clients,
    region: &str,
    name: &str,
    arn: &str,
) -> Result<(), ProviderError> {
    let check = |cl: Option<Cluster>| {
        let Some(cl) = cl else {
            return Ok(Poll::Pending("not visible yet".into()));
        };
        match cl.state() {
            Some(ClusterState::Failed) => Err(failed(name, &cl)),
            Some(ClusterState::Active) => Ok(Poll::Ready(())),
            _ => Ok(Poll::Pending(state_name(&cl))),
        }
    };
    wait_shared(c, (region, name, arn), "creation", CREATE_DEADLINE, check).await
}

/// Waits until the cluster `arn` is gone, through the shared poll of its region.
async fn wait_gone(c: &Clients, region: &str, name: &str, arn: &str) -> Result<(), ProviderError> {
    let check = |cl: Option<Cluster>| {
        Ok(match cl {
            None => Poll::Ready(()),
            Some(cl) => Poll::Pending(state_name(&cl)),
        })
    };
    wait_shared(c, (region, name, arn), "deletion", DELETE_DEADLINE, check).await
}

/// Deletes the cluster (after any running operation) and waits until it is gone.
async fn delete_cluster(
    c: &Clients,
    region: &str,
    name: &str,
    arn: &str,
) -> Result<(), ProviderError> {
    let kafka = &c.kafka(region);
    // MSK refuses to delete a cluster while an operation runs on it.
    let settled = wait::until(
        &format!("MSK cluster `{name}` operation before deletion"),
        UPDATE_DEADLINE,
        POLL,
        || async {
            Ok(match describe(kafka, arn).await? {
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
        let deleted = kafka
            .delete_cluster()
            .cluster_arn(arn)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteCluster {arn}"), e));
        match deleted {
            Ok(_) => {}
            Err(err) if err.class == ErrorClass::NotFound => return Ok(()),
            // Its only argument is the ARN: refused for the cluster's state
            // (an operation started meanwhile).
            Err(err) if err.has_code(&["BadRequestException"]) => {
                return Err(err.reclassified(ErrorClass::Retryable, "an operation runs on it"))
            }
            Err(err) => return Err(err),
        }
    }
    wait_gone(c, region, name, arn).await
}

/// What the provisioned cluster `cl` is as a spec; lists in the `recorded` order
/// when they hold the same items, the KMS key as the record names it. A value MSK
/// does not report is taken from the record; `None` when there is none to take it
/// from (a cluster without a custom configuration, a serverless one).
fn live_spec(cl: &Cluster, recorded: Option<&MskClusterSpec>) -> Option<MskClusterSpec> {
    let p = cl.provisioned();
    let nodes = p.and_then(|p| p.broker_node_group_info());
    let encryption = p.and_then(|p| p.encryption_info());
    let actual = Actual::of(cl);
    let client_broker = encryption
        .and_then(|e| e.encryption_in_transit())
        .and_then(|t| t.client_broker())
        .and_then(|b| match b {
            ClientBroker::Tls => Some(ClientBrokerEncryption::Tls),
            ClientBroker::TlsPlaintext => Some(ClientBrokerEncryption::TlsPlaintext),
            ClientBroker::Plaintext => Some(ClientBrokerEncryption::Plaintext),
            _ => None,
        });
    let key = encryption
        .and_then(|e| e.encryption_at_rest())
        .and_then(|e| e.data_volume_kms_key_id());
    let (configuration_arn, revision) = actual.configuration;
    Some(MskClusterSpec {
        name: cl.cluster_name().unwrap_or_default().to_string(),
        kafka_version: actual
            .kafka_version
            .or(recorded.map(|r| r.kafka_version.clone()))?,
        broker_count: actual.broker_count.or(recorded.map(|r| r.broker_count))?,
        instance_type: actual
            .instance_type
            .or(recorded.map(|r| r.instance_type.clone()))?,
        client_subnets: read::ids(
            nodes
                .map(|n| n.client_subnets())
                .unwrap_or_default()
                .iter()
                .map(String::as_str),
            recorded.map(|r| r.client_subnets.as_slice()),
        ),
        security_groups: read::ids(
            nodes
                .map(|n| n.security_groups())
                .unwrap_or_default()
                .iter()
                .map(String::as_str),
            recorded.map(|r| r.security_groups.as_slice()),
        ),
        volume_size_gb: actual
            .volume_size_gb
            .or(recorded.map(|r| r.volume_size_gb))?,
        configuration_arn: configuration_arn
            .map(Input::Value)
            .or(recorded.map(|r| r.configuration_arn.clone()))?,
        configuration_revision: revision
            .map(Input::Value)
            .or(recorded.map(|r| r.configuration_revision.clone()))?,
        kms_key_arn: read::key(recorded.map(|r| &r.kms_key_arn), key)
            .or(recorded.map(|r| r.kms_key_arn.clone()))?,
        client_broker_encryption: client_broker.or(recorded.map(|r| r.client_broker_encryption))?,
    })
}

#[async_trait]
impl Driver for MskClusterDriver {
    type Spec = MskClusterSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<MskClusterSpec>,
    ) -> Result<Option<MskClusterOutputs>, ProviderError> {
        let name = r.spec.name.as_str();
        let kafka = c.kafka(&r.region);
        let Some(cl) = lookup(&kafka, name).await? else {
            return Ok(None);
        };
        let arn = arn_of(&cl)?;
        if cl.state() == Some(&ClusterState::Deleting) {
            wait_gone(c, &r.region, name, arn).await?;
            return Ok(None);
        }
        ensure_ours(r, arn, &cl)?;
        match cl.state() {
            // Not adopted: `create` deletes it and makes a new one.
            Some(ClusterState::Failed) => Ok(None),
            Some(ClusterState::Creating) => {
                wait_for(&kafka, name, arn, "creation", CREATE_DEADLINE, is_created).await?;
                outputs(&kafka, arn).await.map(Some)
            }
            _ => outputs(&kafka, arn).await.map(Some),
        }
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<MskClusterSpec>,
    ) -> Result<MskClusterOutputs, ProviderError> {
        let d = Target::of(&r.spec)?;
        let kafka = c.kafka(&r.region);
        let tags = r.owned_tags();

        // The name may be taken already: by our own earlier attempt (its wait timed out,
        // or the run was killed before recording it), resumed here; by a failed or
        // departing cluster, which goes first; or by someone else's cluster.
        if let Some(cl) = lookup(&kafka, &d.name).await? {
            let arn = arn_of(&cl)?;
            match cl.state() {
                Some(ClusterState::Deleting) => wait_gone(c, &r.region, &d.name, arn).await?,
                _ => {
                    ensure_ours(r, arn, &cl)?;
                    if cl.state() == Some(&ClusterState::Failed) {
                        tracing::warn!(cluster = %d.name, "deleting our FAILED MSK cluster before making it again");
                        delete_cluster(c, &r.region, &d.name, arn).await?;
                    } else {
                        wait_for(&kafka, &d.name, arn, "creation", CREATE_DEADLINE, is_active)
                            .await?;
                        converge(&kafka, arn, &d, &tags, &BTreeMap::new(), Changed(&[])).await?;
                        return outputs(&kafka, arn).await;
                    }
                }
            }
        }

        let out = kafka
            .create_cluster_v2()
            .cluster_name(&d.name)
            .set_tags(Some(tags::to_map(&tags)))
            .provisioned(d.provisioned())
            .send()
            .await
            .map_err(|e| {
                let err = classify(&format!("CreateClusterV2 {}", d.name), e);
                if err.has_code(&["ConflictException"]) {
                    // Made meanwhile (by us or anyone): the retry's lookup sorts it out.
                    err.reclassified(ErrorClass::Retryable, "the retry looks it up")
                } else {
                    err
                }
            })?;
        let arn = required(out.cluster_arn(), "CreateClusterV2 cluster ARN")?;
        wait_created(c, &r.region, &d.name, arn).await?;
        outputs(&kafka, arn).await
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<MskClusterSpec>,
        r: &Desired<MskClusterSpec>,
        changed: Changed<'_>,
    ) -> Result<MskClusterOutputs, ProviderError> {
        let d = Target::of(&r.spec)?;
        let kafka = c.kafka(&r.region);
        let arn = prior.outputs.arn.as_str();
        if converge(&kafka, arn, &d, &r.owned_tags(), &prior.tags, changed).await? {
            outputs(&kafka, arn).await
        } else {
            Ok(prior.outputs.clone())
        }
    }

    /// ListClustersV2 (one call per page: every cluster of the region, with its
    /// tags), the stack's kept by their tags; then GetBootstrapBrokers of each of
    /// them, for the outputs.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<MskClusterSpec>,
    ) -> Result<Option<Vec<Live<MskClusterSpec>>>, ProviderError> {
        let kafka = c.kafka(&scope.region);
        let clusters: Vec<Cluster> =
            crate::kit::all_items!(kafka.list_clusters_v2(), "ListClustersV2")?;
        let mut live = Vec::new();
        for cl in clusters {
            let tags = tags_of(&cl);
            let Some(id) = scope.owned(&tags) else {
                continue;
            };
            if matches!(
                cl.state(),
                Some(ClusterState::Deleting | ClusterState::Failed)
            ) {
                continue;
            }
            let arn = arn_of(&cl)?;
            let recorded = scope.recorded(&id);
            let outputs = match (cl.state(), recorded) {
                // Being created: no brokers yet.
                (Some(ClusterState::Creating), Some(r)) => r.outputs.clone(),
                (Some(ClusterState::Creating), None) => arn_outputs(arn),
                _ => match outputs(&kafka, arn).await.or_absent()? {
                    Some(out) => out,
                    // Gone since it was listed: not there.
                    None => continue,
                },
            };
            live.push(Live {
                spec: live_spec(&cl, recorded.map(|r| &r.spec)),
                outputs,
                tags,
                id,
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<MskClusterSpec>,
    ) -> Result<(), ProviderError> {
        delete_cluster(c, &prior.region, &prior.spec.name, &prior.outputs.arn).await
    }
}
