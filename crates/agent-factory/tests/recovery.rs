//! Disaster recovery in the environment files (seed 5.2, 5.3): the backups bucket
//! replicated to both regions, and the standby stack `prod-us-west-2` in its two
//! layouts. No AWS call.

use glinfra_core::spec::iam::IamRoleSpec;
use glinfra_core::spec::kms::KmsKeySpec;
use glinfra_core::spec::rds::DbInstanceSpec;
use glinfra_core::spec::route53::RecordSetSpec;
use glinfra_core::spec::s3::BucketSpec;
use glinfra_core::{Input, ResourceSpec, Stack};
use greenlang_agent_factory::recovery::{STANDBY, WRITER_RECORD};
use std::path::{Path, PathBuf};

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../environments")
        .join(format!("{name}.toml"))
}

/// Writes `text` to `<a fresh directory>/<name>` and returns its path.
fn write_temp(name: &str, text: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("gl-recovery-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

fn spec<S: ResourceSpec>(stack: &Stack, id: &str) -> S {
    stack
        .get(id)
        .unwrap_or_else(|| panic!("no `{id}`"))
        .spec()
        .unwrap()
}

fn reference(input: &Input<String>) -> (String, String) {
    let json = serde_json::to_value(input).unwrap();
    let r = &json["$stack"];
    (
        r["stack"]
            .as_str()
            .unwrap_or_else(|| panic!("{json}"))
            .to_string(),
        r["output"].as_str().unwrap().to_string(),
    )
}

#[test]
fn the_backups_bucket_replicates_to_both_regions_one_rule_each() {
    let (_, stack, _) = greenlang_agent_factory::load_stack(&path("prod-us-east-1")).unwrap();
    let backups: BucketSpec = spec(&stack, "bucket-backups");
    let rep = backups.replication.expect("replicated");
    let rules: Vec<(&str, i32)> = rep
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r.priority))
        .collect();
    assert_eq!(rules, [("to-us-west-2", 1), ("to-eu-west-1", 2)]);
    for (rule, (replica, key, region)) in rep.rules.iter().zip([
        ("bucket-backups-replica", "kms-s3-replica", "us-west-2"),
        (
            "bucket-backups-replica-eu-west-1",
            "kms-s3-replica-eu-west-1",
            "eu-west-1",
        ),
    ]) {
        assert_eq!(rule.destination_bucket_arn, Input::output(replica, "arn"));
        assert_eq!(rule.replica_kms_key_arn, Some(Input::output(key, "arn")));
        let d = stack.get(replica).unwrap();
        assert_eq!(d.region, region);
        assert_eq!(stack.get(key).unwrap().region, region);
        let b: BucketSpec = spec(&stack, replica);
        assert_eq!(b.bucket, format!("greenlang-backups-prod-replica-{region}"));
        assert!(b.versioning);
        let k: KmsKeySpec = spec(&stack, key);
        assert!(k.enable_key_rotation);
    }
    // The role may write exactly those two destinations, with their keys.
    let role: IamRoleSpec = spec(&stack, "iam-backups-replication");
    let policy = serde_json::to_string(&role.inline_policies["replication"]).unwrap();
    for arn in [
        "arn:aws:s3:::greenlang-backups-prod-replica-us-west-2/*",
        "arn:aws:s3:::greenlang-backups-prod-replica-eu-west-1/*",
    ] {
        assert!(policy.contains(arn), "{policy}");
    }
    assert_eq!(
        policy.matches("backups-prod-replica-").count(),
        2,
        "{policy}"
    );
    assert!(policy.contains("kms-s3-replica-eu-west-1"), "{policy}");
    // Other buckets do not replicate; other environments keep one region.
    let packs: BucketSpec = spec(&stack, "bucket-agent-packs");
    assert!(packs.replication.is_none());
    let (_, eu, _) = greenlang_agent_factory::load_stack(&path("prod-eu-west-1")).unwrap();
    let eu_backups: BucketSpec = spec(&eu, "bucket-backups");
    assert_eq!(eu_backups.replication.unwrap().rules.len(), 1);
}

