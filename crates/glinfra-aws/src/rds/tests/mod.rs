//! SDK-mock tests of the RDS drivers: request shapes, adoption, waits, deletes.
//!
//! Every test runs its rules in `RuleMode::Sequential`: the calls must come in
//! exactly the order listed (a different call panics), and `all_used` checks that
//! every listed call happened.

mod instance;
mod parameter_group;
mod subnet_group;

use crate::clients::Clients;
use crate::kit::{Desired, Recorded};
use crate::test_support::{mock_clients, ok_rule, recorder, Seen};
use aws_sdk_rds::operation::add_tags_to_resource::{
    AddTagsToResourceInput, AddTagsToResourceOutput,
};
use aws_sdk_rds::operation::remove_tags_from_resource::{
    RemoveTagsFromResourceInput, RemoveTagsFromResourceOutput,
};
use aws_sdk_rds::types::Tag;
use aws_sdk_rds::Client;
use aws_smithy_mocks::{Rule, RuleMode};
use glinfra_core::{ResourceSpec, TAG_LOGICAL_ID, TAG_STACK};
use std::collections::BTreeMap;

/// The region of every resource under test (a replica's own region).
const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "111122223333";
const STACK: &str = "prod";

fn mock_rds(rules: &[Rule]) -> Clients {
    let rules: Vec<&Rule> = rules.iter().collect();
    mock_clients!(aws_sdk_rds, "rds", REGION, RuleMode::Sequential, &rules)
}

/// The tags resource `logical` of the stack under test carries.
fn owner_tags(logical: &str) -> BTreeMap<String, String> {
    crate::test_support::owner_tags(STACK, logical)
}

/// Resource `logical` of the stack under test, as its driver receives it.
fn resource<S: ResourceSpec>(logical: &str, spec: &S) -> Desired<S> {
    crate::test_support::desired(STACK, logical, REGION, spec.clone())
}

/// Resource `logical` as state recorded it, with `outputs`.
fn state<S: ResourceSpec>(logical: &str, spec: &S, outputs: S::Outputs) -> Recorded<S> {
    crate::test_support::recorded(&resource(logical, spec), outputs)
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
        (TAG_STACK, STACK),
        (TAG_LOGICAL_ID, logical),
        ("team", "platform"),
    ])
}

fn theirs(logical: &'static str) -> Vec<Tag> {
    tag_list(&[(TAG_STACK, "staging"), (TAG_LOGICAL_ID, logical)])
}

/// The calls that bring tags in line, each request recorded: the tags to set, then
/// the keys to remove.
fn tag_calls() -> (
    (
        Seen<AddTagsToResourceInput>,
        Seen<RemoveTagsFromResourceInput>,
    ),
    [Rule; 2],
) {
    let (added, see_add) = recorder::<AddTagsToResourceInput>();
    let (removed, see_remove) = recorder::<RemoveTagsFromResourceInput>();
    let rules = [
        ok_rule!(Client::add_tags_to_resource(see_add) -> AddTagsToResourceOutput),
        ok_rule!(Client::remove_tags_from_resource(see_remove) -> RemoveTagsFromResourceOutput),
    ];
    ((added, removed), rules)
}
