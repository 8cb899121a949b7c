//! DB instances: primaries (CreateDBInstance) and read replicas
//! (CreateDBInstanceReadReplica), in place changes by ModifyDBInstance, tags on the
//! instance ARN, DeleteDBInstance.
//!
//! - A primary's master password is never seen: `ManageMasterUserPassword=true`
//!   makes RDS keep it in Secrets Manager, and no password is ever sent.
//! - A replica names its source by ARN, so the source may be in another region;
//!   every call goes to the replica's own region. An encrypted cross-region replica
//!   takes a KMS key of its own region (`kms_key_id`). The Rust SDK has no
//!   `SourceRegion` parameter that would presign a `PreSignedUrl`, and AWS only
//!   reads that URL in the GovCloud and China partitions, so a cross-region replica
//!   there is refused with a clear error instead of failing inside AWS.
//! - Updates compare each wanted field with what DescribeDBInstances reports and
//!   send one ModifyDBInstance (`ApplyImmediately=true`) with exactly the fields that
//!   differ; storage is never shrunk and the engine never downgraded (AWS refuses
//!   both, and autoscaling or automatic minor upgrades may have moved past the
//!   spec). A major engine upgrade carries `AllowMajorVersionUpgrade`. Changing the
//!   parameter group takes effect at the next reboot (as in RDS itself); glinfra
//!   does not reboot instances.
//! - Deletion protection is lifted before a delete only when the spec being
//!   destroyed says `deletion_protection: false`; otherwise the delete fails, so
//!   that the protection means something. Primaries leave a final snapshot
//!   (`<identifier>-final-<timestamp>`) unless their backups are disabled; replicas
//!   never do (DeleteDBInstance takes no final snapshot of a read replica).
//!   Automated backups are kept.

use super::{
    absent_ok, check_owner, desired_tags, list_tags, outputs, prior_spec, rds_tags, required,
    resolved, resolved_all, resolved_opt, resource_from_state, retryable_if, sync_tags, tags_of,
    Wants,
};
use crate::error::classify;
use crate::wait::{until, Poll};
use aws_sdk_rds::types::DbInstance;
use aws_sdk_rds::Client;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::DateTime;
use glinfra_core::spec::rds::DbInstanceSpec;
use glinfra_core::ResourceState;
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long an instance may take to become available, to apply a modification, or
/// to go away (RDS routinely needs tens of minutes for each).
const DEADLINE: Duration = Duration::from_secs(90 * 60);

/// First poll interval (it grows to 10 s in [`crate::wait::until`]).
const POLL: Duration = if cfg!(test) {
    Duration::from_millis(1)
} else {
    Duration::from_secs(5)
};

/// Error codes meaning "the instance is busy (modifying, backing up, ...): try again".
const BUSY: &[&str] = &["InvalidDBInstanceState", "InvalidDBInstanceStateFault"];

fn status(db: &DbInstance) -> &str {
    db.db_instance_status().unwrap_or("unknown")
}

/// States that never become `available` without someone's intervention.
fn is_failed(status: &str) -> bool {
    status == "failed"
        || status == "restore-error"
        || status.starts_with("incompatible-")
        || status.starts_with("inaccessible-encryption-credentials")
}

fn instance_outputs(db: &DbInstance) -> Result<Outputs, ProviderError> {
    let id = required(db.db_instance_identifier(), "DBInstance identifier")?;
    let arn = required(db.db_instance_arn(), "DBInstance ARN")?;
    let endpoint = db.endpoint().ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Retryable,
            format!(
                "RDS instance `{id}` has no endpoint yet (state `{}`)",
                status(db)
            ),
        )
    })?;
    let address = required(endpoint.address(), "DBInstance endpoint address")?;
    let port = endpoint.port().ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Fatal,
            format!("RDS instance `{id}`: the endpoint has no port"),
        )
    })?;
    Ok(outputs([
        ("identifier", id.to_string()),
        ("arn", arn.to_string()),
        ("endpoint", address.to_string()),
        ("port", port.to_string()),
    ]))
}

/// The instance `id`, if there is one.
async fn describe(rds: &Client, id: &str) -> Result<Option<DbInstance>, ProviderError> {
    let out = absent_ok(
        rds.describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeDBInstances {id}"), e)),
    )?;
    Ok(out.and_then(|o| o.db_instances().first().cloned()))
}

