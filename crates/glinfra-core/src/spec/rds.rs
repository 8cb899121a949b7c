//! RDS: DB subnet groups, parameter groups and instances (primaries and read replicas).

use super::closed_set;
use crate::input::Input;
use crate::kind::{ChangeRule, FieldValues};
use crate::stack::{ResourceSpec, SpecCheck};
use crate::Resource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A DB subnet group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:rds/db-subnet-group", outputs(name: String, arn: String))]
pub struct DbSubnetGroupSpec {
    #[resource(replace)]
    /// The VPC its subnets are in. Not sent to AWS: a subnet group cannot move
    /// between VPCs, so a new VPC means a new group (forces replacement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<Input<String>>,
    #[resource(replace, unique)]
    /// Name (lower case). Forces replacement.
    pub name: String,
    /// Description (ModifyDBSubnetGroup).
    pub description: String,
    /// Subnets, in at least two zones (ModifyDBSubnetGroup).
    pub subnet_ids: Vec<Input<String>>,
}

impl ResourceSpec for DbSubnetGroupSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        crate::names::RDS_SUBNET_GROUP.check(cx, "name", &self.name);
        if self.subnet_ids.len() < 2 {
            cx.error(
                "subnet_ids",
                "a DB subnet group needs subnets in at least two availability zones",
            );
        }
    }
}

/// A DB parameter group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:rds/db-parameter-group", outputs(name: String, arn: String))]
pub struct DbParameterGroupSpec {
    #[resource(replace, unique)]
    /// Name. Forces replacement.
    pub name: String,
    #[resource(replace)]
    /// Family (`postgres15`). Forces replacement.
    pub family: String,
    #[resource(replace)]
    /// Description. Forces replacement (no API changes it).
    pub description: String,
    /// Parameters in the engine's own units (ModifyDBParameterGroup).
    pub parameters: BTreeMap<String, String>,
}

impl ResourceSpec for DbParameterGroupSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        crate::names::RDS_PARAMETER_GROUP.check(cx, "name", &self.name);
    }
}

/// A DB instance: a primary, or a read replica when `replicate_from` is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
#[resource(kind = "aws:rds/db-instance", outputs(identifier: String, arn: String, endpoint: String, port: i64, master_user_secret_arn: String))]
pub struct DbInstanceSpec {
    #[resource(replace, unique)]
    /// Identifier. Forces replacement.
    pub identifier: String,
    #[resource(replace)]
    /// Engine (`postgres`). Forces replacement.
    pub engine: DbEngine,
    #[resource(change_rule = crate::spec::rules::upgrade_only)]
    /// Engine version (`15`, `15.5`) (ModifyDBInstance, upgrades only: a downgrade
    /// is refused in the plan).
    pub engine_version: String,
    /// Instance class (`db.r6g.2xlarge`) (ModifyDBInstance).
    pub instance_class: String,
    /// Storage in GiB (ModifyDBInstance, growth only). Ignored for replicas' creation.
    pub allocated_storage: i32,
    /// `gp3`, `io1`, `io2`... (ModifyDBInstance).
    pub storage_type: StorageType,
    /// Provisioned IOPS for io1/io2/gp3 (ModifyDBInstance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iops: Option<i32>,
    #[resource(replace)]
    /// Encryption at rest. Forces replacement.
    pub storage_encrypted: bool,
    #[resource(replace)]
    /// KMS key for storage encryption (of the instance's own region). Forces replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Input<String>>,
    /// Multi-AZ standby (ModifyDBInstance).
    pub multi_az: bool,
    #[resource(change_rule = crate::spec::rules::chosen_once)]
    /// The zone of a Single-AZ instance (CreateDBInstance `AvailabilityZone`; none
    /// with `multi_az`). Unset, RDS picks one of its subnet group's zones. No call
    /// moves a Single-AZ instance to another zone: another zone forces replacement;
    /// setting the zone it is in, or unsetting it, changes nothing in AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// Days of automated backups (ModifyDBInstance).
    pub backup_retention_days: i32,
    /// Weekly maintenance window, `ddd:hh24:mi-ddd:hh24:mi` UTC (ModifyDBInstance).
    pub maintenance_window: String,
    /// Deletion protection (ModifyDBInstance). Destroy turns it off first only if asked.
    pub deletion_protection: bool,
    /// The VPC of its DB subnet group. Not sent to AWS (RDS takes the VPC from the
    /// group): it lets the plan tell a move to another VPC from a swap of groups
    /// within one (see `db_subnet_group_name`). When the group is declared in the
    /// stack with its `vpc_id`, this must be the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<Input<String>>,
    #[resource(change_rule = subnet_group_change)]
    /// The DB subnet group. A group in another VPC that exists already: in place
    /// (ModifyDBInstance `DBSubnetGroupName` moves a Single-AZ instance there);
    /// another group in the same VPC: refused (AWS refuses it too); a VPC made by
    /// this plan, or the group removed: forces replacement (see
    /// [`subnet_group_change`]). A cross-region read replica without one is placed
    /// in its region's default VPC (AWS's behaviour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_subnet_group_name: Option<Input<String>>,
    /// The parameter group (ModifyDBInstance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_group_name: Option<Input<String>>,
    /// VPC security groups (ModifyDBInstance).
    pub vpc_security_group_ids: Vec<Input<String>>,
    #[resource(change_rule = master_username_change)]
    /// Master user name (primaries). Forces replacement, except when set as a replica
    /// is promoted (the promoted instance keeps its source's master user, which this
    /// must name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_username: Option<String>,
    /// Whether Secrets Manager manages the master password (no password in state or plans).
    #[serde(default)]
    pub manage_master_user_password: bool,
    #[resource(change_rule = replicate_from_change)]
    /// For a read replica: the source instance's ARN. Removed, the replica is
    /// promoted in place (PromoteReadReplica); another source forces replacement; set
    /// on a primary, refused (AWS cannot make a primary a replica).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicate_from: Option<Input<String>>,
}

