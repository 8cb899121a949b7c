//! DB instances: primaries (CreateDBInstance) and read replicas
//! (CreateDBInstanceReadReplica), in place changes by ModifyDBInstance, a replica
//! promoted in place by PromoteReadReplica when `replicate_from` is removed, tags on
//! the instance ARN, DeleteDBInstance.
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
//!   does not reboot instances. A DB subnet group in another VPC moves the instance
//!   there in the same call (`DBSubnetGroupName`, with that VPC's security groups);
//!   the plan refuses a group of the same VPC, which RDS refuses. A declared
//!   `availability_zone` is checked against the instance's zone, never sent to an
//!   instance that exists (no call moves a Single-AZ instance).
//! - Deletion protection is lifted before a delete only when the spec being
//!   destroyed says `deletion_protection: false`; otherwise the delete fails, so
//!   that the protection means something. Primaries leave a final snapshot
//!   (`<identifier>-final-<timestamp>`) unless their backups are disabled; replicas
//!   never do (DeleteDBInstance takes no final snapshot of a read replica).
//!   Automated backups are kept.
//! - A refresh reads every instance of the region with its tags in one
//!   DescribeDBInstances (per page) and keeps the stack's. Values the driver would
//!   leave alone read as recorded: an engine version that is a release of the
//!   recorded one or a newer minor of its major (automatic minor upgrades), storage
//!   grown past the spec (RDS never shrinks it), a maintenance window or group name
//!   in another case, the default security group when the spec names none.

use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::classify;
use crate::kit::live::{Live, Scope};
use crate::kit::read::{self, filled};
use crate::kit::tags::{self, Tagging};
use crate::kit::{
    create_or_existing, ensure_owned, required, resolved, resolved_all, resolved_opt,
    retryable_when, Absent, Changed, Desired, Made, Recorded,
};
use async_trait::async_trait;
use aws_sdk_rds::types::DbInstance;
use aws_sdk_rds::Client;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use glinfra_core::spec::rds::{DbInstanceOutputs, DbInstanceSpec};
use glinfra_core::Input;
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod modify;
mod observed;
mod waits;
use observed::live_spec;

pub(super) use modify::{major, upgrade_to};
use modify::{modify_to, pending, reflects};
use waits::{wait_created, wait_gone, wait_usable, Stage};

/// How long an instance may take to become available, to apply a modification, or
/// to go away (RDS routinely needs tens of minutes for each).
const DEADLINE: Duration = Duration::from_secs(90 * 60);

/// Error codes meaning "the instance is busy (modifying, backing up, ...): try again".
const BUSY: &[&str] = &["InvalidDBInstanceState", "InvalidDBInstanceStateFault"];

/// The driver of `aws:rds/db-instance`.
pub(crate) struct DbInstanceDriver;

/// `err`, Retryable when its code says the instance is busy with another change.
fn unless_busy(err: ProviderError) -> ProviderError {
    retryable_when(BUSY, "the instance is busy")(err)
}

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

fn instance_outputs(db: &DbInstance) -> Result<DbInstanceOutputs, ProviderError> {
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
    Ok(DbInstanceOutputs {
        identifier: id.to_string(),
        arn: arn.to_string(),
        endpoint: address.to_string(),
        port: i64::from(port),
        // The Secrets Manager secret RDS keeps the master password in (none for a
        // replica or a password not managed by RDS).
        master_user_secret_arn: db
            .master_user_secret()
            .and_then(|s| s.secret_arn())
            .unwrap_or_default()
            .to_string(),
    })
}

/// The instance `id`, if there is one.
async fn describe(rds: &Client, id: &str) -> Result<Option<DbInstance>, ProviderError> {
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .map_err(|e| classify(&format!("DescribeDBInstances {id}"), e))
        .or_absent()?;
    Ok(out.and_then(|o| o.db_instances().first().cloned()))
}

/// The instance's tags: its `TagList`, or ListTagsForResource when that is empty.
async fn instance_tags(
    rds: &Client,
    db: &DbInstance,
) -> Result<BTreeMap<String, String>, ProviderError> {
    if !db.tag_list().is_empty() {
        return Ok(tags::from_sdk(db.tag_list()));
    }
    rds.list(required(db.db_instance_arn(), "DBInstance ARN")?)
        .await
}

/// The instance `id` when it is `r`'s (an AlreadyExists error when it is someone else's).
async fn lookup(
    rds: &Client,
    r: &Desired<DbInstanceSpec>,
    id: &str,
) -> Result<Option<DbInstance>, ProviderError> {
    let Some(db) = describe(rds, id).await? else {
        return Ok(None);
    };
    let tags = instance_tags(rds, &db).await?;
    ensure_owned(&format!("RDS instance `{id}`"), &tags, r)?;
    Ok(Some(db))
}

