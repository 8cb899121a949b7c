//! The S3 bucket driver: a bucket with its tags, versioning, public access block,
//! default encryption, lifecycle rules, policy, object-lock retention and replication.
//!
//! Bucket names are global and deterministic, so the name is the natural key and
//! the ownership tags say whose bucket it is. Every sub-configuration is set with
//! a whole-document `Put*` call (or removed with its `Delete*` call), so applying
//! the same spec twice is harmless.
//!
//! - `bucket`: the driver (find, create, update, delete, force-destroy);
//! - `configuration`: the sub-configurations, each applied or removed as a
//!   whole document.

mod bucket;
pub(crate) mod configuration;
#[cfg(test)]
mod tests;

pub(crate) use bucket::BucketDriver;
