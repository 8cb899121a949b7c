//! Amazon MSK: configurations and provisioned clusters.

use crate::input::Input;
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An MSK configuration (server properties).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:msk/configuration", outputs(arn: String, latest_revision: i64))]
#[resource(untagged)]
pub struct MskConfigurationSpec {
    #[resource(replace)]
    /// Name. Forces replacement.
    pub name: String,
    #[resource(replace)]
    /// Kafka versions it applies to. Forces replacement.
    pub kafka_versions: Vec<String>,
    /// Server properties (UpdateConfiguration makes a new revision).
    pub server_properties: BTreeMap<String, String>,
}

impl ResourceSpec for MskConfigurationSpec {}

/// A provisioned MSK cluster with TLS in transit and KMS at rest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:msk/cluster", outputs(arn: String, bootstrap_brokers_tls: String))]
pub struct MskClusterSpec {
    #[resource(replace)]
    /// Name. Forces replacement.
    pub name: String,
    /// Kafka version (UpdateClusterKafkaVersion).
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
    /// The configuration revision (UpdateClusterConfiguration).
    pub configuration_revision: Input<String>,
    #[resource(replace)]
    /// KMS key for encryption at rest. Forces replacement.
    pub kms_key_arn: Input<String>,
    #[resource(replace)]
    /// `TLS`, `TLS_PLAINTEXT` or `PLAINTEXT` between clients and brokers. Forces replacement.
    pub client_broker_encryption: String,
}

impl ResourceSpec for MskClusterSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        let subnets = self.client_subnets.len() as i32;
        if subnets < 2 {
            cx.error("client_subnets", "MSK needs two or three client subnets");
        } else if self.broker_count % subnets != 0 {
            cx.error(
                "broker_count",
                format!(
                    "must be a multiple of the {subnets} client subnets, got {}",
                    self.broker_count
                ),
            );
        }
        if !self.instance_type.starts_with("kafka.") {
            cx.error(
                "instance_type",
                format!("unknown broker type `{}`", self.instance_type),
            );
        }
        if !(1..=16384).contains(&self.volume_size_gb) {
            cx.error(
                "volume_size_gb",
                format!("must be 1 to 16384 GiB, got {}", self.volume_size_gb),
            );
        }
        if !matches!(
            self.client_broker_encryption.as_str(),
            "TLS" | "TLS_PLAINTEXT" | "PLAINTEXT"
        ) {
            cx.error(
                "client_broker_encryption",
                format!(
                    "must be TLS, TLS_PLAINTEXT or PLAINTEXT, got `{}`",
                    self.client_broker_encryption
                ),
            );
        }
    }
}
