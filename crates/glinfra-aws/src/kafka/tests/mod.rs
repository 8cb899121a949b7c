//! SDK-mock tests of the MSK drivers: request shapes, adoption, waits, updates, deletes.
//!
//! Every test runs its rules in `RuleMode::Sequential`: the calls must come in
//! exactly the order listed, and `all_used` checks that every listed call happened.

mod cluster;
mod configuration;

use crate::clients::Clients;
use crate::test_support::mock_clients;
use aws_smithy_mocks::{Rule, RuleMode};

const REGION: &str = "eu-west-1";

fn mock_kafka(rules: &[&Rule]) -> Clients {
    mock_clients!(aws_sdk_kafka, "kafka", REGION, RuleMode::Sequential, rules)
}