/// `replicate_from`: removed, the replica is promoted in place (PromoteReadReplica);
/// another source replaces the replica (no call changes a replica's source); set on a
/// primary, refused (no call makes an instance a replica, and replacing a primary
/// would delete its data).
pub fn replicate_from_change(c: &FieldValues<'_>) -> ChangeRule {
    match (c.before, c.after.is_some() || c.after_unknown) {
        (Some(_), false) => ChangeRule::InPlace,
        (None, true) => ChangeRule::Refuse(
            "a primary cannot become a read replica: AWS has no call that makes an existing instance a replica, and replacing it would delete its data. Leave `replicate_from` unset; for a replica, declare a new instance (another logical id and identifier)".into(),
        ),
        _ => ChangeRule::Replace,
    }
}

/// `master_username`: set as the replica is promoted, in place (the promoted
/// instance keeps its source's master user; the driver checks the name); any other
/// change replaces the instance.
pub fn master_username_change(c: &FieldValues<'_>) -> ChangeRule {
    let promoted =
        c.before_of("replicate_from").is_some() && c.after_of("replicate_from").is_none();
    if promoted && c.before.is_none() {
        ChangeRule::InPlace
    } else {
        ChangeRule::Replace
    }
}

/// `db_subnet_group_name`, decided with the instance's `vpc_id` (the VPC of its
/// group). ModifyDBInstance `DBSubnetGroupName` moves an instance to a group in
/// another VPC ("Updating the VPC for a DB instance", RDS User Guide), but RDS
/// refuses a group in the instance's own VPC (InvalidVPCNetworkStateFault: "The
/// specified DB subnet group and DB instance are in the same VPC"), and moves only
/// a Single-AZ instance. So:
///
/// - the group removed: a replacement (no call takes an instance out of its group);
/// - both VPCs declared and known, the same: refused (AWS refuses it);
/// - the planned VPC known and another one: in place, unless the instance is
///   Multi-AZ before or after (refused: turn Multi-AZ off, move, turn it on);
/// - the planned VPC not known until apply (made by this plan): a replacement. The
///   plan cannot tell a new VPC from the replacement of the current one, and a
///   delete-then-create replacement of its VPC cannot happen around an instance
///   that stays: move the instance once the new VPC and group exist (one apply to
///   make them, one to move it);
/// - no VPC declared: in place when the group exists already (RDS refuses it if it
///   is in the same VPC, with nothing changed), a replacement when the group is
///   made by this plan (it may be the current group's replacement).
pub fn subnet_group_change(c: &FieldValues<'_>) -> ChangeRule {
    if c.after.is_none() && !c.after_unknown {
        return ChangeRule::Replace;
    }
    let before_vpc = c.before_of("vpc_id");
    let after_vpc = c.known_after_of("vpc_id");
    if c.unknown_after_of("vpc_id") {
        return ChangeRule::Replace;
    }
    match (before_vpc, after_vpc) {
        (Some(b), Some(a)) if a == b => {
            return ChangeRule::Refuse(format!(
                "the new DB subnet group is in the instance's own VPC ({}), and RDS moves an instance only to a group in another VPC (InvalidVPCNetworkStateFault). Change the subnets of the current group instead (ModifyDBSubnetGroup, in place), or declare a new instance in the other group",
                a.as_str().unwrap_or("vpc_id")
            ))
        }
        (Some(_), Some(_)) => {}
        _ if c.after_unknown => return ChangeRule::Replace,
        _ => {}
    }
    let multi_az = |v: Option<&serde_json::Value>| v == Some(&serde_json::Value::Bool(true));
    if multi_az(c.before_of("multi_az")) || multi_az(c.known_after_of("multi_az")) {
        return ChangeRule::Refuse(
            "RDS moves only a Single-AZ instance to another VPC: apply `multi_az = false` first, then the new DB subnet group, then `multi_az = true` again".into(),
        );
    }
    ChangeRule::InPlace
}