/// The instance's tags: its `TagList`, or ListTagsForResource when that is empty.
async fn instance_tags(
    rds: &Client,
    db: &DbInstance,
) -> Result<BTreeMap<String, String>, ProviderError> {
    if !db.tag_list().is_empty() {
        return Ok(tags_of(db.tag_list()));
    }
    list_tags(rds, required(db.db_instance_arn(), "DBInstance ARN")?).await
}

/// The instance `id` when it is `r`'s (an AlreadyExists error when it is someone else's).
async fn lookup(
    rds: &Client,
    r: &ResolvedResource,
    id: &str,
) -> Result<Option<DbInstance>, ProviderError> {
    let Some(db) = describe(rds, id).await? else {
        return Ok(None);
    };
    let tags = instance_tags(rds, &db).await?;
    check_owner(r, &format!("RDS instance `{id}`"), &tags)?;
    Ok(Some(db))
}

pub(super) async fn find(
    rds: &Client,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: DbInstanceSpec = r.spec()?;
    let id = spec.identifier.as_str();
    let Some(db) = lookup(rds, r, id).await? else {
        return Ok(None);
    };
    match status(&db) {
        "deleting" => {
            wait_gone(rds, id).await?;
            Ok(None)
        }
        s if is_failed(s) => Err(ProviderError::new(
            ErrorClass::Fatal,
            format!(
                "RDS instance `{id}` exists (ours) in state `{s}`: it is not adopted; delete it, then apply again"
            ),
        )),
        // A stopped or busy instance already has its endpoint.
        _ if db.endpoint().is_some() => instance_outputs(&db).map(Some),
        // Still being created: its endpoint is known once it is available.
        _ => instance_outputs(&wait_usable(rds, id, Stage::Create).await?).map(Some),
    }
}

/// What a wait is for: which states count as done.
#[derive(Clone, Copy)]
enum Stage<'a> {
    /// After a create: available (the instance may not be visible at first).
    Create,
    /// Before a modification: a state in which ModifyDBInstance is accepted.
    BeforeModify,
    /// After a modification of these spec fields: available, none of them pending,
    /// and each showing the wanted value (RDS may report `available` with nothing
    /// pending for a moment before a modification starts, so both are checked).
    AfterModify(&'a [&'a str], &'a DbInstanceSpec),
}

/// True when the live instance shows the wanted value of every field in `fields`
/// that a modification workflow changes.
fn reflects(db: &DbInstance, spec: &DbInstanceSpec, fields: &[&str]) -> bool {
    fields.iter().all(|f| match *f {
        "instance_class" => db.db_instance_class() == Some(spec.instance_class.as_str()),
        "allocated_storage" => db.allocated_storage().unwrap_or(0) >= spec.allocated_storage,
        "iops" => spec.iops.is_none() || db.iops() == spec.iops,
        "storage_type" => db.storage_type() == Some(spec.storage_type.as_str()),
        "multi_az" => db.multi_az() == Some(spec.multi_az),
        "backup_retention_days" => db.backup_retention_period() == Some(spec.backup_retention_days),
        "engine_version" => db.engine_version().is_some_and(|v| {
            v == spec.engine_version || v.starts_with(&format!("{}.", spec.engine_version))
        }),
        _ => true,
    })
}

/// True when `db`'s pending modified values still include one of `fields`.
fn pending(db: &DbInstance, fields: &[&str]) -> bool {
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
        _ => false,
    })
}

