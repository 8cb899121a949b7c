//! Buckets: CreateBucket (with a location constraint outside us-east-1, and
//! object lock when asked for), then every sub-configuration; DeleteBucket, after
//! emptying the bucket of every object version when `force_destroy` is set.
//!
//! The name is global and deterministic, so it is the natural key: a bucket of
//! that name is ours when it carries our ownership tags, or when it is readable
//! and has no tags at all (a bucket of this account left by a crash between
//! CreateBucket and PutBucketTagging). In us-east-1 CreateBucket succeeds even
//! when this account already owns the bucket, so the tags are read after every
//! create before ours are written. A new bucket can take a moment to be visible
//! to the sub-resource calls, and a deleted one to go away.

use super::configuration::{self, configure};
use crate::clients::Clients;
use crate::driver::Driver;
use crate::error::{classify, classify_code};
use crate::kit::join::try_join_all;
use crate::kit::live::{Live, Scope};
use crate::kit::{self, build_error, wait, wait::Poll, Absent, Changed, Desired, Recorded};
use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier,
};
use aws_sdk_s3::Client;
use glinfra_core::spec::s3::{BucketOutputs, BucketSpec};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a new bucket may take to become visible, and a deleted one to go away.
const PROPAGATION_DEADLINE: Duration = Duration::from_secs(120);

/// The most keys one DeleteObjects call takes.
const DELETE_BATCH: usize = 1000;

/// How many times a force-destroy empties the bucket again when objects keep arriving.
const EMPTY_PASSES: u32 = 3;

/// The driver of `aws:s3/bucket`.
pub(crate) struct BucketDriver;

/// The outputs of bucket `bucket` in `region`.
pub(super) fn outputs(bucket: &str, region: &str) -> BucketOutputs {
    BucketOutputs {
        name: bucket.to_string(),
        arn: BucketSpec::arn_of(bucket),
        region: region.to_string(),
    }
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
async fn owner(s3: &Client, bucket: &str, r: &Desired<BucketSpec>) -> Result<Owner, ProviderError> {
    let out = match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) => {
            let err = classify(&format!("GetBucketTagging {bucket}"), e);
            return if err.has_code(&["NoSuchTagSet"]) {
                // We could read it, and it has no tags: a bucket of this account.
                Ok(Owner::Untagged)
            } else if err.class == ErrorClass::NotFound {
                Ok(Owner::Absent)
            } else if err.has_code(&["AccessDenied", "AllAccessDisabled"]) {
                Ok(Owner::Other(
                    "another AWS account (or this account may not read its tags)".into(),
                ))
            } else if err.has_code(&[
                "PermanentRedirect",
                "AuthorizationHeaderMalformed",
                "IllegalLocationConstraintException",
            ]) {
                Ok(Owner::Other(format!(
                    "a bucket in a region other than `{}`",
                    r.region
                )))
            } else {
                Err(err)
            };
        }
    };
    let tags = kit::tags::from_sdk(out.tag_set());
    Ok(if tags.is_empty() {
        Owner::Untagged
    } else if kit::owned(&tags, &r.stack, &r.id) {
        Owner::Ours
    } else {
        Owner::Other(kit::owner_of(&tags))
    })
}

/// The account's buckets in `region` (every page of ListBuckets asked for that
/// region), each with the region the listing gives it, if any.
async fn list_buckets(
    s3: &Client,
    region: &str,
) -> Result<BTreeMap<String, Option<String>>, ProviderError> {
    let mut found = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = s3
            .list_buckets()
            .bucket_region(region)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| classify("ListBuckets", e))?;
        for b in page.buckets() {
            if let Some(name) = b.name() {
                found.insert(name.to_string(), b.bucket_region().map(str::to_owned));
            }
        }
        match page.continuation_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(found),
        }
    }
}

fn taken(bucket: &str, owner: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::AlreadyExists,
        format!("bucket `{bucket}` already exists and belongs to {owner}; bucket names are global, choose another"),
    )
}

