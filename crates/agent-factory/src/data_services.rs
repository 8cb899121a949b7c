//! The data services of an environment (seed 2.2, 2.3, 2.6): RDS PostgreSQL with its
//! read replicas, ElastiCache Redis and MSK Kafka, placed in the VPC's subnets behind
//! their security groups and encrypted with the region's data key.

use crate::config::Environment;
use crate::postgres::to_parameter;
use crate::topology::{data_key, major_version, stack_origin};
use glinfra_core::spec::ec2::VpcSpec;
use glinfra_core::spec::elasticache::{
    CacheParameterGroupSpec, CacheSubnetGroupSpec, ReplicationGroupSpec,
};
use glinfra_core::spec::msk::{MskClusterSpec, MskConfigurationSpec};
use glinfra_core::spec::rds::{DbEngine, DbInstanceSpec, DbParameterGroupSpec, DbSubnetGroupSpec};
use glinfra_core::{Diagnostic, Input, Resource, Stack};
use std::collections::BTreeMap;

/// Where the data services go: the VPC, its app and data subnets, the security group
/// of each service, and the region's data key.
pub(crate) struct Placement<'a> {
    /// The VPC.
    pub vpc: &'a Resource<VpcSpec>,
    /// The app subnets (MSK brokers live there, next to their clients).
    pub app: Vec<Input<String>>,
    /// The data subnets (RDS, ElastiCache).
    pub data: Vec<Input<String>>,
    /// The PostgreSQL security group.
    pub sg_postgres: Input<String>,
    /// The Redis security group.
    pub sg_redis: Input<String>,
    /// The Kafka security group.
    pub sg_kafka: Input<String>,
    /// The region's data key ARN.
    pub key: Input<String>,
}