#[test]
fn replication_regions_are_validated_naming_the_file_and_key() {
    let text = std::fs::read_to_string(path("prod-us-east-1")).unwrap();
    for (from, to, expect) in [
        (
            r#"replication_regions = ["us-west-2", "eu-west-1"]"#,
            r#"replication_regions = ["us-west-2", "us-west-2"]"#,
            "`us-west-2` appears twice",
        ),
        (
            r#"replication_regions = ["us-west-2", "eu-west-1"]"#,
            r#"replication_regions = ["us-east-1"]"#,
            "`us-east-1` is the stack's own region",
        ),
        (
            r#"replication_regions = ["us-west-2", "eu-west-1"]"#,
            r#"replication_regions = []"#,
            "no region is listed",
        ),
        (
            r#"replication_regions = ["us-west-2", "eu-west-1"]"#,
            r#"replication_region = "us-west-2""#,
            "unknown field `replication_region`",
        ),
    ] {
        assert!(text.contains(from));
        let file = write_temp("bad.toml", &text.replace(from, to));
        let err = greenlang_agent_factory::load_stack(&file)
            .err()
            .unwrap_or_else(|| panic!("{to} accepted"))
            .to_string();
        assert!(err.contains(expect), "{to}: {err}");
        assert!(err.contains("bad.toml"), "{err}");
    }
}

#[test]
fn the_standby_replicates_the_primary_and_the_writer_record_names_the_primary() {
    let file = path(greenlang_agent_factory::STANDBY_ENVIRONMENT);
    let (stack, _) = greenlang_agent_factory::load_any(&file, None).unwrap();
    assert_eq!(stack.name(), greenlang_agent_factory::STANDBY_ENVIRONMENT);
    assert!(stack.referenced_stacks().contains("prod-us-east-1"));
    for d in stack.declarations() {
        assert!(
            d.region == "us-west-2" || d.id == WRITER_RECORD || d.id.starts_with("iam-"),
            "`{}` in {}: the stack must plan with us-east-1 unreachable",
            d.id,
            d.region
        );
    }
    let db: DbInstanceSpec = spec(&stack, STANDBY);
    assert_eq!(
        reference(db.replicate_from.as_ref().unwrap()),
        ("prod-us-east-1".into(), "db_primary_arn".into())
    );
    assert_eq!(db.master_username, None);
    assert_eq!(db.backup_retention_days, 0);
    assert!(db.storage_encrypted && db.deletion_protection);
    assert_eq!(db.kms_key_id, Some(Input::output("kms-data", "arn")));
    assert!(stack.get(STANDBY).unwrap().lifecycle.protect);
    let record: RecordSetSpec = spec(&stack, WRITER_RECORD);
    assert_eq!(record.name, "db.greenlang.ai");
    assert_eq!(
        reference(&record.records[0]),
        ("prod-us-east-1".into(), "db_primary_endpoint".into())
    );
    assert_eq!(
        reference(&record.zone_id),
        ("prod-us-east-1".into(), "zone_id".into())
    );
    assert!(stack.get("flow-log-vpc").is_some(), "flow logs on its VPC");
    // Seed 8.1 in this production region too: GuardDuty, Security Hub with CIS,
    // Inspector; no web ACL while the region has no load balancers.
    for id in ["guardduty", "securityhub", "securityhub-cis", "inspector"] {
        assert!(stack.get(id).is_some(), "{id}");
    }
    assert!(stack.get("waf-regional").is_none());
    // The README's count: VPC, 3 data subnets, key, security group, subnet group,
    // standby, writer record, the flow log with its group and role, and those four.
    assert_eq!(stack.declarations().len(), 16);
}

