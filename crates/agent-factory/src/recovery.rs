//! Disaster recovery (seed 5.2 `failover_regions: [us-west-2]`, 5.3 `dr_runbook`): a
//! small stack of its own in the failover region, holding the PostgreSQL standby (a
//! cross-region read replica of the primary stack's `db_primary_arn`), its VPC, data
//! subnets, subnet group, security group and data key, and the database writer
//! record (`db.<zone>`) in the primary stack's zone.
//!
//! Its environment file has a `[standby]` section (that is how [`crate::load_stack`]
//! tells it from a full environment). `[standby] primary_region` says where the
//! primary is: the source region (the standby replicates, `db.<zone>` names the
//! primary's endpoint) or this stack's (the standby is promoted and `db.<zone>`
//! names it). The `failover` verb applies the second layout; the file is then
//! changed to say so (docs/disaster-recovery.md).

use crate::config::{parse_as, StackConfig};
use crate::cross_stack::{DB_PRIMARY_ARN, ZONE_ID};
use crate::flow_logs;
use glinfra_core::policy::{baseline, Baseline, Rule};
use glinfra_core::spec::ec2::{
    FlowLogTraffic, IpProtocol, SecurityGroupRule, SecurityGroupSpec, SubnetSpec, VpcSpec,
};
use glinfra_core::spec::kms::KmsKeySpec;
use glinfra_core::spec::rds::{DbEngine, DbInstanceSpec, DbSubnetGroupSpec, StorageType};
use glinfra_core::spec::route53::{RecordSetSpec, RecordType};
use glinfra_core::{Diagnostic, Input, Severity, Stack};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The primary stack's output naming its database endpoint (what `db.<zone>` names
/// while the primary is there).
pub const DB_PRIMARY_ENDPOINT: &str = "db_primary_endpoint";
/// The standby's logical id.
pub const STANDBY: &str = "db-standby";
/// The writer record's logical id.
pub const WRITER_RECORD: &str = "record-db";

/// A disaster-recovery environment file (`environments/prod-us-west-2.toml`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecoveryEnvironment {
    /// Stack identity; `region` is the failover region.
    pub stack: StackConfig,
    /// Tags put on every resource.
    pub tags: BTreeMap<String, String>,
    /// The standby's VPC and data subnets.
    pub network: RecoveryNetwork,
    /// Flow logs, key rotation, and who reaches PostgreSQL.
    pub security: RecoverySecurity,
    /// The standby and where the primary is.
    pub standby: StandbyConfig,
    /// The database writer record.
    pub dns: WriterDns,
    /// GuardDuty, Security Hub with CIS, Inspector (seed 8.1, per production
    /// region), the web ACL when the region serves traffic, and every key's
    /// rotation period.
    pub security_services: crate::security::SecurityServicesConfig,
    /// The built-in policy pack's severities and backup days.
    pub policy: RecoveryPolicy,
}

/// `[network]`: a VPC with data subnets only (nothing here reaches the internet).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecoveryNetwork {
    /// The VPC's CIDR block.
    pub vpc_cidr: String,
    /// Availability zones, one data subnet each (RDS needs two at least).
    pub availability_zones: Vec<String>,
    /// The data subnets' CIDR blocks.
    pub data_subnets: Vec<String>,
}

/// `[security]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecoverySecurity {
    /// Whether the VPC has a flow log.
    pub vpc_flow_logs: bool,
    /// Days the flow log group keeps records.
    pub flow_log_retention_days: i32,
    /// `ALL`, `ACCEPT` or `REJECT`.
    pub flow_log_traffic: FlowLogTraffic,
    /// 60 or 600.
    pub flow_log_max_aggregation_seconds: i32,
    /// Whether the data key rotates (every `[security_services] key_rotation_days`).
    pub kms_key_rotation: bool,
    /// The port `sg-postgres` opens.
    pub postgres_port: i32,
    /// The CIDR blocks `sg-postgres` admits (the clients after a failover).
    pub postgres_clients: Vec<String>,
}

/// `[standby]`: the cross-region read replica, and where the primary is.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StandbyConfig {
    /// The primary's stack (`prod-us-east-1`), read through a stack reference.
    pub primary_stack: String,
    /// The primary stack's region (`us-east-1`).
    pub source_region: String,
    /// Where the primary is: `source_region`, or this stack's region once failed over.
    pub primary_region: String,
    /// Instance class.
    pub instance_class: String,
    /// The primary's engine version.
    pub engine_version: String,
    /// The primary's storage type.
    pub storage_type: StorageType,
    /// The primary's storage in GiB.
    pub allocated_storage_gb: i32,
    /// The primary's provisioned IOPS.
    pub iops: Option<i32>,
    /// Maintenance window.
    pub maintenance_window: String,
    /// Deletion protection (on the replica and on the promoted primary).
    pub deletion_protection: bool,
    /// The primary's master user name, which the promoted instance keeps.
    pub master_username: String,
    /// Days of automated backups once promoted (a replica keeps none).
    pub backup_retention_days: i32,
}

