use super::*;
use crate::driver::Driver;
use crate::rds::instance::{final_snapshot_id, major, upgrade_to};
use crate::rds::DbInstanceDriver;
use crate::test_support::{all_used, assert_error, delete_found, meta, ok_rule, recorder, update};
use aws_sdk_rds::operation::create_db_instance::{CreateDbInstanceInput, CreateDbInstanceOutput};
use aws_sdk_rds::operation::create_db_instance_read_replica::{
    CreateDbInstanceReadReplicaInput, CreateDbInstanceReadReplicaOutput,
};
use aws_sdk_rds::operation::delete_db_instance::{
    DeleteDBInstanceError, DeleteDbInstanceInput, DeleteDbInstanceOutput,
};
use aws_sdk_rds::operation::describe_db_instances::{
    DescribeDBInstancesError, DescribeDbInstancesInput, DescribeDbInstancesOutput,
};
use aws_sdk_rds::operation::modify_db_instance::{ModifyDbInstanceInput, ModifyDbInstanceOutput};
use aws_sdk_rds::operation::promote_read_replica::{
    PromoteReadReplicaInput, PromoteReadReplicaOutput,
};
use aws_sdk_rds::types::builders::DbInstanceBuilder;
use aws_sdk_rds::types::{
    DbInstance, DbParameterGroupStatus, DbSubnetGroup, Endpoint, PendingModifiedValues,
    VpcSecurityGroupMembership,
};
use aws_sdk_rds::Client;
use aws_smithy_mocks::mock;
use glinfra_core::spec::rds::{DbEngine, DbInstanceOutputs, DbInstanceSpec, StorageType};
use glinfra_engine::ErrorClass;
use std::collections::BTreeSet;

const PRIMARY: &str = "greenlang-prod-primary";
const REPLICA: &str = "greenlang-prod-replica-eu-west-1";
const SOURCE_ARN: &str = "arn:aws:rds:us-east-1:111122223333:db:greenlang-prod-primary";
const REPLICA_KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/replica-key";
const PRIMARY_KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/primary-key";

fn arn(id: &str) -> String {
    format!("arn:aws:rds:{REGION}:{ACCOUNT}:db:{id}")
}

fn address(id: &str) -> String {
    format!("{id}.c1a2b3.{REGION}.rds.amazonaws.com")
}

const DRIVER: DbInstanceDriver = DbInstanceDriver;

fn instance_outputs(id: &str) -> DbInstanceOutputs {
    DbInstanceOutputs {
        identifier: id.into(),
        arn: arn(id),
        endpoint: address(id),
        port: 5432,
        master_user_secret_arn: String::new(),
    }
}

fn primary() -> DbInstanceSpec {
    DbInstanceSpec {
        identifier: PRIMARY.into(),
        engine: DbEngine::Postgres,
        engine_version: "16.3".into(),
        instance_class: "db.r6g.2xlarge".into(),
        allocated_storage: 500,
        storage_type: StorageType::Gp3,
        iops: Some(12000),
        storage_encrypted: true,
        kms_key_id: Some(PRIMARY_KEY.into()),
        multi_az: true,
        availability_zone: None,
        backup_retention_days: 14,
        maintenance_window: "Sun:04:00-Sun:05:00".into(),
        deletion_protection: true,
        vpc_id: None,
        db_subnet_group_name: Some("greenlang-prod-data".into()),
        parameter_group_name: Some("greenlang-prod-postgres16".into()),
        vpc_security_group_ids: vec!["sg-1".into(), "sg-2".into()],
        master_username: Some("greenlang".into()),
        manage_master_user_password: true,
        replicate_from: None,
    }
}

/// A replica in REGION of a primary in us-east-1, in the region's default VPC.
fn cross_region_replica() -> DbInstanceSpec {
    DbInstanceSpec {
        identifier: REPLICA.into(),
        instance_class: "db.r6g.xlarge".into(),
        multi_az: false,
        backup_retention_days: 0,
        deletion_protection: false,
        kms_key_id: Some(REPLICA_KEY.into()),
        master_username: None,
        manage_master_user_password: false,
        replicate_from: Some(SOURCE_ARN.into()),
        db_subnet_group_name: None,
        parameter_group_name: None,
        vpc_security_group_ids: Vec::new(),
        ..primary()
    }
}

fn logical(spec: &DbInstanceSpec) -> &'static str {
    if spec.replicate_from.is_some() {
        "db-replica"
    } else {
        "db-primary"
    }
}

fn r(spec: &DbInstanceSpec) -> Desired<DbInstanceSpec> {
    resource(logical(spec), spec)
}

fn recorded(spec: &DbInstanceSpec) -> Recorded<DbInstanceSpec> {
    state(logical(spec), spec, instance_outputs(&spec.identifier))
}

/// The instance as RDS would describe it once made from `spec`, in `status`.
fn live(spec: &DbInstanceSpec, status: &str) -> DbInstance {
    live_builder(spec, status).build()
}

fn live_builder(spec: &DbInstanceSpec, status: &str) -> DbInstanceBuilder {
    let id = spec.identifier.as_str();
    let mut b = DbInstance::builder()
        .db_instance_identifier(id)
        .db_instance_arn(arn(id))
        .db_instance_status(status)
        .engine(spec.engine.as_str())
        .engine_version(&spec.engine_version)
        .db_instance_class(&spec.instance_class)
        .allocated_storage(spec.allocated_storage)
        .storage_type(spec.storage_type.as_str())
        .set_iops(spec.iops)
        .multi_az(spec.multi_az)
        .backup_retention_period(spec.backup_retention_days)
        // RDS reports the window in lower case.
        .preferred_maintenance_window(spec.maintenance_window.to_lowercase())
        .deletion_protection(spec.deletion_protection)
        .set_tag_list(Some(ours(logical(spec))));
    if status != "creating" {
        b = b.endpoint(Endpoint::builder().address(address(id)).port(5432).build());
    }
    if let Some(pg) = &spec.parameter_group_name {
        b = b.db_parameter_groups(
            DbParameterGroupStatus::builder()
                .db_parameter_group_name(pg.value().unwrap())
                .parameter_apply_status("in-sync")
                .build(),
        );
    }
    for sg in &spec.vpc_security_group_ids {
        b = b.vpc_security_groups(
            VpcSecurityGroupMembership::builder()
                .vpc_security_group_id(sg.value().unwrap())
                .status("active")
                .build(),
        );
    }
    if spec.replicate_from.is_some() {
        b = b.read_replica_source_db_instance_identifier(SOURCE_ARN);
    }
    if let Some(group) = &spec.db_subnet_group_name {
        let vpc = spec.vpc_id.as_ref().and_then(|v| v.value().cloned());
        b = b.db_subnet_group(
            DbSubnetGroup::builder()
                .db_subnet_group_name(group.value().unwrap())
                .vpc_id(vpc.unwrap_or_else(|| "vpc-1".into()))
                .build(),
        );
    }
    b.set_availability_zone(spec.availability_zone.clone())
}