closed_set! {
    /// The engine of a DB instance (`Engine` of CreateDBInstance), as the RDS API
    /// names it. Aurora engines are not here: their instances belong to a DB
    /// cluster, which this kind does not make; nor are RDS Custom engines (they need
    /// an instance profile this kind does not take).
    DbEngine, "DB engine" {
        /// `postgres`.
        Postgres = "postgres",
        /// `mysql`.
        Mysql = "mysql",
        /// `mariadb`.
        Mariadb = "mariadb",
        /// `oracle-ee`.
        OracleEe = "oracle-ee",
        /// `oracle-ee-cdb`.
        OracleEeCdb = "oracle-ee-cdb",
        /// `oracle-se2`.
        OracleSe2 = "oracle-se2",
        /// `oracle-se2-cdb`.
        OracleSe2Cdb = "oracle-se2-cdb",
        /// `sqlserver-ee`.
        SqlserverEe = "sqlserver-ee",
        /// `sqlserver-se`.
        SqlserverSe = "sqlserver-se",
        /// `sqlserver-ex`.
        SqlserverEx = "sqlserver-ex",
        /// `sqlserver-web`.
        SqlserverWeb = "sqlserver-web",
        /// `db2-ae`.
        Db2Ae = "db2-ae",
        /// `db2-se`.
        Db2Se = "db2-se",
    }
}

closed_set! {
    /// The storage of a DB instance (`StorageType` of CreateDBInstance), as the RDS
    /// API names it.
    StorageType, "storage type" {
        /// General purpose SSD, `gp2`.
        Gp2 = "gp2",
        /// General purpose SSD with settable IOPS, `gp3`.
        Gp3 = "gp3",
        /// Provisioned IOPS SSD, `io1`.
        Io1 = "io1",
        /// Provisioned IOPS SSD, `io2`.
        Io2 = "io2",
        /// Magnetic, `standard`.
        Standard = "standard",
    }
}

impl StorageType {
    /// True for the provisioned-IOPS types (`io1`, `io2`), which need `iops`.
    pub fn provisioned_iops(&self) -> bool {
        matches!(self, StorageType::Io1 | StorageType::Io2)
    }
}

/// Instance classes glinfra accepts (the r6g/r6i/m6g/m6i/t4g families).
pub fn is_known_instance_class(class: &str) -> bool {
    let Some(rest) = class.strip_prefix("db.") else {
        return false;
    };
    let Some((family, size)) = rest.split_once('.') else {
        return false;
    };
    [
        "r6g", "r6i", "r7g", "m6g", "m6i", "m7g", "t4g", "t3", "r5", "m5",
    ]
    .contains(&family)
        && [
            "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge",
            "12xlarge", "16xlarge", "24xlarge",
        ]
        .contains(&size)
}

/// gp3 below this size (PostgreSQL, MySQL, MariaDB) runs at its baseline (3000 IOPS,
/// 125 MiB/s) and takes no IOPS; from it, 12000 to 64000 IOPS may be provisioned.
const GP3_THRESHOLD_GIB: i32 = 400;

