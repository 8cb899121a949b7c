//! SDK-mock tests of the RDS drivers: request shapes, adoption, waits, deletes.
//!
//! Every test runs its rules in `RuleMode::Sequential`: the calls must come in
//! exactly the order listed (a different call panics), and `all_used` checks that
//! every listed call happened.

mod instance;
mod parameter_group;
mod subnet_group;

use crate::clients::Clients;
use crate::test_support::mock_clients;
use aws_sdk_rds::types::Tag;
use aws_smithy_mocks::{Rule, RuleMode};
use glinfra_core::{Kind, ResourceState, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{Outputs, ResolvedResource};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The region of every resource under test (a replica's own region).
const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "111122223333";

fn mock_rds(rules: &[Rule]) -> Clients {
    let rules: Vec<&Rule> = rules.iter().collect();
    mock_clients!(aws_sdk_rds, "rds", REGION, RuleMode::Sequential, &rules)
}

fn all_used(rules: &[Rule]) {
    for (i, rule) in rules.iter().enumerate() {
        assert_eq!(
            rule.num_calls(),
            1,
            "rule #{i} was called {} times",
            rule.num_calls()
        );
    }
}

fn owner_tags(logical: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_STACK.to_string(), "prod".to_string()),
        (TAG_LOGICAL_ID.to_string(), logical.to_string()),
        ("team".to_string(), "data".to_string()),
    ])
}

fn resource<S: Serialize>(kind: Kind, logical: &str, spec: &S) -> ResolvedResource {
    ResolvedResource {
        stack: "prod".into(),
        id: logical.into(),
        kind,
        region: REGION.into(),
        props: serde_json::to_value(spec).unwrap(),
        tags: owner_tags(logical),
    }
}

fn state<S: Serialize>(kind: Kind, logical: &str, spec: &S, outputs: Outputs) -> ResourceState {
    ResourceState {
        kind,
        region: REGION.into(),
        props: serde_json::to_value(spec).unwrap(),
        tags: owner_tags(logical),
        outputs,
        dependencies: Default::default(),
        pending: None,
    }
}

fn tag_list(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect()
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect()
}

fn ours(logical: &'static str) -> Vec<Tag> {
    tag_list(&[
        (TAG_STACK, "prod"),
        (TAG_LOGICAL_ID, logical),
        ("team", "data"),
    ])
}

fn theirs(logical: &'static str) -> Vec<Tag> {
    tag_list(&[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, logical)])
}

fn outputs(pairs: &[(&str, &str)]) -> Outputs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect()
}
