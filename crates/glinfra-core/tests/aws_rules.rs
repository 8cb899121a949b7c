//! AWS's rules known before any call, one row per rule: a valid and an invalid
//! value, and the field the error names. Each row cites where AWS documents it.

use glinfra_core::spec::rds::{
    DbEngine, DbInstanceSpec, DbParameterGroupSpec, DbSubnetGroupSpec, StorageType,
};
use glinfra_core::{Input, ResourceGraph, Stack};
use std::collections::BTreeMap;

/// A valid PostgreSQL 15 primary with its subnet and parameter groups.
fn stack_with(edit: impl FnOnce(&mut DbInstanceSpec, &mut DbParameterGroupSpec)) -> Stack {
    let mut stack = Stack::new("rules", "us-east-1");
    let subnets = stack.add(
        "db-subnets",
        DbSubnetGroupSpec {
            vpc_id: None,
            name: "rules-db".into(),
            description: "db".into(),
            subnet_ids: vec![Input::from("subnet-a"), Input::from("subnet-b")],
        },
    );
    let mut params = DbParameterGroupSpec {
        name: "rules-pg15".into(),
        family: "postgres15".into(),
        description: "pg".into(),
        parameters: BTreeMap::new(),
    };
    let mut db = DbInstanceSpec {
        identifier: "rules-db".into(),
        engine: DbEngine::Postgres,
        engine_version: "15".into(),
        instance_class: "db.r6g.large".into(),
        allocated_storage: 200,
        storage_type: StorageType::Gp3,
        iops: None,
        storage_encrypted: false,
        kms_key_id: None,
        multi_az: false,
        backup_retention_days: 7,
        maintenance_window: "sun:03:00-sun:04:00".into(),
        deletion_protection: false,
        db_subnet_group_name: Some(subnets.name()),
        parameter_group_name: None,
        vpc_security_group_ids: Vec::new(),
        master_username: Some("greenlang".into()),
        manage_master_user_password: true,
        replicate_from: None,
    };
    edit(&mut db, &mut params);
    let params = stack.add("db-params", params);
    db.parameter_group_name = Some(params.name());
    stack.add("db", db);
    stack
}

/// The error of `stack` on `field` of `db`, if any.
fn error_on(stack: &Stack, field: &str) -> Option<String> {
    let err = ResourceGraph::build(stack).err()?;
    err.to_string()
        .lines()
        .find(|l| l.contains("`db`") && l.contains(field))
        .map(str::to_string)
}

type Edit = fn(&mut DbInstanceSpec, &mut DbParameterGroupSpec);

