//! ModifyDBInstance: which wanted fields differ from what the instance reports, one
//! call with exactly those (`ApplyImmediately=true`), and how to tell it was applied.
//! A new DB subnet group (in another VPC) goes in the same call as the security
//! groups of that VPC.
//! Storage is never shrunk and the engine never downgraded: AWS refuses both, and
//! storage autoscaling or automatic minor upgrades may have moved past the spec.

use super::{security_groups, unless_busy, wait_usable, Stage};
use crate::error::classify;
use crate::kit::{required, resolved, Changed};
use aws_sdk_rds::types::DbInstance;
use aws_sdk_rds::Client;
use glinfra_core::spec::rds::DbInstanceSpec;
use glinfra_core::Input;
use glinfra_engine::ProviderError;
use std::collections::BTreeSet;

/// True when the live instance shows the wanted value of every field in `fields`
/// that a modification workflow changes.
pub(super) fn reflects(db: &DbInstance, spec: &DbInstanceSpec, fields: &[&str]) -> bool {
    fields.iter().all(|f| match *f {
        "instance_class" => db.db_instance_class() == Some(spec.instance_class.as_str()),
        "allocated_storage" => db.allocated_storage().unwrap_or(0) >= spec.allocated_storage,
        "iops" => spec.iops.is_none() || db.iops() == spec.iops,
        "storage_type" => db.storage_type() == Some(spec.storage_type.as_str()),
        "multi_az" => db.multi_az() == Some(spec.multi_az),
        "backup_retention_days" => db.backup_retention_period() == Some(spec.backup_retention_days),
        "db_subnet_group_name" => match &spec.db_subnet_group_name {
            Some(Input::Value(want)) => {
                subnet_group_of(db).is_some_and(|g| g.eq_ignore_ascii_case(want))
            }
            _ => true,
        },
        "engine_version" => db.engine_version().is_some_and(|v| {
            v == spec.engine_version || v.starts_with(&format!("{}.", spec.engine_version))
        }),
        _ => true,
    })
}

/// True when `db`'s pending modified values still include one of `fields`.
pub(super) fn pending(db: &DbInstance, fields: &[&str]) -> bool {
    let Some(p) = db.pending_modified_values() else {
        return false;
    };
    fields.iter().any(|f| match *f {
        "instance_class" => p.db_instance_class().is_some(),
        "allocated_storage" => p.allocated_storage().is_some(),
        "iops" => p.iops().is_some(),
        "storage_type" => p.storage_type().is_some(),
        "multi_az" => p.multi_az().is_some(),
        "backup_retention_days" => p.backup_retention_period().is_some(),
        "engine_version" => p.engine_version().is_some(),
        "db_subnet_group_name" => p.db_subnet_group_name().is_some(),
        _ => false,
    })
}

/// The name of the instance's DB subnet group.
fn subnet_group_of(db: &DbInstance) -> Option<&str> {
    db.db_subnet_group().and_then(|g| g.db_subnet_group_name())
}

/// The numeric components of a version (`15.5` -> [15, 5]); None when one is not a number.
fn version_parts(v: &str) -> Option<Vec<u64>> {
    v.split('.').map(|p| p.parse().ok()).collect()
}

/// The major version: the first component for PostgreSQL 10 and later, the first
/// two otherwise (`9.6`, `8.0`, `10.11`).
pub(in crate::rds) fn major(engine: &str, v: &str) -> String {
    let parts: Vec<&str> = v.split('.').collect();
    let first_is_major = engine.contains("postgres")
        && parts
            .first()
            .and_then(|p| p.parse::<u64>().ok())
            .is_some_and(|n| n >= 10);
    let n = if first_is_major { 1 } else { 2 };
    parts[..n.min(parts.len())].join(".")
}

/// Whether moving from `live` to the spec's `wanted` is an upgrade to make: not when
/// `live` already is `wanted` or a release of it (`15.5` for `15`), nor when it is
/// newer (RDS never downgrades; automatic minor upgrades move past the spec).
pub(in crate::rds) fn upgrade_to(wanted: &str, live: &str) -> bool {
    if live == wanted || live.starts_with(&format!("{wanted}.")) {
        return false;
    }
    match (version_parts(wanted), version_parts(live)) {
        (Some(w), Some(l)) => w.as_slice() > &l[..w.len().min(l.len())],
        _ => true,
    }
}

