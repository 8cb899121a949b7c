//! SDK-mock tests of the S3 bucket driver: request shapes of every
//! sub-configuration, adoption by tags, force-destroy, deletes.
//!
//! Most tests run their rules in `RuleMode::Sequential`: the calls must come in
//! exactly the order listed, and a call no rule expects fails the test.

mod bucket;

use crate::clients::Clients;
use crate::kit::{Desired, Recorded};
use crate::s3::bucket::outputs;
use crate::test_support::{desired, mock_clients, owner_tags, recorded};
use aws_smithy_mocks::{Rule, RuleMode};
use glinfra_core::spec::s3::{
    BucketEncryption, BucketSpec, LifecycleRule, ObjectLockMode, ObjectLockRetention, Replication,
};
use glinfra_core::Input;
use serde_json::json;
use std::collections::BTreeMap;

const REGION: &str = "eu-west-1";
const KEY_ARN: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn mock_s3(mode: RuleMode, rules: &[&Rule]) -> Clients {
    mock_clients!(aws_sdk_s3, "s3", REGION, mode, rules)
}

/// The tags of bucket resource `logs` of stack `prod`.
fn bucket_tags() -> BTreeMap<String, String> {
    owner_tags("prod", "logs")
}

fn resource(spec: &BucketSpec) -> Desired<BucketSpec> {
    desired("prod", "logs", REGION, spec.clone())
}

fn state(spec: &BucketSpec) -> Recorded<BucketSpec> {
    recorded(&resource(spec), outputs(&spec.bucket, REGION))
}

fn full_spec() -> BucketSpec {
    let mut spec = BucketSpec::new("gl-prod-logs");
    spec.versioning = true;
    spec.object_lock_enabled = true;
    spec.object_lock_retention = Some(ObjectLockRetention {
        mode: ObjectLockMode::Governance,
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