/// A DescribeDBInstances of `id` alone: by its identifier, or (a wait's shared
/// poll) by the `db-instance-id` filter naming only it.
fn names(r: &DescribeDbInstancesInput, id: &str) -> bool {
    r.db_instance_identifier() == Some(id)
        || r.filters()
            .iter()
            .any(|f| f.name() == Some("db-instance-id") && f.values() == [id.to_ascii_lowercase()])
}

fn describe(db: DbInstance) -> Rule {
    let id = db.db_instance_identifier().unwrap().to_string();
    mock!(Client::describe_db_instances)
        .match_requests(move |r| names(r, &id))
        .then_output(move || {
            DescribeDbInstancesOutput::builder()
                .db_instances(db.clone())
                .build()
        })
}

fn describe_missing(id: &'static str) -> Rule {
    mock!(Client::describe_db_instances)
        .match_requests(move |r| names(r, id))
        .then_error(|| DescribeDBInstancesError::generic(meta("DBInstanceNotFound")))
}

fn modify_ok(see: impl Fn(&ModifyDbInstanceInput) -> bool + Send + Sync + 'static) -> Rule {
    ok_rule!(Client::modify_db_instance(see) -> ModifyDbInstanceOutput)
}

/// The optional fields a ModifyDBInstance request sets.
fn sent_fields(m: &ModifyDbInstanceInput) -> BTreeSet<&'static str> {
    let mut f = BTreeSet::new();
    let mut add = |set: bool, name: &'static str| {
        if set {
            f.insert(name);
        }
    };
    add(m.db_instance_class().is_some(), "db_instance_class");
    add(m.allocated_storage().is_some(), "allocated_storage");
    add(m.iops().is_some(), "iops");
    add(m.storage_type().is_some(), "storage_type");
    add(m.multi_az().is_some(), "multi_az");
    add(
        m.backup_retention_period().is_some(),
        "backup_retention_period",
    );
    add(
        m.preferred_maintenance_window().is_some(),
        "preferred_maintenance_window",
    );
    add(m.deletion_protection().is_some(), "deletion_protection");
    add(
        m.db_parameter_group_name().is_some(),
        "db_parameter_group_name",
    );
    add(
        !m.vpc_security_group_ids().is_empty(),
        "vpc_security_group_ids",
    );
    add(m.engine_version().is_some(), "engine_version");
    add(
        m.allow_major_version_upgrade().is_some(),
        "allow_major_version_upgrade",
    );
    add(m.master_user_password().is_some(), "master_user_password");
    add(m.db_subnet_group_name().is_some(), "db_subnet_group_name");
    f
}

// ---------------------------------------------------------------------------- create

// A paused clock: the round's gathering ends only once every wait has joined it,
// however slow the machine.
#[tokio::test(start_paused = true)]
async fn creates_waiting_together_share_one_describe_a_poll() {
    let first = primary();
    let mut second = primary();
    second.identifier = "greenlang-prod-second".into();
    let mut ids = vec![first.identifier.clone(), second.identifier.clone()];
    ids.sort();
    let both = [live(&first, "available"), live(&second, "available")];
    let rules = [
        ok_rule!(Client::create_db_instance(|_| true) -> CreateDbInstanceOutput),
        ok_rule!(Client::create_db_instance(|_| true) -> CreateDbInstanceOutput),
        // In sequence: a wait polling alone would make a describe this rule does
        // not match, and fail the test.
        mock!(Client::describe_db_instances)
            .match_requests(move |r| {
                r.filters().iter().any(|f| {
                    let mut named = f.values().to_vec();
                    named.sort();
                    f.name() == Some("db-instance-id") && named == ids
                })
            })
            .then_output(move || {
                DescribeDbInstancesOutput::builder()
                    .set_db_instances(Some(both.to_vec()))
                    .build()
            }),
    ];
    let c = mock_rds(&rules);

    let (first, second) = (r(&first), r(&second));
    let (a, b) = tokio::join!(DRIVER.create(&c, &first), DRIVER.create(&c, &second));

    assert_eq!(a.unwrap(), instance_outputs(PRIMARY));
    assert_eq!(b.unwrap(), instance_outputs("greenlang-prod-second"));
}

