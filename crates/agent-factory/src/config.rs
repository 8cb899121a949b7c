//! The environment file: one TOML file per environment carrying every value
//! explicitly. Unknown keys, missing keys and mistyped values are errors that
//! name the file and the key.

use glinfra_core::spec::ec2::FlowLogTraffic;
use glinfra_core::spec::eks::{LogType, TaintEffect};
use glinfra_core::spec::msk::ClientBrokerEncryption;
use glinfra_core::spec::rds::StorageType;
use glinfra_core::spec::s3::{ObjectLockMode, TransitionStorageClass};
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
    /// VPC endpoints and security groups.
    pub endpoints: EndpointsConfig,
    /// The EKS cluster and its node pools.
    pub kubernetes: KubernetesConfig,
    /// RDS PostgreSQL; absent in regions that only hold replicas of another's primary.
    pub database: Option<DatabaseConfig>,
    /// ElastiCache Redis.
    pub cache: CacheConfig,
    /// MSK Kafka.
    pub kafka: KafkaConfig,
    /// The hosted zone and its latency-routed records; absent in stacks that do not own DNS.
    pub dns: Option<DnsConfig>,
    /// VPC flow logs and the ports the security groups open.
    pub security: SecurityConfig,
    /// Reservations and spend outside AWS, for `cost` (optional).
    #[serde(default)]
    pub cost: crate::cost::CostConfig,
    /// The policy checks run on the plan before any AWS call.
    pub policy: PolicyConfig,
    /// Security services and key rotation (seed 8.1): `crate::security`.
    pub security_services: crate::security::SecurityServicesConfig,
    /// The stack this one references (a regional stack reads the primary's): its
    /// read replica and latency records. Absent in stacks that reference none.
    #[serde(default)]
    pub primary: Option<crate::cross_stack::PrimaryConfig>,
    /// The access matrix: each workload's identity and what it reads and writes.
    pub workloads: Vec<WorkloadConfig>,
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
    /// Protect what holds data from deletion and replacement (the database, the
    /// audit-log and backups buckets, the KMS keys, the hosted zone, Kafka). On
    /// unless set to `false`; only throw-away test stacks turn it off.
    #[serde(default = "protect_by_default")]
    pub protect: bool,
}

fn protect_by_default() -> bool {
    true
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
    /// The regions replicated buckets copy to (seed 5.3 `replication_regions`), one
    /// replication rule each, in order of priority; other than the stack's region.
    pub replication_regions: Vec<String>,
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
    /// Whether the bucket is replicated to every region of `replication_regions`.
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
    /// Storage class (`STANDARD_IA`, `GLACIER`, ...).
    pub storage_class: TransitionStorageClass,
}

/// Object lock default retention.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ObjectLockConfig {
    /// `COMPLIANCE` or `GOVERNANCE`.
    pub mode: ObjectLockMode,
    /// Days.
    pub days: i32,
}

/// `[endpoints]`: VPC endpoints (seed 3.2).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EndpointsConfig {
    /// Gateway endpoints on the private route tables (`s3`).
    pub gateway: Vec<String>,
    /// Interface endpoints in the app subnets (`ecr.api`, `logs`, ...).
    pub interface: Vec<String>,
}

/// `[kubernetes]` (seed 1.1, 1.2).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    /// Kubernetes version.
    pub version: String,
    /// Control-plane log types.
    pub log_types: Vec<LogType>,
    /// Public API endpoint on.
    pub public_endpoint: bool,
    /// The node pools.
    pub node_pools: Vec<NodePoolConfig>,
}

/// `[[kubernetes.node_pools]]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodePoolConfig {
    /// Pool name (`system`, `api_gateway`, ...).
    pub name: String,
    /// Instance type.
    pub instance_type: String,
    /// Minimum nodes.
    pub min_size: i32,
    /// Maximum nodes.
    pub max_size: i32,
    /// Desired nodes.
    pub desired_size: i32,
    /// Root disk in GiB.
    pub disk_size_gb: i32,
    /// Share of the pool on spot capacity, 0 to 100; the rest is on demand.
    pub spot_percentage: i32,
    /// Kubernetes labels.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Kubernetes taints.
    pub taints: Vec<TaintConfig>,
    /// The nodes' AMI type (`AL2023_x86_64_STANDARD`, ...); unset, EKS chooses.
    #[serde(default)]
    pub ami_type: Option<glinfra_core::spec::eks::AmiType>,
}

