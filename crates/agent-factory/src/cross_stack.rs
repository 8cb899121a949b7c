//! What a regional stack reads from the primary's stack (seed 2.2, 3.1, 3.4): its
//! own read replica of the primary database, and its own latency-routed records in
//! the primary's hosted zone, through a stack reference (`[primary]`).

use glinfra_core::spec::ec2::VpcSpec;
use glinfra_core::spec::rds::StorageType;
use glinfra_core::spec::rds::{DbEngine, DbInstanceSpec, DbSubnetGroupSpec};
use glinfra_core::spec::route53::{HealthCheckSpec, HealthCheckType, RecordSetSpec, RecordType};
use glinfra_core::{Input, Resource, Stack, StackReference};
use serde::Deserialize;

/// The output of the primary's stack naming its database primary (an ARN).
pub const DB_PRIMARY_ARN: &str = "db_primary_arn";
/// The output of the primary's stack naming its hosted zone.
pub const ZONE_ID: &str = "zone_id";

/// `[primary]`: the stack this one reads, and what it declares from it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrimaryConfig {
    /// The referenced stack's name (`prod-us-east-1`): applied before this one.
    pub stack: String,
    /// This region's read replica of the primary's database.
    pub replica: Option<RegionalReplicaConfig>,
    /// This region's latency records in the primary's zone.
    pub dns: Option<RegionalDnsConfig>,
}

/// `[primary.replica]`: a read replica in this stack's VPC. Version and storage
/// are the primary's (RDS copies them; they are repeated here because the spec
/// states them).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegionalReplicaConfig {
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
}

/// `[primary.dns]`: this region's entry points in the primary's zone.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegionalDnsConfig {
    /// The zone's name (`greenlang.ai`), as the primary's `[dns]` has it.
    pub zone: String,
    /// Labels under the zone (`api`, `factory`), latency-routed.
    pub records: Vec<String>,
    /// This region's ingress host; records point at `<label>.<ingress>`.
    pub ingress: String,
    /// TTL in seconds.
    pub ttl: i64,
    /// Path the health checks request.
    pub health_check_path: String,
    /// Port the health checks connect to (HTTPS).
    pub health_check_port: i32,
}

/// Where a regional replica goes: this stack's VPC, data subnets, PostgreSQL
/// security group and data key.
pub(crate) struct ReplicaPlacement<'a> {
    pub vpc: &'a Resource<VpcSpec>,
    pub data: Vec<Input<String>>,
    pub sg_postgres: Input<String>,
    pub key: Input<String>,
}

/// Declares what `[primary]` asks for; nothing when it is absent.
pub(crate) fn declare(
    env: &crate::Environment,
    stack: &mut Stack,
    placement: &ReplicaPlacement<'_>,
) {
    let Some(primary) = &env.primary else {
        return;
    };
    let reference = stack.reference(&primary.stack);
    if let Some(replica) = &primary.replica {
        declare_replica(env, stack, &reference, replica, placement);
    }
    if let Some(dns) = &primary.dns {
        declare_records(env, stack, &reference, dns);
    }
}

/// A regional read replica of the primary, in this VPC's data subnets (a DB subnet
/// group of its own), behind this stack's security group, encrypted with this
/// region's key, replicating the ARN the primary's stack recorded.
fn declare_replica(
    env: &crate::Environment,
    stack: &mut Stack,
    reference: &StackReference,
    replica: &RegionalReplicaConfig,
    p: &ReplicaPlacement<'_>,
) {
    let envname = &env.stack.environment;
    let subnet_group = stack.add(
        "db-subnets",
        DbSubnetGroupSpec {
            vpc_id: Some(p.vpc.id()),
            name: format!("greenlang-{envname}-data"),
            description: format!("GreenLang {envname} data subnets"),
            subnet_ids: p.data.clone(),
        },
    );
    let db = stack.add(
        "db-replica",
        DbInstanceSpec {
            identifier: format!("greenlang-{envname}-replica"),
            engine: DbEngine::Postgres,
            engine_version: replica.engine_version.clone(),
            instance_class: replica.instance_class.clone(),
            allocated_storage: replica.allocated_storage_gb,
            storage_type: replica.storage_type,
            iops: replica.iops,
            storage_encrypted: true,
            kms_key_id: Some(p.key.clone()),
            multi_az: false,
            availability_zone: None,
            backup_retention_days: 0,
            maintenance_window: replica.maintenance_window.clone(),
            deletion_protection: false,
            vpc_id: Some(p.vpc.id()),
            db_subnet_group_name: Some(subnet_group.name()),
            parameter_group_name: None,
            vpc_security_group_ids: vec![p.sg_postgres.clone()],
            master_username: None,
            manage_master_user_password: false,
            replicate_from: Some(reference.output(DB_PRIMARY_ARN)),
        },
    );
    stack.export("db_replica_endpoint", db.endpoint());
}

/// This region's latency-routed, health-checked records in the primary's zone.
fn declare_records(
    env: &crate::Environment,
    stack: &mut Stack,
    reference: &StackReference,
    dns: &RegionalDnsConfig,
) {
    let region = &env.stack.region;
    for label in &dns.records {
        let target = format!("{label}.{}", dns.ingress);
        let check = stack.add(
            format!("health-{label}-{region}"),
            HealthCheckSpec {
                fqdn: target.clone(),
                port: dns.health_check_port,
                check_type: HealthCheckType::Https,
                resource_path: dns.health_check_path.clone(),
                request_interval: 30,
                failure_threshold: 3,
            },
        );
        stack.add(
            format!("record-{label}-{region}"),
            RecordSetSpec {
                zone_id: reference.output(ZONE_ID),
                name: format!("{label}.{}", dns.zone),
                record_type: RecordType::Cname,
                ttl: dns.ttl,
                records: vec![Input::Value(target)],
                set_identifier: Some(region.clone()),
                latency_region: Some(region.clone()),
                health_check_id: Some(check.id()),
            },
        );
    }
}