#[tokio::test]
async fn create_primary_maps_every_field_sends_no_password_and_waits_until_available() {
    let spec = primary();
    let (seen, see) = recorder::<CreateDbInstanceInput>();
    let rules = [
        ok_rule!(Client::create_db_instance(see) -> CreateDbInstanceOutput),
        describe(live(&spec, "creating")),
        describe(live(&spec, "backing-up")),
        describe(live(&spec, "available")),
    ];
    let c = mock_rds(&rules);

    let out = DRIVER.create(&c, &r(&spec)).await.unwrap();

    assert_eq!(out, instance_outputs(PRIMARY));
    let seen = seen.lock().unwrap();
    let req = &seen[0];
    assert_eq!(req.db_instance_identifier(), Some(PRIMARY));
    assert_eq!(req.engine(), Some("postgres"));
    assert_eq!(req.engine_version(), Some("16.3"));
    assert_eq!(req.db_instance_class(), Some("db.r6g.2xlarge"));
    assert_eq!(req.allocated_storage(), Some(500));
    assert_eq!(req.storage_type(), Some("gp3"));
    assert_eq!(req.iops(), Some(12000));
    assert_eq!(req.storage_encrypted(), Some(true));
    assert_eq!(req.kms_key_id(), Some(PRIMARY_KEY));
    assert_eq!(req.multi_az(), Some(true));
    assert_eq!(req.backup_retention_period(), Some(14));
    assert_eq!(
        req.preferred_maintenance_window(),
        Some("Sun:04:00-Sun:05:00")
    );
    assert_eq!(req.deletion_protection(), Some(true));
    assert_eq!(req.db_subnet_group_name(), Some("greenlang-prod-data"));
    assert_eq!(
        req.db_parameter_group_name(),
        Some("greenlang-prod-postgres16")
    );
    assert_eq!(req.vpc_security_group_ids(), ["sg-1", "sg-2"]);
    assert_eq!(req.master_username(), Some("greenlang"));
    assert_eq!(req.manage_master_user_password(), Some(true));
    assert_eq!(req.master_user_password(), None);
    assert_eq!(req.publicly_accessible(), Some(false));
    assert_eq!(req.copy_tags_to_snapshot(), Some(true));
    assert_eq!(tag_map(req.tags()), owner_tags("db-primary"));
    all_used(&rules);
}

#[tokio::test]
async fn create_cross_region_replica_names_the_source_arn_and_a_key_of_its_own_region() {
    let spec = cross_region_replica();
    let (seen, see) = recorder::<CreateDbInstanceReadReplicaInput>();
    let rules = [
        ok_rule!(Client::create_db_instance_read_replica(see) -> CreateDbInstanceReadReplicaOutput),
        describe(live(&spec, "creating")),
        describe(live(&spec, "available")),
    ];
    // The client of the replica's region (REGION) is the only one there is.
    let c = mock_rds(&rules);

    let out = DRIVER.create(&c, &r(&spec)).await.unwrap();

    assert_eq!(out, instance_outputs(REPLICA));
    let seen = seen.lock().unwrap();
    let req = &seen[0];
    assert_eq!(req.db_instance_identifier(), Some(REPLICA));
    assert_eq!(req.source_db_instance_identifier(), Some(SOURCE_ARN));
    assert_eq!(req.kms_key_id(), Some(REPLICA_KEY));
    assert_eq!(req.pre_signed_url(), None);
    assert_eq!(req.db_instance_class(), Some("db.r6g.xlarge"));
    assert_eq!(req.storage_type(), Some("gp3"));
    assert_eq!(req.iops(), Some(12000));
    assert_eq!(req.multi_az(), Some(false));
    assert_eq!(req.deletion_protection(), Some(false));
    // Default VPC of the region: no subnet group, parameter group or security groups.
    assert_eq!(req.db_subnet_group_name(), None);
    assert_eq!(req.db_parameter_group_name(), None);
    assert!(req.vpc_security_group_ids().is_empty());
    assert_eq!(req.publicly_accessible(), Some(false));
    assert_eq!(req.copy_tags_to_snapshot(), Some(true));
    assert_eq!(tag_map(req.tags()), owner_tags("db-replica"));
    all_used(&rules);
}

#[tokio::test]
async fn create_same_region_replica_passes_its_groups_then_sets_what_the_replica_call_cannot() {
    let mut spec = cross_region_replica();
    spec.replicate_from = Some(arn(PRIMARY).into());
    spec.db_subnet_group_name = Some("greenlang-prod-data".into());
    spec.parameter_group_name = Some("greenlang-prod-postgres16".into());
    spec.vpc_security_group_ids = vec!["sg-1".into()];
    spec.backup_retention_days = 7;
    let mut as_made = spec.clone();
    as_made.backup_retention_days = 0;
    let (created, see_create) = recorder::<CreateDbInstanceReadReplicaInput>();
    let (modified, see_modify) = recorder::<ModifyDbInstanceInput>();
    let rules = [
        mock!(Client::create_db_instance_read_replica)
            .match_requests(see_create)
            .then_output(|| CreateDbInstanceReadReplicaOutput::builder().build()),
        describe(live(&as_made, "available")),
        modify_ok(see_modify),
        describe(live(&spec, "available")),
    ];
    let c = mock_rds(&rules);

    DRIVER.create(&c, &r(&spec)).await.unwrap();

    let created = created.lock().unwrap();
    assert_eq!(
        created[0].source_db_instance_identifier(),
        Some(arn(PRIMARY).as_str())
    );
    assert_eq!(
        created[0].db_subnet_group_name(),
        Some("greenlang-prod-data")
    );
    assert_eq!(
        created[0].db_parameter_group_name(),
        Some("greenlang-prod-postgres16")
    );
    assert_eq!(created[0].vpc_security_group_ids(), ["sg-1"]);
    let modified = modified.lock().unwrap();
    assert_eq!(
        sent_fields(&modified[0]),
        BTreeSet::from(["backup_retention_period"])
    );
    assert_eq!(modified[0].backup_retention_period(), Some(7));
    assert_eq!(modified[0].apply_immediately(), Some(true));
    all_used(&rules);
}

#[tokio::test]
async fn cross_region_replica_in_the_china_partition_is_refused_before_any_call() {
    let mut spec = cross_region_replica();
    spec.replicate_from =
        Some("arn:aws-cn:rds:cn-north-1:111122223333:db:greenlang-prod-primary".into());
    let c = mock_rds(&[]);
    let err = DRIVER.create(&c, &r(&spec)).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid);
    assert!(err.message.contains("presigned"), "{}", err.message);
}

#[tokio::test]
async fn create_fails_at_once_when_the_instance_fails() {
    let spec = primary();
    let rules = [
        mock!(Client::create_db_instance).then_output(|| CreateDbInstanceOutput::builder().build()),
        describe(live(&spec, "creating")),
        describe(live(&spec, "incompatible-parameters")),
    ];
    let c = mock_rds(&rules);
    let err = DRIVER.create(&c, &r(&spec)).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(
        err.message.contains("incompatible-parameters"),
        "{}",
        err.message
    );
    all_used(&rules);
}

