//! Cross-region replication of buckets (seed 5.3 `object_storage`:
//! `cross_region_replication: true`, `replication_regions: [us-west-2, eu-west-1]`):
//! per destination region a replica key and, per replicated bucket, a replica bucket
//! and a rule of the source bucket's replication configuration (S3 replication V2:
//! one rule per destination, distinct priorities, a filter, delete markers not
//! replicated, replicas encrypted with the destination's key), and one role per
//! bucket allowed exactly those destinations.

use crate::config::{BucketConfig, Environment};
use crate::topology::bucket_name;
use glinfra_core::spec::iam::IamRoleSpec;
use glinfra_core::spec::kms::KmsKeySpec;
use glinfra_core::spec::s3::{BucketSpec, Replication, ReplicationRule};
use glinfra_core::{Resource, Stack};
use serde_json::json;

/// A destination region and its replica key.
pub(crate) struct ReplicaRegion {
    /// The region.
    pub region: String,
    /// Its key for replicas.
    pub key: Resource<KmsKeySpec>,
}

/// The suffix of a destination's logical ids: none for the first region of
/// `replication_regions` (the ids it had when there was one destination, so a
/// recorded stack keeps its key and replica), `-<region>` for the others.
pub fn suffix(env: &Environment, region: &str) -> String {
    if env.storage.replication_regions.first().map(String::as_str) == Some(region) {
        String::new()
    } else {
        format!("-{region}")
    }
}

/// The replica keys (`kms-s3-replica[-<region>]`), one per destination region, when
/// a bucket replicates; none otherwise.
pub(crate) fn replica_keys(env: &Environment, stack: &mut Stack) -> Vec<ReplicaRegion> {
    let storage = &env.storage;
    if !storage.buckets.iter().any(|b| b.replicate) {
        return Vec::new();
    }
    let envname = &env.stack.environment;
    storage
        .replication_regions
        .iter()
        .map(|region| {
            let s = suffix(env, region);
            let mut spec = KmsKeySpec::new(
                format!("greenlang-{envname}-s3-replica{s}"),
                format!("GreenLang {envname} S3 replica encryption in {region}"),
            );
            spec.enable_key_rotation = storage.kms_key_rotation;
            spec.rotation_period_days = crate::security::rotation_period(env);
            let key = stack.add_in(region, format!("kms-s3-replica{s}"), spec);
            ReplicaRegion {
                region: region.clone(),
                key,
            }
        })
        .collect()
}

/// Declares `bucket`'s replicas (`bucket-<purpose>-replica[-<region>]`) and its
/// replication role (`iam-<purpose>-replication`), and returns the source's
/// replication configuration: one rule per destination, priority in the order of
/// `replication_regions`.
pub(crate) fn declare(
    env: &Environment,
    stack: &mut Stack,
    bucket: &BucketConfig,
    source: &BucketSpec,
    source_key: &Resource<KmsKeySpec>,
    replicas: &[ReplicaRegion],
    base_bucket: &dyn Fn(String, bool, &Resource<KmsKeySpec>) -> BucketSpec,
) -> Replication {
    let envname = &env.stack.environment;
    let name = bucket_name(&bucket.purpose, envname);
    let id = format!("bucket-{}", bucket.purpose);
    let mut rules = Vec::new();
    let mut destinations = Vec::new();
    let mut replica_keys = Vec::new();
    for (i, r) in replicas.iter().enumerate() {
        let s = suffix(env, &r.region);
        let replica_name = format!("{name}-replica-{}", r.region);
        let mut spec = base_bucket(replica_name.clone(), true, &r.key);
        spec.lifecycle_rules = source.lifecycle_rules.clone();
        let replica = stack.add_in(&r.region, format!("{id}-replica{s}"), spec);
        stack.export(format!("{id}-replica{s}_arn"), replica.arn());
        destinations.push(format!("{}/*", BucketSpec::arn_of(&replica_name)));
        replica_keys.push(r.key.arn().to_json());
        rules.push(ReplicationRule {
            id: format!("to-{}", r.region),
            priority: i as i32 + 1,
            prefix: String::new(),
            destination_bucket_arn: replica.arn(),
            storage_class: None,
            replica_kms_key_arn: Some(r.key.arn()),
        });
    }
    let regions = env.storage.replication_regions.join(" and ");
    let role_name = format!("greenlang-{envname}-{}-replication", bucket.purpose);
    let mut role = IamRoleSpec::for_service(&role_name, "s3.amazonaws.com");
    role.description = format!("S3 replication of {name} to {regions}");
    let source_arn = BucketSpec::arn_of(&name);
    role.inline_policies.insert(
        "replication".into(),
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": [source_arn]},
                {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"], "Resource": [format!("{source_arn}/*")]},
                {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], "Resource": destinations},
                {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [source_key.arn().to_json()]},
                {"Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": replica_keys}
            ]
        }),
    );
    let role = stack.add(format!("iam-{}-replication", bucket.purpose), role);
    Replication {
        role_arn: role.arn(),
        rules,
    }
}

/// What `[storage] replication_regions` must be: regions other than the stack's,
/// each once, at least one when a bucket replicates.
pub(crate) fn check(env: &Environment, err: &mut dyn FnMut(&str, String)) {
    let storage = &env.storage;
    let field = "storage.replication_regions";
    let mut seen = std::collections::BTreeSet::new();
    for region in &storage.replication_regions {
        if region == &env.stack.region {
            err(
                field,
                format!("`{region}` is the stack's own region: replicas go to other regions"),
            );
        }
        if !seen.insert(region) {
            err(field, format!("`{region}` appears twice"));
        }
    }
    if storage.replication_regions.is_empty() && storage.buckets.iter().any(|b| b.replicate) {
        err(
            field,
            "a bucket has `replicate = true` but no region is listed to replicate to".into(),
        );
    }
}
