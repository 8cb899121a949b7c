//! Amazon MSK: configurations and provisioned clusters.

use super::closed_set;
use crate::input::Input;
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

closed_set! {
    /// How clients and brokers talk (MSK `EncryptionInTransit.ClientBroker`).
    ClientBrokerEncryption, "client-broker encryption" {
        /// TLS only.
        Tls = "TLS",
        /// TLS and plaintext.
        TlsPlaintext = "TLS_PLAINTEXT",
        /// Plaintext only.
        Plaintext = "PLAINTEXT",
    }
}

/// An MSK configuration (server properties).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:msk/configuration", outputs(arn: String, latest_revision: i64))]
#[resource(untagged)]
pub struct MskConfigurationSpec {
    #[resource(replace, unique)]
    /// Name. Forces replacement.
    pub name: String,
    #[resource(replace)]
    /// Kafka versions it applies to. Forces replacement.
    pub kafka_versions: Vec<String>,
    /// Server properties (UpdateConfiguration makes a new revision).
    pub server_properties: BTreeMap<String, String>,
}

impl ResourceSpec for MskConfigurationSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        crate::names::MSK_CONFIGURATION.check(cx, "name", &self.name);
        let offered = &crate::offers::offers().msk.kafka_versions;
        for version in self.kafka_versions.iter().filter(|v| !offered.contains(v)) {
            cx.error(
                "kafka_versions",
                crate::offers::not_offered("Kafka version", version, offered),
            );
        }
    }
}

/// The ARN prefix of a cluster's topics (`kind` `topic`) or consumer groups
/// (`group`) in IAM policies, from the cluster's ARN: `arn:...:cluster/NAME/UUID`
/// gives `arn:...:topic/NAME/UUID` (MSK Developer Guide, "IAM access control":
/// resources). Add `/<topic>` (or `/*`) to name topics.
pub fn iam_arn_prefix(cluster_arn: &str, kind: &str) -> String {
    cluster_arn.replacen(":cluster/", &format!(":{kind}/"), 1)
}

/// A provisioned MSK cluster with TLS in transit and KMS at rest. Outputs: its ARN,
/// its TLS bootstrap brokers, and the ARN prefixes of its topics and consumer groups
/// for IAM policies ([`iam_arn_prefix`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:msk/cluster", outputs(arn: String, bootstrap_brokers_tls: String, topic_arn_prefix: String, group_arn_prefix: String))]
pub struct MskClusterSpec {
    #[resource(replace, unique)]
    /// Name. Forces replacement.
    pub name: String,
    #[resource(change_rule = crate::spec::rules::upgrade_only)]
    /// Kafka version (UpdateClusterKafkaVersion, upgrades only: a downgrade is
    /// refused in the plan).
    pub kafka_version: String,
    /// Brokers, a multiple of the subnet count (UpdateBrokerCount, increase only).
    pub broker_count: i32,
    /// Broker instance type (UpdateBrokerType).
    pub instance_type: String,
    #[resource(replace)]
    /// Client subnets, one per zone. Forces replacement.
    pub client_subnets: Vec<Input<String>>,
    #[resource(replace)]
    /// Security groups. Forces replacement.
    pub security_groups: Vec<Input<String>>,
    /// EBS storage per broker in GiB (UpdateBrokerStorage, increase only).
    pub volume_size_gb: i32,
    /// The configuration ARN (UpdateClusterConfiguration).
    pub configuration_arn: Input<String>,
    /// The configuration revision (UpdateClusterConfiguration): the configuration's
    /// `latest_revision` output, or a revision number.
    #[serde(deserialize_with = "revision_input")]
    pub configuration_revision: Input<i64>,
    #[resource(replace)]
    /// KMS key for encryption at rest. Forces replacement.
    pub kms_key_arn: Input<String>,
    /// `TLS`, `TLS_PLAINTEXT` or `PLAINTEXT` between clients and brokers
    /// (UpdateSecurity; only in-cluster encryption and the at-rest key cannot change).
    pub client_broker_encryption: ClientBrokerEncryption,
}

/// `configuration_revision` from JSON: a number or an output reference. A string of
/// digits is read as its number: states recorded before the revision was typed hold
/// it as a string, and so do the configurations' `latest_revision` outputs recorded
/// then, which resolve into this field.
fn revision_input<'de, D: Deserializer<'de>>(d: D) -> Result<Input<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Revision {
        Input(Input<i64>),
        Text(String),
    }
    match Revision::deserialize(d)? {
        Revision::Input(input) => Ok(input),
        Revision::Text(text) => text.trim().parse().map(Input::Value).map_err(|_| {
            serde::de::Error::custom(format!(
                "configuration_revision must be a revision number, got `{text}`"
            ))
        }),
    }
}

