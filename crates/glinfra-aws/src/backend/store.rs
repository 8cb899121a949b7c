//! [`S3Store`]: the engine's [`ObjectStore`] on an S3 bucket and prefix, with S3's
//! conditional requests: `If-None-Match: *` and `If-Match` on PutObject,
//! `If-Match` on DeleteObject.

use crate::error::classify;
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use glinfra_engine::backend::{Condition, Object, ObjectError, ObjectStore};
use glinfra_engine::ProviderError;

/// Objects under `s3://bucket/prefix/`.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

/// The most keys DeleteObjects takes in one request.
const DELETE_BATCH: usize = 1000;

impl S3Store {
    /// A store in `bucket` under `prefix` (no leading or trailing `/`; may be empty).
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Self {
        S3Store {
            client,
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        }
    }

    fn key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }
}

/// An S3 error, classified once ([`classify`]), as the backend needs it: a failed condition (412, or 404 NoSuchKey
/// for a conditional request on a missing key) is [`ObjectError::Changed`]; 409
/// ConditionalRequestConflict (a concurrent conditional write), throttling, 5xx and
/// transport failures are transient; the rest fail.
pub(crate) fn object_error(error: ProviderError) -> ObjectError {
    match error.code.as_deref() {
        Some("PreconditionFailed" | "NoSuchKey") => ObjectError::Changed(error.message),
        Some("ConditionalRequestConflict") => ObjectError::Transient(error.message),
        _ if error.class.is_retryable() => ObjectError::Transient(error.message),
        _ => ObjectError::Failed(error.message),
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn location(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(key))
            .trim_end_matches('/')
            .to_string()
    }

    async fn get(&self, key: &str) -> Result<Option<Object>, ObjectError> {
        let full = self.key(key);
        let what = format!("GetObject s3://{}/{full}", self.bucket);
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => {
                return Err(match object_error(classify(&what, e)) {
                    // A plain read of a missing key is absence, not a failed condition.
                    ObjectError::Changed(_) => return Ok(None),
                    other => other,
                });
            }
        };
        let etag = out.e_tag().unwrap_or_default().to_string();
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| ObjectError::Transient(format!("{what}: reading the body: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(Some(Object { bytes, etag }))
    }

    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> Result<String, ObjectError> {
        let full = self.key(key);
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&full)
            .content_type("application/json")
            .body(ByteStream::from(bytes));
        request = match condition {
            Condition::Always => request,
            Condition::Absent => request.if_none_match("*"),
            Condition::Matches(etag) => request.if_match(etag),
        };
        let out = request.send().await.map_err(|e| {
            object_error(classify(
                &format!("PutObject s3://{}/{full}", self.bucket),
                e,
            ))
        })?;
        Ok(out.e_tag().unwrap_or_default().to_string())
    }

    async fn delete(&self, key: &str, condition: Condition) -> Result<(), ObjectError> {
        let full = self.key(key);
        let mut request = self.client.delete_object().bucket(&self.bucket).key(&full);
        request = match condition {
            Condition::Always => request,
            Condition::Absent => {
                return Err(ObjectError::Failed(
                    "a delete cannot be conditional on absence".into(),
                ))
            }
            Condition::Matches(etag) => request.if_match(etag),
        };
        request.send().await.map_err(|e| {
            object_error(classify(
                &format!("DeleteObject s3://{}/{full}", self.bucket),
                e,
            ))
        })?;
        Ok(())
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), ObjectError> {
        for chunk in keys.chunks(DELETE_BATCH) {
            let objects = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(self.key(k)).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ObjectError::Failed(e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| ObjectError::Failed(e.to_string()))?;
            let what = format!("DeleteObjects s3://{}/{}", self.bucket, self.prefix);
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| object_error(classify(&what, e)))?;
            if let Some(failed) = out.errors().first() {
                return Err(ObjectError::Transient(format!(
                    "{what}: {} of {} keys not deleted ({}: {})",
                    out.errors().len(),
                    chunk.len(),
                    failed.code().unwrap_or("?"),
                    failed.message().unwrap_or("")
                )));
            }
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError> {
        let full = self.key(prefix);
        let what = format!("ListObjectsV2 s3://{}/{full}", self.bucket);
        // ListObjectsV2's paginator has no item view (`kit::all_items!`): page by page.
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&full)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| object_error(classify(&what, e)))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter_map(|k| {
                        if self.prefix.is_empty() {
                            Some(k)
                        } else {
                            k.strip_prefix(&self.prefix)?.strip_prefix('/')
                        }
                    })
                    .map(str::to_string),
            );
        }
        keys.sort();
        Ok(keys)
    }
}