/// (rule, field, valid edit, invalid edit, what the message says)
const RULES: &[(&str, &str, Edit, Edit, &str)] = &[
    (
        // RDS User Guide, "Amazon RDS DB instance storage": gp3 under 400 GiB (PostgreSQL,
        // MySQL, MariaDB) has a fixed baseline and takes no IOPS.
        "gp3 IOPS only from 400 GiB",
        "iops",
        |db, _| {
            db.allocated_storage = 400;
            db.iops = Some(12_000)
        },
        |db, _| db.iops = Some(3000),
        "baseline of 3000 IOPS",
    ),
    (
        "gp3 IOPS from 12000 to 64000",
        "iops",
        |db, _| {
            db.allocated_storage = 500;
            db.iops = Some(64_000)
        },
        |db, _| {
            db.allocated_storage = 500;
            db.iops = Some(70_000)
        },
        "12000 to 64000",
    ),
    (
        // Same page: io1 takes 0.5 to 50 IOPS per GiB, io2 0.5 to 1000.
        "io1 IOPS-to-storage ratio",
        "iops",
        |db, _| {
            db.storage_type = StorageType::Io1;
            db.iops = Some(10_000)
        },
        |db, _| {
            db.storage_type = StorageType::Io1;
            db.iops = Some(20_000)
        },
        "0.5 to 50 IOPS per GiB",
    ),
    (
        "io2 IOPS-to-storage ratio",
        "iops",
        |db, _| {
            db.storage_type = StorageType::Io2;
            db.iops = Some(200_000)
        },
        |db, _| {
            db.storage_type = StorageType::Io2;
            db.allocated_storage = 100;
            db.iops = Some(200_000)
        },
        "0.5 to 1000 IOPS per GiB",
    ),
    (
        "io1/io2 need IOPS",
        "iops",
        |db, _| {
            db.storage_type = StorageType::Io2;
            db.iops = Some(3000)
        },
        |db, _| db.storage_type = StorageType::Io2,
        "needs provisioned IOPS",
    ),
    (
        "gp2 takes no IOPS",
        "iops",
        |db, _| db.storage_type = StorageType::Gp2,
        |db, _| {
            db.storage_type = StorageType::Gp2;
            db.iops = Some(3000)
        },
        "takes no IOPS",
    ),
    (
        "storage size per type",
        "allocated_storage",
        |db, _| {
            db.storage_type = StorageType::Io1;
            db.allocated_storage = 100;
            db.iops = Some(1000)
        },
        |db, _| {
            db.storage_type = StorageType::Io1;
            db.allocated_storage = 50;
            db.iops = Some(1000)
        },
        "100 to 65536 GiB",
    ),
    (
        // RDS User Guide, "Supported PostgreSQL major versions".
        "engine version offered",
        "engine_version",
        |db, _| db.engine_version = "15.10".into(),
        |db, _| db.engine_version = "15.99".into(),
        "not one AWS offers",
    ),
    (
        // RDS User Guide, "Working with DB parameter groups": the family matches the major version.
        "parameter group family matches the version",
        "parameter_group_name",
        |db, p| {
            db.engine_version = "16".into();
            p.family = "postgres16".into()
        },
        |db, _| db.engine_version = "16".into(),
        "needs `postgres16`",
    ),
];

/// The stack with a read replica of the primary, whose backups `edit` may turn off.
fn with_replica(retention: i32) -> Stack {
    let mut stack = stack_with(|db, _| db.backup_retention_days = retention);
    let mut replica = stack.get("db").unwrap().spec::<DbInstanceSpec>().unwrap();
    replica.identifier = "rules-db-replica".into();
    replica.master_username = None;
    replica.backup_retention_days = 0;
    replica.replicate_from = Some(Input::output("db", "arn"));
    stack.add("replica", replica);
    stack
}

#[test]
fn a_read_replica_needs_a_source_with_backups() {
    // RDS User Guide, "Working with DB instance read replicas".
    assert!(ResourceGraph::build(&with_replica(7)).is_ok());
    let err = ResourceGraph::build(&with_replica(0))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("replica") && err.contains("keeps no automated backups"),
        "{err}"
    );
}

#[test]
fn every_rule_accepts_its_valid_value_and_refuses_its_invalid_one() {
    assert_eq!(
        error_on(&stack_with(|_, _| {}), ""),
        None,
        "the base is valid"
    );
    for (rule, field, valid, invalid, says) in RULES {
        let ok = stack_with(*valid);
        assert!(
            ResourceGraph::build(&ok).is_ok(),
            "{rule}: the valid value was refused: {}",
            ResourceGraph::build(&ok).unwrap_err()
        );
        let bad = stack_with(*invalid);
        let message = error_on(&bad, field)
            .unwrap_or_else(|| panic!("{rule}: the invalid value passed (no error on `{field}`)"));
        assert!(message.contains(says), "{rule}: {message}");
    }
}

mod versions {
    //! Engine and platform versions against `data/aws-offers.toml`, and the
    //! parameter-group families and configurations that must match them.

    use glinfra_core::spec::eks::EksClusterSpec;
    use glinfra_core::spec::elasticache::{CacheParameterGroupSpec, ReplicationGroupSpec};
    use glinfra_core::spec::msk::{ClientBrokerEncryption, MskClusterSpec, MskConfigurationSpec};
    use glinfra_core::{Input, ResourceGraph, Stack};
    use std::collections::BTreeMap;

