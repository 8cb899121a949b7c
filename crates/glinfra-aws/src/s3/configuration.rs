//! A bucket's sub-configurations: tags, versioning, public access block, default
//! encryption, lifecycle rules, policy, object-lock retention and replication.
//!
//! Each is one whole document S3 replaces with its `Put*` call (or removes with
//! its `Delete*` call; removing what is not there succeeds), so applying the same
//! spec twice is harmless. Replication needs versioning, and object lock is fixed
//! at creation (only its default retention changes).

use crate::error::classify;
use crate::kit::{self, build_error, resolved_opt, resolved_str, Absent, Changed};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketVersioningStatus, DefaultRetention,
    DeleteMarkerReplication, DeleteMarkerReplicationStatus, Destination, EncryptionConfiguration,
    ExpirationStatus, LifecycleExpiration, LifecycleRule as S3LifecycleRule, LifecycleRuleFilter,
    NoncurrentVersionExpiration, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockRetentionMode, ObjectLockRule, PublicAccessBlockConfiguration,
    ReplicationConfiguration, ReplicationRule as S3ReplicationRule, ReplicationRuleFilter,
    ReplicationRuleStatus, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, SourceSelectionCriteria,
    SseKmsEncryptedObjects, SseKmsEncryptedObjectsStatus, StorageClass, Tag, Tagging, Transition,
    TransitionStorageClass, VersioningConfiguration,
};
use aws_sdk_s3::Client;
use glinfra_core::spec::s3::{
    BucketEncryption, BucketSpec, LifecycleRule, ObjectLockRetention, Replication,
};
use glinfra_engine::ProviderError;
use std::collections::BTreeMap;

/// Applies the sub-configurations named in `changed` (all when none is named). A
/// configuration the spec lacks is deleted, unless the bucket is `fresh` (just
/// created, so it has none).
pub(super) async fn configure(
    s3: &Client,
    spec: &BucketSpec,
    tags: &BTreeMap<String, String>,
    changed: Changed<'_>,
    fresh: bool,
) -> Result<(), ProviderError> {
    let b = spec.bucket.as_str();
    let at = |op: &str| format!("{op} {b}");

    // The whole tag set at once: it always holds the ownership tags.
    if changed.has("tags") {
        s3.put_bucket_tagging()
            .bucket(b)
            .tagging(tagging(tags)?)
            .send()
            .await
            .map_err(|e| classify(&at("PutBucketTagging"), e))?;
    }

    // Replication needs versioning, so it goes before versioning may be suspended.
    if changed.has("replication") && spec.replication.is_none() && !fresh {
        s3.delete_bucket_replication()
            .bucket(b)
            .send()
            .await
            .map_err(|e| classify(&at("DeleteBucketReplication"), e))
            .or_gone()?;
    }

    // A bucket never versioned stays so; otherwise versioning is suspended (it cannot be switched off).
    if changed.has("versioning") && (spec.versioning || !fresh) {
        let status = if spec.versioning {
            BucketVersioningStatus::Enabled
        } else {
            BucketVersioningStatus::Suspended
        };
        s3.put_bucket_versioning()
            .bucket(b)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build())
            .send()
            .await
            .map_err(|e| classify(&at("PutBucketVersioning"), e))?;
    }

    // New buckets block public access by default, so this is set on new buckets too.
    if changed.has("block_public_access") {
        if spec.block_public_access {
            s3.put_public_access_block()
                .bucket(b)
                .public_access_block_configuration(public_access_block())
                .send()
                .await
                .map_err(|e| classify(&at("PutPublicAccessBlock"), e))?;
        } else {
            s3.delete_public_access_block()
                .bucket(b)
                .send()
                .await
                .map_err(|e| classify(&at("DeletePublicAccessBlock"), e))
                .or_gone()?;
        }
    }

    if changed.has("encryption") {
        match &spec.encryption {
            Some(enc) => {
                s3.put_bucket_encryption()
                    .bucket(b)
                    .server_side_encryption_configuration(encryption(enc)?)
                    .send()
                    .await
                    .map_err(|e| classify(&at("PutBucketEncryption"), e))?;
            }
            // Back to the S3 default (SSE-S3).
            None if !fresh => s3
                .delete_bucket_encryption()
                .bucket(b)
                .send()
                .await
                .map_err(|e| classify(&at("DeleteBucketEncryption"), e))
                .or_gone()?,
            None => {}
        }
    }

    if changed.has("lifecycle_rules") {
        if !spec.lifecycle_rules.is_empty() {
            s3.put_bucket_lifecycle_configuration()
                .bucket(b)
                .lifecycle_configuration(lifecycle(&spec.lifecycle_rules)?)
                .send()
                .await
                .map_err(|e| classify(&at("PutBucketLifecycleConfiguration"), e))?;
        } else if !fresh {
            s3.delete_bucket_lifecycle()
                .bucket(b)
                .send()
                .await
                .map_err(|e| classify(&at("DeleteBucketLifecycle"), e))
                .or_gone()?;
        }
    }

    if changed.has("policy") {
        match &spec.policy {
            Some(policy) => {
                s3.put_bucket_policy()
                    .bucket(b)
                    .policy(policy.to_string())
                    .send()
                    .await
                    .map_err(|e| classify(&at("PutBucketPolicy"), e))?;
            }
            None if !fresh => s3
                .delete_bucket_policy()
                .bucket(b)
                .send()
                .await
                .map_err(|e| classify(&at("DeleteBucketPolicy"), e))
                .or_gone()?,
            None => {}
        }
    }

    // Object lock itself is fixed at creation; its default retention can change.
    if changed.has("object_lock_retention")
        && spec.object_lock_enabled
        && (spec.object_lock_retention.is_some() || !fresh)
    {
        s3.put_object_lock_configuration()
            .bucket(b)
            .object_lock_configuration(object_lock(spec.object_lock_retention.as_ref()))
            .send()
            .await
            .map_err(|e| classify(&at("PutObjectLockConfiguration"), e))?;
    }

    if changed.has("replication") {
        if let Some(rep) = &spec.replication {
            s3.put_bucket_replication()
                .bucket(b)
                .replication_configuration(replication(rep)?)
                .send()
                .await
                .map_err(|e| classify(&at("PutBucketReplication"), e))?;
        }
    }
    Ok(())
}

