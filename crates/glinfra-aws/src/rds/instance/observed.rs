//! The instance as a refresh reads it: what a DB instance is as a spec, with the
//! values RDS spells differently read as recorded.

use super::*;

/// True when the live engine version `live` needs no change for the spec's
/// `wanted`: the same, a release of it (`15.5` for `15`), or a newer minor of its
/// major version (automatic minor upgrades; RDS never downgrades).
pub(super) fn same_release(engine: &str, wanted: &str, live: &str) -> bool {
    !upgrade_to(wanted, live) && major(engine, wanted) == major(engine, live)
}

/// The ARN of a replica's source, which RDS reports as an identifier (same region)
/// or an ARN (another region): an identifier is made an ARN of the replica's own
/// partition, region and account.
pub(super) fn source_arn(db: &DbInstance, source: &str) -> String {
    if source.starts_with("arn:") {
        return source.to_string();
    }
    match db.db_instance_arn().and_then(|a| a.rsplit_once(':')) {
        Some((prefix, _)) => format!("{prefix}:{source}"),
        None => source.to_string(),
    }
}

/// What the instance `db` is as a spec, against the `recorded` one (see the module
/// documentation for the values read as recorded). `None` when it cannot be read
/// whole and there is no record (an engine or storage type glinfra does not offer).
pub(super) fn live_spec(
    db: &DbInstance,
    recorded: Option<&DbInstanceSpec>,
) -> Option<DbInstanceSpec> {
    let engine = db
        .engine()
        .and_then(|e| e.parse().ok())
        .or(recorded.map(|r| r.engine))?;
    let storage_type = db
        .storage_type()
        .and_then(|t| t.parse().ok())
        .or(recorded.map(|r| r.storage_type))?;
    let live_version = db.engine_version().unwrap_or_default();
    let engine_version = match recorded {
        Some(r) if same_release(engine.as_str(), &r.engine_version, live_version) => {
            r.engine_version.clone()
        }
        _ => live_version.to_string(),
    };
    let live_storage = db.allocated_storage().unwrap_or(0);
    let allocated_storage = match recorded {
        Some(r) if live_storage >= r.allocated_storage => r.allocated_storage,
        _ => live_storage,
    };
    let window = db.preferred_maintenance_window().unwrap_or_default();
    let maintenance_window = match recorded {
        Some(r) if r.maintenance_window.eq_ignore_ascii_case(window) => {
            r.maintenance_window.clone()
        }
        _ => window.to_string(),
    };
    let replica_of = db.read_replica_source_db_instance_identifier();
    let replicate_from = replica_of.map(|source| {
        let arn = source_arn(db, source);
        match recorded.and_then(|r| r.replicate_from.as_ref()) {
            Some(r) if r.value().is_some_and(|v| *v == arn || v == source) => r.clone(),
            _ => Input::Value(arn),
        }
    });
    let groups: Vec<&str> = db
        .db_parameter_groups()
        .iter()
        .filter_map(|g| g.db_parameter_group_name())
        .collect();
    let parameter_group_name = filled(recorded.map(|r| &r.parameter_group_name), |r| {
        let same = r.filter(|r| {
            r.value()
                .is_some_and(|n| groups.iter().any(|g| g.eq_ignore_ascii_case(n)))
        });
        same.cloned()
            .or_else(|| groups.first().map(|g| Input::Value(g.to_string())))
    });
    let subnet_group = db.db_subnet_group().and_then(|g| g.db_subnet_group_name());
    let security_groups = db
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id());
    let iops = filled(recorded.map(|r| &r.iops), |_| {
        // gp3 under its threshold reports its baseline, which no spec sets.
        let settable = storage_type.provisioned_iops()
            || (storage_type == glinfra_core::spec::rds::StorageType::Gp3 && live_storage >= 400);
        db.iops().filter(|_| recorded.is_some() || settable)
    });
    Some(DbInstanceSpec {
        identifier: match (recorded, db.db_instance_identifier().unwrap_or_default()) {
            // RDS keeps identifiers in lower case.
            (Some(r), id) if r.identifier.eq_ignore_ascii_case(id) => r.identifier.clone(),
            (_, id) => id.to_string(),
        },
        engine,
        engine_version,
        instance_class: db.db_instance_class().unwrap_or_default().to_string(),
        allocated_storage,
        storage_type,
        iops,
        storage_encrypted: db.storage_encrypted().unwrap_or(false),
        kms_key_id: filled(recorded.map(|r| &r.kms_key_id), |r| {
            read::key(r, db.kms_key_id())
        }),
        multi_az: db.multi_az().unwrap_or(false),
        // A Multi-AZ instance's zone is its primary's now: no spec sets it.
        availability_zone: filled(recorded.map(|r| &r.availability_zone), |_| {
            db.availability_zone()
                .filter(|_| db.multi_az() != Some(true))
                .map(str::to_owned)
        }),
        backup_retention_days: db.backup_retention_period().unwrap_or(0),
        maintenance_window,
        deletion_protection: db.deletion_protection().unwrap_or(false),
        vpc_id: filled(recorded.map(|r| &r.vpc_id), |r| {
            let vpc = db.db_subnet_group().and_then(|g| g.vpc_id());
            vpc.map(|v| read::name(r, v))
        }),
        db_subnet_group_name: filled(recorded.map(|r| &r.db_subnet_group_name), |r| {
            subnet_group.map(|g| read::name(r, g))
        }),
        parameter_group_name,
        // None named: whatever RDS chose (the VPC's default group) is kept, so not read.
        vpc_security_group_ids: match recorded {
            Some(r) if r.vpc_security_group_ids.is_empty() => Vec::new(),
            _ => read::ids(
                security_groups,
                recorded.map(|r| r.vpc_security_group_ids.as_slice()),
            ),
        },
        // A replica reports its source's user name; it declares none.
        master_username: filled(recorded.map(|r| &r.master_username), |_| {
            db.master_username()
                .filter(|_| replica_of.is_none())
                .map(str::to_owned)
        }),
        // The driver never sends it (a primary's password is always managed): what
        // the record says stands; an unknown instance says what it has.
        manage_master_user_password: recorded
            .map(|r| r.manage_master_user_password)
            .unwrap_or(db.master_user_secret().is_some()),
        replicate_from,
    })
}