/// RDS PostgreSQL (2.2): primary and read replicas, secrets managed by AWS.
pub(crate) fn database(
    env: &Environment,
    stack: &mut Stack,
    p: &Placement<'_>,
) -> Result<(), Vec<Diagnostic>> {
    let envname = &env.stack.environment;
    let region = env.stack.region.clone();
    let rotation = env.storage.kms_key_rotation;
    if let Some(db) = &env.database {
        let major = major_version(&db.engine_version);
        let family = &db.parameter_group_family;
        let subnet_group = stack.add(
            "db-subnets",
            DbSubnetGroupSpec {
                vpc_id: Some(p.vpc.id()),
                name: format!("greenlang-{envname}-data"),
                description: format!("GreenLang {envname} data subnets"),
                subnet_ids: p.data.clone(),
            },
        );
        let mut parameters = BTreeMap::new();
        let mut problems = Vec::new();
        for (name, value) in &db.parameters {
            match to_parameter(name, value) {
                Ok(v) => {
                    parameters.insert(name.clone(), v);
                }
                Err(message) => {
                    let mut d =
                        Diagnostic::new(message).field(format!("database.parameters.{name}"));
                    d.file = stack_origin(stack);
                    problems.push(d);
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let params = stack.add(
            "db-params",
            DbParameterGroupSpec {
                name: format!("greenlang-{envname}-{family}"),
                family: family.clone(),
                description: format!("GreenLang {envname} PostgreSQL {major} settings"),
                parameters,
            },
        );
        let primary = stack.add(
            "db-primary",
            DbInstanceSpec {
                identifier: format!("greenlang-{envname}-primary"),
                engine: DbEngine::Postgres,
                engine_version: db.engine_version.clone(),
                instance_class: db.instance_class.clone(),
                allocated_storage: db.allocated_storage_gb,
                storage_type: db.storage_type,
                iops: db.iops,
                storage_encrypted: true,
                kms_key_id: Some(p.key.clone()),
                multi_az: db.multi_az,
                availability_zone: None,
                backup_retention_days: db.backup_retention_days,
                maintenance_window: db.maintenance_window.clone(),
                deletion_protection: db.deletion_protection,
                vpc_id: Some(p.vpc.id()),
                db_subnet_group_name: Some(subnet_group.name()),
                parameter_group_name: Some(params.name()),
                vpc_security_group_ids: vec![p.sg_postgres.clone()],
                master_username: Some(db.master_username.clone()),
                manage_master_user_password: true,
                replicate_from: None,
            },
        );
        stack.export("db_primary_endpoint", primary.endpoint());
        // What regional stacks replicate, through a stack reference.
        stack.export(crate::cross_stack::DB_PRIMARY_ARN, primary.arn());
        for replica in &db.replicas {
            let local = replica.region == region;
            let replica_key = data_key(stack, env, &replica.region, rotation);
            let mut spec = DbInstanceSpec {
                identifier: format!("greenlang-{envname}-replica-{}", replica.region),
                instance_class: replica.instance_class.clone(),
                multi_az: false,
                backup_retention_days: 0,
                deletion_protection: false,
                kms_key_id: Some(replica_key),
                master_username: None,
                manage_master_user_password: false,
                replicate_from: Some(primary.arn()),
                // A cross-region replica listed here lives in its region's default VPC:
                // this stack has no network there. The seed's regional replicas are
                // their own stacks' instead (`[primary.replica]`, cross_stack.rs).
                vpc_id: local.then(|| p.vpc.id()),
                db_subnet_group_name: local.then(|| subnet_group.name()),
                parameter_group_name: local.then(|| params.name()),
                vpc_security_group_ids: if local {
                    vec![p.sg_postgres.clone()]
                } else {
                    Vec::new()
                },
                ..stack
                    .get("db-primary")
                    .expect("declared above")
                    .spec::<DbInstanceSpec>()
                    .expect("a DbInstanceSpec")
            };
            spec.storage_encrypted = true;
            stack.add_in(
                &replica.region,
                format!("db-replica-{}", replica.region),
                spec,
            );
        }
    }
    Ok(())
}

/// ElastiCache Redis (2.3): cluster mode, shards with replicas, encrypted, failover.
pub(crate) fn cache(env: &Environment, stack: &mut Stack, p: &Placement<'_>) {
    let envname = &env.stack.environment;
    let cache = &env.cache;
    let cache_subnets = stack.add(
        "cache-subnets",
        CacheSubnetGroupSpec {
            vpc_id: Some(p.vpc.id()),
            name: format!("greenlang-{envname}-cache"),
            description: format!("GreenLang {envname} data subnets"),
            subnet_ids: p.data.clone(),
        },
    );
    let mut cache_parameters = cache.parameters.clone();
    cache_parameters.insert("cluster-enabled".into(), "yes".into());
    let major = major_version(&cache.engine_version);
    let family = &cache.parameter_group_family;
    let cache_params = stack.add(
        "cache-params",
        CacheParameterGroupSpec {
            // Parameter group names take letters, digits and hyphens only (`redis6.x`).
            name: format!("greenlang-{envname}-{}", family.replace('.', "-")),
            family: family.clone(),
            description: format!("GreenLang {envname} Redis {major} settings"),
            parameters: cache_parameters,
        },
    );
    let redis = stack.add(
        "redis",
        ReplicationGroupSpec {
            id: format!("greenlang-{envname}"),
            description: format!("GreenLang {envname} cache"),
            engine_version: cache.engine_version.clone(),
            node_type: cache.node_type.clone(),
            num_node_groups: cache.shards,
            replicas_per_node_group: cache.replicas_per_shard,
            cache_subnet_group_name: cache_subnets.name(),
            cache_parameter_group_name: cache_params.name(),
            security_group_ids: vec![p.sg_redis.clone()],
            at_rest_encryption: true,
            kms_key_id: Some(p.key.clone()),
            transit_encryption: true,
            transit_encryption_mode: None,
            automatic_failover: true,
            multi_az: cache.replicas_per_shard > 0,
            snapshot_retention_days: cache.snapshot_retention_days,
            port: env.security.redis_port,
        },
    );
    stack.export(
        "redis_configuration_endpoint",
        redis.configuration_endpoint(),
    );
}

/// MSK Kafka (2.6): configuration and cluster, TLS in transit, KMS at rest.
pub(crate) fn kafka(env: &Environment, stack: &mut Stack, p: &Placement<'_>) {
    let envname = &env.stack.environment;
    let kafka = &env.kafka;
    let configuration = stack.add(
        "kafka-config",
        MskConfigurationSpec {
            name: format!("greenlang-{envname}"),
            kafka_versions: vec![kafka.version.clone()],
            server_properties: kafka.server_properties.clone(),
        },
    );
    let msk = stack.add(
        "kafka",
        MskClusterSpec {
            name: format!("greenlang-{envname}"),
            kafka_version: kafka.version.clone(),
            broker_count: kafka.broker_count,
            instance_type: kafka.instance_type.clone(),
            client_subnets: p.app.clone(),
            security_groups: vec![p.sg_kafka.clone()],
            volume_size_gb: kafka.volume_size_gb,
            configuration_arn: configuration.arn(),
            configuration_revision: configuration.latest_revision(),
            kms_key_arn: p.key.clone(),
            client_broker_encryption: kafka.client_broker_encryption,
        },
    );
    stack.export("kafka_arn", msk.arn());
}