// ------------------------------------------------------------------------------ find

#[tokio::test]
async fn find_adopts_only_our_instance() {
    let spec = primary();
    let foreign = live_builder(&spec, "available")
        .set_tag_list(Some(theirs("db-primary")))
        .build();
    let rules = [
        describe(live(&spec, "available")),
        describe(foreign),
        describe_missing(PRIMARY),
    ];
    let c = mock_rds(&rules);
    let r = r(&spec);

    assert_eq!(
        DRIVER.find(&c, &r).await.unwrap(),
        Some(instance_outputs(PRIMARY))
    );
    let err = DRIVER.find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert!(
        err.message
            .contains("RDS instance `greenlang-prod-primary`"),
        "{}",
        err.message
    );
    assert!(err.message.contains("stack `staging`"), "{}", err.message);
    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), None);
    all_used(&rules);
}

#[tokio::test]
async fn find_waits_out_a_deleting_instance_and_refuses_a_failed_one() {
    let spec = primary();
    let rules = [
        describe(live(&spec, "deleting")),
        describe(live(&spec, "deleting")),
        describe_missing(PRIMARY),
        describe(live(&spec, "failed")),
    ];
    let c = mock_rds(&rules);
    let r = r(&spec);

    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), None);
    let err = DRIVER.find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("`failed`"), "{}", err.message);
    all_used(&rules);
}

#[tokio::test]
async fn find_of_an_instance_still_creating_waits_for_its_endpoint() {
    let spec = cross_region_replica();
    let rules = [
        describe(live(&spec, "creating")),
        describe(live(&spec, "creating")),
        describe(live(&spec, "available")),
    ];
    let c = mock_rds(&rules);
    assert_eq!(
        DRIVER.find(&c, &r(&spec)).await.unwrap(),
        Some(instance_outputs(REPLICA))
    );
    all_used(&rules);
}

// ---------------------------------------------------------------------------- update

/// Runs an update of `field` from `primary()` to `after`, returning the request sent.
async fn update_one(
    field: &str,
    before: DbInstanceSpec,
    after: DbInstanceSpec,
) -> ModifyDbInstanceInput {
    let (seen, see) = recorder::<ModifyDbInstanceInput>();
    let rules = [
        describe(live(&before, "available")),
        modify_ok(see),
        describe(live(&after, "modifying")),
        describe(live(&after, "available")),
    ];
    let c = mock_rds(&rules);
    let out = update(&DRIVER, &c, &recorded(&before), &r(&after), &[field])
        .await
        .unwrap();
    assert_eq!(out, instance_outputs(&after.identifier));
    all_used(&rules);
    let req = seen.lock().unwrap()[0].clone();
    assert_eq!(
        req.db_instance_identifier(),
        Some(after.identifier.as_str())
    );
    assert_eq!(req.apply_immediately(), Some(true), "{field}");
    req
}

#[tokio::test]
async fn update_of_each_in_place_field_sends_exactly_that_field_applied_immediately() {
    type Case = (
        &'static str,
        fn(&mut DbInstanceSpec),
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        (
            "instance_class",
            |s| s.instance_class = "db.r6g.4xlarge".into(),
            &["db_instance_class"],
        ),
        // Storage and IOPS travel together on provisioned-IOPS storage.
        (
            "allocated_storage",
            |s| s.allocated_storage = 800,
            &["allocated_storage", "iops"],
        ),
        (
            "iops",
            |s| s.iops = Some(16000),
            &["allocated_storage", "iops"],
        ),
        (
            "storage_type",
            |s| s.storage_type = StorageType::Io2,
            &["storage_type", "iops"],
        ),
        ("multi_az", |s| s.multi_az = false, &["multi_az"]),
        (
            "backup_retention_days",
            |s| s.backup_retention_days = 7,
            &["backup_retention_period"],
        ),
        (
            "maintenance_window",
            |s| s.maintenance_window = "Sat:03:00-Sat:04:00".into(),
            &["preferred_maintenance_window"],
        ),
        (
            "deletion_protection",
            |s| s.deletion_protection = false,
            &["deletion_protection"],
        ),
        (
            "parameter_group_name",
            |s| s.parameter_group_name = Some("greenlang-prod-postgres16-v2".into()),
            &["db_parameter_group_name"],
        ),
        (
            "vpc_security_group_ids",
            |s| s.vpc_security_group_ids = vec!["sg-1".into(), "sg-3".into()],
            &["vpc_security_group_ids"],
        ),
        (
            "engine_version",
            |s| s.engine_version = "16.4".into(),
            &["engine_version"],
        ),
    ];
    for (field, change, expected) in cases {
        let mut after = primary();
        change(&mut after);
        let req = update_one(field, primary(), after.clone()).await;
        assert_eq!(
            sent_fields(&req),
            expected.iter().copied().collect::<BTreeSet<_>>(),
            "{field}"
        );
        match *field {
            "instance_class" => assert_eq!(req.db_instance_class(), Some("db.r6g.4xlarge")),
            "allocated_storage" => {
                assert_eq!(req.allocated_storage(), Some(800));
                assert_eq!(req.iops(), Some(12000));
            }
            "iops" => {
                assert_eq!(req.allocated_storage(), Some(500));
                assert_eq!(req.iops(), Some(16000));
            }
            "storage_type" => assert_eq!(req.storage_type(), Some("io2")),
            "multi_az" => assert_eq!(req.multi_az(), Some(false)),
            "backup_retention_days" => assert_eq!(req.backup_retention_period(), Some(7)),
            "maintenance_window" => {
                assert_eq!(
                    req.preferred_maintenance_window(),
                    Some("Sat:03:00-Sat:04:00")
                )
            }
            "deletion_protection" => assert_eq!(req.deletion_protection(), Some(false)),
            "parameter_group_name" => assert_eq!(
                req.db_parameter_group_name(),
                Some("greenlang-prod-postgres16-v2")
            ),
            "vpc_security_group_ids" => assert_eq!(req.vpc_security_group_ids(), ["sg-1", "sg-3"]),
            "engine_version" => assert_eq!(req.engine_version(), Some("16.4")),
            _ => unreachable!(),
        }
    }
}