/// `[dns]`: the writer record in the primary stack's zone.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WriterDns {
    /// The zone's name, as the primary's `[dns]` has it.
    pub zone: String,
    /// The label of the writer record (`db`).
    pub record: String,
    /// TTL in seconds: how long clients may keep the old primary after a failover.
    pub ttl: i64,
}

/// `[policy]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecoveryPolicy {
    /// Every rule's severity.
    pub rules: BTreeMap<Rule, Severity>,
    /// Days of backups a primary keeps at least.
    pub min_backup_days: i32,
}

impl RecoveryEnvironment {
    /// True when the standby is the primary (`primary_region` is this stack's).
    pub fn promoted(&self) -> bool {
        self.standby.primary_region == self.stack.region
    }

    /// This environment with the primary in `region` (what `failover --to REGION`
    /// plans), or why it cannot be.
    pub fn failed_over_to(&self, region: &str) -> Result<RecoveryEnvironment, String> {
        if region != self.stack.region {
            return Err(format!(
                "stack `{}` holds a standby in {} only; there is none in {region} (`--to {}`)",
                self.stack.name, self.stack.region, self.stack.region
            ));
        }
        if self.promoted() {
            return Err(format!(
                "the primary is already in {region} (`[standby] primary_region`): nothing to fail over"
            ));
        }
        let mut env = self.clone();
        env.standby.primary_region = region.to_string();
        Ok(env)
    }
}

/// True when `text` is a disaster-recovery environment file (it has `[standby]`).
pub fn is_recovery(text: &str) -> bool {
    text.parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key("standby"))
}

/// Reads a disaster-recovery environment file; errors name the file and key.
pub fn load(path: &Path) -> Result<RecoveryEnvironment, Diagnostic> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::new(format!("cannot read the environment file: {e}")).file(&file)
    })?;
    parse_as(&text).map_err(|d| d.file(&file))
}

/// What the typed specs cannot see.
fn check(env: &RecoveryEnvironment, file: Option<&str>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut err = |field: &str, message: String| {
        let mut d = Diagnostic::new(message).field(field);
        d.file = file.map(str::to_string);
        out.push(d);
    };
    let net = &env.network;
    if net.availability_zones.len() < 2 {
        err(
            "network.availability_zones",
            "a DB subnet group needs two availability zones at least".into(),
        );
    }
    if net.data_subnets.len() != net.availability_zones.len() {
        err(
            "network.data_subnets",
            format!(
                "has {} subnets for {} availability zones; give one per zone",
                net.data_subnets.len(),
                net.availability_zones.len()
            ),
        );
    }
    let s = &env.standby;
    if s.source_region == env.stack.region {
        err(
            "standby.source_region",
            format!(
                "`{}` is this stack's own region: the standby is a cross-region replica",
                s.source_region
            ),
        );
    }
    if s.primary_region != s.source_region && s.primary_region != env.stack.region {
        err(
            "standby.primary_region",
            format!(
                "`{}` is neither the source region `{}` nor this stack's region `{}`",
                s.primary_region, s.source_region, env.stack.region
            ),
        );
    }
    if env.security.postgres_clients.is_empty() {
        err(
            "security.postgres_clients",
            "name the CIDR blocks that reach PostgreSQL after a failover".into(),
        );
    }
    let missing: Vec<&str> = Rule::ALL
        .iter()
        .filter(|r| !env.policy.rules.contains_key(r))
        .map(|r| r.as_str())
        .collect();
    if !missing.is_empty() {
        err(
            "policy.rules",
            format!(
                "every rule needs a severity (mandatory or advisory); missing: {}",
                missing.join(", ")
            ),
        );
    }
    out
}