/// A taint, with the Kubernetes effect spelling (`NoSchedule`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaintConfig {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
    /// `NoSchedule`, `NoExecute` or `PreferNoSchedule` (Kubernetes' spelling).
    pub effect: KubernetesTaintEffect,
}

/// A taint effect as Kubernetes spells it (the environment file's spelling).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum KubernetesTaintEffect {
    /// Pods without the toleration are not scheduled there.
    NoSchedule,
    /// Pods without the toleration are evicted.
    NoExecute,
    /// The scheduler avoids the node when it can.
    PreferNoSchedule,
}

impl From<KubernetesTaintEffect> for TaintEffect {
    fn from(k: KubernetesTaintEffect) -> TaintEffect {
        match k {
            KubernetesTaintEffect::NoSchedule => TaintEffect::NoSchedule,
            KubernetesTaintEffect::NoExecute => TaintEffect::NoExecute,
            KubernetesTaintEffect::PreferNoSchedule => TaintEffect::PreferNoSchedule,
        }
    }
}

/// `[database]` (seed 2.2).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// PostgreSQL major version (`15`).
    pub engine_version: String,
    /// Primary instance class.
    pub instance_class: String,
    /// Storage type (`io2`).
    pub storage_type: StorageType,
    /// Storage in GiB.
    pub allocated_storage_gb: i32,
    /// Provisioned IOPS.
    pub iops: Option<i32>,
    /// Multi-AZ standby.
    pub multi_az: bool,
    /// Days of automated backups.
    pub backup_retention_days: i32,
    /// Maintenance window (`sun:03:00-sun:04:00`).
    pub maintenance_window: String,
    /// Deletion protection.
    pub deletion_protection: bool,
    /// The primary's master user name (its password is managed by Secrets Manager).
    pub master_username: String,
    /// The parameter group family (`postgres15`): `postgres` and `engine_version`'s major version.
    pub parameter_group_family: String,
    /// Read replicas.
    pub replicas: Vec<ReplicaConfig>,
    /// PostgreSQL settings in the seed's units (`16GB`, `256MB`, `0.9`, `500`).
    pub parameters: std::collections::BTreeMap<String, toml::Value>,
}

/// `[[database.replicas]]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReplicaConfig {
    /// Region.
    pub region: String,
    /// Instance class.
    pub instance_class: String,
}

/// `[cache]` (seed 2.3).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Redis version.
    pub engine_version: String,
    /// Node type.
    pub node_type: String,
    /// Shards.
    pub shards: i32,
    /// Replicas per shard.
    pub replicas_per_shard: i32,
    /// Days of snapshots.
    pub snapshot_retention_days: i32,
    /// The parameter group family (`redis7`, `redis6.x`), of `engine_version`'s major version.
    pub parameter_group_family: String,
    /// Parameters (`maxmemory-policy`, ...).
    pub parameters: std::collections::BTreeMap<String, String>,
}

/// `[kafka]` (seed 2.6).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Kafka version (`3.5.1`).
    pub version: String,
    /// Brokers.
    pub broker_count: i32,
    /// Broker type.
    pub instance_type: String,
    /// Storage per broker in GiB.
    pub volume_size_gb: i32,
    /// Encryption between clients and brokers: `TLS`, `TLS_PLAINTEXT` or `PLAINTEXT`.
    pub client_broker_encryption: ClientBrokerEncryption,
    /// Server properties.
    pub server_properties: std::collections::BTreeMap<String, String>,
}

/// `[dns]` (seed 3.1, 3.4).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// The zone (`greenlang.ai`).
    pub zone: String,
    /// Labels under the zone, each latency-routed over `regions` (`api`, `factory`).
    pub records: Vec<String>,
    /// TTL in seconds.
    pub ttl: i64,
    /// Path the health checks request.
    pub health_check_path: String,
    /// Port the health checks connect to (HTTPS).
    pub health_check_port: i32,
    /// The regions served, each with its ingress host.
    pub regions: Vec<DnsRegionConfig>,
}

/// `[[dns.regions]]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DnsRegionConfig {
    /// Region.
    pub region: String,
    /// The region's ingress host; records point at `<label>.<ingress>`.
    pub ingress: String,
}