/// The bucket's tag set.
pub(super) fn tagging(tags: &BTreeMap<String, String>) -> Result<Tagging, ProviderError> {
    Tagging::builder()
        .set_tag_set(Some(kit::tags::to_sdk::<Tag>(tags)?))
        .build()
        .map_err(build_error("bucket tags"))
}

/// All four public-access-block settings on.
pub(super) fn public_access_block() -> PublicAccessBlockConfiguration {
    PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build()
}

/// Default encryption with KMS (`aws:kms`).
pub(super) fn encryption(
    enc: &BucketEncryption,
) -> Result<ServerSideEncryptionConfiguration, ProviderError> {
    // Without a key id S3 uses the AWS-managed `aws/s3` key.
    let key = resolved_opt(enc.kms_key_arn.as_ref(), "encryption.kms_key_arn")?;
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .set_kms_master_key_id(key)
        .build()
        .map_err(build_error("bucket encryption"))?;
    ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default)
                .bucket_key_enabled(enc.bucket_key_enabled)
                .build(),
        )
        .build()
        .map_err(build_error("bucket encryption"))
}

/// The lifecycle configuration of `rules`, every rule enabled.
fn lifecycle(rules: &[LifecycleRule]) -> Result<BucketLifecycleConfiguration, ProviderError> {
    let mut out = Vec::with_capacity(rules.len());
    for rule in rules {
        let mut b = S3LifecycleRule::builder()
            .id(&rule.id)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(&rule.prefix).build());
        for t in &rule.transitions {
            b = b.transitions(
                Transition::builder()
                    .days(t.days)
                    .storage_class(TransitionStorageClass::from(t.storage_class.as_str()))
                    .build(),
            );
        }
        if let Some(days) = rule.expiration_days {
            b = b.expiration(LifecycleExpiration::builder().days(days).build());
        }
        if let Some(days) = rule.noncurrent_version_expiration_days {
            b = b.noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(days)
                    .build(),
            );
        }
        out.push(b.build().map_err(build_error("lifecycle rule"))?);
    }
    BucketLifecycleConfiguration::builder()
        .set_rules(Some(out))
        .build()
        .map_err(build_error("lifecycle configuration"))
}

/// Object lock, with the default retention when there is one.
fn object_lock(retention: Option<&ObjectLockRetention>) -> ObjectLockConfiguration {
    let mut b = ObjectLockConfiguration::builder().object_lock_enabled(ObjectLockEnabled::Enabled);
    if let Some(r) = retention {
        b = b.rule(
            ObjectLockRule::builder()
                .default_retention(
                    DefaultRetention::builder()
                        .mode(ObjectLockRetentionMode::from(r.mode.as_str()))
                        .days(r.days)
                        .build(),
                )
                .build(),
        );
    }
    b.build()
}

/// The replication configuration: delete markers are not replicated, and objects
/// encrypted with KMS are when a rule names a replica key.
fn replication(rep: &Replication) -> Result<ReplicationConfiguration, ProviderError> {
    let mut rules = Vec::with_capacity(rep.rules.len());
    for (i, rule) in rep.rules.iter().enumerate() {
        let field = format!("replication.rules[{i}]");
        let replica_key = resolved_opt(
            rule.replica_kms_key_arn.as_ref(),
            &format!("{field}.replica_kms_key_arn"),
        )?;
        let destination = Destination::builder()
            .bucket(resolved_str(
                &rule.destination_bucket_arn,
                &format!("{field}.destination_bucket_arn"),
            )?)
            .set_storage_class(rule.storage_class.map(|s| StorageClass::from(s.as_str())))
            .set_encryption_configuration(replica_key.as_ref().map(|k| {
                EncryptionConfiguration::builder()
                    .replica_kms_key_id(k)
                    .build()
            }))
            .build()
            .map_err(build_error("replication destination"))?;
        let mut b = S3ReplicationRule::builder()
            .id(&rule.id)
            .priority(rule.priority)
            .status(ReplicationRuleStatus::Enabled)
            .filter(
                ReplicationRuleFilter::builder()
                    .prefix(&rule.prefix)
                    .build(),
            )
            .delete_marker_replication(
                DeleteMarkerReplication::builder()
                    .status(DeleteMarkerReplicationStatus::Disabled)
                    .build(),
            )
            .destination(destination);
        if replica_key.is_some() {
            // Objects encrypted with KMS are replicated only when asked for explicitly.
            b = b.source_selection_criteria(
                SourceSelectionCriteria::builder()
                    .sse_kms_encrypted_objects(
                        SseKmsEncryptedObjects::builder()
                            .status(SseKmsEncryptedObjectsStatus::Enabled)
                            .build()
                            .map_err(build_error("replication source selection"))?,
                    )
                    .build(),
            );
        }
        rules.push(b.build().map_err(build_error("replication rule"))?);
    }
    ReplicationConfiguration::builder()
        .role(resolved_str(&rep.role_arn, "replication.role_arn")?)
        .set_rules(Some(rules))
        .build()
        .map_err(build_error("replication configuration"))
}
