//! The S3 bucket driver: a bucket with its tags, versioning, public access block,
//! default encryption, lifecycle rules, policy, object-lock retention and replication.
//!
//! Bucket names are global and deterministic, so the name is the natural key and
//! the ownership tags say whose bucket it is. Every sub-configuration is set with
//! a whole-document `Put*` call (or removed with its `Delete*` call), so applying
//! the same spec twice is harmless.

use crate::clients::Clients;
use crate::error::{classify, classify_code};
use crate::wait::{self, Poll};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, DefaultRetention, Delete, DeleteMarkerReplication,
    DeleteMarkerReplicationStatus, Destination, EncryptionConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule as S3LifecycleRule, LifecycleRuleFilter,
    NoncurrentVersionExpiration, ObjectIdentifier, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockRetentionMode, ObjectLockRule, PublicAccessBlockConfiguration,
    ReplicationConfiguration, ReplicationRule as S3ReplicationRule, ReplicationRuleFilter,
    ReplicationRuleStatus, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, SourceSelectionCriteria,
    SseKmsEncryptedObjects, SseKmsEncryptedObjectsStatus, StorageClass, Tag, Tagging, Transition,
    TransitionStorageClass, VersioningConfiguration,
};
use aws_sdk_s3::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::error::operation::BuildError;
use glinfra_core::spec::s3::{
    BucketEncryption, BucketSpec, LifecycleRule, ObjectLockRetention, Replication,
};
use glinfra_core::{Input, ResourceState, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, Outputs, ProviderError, ResolvedResource};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a new bucket may take to become visible, and a deleted one to go away.
const PROPAGATION_DEADLINE: Duration = Duration::from_secs(120);

/// The most keys one DeleteObjects call takes.
const DELETE_BATCH: usize = 1000;

/// How many times a force-destroy empties the bucket again when objects keep arriving.
const EMPTY_PASSES: u32 = 3;

/// The service error code of an SDK error, read before it is classified.
fn code_of<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<String> {
    e.code().map(str::to_owned)
}

fn build_error(what: &str) -> impl FnOnce(BuildError) -> ProviderError + '_ {
    move |e| ProviderError::new(ErrorClass::Invalid, format!("{what}: {e}"))
}

fn resolved<'a>(input: &'a Input<String>, field: &str) -> Result<&'a str, ProviderError> {
    input.value().map(String::as_str).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!("{field} is an output reference that was not resolved"),
        )
    })
}

fn outputs(bucket: &str, region: &str) -> Outputs {
    let mut out = Outputs::new();
    out.insert("name".into(), Value::String(bucket.to_string()));
    out.insert("arn".into(), Value::String(BucketSpec::arn_of(bucket)));
    out.insert("region".into(), Value::String(region.to_string()));
    out
}

/// Who a bucket with our name belongs to.
#[derive(Debug, PartialEq)]
enum Owner {
    /// No such bucket.
    Absent,
    /// A bucket in this account with no tags at all.
    Untagged,
    /// It carries this resource's ownership tags.
    Ours,
    /// It belongs to something else (described).
    Other(String),
}

/// Reads the bucket's tags to tell who owns it (GetBucketTagging: one call).
async fn owner(s3: &Client, bucket: &str, r: &ResolvedResource) -> Result<Owner, ProviderError> {
    let out = match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) => {
            let code = code_of(&e);
            if code.as_deref() == Some("NoSuchTagSet") {
                // We could read it, and it has no tags: a bucket of this account.
                return Ok(Owner::Untagged);
            }
            let err = classify(&format!("GetBucketTagging {bucket}"), e);
            return match (err.class, code.as_deref()) {
                (ErrorClass::NotFound, _) => Ok(Owner::Absent),
                (_, Some("AccessDenied" | "AllAccessDisabled")) => Ok(Owner::Other(
                    "another AWS account (or this account may not read its tags)".into(),
                )),
                (
                    _,
                    Some(
                        "PermanentRedirect"
                        | "AuthorizationHeaderMalformed"
                        | "IllegalLocationConstraintException",
                    ),
                ) => Ok(Owner::Other(format!(
                    "a bucket in a region other than `{}`",
                    r.region
                ))),
                _ => Err(err),
            };
        }
    };
    let tags: BTreeMap<&str, &str> = out.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    if tags.is_empty() {
        return Ok(Owner::Untagged);
    }
    let stack = tags.get(TAG_STACK).copied();
    let logical = tags.get(TAG_LOGICAL_ID).copied();
    if stack == Some(r.stack.as_str()) && logical == Some(r.id.as_str()) {
        return Ok(Owner::Ours);
    }
    Ok(Owner::Other(match (stack, logical) {
        (Some(s), Some(l)) => format!("stack `{s}`, resource `{l}`"),
        _ => "a bucket not managed by glinfra (it has no glinfra ownership tags)".into(),
    }))
}