#[test]
fn failed_over_the_standby_is_a_primary_and_the_record_names_it() {
    let file = path(greenlang_agent_factory::STANDBY_ENVIRONMENT);
    let (stack, _) = greenlang_agent_factory::load_any(&file, Some("us-west-2")).unwrap();
    let db: DbInstanceSpec = spec(&stack, STANDBY);
    assert_eq!(db.replicate_from, None);
    assert_eq!(db.master_username.as_deref(), Some("greenlang"));
    assert_eq!(db.backup_retention_days, 30);
    let record: RecordSetSpec = spec(&stack, WRITER_RECORD);
    assert_eq!(record.records, [Input::output(STANDBY, "endpoint")]);
    // The same as the file saying so.
    let text = std::fs::read_to_string(&file).unwrap();
    let changed = text.replace(
        "primary_region = \"us-east-1\"",
        "primary_region = \"us-west-2\"",
    );
    let edited = write_temp("prod-us-west-2.toml", &changed);
    let (edited_stack, _) = greenlang_agent_factory::load_any(&edited, None).unwrap();
    let same: DbInstanceSpec = spec(&edited_stack, STANDBY);
    assert_eq!(same, db);
}

#[test]
fn a_failover_to_another_region_or_of_a_full_environment_is_refused() {
    let err = greenlang_agent_factory::load_any(
        &path(greenlang_agent_factory::STANDBY_ENVIRONMENT),
        Some("eu-west-1"),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("standby.primary_region"), "{err}");
    assert!(err.contains("there is none in eu-west-1"), "{err}");
    let err = greenlang_agent_factory::load_any(&path("prod-us-east-1"), Some("us-west-2"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no `[standby]`"), "{err}");
    assert!(err.contains("prod-us-east-1.toml"), "{err}");
}

fn bad(from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(path(greenlang_agent_factory::STANDBY_ENVIRONMENT)).unwrap();
    assert!(text.contains(from), "{from}");
    let file = write_temp("dr.toml", &text.replace(from, to));
    greenlang_agent_factory::load_any(Path::new(&file), None)
        .err()
        .unwrap_or_else(|| panic!("{to}: accepted"))
        .to_string()
}

#[test]
fn recovery_files_are_validated_naming_the_file_and_key() {
    for (from, to, expect) in [
        (
            "primary_region = \"us-east-1\"",
            "primary_region = \"eu-west-1\"",
            "standby.primary_region",
        ),
        (
            "source_region = \"us-east-1\"",
            "source_region = \"us-west-2\"",
            "standby.source_region",
        ),
        (
            "availability_zones = [\"us-west-2a\", \"us-west-2b\", \"us-west-2c\"]",
            "availability_zones = [\"us-west-2a\"]",
            "network.availability_zones",
        ),
        (
            "postgres_clients = [\"10.3.0.0/16\"]",
            "postgres_clients = []",
            "security.postgres_clients",
        ),
        (
            "record = \"db\"",
            "record = \"db\"\nweight = 1",
            "unknown field `weight`",
        ),
        (
            "backup_retention_days = 30",
            "",
            "missing field `backup_retention_days`",
        ),
        (
            "kms-rotation = \"mandatory\"\n",
            "",
            "missing: kms-rotation",
        ),
    ] {
        let err = bad(from, to);
        assert!(err.contains(expect), "{to}: {err}");
        assert!(err.contains("dr.toml"), "{err}");
    }
}

#[test]
fn a_promoted_standby_keeps_the_prod_policies() {
    // Backups below the policy's minimum are refused once the standby is a primary.
    let text = std::fs::read_to_string(path(greenlang_agent_factory::STANDBY_ENVIRONMENT))
        .unwrap()
        .replace("backup_retention_days = 30", "backup_retention_days = 7")
        .replace(
            "primary_region = \"us-east-1\"",
            "primary_region = \"us-west-2\"",
        );
    let file = write_temp("dr.toml", &text);
    let Err(err) = greenlang_agent_factory::load_any(&file, None) else {
        panic!("a standby keeping 7 days of backups is refused");
    };
    let err = err.to_string();
    assert!(err.contains("db-standby"), "{err}");
    assert!(err.contains("backup"), "{err}");
}
