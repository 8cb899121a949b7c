//! The bucket driver: create, update of each sub-configuration, find, delete.

use super::{
    bucket_tags, full_spec, lifecycle_rules, mock_s3, replication_spec, resource, state, KEY_ARN,
    REGION,
};
use crate::driver::Driver;
use crate::s3::bucket::outputs;
use crate::s3::configuration::{encryption, public_access_block, tagging};
use crate::s3::BucketDriver;
use crate::test_support::{assert_error, meta, mock_clients, ok_rule, recorder, update};
use aws_sdk_s3::operation::create_bucket::{
    CreateBucketError, CreateBucketInput, CreateBucketOutput,
};
use aws_sdk_s3::operation::delete_bucket::{DeleteBucketError, DeleteBucketOutput};
use aws_sdk_s3::operation::delete_bucket_encryption::DeleteBucketEncryptionOutput;
use aws_sdk_s3::operation::delete_bucket_lifecycle::{
    DeleteBucketLifecycleError, DeleteBucketLifecycleOutput,
};
use aws_sdk_s3::operation::delete_bucket_policy::DeleteBucketPolicyOutput;
use aws_sdk_s3::operation::delete_bucket_replication::DeleteBucketReplicationOutput;
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::operation::get_bucket_tagging::{GetBucketTaggingError, GetBucketTaggingOutput};
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::operation::put_bucket_encryption::{
    PutBucketEncryptionInput, PutBucketEncryptionOutput,
};
use aws_sdk_s3::operation::put_bucket_lifecycle_configuration::{
    PutBucketLifecycleConfigurationInput, PutBucketLifecycleConfigurationOutput,
};
use aws_sdk_s3::operation::put_bucket_policy::PutBucketPolicyOutput;
use aws_sdk_s3::operation::put_bucket_replication::{
    PutBucketReplicationInput, PutBucketReplicationOutput,
};
use aws_sdk_s3::operation::put_bucket_tagging::{PutBucketTaggingInput, PutBucketTaggingOutput};
use aws_sdk_s3::operation::put_bucket_versioning::PutBucketVersioningOutput;
use aws_sdk_s3::operation::put_object_lock_configuration::PutObjectLockConfigurationOutput;
use aws_sdk_s3::operation::put_public_access_block::PutPublicAccessBlockOutput;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, DeleteMarkerEntry,
    DeleteMarkerReplicationStatus, ExpirationStatus, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectVersion, ReplicationRuleStatus, ServerSideEncryption, SseKmsEncryptedObjectsStatus,
    StorageClass, TransitionStorageClass,
};
use aws_sdk_s3::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use glinfra_core::spec::s3::{BucketEncryption, BucketSpec};
use glinfra_core::{Input, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::ErrorClass;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a new bucket answers first: the create succeeds (each request recorded
/// by `see_create`), then it has no tag set yet.
fn new_bucket(
    see_create: impl Fn(&CreateBucketInput) -> bool + Send + Sync + 'static,
) -> [Rule; 2] {
    [
        ok_rule!(Client::create_bucket(see_create) -> CreateBucketOutput),
        mock!(Client::get_bucket_tagging)
            .then_error(|| GetBucketTaggingError::generic(meta("NoSuchTagSet"))),
    ]
}

/// Updates the bucket of `spec`, recorded with that same spec, naming only `fields`
/// as changed: `rule` answers the one call it may make.
async fn update_only(spec: &BucketSpec, fields: &[&str], rule: &Rule) {
    let c = mock_s3(RuleMode::Sequential, &[rule]);
    update(&BucketDriver, &c, &state(spec), &resource(spec), fields)
        .await
        .unwrap();
}

#[test]
fn closed_sets_keep_their_s3_names() {
    let spec = serde_json::to_value(full_spec()).unwrap();
    assert_eq!(spec["object_lock_retention"]["mode"], json!("GOVERNANCE"));
    assert_eq!(
        spec["lifecycle_rules"][0]["transitions"],
        json!([{"days": 30, "storage_class": "STANDARD_IA"}, {"days": 90, "storage_class": "GLACIER"}])
    );
    assert_eq!(
        spec["replication"]["rules"][0]["storage_class"],
        json!("STANDARD_IA")
    );
    assert!(serde_json::from_value::<BucketSpec>(json!({
        "bucket": "b", "versioning": false, "block_public_access": true,
        "lifecycle_rules": [{"id": "r", "transitions": [{"days": 30, "storage_class": "STANDARD-IA"}]}]
    }))
    .is_err());
}

#[tokio::test]
async fn create_makes_the_bucket_then_applies_every_configuration_in_order() {
    let spec = full_spec();
    let (created, see_create) = recorder::<CreateBucketInput>();
    let (tagged, see_tags) = recorder::<PutBucketTaggingInput>();
    let [create, no_tags] = new_bucket(see_create);
    let rules = [
        create,
        no_tags,
        ok_rule!(Client::put_bucket_tagging(see_tags) -> PutBucketTaggingOutput),
        mock!(Client::put_bucket_versioning)
            .match_requests(|r| {
                r.versioning_configuration().and_then(|v| v.status())
                    == Some(&BucketVersioningStatus::Enabled)
            })
            .then_output(|| PutBucketVersioningOutput::builder().build()),
        mock!(Client::put_public_access_block)
            .match_requests(|r| {
                r.public_access_block_configuration() == Some(&public_access_block())
            })
            .then_output(|| PutPublicAccessBlockOutput::builder().build()),
        mock!(Client::put_bucket_encryption)
            .then_output(|| PutBucketEncryptionOutput::builder().build()),
        mock!(Client::put_bucket_lifecycle_configuration)
            .then_output(|| PutBucketLifecycleConfigurationOutput::builder().build()),
        mock!(Client::put_bucket_policy)
            .match_requests(|r| {
                r.policy()
                    .map(|p| serde_json::from_str::<Value>(p).unwrap())
                    == Some(BucketSpec::ssl_only_policy("gl-prod-logs"))
            })
            .then_output(|| PutBucketPolicyOutput::builder().build()),
        mock!(Client::put_object_lock_configuration)
            .match_requests(|r| {
                let conf = r.object_lock_configuration().unwrap();
                let retention = conf.rule().and_then(|r| r.default_retention()).unwrap();
                conf.object_lock_enabled() == Some(&ObjectLockEnabled::Enabled)
                    && retention.mode() == Some(&ObjectLockRetentionMode::Governance)
                    && retention.days() == Some(30)
            })
            .then_output(|| PutObjectLockConfigurationOutput::builder().build()),
        mock!(Client::put_bucket_replication)
            .then_output(|| PutBucketReplicationOutput::builder().build()),
    ];
    let c = mock_s3(RuleMode::Sequential, &rules.iter().collect::<Vec<_>>());

    let out = BucketDriver.create(&c, &resource(&spec)).await.unwrap();

    assert_eq!(out, outputs("gl-prod-logs", REGION));
    assert_eq!(out.arn, "arn:aws:s3:::gl-prod-logs");
    let created = created.lock().unwrap();
    assert_eq!(created[0].bucket(), Some("gl-prod-logs"));
    assert_eq!(
        created[0]
            .create_bucket_configuration()
            .and_then(|c| c.location_constraint()),
        Some(&BucketLocationConstraint::EuWest1)
    );
    assert_eq!(created[0].object_lock_enabled_for_bucket(), Some(true));
    let tags: BTreeMap<String, String> = tagged.lock().unwrap()[0]
        .tagging()
        .unwrap()
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(tags, bucket_tags());
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn create_in_us_east_1_sends_no_location_constraint_and_skips_absent_configuration() {
    let spec = BucketSpec::new("gl-plain");
    let (created, see_create) = recorder::<CreateBucketInput>();
    let [create, no_tags] = new_bucket(see_create);
    let rules = [
        create,
        no_tags,
        mock!(Client::put_bucket_tagging).then_output(|| PutBucketTaggingOutput::builder().build()),
        // Versioning off on a new bucket: nothing to send. Public access block: on.
        mock!(Client::put_public_access_block)
            .then_output(|| PutPublicAccessBlockOutput::builder().build()),
    ];
    let c = mock_clients!(
        aws_sdk_s3,
        "s3",
        "us-east-1",
        RuleMode::Sequential,
        &rules.iter().collect::<Vec<_>>()
    );
    let mut r = resource(&spec);
    r.region = "us-east-1".into();

    let out = BucketDriver.create(&c, &r).await.unwrap();

    assert_eq!(out.region, "us-east-1");
    assert_eq!(
        created.lock().unwrap()[0].create_bucket_configuration(),
        None
    );
    assert_eq!(
        created.lock().unwrap()[0].object_lock_enabled_for_bucket(),
        None
    );
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn create_continues_configuring_a_bucket_already_owned_by_this_account() {
    let spec = BucketSpec::new("gl-prod-logs");
    let create_rule = mock!(Client::create_bucket)
        .then_error(|| CreateBucketError::generic(meta("BucketAlreadyOwnedByYou")));
    let tags = mock!(Client::get_bucket_tagging).then_output(|| {
        GetBucketTaggingOutput::builder()
            .set_tag_set(Some(tagging(&bucket_tags()).unwrap().tag_set().to_vec()))
            .build()
            .unwrap()
    });
    let put_tags =
        mock!(Client::put_bucket_tagging).then_output(|| PutBucketTaggingOutput::builder().build());
    // Not a fresh bucket: configuration the spec lacks is removed.
    let del_rep = mock!(Client::delete_bucket_replication)
        .then_output(|| DeleteBucketReplicationOutput::builder().build());
    let versioning = mock!(Client::put_bucket_versioning)
        .match_requests(|r| {
            r.versioning_configuration().and_then(|v| v.status())
                == Some(&BucketVersioningStatus::Suspended)
        })
        .then_output(|| PutBucketVersioningOutput::builder().build());
    let pab = mock!(Client::put_public_access_block)
        .then_output(|| PutPublicAccessBlockOutput::builder().build());
    let del_enc = mock!(Client::delete_bucket_encryption)
        .then_output(|| DeleteBucketEncryptionOutput::builder().build());
    let del_lc = mock!(Client::delete_bucket_lifecycle)
        .then_output(|| DeleteBucketLifecycleOutput::builder().build());
    let del_pol = mock!(Client::delete_bucket_policy)
        .then_output(|| DeleteBucketPolicyOutput::builder().build());
    let rules = [
        &create_rule,
        &tags,
        &put_tags,
        &del_rep,
        &versioning,
        &pab,
        &del_enc,
        &del_lc,
        &del_pol,
    ];
    let c = mock_s3(RuleMode::Sequential, &rules);

    let out = BucketDriver.create(&c, &resource(&spec)).await.unwrap();

    assert_eq!(out.name, "gl-prod-logs");
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn create_refuses_a_bucket_name_taken_by_another_account() {
    let rule = mock!(Client::create_bucket)
        .then_error(|| CreateBucketError::generic(meta("BucketAlreadyExists")));
    let c = mock_s3(RuleMode::Sequential, &[&rule]);
    let err = BucketDriver
        .create(&c, &resource(&BucketSpec::new("gl-taken")))
        .await
        .unwrap_err();
    assert_error(&err, ErrorClass::AlreadyExists, "another AWS account");
}

#[tokio::test]
async fn lifecycle_rules_map_days_storage_classes_and_prefixes() {
    let mut spec = BucketSpec::new("gl-prod-logs");
    spec.lifecycle_rules = lifecycle_rules();
    let (seen, see) = recorder::<PutBucketLifecycleConfigurationInput>();
    let rule = mock!(Client::put_bucket_lifecycle_configuration)
        .match_requests(see)
        .then_output(|| PutBucketLifecycleConfigurationOutput::builder().build());

    update_only(&spec, &["lifecycle_rules"], &rule).await;

    let seen = seen.lock().unwrap();
    let rules = seen[0].lifecycle_configuration().unwrap().rules();
    assert_eq!(rules.len(), 2);
    let archive = &rules[0];
    assert_eq!(archive.id(), Some("archive"));
    assert_eq!(archive.status(), &ExpirationStatus::Enabled);
    assert_eq!(archive.filter().and_then(|f| f.prefix()), Some("logs/"));
    let transitions: Vec<(Option<i32>, Option<&TransitionStorageClass>)> = archive
        .transitions()
        .iter()
        .map(|t| (t.days(), t.storage_class()))
        .collect();
    assert_eq!(
        transitions,
        vec![
            (Some(30), Some(&TransitionStorageClass::StandardIa)),
            (Some(90), Some(&TransitionStorageClass::Glacier)),
        ]
    );
    assert_eq!(archive.expiration().and_then(|e| e.days()), Some(365));
    assert_eq!(
        archive
            .noncurrent_version_expiration()
            .and_then(|e| e.noncurrent_days()),
        Some(60)
    );
    let tmp = &rules[1];
    assert_eq!(tmp.id(), Some("tmp"));
    assert_eq!(tmp.filter().and_then(|f| f.prefix()), Some(""));
    assert!(tmp.transitions().is_empty());
    assert_eq!(tmp.expiration().and_then(|e| e.days()), Some(7));
    assert!(tmp.noncurrent_version_expiration().is_none());
}

#[tokio::test]
async fn encryption_uses_aws_kms_with_the_key_arn_and_bucket_key() {
    let mut spec = BucketSpec::new("gl-prod-logs");
    spec.encryption = Some(BucketEncryption {
        kms_key_arn: Some(Input::Value(KEY_ARN.into())),
        bucket_key_enabled: true,
    });
    let (seen, see) = recorder::<PutBucketEncryptionInput>();
    let rule = ok_rule!(Client::put_bucket_encryption(see) -> PutBucketEncryptionOutput);

    update_only(&spec, &["encryption"], &rule).await;

    let seen = seen.lock().unwrap();
    let rules = seen[0]
        .server_side_encryption_configuration()
        .unwrap()
        .rules();
    assert_eq!(rules.len(), 1);
    let default = rules[0].apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm(), &ServerSideEncryption::AwsKms);
    assert_eq!(default.kms_master_key_id(), Some(KEY_ARN));
    assert_eq!(rules[0].bucket_key_enabled(), Some(true));
}

#[test]
fn encryption_without_a_key_uses_the_aws_managed_key() {
    let conf = encryption(&BucketEncryption {
        kms_key_arn: None,
        bucket_key_enabled: false,
    })
    .unwrap();
    let default = conf.rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap();
    assert_eq!(default.sse_algorithm(), &ServerSideEncryption::AwsKms);
    assert_eq!(default.kms_master_key_id(), None);
}

/// Seed 5.3's backups bucket: one rule per destination region (us-west-2, eu-west-1),
/// the whole bucket each (an empty prefix filter, so V2), priorities 1 and 2, each
/// replica encrypted with its own region's key, KMS-encrypted objects selected.
#[tokio::test]
async fn replication_to_two_regions_sends_one_v2_rule_per_destination() {
    let mut spec = BucketSpec::new("greenlang-backups-prod");
    spec.versioning = true;
    spec.replication = Some(
        serde_json::from_value(serde_json::json!({
            "role_arn": "arn:aws:iam::111122223333:role/greenlang-prod-backups-replication",
            "rules": [
                {"id": "to-us-west-2", "priority": 1,
                 "destination_bucket_arn": "arn:aws:s3:::greenlang-backups-prod-replica-us-west-2",
                 "replica_kms_key_arn": "arn:aws:kms:us-west-2:111122223333:key/w2"},
                {"id": "to-eu-west-1", "priority": 2,
                 "destination_bucket_arn": "arn:aws:s3:::greenlang-backups-prod-replica-eu-west-1",
                 "replica_kms_key_arn": "arn:aws:kms:eu-west-1:111122223333:key/ew1"}
            ]
        }))
        .unwrap(),
    );
    let (seen, see) = recorder::<PutBucketReplicationInput>();
    let rule = ok_rule!(Client::put_bucket_replication(see) -> PutBucketReplicationOutput);

    update_only(&spec, &["replication"], &rule).await;

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one call carries every rule");
    let conf = seen[0].replication_configuration().unwrap();
    let sent: Vec<_> = conf
        .rules()
        .iter()
        .map(|r| {
            let d = r.destination().unwrap();
            (
                r.id().unwrap(),
                r.priority().unwrap(),
                r.filter().and_then(|f| f.prefix()),
                r.delete_marker_replication()
                    .and_then(|d| d.status())
                    .cloned(),
                d.bucket(),
                d.encryption_configuration()
                    .and_then(|e| e.replica_kms_key_id())
                    .unwrap(),
                r.source_selection_criteria()
                    .and_then(|s| s.sse_kms_encrypted_objects())
                    .map(|s| s.status().clone()),
            )
        })
        .collect();
    let disabled = Some(DeleteMarkerReplicationStatus::Disabled);
    let kms = Some(SseKmsEncryptedObjectsStatus::Enabled);
    assert_eq!(
        sent,
        [
            (
                "to-us-west-2",
                1,
                Some(""),
                disabled.clone(),
                "arn:aws:s3:::greenlang-backups-prod-replica-us-west-2",
                "arn:aws:kms:us-west-2:111122223333:key/w2",
                kms.clone()
            ),
            (
                "to-eu-west-1",
                2,
                Some(""),
                disabled,
                "arn:aws:s3:::greenlang-backups-prod-replica-eu-west-1",
                "arn:aws:kms:eu-west-1:111122223333:key/ew1",
                kms
            ),
        ]
    );
}

#[tokio::test]
async fn replication_carries_role_rules_destinations_and_replica_encryption() {
    let mut spec = BucketSpec::new("gl-prod-logs");
    spec.versioning = true;
    spec.replication = Some(replication_spec());
    let (seen, see) = recorder::<PutBucketReplicationInput>();
    let rule = ok_rule!(Client::put_bucket_replication(see) -> PutBucketReplicationOutput);

    update_only(&spec, &["replication"], &rule).await;

    let seen = seen.lock().unwrap();
    let conf = seen[0].replication_configuration().unwrap();
    assert_eq!(conf.role(), "arn:aws:iam::111122223333:role/replicator");
    let rules = conf.rules();
    assert_eq!(rules.len(), 2);
    let dr = &rules[0];
    assert_eq!(dr.id(), Some("to-dr"));
    assert_eq!(dr.priority(), Some(10));
    assert_eq!(dr.status(), &ReplicationRuleStatus::Enabled);
    assert_eq!(dr.filter().and_then(|f| f.prefix()), Some("logs/"));
    assert_eq!(
        dr.delete_marker_replication().and_then(|d| d.status()),
        Some(&DeleteMarkerReplicationStatus::Disabled)
    );
    let dest = dr.destination().unwrap();
    assert_eq!(dest.bucket(), "arn:aws:s3:::gl-prod-logs-dr");
    assert_eq!(dest.storage_class(), Some(&StorageClass::StandardIa));
    assert_eq!(
        dest.encryption_configuration()
            .and_then(|e| e.replica_kms_key_id()),
        Some("arn:aws:kms:eu-central-1:111122223333:key/replica")
    );
    assert_eq!(
        dr.source_selection_criteria()
            .and_then(|s| s.sse_kms_encrypted_objects())
            .map(|s| s.status()),
        Some(&SseKmsEncryptedObjectsStatus::Enabled)
    );
    let all = &rules[1];
    assert_eq!(all.priority(), Some(1));
    assert_eq!(all.filter().and_then(|f| f.prefix()), Some(""));
    assert_eq!(
        all.destination().unwrap().bucket(),
        "arn:aws:s3:::gl-prod-logs-copy"
    );
    assert_eq!(all.destination().unwrap().storage_class(), None);
    assert!(all
        .destination()
        .unwrap()
        .encryption_configuration()
        .is_none());
    assert!(all.source_selection_criteria().is_none());
}

#[tokio::test]
async fn update_touches_only_the_changed_fields() {
    let mut spec = full_spec();
    spec.versioning = true;
    let rule = mock!(Client::put_bucket_versioning)
        .then_output(|| PutBucketVersioningOutput::builder().build());
    // Any other call would find no rule and fail the test.
    update_only(&spec, &["versioning", "force_destroy"], &rule).await;
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn object_lock_turned_on_in_place_puts_the_lock_configuration_with_its_retention() {
    use aws_sdk_s3::operation::put_object_lock_configuration::PutObjectLockConfigurationInput;
    let mut spec = full_spec();
    spec.versioning = true;
    spec.object_lock_enabled = true;
    let (seen, see) = recorder::<PutObjectLockConfigurationInput>();
    let rule =
        ok_rule!(Client::put_object_lock_configuration(see) -> PutObjectLockConfigurationOutput);
    let mut before = spec.clone();
    before.object_lock_enabled = false;
    let c = mock_s3(RuleMode::Sequential, &[&rule]);
    update(
        &BucketDriver,
        &c,
        &state(&before),
        &resource(&spec),
        &["object_lock_enabled"],
    )
    .await
    .unwrap();
    assert_eq!(rule.num_calls(), 1);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].bucket(), Some(spec.bucket.as_str()));
    let conf = seen[0].object_lock_configuration().unwrap();
    assert_eq!(
        conf.object_lock_enabled(),
        Some(&ObjectLockEnabled::Enabled)
    );
    let retention = spec.object_lock_retention.as_ref().unwrap();
    let default = conf.rule().and_then(|r| r.default_retention()).unwrap();
    assert_eq!(default.days(), Some(retention.days));
    assert_eq!(
        default.mode().map(|m| m.as_str()),
        Some(retention.mode.as_str())
    );
}

#[tokio::test]
async fn update_deletes_removed_configurations() {
    let before = full_spec();
    let mut after = full_spec();
    after.lifecycle_rules.clear();
    after.policy = None;
    after.replication = None;
    after.encryption = None;
    let rules = [
        mock!(Client::delete_bucket_replication)
            .match_requests(|r| r.bucket() == Some("gl-prod-logs"))
            .then_output(|| DeleteBucketReplicationOutput::builder().build()),
        mock!(Client::delete_bucket_encryption)
            .then_output(|| DeleteBucketEncryptionOutput::builder().build()),
        // Already gone: still success.
        mock!(Client::delete_bucket_lifecycle).then_error(|| {
            DeleteBucketLifecycleError::generic(meta("NoSuchLifecycleConfiguration"))
        }),
        mock!(Client::delete_bucket_policy)
            .then_output(|| DeleteBucketPolicyOutput::builder().build()),
    ];
    let c = mock_s3(RuleMode::Sequential, &rules.iter().collect::<Vec<_>>());
    let changed = ["encryption", "lifecycle_rules", "policy", "replication"];

    update(
        &BucketDriver,
        &c,
        &state(&before),
        &resource(&after),
        &changed,
    )
    .await
    .unwrap();

    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

fn version(key: &str, id: &str) -> ObjectVersion {
    ObjectVersion::builder().key(key).version_id(id).build()
}

#[tokio::test]
async fn force_destroy_deletes_every_version_and_marker_before_the_bucket() {
    let mut spec = BucketSpec::new("gl-prod-logs");
    spec.versioning = true;
    spec.force_destroy = true;
    let (deleted, see_deleted) =
        recorder::<aws_sdk_s3::operation::delete_objects::DeleteObjectsInput>();
    let see_deleted = Arc::new(see_deleted);
    let see_again = see_deleted.clone();
    let rules = [
        mock!(Client::list_object_versions)
            .match_requests(|r| r.key_marker().is_none())
            .then_output(|| {
                ListObjectVersionsOutput::builder()
                    .versions(version("a.log", "v1"))
                    .versions(version("a.log", "v2"))
                    .delete_markers(
                        DeleteMarkerEntry::builder()
                            .key("b.log")
                            .version_id("m1")
                            .build(),
                    )
                    .is_truncated(true)
                    .next_key_marker("b.log")
                    .next_version_id_marker("m1")
                    .build()
            }),
        mock!(Client::delete_objects)
            .match_requests(move |r| see_deleted(r))
            .then_output(|| DeleteObjectsOutput::builder().build()),
        mock!(Client::list_object_versions)
            .match_requests(|r| {
                r.key_marker() == Some("b.log") && r.version_id_marker() == Some("m1")
            })
            .then_output(|| {
                ListObjectVersionsOutput::builder()
                    .versions(version("c.log", "v9"))
                    .is_truncated(false)
                    .build()
            }),
        mock!(Client::delete_objects)
            .match_requests(move |r| see_again(r))
            .then_output(|| DeleteObjectsOutput::builder().build()),
        mock!(Client::delete_bucket)
            .match_requests(|r| r.bucket() == Some("gl-prod-logs"))
            .then_output(|| DeleteBucketOutput::builder().build()),
        mock!(Client::head_bucket).then_error(|| {
            HeadBucketError::NotFound(
                aws_sdk_s3::types::error::NotFound::builder()
                    .meta(meta("NotFound"))
                    .build(),
            )
        }),
    ];
    let c = mock_s3(RuleMode::Sequential, &rules.iter().collect::<Vec<_>>());

    BucketDriver.delete(&c, &state(&spec)).await.unwrap();

    assert!(rules.iter().all(|r| r.num_calls() == 1));
    let batches: Vec<Vec<(String, Option<String>)>> = deleted
        .lock()
        .unwrap()
        .iter()
        .map(|d| {
            d.delete()
                .unwrap()
                .objects()
                .iter()
                .map(|o| (o.key().to_string(), o.version_id().map(str::to_owned)))
                .collect()
        })
        .collect();
    let v = |k: &str, id: &str| (k.to_string(), Some(id.to_string()));
    assert_eq!(
        batches,
        vec![
            vec![v("a.log", "v1"), v("a.log", "v2"), v("b.log", "m1")],
            vec![v("c.log", "v9")]
        ]
    );
}

#[tokio::test]
async fn delete_of_a_bucket_already_gone_is_success() {
    let rule = mock!(Client::delete_bucket)
        .then_error(|| DeleteBucketError::generic(meta("NoSuchBucket")));
    let c = mock_s3(RuleMode::Sequential, &[&rule]);
    BucketDriver
        .delete(&c, &state(&BucketSpec::new("gl-prod-logs")))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn delete_of_a_non_empty_bucket_without_force_destroy_says_why() {
    let rule = mock!(Client::delete_bucket)
        .then_error(|| DeleteBucketError::generic(meta("BucketNotEmpty")));
    let c = mock_s3(RuleMode::Sequential, &[&rule]);
    let err = BucketDriver
        .delete(&c, &state(&BucketSpec::new("gl-prod-logs")))
        .await
        .unwrap_err();
    assert_error(&err, ErrorClass::Fatal, "force_destroy");
}

fn tagging_output(tags: &[(&str, &str)]) -> GetBucketTaggingOutput {
    let tags: BTreeMap<String, String> = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    GetBucketTaggingOutput::builder()
        .set_tag_set(Some(tagging(&tags).unwrap().tag_set().to_vec()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn find_adopts_only_a_bucket_with_our_tags_or_no_tags() {
    let spec = BucketSpec::new("gl-prod-logs");
    let rules = [
        mock!(Client::get_bucket_tagging).then_output(|| {
            tagging_output(&[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "logs"), ("team", "x")])
        }),
        mock!(Client::get_bucket_tagging)
            .then_error(|| GetBucketTaggingError::generic(meta("NoSuchTagSet"))),
        mock!(Client::get_bucket_tagging)
            .then_error(|| GetBucketTaggingError::generic(meta("NoSuchBucket"))),
        mock!(Client::get_bucket_tagging)
            .then_output(|| tagging_output(&[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "logs")])),
        mock!(Client::get_bucket_tagging).then_output(|| tagging_output(&[("owner", "someone")])),
        mock!(Client::get_bucket_tagging)
            .then_error(|| GetBucketTaggingError::generic(meta("AccessDenied"))),
    ];
    let c = mock_s3(RuleMode::Sequential, &rules.iter().collect::<Vec<_>>());
    let r = resource(&spec);

    assert_eq!(
        BucketDriver.find(&c, &r).await.unwrap(),
        Some(outputs("gl-prod-logs", REGION))
    );
    assert_eq!(
        BucketDriver.find(&c, &r).await.unwrap(),
        Some(outputs("gl-prod-logs", REGION))
    );
    assert_eq!(BucketDriver.find(&c, &r).await.unwrap(), None);
    for expected in [
        "stack `staging`",
        "no glinfra ownership tags",
        "another AWS account",
    ] {
        let err = BucketDriver.find(&c, &r).await.unwrap_err();
        assert_error(&err, ErrorClass::AlreadyExists, expected);
    }
}

mod observe {
    //! Refresh: one ListBuckets for the region, then each recorded bucket's
    //! configuration read back at once, only what its spec sets.

    use super::*;
    use crate::kit::Recorded;
    use crate::s3::configuration::{lifecycle, object_lock, replication};
    use crate::test_support::{desired, recorded, scope};
    use aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput;
    use aws_sdk_s3::operation::get_bucket_lifecycle_configuration::GetBucketLifecycleConfigurationOutput;
    use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput;
    use aws_sdk_s3::operation::get_bucket_replication::GetBucketReplicationOutput;
    use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
    use aws_sdk_s3::operation::get_object_lock_configuration::GetObjectLockConfigurationOutput;
    use aws_sdk_s3::operation::get_public_access_block::{
        GetPublicAccessBlockError, GetPublicAccessBlockOutput,
    };
    use aws_sdk_s3::operation::list_buckets::{ListBucketsInput, ListBucketsOutput};
    use aws_sdk_s3::types::Bucket;

    /// Bucket `name` as ListBuckets returns it, in `region`.
    fn listed(name: &str, region: &str) -> Bucket {
        Bucket::builder().name(name).bucket_region(region).build()
    }

    // In MatchAny mode a rule answers every call it matches: each names its bucket,
    // and the tests count the calls.
    fn versioning(bucket: &'static str, status: BucketVersioningStatus) -> Rule {
        mock!(Client::get_bucket_versioning)
            .match_requests(move |r| r.bucket() == Some(bucket))
            .then_output(move || {
                GetBucketVersioningOutput::builder()
                    .status(status.clone())
                    .build()
            })
    }

    fn blocked(bucket: &'static str) -> Rule {
        mock!(Client::get_public_access_block)
            .match_requests(move |r| r.bucket() == Some(bucket))
            .then_output(|| {
                GetPublicAccessBlockOutput::builder()
                    .public_access_block_configuration(public_access_block())
                    .build()
            })
    }

    fn live_tags(bucket: &'static str, tags: &'static [(&'static str, &'static str)]) -> Rule {
        mock!(Client::get_bucket_tagging)
            .match_requests(move |r| r.bucket() == Some(bucket))
            .then_output(move || tagging_output(tags))
    }

    const OURS: &[(&str, &str)] = &[
        (TAG_STACK, "prod"),
        (TAG_LOGICAL_ID, "logs"),
        ("team", "platform"),
    ];

    /// Every configuration S3 has for `spec`, answered as S3 answers a bucket
    /// configured from it (the policy rewritten as S3 may rewrite it).
    fn configured(spec: &BucketSpec) -> Vec<Rule> {
        let spec = Arc::new(spec.clone());
        let (s1, s2, s3, s4) = (spec.clone(), spec.clone(), spec.clone(), spec.clone());
        vec![
            live_tags("gl-prod-logs", OURS),
            versioning("gl-prod-logs", BucketVersioningStatus::Enabled),
            blocked("gl-prod-logs"),
            mock!(Client::get_object_lock_configuration).then_output(move || {
                GetObjectLockConfigurationOutput::builder()
                    .object_lock_configuration(object_lock(s1.object_lock_retention.as_ref()))
                    .build()
            }),
            mock!(Client::get_bucket_lifecycle_configuration).then_output(move || {
                let mut rules = lifecycle(&s2.lifecycle_rules).unwrap().rules().to_vec();
                rules.reverse(); // a set: another order is not drift
                GetBucketLifecycleConfigurationOutput::builder()
                    .set_rules(Some(rules))
                    .build()
            }),
            mock!(Client::get_bucket_encryption).then_output(move || {
                GetBucketEncryptionOutput::builder()
                    .server_side_encryption_configuration(
                        encryption(s3.encryption.as_ref().unwrap()).unwrap(),
                    )
                    .build()
            }),
            mock!(Client::get_bucket_policy).then_output(|| {
                // S3's own spelling of the same policy: lists for single values, no Version first.
                GetBucketPolicyOutput::builder()
                    .policy(
                        json!({
                            "Statement": [{
                                "Sid": "DenyInsecureTransport", "Effect": "Deny",
                                "Principal": {"AWS": ["*"]}, "Action": ["s3:*"],
                                "Resource": ["arn:aws:s3:::gl-prod-logs/*", "arn:aws:s3:::gl-prod-logs"],
                                "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}
                            }],
                            "Version": "2012-10-17"
                        })
                        .to_string(),
                    )
                    .build()
            }),
            mock!(Client::get_bucket_replication).then_output(move || {
                GetBucketReplicationOutput::builder()
                    .replication_configuration(
                        replication(s4.replication.as_ref().unwrap()).unwrap(),
                    )
                    .build()
            }),
        ]
    }

    #[tokio::test]
    async fn a_bucket_unchanged_round_trips_exactly_and_force_destroy_stays_as_recorded() {
        let mut spec = full_spec();
        spec.force_destroy = true; // not in S3: kept as recorded
        let (seen, see) = recorder::<ListBucketsInput>();
        let list = mock!(Client::list_buckets)
            .match_requests(see)
            .then_output(|| {
                ListBucketsOutput::builder()
                    .buckets(listed("gl-prod-logs", REGION))
                    .build()
            });
        let mut rules = configured(&spec);
        rules.push(list);
        let c = mock_s3(RuleMode::MatchAny, &rules.iter().collect::<Vec<_>>());
        let live = BucketDriver
            .observe(&c, &scope("prod", REGION, vec![state(&spec)]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert_eq!(seen.lock().unwrap()[0].bucket_region(), Some(REGION));
        for (i, rule) in rules.iter().enumerate() {
            assert_eq!(rule.num_calls(), 1, "rule #{i}");
        }
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].id, "logs");
        assert_eq!(live[0].outputs, outputs("gl-prod-logs", REGION));
        assert_eq!(live[0].tags, bucket_tags());
        assert_eq!(
            serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
            serde_json::to_value(&spec).unwrap()
        );
    }

    /// Bucket `id` named `name`, recorded with `spec`'s settings.
    /// Tags the bulk tag read listed (`Scope::tagged`) are not read again: no
    /// GetBucketTagging (in MatchAny mode no rule answers one, so it would fail the
    /// test); the listed tags are the live ones.
    #[tokio::test]
    async fn tags_listed_by_the_bulk_read_are_not_read_again() {
        let spec = full_spec();
        let list = mock!(Client::list_buckets).then_output(|| {
            ListBucketsOutput::builder()
                .buckets(listed("gl-prod-logs", REGION))
                .build()
        });
        let mut rules = configured(&spec);
        rules.remove(0); // GetBucketTagging
        rules.push(list);
        let c = mock_s3(RuleMode::MatchAny, &rules.iter().collect::<Vec<_>>());
        let mut listed_tags = bucket_tags();
        listed_tags.insert("team".into(), "platform".into());
        let mut scope = scope("prod", REGION, vec![state(&spec)]);
        scope.tagged = Some(crate::kit::tagged::Pending::ready(
            [(BucketSpec::arn_of("gl-prod-logs"), listed_tags.clone())].into(),
        ));

        let live = BucketDriver.observe(&c, &scope).await.unwrap().unwrap();

        for (i, rule) in rules.iter().enumerate() {
            assert_eq!(rule.num_calls(), 1, "rule #{i}");
        }
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].tags, listed_tags);
        assert_eq!(
            serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap(),
            serde_json::to_value(&spec).unwrap()
        );
    }

    fn recorded_bucket(id: &str, name: &str, spec: &BucketSpec) -> Recorded<BucketSpec> {
        let mut spec = spec.clone();
        spec.bucket = name.into();
        recorded(&desired("prod", id, REGION, spec), outputs(name, REGION))
    }

    #[tokio::test]
    async fn suspended_versioning_and_a_removed_block_read_live_and_others_buckets_are_dropped() {
        let mut spec = BucketSpec::new("gl-prod-logs");
        spec.versioning = true;
        let list = mock!(Client::list_buckets).then_output(|| {
            ListBucketsOutput::builder()
                .buckets(listed("gl-prod-logs", REGION))
                .buckets(listed("gl-prod-taken", REGION))
                // The region filter is not trusted: this one is elsewhere.
                .buckets(listed("gl-prod-moved", "us-east-1"))
                .buckets(listed("someone-elses", REGION))
                .build()
        });
        // Only the two recorded buckets listed in the region are read; the spec
        // sets no lifecycle, encryption, policy, object lock or replication, so
        // none of those is read (a call without a rule would panic).
        let rules = [
            list,
            live_tags("gl-prod-logs", OURS),
            versioning("gl-prod-logs", BucketVersioningStatus::Suspended),
            mock!(Client::get_public_access_block)
                .match_requests(|r| r.bucket() == Some("gl-prod-logs"))
                .then_error(|| {
                    GetPublicAccessBlockError::generic(meta("NoSuchPublicAccessBlockConfiguration"))
                }),
            live_tags(
                "gl-prod-taken",
                &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "logs")],
            ),
            versioning("gl-prod-taken", BucketVersioningStatus::Enabled),
            blocked("gl-prod-taken"),
        ];
        let c = mock_s3(RuleMode::MatchAny, &rules.iter().collect::<Vec<_>>());
        let recorded = vec![
            state(&spec),
            recorded_bucket("taken", "gl-prod-taken", &spec),
            recorded_bucket("moved", "gl-prod-moved", &spec),
            recorded_bucket("deleted", "gl-prod-deleted", &spec),
        ];
        let live = BucketDriver
            .observe(&c, &scope("prod", REGION, recorded))
            .await
            .unwrap()
            .unwrap();
        for (i, rule) in rules.iter().enumerate() {
            assert_eq!(rule.num_calls(), 1, "rule #{i}");
        }
        assert_eq!(
            live.len(),
            1,
            "the others' bucket, the moved one and the deleted one are not ours here"
        );
        let read = live[0].spec.as_ref().unwrap();
        assert!(!read.versioning, "suspended reads as versioning: false");
        assert!(!read.block_public_access, "a removed block reads as false");
        assert_eq!(read.bucket, "gl-prod-logs");
    }

    #[tokio::test]
    async fn removed_configurations_read_as_absent() {
        use aws_sdk_s3::operation::get_bucket_lifecycle_configuration::GetBucketLifecycleConfigurationError;
        use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyError;
        use aws_sdk_s3::operation::get_bucket_replication::GetBucketReplicationError;
        let mut spec = full_spec();
        spec.object_lock_enabled = false;
        spec.object_lock_retention = None;
        let rules = [
            mock!(Client::list_buckets).then_output(|| {
                ListBucketsOutput::builder()
                    .buckets(listed("gl-prod-logs", REGION))
                    .build()
            }),
            live_tags("gl-prod-logs", OURS),
            versioning("gl-prod-logs", BucketVersioningStatus::Enabled),
            blocked("gl-prod-logs"),
            mock!(Client::get_bucket_lifecycle_configuration).then_error(|| {
                GetBucketLifecycleConfigurationError::generic(meta("NoSuchLifecycleConfiguration"))
            }),
            // The S3 default (SSE-S3) is not the KMS encryption the spec asks for.
            mock!(Client::get_bucket_encryption).then_output(|| {
                GetBucketEncryptionOutput::builder()
                    .server_side_encryption_configuration(
                        aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
                            .rules(
                                aws_sdk_s3::types::ServerSideEncryptionRule::builder()
                                    .apply_server_side_encryption_by_default(
                                        aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
                                            .sse_algorithm(ServerSideEncryption::Aes256)
                                            .build()
                                            .unwrap(),
                                    )
                                    .build(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
            }),
            mock!(Client::get_bucket_policy)
                .then_error(|| GetBucketPolicyError::generic(meta("NoSuchBucketPolicy"))),
            mock!(Client::get_bucket_replication).then_error(|| {
                GetBucketReplicationError::generic(meta("ReplicationConfigurationNotFoundError"))
            }),
        ];
        let c = mock_s3(RuleMode::MatchAny, &rules.iter().collect::<Vec<_>>());
        let live = BucketDriver
            .observe(&c, &scope("prod", REGION, vec![state(&spec)]))
            .await
            .unwrap()
            .unwrap();
        let read = serde_json::to_value(live[0].spec.as_ref().unwrap()).unwrap();
        for field in ["lifecycle_rules", "encryption", "policy", "replication"] {
            assert_eq!(read.get(field), None, "{field} reads as absent");
        }
        assert_eq!(read["versioning"], json!(true));
    }

    #[tokio::test]
    async fn a_bucket_gone_between_the_listing_and_its_reads_is_not_returned() {
        let rules = [
            mock!(Client::list_buckets).then_output(|| {
                ListBucketsOutput::builder()
                    .buckets(listed("gl-prod-logs", REGION))
                    .build()
            }),
            mock!(Client::get_bucket_tagging)
                .then_error(|| GetBucketTaggingError::generic(meta("NoSuchBucket"))),
            mock!(Client::get_bucket_versioning)
                .then_output(|| GetBucketVersioningOutput::builder().build()),
            blocked("gl-prod-logs"),
        ];
        let c = mock_s3(RuleMode::MatchAny, &rules.iter().collect::<Vec<_>>());
        let spec = BucketSpec::new("gl-prod-logs");
        let live = BucketDriver
            .observe(&c, &scope("prod", REGION, vec![state(&spec)]))
            .await
            .unwrap()
            .unwrap();
        assert!(live.is_empty());
    }

    #[tokio::test]
    async fn nothing_recorded_makes_no_call() {
        // No rule: any call would panic.
        let c = mock_s3(RuleMode::MatchAny, &[]);
        let live = BucketDriver
            .observe(&c, &scope::<BucketSpec>("prod", REGION, vec![]))
            .await
            .unwrap();
        assert_eq!(live.map(|l| l.len()), Some(0));
    }
}
