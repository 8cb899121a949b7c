//! Request-shape tests for the EC2 drivers, against SDK mocks, one file per kind.
//!
//! Every mock client panics on a request no rule matches, so a test also fails
//! when a driver makes a call it should not.

mod elastic_ip;
mod internet_gateway;
mod nat_gateway;
mod route;
mod route_table;
mod route_table_association;
mod security_group;
mod subnet;
mod vpc;
mod vpc_endpoint;

use crate::clients::Clients;
use crate::driver::Driver;
use crate::kit::live::Live;
use crate::kit::{Changed, Desired, Recorded};
use crate::test_support::mock_clients;
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::types::{Filter, Tag, TagSpecification};
use aws_smithy_mocks::{Rule, RuleMode};
use glinfra_core::{ResourceSpec, TAG_LOGICAL_ID, TAG_STACK};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const STACK: &str = "teststack";

/// Clients whose EC2 client for [`REGION`] answers from `rules` (first match wins).
fn clients(rules: &[&Rule]) -> Clients {
    mock_clients!(
        aws_sdk_ec2,
        "ec2",
        REGION,
        RuleMode::MatchAny,
        rules,
        retry_config(RetryConfig::disabled())
    )
}

/// A resource named `id` in [`STACK`] with the spec `props` (as JSON, the way
/// state records it), and a user tag when its kind is taggable.
fn resource<S: ResourceSpec>(id: &str, props: Value) -> Desired<S> {
    let mut tags = BTreeMap::new();
    if S::KIND.taggable() {
        tags.insert(TAG_STACK.to_string(), STACK.to_string());
        tags.insert(TAG_LOGICAL_ID.to_string(), id.to_string());
        tags.insert("environment".to_string(), "dev".to_string());
    }
    Desired {
        stack: STACK.to_string(),
        id: id.to_string(),
        region: REGION.to_string(),
        spec: serde_json::from_value(props).expect("a valid spec"),
        tags,
        token: None,
        superseded: Default::default(),
    }
}

/// The order operations were called in, across rules.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn add(&self, op: &str) {
        self.0.lock().unwrap().push(op.to_string());
    }
    fn ops(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// Every tag of `specs`, as a map.
fn tag_map(specs: &[TagSpecification]) -> BTreeMap<String, String> {
    specs
        .iter()
        .flat_map(|s| s.tags())
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// `(name, values)` of each filter.
fn filter_pairs(filters: &[Filter]) -> Vec<(String, Vec<String>)> {
    filters
        .iter()
        .map(|f| {
            (
                f.name().unwrap_or_default().to_string(),
                f.values().to_vec(),
            )
        })
        .collect()
}

/// The ownership filters of resource `logical` of [`STACK`].
fn owner_filter_pairs(logical: &str) -> Vec<(String, Vec<String>)> {
    vec![
        ("tag:glinfra:stack".to_string(), vec![STACK.to_string()]),
        (
            "tag:glinfra:logical-id".to_string(),
            vec![logical.to_string()],
        ),
    ]
}

/// The ownership tags of resource `logical_id` of `stack`, as EC2 reports them.
fn owner_tags(stack: &str, logical_id: &str) -> Vec<Tag> {
    vec![
        Tag::builder().key(TAG_STACK).value(stack).build(),
        Tag::builder().key(TAG_LOGICAL_ID).value(logical_id).build(),
    ]
}

/// The one filter of a refresh's batched read: the stack's ownership tag.
fn stack_filter_pairs() -> Vec<(String, Vec<String>)> {
    vec![("tag:glinfra:stack".to_string(), vec![STACK.to_string()])]
}

/// A refresh's read by `driver` of the `recorded` resources of [`STACK`], which
/// must be one call of `list` filtered by the stack's ownership tag alone
/// (`filters`: what that call was sent).
async fn observe_stack<D: Driver>(
    driver: &D,
    c: &Clients,
    recorded: Vec<Recorded<D::Spec>>,
    list: &Rule,
    filters: impl FnOnce() -> Vec<Filter>,
) -> Vec<Live<D::Spec>> {
    let live = driver
        .observe(c, &crate::test_support::scope(STACK, REGION, recorded))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.num_calls(), 1, "one batched read");
    assert_eq!(filter_pairs(&filters()), stack_filter_pairs());
    live
}

/// The logical ids of what a refresh read, in its order.
fn live_ids<S: glinfra_core::Declared>(live: &[Live<S>]) -> Vec<&str> {
    live.iter().map(|l| l.id.as_str()).collect()
}
