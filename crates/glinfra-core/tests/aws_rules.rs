//! AWS's rules known before any call, one row per rule: a valid and an invalid
//! value, and the field the error names. Each row cites where AWS documents it.

mod common;

use glinfra_core::spec::rds::{
    DbInstanceSpec, DbParameterGroupSpec, DbSubnetGroupSpec, StorageType,
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
    let mut db = common::postgres_primary("rules-db", subnets.name());
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
                transit_encryption_mode: None,
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

mod names_and_limits {
    //! Names and limits, one row per rule: a resource `r` alone in a stack, valid,
    //! then with one value broken. Every message quotes AWS.

    use glinfra_core::spec::ec2::{IpProtocol, SecurityGroupRule, SecurityGroupSpec};
    use glinfra_core::spec::eks::{CapacityType, EksClusterSpec, EksNodeGroupSpec};
    use glinfra_core::spec::elasticache::{
        CacheParameterGroupSpec, CacheSubnetGroupSpec, ReplicationGroupSpec,
    };
    use glinfra_core::spec::iam::IamRoleSpec;
    use glinfra_core::spec::kms::KmsKeySpec;
    use glinfra_core::spec::logs::LogGroupSpec;
    use glinfra_core::spec::msk::{ClientBrokerEncryption, MskClusterSpec, MskConfigurationSpec};
    use glinfra_core::spec::rds::{DbInstanceSpec, DbParameterGroupSpec, DbSubnetGroupSpec};
    use glinfra_core::{Input, ResourceGraph, ResourceSpec, Stack};
    use std::collections::BTreeMap;

    /// One rule: its name, the field the error names, the stack with a valid value,
    /// the stack with an invalid one, and what the message says.
    struct Row {
        rule: &'static str,
        field: &'static str,
        valid: Stack,
        invalid: Stack,
        says: String,
    }

    fn alone<S: ResourceSpec>(spec: S) -> Stack {
        let mut stack = Stack::new("rules", "us-east-1");
        stack.add("r", spec);
        stack
    }

    /// A row for `base` with `valid` and `invalid` applied to copies of it.
    fn row<S: ResourceSpec + Clone>(
        rule: &'static str,
        field: &'static str,
        base: &S,
        valid: impl Fn(&mut S),
        invalid: impl Fn(&mut S),
        says: impl Into<String>,
    ) -> Row {
        let (mut ok, mut bad) = (base.clone(), base.clone());
        valid(&mut ok);
        invalid(&mut bad);
        Row {
            rule,
            field,
            valid: alone(ok),
            invalid: alone(bad),
            says: says.into(),
        }
    }

    fn db_subnet_group() -> DbSubnetGroupSpec {
        DbSubnetGroupSpec {
            vpc_id: None,
            name: "rules-db".into(),
            description: "db".into(),
            subnet_ids: vec![Input::from("subnet-a"), Input::from("subnet-b")],
        }
    }

    fn db_parameter_group() -> DbParameterGroupSpec {
        DbParameterGroupSpec {
            name: "rules-pg15".into(),
            family: "postgres15".into(),
            description: "pg".into(),
            parameters: BTreeMap::new(),
        }
    }

    fn db_instance() -> DbInstanceSpec {
        super::common::postgres_primary("rules-db", Input::from("rules-db"))
    }

    fn cache_subnet_group() -> CacheSubnetGroupSpec {
        CacheSubnetGroupSpec {
            vpc_id: None,
            name: "rules-cache".into(),
            description: "cache".into(),
            subnet_ids: vec![Input::from("subnet-a")],
        }
    }

    fn cache_parameter_group() -> CacheParameterGroupSpec {
        CacheParameterGroupSpec {
            name: "rules-redis7".into(),
            family: "redis7".into(),
            description: "redis".into(),
            parameters: BTreeMap::new(),
        }
    }

    fn redis() -> ReplicationGroupSpec {
        ReplicationGroupSpec {
            id: "rules".into(),
            description: "cache".into(),
            engine_version: "7.0".into(),
            node_type: "cache.r6g.large".into(),
            num_node_groups: 3,
            replicas_per_node_group: 1,
            cache_subnet_group_name: Input::from("rules-cache"),
            cache_parameter_group_name: Input::from("rules-redis7"),
            security_group_ids: Vec::new(),
            at_rest_encryption: true,
            kms_key_id: None,
            transit_encryption: true,
            transit_encryption_mode: None,
            automatic_failover: true,
            multi_az: true,
            snapshot_retention_days: 7,
            port: 6379,
        }
    }

    fn eks() -> EksClusterSpec {
        EksClusterSpec {
            name: "rules".into(),
            version: "1.29".into(),
            role_arn: Input::from("arn:aws:iam::111122223333:role/eks"),
            subnet_ids: vec![Input::from("subnet-a"), Input::from("subnet-b")],
            security_group_ids: Vec::new(),
            endpoint_private_access: true,
            endpoint_public_access: false,
            enabled_log_types: Vec::new(),
            secrets_kms_key_arn: None,
        }
    }

    fn node_group() -> EksNodeGroupSpec {
        EksNodeGroupSpec {
            cluster_name: Input::from("rules"),
            name: "workers".into(),
            node_role_arn: Input::from("arn:aws:iam::111122223333:role/node"),
            subnet_ids: vec![Input::from("subnet-a")],
            instance_types: vec!["m6i.xlarge".into()],
            capacity_type: CapacityType::OnDemand,
            disk_size: 50,
            version: String::new(),
            ami_type: None,
            min_size: 1,
            max_size: 10,
            desired_size: 1,
            labels: BTreeMap::new(),
            taints: Vec::new(),
        }
    }

    fn msk_configuration() -> MskConfigurationSpec {
        MskConfigurationSpec {
            name: "rules".into(),
            kafka_versions: vec!["3.5.1".into()],
            server_properties: BTreeMap::new(),
        }
    }

    fn kafka() -> MskClusterSpec {
        MskClusterSpec {
            name: "rules".into(),
            kafka_version: "3.5.1".into(),
            broker_count: 3,
            instance_type: "kafka.m5.large".into(),
            client_subnets: ["subnet-a", "subnet-b", "subnet-c"]
                .map(Input::from)
                .to_vec(),
            security_groups: Vec::new(),
            volume_size_gb: 100,
            configuration_arn: Input::from("arn:aws:kafka:us-east-1:111122223333:configuration/c"),
            configuration_revision: Input::Value(1),
            kms_key_arn: Input::from("arn:aws:kms:us-east-1:111122223333:key/k"),
            client_broker_encryption: ClientBrokerEncryption::Tls,
        }
    }

    fn security_group() -> SecurityGroupSpec {
        SecurityGroupSpec {
            vpc_id: Input::from("vpc-1"),
            name: "rules-postgres".into(),
            description: "PostgreSQL from the app subnets".into(),
            ingress: vec![tcp(5432, 1)],
            egress: Vec::new(),
        }
    }

    /// A TCP rule on `port` from `n` distinct /32 blocks.
    fn tcp(port: i32, n: usize) -> SecurityGroupRule {
        SecurityGroupRule {
            protocol: IpProtocol::Tcp,
            from_port: port,
            to_port: port,
            cidr_blocks: (0..n)
                .map(|i| format!("10.0.{}.{}/32", i / 250, i % 250))
                .collect(),
            description: "app subnets".into(),
        }
    }

    fn rows() -> Vec<Row> {
        let name = |n: &str| n.to_string();
        vec![
            // Names (glinfra_core::names, each const citing its API reference).
            row(
                "RDS DB instance identifier",
                "identifier",
                &db_instance(),
                |s| s.identifier = name("greenlang-prod-primary"),
                |s| s.identifier = name("greenlang--prod"),
                "it has two hyphens in a row",
            ),
            row(
                "RDS DB parameter group name",
                "name",
                &db_parameter_group(),
                |s| s.name = name("greenlang-prod-postgres15"),
                |s| s.name = name("greenlang-prod-postgres15.4"),
                "it has `.`",
            ),
            row(
                "RDS DB subnet group name: not `default`",
                "name",
                &db_subnet_group(),
                |s| s.name = name("greenlang prod_data.1"),
                |s| s.name = name("default"),
                "AWS keeps that name for itself",
            ),
            row(
                "RDS DB subnet group name: a letter first",
                "name",
                &db_subnet_group(),
                |s| s.name = name("d1"),
                |s| s.name = name("1d"),
                "it starts with `1`, not a letter",
            ),
            row(
                "ElastiCache replication group id",
                "id",
                &redis(),
                |s| s.id = name("greenlang-prod"),
                |s| s.id = name("Greenlang-prod"),
                "the capital `G`",
            ),
            row(
                "ElastiCache subnet group name",
                "name",
                &cache_subnet_group(),
                |s| s.name = name("greenlang-prod-cache"),
                |s| s.name = name("greenlang_prod_cache"),
                "it has `_`",
            ),
            row(
                "ElastiCache parameter group name",
                "name",
                &cache_parameter_group(),
                |s| s.name = name("greenlang-prod-redis6-x"),
                |s| s.name = name("greenlang-prod-redis6.x"),
                "it has `.`",
            ),
            row(
                "EKS cluster name",
                "name",
                &eks(),
                |s| s.name = name("greenlang_prod-1"),
                |s| s.name = name("greenlang.prod"),
                "it has `.`",
            ),
            row(
                "EKS node group name",
                "name",
                &node_group(),
                |s| s.name = format!("1{}", "a".repeat(62)),
                |s| s.name = "a".repeat(64),
                "it has 64 characters, more than 63",
            ),
            row(
                "EKS node group name: a letter or digit first",
                "name",
                &node_group(),
                |s| s.name = name("api_gateway-spot"),
                |s| s.name = name("_api"),
                "not a letter or digit",
            ),
            row(
                "MSK cluster name",
                "name",
                &kafka(),
                |s| s.name = name("greenlang-prod"),
                |s| s.name = name("greenlang_prod"),
                "it has `_`",
            ),
            row(
                "MSK configuration name",
                "name",
                &msk_configuration(),
                |s| s.name = name("1-greenlang"),
                |s| s.name = name("-greenlang"),
                "not a letter or digit",
            ),
            row(
                "IAM role name: characters",
                "name",
                &IamRoleSpec::for_service("r", "ec2.amazonaws.com"),
                |s| s.name = name("svc+a=b,c.d@e_f-g"),
                |s| s.name = name("svc/role"),
                "it has `/`",
            ),
            row(
                "IAM role name: 64 characters",
                "name",
                &IamRoleSpec::for_service("r", "ec2.amazonaws.com"),
                |s| s.name = "r".repeat(64),
                |s| s.name = "r".repeat(65),
                "more than 64",
            ),
            row(
                "IAM role path",
                "path",
                &IamRoleSpec::for_service("r", "ec2.amazonaws.com"),
                |s| s.path = name("/greenlang/prod/"),
                |s| s.path = name("/greenlang"),
                "it does not end with `/`",
            ),
            row(
                "security group name: not `sg-`",
                "name",
                &security_group(),
                |s| s.name = name("greenlang prod: (postgres) #1"),
                |s| s.name = name("sg-postgres"),
                "it starts with `sg-`",
            ),
            row(
                "security group description: characters",
                "description",
                &security_group(),
                |s| {
                    s.description =
                        name("GreenLang prod: PostgreSQL [5432] from {app}; a&b=c+d @e !$*")
                },
                |s| s.description = name("base de données"),
                "it has `é`",
            ),
            row(
                "security group description: 255 characters",
                "description",
                &security_group(),
                |s| s.description = "d".repeat(255),
                |s| s.description = "d".repeat(256),
                "more than 255",
            ),
            row(
                "security group rule description",
                "ingress[0].description",
                &security_group(),
                |s| s.ingress[0].description = name("from the app subnets (5432)"),
                |s| s.ingress[0].description = name("the app's subnets"),
                "it has `'`",
            ),
            row(
                "KMS alias: not `alias/aws/`",
                "alias",
                &KmsKeySpec::new("k", "key"),
                |s| s.alias = name("greenlang/prod:data_1"),
                |s| s.alias = name("aws/prod"),
                "it starts with `alias/aws/`",
            ),
            row(
                "KMS alias: 256 characters with `alias/`",
                "alias",
                &KmsKeySpec::new("k", "key"),
                |s| s.alias = "k".repeat(250),
                |s| s.alias = "k".repeat(251),
                "it has 257 characters, more than 256",
            ),
            row(
                "KMS alias: given without `alias/`",
                "alias",
                &KmsKeySpec::new("k", "key"),
                |s| s.alias = name("greenlang-prod"),
                |s| s.alias = name("alias/greenlang-prod"),
                "without its `alias/` prefix",
            ),
            row(
                "log group name: not `aws/`",
                "name",
                &LogGroupSpec::new("g", 30),
                |s| s.name = name("/greenlang/prod/vpc-flow-logs#1"),
                |s| s.name = name("aws/vpc"),
                "it starts with `aws/`",
            ),
            row(
                "log group name: characters",
                "name",
                &LogGroupSpec::new("g", 30),
                |s| s.name = name("/a.b_c-d#e"),
                |s| s.name = name("/flow logs"),
                "it has a space",
            ),
            // Limits.
            row(
                "rules per security group and direction",
                "ingress",
                &security_group(),
                |s| s.ingress = vec![tcp(5432, 30), tcp(6379, 30)],
                |s| s.ingress = vec![tcp(5432, 30), tcp(6379, 31)],
                "61 ingress rules",
            ),
            row(
                "rules per security group: egress too",
                "egress",
                &security_group(),
                |s| s.egress = vec![tcp(443, 60)],
                |s| s.egress = vec![tcp(443, 61)],
                "at most 60 in each direction",
            ),
            row(
                "nodes per managed node group",
                "max_size",
                &node_group(),
                |s| s.max_size = 450,
                |s| s.max_size = 451,
                "at most 450",
            ),
            row(
                "control-plane security groups per EKS cluster",
                "security_group_ids",
                &eks(),
                |s| s.security_group_ids = vec![Input::from("sg-1"); 4],
                |s| s.security_group_ids = vec![Input::from("sg-1"); 5],
                "at most 4",
            ),
            row(
                "shards per replication group",
                "num_node_groups",
                &redis(),
                |s| s.num_node_groups = 1,
                |s| s.num_node_groups = 0,
                "1 to 500",
            ),
            row(
                "replicas per shard",
                "replicas_per_node_group",
                &redis(),
                |s| s.replicas_per_node_group = 5,
                |s| s.replicas_per_node_group = 6,
                "0 to 5",
            ),
            row(
                "nodes per replication group",
                "num_node_groups",
                &redis(),
                |s| {
                    s.num_node_groups = 250;
                    s.replicas_per_node_group = 1
                },
                |s| {
                    s.num_node_groups = 126;
                    s.replicas_per_node_group = 3
                },
                "make 504 nodes, more than 500",
            ),
            row(
                "MSK brokers: a multiple of the client subnets",
                "broker_count",
                &kafka(),
                |s| s.broker_count = 6,
                |s| s.broker_count = 4,
                "must be a multiple of the 3 subnets",
            ),
            row(
                "MSK brokers: at least one per zone",
                "broker_count",
                &kafka(),
                |s| s.broker_count = 3,
                |s| s.broker_count = 0,
                "at least one broker in each",
            ),
            row(
                "MSK client subnets: two or three",
                "client_subnets",
                &kafka(),
                |s| {
                    s.client_subnets.truncate(2);
                    s.broker_count = 2
                },
                |s| s.client_subnets.push(Input::from("subnet-d")),
                "two or three client subnets",
            ),
            row(
                "MSK storage per broker",
                "volume_size_gb",
                &kafka(),
                |s| s.volume_size_gb = 16384,
                |s| s.volume_size_gb = 16385,
                "1 to 16384 GiB",
            ),
        ]
    }

    /// The error on `field` of `r`, if any.
    fn error_on(stack: &Stack, field: &str) -> Option<String> {
        let err = ResourceGraph::build(stack).err()?;
        let at = format!("resource `r`, field `{field}`: ");
        err.to_string()
            .lines()
            .find(|l| l.contains(&at))
            .map(str::to_string)
    }

    #[test]
    fn every_rule_accepts_its_valid_value_and_refuses_its_invalid_one() {
        for Row {
            rule,
            field,
            valid,
            invalid,
            says,
        } in rows()
        {
            if let Err(e) = ResourceGraph::build(&valid) {
                panic!("{rule}: the valid value was refused:\n{e}");
            }
            let message = error_on(&invalid, field).unwrap_or_else(|| {
                panic!(
                    "{rule}: no error on `{field}`: {:?}",
                    ResourceGraph::build(&invalid).err()
                )
            });
            assert!(message.contains(&says), "{rule}: {message}");
            assert!(
                message.contains('"'),
                "{rule} does not quote AWS: {message}"
            );
        }
    }

    #[test]
    fn msk_in_us_west_1_takes_exactly_two_subnets() {
        // MSK API Reference, BrokerNodeGroupInfo ClientSubnets.
        let mut stack = Stack::new("rules", "us-west-1");
        stack.add("r", kafka());
        let message = error_on(&stack, "client_subnets").unwrap_or_default();
        assert!(message.contains("exactly two in us-west-1"), "{message}");
    }
}

/// S3 replication V2 (PutBucketReplication, "Replication configuration"): each rule
/// has its own id and its own priority; two destinations need two priorities.
#[test]
fn replication_rules_need_distinct_ids_and_priorities() {
    use glinfra_core::spec::s3::{BucketSpec, Replication, ReplicationRule};
    let bucket = |rules: &[(&str, i32)]| {
        let mut stack = Stack::new("rules", "us-east-1");
        let mut spec = BucketSpec::new("rules-backups");
        spec.versioning = true;
        spec.replication = Some(Replication {
            role_arn: Input::from("arn:aws:iam::1:role/r"),
            rules: rules
                .iter()
                .map(|(id, priority)| ReplicationRule {
                    id: id.to_string(),
                    priority: *priority,
                    prefix: String::new(),
                    destination_bucket_arn: Input::from(format!("arn:aws:s3:::rules-{id}")),
                    storage_class: None,
                    replica_kms_key_arn: None,
                })
                .collect(),
        });
        stack.add("bucket", spec);
        stack
    };
    let error_on = |stack: &Stack, field: &str| {
        let err = ResourceGraph::build(stack).err()?;
        err.to_string()
            .lines()
            .find(|l| l.contains("`bucket`") && l.contains(field))
            .map(str::to_string)
    };
    assert_eq!(
        error_on(
            &bucket(&[("to-us-west-2", 1), ("to-eu-west-1", 2)]),
            "replication.rules.priority"
        ),
        None
    );
    let same_priority = error_on(
        &bucket(&[("to-us-west-2", 1), ("to-eu-west-1", 1)]),
        "replication.rules.priority",
    )
    .expect("refused");
    assert!(
        same_priority.contains("priority 1 is given to two rules"),
        "{same_priority}"
    );
    let same_id = error_on(
        &bucket(&[("to-us-west-2", 1), ("to-us-west-2", 2)]),
        "replication.rules.id",
    )
    .expect("refused");
    assert!(
        same_id.contains("`to-us-west-2` appears twice"),
        "{same_id}"
    );
}

#[test]
fn a_stack_declares_what_aws_allows_once_per_account_at_most_once() {
    use glinfra_core::spec::guardduty::{FindingFrequency, GuardDutyDetectorSpec};
    use glinfra_core::spec::shield::{AutoRenew, ShieldSubscriptionSpec};
    let detector = || GuardDutyDetectorSpec {
        enable: true,
        finding_publishing_frequency: FindingFrequency::SixHours,
        features: vec![],
    };
    let mut stack = Stack::new("s", "us-east-1");
    stack.add("guardduty", detector());
    stack.add_in("us-west-2", "guardduty-dr", detector());
    if let Err(e) = ResourceGraph::build(&stack) {
        panic!("one per region: {e}");
    }
    stack.add("guardduty-again", detector());
    let err = ResourceGraph::build(&stack).unwrap_err().to_string();
    assert!(
        err.contains("guardduty-again")
            && err.contains("a second aws:guardduty/detector in us-east-1")
            && err.contains("one per account and region (`guardduty` is declared already)"),
        "{err}"
    );

    // Shield Advanced: one per account, whatever the region.
    let mut stack = Stack::new("s", "us-east-1");
    let shield = || ShieldSubscriptionSpec {
        auto_renew: AutoRenew::Enabled,
    };
    stack.add("shield", shield());
    stack.add_in("us-west-2", "shield-west", shield());
    let err = ResourceGraph::build(&stack).unwrap_err().to_string();
    assert!(
        err.contains("a second aws:shield/subscription in the account: AWS allows one per account"),
        "{err}"
    );
}
