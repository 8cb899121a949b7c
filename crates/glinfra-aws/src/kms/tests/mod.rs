//! SDK-mock tests of the KMS key driver: the create protocol (alias last, a
//! failed create cleans up), adoption by alias and by the bounded scan, alias
//! moves, deletes.
//!
//! Every test runs its rules in `RuleMode::Sequential`: the calls must come in
//! exactly the order listed (a different call panics).

mod key;

use crate::clients::Clients;
use crate::kit::{Desired, Recorded};
use crate::test_support::{desired, meta, mock_clients, recorded};
use aws_sdk_kms::operation::describe_key::{DescribeKeyError, DescribeKeyOutput};
use aws_sdk_kms::operation::list_resource_tags::ListResourceTagsOutput;
use aws_sdk_kms::types::{KeyMetadata, KeyState, Tag};
use aws_sdk_kms::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use glinfra_core::spec::kms::{KmsKeyOutputs, KmsKeySpec};
use glinfra_core::{TAG_LOGICAL_ID, TAG_STACK};
use std::collections::BTreeMap;

const REGION: &str = "eu-west-1";

fn mock_kms(rules: &[&Rule]) -> Clients {
    mock_clients!(aws_sdk_kms, "kms", REGION, RuleMode::Sequential, rules)
}

/// The tags every key under test carries: ours, and one of the user's.
fn owner_tags() -> BTreeMap<String, String> {
    crate::test_support::owner_tags("prod", "data-key")
}

fn spec() -> KmsKeySpec {
    let mut spec = KmsKeySpec::new("prod/data", "data at rest");
    spec.deletion_window_days = 10;
    spec
}

fn resource(spec: KmsKeySpec) -> Desired<KmsKeySpec> {
    desired("prod", "data-key", REGION, spec)
}

fn key(id: &str, state: KeyState) -> KeyMetadata {
    KeyMetadata::builder()
        .key_id(id)
        .arn(format!("arn:aws:kms:{REGION}:111122223333:key/{id}"))
        .key_state(state)
        .build()
        .unwrap()
}

/// The outputs of key `id`.
fn outputs(id: &str) -> KmsKeyOutputs {
    KmsKeyOutputs {
        key_id: id.into(),
        arn: format!("arn:aws:kms:{REGION}:111122223333:key/{id}"),
    }
}

/// Key `k1` as state recorded it, made from `spec`.
fn state(spec: KmsKeySpec) -> Recorded<KmsKeySpec> {
    recorded(&resource(spec), outputs("k1"))
}

fn describe_ok(target: &'static str, id: &'static str, state: KeyState) -> Rule {
    mock!(Client::describe_key)
        .match_requests(move |r| r.key_id() == Some(target))
        .then_output(move || {
            DescribeKeyOutput::builder()
                .key_metadata(key(id, state.clone()))
                .build()
        })
}

fn describe_missing(target: &'static str) -> Rule {
    mock!(Client::describe_key)
        .match_requests(move |r| r.key_id() == Some(target))
        .then_error(|| DescribeKeyError::generic(meta("NotFoundException")))
}

fn tags_rule(target: &'static str, tags: &'static [(&'static str, &'static str)]) -> Rule {
    mock!(Client::list_resource_tags)
        .match_requests(move |r| r.key_id() == Some(target))
        .then_output(move || {
            ListResourceTagsOutput::builder()
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| Tag::builder().tag_key(*k).tag_value(*v).build().unwrap())
                        .collect(),
                ))
                .truncated(false)
                .build()
        })
}

const OURS: &[(&str, &str)] = &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "data-key")];
const THEIRS: &[(&str, &str)] = &[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, "data-key")];
const OURS_TOO: &[(&str, &str)] = &[(TAG_STACK, "prod"), (TAG_LOGICAL_ID, "other-key")];
