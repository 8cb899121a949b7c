//! `backend init s3://BUCKET/PREFIX`: checks that a state bucket is what state
//! needs, or creates one so when asked.
//!
//! A state bucket must be versioned (every state write stays recoverable: a bad
//! write, or a state deleted by hand, can be undone), should encrypt by default
//! with KMS (state records ARNs, endpoints and tags), and should block public
//! access. The bucket driver's own configuration and read-back calls do the work.

use super::S3Location;
use crate::clients::Clients;
use crate::error::classify;
use crate::kit::wait::{self, Poll};
use crate::kit::Changed;
use crate::s3::configuration::{configure, read};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use glinfra_core::spec::s3::{BucketEncryption, BucketSpec};
use glinfra_core::Input;
use glinfra_engine::ProviderError;
use std::collections::BTreeMap;
use std::time::Duration;

/// What `backend init` found, or made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitReport {
    /// The location checked.
    pub location: S3Location,
    /// The bucket's region.
    pub region: String,
    /// The bucket was created now.
    pub created: bool,
    /// Default encryption with KMS: the key (`None`: the AWS-managed `aws/s3` key),
    /// or `None` when the bucket does not encrypt with KMS by default.
    pub kms: Option<Option<String>>,
    /// Every public-access-block setting is on.
    pub public_access_blocked: bool,
    /// What is not as it should be, though state can live there.
    pub warnings: Vec<String>,
}

/// Why a bucket cannot hold state.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// No such bucket (in that region), and creating it was not asked for.
    #[error("bucket `{bucket}` does not exist in {region}: `backend init {location} --create` creates it (versioned, encrypted with KMS, public access blocked)")]
    Missing {
        /// The bucket.
        bucket: String,
        /// The region looked in.
        region: String,
        /// The location.
        location: String,
    },
    /// The bucket is not versioned: refused.
    #[error("bucket `{bucket}` is not versioned: state needs versioning, so that every state write can be recovered. Turn it on (`aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled`) and run `backend init` again")]
    NotVersioned {
        /// The bucket.
        bucket: String,
    },
    /// AWS refused or failed a call.
    #[error(transparent)]
    Aws(#[from] ProviderError),
}

/// The bucket a state backend wants: versioned, KMS-encrypted with S3 Bucket Keys,
/// public access blocked.
fn state_bucket(bucket: &str, kms_key: Option<&str>) -> BucketSpec {
    let mut spec = BucketSpec::new(bucket);
    spec.versioning = true;
    spec.block_public_access = true;
    spec.encryption = Some(BucketEncryption {
        kms_key_arn: kms_key.map(|k| Input::from(k.to_string())),
        bucket_key_enabled: true,
    });
    spec
}

/// Checks the bucket at `location`; creates it first when it does not exist and
/// `create` is set (encrypted with `kms_key`, or the AWS-managed `aws/s3` key).
/// Refuses a bucket that is not versioned; warns when it is not KMS-encrypted by
/// default or does not block public access.
pub async fn init(
    clients: &Clients,
    location: &S3Location,
    create: bool,
    kms_key: Option<&str>,
) -> Result<InitReport, InitError> {
    let region = location.region_in(clients);
    let s3 = clients.s3(&region);
    let bucket = location.bucket.as_str();
    let wanted = state_bucket(bucket, kms_key);
    let mut created = false;
    // Boxed: the bucket reads are large futures (eight calls at once).
    let found = Box::pin(read(&s3, &wanted, None)).await?;
    let live = match found {
        Some(live) => live.spec,
        None if create => {
            let mut request = s3.create_bucket().bucket(bucket);
            // us-east-1 takes no location constraint (and rejects `us-east-1` as one).
            if region != "us-east-1" {
                request = request.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(region.as_str()))
                        .build(),
                );
            }
            if let Err(e) = request.send().await {
                let err = classify(&format!("CreateBucket {bucket}"), e);
                if !err.has_code(&["BucketAlreadyOwnedByYou"]) {
                    return Err(err.into());
                }
            }
            // A new bucket can take a moment to be visible to its sub-resource calls.
            wait::until(
                &format!("bucket `{bucket}` to exist"),
                Duration::from_secs(120),
                wait::POLL,
                || async {
                    let found = Box::pin(read(&s3, &wanted, None)).await?;
                    Ok(match found {
                        Some(_) => Poll::Ready(()),
                        None => Poll::Pending("not yet visible".into()),
                    })
                },
            )
            .await?;
            let tags = BTreeMap::from([("glinfra:purpose".to_string(), "state".to_string())]);
            Box::pin(configure(&s3, &wanted, &tags, Changed(&[]), true)).await?;
            created = true;
            Box::pin(read(&s3, &wanted, None))
                .await?
                .ok_or_else(|| {
                    ProviderError::new(
                        glinfra_engine::ErrorClass::Retryable,
                        format!("bucket `{bucket}` vanished after it was created"),
                    )
                })?
                .spec
        }
        None => {
            return Err(InitError::Missing {
                bucket: bucket.to_string(),
                region,
                location: location.to_string(),
            })
        }
    };
    if !live.versioning {
        return Err(InitError::NotVersioned {
            bucket: bucket.to_string(),
        });
    }
    let kms = live
        .encryption
        .as_ref()
        .map(|e| e.kms_key_arn.as_ref().and_then(|k| k.value().cloned()));
    let mut warnings = Vec::new();
    if kms.is_none() {
        warnings.push(format!("bucket `{bucket}` does not encrypt with KMS by default (SSE-KMS): state records ARNs, endpoints and tags; set default encryption to aws:kms"));
    }
    if !live.block_public_access {
        warnings.push(format!(
            "bucket `{bucket}` does not block public access: turn every public-access-block setting on"
        ));
    }
    Ok(InitReport {
        location: location.clone(),
        region,
        created,
        kms,
        public_access_blocked: live.block_public_access,
        warnings,
    })
}