    fn errors(stack: &Stack) -> String {
        ResourceGraph::build(stack)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    fn eks(version: &str) -> Stack {
        let mut stack = Stack::new("rules", "us-east-1");
        stack.add(
            "eks",
            EksClusterSpec {
                name: "rules".into(),
                version: version.into(),
                role_arn: Input::from("arn:aws:iam::111122223333:role/eks"),
                subnet_ids: vec![Input::from("subnet-a"), Input::from("subnet-b")],
                security_group_ids: Vec::new(),
                endpoint_private_access: true,
                endpoint_public_access: false,
                enabled_log_types: Vec::new(),
                secrets_kms_key_arn: None,
            },
        );
        stack
    }

    #[test]
    fn kubernetes_versions_are_those_eks_offers() {
        // EKS User Guide, "Understand the Kubernetes version lifecycle on EKS".
        assert_eq!(errors(&eks("1.29")), "");
        assert!(errors(&eks("1.19")).contains("Kubernetes version `1.19` is not one AWS offers"));
    }

    fn redis(version: &str, family: &str) -> Stack {
        let mut stack = Stack::new("rules", "us-east-1");
        let params = stack.add(
            "cache-params",
            CacheParameterGroupSpec {
                name: "rules-redis".into(),
                family: family.into(),
                description: "redis".into(),
                parameters: BTreeMap::new(),
            },
        );
        stack.add(
            "redis",
            ReplicationGroupSpec {
                id: "rules".into(),
                description: "cache".into(),
                engine_version: version.into(),
                node_type: "cache.r6g.large".into(),
                num_node_groups: 3,
                replicas_per_node_group: 1,
                cache_subnet_group_name: Input::from("rules-cache"),
                cache_parameter_group_name: params.name(),
                security_group_ids: Vec::new(),
                at_rest_encryption: true,
                kms_key_id: None,
                transit_encryption: true,
                automatic_failover: true,
                multi_az: true,
                snapshot_retention_days: 7,
                port: 6379,
            },
        );
        stack
    }

    #[test]
    fn redis_versions_and_their_parameter_group_family() {
        // ElastiCache User Guide, "Supported engines and versions" and "Parameter groups".
        assert_eq!(errors(&redis("7.0", "redis7")), "");
        assert!(
            errors(&redis("5.9", "redis7")).contains("Redis version `5.9` is not one AWS offers")
        );
        assert!(errors(&redis("7.0", "redis6.x")).contains("Redis 7.0 needs `redis7`"));
    }

    fn kafka(version: &str, configured: &str) -> Stack {
        let mut stack = Stack::new("rules", "us-east-1");
        let config = stack.add(
            "kafka-config",
            MskConfigurationSpec {
                name: "rules".into(),
                kafka_versions: vec![configured.into()],
                server_properties: BTreeMap::new(),
            },
        );
        stack.add(
            "kafka",
            MskClusterSpec {
                name: "rules".into(),
                kafka_version: version.into(),
                broker_count: 3,
                instance_type: "kafka.m5.large".into(),
                client_subnets: vec![
                    Input::from("subnet-a"),
                    Input::from("subnet-b"),
                    Input::from("subnet-c"),
                ],
                security_groups: Vec::new(),
                volume_size_gb: 100,
                configuration_arn: config.arn(),
                configuration_revision: config.latest_revision(),
                kms_key_arn: Input::from("arn:aws:kms:us-east-1:111122223333:key/k"),
                client_broker_encryption: ClientBrokerEncryption::Tls,
            },
        );
        stack
    }

    #[test]
    fn kafka_versions_and_the_configuration_that_applies_to_them() {
        // MSK Developer Guide, "Supported Apache Kafka versions" and "Custom MSK configurations".
        assert_eq!(errors(&kafka("3.5.1", "3.5.1")), "");
        let unknown = errors(&kafka("3.5.9", "3.5.1"));
        assert!(
            unknown.contains("Kafka version `3.5.9` is not one AWS offers"),
            "{unknown}"
        );
        let mismatch = errors(&kafka("3.6.0", "3.5.1"));
        assert!(
            mismatch.contains("applies to Kafka 3.5.1, not to this cluster's 3.6.0"),
            "{mismatch}"
        );
    }
}