#[async_trait]
impl Driver for BucketDriver {
    type Spec = BucketSpec;
    const TAGGING: Option<&'static str> = Some("s3");

    async fn find(
        &self,
        c: &Clients,
        r: &Desired<BucketSpec>,
    ) -> Result<Option<BucketOutputs>, ProviderError> {
        let bucket = &r.spec.bucket;
        let s3 = c.s3(&r.region);
        match owner(&s3, bucket, r).await? {
            Owner::Absent => Ok(None),
            Owner::Ours => Ok(Some(outputs(bucket, &r.region))),
            Owner::Untagged => {
                // Readable and without any tag: a bucket of this account left by a crash
                // between CreateBucket and PutBucketTagging (CreateBucket would answer
                // BucketAlreadyOwnedByYou). Bucket names are deterministic, so it is ours.
                tracing::info!(%bucket, resource = %r.id, "adopting an untagged bucket of this account");
                Ok(Some(outputs(bucket, &r.region)))
            }
            Owner::Other(o) => Err(taken(bucket, &o)),
        }
    }

    async fn create(
        &self,
        c: &Clients,
        r: &Desired<BucketSpec>,
    ) -> Result<BucketOutputs, ProviderError> {
        let spec = &r.spec;
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
                let err = classify(&format!("CreateBucket {bucket}"), e);
                if err.has_code(&["BucketAlreadyOwnedByYou"]) {
                    // An earlier attempt made it; whose it is is checked below.
                    false
                } else if err.class == ErrorClass::AlreadyExists {
                    return Err(ProviderError::new(
                        ErrorClass::AlreadyExists,
                        format!("bucket `{bucket}` already exists in another AWS account; bucket names are global, choose another"),
                    )
                    .with_source(err));
                } else {
                    return Err(err);
                }
            }
        };

        // A new bucket can take a moment to be visible to the bucket sub-resource calls.
        // In us-east-1 CreateBucket succeeds even when this account already has the
        // bucket, so the tags are read in every case before ours are written.
        let found = wait::until(
            &format!("bucket `{bucket}` to exist"),
            PROPAGATION_DEADLINE,
            wait::POLL,
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
        configure(&s3, spec, &r.owned_tags(), Changed(&[]), fresh).await?;
        Ok(outputs(bucket, &r.region))
    }

    async fn update(
        &self,
        c: &Clients,
        _prior: &Recorded<BucketSpec>,
        r: &Desired<BucketSpec>,
        changed: Changed<'_>,
    ) -> Result<BucketOutputs, ProviderError> {
        let s3 = c.s3(&r.region);
        configure(&s3, &r.spec, &r.owned_tags(), changed, false).await?;
        Ok(outputs(&r.spec.bucket, &r.region))
    }

    /// ListBuckets for the region (one call per page), then, for each recorded
    /// bucket it lists, at once: GetBucketTagging, GetBucketVersioning,
    /// GetPublicAccessBlock, and the Get call of each further configuration its
    /// recorded spec sets (object lock, lifecycle, encryption, policy, replication).
    /// S3 returns no tags with the listing and has no batch read of them, so only
    /// recorded buckets are read: a bucket carrying the stack's tags that state
    /// does not know is not detected here (that would take a GetBucketTagging for
    /// every bucket of the account); the create's find adopts it. A bucket whose
    /// tags name another stack is not ours; one the listing places in another
    /// region is not in this one (the region filter is not trusted). Nothing
    /// recorded: no call.
    async fn observe(
        &self,
        c: &Clients,
        scope: &Scope<BucketSpec>,
    ) -> Result<Option<Vec<Live<BucketSpec>>>, ProviderError> {
        if scope.recorded.is_empty() {
            return Ok(Some(Vec::new())); // nothing to read: no call
        }
        let s3 = c.s3(&scope.region);
        let listed = list_buckets(&s3, &scope.region).await?;
        let present: Vec<&Recorded<BucketSpec>> = scope
            .recorded
            .iter()
            .filter(|r| match listed.get(&r.spec.bucket) {
                Some(Some(region)) => *region == scope.region,
                Some(None) => true,
                None => false,
            })
            .collect();
        let reads = try_join_all(present.iter().map(|r| async {
            let listed = scope.listed_tags(&BucketSpec::arn_of(&r.spec.bucket)).await;
            configuration::read(&s3, &r.spec, listed).await
        }))
        .await?;
        let mut live = Vec::new();
        for (r, read) in present.into_iter().zip(reads) {
            let Some(read) = read else {
                continue; // gone since the listing
            };
            if kit::claimed_elsewhere(&read.tags, &scope.stack, &r.id) {
                continue;
            }
            live.push(Live {
                id: r.id.clone(),
                outputs: outputs(&read.spec.bucket, &scope.region),
                tags: read.tags,
                spec: Some(read.spec),
            });
        }
        Ok(Some(live))
    }

    /// Reads the bucket `aws_id` (the configuration the program sets, as a refresh
    /// does), refuses it when another stack's tags are on it, then PutBucketTagging
    /// of its tags with the ownership tags added.
    async fn import(
        &self,
        c: &Clients,
        r: &Desired<BucketSpec>,
        aws_id: &str,
    ) -> Result<Option<Live<BucketSpec>>, ProviderError> {
        let s3 = c.s3(&r.region);
        let mut wanted = r.spec.clone();
        wanted.bucket = aws_id.to_string();
        let read = configuration::read(&s3, &wanted, None)
            .await?
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorClass::NotFound,
                    format!("bucket {aws_id} does not exist in {}", r.region),
                )
            })?;
        kit::ensure_importable(aws_id, &read.tags, r)?;
        let mut tags = read.tags.clone();
        tags.insert(glinfra_core::TAG_STACK.into(), r.stack.clone());
        tags.insert(glinfra_core::TAG_LOGICAL_ID.into(), r.id.clone());
        s3.put_bucket_tagging()
            .bucket(aws_id)
            .tagging(configuration::tagging(&tags)?)
            .send()
            .await
            .map_err(|e| classify(&format!("PutBucketTagging {aws_id}"), e))?;
        Ok(Some(Live {
            id: r.id.clone(),
            outputs: outputs(aws_id, &r.region),
            tags,
            spec: Some(read.spec),
        }))
    }

    async fn delete(&self, c: &Clients, prior: &Recorded<BucketSpec>) -> Result<(), ProviderError> {
        let spec = &prior.spec;
        let bucket = prior.outputs.name.as_str();
        let s3 = c.s3(&prior.region);

        let mut pass = 0;
        loop {
            pass += 1;
            if spec.force_destroy && !empty_bucket(&s3, bucket, spec.object_lock_enabled).await? {
                return Ok(()); // the bucket is gone already
            }
            let err = match s3.delete_bucket().bucket(bucket).send().await {
                Ok(_) => break,
                Err(e) => classify(&format!("DeleteBucket {bucket}"), e),
            };
            if err.class == ErrorClass::NotFound {
                return Ok(());
            }
            if !err.has_code(&["BucketNotEmpty"]) {
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

        wait::gone(
            &format!("bucket `{bucket}`"),
            PROPAGATION_DEADLINE,
            || async {
                s3.head_bucket()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| classify(&format!("HeadBucket {bucket}"), e))
                    .or_absent()
                    .map(|found| found.map(|_| "exists".to_string()))
            },
        )
        .await
    }
}

/// Deletes every object version and delete marker. False when the bucket is gone.
async fn empty_bucket(s3: &Client, bucket: &str, object_lock: bool) -> Result<bool, ProviderError> {
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(|e| classify(&format!("ListObjectVersions {bucket}"), e))
            .or_absent()?;
        let Some(page) = page else {
            return Ok(false);
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
                )
                .operation("DeleteObjects")
                .code(code));
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
