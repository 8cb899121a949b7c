//! The environment file: one TOML file per environment carrying every value
//! explicitly. Unknown keys, missing keys and mistyped values are errors that
//! name the file and the key.

use glinfra_core::Diagnostic;
use serde::Deserialize;
use std::path::Path;

/// A whole environment file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Stack identity.
    pub stack: StackConfig,
    /// Tags put on every resource.
    pub tags: std::collections::BTreeMap<String, String>,
    /// VPC, subnets, gateways.
    pub network: NetworkConfig,
    /// Buckets and their keys.
    pub storage: StorageConfig,
    /// The hosted zone and its records.
    pub dns: DnsConfig,
}

/// `[stack]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StackConfig {
    /// Stack name; also the state file's name.
    pub name: String,
    /// Environment (`prod`, `staging`, `dev`): the `{env}` of bucket names and the `environment` tag.
    pub environment: String,
    /// The primary region.
    pub region: String,
}

/// `[network]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// VPC CIDR block.
    pub vpc_cidr: String,
    /// Availability zones, one subnet of each tier in each.
    pub availability_zones: Vec<String>,
    /// Public subnet CIDRs, one per zone.
    pub public_subnets: Vec<String>,
    /// Private application subnet CIDRs, one per zone.
    pub app_subnets: Vec<String>,
    /// Private data subnet CIDRs, one per zone.
    pub data_subnets: Vec<String>,
    /// NAT gateways: one per zone, or 1 (shared, cheaper, not highly available).
    pub nat_gateways: usize,
}

/// `[storage]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Whether the buckets' KMS keys rotate automatically.
    pub kms_key_rotation: bool,
    /// Whether public access is blocked on every bucket.
    pub block_public_access: bool,
    /// Whether every bucket has a policy denying requests without TLS.
    pub require_ssl: bool,
    /// The region replicated buckets copy to.
    pub replication_region: String,
    /// Whether destroying a bucket deletes its objects first.
    pub force_destroy: bool,
    /// The buckets.
    pub buckets: Vec<BucketConfig>,
}

/// `[[storage.buckets]]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    /// Purpose: the bucket is named `greenlang-<purpose>-<environment>`.
    pub purpose: String,
    /// Versioning on.
    pub versioning: bool,
    /// Lifecycle rules.
    pub lifecycle: Vec<LifecycleConfig>,
    /// Object lock (WORM) retention, if any.
    pub object_lock: Option<ObjectLockConfig>,
    /// Whether the bucket is replicated to `replication_region`.
    pub replicate: bool,
}

/// A lifecycle rule.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LifecycleConfig {
    /// Rule id.
    pub id: String,
    /// Transitions.
    pub transitions: Vec<TransitionConfig>,
    /// Expiration in days, if any.
    pub expiration_days: Option<i32>,
}

/// A lifecycle transition.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TransitionConfig {
    /// Days after creation.
    pub days: i32,
    /// Storage class.
    pub storage_class: String,
}

/// Object lock default retention.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ObjectLockConfig {
    /// `COMPLIANCE` or `GOVERNANCE`.
    pub mode: String,
    /// Days.
    pub days: i32,
}

/// `[dns]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// The zone (`greenlang.ai`).
    pub zone: String,
    /// Records in it.
    pub records: Vec<RecordConfig>,
}

/// `[[dns.records]]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordConfig {
    /// The label under the zone (`api`).
    pub name: String,
    /// Record type.
    #[serde(rename = "type")]
    pub record_type: String,
    /// TTL in seconds.
    pub ttl: i64,
    /// Values.
    pub values: Vec<String>,
}

/// Reads an environment file. Every error names the file (and, from the TOML
/// parser, the key and line).
pub fn load(path: &Path) -> Result<Environment, Diagnostic> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::new(format!("cannot read the environment file: {e}")).file(&file)
    })?;
    parse(&text).map_err(|d| d.file(&file))
}

/// Parses an environment file's text.
pub fn parse(text: &str) -> Result<Environment, Diagnostic> {
    toml::from_str::<Environment>(text).map_err(|e| {
        let mut d = Diagnostic::new(e.message().to_string());
        if let Some(span) = e.span() {
            let line = text[..span.start].matches('\n').count() + 1;
            let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
            let end = text[span.start..]
                .find('\n')
                .map_or(text.len(), |i| span.start + i);
            let source: String = text[start..end].trim().chars().take(80).collect();
            d.message = format!("line {line} (`{source}`): {}", e.message());
        }
        d
    })
}