fn taken(bucket: &str, owner: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::AlreadyExists,
        format!("bucket `{bucket}` already exists and belongs to {owner}; bucket names are global, choose another"),
    )
}

pub(crate) async fn find(
    c: &Clients,
    r: &ResolvedResource,
) -> Result<Option<Outputs>, ProviderError> {
    let spec: BucketSpec = r.spec()?;
    let s3 = c.s3(&r.region);
    match owner(&s3, &spec.bucket, r).await? {
        Owner::Absent => Ok(None),
        Owner::Ours => Ok(Some(outputs(&spec.bucket, &r.region))),
        Owner::Untagged => {
            // Readable and without any tag: a bucket of this account left by a crash
            // between CreateBucket and PutBucketTagging (CreateBucket would answer
            // BucketAlreadyOwnedByYou). Bucket names are deterministic, so it is ours.
            tracing::info!(bucket = %spec.bucket, resource = %r.id, "adopting an untagged bucket of this account");
            Ok(Some(outputs(&spec.bucket, &r.region)))
        }
        Owner::Other(o) => Err(taken(&spec.bucket, &o)),
    }
}

pub(crate) async fn create(c: &Clients, r: &ResolvedResource) -> Result<Outputs, ProviderError> {
    let spec: BucketSpec = r.spec()?;
    let s3 = c.s3(&r.region);
    let bucket = spec.bucket.as_str();

    let mut req = s3.create_bucket().bucket(bucket);
    // us-east-1 takes no location constraint (and rejects `us-east-1` as one).
    if r.region != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(r.region.as_str()))
                .build(),
        );
    }
    if spec.object_lock_enabled {
        req = req.object_lock_enabled_for_bucket(true);
    }
    let made = match req.send().await {
        Ok(_) => true,
        Err(e) => {
            if code_of(&e).as_deref() == Some("BucketAlreadyOwnedByYou") {
                // An earlier attempt made it; whose it is is checked below.
                false
            } else {
                let err = classify(&format!("CreateBucket {bucket}"), e);
                return Err(if err.class == ErrorClass::AlreadyExists {
                    ProviderError::new(
                        ErrorClass::AlreadyExists,
                        format!("bucket `{bucket}` already exists in another AWS account; bucket names are global, choose another"),
                    )
                    .with_source(err)
                } else {
                    err
                });
            }
        }
    };

    // A new bucket can take a moment to be visible to the bucket sub-resource calls.
    // In us-east-1 CreateBucket succeeds even when this account already has the
    // bucket, so the tags are read in every case before ours are written.
    let found = wait::until(
        &format!("bucket `{bucket}` to exist"),
        PROPAGATION_DEADLINE,
        Duration::from_millis(500),
        || async {
            Ok(match owner(&s3, bucket, r).await? {
                Owner::Absent => Poll::Pending("absent".into()),
                o => Poll::Ready(o),
            })
        },
    )
    .await?;
    if let Owner::Other(o) = found {
        return Err(taken(bucket, &o));
    }
    // A bucket we did not just make may carry configuration from an earlier spec:
    // then configurations the spec lacks are removed too.
    let fresh = made && found == Owner::Untagged;
    configure(&s3, &spec, &r.tags, &[], fresh).await?;
    Ok(outputs(bucket, &r.region))
}

pub(crate) async fn update(
    c: &Clients,
    prior: &ResourceState,
    r: &ResolvedResource,
    changed: &[String],
) -> Result<Outputs, ProviderError> {
    let spec: BucketSpec = r.spec()?;
    let s3 = c.s3(&r.region);
    configure(&s3, &spec, &r.tags, changed, false).await?;
    let mut out = prior.outputs.clone();
    out.extend(outputs(&spec.bucket, &r.region));
    Ok(out)
}