/// Sends one ModifyDBInstance (`ApplyImmediately=true`) for the wanted fields whose
/// value differs from `db`'s, then waits until it has been applied. Returns the
/// instance as last described.
pub(super) async fn modify_to(
    rds: &Client,
    spec: &DbInstanceSpec,
    db: DbInstance,
    changed: Changed<'_>,
) -> Result<DbInstance, ProviderError> {
    let id = required(db.db_instance_identifier(), "DBInstance identifier")?.to_string();
    let mut m = rds
        .modify_db_instance()
        .db_instance_identifier(&id)
        .apply_immediately(true);
    let mut fields: Vec<&str> = Vec::new();

    if changed.has("instance_class") && db.db_instance_class() != Some(&spec.instance_class) {
        m = m.db_instance_class(&spec.instance_class);
        fields.push("instance_class");
    }
    // Storage size and IOPS go together (RDS wants both when either changes on
    // provisioned-IOPS storage); storage is never shrunk.
    let live_storage = db.allocated_storage().unwrap_or(0);
    let grow = changed.has("allocated_storage") && spec.allocated_storage > live_storage;
    if changed.has("allocated_storage") && spec.allocated_storage < live_storage {
        tracing::warn!(
            instance = %id,
            "allocated storage is {live_storage} GiB, more than the {} GiB asked: RDS cannot shrink storage",
            spec.allocated_storage
        );
    }
    let iops = changed.has("iops") && spec.iops.is_some() && db.iops() != spec.iops;
    let storage_type =
        changed.has("storage_type") && db.storage_type() != Some(spec.storage_type.as_str());
    if grow || iops {
        m = m.allocated_storage(spec.allocated_storage.max(live_storage));
        fields.push("allocated_storage");
    }
    if iops || ((grow || storage_type) && spec.iops.is_some()) {
        m = m.set_iops(spec.iops);
        fields.push("iops");
    }
    if storage_type {
        m = m.storage_type(spec.storage_type.as_str());
        fields.push("storage_type");
    }
    if changed.has("multi_az") && db.multi_az() != Some(spec.multi_az) {
        m = m.multi_az(spec.multi_az);
        fields.push("multi_az");
    }
    if changed.has("backup_retention_days")
        && db.backup_retention_period() != Some(spec.backup_retention_days)
    {
        m = m.backup_retention_period(spec.backup_retention_days);
        fields.push("backup_retention_days");
    }
    if changed.has("maintenance_window")
        && !db
            .preferred_maintenance_window()
            .is_some_and(|w| w.eq_ignore_ascii_case(&spec.maintenance_window))
    {
        m = m.preferred_maintenance_window(&spec.maintenance_window);
        fields.push("maintenance_window");
    }
    if changed.has("deletion_protection")
        && db.deletion_protection() != Some(spec.deletion_protection)
    {
        m = m.deletion_protection(spec.deletion_protection);
        fields.push("deletion_protection");
    }
    if changed.has("parameter_group_name") {
        if let Some(group) = &spec.parameter_group_name {
            let group = resolved(group, "parameter_group_name")?.as_str();
            let attached = db.db_parameter_groups().iter().any(|g| {
                g.db_parameter_group_name()
                    .is_some_and(|n| n.eq_ignore_ascii_case(group))
            });
            if !attached {
                m = m.db_parameter_group_name(group);
                fields.push("parameter_group_name");
            }
        }
    }
    // Another group moves the instance to the group's VPC (the plan has made sure
    // it is another VPC, and that the instance is Single-AZ); the security groups of
    // that VPC go in the same call, below.
    if changed.has("db_subnet_group_name") {
        if let Some(group) = &spec.db_subnet_group_name {
            let group = resolved(group, "db_subnet_group_name")?.as_str();
            if !subnet_group_of(&db).is_some_and(|g| g.eq_ignore_ascii_case(group)) {
                m = m.db_subnet_group_name(group);
                fields.push("db_subnet_group_name");
            }
        }
    }
    // No security group named: whatever RDS chose (the VPC's default group) is kept.
    if let (true, Some(wanted)) = (
        changed.has("vpc_security_group_ids"),
        security_groups(spec)?,
    ) {
        let live: BTreeSet<&str> = db
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .collect();
        if wanted.iter().map(String::as_str).collect::<BTreeSet<_>>() != live {
            m = m.set_vpc_security_group_ids(Some(wanted));
            fields.push("vpc_security_group_ids");
        }
    }
    if changed.has("engine_version") {
        let live = db.engine_version().unwrap_or("");
        if upgrade_to(&spec.engine_version, live) {
            m = m.engine_version(&spec.engine_version);
            let engine = spec.engine.as_str();
            if major(engine, &spec.engine_version) != major(engine, live) {
                m = m.allow_major_version_upgrade(true);
            }
            fields.push("engine_version");
        } else if live != spec.engine_version
            && !live.starts_with(&format!("{}.", spec.engine_version))
        {
            tracing::warn!(
                instance = %id,
                "engine version is {live}, newer than the {} asked: RDS does not downgrade",
                spec.engine_version
            );
        }
    }

    if fields.is_empty() {
        return Ok(db);
    }
    m.send().await.map_err(|e| {
        unless_busy(classify(
            &format!("ModifyDBInstance {id} ({})", fields.join(", ")),
            e,
        ))
    })?;
    wait_usable(rds, &id, Stage::AfterModify(&fields, spec)).await
}