/// Waits until the instance `id` is usable for `stage`; fails at once in a state
/// that cannot get there by itself.
async fn wait_usable(
    rds: &Client,
    id: &str,
    stage: Stage<'_>,
) -> Result<DbInstance, ProviderError> {
    let what = match stage {
        Stage::Create => format!("RDS instance `{id}` creation"),
        Stage::BeforeModify => format!("RDS instance `{id}` before modifying it"),
        Stage::AfterModify(..) => format!("RDS instance `{id}` modification"),
    };
    until(&what, DEADLINE, POLL, || async {
        let Some(db) = describe(rds, id).await? else {
            if let Stage::Create = stage {
                return Ok(Poll::Pending("not visible yet".into()));
            }
            return Err(ProviderError::new(
                ErrorClass::NotFound,
                format!("{what}: the instance is gone"),
            ));
        };
        let s = status(&db);
        let done = match stage {
            Stage::Create => s == "available",
            // Storage can be added to a full instance: that is how it is repaired.
            Stage::BeforeModify => {
                matches!(s, "available" | "storage-optimization" | "storage-full")
            }
            // Storage optimization runs for hours after a storage change, while the
            // instance serves normally.
            Stage::AfterModify(fields, spec) => {
                matches!(s, "available" | "storage-optimization")
                    && !pending(&db, fields)
                    && reflects(&db, spec, fields)
            }
        };
        if done {
            return Ok(Poll::Ready(db));
        }
        if is_failed(s) || matches!(s, "stopped" | "stopping" | "deleting") {
            return Err(ProviderError::new(
                ErrorClass::Fatal,
                format!("{what}: the instance is `{s}` and will not become available by itself"),
            ));
        }
        Ok(Poll::Pending(s.to_string()))
    })
    .await
}

/// Waits until the instance `id` is gone.
async fn wait_gone(rds: &Client, id: &str) -> Result<(), ProviderError> {
    until(
        &format!("RDS instance `{id}` deletion"),
        DEADLINE,
        POLL,
        || async {
            Ok(match describe(rds, id).await? {
                None => Poll::Ready(()),
                Some(db) => Poll::Pending(status(&db).to_string()),
            })
        },
    )
    .await
}

/// The region and partition of an ARN (`arn:<partition>:rds:<region>:...`).
fn arn_region(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.split(':');
    (parts.next()? == "arn").then_some(())?;
    let partition = parts.next()?;
    let _service = parts.next()?;
    let region = parts.next()?;
    Some((partition, region))
}

async fn create_primary(
    rds: &Client,
    r: &ResolvedResource,
    spec: &DbInstanceSpec,
) -> Result<(), ProviderError> {
    let master = spec.master_username.as_deref().ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!(
                "RDS instance `{}`: a primary needs `master_username`",
                spec.identifier
            ),
        )
    })?;
    if spec.db_subnet_group_name.is_none() {
        return Err(ProviderError::new(
            ErrorClass::Invalid,
            format!(
                "RDS instance `{}`: a primary needs `db_subnet_group_name`",
                spec.identifier
            ),
        ));
    }
    let parameter_group = resolved_opt(
        r,
        "parameter_group_name",
        spec.parameter_group_name.as_ref(),
    )?;
    let kms_key = resolved_opt(r, "kms_key_id", spec.kms_key_id.as_ref())?;
    let subnet_group = resolved_opt(
        r,
        "db_subnet_group_name",
        spec.db_subnet_group_name.as_ref(),
    )?;
    rds.create_db_instance()
        .db_instance_identifier(&spec.identifier)
        .engine(&spec.engine)
        .engine_version(&spec.engine_version)
        .db_instance_class(&spec.instance_class)
        .allocated_storage(spec.allocated_storage)
        .storage_type(&spec.storage_type)
        .set_iops(spec.iops)
        .storage_encrypted(spec.storage_encrypted)
        .set_kms_key_id(kms_key)
        .multi_az(spec.multi_az)
        .backup_retention_period(spec.backup_retention_days)
        .preferred_maintenance_window(&spec.maintenance_window)
        .deletion_protection(spec.deletion_protection)
        .set_db_subnet_group_name(subnet_group)
        .set_db_parameter_group_name(parameter_group)
        .set_vpc_security_group_ids(security_groups(r, spec)?)
        .master_username(master)
        // RDS generates the password and keeps it in Secrets Manager: none is ever sent.
        .manage_master_user_password(true)
        .publicly_accessible(false)
        .copy_tags_to_snapshot(true)
        .set_tags(Some(rds_tags(&desired_tags(r))))
        .send()
        .await
        .map_err(|e| classify(&format!("CreateDBInstance {}", spec.identifier), e))?;
    Ok(())
}