fn wants(changed: &[String], field: &str) -> bool {
    changed.is_empty() || changed.iter().any(|c| c == field)
}

/// Success when the call succeeded or what it removes is already gone.
fn gone_ok<T>(result: Result<T, ProviderError>) -> Result<(), ProviderError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.class == ErrorClass::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Applies the sub-configurations named in `changed` (all when empty). A
/// configuration the spec lacks is deleted, unless the bucket is `fresh` (just
/// created, so it has none).
async fn configure(
    s3: &Client,
    spec: &BucketSpec,
    tags: &BTreeMap<String, String>,
    changed: &[String],
    fresh: bool,
) -> Result<(), ProviderError> {
    let b = spec.bucket.as_str();
    let at = |op: &str| format!("{op} {b}");

    if wants(changed, "tags") {
        if tags.is_empty() {
            if !fresh {
                gone_ok(
                    s3.delete_bucket_tagging()
                        .bucket(b)
                        .send()
                        .await
                        .map_err(|e| classify(&at("DeleteBucketTagging"), e)),
                )?;
            }
        } else {
            s3.put_bucket_tagging()
                .bucket(b)
                .tagging(tagging(tags)?)
                .send()
                .await
                .map_err(|e| classify(&at("PutBucketTagging"), e))?;
        }
    }

    // Replication needs versioning, so it goes before versioning may be suspended.
    if wants(changed, "replication") && spec.replication.is_none() && !fresh {
        gone_ok(
            s3.delete_bucket_replication()
                .bucket(b)
                .send()
                .await
                .map_err(|e| classify(&at("DeleteBucketReplication"), e)),
        )?;
    }

    // A bucket never versioned stays so; otherwise versioning is suspended (it cannot be switched off).
    if wants(changed, "versioning") && (spec.versioning || !fresh) {
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
    if wants(changed, "block_public_access") {
        if spec.block_public_access {
            s3.put_public_access_block()
                .bucket(b)
                .public_access_block_configuration(public_access_block())
                .send()
                .await
                .map_err(|e| classify(&at("PutPublicAccessBlock"), e))?;
        } else {
            gone_ok(
                s3.delete_public_access_block()
                    .bucket(b)
                    .send()
                    .await
                    .map_err(|e| classify(&at("DeletePublicAccessBlock"), e)),
            )?;
        }
    }

    if wants(changed, "encryption") {
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
            None if !fresh => gone_ok(
                s3.delete_bucket_encryption()
                    .bucket(b)
                    .send()
                    .await
                    .map_err(|e| classify(&at("DeleteBucketEncryption"), e)),
            )?,
            None => {}
        }
    }

    if wants(changed, "lifecycle_rules") {
        if !spec.lifecycle_rules.is_empty() {
            s3.put_bucket_lifecycle_configuration()
                .bucket(b)
                .lifecycle_configuration(lifecycle(&spec.lifecycle_rules)?)
                .send()
                .await
                .map_err(|e| classify(&at("PutBucketLifecycleConfiguration"), e))?;
        } else if !fresh {
            gone_ok(
                s3.delete_bucket_lifecycle()
                    .bucket(b)
                    .send()
                    .await
                    .map_err(|e| classify(&at("DeleteBucketLifecycle"), e)),
            )?;
        }
    }

    if wants(changed, "policy") {
        match &spec.policy {
            Some(policy) => {
                s3.put_bucket_policy()
                    .bucket(b)
                    .policy(policy.to_string())
                    .send()
                    .await
                    .map_err(|e| classify(&at("PutBucketPolicy"), e))?;
            }
            None if !fresh => gone_ok(
                s3.delete_bucket_policy()
                    .bucket(b)
                    .send()
                    .await
                    .map_err(|e| classify(&at("DeleteBucketPolicy"), e)),
            )?,
            None => {}
        }
    }

    // Object lock itself is fixed at creation; its default retention can change.
    if wants(changed, "object_lock_retention")
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

    if wants(changed, "replication") {
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

fn tagging(tags: &BTreeMap<String, String>) -> Result<Tagging, ProviderError> {
    let tags = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(build_error("bucket tags"))?;
    Tagging::builder()
        .set_tag_set(Some(tags))
        .build()
        .map_err(build_error("bucket tags"))
}

fn public_access_block() -> PublicAccessBlockConfiguration {
    PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build()
}

fn encryption(enc: &BucketEncryption) -> Result<ServerSideEncryptionConfiguration, ProviderError> {
    let key = match &enc.kms_key_arn {
        Some(k) => Some(resolved(k, "encryption.kms_key_arn")?.to_string()),
        // Without a key id S3 uses the AWS-managed `aws/s3` key.
        None => None,
    };
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

fn replication(rep: &Replication) -> Result<ReplicationConfiguration, ProviderError> {
    let mut rules = Vec::with_capacity(rep.rules.len());
    for (i, rule) in rep.rules.iter().enumerate() {
        let field = format!("replication.rules[{i}]");
        let replica_key = match &rule.replica_kms_key_arn {
            Some(k) => Some(resolved(k, &format!("{field}.replica_kms_key_arn"))?.to_string()),
            None => None,
        };
        let destination = Destination::builder()
            .bucket(resolved(
                &rule.destination_bucket_arn,
                &format!("{field}.destination_bucket_arn"),
            )?)
            .set_storage_class(rule.storage_class.as_deref().map(StorageClass::from))
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
        .role(resolved(&rep.role_arn, "replication.role_arn")?)
        .set_rules(Some(rules))
        .build()
        .map_err(build_error("replication configuration"))
}

pub(crate) async fn delete(
    c: &Clients,
    id: &str,
    prior: &ResourceState,
) -> Result<(), ProviderError> {
    let spec: BucketSpec = serde_json::from_value(prior.props.clone()).map_err(|e| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!("bucket `{id}`: malformed recorded spec: {e}"),
        )
    })?;
    let bucket = prior
        .outputs
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&spec.bucket);
    let s3 = c.s3(&prior.region);

    let mut pass = 0;
    loop {
        pass += 1;
        if spec.force_destroy && !empty_bucket(&s3, bucket, spec.object_lock_enabled).await? {
            return Ok(()); // the bucket is gone already
        }
        match s3.delete_bucket().bucket(bucket).send().await {
            Ok(_) => break,
            Err(e) => {
                let code = code_of(&e);
                let err = classify(&format!("DeleteBucket {bucket}"), e);
                if err.class == ErrorClass::NotFound {
                    return Ok(());
                }
                if code.as_deref() != Some("BucketNotEmpty") {
                    return Err(err);
                }
                if !spec.force_destroy {
                    return Err(ProviderError::new(
                        ErrorClass::Fatal,
                        format!("bucket `{bucket}` is not empty; empty it, or set force_destroy to delete every object version with the bucket"),
                    )
                    .with_source(err));
                }
                if pass >= EMPTY_PASSES {
                    return Err(ProviderError::new(
                        ErrorClass::Retryable,
                        format!("bucket `{bucket}` still has objects after emptying it {pass} times (something keeps writing to it)"),
                    )
                    .with_source(err));
                }
            }
        }
    }

    wait::until(
        &format!("bucket `{bucket}` to be deleted"),
        PROPAGATION_DEADLINE,
        Duration::from_millis(500),
        || async {
            match s3.head_bucket().bucket(bucket).send().await {
                Ok(_) => Ok(Poll::Pending("exists".into())),
                Err(e) => {
                    let err = classify(&format!("HeadBucket {bucket}"), e);
                    if err.class == ErrorClass::NotFound {
                        Ok(Poll::Ready(()))
                    } else {
                        Err(err)
                    }
                }
            }
        },
    )
    .await
}

/// Deletes every object version and delete marker. False when the bucket is gone.
async fn empty_bucket(s3: &Client, bucket: &str, object_lock: bool) -> Result<bool, ProviderError> {
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let page = match s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) => {
                let err = classify(&format!("ListObjectVersions {bucket}"), e);
                return if err.class == ErrorClass::NotFound {
                    Ok(false)
                } else {
                    Err(err)
                };
            }
        };
        let versions = page
            .versions()
            .iter()
            .filter_map(|v| Some((v.key()?, v.version_id())));
        let markers = page
            .delete_markers()
            .iter()
            .filter_map(|m| Some((m.key()?, m.version_id())));
        let ids = versions
            .chain(markers)
            .map(|(key, version)| {
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_owned))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(build_error("object identifier"))?;
        for batch in ids.chunks(DELETE_BATCH) {
            let out = s3
                .delete_objects()
                .bucket(bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(batch.to_vec()))
                        .quiet(true)
                        .build()
                        .map_err(build_error("delete batch"))?,
                )
                // force_destroy means it: governance-mode retention does not keep objects.
                .set_bypass_governance_retention(object_lock.then_some(true))
                .send()
                .await
                .map_err(|e| classify(&format!("DeleteObjects {bucket}"), e))?;
            if let Some(failed) = out.errors().first() {
                let code = failed.code().unwrap_or("Unknown");
                return Err(ProviderError::new(
                    classify_code(code, None),
                    format!(
                        "DeleteObjects {bucket}: {} of {} objects not deleted, first `{}` version {}: {code}: {}",
                        out.errors().len(),
                        batch.len(),
                        failed.key().unwrap_or("?"),
                        failed.version_id().unwrap_or("null"),
                        failed.message().unwrap_or("")
                    ),
                ));
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(true);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
        if key_marker.is_none() && version_marker.is_none() {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{meta, mock_clients, recorder};

    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_s3::operation::create_bucket::{CreateBucketError, CreateBucketOutput};
    use aws_sdk_s3::operation::delete_bucket::{DeleteBucketError, DeleteBucketOutput};
    use aws_sdk_s3::operation::delete_bucket_encryption::DeleteBucketEncryptionOutput;
    use aws_sdk_s3::operation::delete_bucket_lifecycle::{
        DeleteBucketLifecycleError, DeleteBucketLifecycleOutput,
    };
    use aws_sdk_s3::operation::delete_bucket_policy::DeleteBucketPolicyOutput;
    use aws_sdk_s3::operation::delete_bucket_replication::DeleteBucketReplicationOutput;
    use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
    use aws_sdk_s3::operation::get_bucket_tagging::{
        GetBucketTaggingError, GetBucketTaggingOutput,
    };
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
    use aws_sdk_s3::operation::put_bucket_tagging::{
        PutBucketTaggingInput, PutBucketTaggingOutput,
    };
    use aws_sdk_s3::operation::put_bucket_versioning::PutBucketVersioningOutput;
    use aws_sdk_s3::operation::put_object_lock_configuration::PutObjectLockConfigurationOutput;
    use aws_sdk_s3::operation::put_public_access_block::PutPublicAccessBlockOutput;
    use aws_sdk_s3::types::{DeleteMarkerEntry, ObjectVersion};
    use aws_smithy_mocks::{
        create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode,
    };

    use glinfra_core::Kind;
    use serde_json::json;
    use std::sync::Arc;

    const REGION: &str = "eu-west-1";
    const KEY_ARN: &str =
        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn mock_s3(mode: RuleMode, rules: &[&Rule]) -> Clients {
        mock_clients!(aws_sdk_s3, "s3", REGION, mode, rules)
    }

    fn owner_tags() -> BTreeMap<String, String> {
        BTreeMap::from([
            (TAG_STACK.to_string(), "prod".to_string()),
            (TAG_LOGICAL_ID.to_string(), "logs".to_string()),
            ("team".to_string(), "platform".to_string()),
        ])
    }

    fn resource(spec: &BucketSpec) -> ResolvedResource {
        ResolvedResource {
            stack: "prod".into(),
            id: "logs".into(),
            kind: Kind::Bucket,
            region: REGION.into(),
            props: serde_json::to_value(spec).unwrap(),
            tags: owner_tags(),
        }
    }

    fn state(spec: &BucketSpec) -> ResourceState {
        ResourceState {
            kind: Kind::Bucket,
            region: REGION.into(),
            props: serde_json::to_value(spec).unwrap(),
            tags: owner_tags(),
            outputs: outputs(&spec.bucket, REGION),
            dependencies: Default::default(),
            pending: None,
        }
    }

    fn full_spec() -> BucketSpec {
        let mut spec = BucketSpec::new("gl-prod-logs");
        spec.versioning = true;
        spec.object_lock_enabled = true;
        spec.object_lock_retention = Some(ObjectLockRetention {
            mode: "GOVERNANCE".into(),
            days: 30,
        });
        spec.lifecycle_rules = lifecycle_rules();
        spec.encryption = Some(BucketEncryption {
            kms_key_arn: Some(Input::Value(KEY_ARN.into())),
            bucket_key_enabled: true,
        });
        spec.policy = Some(BucketSpec::ssl_only_policy("gl-prod-logs"));
        spec.replication = Some(replication_spec());
        spec
    }

    fn lifecycle_rules() -> Vec<LifecycleRule> {
        serde_json::from_value(json!([
            {"id": "archive", "prefix": "logs/",
             "transitions": [{"days": 30, "storage_class": "STANDARD_IA"}, {"days": 90, "storage_class": "GLACIER"}],
             "expiration_days": 365, "noncurrent_version_expiration_days": 60},
            {"id": "tmp", "prefix": "", "expiration_days": 7}
        ]))
        .unwrap()
    }

    fn replication_spec() -> Replication {
        serde_json::from_value(json!({
            "role_arn": "arn:aws:iam::111122223333:role/replicator",
            "rules": [
                {"id": "to-dr", "priority": 10, "prefix": "logs/",
                 "destination_bucket_arn": "arn:aws:s3:::gl-prod-logs-dr",
                 "storage_class": "STANDARD_IA",
                 "replica_kms_key_arn": "arn:aws:kms:eu-central-1:111122223333:key/replica"},
                {"id": "all", "priority": 1, "destination_bucket_arn": "arn:aws:s3:::gl-prod-logs-copy"}
            ]
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn create_makes_the_bucket_then_applies_every_configuration_in_order() {
        let spec = full_spec();
        let (created, see_create) = recorder();
        let (tagged, see_tags) = recorder::<PutBucketTaggingInput>();
        let rules = [
            mock!(Client::create_bucket)
                .match_requests(see_create)
                .then_output(|| CreateBucketOutput::builder().build()),
            mock!(Client::get_bucket_tagging)
                .then_error(|| GetBucketTaggingError::generic(meta("NoSuchTagSet"))),
            mock!(Client::put_bucket_tagging)
                .match_requests(see_tags)
                .then_output(|| PutBucketTaggingOutput::builder().build()),
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

        let out = create(&c, &resource(&spec)).await.unwrap();

        assert_eq!(out, outputs("gl-prod-logs", REGION));
        assert_eq!(out["arn"], json!("arn:aws:s3:::gl-prod-logs"));
        let created: Vec<aws_sdk_s3::operation::create_bucket::CreateBucketInput> =
            created.lock().unwrap().clone();
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
        assert_eq!(tags, owner_tags());
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn create_in_us_east_1_sends_no_location_constraint_and_skips_absent_configuration() {
        let spec = BucketSpec::new("gl-plain");
        let (created, see_create) =
            recorder::<aws_sdk_s3::operation::create_bucket::CreateBucketInput>();
        let rules = [
            mock!(Client::create_bucket)
                .match_requests(see_create)
                .then_output(|| CreateBucketOutput::builder().build()),
            mock!(Client::get_bucket_tagging)
                .then_error(|| GetBucketTaggingError::generic(meta("NoSuchTagSet"))),
            mock!(Client::put_bucket_tagging)
                .then_output(|| PutBucketTaggingOutput::builder().build()),
            // Versioning off on a new bucket: nothing to send. Public access block: on.
            mock!(Client::put_public_access_block)
                .then_output(|| PutPublicAccessBlockOutput::builder().build()),
        ];
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
        for rule in &rules {
            interceptor = interceptor.with_rule(rule);
        }
        let c = mock_s3(RuleMode::Sequential, &[]);
        c.insert(
            "s3",
            "us-east-1",
            Client::from_conf(
                aws_sdk_s3::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new("us-east-1"))
                    .credentials_provider(Credentials::new("AKID", "SECRET", None, None, "test"))
                    .http_client(create_mock_http_client())
                    .interceptor(interceptor)
                    .build(),
            ),
        );
        let mut r = resource(&spec);
        r.region = "us-east-1".into();

        let out = create(&c, &r).await.unwrap();

        assert_eq!(out["region"], json!("us-east-1"));
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
                .set_tag_set(Some(tagging(&owner_tags()).unwrap().tag_set().to_vec()))
                .build()
                .unwrap()
        });
        let put_tags = mock!(Client::put_bucket_tagging)
            .then_output(|| PutBucketTaggingOutput::builder().build());
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

        let out = create(&c, &resource(&spec)).await.unwrap();

        assert_eq!(out["name"], json!("gl-prod-logs"));
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn create_refuses_a_bucket_name_taken_by_another_account() {
        let rule = mock!(Client::create_bucket)
            .then_error(|| CreateBucketError::generic(meta("BucketAlreadyExists")));
        let c = mock_s3(RuleMode::Sequential, &[&rule]);
        let err = create(&c, &resource(&BucketSpec::new("gl-taken")))
            .await
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::AlreadyExists);
        assert!(
            err.message.contains("another AWS account"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn lifecycle_rules_map_days_storage_classes_and_prefixes() {
        let mut spec = BucketSpec::new("gl-prod-logs");
        spec.lifecycle_rules = lifecycle_rules();
        let (seen, see) = recorder::<PutBucketLifecycleConfigurationInput>();
        let rule = mock!(Client::put_bucket_lifecycle_configuration)
            .match_requests(see)
            .then_output(|| PutBucketLifecycleConfigurationOutput::builder().build());
        let c = mock_s3(RuleMode::Sequential, &[&rule]);

        update(
            &c,
            &state(&spec),
            &resource(&spec),
            &["lifecycle_rules".into()],
        )
        .await
        .unwrap();

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
        let rule = mock!(Client::put_bucket_encryption)
            .match_requests(see)
            .then_output(|| PutBucketEncryptionOutput::builder().build());
        let c = mock_s3(RuleMode::Sequential, &[&rule]);

        update(&c, &state(&spec), &resource(&spec), &["encryption".into()])
            .await
            .unwrap();

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

    #[tokio::test]
    async fn replication_carries_role_rules_destinations_and_replica_encryption() {
        let mut spec = BucketSpec::new("gl-prod-logs");
        spec.versioning = true;
        spec.replication = Some(replication_spec());
        let (seen, see) = recorder::<PutBucketReplicationInput>();
        let rule = mock!(Client::put_bucket_replication)
            .match_requests(see)
            .then_output(|| PutBucketReplicationOutput::builder().build());
        let c = mock_s3(RuleMode::Sequential, &[&rule]);

        update(&c, &state(&spec), &resource(&spec), &["replication".into()])
            .await
            .unwrap();

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
        let c = mock_s3(RuleMode::Sequential, &[&rule]);
        update(
            &c,
            &state(&spec),
            &resource(&spec),
            &["versioning".into(), "force_destroy".into()],
        )
        .await
        .unwrap();
        assert_eq!(rule.num_calls(), 1);
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
        let changed: Vec<String> = ["encryption", "lifecycle_rules", "policy", "replication"]
            .map(String::from)
            .to_vec();

        update(&c, &state(&before), &resource(&after), &changed)
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

        delete(&c, "logs", &state(&spec)).await.unwrap();

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
        delete(&c, "logs", &state(&BucketSpec::new("gl-prod-logs")))
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn delete_of_a_non_empty_bucket_without_force_destroy_says_why() {
        let rule = mock!(Client::delete_bucket)
            .then_error(|| DeleteBucketError::generic(meta("BucketNotEmpty")));
        let c = mock_s3(RuleMode::Sequential, &[&rule]);
        let err = delete(&c, "logs", &state(&BucketSpec::new("gl-prod-logs")))
            .await
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Fatal);
        assert!(err.message.contains("force_destroy"), "{}", err.message);
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
            mock!(Client::get_bucket_tagging).then_output(|| {
                tagging_output(&[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "logs")])
            }),
            mock!(Client::get_bucket_tagging)
                .then_output(|| tagging_output(&[("owner", "someone")])),
            mock!(Client::get_bucket_tagging)
                .then_error(|| GetBucketTaggingError::generic(meta("AccessDenied"))),
        ];
        let c = mock_s3(RuleMode::Sequential, &rules.iter().collect::<Vec<_>>());
        let r = resource(&spec);

        assert_eq!(
            find(&c, &r).await.unwrap(),
            Some(outputs("gl-prod-logs", REGION))
        );
        assert_eq!(
            find(&c, &r).await.unwrap(),
            Some(outputs("gl-prod-logs", REGION))
        );
        assert_eq!(find(&c, &r).await.unwrap(), None);
        for expected in [
            "stack `staging`",
            "no glinfra ownership tags",
            "another AWS account",
        ] {
            let err = find(&c, &r).await.unwrap_err();
            assert_eq!(err.class, ErrorClass::AlreadyExists);
            assert!(err.message.contains(expected), "{}", err.message);
        }
    }
}