/// Declares the disaster-recovery stack. `origin` (the file's path) is recorded on
/// every resource so errors can name it.
pub fn build(env: &RecoveryEnvironment, origin: Option<&str>) -> Result<Stack, Vec<Diagnostic>> {
    let problems = check(env, origin);
    if !problems.is_empty() {
        return Err(problems);
    }
    let envname = &env.stack.environment;
    let region = &env.stack.region;
    let mut stack = Stack::new(&env.stack.name, region);
    stack.set_origin(origin.map(str::to_string));
    for (k, v) in &env.tags {
        stack.tag(k, v);
    }
    stack.tag("environment", envname);
    stack.tag("stack", &env.stack.name);
    let primary = stack.reference(&env.standby.primary_stack);

    let net = &env.network;
    let vpc = stack.add("vpc", VpcSpec::new(&net.vpc_cidr));
    stack.export("vpc_id", vpc.id());
    let data: Vec<Input<String>> = net
        .availability_zones
        .iter()
        .zip(&net.data_subnets)
        .map(|(zone, cidr)| {
            let letter = zone.chars().last().map(String::from).unwrap_or_default();
            stack
                .add(
                    format!("subnet-data-{letter}"),
                    SubnetSpec::new(vpc.id(), cidr, zone),
                )
                .id()
        })
        .collect();
    let security = &env.security;
    let mut key = KmsKeySpec::new(
        format!("greenlang-{envname}-data"),
        format!("GreenLang {envname} data encryption ({region}): the PostgreSQL standby"),
    );
    key.enable_key_rotation = security.kms_key_rotation;
    key.rotation_period_days = security
        .kms_key_rotation
        .then_some(env.security_services.key_rotation_days);
    let key = stack.add("kms-data", key);
    let sg = stack.add(
        "sg-postgres",
        SecurityGroupSpec {
            vpc_id: vpc.id(),
            name: format!("greenlang-{envname}-postgres"),
            description: format!("GreenLang {envname}: PostgreSQL from the clients"),
            ingress: vec![SecurityGroupRule {
                protocol: IpProtocol::Tcp,
                from_port: security.postgres_port,
                to_port: security.postgres_port,
                cidr_blocks: security.postgres_clients.clone(),
                description: "PostgreSQL from the clients".into(),
            }],
            egress: Vec::new(),
        },
    );
    let subnets = stack.add(
        "db-subnets",
        DbSubnetGroupSpec {
            vpc_id: Some(vpc.id()),
            name: format!("greenlang-{envname}-data"),
            description: format!("GreenLang {envname} data subnets"),
            subnet_ids: data,
        },
    );
    let s = &env.standby;
    let promoted = env.promoted();
    let standby = stack.add(
        STANDBY,
        DbInstanceSpec {
            identifier: format!("greenlang-{envname}-standby"),
            engine: DbEngine::Postgres,
            engine_version: s.engine_version.clone(),
            instance_class: s.instance_class.clone(),
            allocated_storage: s.allocated_storage_gb,
            storage_type: s.storage_type,
            iops: s.iops,
            storage_encrypted: true,
            kms_key_id: Some(key.arn()),
            multi_az: false,
            availability_zone: None,
            backup_retention_days: if promoted { s.backup_retention_days } else { 0 },
            maintenance_window: s.maintenance_window.clone(),
            deletion_protection: s.deletion_protection,
            vpc_id: Some(vpc.id()),
            db_subnet_group_name: Some(subnets.name()),
            parameter_group_name: None,
            vpc_security_group_ids: vec![sg.id()],
            master_username: promoted.then(|| s.master_username.clone()),
            manage_master_user_password: false,
            replicate_from: (!promoted).then(|| primary.output(DB_PRIMARY_ARN)),
        },
    );
    stack.export("db_standby_arn", standby.arn());
    stack.export("db_standby_endpoint", standby.endpoint());

    // The writer record: the primary's endpoint, or the standby's once promoted.
    let dns = &env.dns;
    let writer = if promoted {
        standby.endpoint()
    } else {
        primary.output(DB_PRIMARY_ENDPOINT)
    };
    let fqdn = format!("{}.{}", dns.record, dns.zone);
    stack.add(
        WRITER_RECORD,
        RecordSetSpec {
            zone_id: primary.output(ZONE_ID),
            name: fqdn.clone(),
            record_type: RecordType::Cname,
            ttl: dns.ttl,
            records: vec![writer],
            set_identifier: None,
            latency_region: None,
            health_check_id: None,
        },
    );
    stack.export("db_writer_fqdn", Input::Value(fqdn));

    if security.vpc_flow_logs {
        flow_logs::declare_with(
            &mut stack,
            envname,
            &flow_logs::Settings {
                retention_days: security.flow_log_retention_days,
                traffic: security.flow_log_traffic,
                max_aggregation_seconds: security.flow_log_max_aggregation_seconds,
            },
        );
    }
    crate::security::declare(&env.security_services, envname, region, &mut stack);
    if env.stack.protect {
        for id in [STANDBY, "kms-data"] {
            if let Some(l) = stack.lifecycle_mut(id) {
                l.protect = true;
            }
        }
    }
    stack.add_policies(&baseline(&Baseline {
        severity: env.policy.rules.clone(),
        min_backup_days: env.policy.min_backup_days,
        spot_allowed: Default::default(),
        public_ingress: Default::default(),
        audit_log: None,
        max_key_rotation_days: Some(crate::security::SEED_KEY_ROTATION_DAYS),
    }));
    Ok(stack)
}
