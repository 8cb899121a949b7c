//! The S3 state backend: the engine's [`ObjectBackend`] on an S3 bucket and prefix.
//!
//! - `store`: [`S3Store`], objects read with their ETag and written with S3's
//!   conditional requests (`If-None-Match: *`, `If-Match`);
//! - `init`: `backend init`, which checks a state bucket (versioned, SSE-KMS,
//!   public access blocked) or creates one so.

mod init;
mod store;
#[cfg(test)]
mod tests;

pub use init::{init, InitError, InitReport};
pub use store::S3Store;

use crate::clients::Clients;
use glinfra_engine::{LeaseConfig, ObjectBackend};
use std::sync::Arc;

/// Where an S3 backend keeps stacks: `s3://BUCKET/PREFIX`, optionally
/// `?region=REGION` (the bucket's region; by default the configured one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix stacks live under (no leading or trailing `/`; may be empty).
    pub prefix: String,
    /// The bucket's region, when given.
    pub region: Option<String>,
}

/// Why a backend location is not one.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("backend `{location}`: {problem} (expected s3://BUCKET/PREFIX, optionally ?region=REGION)")]
pub struct S3LocationError {
    /// What was given.
    pub location: String,
    /// What is wrong.
    pub problem: String,
}

impl std::str::FromStr for S3Location {
    type Err = S3LocationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |problem: &str| S3LocationError {
            location: s.to_string(),
            problem: problem.to_string(),
        };
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| fail("not an s3:// URL"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        if let Some(problem) = glinfra_core::spec::s3::bucket_name_problem(bucket) {
            return Err(fail(&format!("bucket name: {problem}")));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p == "." || p == "..")
            || prefix.contains("//")
            || prefix.chars().any(|c| c.is_control())
        {
            return Err(fail(
                "the prefix has an empty, `.` or `..` segment, or a control character",
            ));
        }
        let mut region = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("region", r)) if !r.is_empty() => region = Some(r.to_string()),
                _ => return Err(fail(&format!("unknown parameter `{pair}` (only region=)"))),
            }
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            region,
        })
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)?;
        if let Some(r) = &self.region {
            write!(f, "?region={r}")?;
        }
        Ok(())
    }
}

impl S3Location {
    /// The bucket's region: the one given, else the configuration's, else us-east-1.
    pub fn region_in(&self, clients: &Clients) -> String {
        self.region
            .clone()
            .or_else(|| clients.region())
            .unwrap_or_else(|| "us-east-1".into())
    }
}

/// The S3 backend at `location` through `clients` (their configuration and
/// API-call counter), locks leased as `lease` says.
pub fn s3_backend(clients: &Clients, location: &S3Location, lease: LeaseConfig) -> ObjectBackend {
    let s3 = clients.s3(&location.region_in(clients));
    ObjectBackend::new(Arc::new(S3Store::new(
        s3,
        &location.bucket,
        &location.prefix,
    )))
    .with_lease(lease)
}