impl DbInstanceSpec {
    /// AWS's storage rules ("Amazon RDS DB instance storage", RDS User Guide): sizes
    /// per type, IOPS only where provisionable, within range and ratio to size.
    fn check_storage(&self, cx: &mut SpecCheck<'_>) {
        let (size, kind) = (self.allocated_storage, self.storage_type);
        let (min, max) = match kind {
            StorageType::Io1 | StorageType::Io2 => (100, 65536),
            StorageType::Standard => (5, 3072),
            StorageType::Gp2 | StorageType::Gp3 => (20, 65536),
        };
        if !(min..=max).contains(&size) {
            cx.error(
                "allocated_storage",
                format!("{kind} storage takes {min} to {max} GiB, got {size}"),
            );
        }
        match (kind, self.iops) {
            (StorageType::Io1 | StorageType::Io2, None) => {
                cx.error("iops", format!("{kind} storage needs provisioned IOPS"))
            }
            (StorageType::Io1 | StorageType::Io2, Some(iops)) => {
                let max_ratio = if kind == StorageType::Io1 { 50 } else { 1000 };
                if !(1000..=256_000).contains(&iops) {
                    cx.error("iops", format!("{kind} takes 1000 to 256000 IOPS, got {iops}"));
                } else if iops * 2 < size || iops > size * max_ratio {
                    cx.error(
                        "iops",
                        format!("{kind} takes 0.5 to {max_ratio} IOPS per GiB: {iops} IOPS for {size} GiB"),
                    );
                }
            }
            (StorageType::Gp3, Some(iops)) if size < GP3_THRESHOLD_GIB => cx.error(
                "iops",
                format!(
                    "gp3 under {GP3_THRESHOLD_GIB} GiB runs at its baseline of 3000 IOPS and takes no IOPS setting ({size} GiB with {iops} IOPS); remove `iops` or use {GP3_THRESHOLD_GIB} GiB or more"
                ),
            ),
            (StorageType::Gp3, Some(iops)) if !(12_000..=64_000).contains(&iops) || iops > size * 500 => {
                cx.error(
                    "iops",
                    format!("gp3 from {GP3_THRESHOLD_GIB} GiB takes 12000 to 64000 IOPS, at most 500 per GiB: {iops} for {size} GiB"),
                )
            }
            (StorageType::Gp2 | StorageType::Standard, Some(_)) => {
                cx.error("iops", format!("{kind} storage takes no IOPS setting"))
            }
            _ => {}
        }
    }

    /// The engine version against what AWS offers, and the parameter group's family
    /// against the version (`data/aws-offers.toml`).
    fn check_version(&self, cx: &mut SpecCheck<'_>) {
        let Some(offer) = crate::offers::offers().rds_engine(self.engine.as_str()) else {
            return;
        };
        if !offer.offers(&self.engine_version) {
            cx.error(
                "engine_version",
                crate::offers::not_offered(
                    &format!("{} version", self.engine.as_str()),
                    &self.engine_version,
                    &offer.versions,
                ),
            );
            return;
        }
        let group = self
            .parameter_group_name
            .as_ref()
            .and_then(|g| cx.referenced(g))
            .and_then(|d| d.spec::<DbParameterGroupSpec>().ok());
        if let (Some(group), Some(family)) = (group, offer.family_of(&self.engine_version)) {
            if group.family != family {
                cx.error(
                    "parameter_group_name",
                    format!(
                        "the parameter group has family `{}`, but {} {} needs `{family}`",
                        group.family,
                        self.engine.as_str(),
                        self.engine_version
                    ),
                );
            }
        }
    }
}

impl DbInstanceSpec {
    /// `vpc_id` is its subnet group's VPC, and `availability_zone` one of the zones
    /// of the group's subnets (CreateDBInstance: "The specified Availability Zone
    /// must be in the same Amazon Web Services Region as the current endpoint", and
    /// RDS places the instance in a subnet of its group), never with Multi-AZ.
    fn check_placement(&self, cx: &mut SpecCheck<'_>) {
        let group = self
            .db_subnet_group_name
            .as_ref()
            .and_then(|g| cx.referenced(g))
            .and_then(|d| {
                d.spec::<DbSubnetGroupSpec>()
                    .ok()
                    .map(|s| (d.id.clone(), s))
            });
        if let (Some(vpc), Some((id, Some(group_vpc)))) = (
            &self.vpc_id,
            group.as_ref().map(|(id, g)| (id, g.vpc_id.as_ref())),
        ) {
            if vpc != group_vpc {
                cx.error(
                    "vpc_id",
                    format!(
                        "must be the VPC of its DB subnet group `{id}` (that group's `vpc_id`)"
                    ),
                );
            }
        }
        let Some(zone) = &self.availability_zone else {
            return;
        };
        if self.multi_az {
            cx.error(
                "availability_zone",
                "a Multi-AZ instance takes no availability zone (CreateDBInstance: \"The AvailabilityZone parameter can't be specified if the DB instance is a Multi-AZ deployment\"): RDS places the primary and the standby",
            );
        }
        let zones = crate::regions::availability_zones(cx.region());
        if !zones.is_empty() && !zones.contains(zone) {
            let region = cx.region().to_string();
            cx.error(
                "availability_zone",
                format!(
                    "unknown availability zone `{zone}` for region {region} (known: {})",
                    zones.join(", ")
                ),
            );
            return;
        }
        let Some((id, group)) = group else {
            return;
        };
        let subnet_zones: Option<Vec<String>> = group
            .subnet_ids
            .iter()
            .map(|s| {
                cx.referenced(s)
                    .and_then(|d| d.spec::<crate::spec::ec2::SubnetSpec>().ok())
                    .map(|s| s.availability_zone)
            })
            .collect();
        if let Some(subnet_zones) = subnet_zones {
            if !subnet_zones.contains(zone) {
                cx.error(
                    "availability_zone",
                    format!(
                        "`{zone}` has no subnet in the DB subnet group `{id}` (its zones: {}): RDS places an instance in a subnet of its group",
                        subnet_zones.join(", ")
                    ),
                );
            }
        }
    }
}