async fn create_replica(
    rds: &Client,
    r: &ResolvedResource,
    spec: &DbInstanceSpec,
    source: &str,
) -> Result<(), ProviderError> {
    if let Some((partition, region)) = arn_region(source) {
        if region != r.region && matches!(partition, "aws-cn" | "aws-us-gov") {
            return Err(ProviderError::new(
                ErrorClass::Invalid,
                format!(
                    "RDS instance `{}`: a cross-region read replica in the `{partition}` partition needs a presigned URL, which glinfra does not generate",
                    spec.identifier
                ),
            ));
        }
    }
    let parameter_group = resolved_opt(
        r,
        "parameter_group_name",
        spec.parameter_group_name.as_ref(),
    )?;
    let kms_key = resolved_opt(r, "kms_key_id", spec.kms_key_id.as_ref())?;
    let subnet_group = resolved_opt(
        r,
        "db_subnet_group_name",
        spec.db_subnet_group_name.as_ref(),
    )?;
    rds.create_db_instance_read_replica()
        .db_instance_identifier(&spec.identifier)
        // An ARN, so that the source may live in another region.
        .source_db_instance_identifier(source)
        .db_instance_class(&spec.instance_class)
        .storage_type(&spec.storage_type)
        .set_iops(spec.iops)
        // A KMS key of the replica's own region (needed when the source is encrypted
        // and in another region).
        .set_kms_key_id(kms_key)
        .multi_az(spec.multi_az)
        .deletion_protection(spec.deletion_protection)
        // Without one, a cross-region replica goes to its region's default VPC.
        .set_db_subnet_group_name(subnet_group)
        .set_db_parameter_group_name(parameter_group)
        .set_vpc_security_group_ids(security_groups(r, spec)?)
        .publicly_accessible(false)
        .copy_tags_to_snapshot(true)
        .set_tags(Some(rds_tags(&desired_tags(r))))
        .send()
        .await
        .map_err(|e| {
            classify(
                &format!("CreateDBInstanceReadReplica {}", spec.identifier),
                e,
            )
        })?;
    Ok(())
}

/// The spec's security groups; None (RDS's default group of the VPC) when it names none.
fn security_groups(
    r: &ResolvedResource,
    spec: &DbInstanceSpec,
) -> Result<Option<Vec<String>>, ProviderError> {
    let ids = resolved_all(r, "vpc_security_group_ids", &spec.vpc_security_group_ids)?;
    Ok((!ids.is_empty()).then_some(ids))
}

/// The fields CreateDBInstanceReadReplica cannot set, brought in line once the
/// replica is available.
const REPLICA_AFTER_CREATE: &[&str] = &["backup_retention_days", "maintenance_window"];

pub(super) async fn create(rds: &Client, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: DbInstanceSpec = r.spec()?;
    let id = spec.identifier.as_str();
    let sent = match &spec.replicate_from {
        None => create_primary(rds, r, &spec).await,
        Some(source) => create_replica(rds, r, &spec, resolved(r, "replicate_from", source)?).await,
    };
    let adopted = match sent {
        Ok(()) => false,
        Err(e) if e.class == ErrorClass::AlreadyExists => {
            // Made by an earlier attempt (adopted and brought in line below) or by
            // someone else (the AlreadyExists error naming the owner).
            match lookup(rds, r, id).await? {
                Some(db) if status(&db) != "deleting" => true,
                _ => {
                    return Err(ProviderError::new(
                        ErrorClass::Retryable,
                        format!("RDS instance `{id}` was reported to exist, then not found or being deleted"),
                    )
                    .with_source(e))
                }
            }
        }
        Err(e) => return Err(e),
    };
    let db = wait_usable(rds, id, Stage::Create).await?;
    let db = if adopted {
        let db = modify_to(rds, r, &spec, db, Wants(&[])).await?;
        let current = instance_tags(rds, &db).await?;
        let arn = required(db.db_instance_arn(), "DBInstance ARN")?;
        sync_tags(rds, arn, r, &BTreeMap::new(), Some(&current)).await?;
        db
    } else if spec.replicate_from.is_some() {
        let fields: Vec<String> = REPLICA_AFTER_CREATE.iter().map(|f| f.to_string()).collect();
        modify_to(rds, r, &spec, db, Wants(&fields)).await?
    } else {
        db
    };
    instance_outputs(&db)
}

