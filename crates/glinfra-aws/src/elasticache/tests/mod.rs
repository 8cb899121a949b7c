//! Request-shape tests for the ElastiCache drivers, against SDK mocks.
//!
//! The mock clients run in sequential mode: every request must match the next rule
//! (a panic otherwise), so a test also fails when a driver makes a call it should
//! not, or makes its calls in another order. `all_used` checks none was left out.

mod parameter_group;
mod replication_group;
mod subnet_group;

use crate::clients::Clients;
use crate::driver::Driver;
use crate::kit::tags;
use crate::kit::{Changed, Desired, Recorded};
use crate::test_support::{
    all_used, assert_error, changed, meta, mock_clients, ok_rule, recorder, Seen,
};
use aws_sdk_elasticache::config::retry::RetryConfig;
use aws_sdk_elasticache::operation::add_tags_to_resource::{
    AddTagsToResourceInput, AddTagsToResourceOutput,
};
use aws_sdk_elasticache::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_elasticache::operation::remove_tags_from_resource::RemoveTagsFromResourceOutput;
use aws_sdk_elasticache::types::Tag;
use aws_sdk_elasticache::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use glinfra_core::{ResourceSpec, TAG_LOGICAL_ID, TAG_STACK};
use glinfra_engine::{ErrorClass, ProviderError};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const REGION: &str = "us-east-1";
const STACK: &str = "prod";

fn clients(rules: &[Rule]) -> Clients {
    let rules: Vec<&Rule> = rules.iter().collect();
    mock_clients!(
        aws_sdk_elasticache,
        "elasticache",
        REGION,
        RuleMode::Sequential,
        &rules,
        retry_config(RetryConfig::disabled())
    )
}

/// The tags resource `id` of the stack under test carries.
fn owner_tags(id: &str) -> BTreeMap<String, String> {
    crate::test_support::owner_tags(STACK, id)
}

/// Resource `id` of the stack under test, as its driver receives it.
fn resource<S: ResourceSpec>(id: &str, spec: &S) -> Desired<S> {
    crate::test_support::desired(STACK, id, REGION, spec.clone())
}

/// `r` as state recorded it, with `outputs`.
fn recorded<S: ResourceSpec>(r: &Desired<S>, outputs: S::Outputs) -> Recorded<S> {
    crate::test_support::recorded(r, outputs)
}

fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect()
}

fn list_tags_rule(arn: &'static str, tags: Vec<Tag>) -> Rule {
    mock!(Client::list_tags_for_resource)
        .match_requests(move |r| r.resource_name() == Some(arn))
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .set_tag_list(Some(tags.clone()))
                .build()
        })
}

/// A matcher recording every request into `seen` (for rules that share one list).
fn record<T: Clone + Send + 'static>(
    seen: &Arc<Mutex<Vec<T>>>,
) -> impl Fn(&T) -> bool + Send + Sync + 'static {
    let sink = seen.clone();
    move |req: &T| {
        sink.lock().unwrap().push(req.clone());
        true
    }
}

/// The calls that sync the tags of `arn` back to its owner tags after the tag `old`
/// was recorded: the owner tags set (each request recorded), then `old` removed.
fn retag(arn: &'static str) -> (Seen<AddTagsToResourceInput>, [Rule; 2]) {
    let (added, see_added) = recorder::<AddTagsToResourceInput>();
    let rules = [
        ok_rule!(Client::add_tags_to_resource(see_added) -> AddTagsToResourceOutput),
        mock!(Client::remove_tags_from_resource)
            .match_requests(move |r| r.resource_name() == Some(arn) && r.tag_keys() == ["old"])
            .then_output(|| RemoveTagsFromResourceOutput::builder().build()),
    ];
    (added, rules)
}

/// Asserts that the one tag call `added` set the owner tags of resource `id` on `arn`.
fn assert_retagged(added: &[AddTagsToResourceInput], arn: &str, id: &str) {
    assert_eq!(added[0].resource_name(), Some(arn));
    assert_eq!(tags::from_sdk(added[0].tags()), owner_tags(id));
}

fn ours(id: &str) -> Vec<Tag> {
    tags::to_sdk(&owner_tags(id)).unwrap()
}