impl ResourceSpec for DbInstanceSpec {
    fn check(&self, cx: &mut SpecCheck<'_>) {
        use crate::names::{window_problem, RDS_INSTANCE};
        RDS_INSTANCE.check(cx, "identifier", &self.identifier);
        if let Some(problem) = window_problem(&self.maintenance_window) {
            cx.error("maintenance_window", problem);
        }
        if !is_known_instance_class(&self.instance_class) {
            cx.error(
                "instance_class",
                format!("unknown DB instance class `{}`", self.instance_class),
            );
        }
        self.check_storage(cx);
        self.check_version(cx);
        if !(0..=35).contains(&self.backup_retention_days) {
            cx.error(
                "backup_retention_days",
                format!("must be 0 to 35, got {}", self.backup_retention_days),
            );
        }
        if let Some(source) = self
            .replicate_from
            .as_ref()
            .and_then(|r| cx.referenced(r))
            .and_then(|d| d.spec::<DbInstanceSpec>().ok().map(|s| (d.id.clone(), s)))
        {
            // RDS User Guide, "Working with DB instance read replicas": automated
            // backups must be on for the source.
            if source.1.backup_retention_days == 0 {
                cx.error(
                    "replicate_from",
                    format!(
                        "the source `{}` keeps no automated backups (backup_retention_days = 0): AWS makes read replicas only of a source with backups on",
                        source.0
                    ),
                );
            }
        }
        self.check_placement(cx);
        if self.replicate_from.is_none() && self.db_subnet_group_name.is_none() {
            cx.error("db_subnet_group_name", "a primary needs a DB subnet group");
        }
        if self.replicate_from.is_none() && self.master_username.is_none() {
            cx.error("master_username", "a primary needs a master user name");
        }
        if self.storage_encrypted && self.kms_key_id.is_none() && self.replicate_from.is_some() {
            if let Some(source) = self.replicate_from.as_ref().and_then(|r| cx.referenced(r)) {
                if source.region != cx.region() {
                    cx.error(
                        "kms_key_id",
                        format!("an encrypted cross-region replica needs a KMS key of its own region ({})", cx.region()),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_sets_serialise_as_the_rds_api_names() {
        for t in [
            StorageType::Gp2,
            StorageType::Gp3,
            StorageType::Io1,
            StorageType::Io2,
            StorageType::Standard,
        ] {
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
        }
        for e in [
            DbEngine::Postgres,
            DbEngine::Mysql,
            DbEngine::Mariadb,
            DbEngine::OracleEe,
            DbEngine::OracleEeCdb,
            DbEngine::OracleSe2,
            DbEngine::OracleSe2Cdb,
            DbEngine::SqlserverEe,
            DbEngine::SqlserverSe,
            DbEngine::SqlserverEx,
            DbEngine::SqlserverWeb,
            DbEngine::Db2Ae,
            DbEngine::Db2Se,
        ] {
            let json = format!("\"{}\"", e.as_str());
            assert_eq!(serde_json::to_string(&e).unwrap(), json);
            assert_eq!(serde_json::from_str::<DbEngine>(&json).unwrap(), e);
        }
        assert!(serde_json::from_str::<StorageType>("\"gp4\"").is_err());
    }
}