pub(super) async fn update(
    rds: &Client,
    prior: &ResourceState,
    r: &ResolvedResource,
    wants: Wants<'_>,
) -> Result<Outputs, ProviderError> {
    let spec: DbInstanceSpec = r.spec()?;
    let id = prior
        .outputs
        .get("identifier")
        .and_then(|v| v.as_str())
        .unwrap_or(&spec.identifier)
        .to_string();
    let db = wait_usable(rds, &id, Stage::BeforeModify).await?;
    let db = modify_to(rds, r, &spec, db, wants).await?;
    if wants.field("tags") {
        let current = if wants.everything() {
            Some(instance_tags(rds, &db).await?)
        } else {
            None
        };
        let arn = required(db.db_instance_arn(), "DBInstance ARN")?;
        sync_tags(rds, arn, r, &prior.tags, current.as_ref()).await?;
    }
    instance_outputs(&db)
}

/// The numeric components of a version (`15.5` -> [15, 5]); None when one is not a number.
fn version_parts(v: &str) -> Option<Vec<u64>> {
    v.split('.').map(|p| p.parse().ok()).collect()
}

/// The major version: the first component for PostgreSQL 10 and later, the first
/// two otherwise (`9.6`, `8.0`, `10.11`).
pub(super) fn major(engine: &str, v: &str) -> String {
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
pub(super) fn upgrade_to(wanted: &str, live: &str) -> bool {
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
async fn modify_to(
    rds: &Client,
    r: &ResolvedResource,
    spec: &DbInstanceSpec,
    db: DbInstance,
    wants: Wants<'_>,
) -> Result<DbInstance, ProviderError> {
    let id = required(db.db_instance_identifier(), "DBInstance identifier")?.to_string();
    let mut m = rds
        .modify_db_instance()
        .db_instance_identifier(&id)
        .apply_immediately(true);
    let mut fields: Vec<&str> = Vec::new();

    if wants.field("instance_class") && db.db_instance_class() != Some(&spec.instance_class) {
        m = m.db_instance_class(&spec.instance_class);
        fields.push("instance_class");
    }
    // Storage size and IOPS go together (RDS wants both when either changes on
    // provisioned-IOPS storage); storage is never shrunk.
    let live_storage = db.allocated_storage().unwrap_or(0);
    let grow = wants.field("allocated_storage") && spec.allocated_storage > live_storage;
    if wants.field("allocated_storage") && spec.allocated_storage < live_storage {
        tracing::warn!(
            instance = %id,
            "allocated storage is {live_storage} GiB, more than the {} GiB asked: RDS cannot shrink storage",
            spec.allocated_storage
        );
    }
    let iops = wants.field("iops") && spec.iops.is_some() && db.iops() != spec.iops;
    let storage_type =
        wants.field("storage_type") && db.storage_type() != Some(spec.storage_type.as_str());
    if grow || iops {
        m = m.allocated_storage(spec.allocated_storage.max(live_storage));
        fields.push("allocated_storage");
    }
    if iops || ((grow || storage_type) && spec.iops.is_some()) {
        m = m.set_iops(spec.iops);
        fields.push("iops");
    }
    if storage_type {
        m = m.storage_type(&spec.storage_type);
        fields.push("storage_type");
    }
    if wants.field("multi_az") && db.multi_az() != Some(spec.multi_az) {
        m = m.multi_az(spec.multi_az);
        fields.push("multi_az");
    }
    if wants.field("backup_retention_days")
        && db.backup_retention_period() != Some(spec.backup_retention_days)
    {
        m = m.backup_retention_period(spec.backup_retention_days);
        fields.push("backup_retention_days");
    }
    if wants.field("maintenance_window")
        && !db
            .preferred_maintenance_window()
            .is_some_and(|w| w.eq_ignore_ascii_case(&spec.maintenance_window))
    {
        m = m.preferred_maintenance_window(&spec.maintenance_window);
        fields.push("maintenance_window");
    }
    if wants.field("deletion_protection")
        && db.deletion_protection() != Some(spec.deletion_protection)
    {
        m = m.deletion_protection(spec.deletion_protection);
        fields.push("deletion_protection");
    }
    if wants.field("parameter_group_name") {
        if let Some(group) = &spec.parameter_group_name {
            let group = resolved(r, "parameter_group_name", group)?;
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
    // No security group named: whatever RDS chose (the VPC's default group) is kept.
    if let (true, Some(wanted)) = (
        wants.field("vpc_security_group_ids"),
        security_groups(r, spec)?,
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
    if wants.field("engine_version") {
        let live = db.engine_version().unwrap_or("");
        if upgrade_to(&spec.engine_version, live) {
            m = m.engine_version(&spec.engine_version);
            if major(&spec.engine, &spec.engine_version) != major(&spec.engine, live) {
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
    if let Err(e) = m.send().await {
        let code = e.code().map(str::to_owned);
        let err = classify(&format!("ModifyDBInstance {id} ({})", fields.join(", ")), e);
        return Err(retryable_if(
            err,
            code.as_deref(),
            BUSY,
            "the instance is busy",
        ));
    }
    wait_usable(rds, &id, Stage::AfterModify(&fields, spec)).await
}

/// `<identifier>-final-<yyyymmddhhmmss>` for the time `secs` (seconds since the epoch).
pub(super) fn final_snapshot_id(identifier: &str, secs: i64) -> String {
    let stamp: String = DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    format!("{identifier}-final-{stamp}")
}

pub(super) async fn delete(
    rds: &Client,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let spec: Option<DbInstanceSpec> = prior_spec(id, prior).ok();
    let identifier = match prior.outputs.get("identifier").and_then(|v| v.as_str()) {
        Some(identifier) => identifier.to_string(),
        None => {
            let r = resource_from_state(id, prior)?;
            let spec: DbInstanceSpec = prior_spec(id, prior)?;
            match lookup(rds, &r, &spec.identifier).await {
                Ok(Some(db)) => {
                    required(db.db_instance_identifier(), "DBInstance identifier")?.to_string()
                }
                Ok(None) => return Ok(()),
                // A same-named instance of someone else's: ours was never made.
                Err(e) if e.class == ErrorClass::AlreadyExists => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    };
    let Some(db) = describe(rds, &identifier).await? else {
        return Ok(());
    };
    if status(&db) == "deleting" {
        return wait_gone(rds, &identifier).await;
    }

    if db.deletion_protection() == Some(true) {
        if spec.as_ref().is_some_and(|s| !s.deletion_protection) {
            if let Err(e) = rds
                .modify_db_instance()
                .db_instance_identifier(&identifier)
                .deletion_protection(false)
                .apply_immediately(true)
                .send()
                .await
            {
                let code = e.code().map(str::to_owned);
                let err = classify(
                    &format!("ModifyDBInstance {identifier} (deletion_protection)"),
                    e,
                );
                if err.class == ErrorClass::NotFound {
                    return Ok(());
                }
                return Err(retryable_if(
                    err,
                    code.as_deref(),
                    BUSY,
                    "the instance is busy",
                ));
            }
        } else {
            return Err(ProviderError::new(
                ErrorClass::Fatal,
                format!(
                    "RDS instance `{identifier}` has deletion protection on, and its spec says `deletion_protection: true`: set `deletion_protection` to false and apply that change before destroying it"
                ),
            ));
        }
    }

    let replica = db.read_replica_source_db_instance_identifier().is_some()
        || spec.as_ref().is_some_and(|s| s.replicate_from.is_some());
    let backups_off = db.backup_retention_period() == Some(0);
    let mut req = rds
        .delete_db_instance()
        .db_instance_identifier(&identifier)
        .delete_automated_backups(false);
    req = if replica || backups_off {
        req.skip_final_snapshot(true)
    } else {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        req.skip_final_snapshot(false)
            .final_db_snapshot_identifier(final_snapshot_id(&identifier, now))
    };
    if let Err(e) = req.send().await {
        let code = e.code().map(str::to_owned);
        let err = classify(&format!("DeleteDBInstance {identifier}"), e);
        if err.class == ErrorClass::NotFound {
            return Ok(());
        }
        return Err(retryable_if(
            err,
            code.as_deref(),
            BUSY,
            "the instance is busy",
        ));
    }
    wait_gone(rds, &identifier).await
}