/// Promotes the read replica `db` to a standalone instance in place
/// (PromoteReadReplica, with the spec's backup retention) and waits until it is
/// available and no longer a replica. An instance already standalone is left as it
/// is (a resumed promotion). The promoted instance keeps its source's master user:
/// a spec naming another one is refused before the call.
async fn promote(
    rds: &Client,
    spec: &DbInstanceSpec,
    db: DbInstance,
) -> Result<DbInstance, ProviderError> {
    let id = required(db.db_instance_identifier(), "DBInstance identifier")?.to_string();
    if db.read_replica_source_db_instance_identifier().is_none() {
        return Ok(db);
    }
    if let (Some(want), Some(have)) = (&spec.master_username, db.master_username()) {
        if want != have {
            return Err(ProviderError::new(
                ErrorClass::Fatal,
                format!(
                    "RDS instance `{id}`: a promoted replica keeps its source's master user `{have}`, but the spec names `{want}`: set `master_username` to `{have}` (nothing was changed)"
                ),
            ));
        }
    }
    rds.promote_read_replica()
        .db_instance_identifier(&id)
        .backup_retention_period(spec.backup_retention_days)
        .send()
        .await
        .map_err(|e| unless_busy(classify(&format!("PromoteReadReplica {id}"), e)))?;
    wait_usable(rds, &id, Stage::Promotion).await
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

async fn create_primary(rds: &Client, r: &Desired<DbInstanceSpec>) -> Result<(), ProviderError> {
    let spec = &r.spec;
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
    let parameter_group = resolved_opt(spec.parameter_group_name.as_ref(), "parameter_group_name")?;
    let kms_key = resolved_opt(spec.kms_key_id.as_ref(), "kms_key_id")?;
    let subnet_group = resolved_opt(spec.db_subnet_group_name.as_ref(), "db_subnet_group_name")?;
    rds.create_db_instance()
        .db_instance_identifier(&spec.identifier)
        .engine(spec.engine.as_str())
        .engine_version(&spec.engine_version)
        .db_instance_class(&spec.instance_class)
        .allocated_storage(spec.allocated_storage)
        .storage_type(spec.storage_type.as_str())
        .set_iops(spec.iops)
        .storage_encrypted(spec.storage_encrypted)
        .set_kms_key_id(kms_key)
        .multi_az(spec.multi_az)
        .set_availability_zone(spec.availability_zone.clone())
        .backup_retention_period(spec.backup_retention_days)
        .preferred_maintenance_window(&spec.maintenance_window)
        .deletion_protection(spec.deletion_protection)
        .set_db_subnet_group_name(subnet_group)
        .set_db_parameter_group_name(parameter_group)
        .set_vpc_security_group_ids(security_groups(spec)?)
        .master_username(master)
        // RDS generates the password and keeps it in Secrets Manager: none is ever sent.
        .manage_master_user_password(true)
        .publicly_accessible(false)
        .copy_tags_to_snapshot(true)
        .set_tags(Some(tags::to_sdk(&r.owned_tags())?))
        .send()
        .await
        .map_err(|e| classify(&format!("CreateDBInstance {}", spec.identifier), e))?;
    Ok(())
}

async fn create_replica(
    rds: &Client,
    r: &Desired<DbInstanceSpec>,
    source: &str,
) -> Result<(), ProviderError> {
    let spec = &r.spec;
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
    let parameter_group = resolved_opt(spec.parameter_group_name.as_ref(), "parameter_group_name")?;
    let kms_key = resolved_opt(spec.kms_key_id.as_ref(), "kms_key_id")?;
    let subnet_group = resolved_opt(spec.db_subnet_group_name.as_ref(), "db_subnet_group_name")?;
    rds.create_db_instance_read_replica()
        .db_instance_identifier(&spec.identifier)
        // An ARN, so that the source may live in another region.
        .source_db_instance_identifier(source)
        .db_instance_class(&spec.instance_class)
        .storage_type(spec.storage_type.as_str())
        .set_iops(spec.iops)
        // A KMS key of the replica's own region (needed when the source is encrypted
        // and in another region).
        .set_kms_key_id(kms_key)
        .multi_az(spec.multi_az)
        .set_availability_zone(spec.availability_zone.clone())
        .deletion_protection(spec.deletion_protection)
        // Without one, a cross-region replica goes to its region's default VPC.
        .set_db_subnet_group_name(subnet_group)
        .set_db_parameter_group_name(parameter_group)
        .set_vpc_security_group_ids(security_groups(spec)?)
        .publicly_accessible(false)
        .copy_tags_to_snapshot(true)
        .set_tags(Some(tags::to_sdk(&r.owned_tags())?))
        .send()
        .await
        // A source that is busy (creating, modifying, backing up) refuses with
        // InvalidDBInstanceState until it is available again.
        .map_err(|e| {
            unless_busy(classify(
                &format!("CreateDBInstanceReadReplica {}", spec.identifier),
                e,
            ))
        })?;
    Ok(())
}

/// A zone set on an instance that exists changes nothing in AWS (no call moves a
/// Single-AZ instance): it must be the zone the instance is in.
fn in_zone(db: &DbInstance, spec: &DbInstanceSpec) -> Result<(), ProviderError> {
    let (Some(want), Some(live)) = (spec.availability_zone.as_deref(), db.availability_zone())
    else {
        return Ok(());
    };
    if want == live {
        return Ok(());
    }
    Err(ProviderError::new(
        ErrorClass::Invalid,
        format!(
            "RDS instance `{}` is in {live}, not {want}: no call moves a Single-AZ instance to another zone; set `availability_zone = \"{live}\"`, or leave it unset",
            spec.identifier
        ),
    ))
}

/// The spec's security groups; None (RDS's default group of the VPC) when it names none.
fn security_groups(spec: &DbInstanceSpec) -> Result<Option<Vec<String>>, ProviderError> {
    let ids = resolved_all(&spec.vpc_security_group_ids, "vpc_security_group_ids")?;
    Ok((!ids.is_empty()).then_some(ids))
}

/// The fields CreateDBInstanceReadReplica cannot set, brought in line once the
/// replica is available.
const REPLICA_AFTER_CREATE: &[&str] = &["backup_retention_days", "maintenance_window"];

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

/// The final snapshot a delete of `db` leaves: none for a replica (DeleteDBInstance
/// takes none of one) or an instance without backups, else `<identifier>-final-<now>`.
fn final_snapshot(db: &DbInstance, spec: &DbInstanceSpec, identifier: &str) -> Option<String> {
    let replica =
        db.read_replica_source_db_instance_identifier().is_some() || spec.replicate_from.is_some();
    let backups_off = db.backup_retention_period() == Some(0);
    (!replica && !backups_off).then(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        final_snapshot_id(identifier, now)
    })
}

