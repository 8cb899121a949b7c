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
