//! SDK-mock tests of the log group and flow log drivers: request shapes, finds by
//! ownership, in-place changes, idempotent deletes.
//!
//! Every test runs its rules in `RuleMode::Sequential`: the calls must come in
//! exactly the order listed (a different call panics), and `all_used` checks that
//! every listed call happened.

mod flow_log;
mod log_group;

use crate::clients::Clients;
use crate::test_support::mock_clients;
use aws_smithy_mocks::{Rule, RuleMode};
use glinfra_core::{TAG_LOGICAL_ID, TAG_STACK};
use std::collections::BTreeMap;

/// The region of every resource under test.
const REGION: &str = "eu-west-1";
/// The stack every resource under test belongs to.
const STACK: &str = "prod";

fn mock_logs(rules: &[Rule]) -> Clients {
    let rules: Vec<&Rule> = rules.iter().collect();
    mock_clients!(
        aws_sdk_cloudwatchlogs,
        "logs",
        REGION,
        RuleMode::Sequential,
        &rules
    )
}

fn mock_ec2(rules: &[Rule]) -> Clients {
    let rules: Vec<&Rule> = rules.iter().collect();
    mock_clients!(aws_sdk_ec2, "ec2", REGION, RuleMode::Sequential, &rules)
}

/// Tags naming `stack` and `logical` as owners, and nothing else.
fn owners(stack: &str, logical: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_STACK.to_string(), stack.to_string()),
        (TAG_LOGICAL_ID.to_string(), logical.to_string()),
    ])
}

/// A map of string pairs.
fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