/// MSK API Reference, BrokerNodeGroupInfo `ClientSubnets`: "If you use the US West
/// (N. California) Region, specify exactly two subnets. For other Regions where
/// Amazon MSK is available, you can specify either two or three subnets. The
/// subnets that you specify must be in distinct Availability Zones."
const CLIENT_SUBNETS: &str = "two or three client subnets in distinct availability zones (MSK, BrokerNodeGroupInfo: \"you can specify either two or three subnets\")";

/// MSK API Reference, EBSStorageInfo `VolumeSize`: "The size in GiB of the EBS volume
/// for the data drive on each broker node", 1 to 16384.
const MAX_VOLUME_GIB: i32 = 16384;

impl MskClusterSpec {
    /// Subnets, brokers per zone and storage per broker. MSK API Reference,
    /// BrokerNodeGroupInfo: "Amazon MSK distributes the broker nodes evenly across the
    /// Availability Zones that correspond to the subnets you provide", so the broker
    /// count is a non-zero multiple of the subnet count.
    fn check_brokers(&self, cx: &mut SpecCheck<'_>) {
        let subnets = self.client_subnets.len() as i32;
        let most = if cx.region() == "us-west-1" { 2 } else { 3 };
        if !(2..=most).contains(&subnets) {
            cx.error(
                "client_subnets",
                format!(
                    "{subnets} client subnets: MSK needs {CLIENT_SUBNETS}{}",
                    if most == 2 {
                        ", exactly two in us-west-1"
                    } else {
                        ""
                    }
                ),
            );
        } else if self.broker_count < subnets || self.broker_count % subnets != 0 {
            cx.error(
                "broker_count",
                format!(
                    "{} brokers over {subnets} client subnets: the count must be a multiple of the {subnets} subnets, at least one broker in each (MSK, BrokerNodeGroupInfo: \"Amazon MSK distributes the broker nodes evenly across the Availability Zones that correspond to the subnets you provide\")",
                    self.broker_count
                ),
            );
        }
        if !(1..=MAX_VOLUME_GIB).contains(&self.volume_size_gb) {
            cx.error(
                "volume_size_gb",
                format!(
                    "{} GiB: a broker's EBS volume has 1 to {MAX_VOLUME_GIB} GiB (MSK, EBSStorageInfo VolumeSize: \"The size in GiB of the EBS volume for the data drive on each broker node\", 1 to 16384)",
                    self.volume_size_gb
                ),
            );
        }
    }
}

impl ResourceSpec for MskClusterSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        crate::names::MSK_CLUSTER.check(cx, "name", &self.name);
        // MSK Developer Guide, "Supported Apache Kafka versions"; a configuration
        // applies only to the Kafka versions it lists.
        let offered = &crate::offers::offers().msk.kafka_versions;
        if !offered.contains(&self.kafka_version) {
            cx.error(
                "kafka_version",
                crate::offers::not_offered("Kafka version", &self.kafka_version, offered),
            );
        } else if let Some(config) = cx
            .referenced(&self.configuration_arn)
            .and_then(|d| d.spec::<MskConfigurationSpec>().ok())
        {
            if !config.kafka_versions.contains(&self.kafka_version) {
                cx.error(
                    "configuration_arn",
                    format!(
                        "the configuration `{}` applies to Kafka {}, not to this cluster's {}",
                        config.name,
                        config.kafka_versions.join(", "),
                        self.kafka_version
                    ),
                );
            }
        }
        self.check_brokers(cx);
        if !self.instance_type.starts_with("kafka.") {
            cx.error(
                "instance_type",
                format!("unknown broker type `{}`", self.instance_type),
            );
        }
        if let Some(revision) = self.configuration_revision.value() {
            if *revision < 1 {
                cx.error(
                    "configuration_revision",
                    format!("must be a revision number (1 or more), got {revision}"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encryption_serialises_as_the_api_string_and_revisions_read_old_strings() {
        assert_eq!(
            json!(ClientBrokerEncryption::TlsPlaintext),
            json!("TLS_PLAINTEXT")
        );
        assert_eq!(
            serde_json::from_value::<ClientBrokerEncryption>(json!("PLAINTEXT")).unwrap(),
            ClientBrokerEncryption::Plaintext
        );
        let read = |v| revision_input(v).map_err(|e: serde_json::Error| e.to_string());
        assert_eq!(read(json!(3)), Ok(Input::Value(3)));
        assert_eq!(read(json!("3")), Ok(Input::Value(3)));
        let reference = json!({"$output": {"resource": "conf", "output": "latest_revision"}});
        assert_eq!(
            read(reference),
            Ok(Input::output("conf", "latest_revision"))
        );
        let err = read(json!("latest")).unwrap_err();
        assert!(err.contains("configuration_revision"), "{err}");
    }
}
