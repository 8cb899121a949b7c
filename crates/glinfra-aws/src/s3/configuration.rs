//! A bucket's sub-configurations: tags, versioning, public access block, default
//! encryption, lifecycle rules, policy, object-lock retention and replication.
//!
//! Each is one whole document S3 replaces with its `Put*` call (or removes with
//! its `Delete*` call; removing what is not there succeeds), so applying the same
//! spec twice is harmless. Replication needs versioning, and object lock is fixed
//! at creation (only its default retention changes).
//!
//! [`read`] reads them back for a refresh, each with its `Get*` call.

use crate::error::classify;
use crate::kit::join::when;
use crate::kit::live::like;
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
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use glinfra_core::spec::s3::{
    BucketEncryption, BucketSpec, LifecycleRule, ObjectLockRetention, Replication, ReplicationRule,
};
use glinfra_core::Input;
use glinfra_engine::ProviderError;
use std::collections::BTreeMap;

/// Applies the sub-configurations named in `changed` (all when none is named). A
/// configuration the spec lacks is deleted, unless the bucket is `fresh` (just
/// created, so it has none).
pub(crate) async fn configure(
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

    // Object lock is turned on at creation, or later on a versioned bucket (versioning
    // is set above) with PutObjectLockConfiguration; it never turns off. Its default
    // retention can change.
    let turned_on = changed.has("object_lock_enabled") && !fresh;
    if (changed.has("object_lock_retention") || turned_on)
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
pub(super) fn lifecycle(
    rules: &[LifecycleRule],
) -> Result<BucketLifecycleConfiguration, ProviderError> {
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
pub(super) fn object_lock(retention: Option<&ObjectLockRetention>) -> ObjectLockConfiguration {
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
pub(super) fn replication(rep: &Replication) -> Result<ReplicationConfiguration, ProviderError> {
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

/// Codes S3 answers about a bucket that is gone, or that is in another region
/// than the client's (so not in the region being read).
const GONE: &[&str] = &[
    "NoSuchBucket",
    "PermanentRedirect",
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
];

/// A bucket's configuration as S3 has it, read back for a refresh.
pub(crate) struct Read {
    /// The recorded spec with every field read replaced by its live value.
    pub spec: BucketSpec,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// The answer of one read; `None` when S3 says the configuration is not set (`unset`).
async fn get<O, E, R>(
    what: String,
    call: impl std::future::Future<Output = Result<O, SdkError<E, R>>>,
    unset: &[&str],
) -> Result<Option<O>, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match call.await {
        Ok(out) => Ok(Some(out)),
        Err(e) => {
            let err = classify(&what, e);
            if err.has_code(unset) {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// Reads back the configuration of bucket `recorded.bucket` that its recorded
/// spec sets, all at once: tags, versioning and the public access block always
/// (they are always in the spec), then object lock, lifecycle, encryption, policy
/// and replication only when recorded (a field recorded as absent is never
/// compared). `force_destroy` is not in S3: it stays as recorded. The tags are
/// `listed` when a bulk read of them listed the bucket (then not read again).
/// `None` when the bucket is gone (or not in this region).
pub(crate) async fn read(
    s3: &Client,
    recorded: &BucketSpec,
    listed: Option<BTreeMap<String, String>>,
) -> Result<Option<Read>, ProviderError> {
    let b = recorded.bucket.as_str();
    let at = |op: &str| format!("{op} {b}");
    let lock = recorded.object_lock_enabled || recorded.object_lock_retention.is_some();
    let reads = async {
        tokio::try_join!(
            when(
                listed.is_none(),
                get(
                    at("GetBucketTagging"),
                    s3.get_bucket_tagging().bucket(b).send(),
                    &["NoSuchTagSet"]
                )
            ),
            get(
                at("GetBucketVersioning"),
                s3.get_bucket_versioning().bucket(b).send(),
                &[]
            ),
            get(
                at("GetPublicAccessBlock"),
                s3.get_public_access_block().bucket(b).send(),
                &["NoSuchPublicAccessBlockConfiguration"]
            ),
            when(
                lock,
                get(
                    at("GetObjectLockConfiguration"),
                    s3.get_object_lock_configuration().bucket(b).send(),
                    &["ObjectLockConfigurationNotFoundError"]
                )
            ),
            when(
                !recorded.lifecycle_rules.is_empty(),
                get(
                    at("GetBucketLifecycleConfiguration"),
                    s3.get_bucket_lifecycle_configuration().bucket(b).send(),
                    &["NoSuchLifecycleConfiguration"]
                )
            ),
            when(
                recorded.encryption.is_some(),
                get(
                    at("GetBucketEncryption"),
                    s3.get_bucket_encryption().bucket(b).send(),
                    &["ServerSideEncryptionConfigurationNotFoundError"]
                )
            ),
            when(
                recorded.policy.is_some(),
                get(
                    at("GetBucketPolicy"),
                    s3.get_bucket_policy().bucket(b).send(),
                    &["NoSuchBucketPolicy"]
                )
            ),
            when(
                recorded.replication.is_some(),
                get(
                    at("GetBucketReplication"),
                    s3.get_bucket_replication().bucket(b).send(),
                    &["ReplicationConfigurationNotFoundError"]
                )
            ),
        )
    };
    let (tagging, versioning, block, object_lock, lifecycle, encryption, policy, replication) =
        match reads.await {
            Ok(read) => read,
            Err(err) if err.has_code(GONE) => return Ok(None),
            Err(err) => return Err(err),
        };
    // Not read, or read and not set: either way nothing to take from it.
    let (object_lock, lifecycle, encryption, policy, replication) = (
        object_lock.flatten(),
        lifecycle.flatten(),
        encryption.flatten(),
        policy.flatten(),
        replication.flatten(),
    );

    let mut spec = recorded.clone();
    spec.versioning =
        versioning.and_then(|v| v.status().cloned()) == Some(BucketVersioningStatus::Enabled);
    // A removed block reads as none set: public access is not blocked.
    spec.block_public_access = block
        .as_ref()
        .and_then(|o| o.public_access_block_configuration())
        .is_some_and(|c| {
            [
                c.block_public_acls(),
                c.ignore_public_acls(),
                c.block_public_policy(),
                c.restrict_public_buckets(),
            ]
            .iter()
            .all(|x| *x == Some(true))
        });
    if lock {
        let config = object_lock
            .as_ref()
            .and_then(|o| o.object_lock_configuration());
        spec.object_lock_enabled =
            config.and_then(|c| c.object_lock_enabled()) == Some(&ObjectLockEnabled::Enabled);
        spec.object_lock_retention = config
            .and_then(|c| c.rule()?.default_retention())
            .and_then(read_retention);
    }
    if !recorded.lifecycle_rules.is_empty() {
        let rules = lifecycle.as_ref().map(|o| o.rules()).unwrap_or_default();
        spec.lifecycle_rules = read_lifecycle(rules, &recorded.lifecycle_rules);
    }
    if let Some(before) = &recorded.encryption {
        spec.encryption = encryption
            .as_ref()
            .and_then(|o| o.server_side_encryption_configuration())
            .and_then(|c| read_encryption(c, before));
    }
    if recorded.policy.is_some() {
        spec.policy = policy
            .as_ref()
            .and_then(|o| o.policy())
            .map(|text| kit::policy::like(kit::policy::parse(text), recorded.policy.as_ref()));
    }
    if let Some(before) = &recorded.replication {
        spec.replication = replication
            .as_ref()
            .and_then(|o| o.replication_configuration())
            .map(|c| read_replication(c, before));
    }
    let tags = listed.unwrap_or_else(|| {
        tagging
            .flatten()
            .map(|t| kit::tags::from_sdk(t.tag_set()))
            .unwrap_or_default()
    });
    Ok(Some(Read { spec, tags }))
}

/// The default retention, in days (a retention in years reads as 365 days a year).
fn read_retention(r: &DefaultRetention) -> Option<ObjectLockRetention> {
    let mode = r.mode()?.as_str().parse().ok()?;
    let days = r.days().or_else(|| r.years().map(|y| y * 365))?;
    Some(ObjectLockRetention { mode, days })
}

/// A live value as an input: the recorded input when it holds that value.
fn input(live: &str, recorded: Option<&Input<String>>) -> Input<String> {
    match recorded {
        Some(r) if r.value().map(String::as_str) == Some(live) => r.clone(),
        _ => Input::Value(live.to_string()),
    }
}

/// The enabled lifecycle rules (a disabled rule is one the spec does not have),
/// in the recorded order when they are the same rules.
fn read_lifecycle(rules: &[S3LifecycleRule], recorded: &[LifecycleRule]) -> Vec<LifecycleRule> {
    let live = rules
        .iter()
        .filter(|r| *r.status() == ExpirationStatus::Enabled)
        .map(|r| {
            let id = r.id().unwrap_or_default().to_string();
            let transitions = r
                .transitions()
                .iter()
                .filter_map(|t| {
                    Some(glinfra_core::spec::s3::Transition {
                        days: t.days()?,
                        storage_class: t.storage_class()?.as_str().parse().ok()?,
                    })
                })
                .collect();
            let before = recorded.iter().find(|x| x.id == id);
            LifecycleRule {
                prefix: r
                    .filter()
                    .and_then(|f| f.prefix())
                    .unwrap_or_default()
                    .to_string(),
                transitions: like(transitions, before.map(|b| &b.transitions[..])),
                expiration_days: r.expiration().and_then(|e| e.days()),
                noncurrent_version_expiration_days: r
                    .noncurrent_version_expiration()
                    .and_then(|n| n.noncurrent_days()),
                id,
            }
        })
        .collect();
    like(live, Some(recorded))
}

/// Default encryption with KMS, or `None` when the bucket uses another kind.
fn read_encryption(
    config: &ServerSideEncryptionConfiguration,
    recorded: &BucketEncryption,
) -> Option<BucketEncryption> {
    let rule = config.rules().first()?;
    let by_default = rule.apply_server_side_encryption_by_default()?;
    (*by_default.sse_algorithm() == ServerSideEncryption::AwsKms).then(|| BucketEncryption {
        kms_key_arn: by_default
            .kms_master_key_id()
            .map(|k| input(k, recorded.kms_key_arn.as_ref())),
        bucket_key_enabled: rule.bucket_key_enabled().unwrap_or(false),
    })
}

/// The replication configuration: its role and enabled rules, in the recorded
/// order when they are the same.
fn read_replication(config: &ReplicationConfiguration, recorded: &Replication) -> Replication {
    let rules = config
        .rules()
        .iter()
        .filter(|r| *r.status() == ReplicationRuleStatus::Enabled)
        .map(|r| {
            let id = r.id().unwrap_or_default().to_string();
            let before = recorded.rules.iter().find(|x| x.id == id);
            let destination = r.destination();
            ReplicationRule {
                priority: r.priority().unwrap_or(0),
                prefix: r
                    .filter()
                    .and_then(|f| f.prefix())
                    .unwrap_or_default()
                    .to_string(),
                destination_bucket_arn: input(
                    destination.map(|d| d.bucket()).unwrap_or_default(),
                    before.map(|b| &b.destination_bucket_arn),
                ),
                storage_class: destination
                    .and_then(|d| d.storage_class())
                    .and_then(|s| s.as_str().parse().ok()),
                replica_kms_key_arn: destination
                    .and_then(|d| d.encryption_configuration()?.replica_kms_key_id())
                    .map(|k| input(k, before.and_then(|b| b.replica_kms_key_arn.as_ref()))),
                id,
            }
        })
        .collect();
    Replication {
        role_arn: input(config.role(), Some(&recorded.role_arn)),
        rules: like(rules, Some(&recorded.rules)),
    }
}