#[async_trait]
impl Driver for DbInstanceDriver {
    type Spec = DbInstanceSpec;

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<DbInstanceSpec>,
    ) -> Result<Option<DbInstanceOutputs>, ProviderError> {
        let rds = c.rds(&r.region);
        let id = r.spec.identifier.as_str();
        let Some(db) = lookup(&rds, r, id).await? else {
            return Ok(None);
        };
        match status(&db) {
            "deleting" => {
                wait_gone(c, &r.region, id).await?;
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
            _ => instance_outputs(&wait_created(c, &r.region, id).await?).map(Some),
        }
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<DbInstanceSpec>,
    ) -> Result<DbInstanceOutputs, ProviderError> {
        let rds = c.rds(&r.region);
        let spec = &r.spec;
        let id = spec.identifier.as_str();
        let sent = async {
            match &spec.replicate_from {
                None => create_primary(&rds, r).await,
                Some(source) => create_replica(&rds, r, resolved(source, "replicate_from")?).await,
            }
        };
        // Made by an earlier attempt (adopted and brought in line below) or by someone
        // else (the AlreadyExists error naming the owner); one being deleted is not.
        let made = create_or_existing(&format!("RDS instance `{id}`"), sent, || async {
            Ok(lookup(&rds, r, id)
                .await?
                .filter(|db| status(db) != "deleting"))
        })
        .await?;
        let db = wait_created(c, &r.region, id).await?;
        let db = match made {
            Made::Existing(_) => {
                let db = modify_to(&rds, spec, db, Changed::ALL).await?;
                let live = instance_tags(&rds, &db).await?;
                let arn = required(db.db_instance_arn(), "DBInstance ARN")?;
                let want = r.owned_tags();
                tags::sync_known(&rds, arn, &want, &BTreeMap::new(), Some(&live)).await?;
                db
            }
            Made::Created(()) if spec.replicate_from.is_some() => {
                let fields: Vec<String> =
                    REPLICA_AFTER_CREATE.iter().map(|f| f.to_string()).collect();
                modify_to(&rds, spec, db, Changed(&fields)).await?
            }
            Made::Created(()) => db,
        };
        instance_outputs(&db)
    }

    async fn update(
        &self,
        c: &Clients,
        prior: &Recorded<DbInstanceSpec>,
        r: &Desired<DbInstanceSpec>,
        changed: Changed<'_>,
    ) -> Result<DbInstanceOutputs, ProviderError> {
        let rds = c.rds(&r.region);
        let id = prior.outputs.identifier.as_str();
        let mut db = wait_usable(&rds, id, Stage::BeforeModify).await?;
        if changed.has("replicate_from") && r.spec.replicate_from.is_none() {
            db = promote(&rds, &r.spec, db).await?;
        }
        if changed.has("availability_zone") {
            in_zone(&db, &r.spec)?;
        }
        let db = modify_to(&rds, &r.spec, db, changed).await?;
        if changed.has("tags") {
            let live = if changed.everything() {
                Some(instance_tags(&rds, &db).await?)
            } else {
                None
            };
            let arn = required(db.db_instance_arn(), "DBInstance ARN")?;
            let want = r.owned_tags();
            tags::sync_known(&rds, arn, &want, &prior.tags, live.as_ref()).await?;
        }
        instance_outputs(&db)
    }

    /// DescribeDBInstances (one call per page: every instance of the region, with
    /// its TagList), the stack's kept by their tags. An instance state recorded whose
    /// TagList is empty has its tags read by ListTagsForResource, as `find` does.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<DbInstanceSpec>,
    ) -> Result<Option<Vec<Live<DbInstanceSpec>>>, ProviderError> {
        let rds = c.rds(&scope.region);
        let instances: Vec<DbInstance> =
            crate::kit::all_items!(rds.describe_db_instances(), "DescribeDBInstances")?;
        let mut live = Vec::new();
        for db in instances {
            let s = status(&db);
            if s == "deleting" || is_failed(s) {
                continue;
            }
            let identifier = db.db_instance_identifier().unwrap_or_default();
            let known = scope
                .recorded
                .iter()
                .find(|r| r.outputs.identifier == identifier);
            let tags = match known {
                Some(_) => instance_tags(&rds, &db).await?,
                None => tags::from_sdk(db.tag_list()),
            };
            let Some(id) = scope.owned(&tags) else {
                continue;
            };
            let recorded = scope.recorded(&id);
            let outputs = match (instance_outputs(&db), recorded) {
                (Ok(out), _) => out,
                // Being created: no endpoint yet.
                (Err(_), Some(r)) => r.outputs.clone(),
                (Err(_), None) => DbInstanceOutputs {
                    identifier: identifier.to_string(),
                    arn: required(db.db_instance_arn(), "DBInstance ARN")?.to_string(),
                    endpoint: String::new(),
                    port: db.db_instance_port().map(i64::from).unwrap_or(0),
                    master_user_secret_arn: String::new(),
                },
            };
            live.push(Live {
                spec: live_spec(&db, recorded.map(|r| &r.spec)),
                outputs,
                tags,
                id,
            });
        }
        Ok(Some(live))
    }

    async fn delete(
        &self,
        c: &Clients,
        prior: &Recorded<DbInstanceSpec>,
    ) -> Result<(), ProviderError> {
        let rds = c.rds(&prior.region);
        let spec = &prior.spec;
        let identifier = prior.outputs.identifier.as_str();
        let Some(db) = describe(&rds, identifier).await? else {
            return Ok(());
        };
        if status(&db) == "deleting" {
            return wait_gone(c, &prior.region, identifier).await;
        }

        if db.deletion_protection() == Some(true) {
            if spec.deletion_protection {
                return Err(ProviderError::new(
                    ErrorClass::Fatal,
                    format!(
                        "RDS instance `{identifier}` has deletion protection on, and its spec says `deletion_protection: true`: set `deletion_protection` to false and apply that change before destroying it"
                    ),
                ));
            }
            let lifted = rds
                .modify_db_instance()
                .db_instance_identifier(identifier)
                .deletion_protection(false)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| {
                    unless_busy(classify(
                        &format!("ModifyDBInstance {identifier} (deletion_protection)"),
                        e,
                    ))
                })
                .or_absent()?;
            if lifted.is_none() {
                return Ok(());
            }
        }

        let snapshot = final_snapshot(&db, spec, identifier);
        let deleted = rds
            .delete_db_instance()
            .db_instance_identifier(identifier)
            .delete_automated_backups(false)
            .skip_final_snapshot(snapshot.is_none())
            .set_final_db_snapshot_identifier(snapshot)
            .send()
            .await
            .map_err(|e| unless_busy(classify(&format!("DeleteDBInstance {identifier}"), e)))
            .or_absent()?;
        if deleted.is_none() {
            return Ok(());
        }
        wait_gone(c, &prior.region, identifier).await
    }
}