#[tokio::test]
async fn a_major_engine_upgrade_allows_it_explicitly() {
    let mut after = primary();
    after.engine_version = "17.2".into();
    let req = update_one("engine_version", primary(), after).await;
    assert_eq!(req.engine_version(), Some("17.2"));
    assert_eq!(req.allow_major_version_upgrade(), Some(true));
}

#[tokio::test]
async fn a_subnet_group_in_another_vpc_moves_the_instance_in_one_call_with_that_vpcs_groups() {
    let before = DbInstanceSpec {
        multi_az: false,
        vpc_id: Some("vpc-a".into()),
        ..primary()
    };
    let after = DbInstanceSpec {
        vpc_id: Some("vpc-b".into()),
        db_subnet_group_name: Some("greenlang-prod-data-b".into()),
        vpc_security_group_ids: vec!["sg-b".into()],
        ..before.clone()
    };
    let (seen, see) = recorder::<ModifyDbInstanceInput>();
    let moving = live_builder(&before, "modifying")
        .pending_modified_values(
            PendingModifiedValues::builder()
                .db_subnet_group_name("greenlang-prod-data-b")
                .build(),
        )
        .build();
    let rules = [
        describe(live(&before, "available")),
        modify_ok(see),
        describe(moving),
        describe(live(&after, "available")),
    ];
    let c = mock_rds(&rules);
    let fields = ["db_subnet_group_name", "vpc_id", "vpc_security_group_ids"];
    let out = update(&DRIVER, &c, &recorded(&before), &r(&after), &fields)
        .await
        .unwrap();
    assert_eq!(out, instance_outputs(PRIMARY));
    all_used(&rules);
    let sent = seen.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let req = &sent[0];
    assert_eq!(
        sent_fields(req),
        BTreeSet::from(["db_subnet_group_name", "vpc_security_group_ids"])
    );
    assert_eq!(req.db_subnet_group_name(), Some("greenlang-prod-data-b"));
    assert_eq!(req.vpc_security_group_ids(), ["sg-b"]);
    assert_eq!(req.apply_immediately(), Some(true));
}

#[tokio::test]
async fn a_zone_declared_on_an_instance_elsewhere_is_refused_before_any_modification() {
    let before = DbInstanceSpec {
        multi_az: false,
        availability_zone: Some("eu-west-1a".into()),
        ..primary()
    };
    let after = DbInstanceSpec {
        availability_zone: Some("eu-west-1b".into()),
        ..before.clone()
    };
    // The instance is where it was recorded; the spec now names another zone (a
    // plan would replace it: this is the driver's own guard).
    let rules = [describe(live(&before, "available"))];
    let c = mock_rds(&rules);
    let err = update(
        &DRIVER,
        &c,
        &recorded(&before),
        &r(&after),
        &["availability_zone"],
    )
    .await
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid);
    assert!(
        err.message.contains("is in eu-west-1a, not eu-west-1b"),
        "{}",
        err.message
    );
    all_used(&rules);
}

#[tokio::test]
async fn full_update_of_a_matching_instance_sends_nothing() {
    let mut spec = primary();
    spec.engine_version = "16".into();
    let mut as_is = primary();
    // Autoscaled storage and an automatic minor upgrade: neither is undone.
    as_is.allocated_storage = 650;
    as_is.engine_version = "16.4".into();
    let rules = [describe(live(&as_is, "available"))];
    let c = mock_rds(&rules);

    let out = update(&DRIVER, &c, &recorded(&spec), &r(&spec), &[])
        .await
        .unwrap();

    assert_eq!(out, instance_outputs(PRIMARY));
    all_used(&rules);
}

#[tokio::test]
async fn full_update_sends_every_differing_field_in_one_call_and_reconciles_tags() {
    let spec = primary();
    let mut drifted = primary();
    drifted.instance_class = "db.r6g.large".into();
    drifted.backup_retention_days = 1;
    let drifted_tags = tag_list(&[
        (TAG_STACK, "prod"),
        (TAG_LOGICAL_ID, "db-primary"),
        ("stray", "x"),
    ]);
    let drifted_db = live_builder(&drifted, "available")
        .set_tag_list(Some(drifted_tags.clone()))
        .build();
    // The modification does not touch tags.
    let modified_db = live_builder(&spec, "available")
        .set_tag_list(Some(drifted_tags))
        .build();
    let (modified, see_modify) = recorder::<ModifyDbInstanceInput>();
    let ((added, removed), [add, remove]) = tag_calls();
    let rules = [
        describe(drifted_db),
        modify_ok(see_modify),
        describe(modified_db),
        add,
        remove,
    ];
    let c = mock_rds(&rules);

    update(&DRIVER, &c, &recorded(&spec), &r(&spec), &[])
        .await
        .unwrap();

    assert_eq!(
        sent_fields(&modified.lock().unwrap()[0]),
        BTreeSet::from(["db_instance_class", "backup_retention_period"])
    );
    let added = added.lock().unwrap();
    assert_eq!(added[0].resource_name(), Some(arn(PRIMARY).as_str()));
    assert_eq!(
        tag_map(added[0].tags()),
        BTreeMap::from([("team".to_string(), "platform".to_string())])
    );
    assert_eq!(removed.lock().unwrap()[0].tag_keys(), ["stray"]);
    all_used(&rules);
}