/// `[policy]`: the built-in policy pack (seed 8.1 and 6.2) for this environment.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Every rule, `mandatory` (stops plan and apply) or `advisory` (shown in the plan).
    pub rules: std::collections::BTreeMap<glinfra_core::policy::Rule, glinfra_core::Severity>,
    /// Days of backups the database keeps at least.
    pub min_backup_days: i32,
    /// The node pools that may run on spot capacity (seed 6.2).
    pub spot_pools: Vec<String>,
    /// Logical ids of the security groups that may take ingress from anywhere.
    pub public_ingress: Vec<String>,
    /// The purpose of the audit-log bucket.
    pub audit_log_bucket: String,
    /// Who may write to it: logical ids of roles, or principal ARNs.
    pub audit_log_writers: Vec<String>,
}

/// `[security]` (seed 8.1, `infrastructure_security.network`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    /// Whether every VPC has a flow log (`vpc_flow_logs: true`); false declares none.
    pub vpc_flow_logs: bool,
    /// Days the flow log groups keep records: a period CloudWatch Logs accepts
    /// (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ..., 3653).
    pub flow_log_retention_days: i32,
    /// The traffic recorded: `ALL`, `ACCEPT` or `REJECT`.
    pub flow_log_traffic: FlowLogTraffic,
    /// Seconds over which flow records are aggregated: 60 or 600.
    pub flow_log_max_aggregation_seconds: i32,
    /// The port `sg-postgres` opens to the app subnets.
    pub postgres_port: i32,
    /// The port `sg-redis` opens to the app subnets, and the one Redis listens on.
    pub redis_port: i32,
    /// The port `sg-kafka` opens to the app subnets: MSK's TLS listener.
    pub kafka_tls_port: i32,
    /// The port `sg-endpoints` opens to the VPC: HTTPS to the interface endpoints.
    pub https_port: i32,
}

/// `[[workloads]]` (seed 1.3, 4.1, 8.1 `service_accounts: per-workload`): a
/// workload's IAM role, bound to its Kubernetes service account by EKS Pod
/// Identity, and everything the role may touch. Nothing else is granted.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// Workload name (`agent-runtime`): its role is `greenlang-<environment>-<name>`.
    pub name: String,
    /// Its Kubernetes namespace.
    pub namespace: String,
    /// Its Kubernetes service account.
    pub service_account: String,
    /// What it reads.
    pub reads: Vec<Access>,
    /// What it writes.
    pub writes: Vec<Access>,
}

/// One entry of a workload's `reads` or `writes`: `s3:<bucket purpose>` or
/// `s3:<bucket purpose>/<prefix>`, `kafka:<topic>`, or `secret:database` (the
/// database's master user secret, managed by RDS; reads only).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Access {
    /// Objects of a bucket of `[storage]`, under `prefix` (empty: all of it).
    Bucket {
        /// The bucket's purpose.
        purpose: String,
        /// The key prefix (`runtime/`), or empty.
        prefix: String,
    },
    /// A Kafka topic of the cluster.
    Topic(String),
    /// The database's master user secret.
    DatabaseSecret,
}

impl TryFrom<String> for Access {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("`{s}`: {why} (write `s3:<bucket purpose>[/<prefix>]`, `kafka:<topic>` or `secret:database`)")
        };
        let Some((kind, what)) = s.split_once(':') else {
            return Err(bad("no kind"));
        };
        if what.is_empty() || what.contains('*') {
            return Err(bad("name exactly what is used, without wildcards"));
        }
        match kind {
            "s3" => {
                let (purpose, prefix) = what.split_once('/').unwrap_or((what, ""));
                Ok(Access::Bucket {
                    purpose: purpose.to_string(),
                    prefix: prefix.to_string(),
                })
            }
            "kafka" => Ok(Access::Topic(what.to_string())),
            "secret" if what == "database" => Ok(Access::DatabaseSecret),
            "secret" => Err(bad("the one secret is `database`")),
            _ => Err(bad("unknown kind")),
        }
    }
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
    parse_as(text)
}

/// Parses a TOML file's text as `T`; the error names the line, its text and the key.
pub(crate) fn parse_as<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Diagnostic> {
    toml::from_str::<T>(text).map_err(|e| {
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