#[tokio::test]
async fn update_waits_for_a_busy_instance_and_for_its_pending_change() {
    let before = primary();
    let mut after = primary();
    after.instance_class = "db.r6g.4xlarge".into();
    let pending = live_builder(&before, "available")
        .pending_modified_values(
            PendingModifiedValues::builder()
                .db_instance_class("db.r6g.4xlarge")
                .build(),
        )
        .build();
    let rules = [
        describe(live(&before, "backing-up")),
        describe(live(&before, "available")),
        modify_ok(|_| true),
        // Still `available` with the change pending: not done yet.
        describe(pending),
        describe(live(&after, "modifying")),
        describe(live(&after, "available")),
    ];
    let c = mock_rds(&rules);
    update(
        &DRIVER,
        &c,
        &recorded(&before),
        &r(&after),
        &["instance_class"],
    )
    .await
    .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn update_of_a_busy_instance_is_retryable() {
    let before = primary();
    let mut after = primary();
    after.multi_az = false;
    let rules = [
        describe(live(&before, "available")),
        mock!(Client::modify_db_instance).then_error(|| {
            aws_sdk_rds::operation::modify_db_instance::ModifyDBInstanceError::generic(meta(
                "InvalidDBInstanceState",
            ))
        }),
    ];
    let c = mock_rds(&rules);
    let err = update(&DRIVER, &c, &recorded(&before), &r(&after), &["multi_az"])
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    all_used(&rules);
}

// ---------------------------------------------------------------------------- promotion

/// The replica's spec once promoted: no source, the source's master user, backups on.
fn promoted() -> DbInstanceSpec {
    DbInstanceSpec {
        replicate_from: None,
        master_username: Some("greenlang".into()),
        backup_retention_days: 7,
        ..cross_region_replica()
    }
}

const PROMOTION: &[&str] = &["backup_retention_days", "master_username", "replicate_from"];

#[tokio::test]
async fn removing_replicate_from_promotes_the_replica_in_place_and_waits_until_standalone() {
    let before = cross_region_replica();
    let after = promoted();
    let replica = |status| {
        live_builder(&before, status)
            .master_username("greenlang")
            .build()
    };
    let (seen, see) = recorder::<PromoteReadReplicaInput>();
    let rules = [
        describe(replica("available")),
        ok_rule!(Client::promote_read_replica(see) -> PromoteReadReplicaOutput),
        // Modifying, then available but still listed as a replica for a moment: not done.
        describe(replica("modifying")),
        describe(replica("available")),
        describe(
            live_builder(&after, "available")
                .master_username("greenlang")
                .build(),
        ),
    ];
    let c = mock_rds(&rules);
    let out = update(&DRIVER, &c, &recorded(&before), &r(&after), PROMOTION)
        .await
        .unwrap();
    // Same identity: the instance is the replica, promoted.
    assert_eq!(out, instance_outputs(REPLICA));
    all_used(&rules);
    let req = seen.lock().unwrap()[0].clone();
    assert_eq!(req.db_instance_identifier(), Some(REPLICA));
    assert_eq!(req.backup_retention_period(), Some(7));
}

#[tokio::test]
async fn a_resumed_promotion_of_an_instance_already_standalone_sends_nothing() {
    let after = promoted();
    let rules = [describe(
        live_builder(&after, "available")
            .master_username("greenlang")
            .build(),
    )];
    let c = mock_rds(&rules);
    update(
        &DRIVER,
        &c,
        &recorded(&cross_region_replica()),
        &r(&after),
        PROMOTION,
    )
    .await
    .unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn a_promotion_naming_another_master_user_is_refused_before_any_call() {
    let mut after = promoted();
    after.master_username = Some("someone-else".into());
    let rules = [describe(
        live_builder(&cross_region_replica(), "available")
            .master_username("greenlang")
            .build(),
    )];
    let c = mock_rds(&rules);
    let err = update(
        &DRIVER,
        &c,
        &recorded(&cross_region_replica()),
        &r(&after),
        PROMOTION,
    )
    .await
    .unwrap_err();
    assert_error(
        &err,
        ErrorClass::Fatal,
        "set `master_username` to `greenlang`",
    );
    all_used(&rules);
}

// ---------------------------------------------------------------------------- delete

fn delete_ok(see: impl Fn(&DeleteDbInstanceInput) -> bool + Send + Sync + 'static) -> Rule {
    ok_rule!(Client::delete_db_instance(see) -> DeleteDbInstanceOutput)
}

#[tokio::test]
async fn delete_of_a_gone_instance_is_success() {
    let mut spec = primary();
    spec.deletion_protection = false;
    let rules = [
        describe_missing(PRIMARY),
        // Gone between the Describe and the Delete.
        describe(live(&spec, "available")),
        mock!(Client::delete_db_instance)
            .then_error(|| DeleteDBInstanceError::generic(meta("DBInstanceNotFound"))),
    ];
    let c = mock_rds(&rules);
    DRIVER.delete(&c, &recorded(&spec)).await.unwrap();
    DRIVER.delete(&c, &recorded(&spec)).await.unwrap();
    all_used(&rules);
}

#[tokio::test]
async fn delete_lifts_deletion_protection_when_the_spec_says_false_and_keeps_a_final_snapshot() {
    let mut spec = primary();
    spec.deletion_protection = false;
    // Protection turned on outside glinfra (or the spec was changed without an apply).
    let protected = live_builder(&spec, "available")
        .deletion_protection(true)
        .build();
    let (modified, see_modify) = recorder::<ModifyDbInstanceInput>();
    let (deleted, see_delete) = recorder::<DeleteDbInstanceInput>();
    let rules = [
        describe(protected),
        modify_ok(see_modify),
        delete_ok(see_delete),
        describe(live(&spec, "deleting")),
        describe(live(&spec, "deleting")),
        describe_missing(PRIMARY),
    ];
    let c = mock_rds(&rules);

    DRIVER.delete(&c, &recorded(&spec)).await.unwrap();

    let modified = modified.lock().unwrap();
    assert_eq!(
        sent_fields(&modified[0]),
        BTreeSet::from(["deletion_protection"])
    );
    assert_eq!(modified[0].deletion_protection(), Some(false));
    assert_eq!(modified[0].apply_immediately(), Some(true));
    let deleted = deleted.lock().unwrap();
    let req = &deleted[0];
    assert_eq!(req.db_instance_identifier(), Some(PRIMARY));
    assert_eq!(req.skip_final_snapshot(), Some(false));
    assert_eq!(req.delete_automated_backups(), Some(false));
    let snapshot = req.final_db_snapshot_identifier().unwrap();
    let stamp = snapshot
        .strip_prefix("greenlang-prod-primary-final-")
        .unwrap_or_else(|| panic!("{snapshot}"));
    assert!(
        stamp.len() == 14 && stamp.chars().all(|c| c.is_ascii_digit()),
        "{snapshot}"
    );
    all_used(&rules);
}

#[tokio::test]
async fn delete_of_a_protected_instance_whose_spec_keeps_protection_fails_naming_the_field() {
    let rules = [describe(live(&primary(), "available"))];
    let c = mock_rds(&rules);
    let err = DRIVER.delete(&c, &recorded(&primary())).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(
        err.message.contains("`deletion_protection`"),
        "{}",
        err.message
    );
    all_used(&rules);
}

#[tokio::test]
async fn delete_of_a_replica_or_a_primary_without_backups_skips_the_final_snapshot() {
    let replica = cross_region_replica();
    let mut no_backups = primary();
    no_backups.deletion_protection = false;
    no_backups.backup_retention_days = 0;
    let (first, see_first) = recorder::<DeleteDbInstanceInput>();
    let (second, see_second) = recorder::<DeleteDbInstanceInput>();
    let rules = [
        describe(live(&replica, "available")),
        delete_ok(see_first),
        describe_missing(REPLICA),
        describe(live(&no_backups, "available")),
        delete_ok(see_second),
        describe_missing(PRIMARY),
    ];
    let c = mock_rds(&rules);

    DRIVER.delete(&c, &recorded(&replica)).await.unwrap();
    DRIVER.delete(&c, &recorded(&no_backups)).await.unwrap();

    let first = first.lock().unwrap();
    let second = second.lock().unwrap();
    assert_eq!(first[0].db_instance_identifier(), Some(REPLICA));
    assert_eq!(second[0].db_instance_identifier(), Some(PRIMARY));
    for req in [&first[0], &second[0]] {
        assert_eq!(req.skip_final_snapshot(), Some(true));
        assert_eq!(req.final_db_snapshot_identifier(), None);
        assert_eq!(req.delete_automated_backups(), Some(false));
    }
    all_used(&rules);
}

#[tokio::test]
async fn delete_of_a_busy_instance_is_retryable() {
    let mut spec = primary();
    spec.deletion_protection = false;
    let rules = [
        describe(live(&spec, "modifying")),
        mock!(Client::delete_db_instance)
            .then_error(|| DeleteDBInstanceError::generic(meta("InvalidDBInstanceState"))),
    ];
    let c = mock_rds(&rules);
    let err = DRIVER.delete(&c, &recorded(&spec)).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    assert!(
        err.message.contains("InvalidDBInstanceState"),
        "{}",
        err.message
    );
    all_used(&rules);
}

#[tokio::test]
async fn delete_of_an_instance_already_deleting_waits_until_it_is_gone() {
    let rules = [
        describe(live(&primary(), "deleting")),
        describe(live(&primary(), "deleting")),
        describe_missing(PRIMARY),
    ];
    let c = mock_rds(&rules);
    DRIVER.delete(&c, &recorded(&primary())).await.unwrap();
    all_used(&rules);
}

/// A create cut short before its outputs were recorded: the executor finds what
/// carries our tags and deletes it from the outputs found; someone else's same-named
/// instance is never ours to delete.
#[tokio::test]
async fn an_unrecorded_instance_is_deleted_only_when_it_carries_our_tags() {
    let spec = cross_region_replica();
    let foreign = live_builder(&spec, "available")
        .set_tag_list(Some(theirs("db-replica")))
        .build();
    let rules = [
        // Ours: found, then deleted.
        describe(live(&spec, "available")),
        describe(live(&spec, "available")),
        delete_ok(|r| r.db_instance_identifier() == Some(REPLICA)),
        describe_missing(REPLICA),
        // Someone else's: not ours to delete.
        describe(foreign),
        // Nothing at all.
        describe_missing(REPLICA),
    ];
    let c = mock_rds(&rules);
    let r = r(&spec);
    delete_found(&DRIVER, &c, &r).await;
    let err = DRIVER.find(&c, &r).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyExists);
    assert_eq!(DRIVER.find(&c, &r).await.unwrap(), None);
    all_used(&rules);
}

// ----------------------------------------------------------------------------- pure

#[test]
fn final_snapshot_ids_are_dated_and_valid_identifiers() {
    // 2024-06-10T12:00:00Z
    assert_eq!(
        final_snapshot_id("greenlang-prod-primary", 1_718_020_800),
        "greenlang-prod-primary-final-20240610120000"
    );
}

#[test]
fn engine_versions_are_upgraded_never_downgraded_and_majors_are_told_apart() {
    assert!(!upgrade_to("16", "16.4"));
    assert!(!upgrade_to("16.3", "16.3"));
    assert!(upgrade_to("16.4", "16.3"));
    assert!(upgrade_to("17", "16.4"));
    assert!(!upgrade_to("16.3", "16.4"));
    assert!(!upgrade_to("15", "16.4"));
    assert_eq!(major("postgres", "16.4"), "16");
    assert_eq!(major("postgres", "9.6.24"), "9.6");
    assert_eq!(major("mysql", "8.0.35"), "8.0");
    assert_ne!(major("mysql", "8.0.35"), major("mysql", "8.4.3"));
}

/// The instance of `spec` as DescribeDBInstances lists it, every field the spec
/// sets included.
fn listed(spec: &DbInstanceSpec, status: &str) -> DbInstanceBuilder {
    let mut b = live_builder(spec, status)
        .storage_encrypted(spec.storage_encrypted)
        .set_kms_key_id(spec.kms_key_id.as_ref().map(|k| k.value().unwrap().clone()))
        .db_subnet_group(
            aws_sdk_rds::types::DbSubnetGroup::builder()
                .db_subnet_group_name(match &spec.db_subnet_group_name {
                    Some(g) => g.value().unwrap().as_str(),
                    // A replica without one is in the region's default VPC.
                    None => "default",
                })
                .build(),
        )
        // A replica reports its source's user name.
        .master_username("greenlang");
    if spec.manage_master_user_password {
        b = b.master_user_secret(
            aws_sdk_rds::types::MasterUserSecret::builder()
                .secret_arn("arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db")
                .build(),
        );
    }
    b
}

/// DescribeDBInstances of the whole region, answering `instances`; each request is recorded.
fn list_all(
    instances: Vec<DbInstance>,
) -> (
    Seen<aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesInput>,
    Rule,
) {
    let (seen, see) = recorder();
    let rule = mock!(Client::describe_db_instances)
        .match_requests(see)
        .then_output(move || {
            DescribeDbInstancesOutput::builder()
                .set_db_instances(Some(instances.clone()))
                .build()
        });
    (seen, rule)
}

#[tokio::test]
async fn observe_reads_every_instance_of_the_region_in_one_call() {
    let cut = listed(&primary(), "available")
        // Cut outside glinfra: drift.
        .backup_retention_period(1)
        // An automatic minor upgrade and storage grown past the spec: what the
        // driver would leave alone reads as recorded.
        .engine_version("16.4")
        .allocated_storage(600)
        .build();
    let theirs_db = listed(&primary(), "available")
        .db_instance_identifier("staging-primary")
        .set_tag_list(Some(theirs("db-primary")))
        .build();
    let mut going = cross_region_replica();
    going.identifier = "greenlang-prod-old".into();
    let going = listed(&going, "deleting")
        .set_tag_list(Some(ours("db-old")))
        .build();
    let (requests, list) = list_all(vec![
        cut,
        theirs_db,
        going,
        listed(&cross_region_replica(), "available").build(),
    ]);
    let rules = [list];
    let c = mock_rds(&rules);
    let scope = crate::test_support::scope(
        STACK,
        REGION,
        vec![recorded(&primary()), recorded(&cross_region_replica())],
    );

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    let asked = requests.lock().unwrap();
    assert_eq!(asked.len(), 1, "one call for the region");
    assert_eq!(asked[0].db_instance_identifier(), None);
    assert!(asked[0].filters().is_empty());
    let ids: Vec<&str> = live.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        ids,
        ["db-primary", "db-replica"],
        "another stack's and a deleting one dropped"
    );
    // The primary's password is managed by RDS: its secret is an output.
    let mut with_secret = instance_outputs(PRIMARY);
    with_secret.master_user_secret_arn =
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db".into();
    assert_eq!(live[0].outputs, with_secret);
    assert_eq!(live[0].tags, owner_tags("db-primary"));
    let read = live[0].spec.as_ref().unwrap();
    assert_eq!(read.backup_retention_days, 1, "the live value");
    assert_eq!(read.engine_version, "16.3");
    assert_eq!(read.allocated_storage, 500);
    let mut expected = primary();
    expected.backup_retention_days = 1;
    assert_eq!(read, &expected);
    assert_eq!(
        serde_json::to_value(live[1].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(cross_region_replica()).unwrap(),
        "the replica: its source by ARN, no master user, the default VPC's group unset"
    );
    all_used(&rules);
}

#[tokio::test]
async fn observe_of_unchanged_instances_reads_exactly_the_recorded_specs() {
    // A same-region replica: RDS names its source by identifier, the spec by ARN.
    let local_replica = DbInstanceSpec {
        identifier: "greenlang-prod-replica".into(),
        replicate_from: Some(arn(PRIMARY).into()),
        kms_key_id: Some(PRIMARY_KEY.into()),
        ..cross_region_replica()
    };
    let replica_db = listed(&local_replica, "available")
        .read_replica_source_db_instance_identifier(PRIMARY)
        .set_tag_list(Some(ours("db-local-replica")))
        .build();
    // The spec names the key by its id (RDS reports its ARN), the subnet group in
    // another case (RDS keeps names, and the window, in lower case).
    let mut by_key_id = primary();
    by_key_id.kms_key_id = Some("primary-key".into());
    by_key_id.db_subnet_group_name = Some("GreenLang-Prod-Data".into());
    let primary_db = listed(&primary(), "available")
        // The same security groups in another order.
        .set_vpc_security_groups(Some(vec![
            VpcSecurityGroupMembership::builder()
                .vpc_security_group_id("sg-2")
                .build(),
            VpcSecurityGroupMembership::builder()
                .vpc_security_group_id("sg-1")
                .build(),
        ]))
        .build();
    let (_, list) = list_all(vec![primary_db, replica_db]);
    let rules = [list];
    let c = mock_rds(&rules);
    let scope = crate::test_support::scope(
        STACK,
        REGION,
        vec![
            recorded(&by_key_id),
            state(
                "db-local-replica",
                &local_replica,
                instance_outputs("greenlang-prod-replica"),
            ),
        ],
    );

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(live.len(), 2);
    assert_eq!(
        serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&by_key_id).unwrap()
    );
    assert_eq!(
        serde_json::to_value(live[1].spec.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&local_replica).unwrap()
    );
    all_used(&rules);
}

#[tokio::test]
async fn observe_reads_an_instance_state_does_not_know_whole() {
    let mut stray = primary();
    stray.identifier = "greenlang-prod-stray".into();
    let stray_db = listed(&stray, "available")
        .set_tag_list(Some(ours("db-stray")))
        .build();
    let (_, list) = list_all(vec![stray_db]);
    let rules = [list];
    let c = mock_rds(&rules);
    let scope = crate::test_support::scope::<DbInstanceSpec>(STACK, REGION, vec![]);

    let live = DRIVER.observe(&c, &scope).await.unwrap().unwrap();

    assert_eq!(live[0].id, "db-stray");
    let mut expected = stray;
    expected.maintenance_window = expected.maintenance_window.to_lowercase();
    assert_eq!(
        live[0].spec.as_ref().unwrap(),
        &expected,
        "every field read from AWS"
    );
    all_used(&rules);
}
